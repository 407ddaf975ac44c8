/**
 * Raw terminal passthrough: while attached, the user's terminal is the session's PTY. Ink is
 * not rendering during this (main unmounts it first). Over WebSocket the bytes travel on
 * `/pty/<id>`; over stdio (standalone) they travel as `pty.write` requests and `pty.data`
 * events. Ctrl-] detaches.
 */
import WebSocket from 'ws';
import type { Disposable, EventMessage, RpcClient } from './client.js';

/** Ctrl-]: the detach chord, never sent to the PTY. */
export const DETACH_BYTE = 0x1d;

export interface AttachResult {
  reason: 'detached' | 'exited' | 'error';
  message: string;
  /** The next byte offset, for `?offset=` on the next attach. */
  offset: number;
}

export interface TerminalIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

interface PtySink {
  sendInput(bytes: Buffer): void;
  sendResize(cols: number, rows: number): void;
  close(): void;
}

const CLOSE_MESSAGES: Record<number, string> = {
  4401: 'the gateway refused the token',
  4404: 'the session is unknown to the gateway',
  4409: 'the session is closing',
  4410: 'the terminal exited',
  1013: 'terminal input stalled',
};

/** The `/pty/<id>` URL on the same host and port as the rpc URL. */
export function ptyUrl(rpcUrl: string, sessionId: string, offset: number): string {
  const url = new URL(rpcUrl);
  url.pathname = `/pty/${encodeURIComponent(sessionId)}`;
  url.search = `?offset=${offset}`;
  return url.toString();
}

/**
 * Runs the raw loop shared by both routes: stdin (minus the chord) → sink, SIGWINCH → resize.
 * `connect` wires the sink and calls `finish` when the far side ends.
 */
function runPassthrough(
  io: TerminalIo,
  startOffset: number,
  connect: (
    write: (bytes: Buffer) => void,
    finish: (result: Omit<AttachResult, 'offset'>) => void,
    setOffset: (offset: number) => void,
  ) => PtySink,
): Promise<AttachResult> {
  return new Promise((resolve) => {
    let offset = startOffset;
    let isFinished = false;
    const { stdin, stdout } = io;

    const write = (bytes: Buffer): void => {
      offset += bytes.length;
      stdout.write(bytes);
    };
    const setOffset = (next: number): void => {
      offset = next;
    };

    const finish = (result: Omit<AttachResult, 'offset'>): void => {
      if (isFinished) return;
      isFinished = true;
      stdin.off('data', stdinOnData);
      process.off('SIGWINCH', processOnResize);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      sink.close();
      resolve({ ...result, offset });
    };

    const sink = connect(write, finish, setOffset);

    const stdinOnData = (data: Buffer | string): void => {
      // Ink set stdin's encoding to utf8, so chunks may arrive as strings.
      // LIMITATION: input bytes that are not valid UTF-8 are mangled by that decoder.
      // Fix: read the tty fd directly while attached instead of the shared stdin stream.
      const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      const chordAt = chunk.indexOf(DETACH_BYTE);
      if (chordAt === -1) return sink.sendInput(chunk);
      if (chordAt > 0) sink.sendInput(chunk.subarray(0, chordAt));
      finish({ reason: 'detached', message: 'detached from the terminal' });
    };
    const processOnResize = (): void => {
      if (stdout.columns && stdout.rows) sink.sendResize(stdout.columns, stdout.rows);
    };

    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', stdinOnData);
    stdin.resume();
    process.on('SIGWINCH', processOnResize);
    processOnResize();
  });
}

/** Attaches over the gateway's `/pty/<id>` WebSocket. */
export function attachOverWebSocket(
  io: TerminalIo,
  options: { rpcUrl: string; token: string | null; sessionId: string; offset: number },
): Promise<AttachResult> {
  return runPassthrough(io, options.offset, (write, finish, setOffset) => {
    const url = ptyUrl(options.rpcUrl, options.sessionId, options.offset);
    const headers: Record<string, string> = options.token
      ? { Authorization: `Bearer ${options.token}` }
      : {};
    const socket = new WebSocket(url, { headers });
    const pending: Buffer[] = [];

    socket.on('open', () => {
      // The SIGWINCH-less first resize happened before the socket was open; repeat it now.
      if (io.stdout.columns && io.stdout.rows) {
        const { columns: cols, rows } = io.stdout;
        socket.send(JSON.stringify({ type: 'resize', cols, rows }));
      }
      for (const bytes of pending.splice(0)) socket.send(bytes, { binary: true });
    });
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) return write(bytes);
      handleControl(bytes.toString('utf8'));
    });
    socket.on('unexpected-response', (_request, response) => {
      finish({ reason: 'error', message: `terminal refused: HTTP ${response.statusCode}` });
    });
    socket.on('error', (error) => {
      finish({ reason: 'error', message: `terminal connection failed: ${error.message}` });
    });
    socket.on('close', (code, reason) => {
      const known = CLOSE_MESSAGES[code];
      const detail = known ?? `terminal closed (${code}${reason.length ? ` ${reason}` : ''})`;
      finish({ reason: code === 4410 ? 'exited' : 'error', message: detail });
    });

    function handleControl(text: string): void {
      let frame: { type?: string; offset?: number; truncated?: boolean };
      try {
        frame = JSON.parse(text) as typeof frame;
      } catch {
        // Control frames are JSON by contract; a stray one is not worth ending the session.
        return;
      }
      if (frame.type !== 'hello') return;
      if (typeof frame.offset === 'number') setOffset(frame.offset);
      if (frame.truncated) write(Buffer.from('\r\n[earlier terminal output was dropped]\r\n'));
    }

    return {
      sendInput(bytes) {
        if (socket.readyState === WebSocket.OPEN) socket.send(bytes, { binary: true });
        else if (socket.readyState === WebSocket.CONNECTING) pending.push(Buffer.from(bytes));
      },
      sendResize(cols, rows) {
        if (socket.readyState !== WebSocket.OPEN) return;
        socket.send(JSON.stringify({ type: 'resize', cols, rows }));
      },
      close() {
        socket.removeAllListeners('close');
        if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'detach');
        else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      },
    };
  });
}

/** Attaches over stdio rpc: `pty.data` events in, `pty.write` requests out. */
export function attachOverRpc(
  io: TerminalIo,
  options: {
    client: RpcClient;
    onEvent: (listener: (event: EventMessage) => void) => Disposable;
    sessionId: string;
    offset: number;
  },
): Promise<AttachResult> {
  // LIMITATION: stdio has no replay request, so bytes produced while detached are not shown.
  // Fix: a `pty.replay {session_id, offset}` method in the protocol.
  return runPassthrough(io, options.offset, (write, finish, setOffset) => {
    const { client, sessionId } = options;
    const subscription = options.onEvent((event) => {
      if (event.session_id !== sessionId) return;
      if (event.type === 'pty.data') {
        const data = Buffer.from(String(event.payload['data'] ?? ''), 'base64');
        if (typeof event.payload['offset'] === 'number') setOffset(event.payload['offset']);
        write(data);
      } else if (event.type === 'pty.exit') {
        finish({ reason: 'exited', message: CLOSE_MESSAGES[4410] as string });
      } else if (event.type === 'session.closed') {
        finish({ reason: 'exited', message: 'the session closed' });
      }
    });
    const closeSubscription = client.onClose(() => {
      finish({ reason: 'error', message: 'the gateway connection closed' });
    });
    const report = (error: unknown): void => {
      finish({ reason: 'error', message: error instanceof Error ? error.message : String(error) });
    };

    return {
      sendInput(bytes) {
        client
          .request('pty.write', { session_id: sessionId, data: bytes.toString('base64') })
          .catch(report);
      },
      sendResize(cols, rows) {
        client.request('pty.resize', { session_id: sessionId, cols, rows }).catch(report);
      },
      close() {
        subscription.dispose();
        closeSubscription.dispose();
      },
    };
  });
}
