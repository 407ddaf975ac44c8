// Shared pieces for this package's tests: a real ws server on port 0 wired to a dispatcher.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { RpcConnection } from '../connection.js';
import type { Dispatcher } from '../dispatcher.js';
import { attachWebSocketRpc, type WebSocketRpcOptions } from '../ws-connection.js';

export interface TestServer {
  url: string;
  http: Server;
  wss: WebSocketServer;
  connections: RpcConnection[];
  nextConnection(): Promise<RpcConnection>;
  close(): Promise<void>;
}

export async function startTestServer(
  dispatcher: Dispatcher,
  options: WebSocketRpcOptions & {
    maxPayload?: number;
    onConnection?: (c: RpcConnection) => void;
  } = {},
): Promise<TestServer> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, maxPayload: options.maxPayload ?? 1024 * 1024 });
  const connections: RpcConnection[] = [];
  const waiters: ((c: RpcConnection) => void)[] = [];
  wss.on('connection', (ws) => {
    const connection = attachWebSocketRpc(ws, dispatcher, options);
    connections.push(connection);
    options.onConnection?.(connection);
    waiters.shift()?.(connection);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    http,
    wss,
    connections,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A raw ws client that collects every text message as parsed JSON. */
export async function rawClient(url: string, options: { autoPong?: boolean } = {}) {
  const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
  const messages: any[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const waiter of [...waiters]) {
      if (messages.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; atMs: number }>((resolve) => {
    ws.once('close', (code) => resolve({ code, atMs: performance.now() }));
  });
  return {
    ws,
    messages,
    closed,
    /** Resolves once `count` messages in total have arrived. */
    waitForCount(count: number): Promise<void> {
      if (messages.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    /** Sends one frame and resolves with the next message. */
    async call(frame: string | Buffer | object): Promise<any> {
      const expected = messages.length + 1;
      const isRaw = typeof frame === 'string' || Buffer.isBuffer(frame);
      ws.send(isRaw ? frame : JSON.stringify(frame));
      await this.waitForCount(expected);
      return messages[expected - 1];
    },
  };
}
