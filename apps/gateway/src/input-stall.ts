import type { TerminalProcess } from '@tether/core';

/** Queued input past this closes the socket at once, whatever the time: memory stays bounded. */
export const MAX_PENDING_INPUT_BYTES = 64 * 1024 * 1024;

export interface InputStallWatch {
  /** Call after each write with its size; starts watching while input is queued. */
  noteWrite(bytes: number): void;
  stop(): void;
}

/**
 * Watches a terminal's queued input: if the program takes none of it for `stallMs` (it does
 * not read its input), or the queue grows past `MAX_PENDING_INPUT_BYTES`, `onStall` runs once.
 * Progress is bytes taken (written minus still queued), so a program that reads slower than
 * input arrives is not cut off while the queue grows. The poll only runs while input is queued.
 */
export function watchInputStall(
  terminal: TerminalProcess,
  stallMs: number,
  onStall: (pendingBytes: number) => void,
): InputStallWatch {
  const pollMs = Math.max(10, Math.min(250, stallMs / 4));
  let timer: NodeJS.Timeout | undefined;
  /** Every byte handed to the terminal so far; minus what is queued, what the program took. */
  let writtenBytes = 0;
  let lastTaken = 0;
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
    const taken = writtenBytes - pending;
    if (taken > lastTaken) lastProgressMs = nowMs;
    lastTaken = taken;
    if (pending > MAX_PENDING_INPUT_BYTES || (stallMs > 0 && nowMs - lastProgressMs >= stallMs)) {
      stop();
      onStall(pending);
    }
  };

  return {
    noteWrite(bytes) {
      writtenBytes += bytes;
      if (isStopped || timer) return;
      const pending = terminal.pendingInputBytes;
      if (pending === 0) return;
      lastTaken = writtenBytes - pending;
      lastProgressMs = performance.now();
      timer = setInterval(check, pollMs);
      timer.unref();
      if (pending > MAX_PENDING_INPUT_BYTES) check();
    },
    stop,
  };
}
