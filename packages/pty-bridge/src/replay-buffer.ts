import { invalidParams } from '@tether/core';
import type { TerminalReplay } from '@tether/core';

/**
 * A bounded ring of the most recent output bytes, addressed by absolute byte offset in the
 * whole stream, so a re-attaching client can ask for exactly what it missed.
 */
export class ReplayBuffer {
  readonly capacityBytes: number;
  private readonly ring: Buffer;
  /** Ring index the next byte goes to. */
  private writeIndex = 0;
  private totalBytes = 0;

  constructor(capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 1) {
      throw invalidParams('replayBytes', 'a positive integer');
    }
    this.capacityBytes = capacityBytes;
    this.ring = Buffer.alloc(capacityBytes);
  }

  /** Offset the next appended byte will get: total bytes seen so far. */
  get endOffset(): number {
    return this.totalBytes;
  }

  /** Offset of the oldest byte still kept. */
  get startOffset(): number {
    return Math.max(0, this.totalBytes - this.capacityBytes);
  }

  /** Appends a chunk and returns the offset of its first byte. */
  append(data: Buffer): number {
    const startOffset = this.totalBytes;
    const capacity = this.capacityBytes;
    // Only the tail of an oversized chunk can survive, so copy just that.
    const kept = data.length > capacity ? data.subarray(data.length - capacity) : data;

    const firstPart = Math.min(kept.length, capacity - this.writeIndex);
    kept.copy(this.ring, this.writeIndex, 0, firstPart);
    kept.copy(this.ring, 0, firstPart);

    this.writeIndex = (this.writeIndex + kept.length) % capacity;
    this.totalBytes += data.length;
    return startOffset;
  }

  /**
   * The bytes from `offset` to the end. An offset older than the oldest kept byte yields the
   * kept bytes with `truncated: true`; an offset past the end is treated as the end.
   */
  from(offset: number): TerminalReplay {
    if (!Number.isInteger(offset) || offset < 0) {
      throw invalidParams('offset', 'a non-negative integer');
    }
    const requested = Math.min(offset, this.totalBytes);
    const begin = Math.max(requested, this.startOffset);
    const length = this.totalBytes - begin;
    const capacity = this.capacityBytes;

    const startIndex = (this.writeIndex - length + capacity) % capacity;
    const data = Buffer.allocUnsafe(length);
    const firstPart = Math.min(length, capacity - startIndex);
    this.ring.copy(data, 0, startIndex, startIndex + firstPart);
    this.ring.copy(data, firstPart, 0, length - firstPart);

    return { offset: begin, truncated: begin > requested, data };
  }
}
