/**
 * Timers and time for the life cycle. Deadlines use a monotonic clock so a wall-clock jump
 * (NTP, suspend/resume) cannot mass-expire sessions; tests inject a `ManualClock`.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Wall time, for timestamps that leave the process (store, wire). */
  wallNow(): Date;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval(callback, intervalMs) {
    const timer = setInterval(callback, intervalMs);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};

interface ManualTimer {
  dueMs: number;
  intervalMs: number | null;
  callback: () => void;
  isCancelled: boolean;
}

/** A clock that only moves when told to. Timers fire in due order during `advance`. */
export class ManualClock implements Clock {
  private currentMs = 0;
  private readonly wallStartMs: number;
  private timers: ManualTimer[] = [];

  constructor(wallStart: Date = new Date('2026-01-01T00:00:00Z')) {
    this.wallStartMs = wallStart.getTime();
  }

  now(): number {
    return this.currentMs;
  }

  wallNow(): Date {
    return new Date(this.wallStartMs + this.currentMs);
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.add(callback, delayMs, null);
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    return this.add(callback, intervalMs, intervalMs);
  }

  /** Moves time forward, firing every timer that falls due on the way. */
  advance(deltaMs: number): void {
    const targetMs = this.currentMs + deltaMs;
    for (;;) {
      const next = this.timers
        .filter((timer) => !timer.isCancelled && timer.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs)[0];
      if (!next) break;
      this.currentMs = next.dueMs;
      if (next.intervalMs === null) next.isCancelled = true;
      else next.dueMs += Math.max(1, next.intervalMs);
      next.callback();
    }
    this.currentMs = targetMs;
    this.timers = this.timers.filter((timer) => !timer.isCancelled);
  }

  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.isCancelled).length;
  }

  private add(callback: () => void, delayMs: number, intervalMs: number | null): TimerHandle {
    const timer: ManualTimer = {
      dueMs: this.currentMs + Math.max(0, delayMs),
      intervalMs,
      callback,
      isCancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => (timer.isCancelled = true) };
  }
}
