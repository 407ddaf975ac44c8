/**
 * Parent-death watchdog for the worker child. Three independent signals, first one wins:
 * the IPC channel closes, stdin reaches EOF, or `process.ppid` stops being the parent
 * (the backstop when the channel is somehow still open, e.g. inherited by a grandchild).
 */
export type ParentGoneReason = 'ipc_disconnect' | 'stdin_eof' | 'ppid_changed';

export interface Watchdog {
  stop(): void;
}

export function startWatchdog(options: {
  parentPid: number;
  pollMs: number;
  onParentGone(reason: ParentGoneReason): void;
}): Watchdog {
  let isStopped = false;
  const fire = (reason: ParentGoneReason) => {
    if (isStopped) return;
    stop();
    options.onParentGone(reason);
  };

  const onDisconnect = () => fire('ipc_disconnect');
  const onStdinEnd = () => fire('stdin_eof');
  process.once('disconnect', onDisconnect);
  process.stdin.once('end', onStdinEnd);
  process.stdin.on('error', onStdinEnd);
  // Reading is what makes EOF observable; the data itself means nothing.
  process.stdin.resume();

  const poll = setInterval(() => {
    if (process.ppid !== options.parentPid) fire('ppid_changed');
  }, options.pollMs);
  // The channel keeps the worker alive while the parent lives; the poll alone must not.
  poll.unref();

  function stop(): void {
    if (isStopped) return;
    isStopped = true;
    clearInterval(poll);
    process.removeListener('disconnect', onDisconnect);
    process.stdin.removeListener('end', onStdinEnd);
    process.stdin.removeListener('error', onStdinEnd);
    process.stdin.pause();
  }

  // The parent may already be gone by the time this module ran.
  if (!process.connected) queueMicrotask(() => fire('ipc_disconnect'));
  else if (process.ppid !== options.parentPid) queueMicrotask(() => fire('ppid_changed'));
  return { stop };
}
