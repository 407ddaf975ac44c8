import type {
  Disposable,
  LiveSession,
  Logger,
  SessionRegistry,
  TerminalProcess,
} from '@tether/core';
import type { RawData, WebSocket } from 'ws';
import { watchInputStall } from './input-stall.js';
import type { PtySocketStats } from './pty-socket-stats.js';

export const PTY_CLOSE = {
  badToken: 4401,
  unknownSession: 4404,
  closing: 4409,
  exited: 4410,
  inputStalled: 1013,
} as const;

export interface PtySocketOptions {
  /** Pause the terminal while this many sent bytes are not yet written to the socket. */
  highWatermarkBytes: number;
  lowWatermarkBytes: number;
  /**
   * A socket that keeps the terminal paused this long is cut off, and one whose input the
   * terminal has not taken for this long is closed with 1013; 0 = never.
   */
  stallMs: number;
  stats?: PtySocketStats;
}

/**
 * One client on `/pty/<session_id>?offset=N`: a hello frame, the replay from N, then live
 * output as binary frames. Replay and subscription happen in one tick, so there is no gap and
 * no duplicate between them. Output is paused above the high watermark of unwritten bytes.
 */
export function servePtySocket(
  ws: WebSocket,
  sessionId: string,
  requestedOffset: number | null,
  registry: SessionRegistry,
  options: PtySocketOptions,
  logger: Logger,
): void {
  const log = logger.child({ sessionId, stream: 'pty' });
  const session = registry.get(sessionId);
  if (!session) {
    ws.close(PTY_CLOSE.unknownSession, 'unknown session');
    return;
  }
  if (session.isClosing) {
    ws.close(PTY_CLOSE.closing, 'session closing');
    return;
  }
  const terminal = session.terminal;
  if (!terminal) {
    ws.close(PTY_CLOSE.unknownSession, 'session has no terminal');
    return;
  }

  const replay = terminal.replayFrom(requestedOffset ?? 0);
  ws.send(
    JSON.stringify({
      type: 'hello',
      offset: replay.offset,
      truncated: replay.truncated,
      cols: terminal.cols,
      rows: terminal.rows,
    }),
  );

  const state = options.stats?.add() ?? { unsentBytes: 0, isPaused: false };
  let stallTimer: NodeJS.Timeout | undefined;
  const onStalled = () => {
    // The client stopped reading: its backlog stays, but the terminal must not stay frozen
    // for everyone else, so the socket goes (the session itself is unaffected).
    log.warn({ reason: 'pty_stalled', unsentBytes: state.unsentBytes }, 'pty client cut off');
    ws.terminate();
  };
  const setPaused = (isPaused: boolean) => {
    state.isPaused = isPaused;
    if (isPaused) {
      terminal.pause();
      if (options.stallMs > 0) stallTimer = setTimeout(onStalled, options.stallMs);
      return;
    }
    clearTimeout(stallTimer);
    terminal.resume();
  };
  const send = (data: Buffer) => {
    state.unsentBytes += data.length;
    options.stats?.noteUnsent(state);
    ws.send(data, { binary: true }, () => {
      state.unsentBytes -= data.length;
      if (state.isPaused && state.unsentBytes <= options.lowWatermarkBytes) setPaused(false);
    });
    if (!state.isPaused && state.unsentBytes > options.highWatermarkBytes) setPaused(true);
  };

  if (replay.data.length > 0) send(replay.data);
  const subscriptions: Disposable[] = [];
  const inputStall = watchInputStall(terminal, options.stallMs, (pendingBytes) => {
    log.warn({ reason: 'input_stalled', pendingBytes }, 'pty input stalled; closing the socket');
    ws.close(PTY_CLOSE.inputStalled, 'input stalled');
  });
  const releaseAll = () => {
    inputStall.stop();
    for (const subscription of subscriptions.splice(0)) subscription.dispose();
    options.stats?.remove(state);
    if (state.isPaused) setPaused(false);
  };
  // Registered before any early return, so every socket leaves the stats and unpauses.
  ws.on('close', releaseAll);

  if (terminal.exitStatus) {
    ws.close(PTY_CLOSE.exited, 'terminal exited');
    return;
  }
  const nextOffset = replay.offset + replay.data.length;
  subscriptions.push(
    terminal.onData((chunk) => {
      // Skip bytes the replay already sent (a chunk can straddle the replay's end).
      const skip = nextOffset - chunk.offset;
      if (skip >= chunk.data.length) return;
      send(skip > 0 ? chunk.data.subarray(skip) : chunk.data);
    }),
    // Exit fires after the last output chunk, and ws sends in order: close comes after it.
    // A terminal killed by the session's teardown says why: the session is closing.
    terminal.onExit(() =>
      session.isClosing
        ? ws.close(PTY_CLOSE.closing, 'session closed')
        : ws.close(PTY_CLOSE.exited, 'terminal exited'),
    ),
  );
  const stopOnClose = registry.onClosed((closed) => {
    if (closed.id === sessionId) ws.close(PTY_CLOSE.closing, 'session closed');
  });
  subscriptions.push({ dispose: stopOnClose });

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!registry.isCurrent(session)) return;
    if (isBinary) {
      try {
        const input = toBuffer(data);
        terminal.write(input);
        inputStall.noteWrite(input.length);
        registry.touch(session);
      } catch (error) {
        log.debug({ err: error }, 'input after terminal exit dropped');
      }
      return;
    }
    handleControl(ws, toBuffer(data).toString('utf8'), terminal, session, registry);
  });
  ws.on('error', (error) => log.debug({ err: error }, 'pty socket error'));
}

/** Text frames are control messages; only `resize` exists. Bad ones get an error frame. */
function handleControl(
  ws: WebSocket,
  text: string,
  terminal: TerminalProcess,
  session: LiveSession,
  registry: SessionRegistry,
): void {
  let message: { type?: unknown; cols?: unknown; rows?: unknown };
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    ws.send(JSON.stringify({ type: 'error', code: -32700, message: 'control frame is not JSON' }));
    return;
  }
  if (message.type !== 'resize') {
    ws.send(JSON.stringify({ type: 'error', code: -32600, message: 'unknown control frame type' }));
    return;
  }
  try {
    const before = { cols: terminal.cols, rows: terminal.rows };
    const applied = terminal.resize(message.cols as number, message.rows as number);
    if (applied.cols !== before.cols || applied.rows !== before.rows) {
      registry.touch(session);
      registry.emitStatus(session);
    }
    ws.send(JSON.stringify({ type: 'resized', ...applied }));
  } catch (error) {
    const {
      rpcCode,
      message: detail,
      data,
    } = error as { rpcCode?: number; message: string; data?: unknown };
    ws.send(JSON.stringify({ type: 'error', code: rpcCode ?? -32603, message: detail, data }));
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
