import { randomBytes } from 'node:crypto';
import { isTetherError } from '@tether/core';
import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from './replay-buffer.js';

/** Reference model: the whole stream, kept forever. */
function lastBytes(stream: Buffer, capacity: number, offset: number) {
  const start = Math.max(0, stream.length - capacity);
  const requested = Math.min(offset, stream.length);
  const begin = Math.max(requested, start);
  return { offset: begin, truncated: begin > requested, data: stream.subarray(begin) };
}

describe('ReplayBuffer', () => {
  it('returns the start offset of each appended chunk', () => {
    const buffer = new ReplayBuffer(8);
    expect(buffer.append(Buffer.from('abc'))).toBe(0);
    expect(buffer.append(Buffer.from('de'))).toBe(3);
    expect(buffer.append(Buffer.from('fghij'))).toBe(5);
    expect(buffer.endOffset).toBe(10);
    expect(buffer.startOffset).toBe(2);
  });

  it('replays exact slices from any kept offset', () => {
    const buffer = new ReplayBuffer(16);
    buffer.append(Buffer.from('hello '));
    buffer.append(Buffer.from('world'));
    const whole = { offset: 0, truncated: false, data: Buffer.from('hello world') };
    expect(buffer.from(0)).toEqual(whole);
    expect(buffer.from(6).data.toString()).toBe('world');
    expect(buffer.from(11)).toEqual({ offset: 11, truncated: false, data: Buffer.alloc(0) });
  });

  it('clamps an offset past the end to the end', () => {
    const buffer = new ReplayBuffer(4);
    buffer.append(Buffer.from('ab'));
    expect(buffer.from(99)).toEqual({ offset: 2, truncated: false, data: Buffer.alloc(0) });
  });

  it('wraps around and reports truncation with the oldest kept offset', () => {
    const buffer = new ReplayBuffer(5);
    buffer.append(Buffer.from('abc'));
    buffer.append(Buffer.from('def'));
    buffer.append(Buffer.from('gh'));
    expect(buffer.startOffset).toBe(3);
    expect(buffer.from(0)).toEqual({ offset: 3, truncated: true, data: Buffer.from('defgh') });
    expect(buffer.from(3)).toEqual({ offset: 3, truncated: false, data: Buffer.from('defgh') });
    expect(buffer.from(4).data.toString()).toBe('efgh');
  });

  it('keeps only the tail of a chunk larger than the ring', () => {
    const buffer = new ReplayBuffer(4);
    buffer.append(Buffer.from('x'));
    expect(buffer.append(Buffer.from('0123456789'))).toBe(1);
    expect(buffer.endOffset).toBe(11);
    expect(buffer.from(0)).toEqual({ offset: 7, truncated: true, data: Buffer.from('6789') });
  });

  it('copies: later appends and caller mutations do not change a replay', () => {
    const buffer = new ReplayBuffer(4);
    const chunk = Buffer.from('abcd');
    buffer.append(chunk);
    const replay = buffer.from(0);
    chunk.fill(0);
    buffer.append(Buffer.from('zz'));
    expect(replay.data.toString()).toBe('abcd');
    expect(buffer.from(0).data.toString()).toBe('cdzz');
  });

  it('matches a full-stream model over random chunk sizes and offsets', () => {
    for (const capacity of [1, 7, 64, 1000]) {
      const buffer = new ReplayBuffer(capacity);
      let stream = Buffer.alloc(0);
      for (let step = 0; step < 300; step += 1) {
        const chunk = randomBytes(Math.floor(Math.random() * capacity * 1.5));
        expect(buffer.append(chunk)).toBe(stream.length);
        stream = Buffer.concat([stream, chunk]);
        const offset = Math.floor(Math.random() * (stream.length + 3));
        const replay = buffer.from(offset);
        const expected = lastBytes(stream, capacity, offset);
        expect(replay.offset).toBe(expected.offset);
        expect(replay.truncated).toBe(expected.truncated);
        expect(replay.data.equals(expected.data)).toBe(true);
      }
    }
  });

  it('refuses a bad capacity or offset with invalid params', () => {
    const invalid = expect.objectContaining({ code: 'TETHER_INVALID_PARAMS' });
    expect(() => new ReplayBuffer(0)).toThrow(invalid);
    expect(() => new ReplayBuffer(1.5)).toThrow();
    const buffer = new ReplayBuffer(4);
    for (const offset of [-1, 0.5, Number.NaN]) {
      let caught: unknown;
      try {
        buffer.from(offset);
      } catch (error) {
        caught = error;
      }
      expect(isTetherError(caught, 'TETHER_INVALID_PARAMS')).toBe(true);
    }
  });
});
