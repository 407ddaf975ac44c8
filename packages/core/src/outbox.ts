import type { Clock } from './clock.js';
import type { Logger } from './types.js';

interface PendingWrite {
  label: string;
  write: () => Promise<void>;
  settle: (isWritten: boolean) => void;
  attempts: number;
}

/**
 * The store's write queue. Writes run in order, one at a time; a failed write stays at the
 * head and is retried with backoff until the store is back, so nothing is dropped and nothing
 * overtakes it (a run's end never lands before its start). Writes must be idempotent: a retry
 * after a write that did land but reported failure must change nothing.
 *
 * LIMITATION: the queue lives in memory; writes still queued when the gateway exits are lost
 * (the next start ends those runs `owner_lost`). Fix: persist it to a file in the home folder.
 */
export class Outbox {
  private readonly queue: PendingWrite[] = [];
  private isRunning = false;
  private retryDelayMs: number;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { minRetryMs: number; maxRetryMs: number } = {
      minRetryMs: 100,
      maxRetryMs: 5000,
    },
  ) {
    this.retryDelayMs = options.minRetryMs;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a write; resolves true once it is written (never rejects). */
  enqueue(label: string, write: () => Promise<void>): Promise<boolean> {
    return new Promise((resolve) => {
      this.queue.push({ label, write, settle: resolve, attempts: 0 });
      void this.run();
    });
  }

  /** Resolves true once everything queued so far is written, false if `timeoutMs` passes first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }

  private async run(): Promise<void> {
    if (this.isRunning) return;
    this.isRunning = true;
    try {
      for (;;) {
        const head = this.queue[0];
        if (!head) break;
        head.attempts += 1;
        try {
          await head.write();
        } catch (error) {
          this.logger.warn(
            { err: error, write: head.label, attempts: head.attempts, retryMs: this.retryDelayMs },
            'store write failed; kept in the outbox',
          );
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.retryDelayMs));
          this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.maxRetryMs);
          continue;
        }
        if (head.attempts > 1)
          this.logger.info({ write: head.label, attempts: head.attempts }, 'outbox write landed');
        this.retryDelayMs = this.options.minRetryMs;
        this.queue.shift();
        head.settle(true);
      }
    } finally {
      this.isRunning = false;
    }
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }
}
