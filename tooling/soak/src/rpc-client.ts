/**
 * A bare JSON-RPC client for the soak. Unlike the ws-transport client it exposes the ways a
 * real client goes away: a clean close frame, or a socket destroyed with no goodbye.
 */
import WebSocket from 'ws';

export class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Client-side codes (never sent by the gateway). */
export const LOCAL_CODES = { closed: -1, timeout: -2 } as const;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface SoakEvent {
  type: string;
  session_id?: string;
  payload: Record<string, unknown>;
}

export class SoakClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: SoakEvent) => void>();
  isOpen = true;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => this.receive(String(data)));
    ws.on('error', () => {
      // 'close' follows every error; pending requests are failed there.
    });
    ws.on('close', () => {
      this.isOpen = false;
      for (const [id, pending] of this.pending) {
        clearTimeout(pending.timer);
        pending.reject(new RpcFailure(LOCAL_CODES.closed, 'connection closed'));
        this.pending.delete(id);
      }
    });
  }

  /** Connects to `/rpc` on the given port and resolves once `gateway.ready` arrived. */
  static connect(port: number, token: string, timeoutMs = 10_000): Promise<SoakClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: timeoutMs,
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('no gateway.ready in time'));
      }, timeoutMs);
      ws.once('message', (data: WebSocket.RawData) => {
        clearTimeout(timer);
        const first = JSON.parse(String(data)) as { params?: { type?: string } };
        if (first.params?.type !== 'gateway.ready') {
          ws.terminate();
          reject(new Error(`first frame was not gateway.ready: ${String(data).slice(0, 200)}`));
          return;
        }
        resolve(new SoakClient(ws));
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  request<T = any>(method: string, params: object = {}, timeoutMs = 20_000): Promise<T> {
    if (!this.isOpen || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RpcFailure(LOCAL_CODES.closed, 'connection closed'));
    }
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcFailure(LOCAL_CODES.timeout, `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
  }

  onEvent(listener: (event: SoakEvent) => void): void {
    this.eventListeners.add(listener);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** A clean goodbye: close frame 1000. */
  close(): void {
    this.isOpen = false;
    this.ws.close(1000);
  }

  /** The client vanishes: the TCP socket is destroyed, no close frame is sent. */
  vanish(): void {
    this.isOpen = false;
    this.ws.terminate();
  }

  private receive(text: string): void {
    let message: {
      id?: number;
      result?: unknown;
      error?: { code: number; message: string };
      method?: string;
      params?: SoakEvent;
    };
    try {
      message = JSON.parse(text);
    } catch {
      // The gateway only sends JSON; a broken frame is counted by the caller's invariants.
      return;
    }
    if (message.method === 'event' && message.params) {
      for (const listener of this.eventListeners) listener(message.params);
      return;
    }
    if (typeof message.id !== 'number') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new RpcFailure(message.error.code, message.error.message));
    else pending.resolve(message.result);
  }
}
