import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createDispatcher } from './dispatcher.js';
import { startHeartbeat, type HeartbeatOptions } from './heartbeat.js';
import { rawClient, startTestServer, type TestServer } from './test-fixtures/helpers.js';

const INTERVAL_MS = 100;
const TIMEOUT_MS = 200;
// Generous for a shared two-core machine; the point is "bounded", not "fast".
const SLACK_MS = 400;

let server: TestServer | null = null;
let bare: { http: Server; wss: WebSocketServer } | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  if (bare) {
    for (const client of bare.wss.clients) client.terminate();
    await new Promise<void>((resolve) => bare?.wss.close(() => resolve()));
    await new Promise<void>((resolve) => bare?.http.close(() => resolve()));
    bare = null;
  }
});

/** A ws server whose connections get a bare startHeartbeat with the given options. */
async function heartbeatServer(options: Omit<HeartbeatOptions, 'onDead'>) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  bare = { http, wss };
  const deaths: number[] = [];
  wss.on('connection', (ws) => {
    startHeartbeat(ws, { ...options, onDead: () => deaths.push(performance.now()) });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, deaths };
}

function countPings(ws: WebSocket): { count: number } {
  const counter = { count: 0 };
  ws.on('ping', () => (counter.count += 1));
  return counter;
}

function nthPing(ws: WebSocket, n: number, counter: { count: number }): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (counter.count < n) return;
      ws.off('ping', check);
      resolve();
    };
    ws.on('ping', check);
    check();
  });
}

describe('startHeartbeat', () => {
  it('terminates a client that never answers pings within interval + timeout', async () => {
    const dispatcher = createDispatcher({});
    server = await startTestServer(dispatcher, {
      heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS },
    });
    const connected = server.nextConnection();
    const startedMs = performance.now();
    const client = await rawClient(server.url, { autoPong: false });
    const connection = await connected;
    const closedOnServer = new Promise<{ code: number; reason: string }>((resolve) =>
      connection.onClose(resolve),
    );

    const { atMs } = await client.closed;
    const detectionMs = atMs - startedMs;
    console.log(
      `heartbeat: silent client terminated after ${detectionMs.toFixed(0)} ms ` +
        `(interval ${INTERVAL_MS} + timeout ${TIMEOUT_MS} = ${INTERVAL_MS + TIMEOUT_MS} ms)`,
    );
    expect(detectionMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(detectionMs).toBeLessThan(INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
    expect(await closedOnServer).toEqual({ code: 1006, reason: 'heartbeat timeout' });
  });

  it('keeps a client that answers pings', async () => {
    const { url, deaths } = await heartbeatServer({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
    });
    const client = await rawClient(url);
    const pings = countPings(client.ws);
    // Eight pings span well over interval + timeout several times.
    await nthPing(client.ws, 8, pings);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect(deaths).toEqual([]);
    client.ws.close();
  });

  it('re-pings instead of killing when the clock shows the timer fired far too late', async () => {
    let offsetMs = 0;
    const now = () => performance.now() + offsetMs;
    const { url, deaths } = await heartbeatServer({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      now,
    });
    const client = await rawClient(url, { autoPong: false });
    const pings = countPings(client.ws);

    // The first ping goes unanswered and the machine "sleeps" 10 s before any timer runs:
    // the missed pong says nothing about the peer, so the heartbeat must start over.
    await nthPing(client.ws, 1, pings);
    offsetMs += 10_000;
    const killed = client.closed.then(() => {
      throw new Error('terminated although the timer only fired late');
    });
    await Promise.race([nthPing(client.ws, 2, pings), killed]);
    client.ws.on('ping', (data) => client.ws.pong(data));
    client.ws.pong();

    await Promise.race([nthPing(client.ws, 6, pings), killed]);
    killed.catch(() => undefined);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect(deaths).toEqual([]);
    client.ws.close();
  });

  it('still kills after a stall if the peer stays silent for the fresh ping too', async () => {
    let offsetMs = 0;
    const now = () => performance.now() + offsetMs;
    const { url, deaths } = await heartbeatServer({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      now,
    });
    const client = await rawClient(url, { autoPong: false });
    const pings = countPings(client.ws);
    await nthPing(client.ws, 1, pings);
    offsetMs += 10_000;
    await client.closed;
    expect(pings.count).toBeGreaterThanOrEqual(2);
    expect(deaths.length).toBe(1);
  });

  it('is off with intervalMs 0 and stops when the socket closes', async () => {
    const { url, deaths } = await heartbeatServer({ intervalMs: 0, timeoutMs: TIMEOUT_MS });
    const client = await rawClient(url, { autoPong: false });
    const pings = countPings(client.ws);
    // A round trip proves the server had time for several intervals' worth of pings.
    const response = await new Promise<void>((resolve) => {
      client.ws.once('pong', () => resolve());
      client.ws.ping();
    });
    void response;
    expect(pings.count).toBe(0);
    expect(deaths).toEqual([]);
    client.ws.close();
  });
});
