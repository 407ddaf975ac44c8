import { invalidParams } from '@tether/core';
import type { TerminalSize } from '@tether/core';

export const MIN_COLS = 1;
export const MIN_ROWS = 1;
export const MAX_COLS = 1000;
export const MAX_ROWS = 1000;

/**
 * Validates a terminal size from an untrusted caller and clamps it to what a PTY can take.
 * Throws `TETHER_INVALID_PARAMS` naming `cols` or `rows` for anything but a positive integer;
 * values above the maximum are clamped rather than refused, so an oversized window still works.
 */
export function clampTerminalSize(cols: unknown, rows: unknown): TerminalSize {
  return {
    cols: clampDimension('cols', cols, MAX_COLS),
    rows: clampDimension('rows', rows, MAX_ROWS),
  };
}

function clampDimension(field: 'cols' | 'rows', value: unknown, max: number): number {
  const min = field === 'cols' ? MIN_COLS : MIN_ROWS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidParams(field, `an integer of at least ${min}`);
  }
  return Math.min(value, max);
}
