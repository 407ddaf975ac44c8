import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TetherError } from '@tether/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { rejectUpgrade, tokenFromRequest, tokensEqual } from './auth.js';
import { connectWebSocketRpc, RpcError } from './client.js';
import type { RpcConnection } from './connection.js';
import { createDispatcher } from './dispatcher.js';
import { attachWebSocketRpc } from './ws-connection.js';

const TOKEN = 'test-token-123';

interface Gateway {
  url: string;
  connections: RpcConnection[];
  close(): Promise<void>;
}

let gateway: Gateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

/** A miniature gateway: token door, dispatcher, gateway.ready first. */
async function startGateway(options: { sendReady?: boolean } = {}): Promise<Gateway> {
  const connections: RpcConnection[] = [];
  const dispatcher = createDispatcher({
    'gateway.info': { handler: () => ({ version: '0.1.0' }) },
    'events.burst': {
      params: { count: { type: 'integer', min: 1, max: 100 } },
      handler: (params: { count: number }, { connection }) => {
        for (let seq = 1; seq <= params.count; seq += 1) {
          connection.notify({
            type: 'turn.output',
            session_id: 's1',
            seq,
            payload: { data: `#${seq}` },
          });
        }
        return { sent: params.count };
      },
    },
    'session.close': {
      params: { session_id: { type: 'string' } },
      handler: (params: { session_id: string }) => {
        throw new TetherError('TETHER_SESSION_NOT_FOUND', undefined, {
          session_id: params.session_id,
        });
      },
    },
    hang: { handler: () => new Promise(() => undefined) },
    bye: {
      handler: (_params, { connection }) => {
        setImmediate(() => connection.close(4000, 'server says bye'));
        return new Promise(() => undefined);
      },
    },
  });
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const token = tokenFromRequest(req);
    if (!token || !tokensEqual(token, TOKEN)) return rejectUpgrade(socket, 401, 'bad token');
    if (req.headers.origin === 'http://evil.example')
      return rejectUpgrade(socket, 403, 'bad origin');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = attachWebSocketRpc(ws, dispatcher, {});
      connections.push(connection);
      if (options.sendReady !== false) {
        connection.notify({
          type: 'gateway.ready',
          payload: { version: '0.1.0', instance_id: 'gw-1', protocol: 1 },
        });
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/rpc`,
    connections,
    async close() {
      for (const client of wss.clients) client.terminate();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('connectWebSocketRpc', () => {
  it('connects, waits for gateway.ready, requests, receives events and closes', async () => {
    gateway = await startGateway();
    const client = await connectWebSocketRpc(gateway.url, { token: TOKEN });
    expect(client.ready).toEqual({ version: '0.1.0', instance_id: 'gw-1', protocol: 1 });
    expect(client.isOpen).toBe(true);
    expect(await client.request('gateway.info')).toEqual({ version: '0.1.0' });

    const events: unknown[] = [];
    const subscription = client.onEvent((event) => events.push(event));
    expect(await client.request('events.burst', { count: 3 })).toEqual({ sent: 3 });
    expect(events).toEqual(
      [1, 2, 3].map((seq) => ({
        type: 'turn.output',
        session_id: 's1',
        seq,
        payload: { data: `#${seq}` },
      })),
    );
    subscription.dispose();

    const error = await client
      .request('session.close', { session_id: 'gone' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: 4001, data: { session_id: 'gone' } });

    const serverClosed = new Promise((resolve) => gateway?.connections[0]?.onClose(resolve));
    const clientClosed = new Promise((resolve) => client.onClose(resolve));
    client.close();
    expect(await clientClosed).toMatchObject({ code: 1000 });
    expect(await serverClosed).toMatchObject({ code: 1000 });
    expect(client.isOpen).toBe(false);
  });

  it('rejects with the HTTP status on 401 and 403', async () => {
    gateway = await startGateway();
    await expect(connectWebSocketRpc(gateway.url)).rejects.toThrow(/HTTP 401/);
    await expect(connectWebSocketRpc(gateway.url, { token: 'wrong' })).rejects.toThrow(/HTTP 401/);
    await expect(
      connectWebSocketRpc(gateway.url, { token: TOKEN, origin: 'http://evil.example' }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it('rejects when gateway.ready does not arrive in time', async () => {
    gateway = await startGateway({ sendReady: false });
    const startedMs = performance.now();
    await expect(
      connectWebSocketRpc(gateway.url, { token: TOKEN, timeoutMs: 300 }),
    ).rejects.toThrow(/timed out after 300 ms waiting for gateway.ready/);
    expect(performance.now() - startedMs).toBeLessThan(2000);
  });

  it('rejects pending requests when the socket closes, and times out single requests', async () => {
    gateway = await startGateway();
    const client = await connectWebSocketRpc(gateway.url, { token: TOKEN });
    await expect(client.request('hang', {}, { timeoutMs: 100 })).rejects.toMatchObject({
      code: -32000,
    });

    const pending = client.request('hang');
    const closing = client.request('bye');
    await expect(pending).rejects.toMatchObject({ code: -32001 });
    await expect(closing).rejects.toBeInstanceOf(RpcError);
    expect(client.isOpen).toBe(false);
  });
});
