/** Keeps the last few lines a child wrote to stderr, for failure reports. */
export class StderrRing {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 500,
  ) {}

  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = (parts.pop() ?? '').slice(-this.maxLineChars);
    const complete = parts.map((line) => line.slice(0, this.maxLineChars));
    for (const line of complete) this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
    return complete;
  }

  snapshot(): string[] {
    return this.partial ? [...this.lines, this.partial].slice(-this.maxLines) : [...this.lines];
  }
}
