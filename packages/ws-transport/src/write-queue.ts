/**
 * Writes lines to a stream in order, waiting for 'drain' whenever the stream says its buffer
 * is full, so a slow reader costs queued memory rather than a blocked or spinning loop.
 */
export class WriteQueue {
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  private isWaitingForDrain = false;
  private isBroken = false;

  constructor(
    private readonly output: NodeJS.WritableStream,
    private readonly onError: (error: Error) => void,
    /** Called when everything queued has been handed to the stream. */
    private readonly onIdle: () => void = () => undefined,
  ) {
    output.on('error', (error: Error) => {
      this.isBroken = true;
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.onError(error);
    });
  }

  /** Bytes accepted but not yet handed to the stream. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  write(line: string): void {
    if (this.isBroken) return;
    this.queue.push(line);
    this.queuedBytes += line.length;
    this.flush();
  }

  private flush(): void {
    while (!this.isWaitingForDrain && !this.isBroken && this.queue.length > 0) {
      const line = this.queue.shift() as string;
      this.queuedBytes -= line.length;
      if (!this.output.write(line)) {
        this.isWaitingForDrain = true;
        this.output.once('drain', () => {
          this.isWaitingForDrain = false;
          this.flush();
        });
      }
    }
    if (!this.isWaitingForDrain && this.queue.length === 0) this.onIdle();
  }
}
