/**
 * The client side (TUI, tests, third parties): request/response correlation, events, and
 * connecting over WebSocket or to a child process on stdio. Both wait for `gateway.ready`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Disposable } from '@tether/core';
import { WebSocket, type RawData } from 'ws';
import { CloseSignal, type CloseInfo } from './connection.js';
import { LineSplitter } from './lines.js';
import { EVENT_METHOD, READY_EVENT, type EventMessage, type GatewayReady } from './protocol.js';
import { WriteQueue } from './write-queue.js';

/** A JSON-RPC error from the server, or a client-side failure (see CLIENT_ERROR_CODES). */
export class RpcError extends Error {
  readonly code: number;
  readonly data?: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}

/** Codes of client-side rejections, in JSON-RPC's implementation-defined range. */
export const CLIENT_ERROR_CODES = {
  /** No response within the request's timeout. */
  TIMEOUT: -32000,
  /** The connection closed before the response arrived, or was closed already. */
  CLOSED: -32001,
} as const;

export interface RpcClient {
  readonly ready: GatewayReady | null;
  request<T = any>(method: string, params?: object, options?: { timeoutMs?: number }): Promise<T>;
  onEvent(listener: (event: EventMessage) => void): Disposable;
  onClose(listener: (info: CloseInfo) => void): Disposable;
  close(): void;
  readonly isOpen: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const CLIENT_MAX_LINE_BYTES = 64 * 1024 * 1024;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** What a concrete transport gives the shared client logic. */
interface ClientWire {
  send(text: string): void;
  end(): void;
}

class ClientCore implements RpcClient {
  ready: GatewayReady | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: EventMessage) => void>();
  private readonly closeSignal = new CloseSignal();
  private readyWaiter: ((ready: GatewayReady) => void) | null = null;

  constructor(private readonly wire: ClientWire) {}

  get isOpen(): boolean {
    return !this.closeSignal.isClosed;
  }

  waitForReady(timeoutMs: number): Promise<GatewayReady> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${READY_EVENT}`));
      }, timeoutMs);
      const closed = this.closeSignal.subscribe((info) => {
        clearTimeout(timer);
        reject(
          new Error(`connection closed before ${READY_EVENT} (code ${info.code} ${info.reason})`),
        );
      });
      this.readyWaiter = (ready) => {
        clearTimeout(timer);
        closed.dispose();
        resolve(ready);
      };
    });
  }

  request<T = any>(
    method: string,
    params?: object,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (!this.isOpen) {
      return Promise.reject(new RpcError(CLIENT_ERROR_CODES.CLOSED, 'connection is closed'));
    }

    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new RpcError(CLIENT_ERROR_CODES.TIMEOUT, `${method} timed out after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      const message = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
      this.wire.send(JSON.stringify(message));
    });
  }

  onEvent(listener: (event: EventMessage) => void): Disposable {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  onClose(listener: (info: CloseInfo) => void): Disposable {
    return this.closeSignal.subscribe(listener);
  }

  close(): void {
    this.wire.end();
  }

  /** Called by the transport for every received message. */
  receive(text: string): void {
    let message: any;
    try {
      message = JSON.parse(text);
    } catch (error) {
      // A server bug, not ours to crash on; nothing in it can be correlated.
      void error;
      return;
    }
    if (typeof message !== 'object' || message === null) return;

    if (message.method === EVENT_METHOD && typeof message.params === 'object' && message.params) {
      this.receiveEvent(message.params as EventMessage);
      return;
    }

    const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) {
      const { code, message: text, data } = message.error;
      pending.reject(new RpcError(Number(code), String(text), data));
    } else {
      pending.resolve(message.result);
    }
  }

  /** Called by the transport once the connection is gone. */
  closed(info: CloseInfo): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(
        new RpcError(CLIENT_ERROR_CODES.CLOSED, `connection closed (code ${info.code})`),
      );
    }
    this.closeSignal.fire(info);
  }

  private receiveEvent(event: EventMessage): void {
    if (event.type === READY_EVENT && this.ready === null) {
      this.ready = event.payload as unknown as GatewayReady;
      this.readyWaiter?.(this.ready);
      this.readyWaiter = null;
    }
    for (const listener of [...this.eventListeners]) listener(event);
  }
}

export interface WebSocketClientOptions {
  token?: string;
  origin?: string;
  /** Bound on the handshake plus the wait for `gateway.ready`. */
  timeoutMs?: number;
}

/** Connects to a gateway's `/rpc` and resolves once `gateway.ready` arrived. */
export async function connectWebSocketRpc(
  url: string,
  options: WebSocketClientOptions = {},
): Promise<RpcClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const ws = new WebSocket(url, { headers, origin: options.origin, handshakeTimeout: timeoutMs });

  const core = new ClientCore({
    send: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    end: () => {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000);
    },
  });
  const ready = core.waitForReady(timeoutMs);

  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      const what =
        status === 401
          ? 'unauthorised (bad or missing token)'
          : status === 403
            ? 'forbidden (origin not allowed)'
            : (res.statusMessage ?? '');
      reject(new Error(`websocket upgrade refused: HTTP ${status} ${what}`.trim()));
      res.resume();
      req.destroy();
      ws.terminate();
    });
    ws.once('error', (error) => reject(new Error(`websocket connect failed: ${error.message}`)));
  });

  ws.on('message', (data: RawData, isBinary) => {
    if (isBinary) return;
    core.receive(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString());
  });
  ws.on('error', () => {
    // 'close' follows every error; pending requests are rejected there.
  });
  ws.once('close', (code, reason) => core.closed({ code, reason: reason.toString('utf8') }));

  try {
    await Promise.race([ready, refused]);
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return core;
}

/** Speaks line-delimited JSON-RPC over already-open streams. */
export async function connectStdioRpc(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  options: { timeoutMs?: number } = {},
): Promise<RpcClient> {
  const core = createStdioClient(input, output);
  await core.waitForReady(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  return core;
}

function createStdioClient(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): ClientCore {
  let isEnded = false;
  const writer = new WriteQueue(output, () => {
    // EPIPE: the server went away; input EOF follows and closes the client.
    isEnded = true;
  });
  const core = new ClientCore({
    send: (text) => {
      if (!isEnded) writer.write(`${text}\n`);
    },
    end: () => {
      if (isEnded) return;
      isEnded = true;
      output.end();
    },
  });
  const splitter = new LineSplitter(CLIENT_MAX_LINE_BYTES, {
    onLine: (line) => core.receive(line),
    onOverlong: () => {
      // Only a broken server sends a 64 MiB line; skipping it is all a client can do.
    },
  });
  input.on('data', (chunk: Buffer | string) => {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  input.once('end', () => {
    splitter.end();
    core.closed({ code: 1000, reason: 'eof' });
  });
  input.once('error', (error: Error) => core.closed({ code: 1006, reason: error.message }));
  return core;
}

export interface StdioSpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stderr?: 'inherit' | 'pipe' | 'ignore';
  timeoutMs?: number;
}

/**
 * Spawns a process that speaks line-JSON-RPC on stdio (e.g. `tether-gateway --stdio`) and
 * resolves once it sent `gateway.ready`. `close()` ends its stdin, which asks it to exit.
 */
export async function spawnStdioRpc(
  command: string,
  args: string[],
  options: StdioSpawnOptions = {},
): Promise<RpcClient & { readonly child: ChildProcess }> {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'],
  });
  const stdin = child.stdin as NonNullable<ChildProcess['stdin']>;
  const stdout = child.stdout as NonNullable<ChildProcess['stdout']>;
  const core = createStdioClient(stdout, stdin);

  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`spawn ${command} failed: ${error.message}`)));
    child.once('exit', (code, signal) => {
      reject(new Error(`${command} exited before ${READY_EVENT} (code ${code}, signal ${signal})`));
    });
  });
  try {
    await Promise.race([
      core.waitForReady(options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
      failed,
    ]);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => {
    // After ready, an exit is reported through onClose (stdout EOF), not this promise.
  });

  return Object.assign(core, { child }) as RpcClient & { readonly child: ChildProcess };
}
