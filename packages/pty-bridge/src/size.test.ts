import { isTetherError } from '@tether/core';
import { describe, expect, it } from 'vitest';
import { MAX_COLS, MAX_ROWS, clampTerminalSize } from './size.js';

function fieldOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    if (isTetherError(error, 'TETHER_INVALID_PARAMS')) return error.data?.field;
    throw error;
  }
  return undefined;
}

describe('clampTerminalSize', () => {
  it('passes sizes within bounds through', () => {
    expect(clampTerminalSize(80, 24)).toEqual({ cols: 80, rows: 24 });
    expect(clampTerminalSize(1, 1)).toEqual({ cols: 1, rows: 1 });
    expect(clampTerminalSize(MAX_COLS, MAX_ROWS)).toEqual({ cols: 1000, rows: 1000 });
  });

  it('clamps values above the maximum', () => {
    expect(clampTerminalSize(5000, 24)).toEqual({ cols: MAX_COLS, rows: 24 });
    expect(clampTerminalSize(80, Number.MAX_SAFE_INTEGER)).toEqual({ cols: 80, rows: MAX_ROWS });
  });

  it('refuses non-numbers, NaN, fractions, zero and negatives, naming the field', () => {
    const bad: unknown[] = ['80', null, undefined, {}, Number.NaN, 1.5, 0, -1, Infinity, -Infinity];
    for (const value of bad) {
      expect(fieldOf(() => clampTerminalSize(value, 24))).toBe('cols');
      expect(fieldOf(() => clampTerminalSize(80, value))).toBe('rows');
    }
  });
});
