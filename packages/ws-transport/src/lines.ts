/**
 * Splits a byte stream into newline-delimited messages without ever holding more than
 * `maxLineBytes` of one line: an overlong line is reported once and its rest is skipped.
 */
export interface LineSplitterEvents {
  onLine(line: string): void;
  /** An overlong line; `bytesSeen` is how much of it had arrived when it was given up. */
  onOverlong(bytesSeen: number): void;
}

const NEWLINE = 0x0a;

export class LineSplitter {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private isSkipping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly events: LineSplitterEvents,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  }

  /** Input ended: a last line without a newline still counts. */
  end(): void {
    if (this.partsBytes > 0 || this.isSkipping) this.endLine();
  }

  private take(piece: Buffer): void {
    if (this.isSkipping || piece.length === 0) return;
    if (this.partsBytes + piece.length > this.maxLineBytes) {
      this.events.onOverlong(this.partsBytes + piece.length);
      this.parts = [];
      this.partsBytes = 0;
      this.isSkipping = true;
      return;
    }
    this.parts.push(piece);
    this.partsBytes += piece.length;
  }

  private endLine(): void {
    if (this.isSkipping) {
      this.isSkipping = false;
      return;
    }
    const line = Buffer.concat(this.parts, this.partsBytes).toString('utf8');
    this.parts = [];
    this.partsBytes = 0;
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.trim().length > 0) this.events.onLine(trimmed);
  }
}
