/**
 * Shares an expensive read between concurrent callers without handing anyone a stale answer.
 * A read already under way may have started before the caller's latest change (a /proc walk
 * that listed the processes before the caller forked one), so a caller arriving mid-read
 * waits for the next read instead — one shared by every caller that arrived meanwhile.
 */
export function shareFreshly<T>(read: () => Promise<T>): () => Promise<T> {
  let current: Promise<T> | null = null;
  let next: Promise<T> | null = null;
  const start = (): Promise<T> => {
    const started = read().finally(() => {
      if (current === started) current = null;
    });
    current = started;
    return started;
  };
  const settled = () => undefined;
  return () => {
    if (next) return next;
    if (!current) return start();
    next = current.then(settled, settled).then(() => {
      next = null;
      return start();
    });
    return next;
  };
}
