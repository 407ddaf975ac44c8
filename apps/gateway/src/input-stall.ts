import type { TerminalProcess } from '@tether/core';

/** Queued input past this closes the socket at once, whatever the time: memory stays bounded. */
export const MAX_PENDING_INPUT_BYTES = 64 * 1024 * 1024;

export interface InputStallWatch {
  /** Call after each write; starts watching while input is queued. */
  noteWrite(): void;
  stop(): void;
}

/**
 * Watches a terminal's queued input: if the queue stops shrinking for `stallMs` (the program
 * does not read its input), or grows past `MAX_PENDING_INPUT_BYTES`, `onStall` runs once.
 * The poll only runs while input is queued.
 */
export function watchInputStall(
  terminal: TerminalProcess,
  stallMs: number,
  onStall: (pendingBytes: number) => void,
): InputStallWatch {
  const pollMs = Math.max(10, Math.min(250, stallMs / 4));
  let timer: NodeJS.Timeout | undefined;
  let lastPending = 0;
  let lastProgressMs = 0;
  let isStopped = false;

  const stop = () => {
    isStopped = true;
    clearInterval(timer);
    timer = undefined;
  };
  const check = () => {
    const pending = terminal.pendingInputBytes;
    if (pending === 0) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    const nowMs = performance.now();
    if (pending < lastPending) lastProgressMs = nowMs;
    lastPending = pending;
    if (pending > MAX_PENDING_INPUT_BYTES || (stallMs > 0 && nowMs - lastProgressMs >= stallMs)) {
      stop();
      onStall(pending);
    }
  };

  return {
    noteWrite() {
      if (isStopped || timer) return;
      lastPending = terminal.pendingInputBytes;
      if (lastPending === 0) return;
      lastProgressMs = performance.now();
      timer = setInterval(check, pollMs);
      timer.unref();
      if (lastPending > MAX_PENDING_INPUT_BYTES) check();
    },
    stop,
  };
}
