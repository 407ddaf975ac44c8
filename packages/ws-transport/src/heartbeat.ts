/**
 * Server-side WebSocket heartbeat: a half-open socket (peer gone, no FIN) becomes a
 * disconnect within interval + timeout. A stalled event loop or a suspended machine must not
 * be mistaken for a dead peer, so lateness is measured on the monotonic clock.
 */
import { WebSocket } from 'ws';

export interface HeartbeatOptions {
  /** Time between pings; 0 turns the heartbeat off. */
  intervalMs: number;
  /** How long a ping may go without a pong before the socket is terminated. */
  timeoutMs: number;
  /** Called once after the socket was terminated for a missed pong. */
  onDead?: () => void;
  /** Monotonic milliseconds; injectable for tests. Defaults to `performance.now`. */
  now?: () => number;
}

export interface Heartbeat {
  stop(): void;
}

/** Starts pinging `ws`; stops by itself when the socket closes. */
export function startHeartbeat(ws: WebSocket, options: HeartbeatOptions): Heartbeat {
  const { intervalMs, timeoutMs } = options;
  if (!(intervalMs > 0)) return { stop: () => undefined };

  const now = options.now ?? (() => performance.now());
  let isStopped = false;
  let awaitingPongSinceMs: number | null = null;
  let lastTickMs = now();
  let deadlineTimer: NodeJS.Timeout | null = null;

  const intervalTimer = setInterval(onTick, intervalMs);
  intervalTimer.unref();

  function onPong(): void {
    awaitingPongSinceMs = null;
    clearDeadline();
  }

  function onClose(): void {
    stop();
  }

  ws.on('pong', onPong);
  ws.on('close', onClose);

  function clearDeadline(): void {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = null;
  }

  function sendPing(atMs: number): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    awaitingPongSinceMs = atMs;
    clearDeadline();
    deadlineTimer = setTimeout(onDeadline, timeoutMs);
    deadlineTimer.unref();
    ws.ping();
  }

  function onTick(): void {
    const tickMs = now();
    const gapMs = tickMs - lastTickMs;
    lastTickMs = tickMs;

    // The loop slept through several ticks: an outstanding ping's age says nothing about the
    // peer, so start over with a fresh ping instead of judging it.
    if (gapMs > 2 * intervalMs) {
      sendPing(tickMs);
      return;
    }
    if (awaitingPongSinceMs === null) sendPing(tickMs);
  }

  function onDeadline(): void {
    deadlineTimer = null;
    if (isStopped || awaitingPongSinceMs === null) return;

    const firedMs = now();
    const lateMs = firedMs - (awaitingPongSinceMs + timeoutMs);
    if (lateMs > intervalMs) {
      lastTickMs = firedMs;
      sendPing(firedMs);
      return;
    }

    // Timers run before the poll phase, so a pong that arrived during a short stall may still
    // be unread; setImmediate runs after the poll phase has read it.
    setImmediate(() => {
      if (isStopped || awaitingPongSinceMs === null) return;
      stop();
      ws.terminate();
      options.onDead?.();
    });
  }

  function stop(): void {
    if (isStopped) return;
    isStopped = true;
    clearInterval(intervalTimer);
    clearDeadline();
    ws.off('pong', onPong);
    ws.off('close', onClose);
  }

  return { stop };
}
