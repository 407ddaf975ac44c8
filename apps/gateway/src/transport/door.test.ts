import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { scrapeMetrics } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

let gateway: GatewayProcess | null = null;
let clients: RpcClient[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  clients = [];
});

function upgradeStatus(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('error', () => {
      // The status above is what the test reads.
    });
  });
}

/** A raw /rpc socket collecting every reply frame. */
async function rawRpc(gw: GatewayProcess) {
  const ws = new WebSocket(gw.url, { headers: { authorization: `Bearer ${gw.token}` } });
  const replies: Array<Record<string, any>> = [];
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as Record<string, any>;
    if (frame.method !== 'event') replies.push(frame);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {
    // 'close' carries the code.
  });
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, replies, closed };
}

/** mulberry32: a small seeded generator, so a failing frame sequence can be replayed. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function malformedFrame(random: () => number, index: number): string | Buffer {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const methods = [
    'session.attach',
    'session.detach',
    'pty.resize',
    'pty.write',
    'prompt.submit',
    'nope',
    '',
    42,
  ];
  const junkValues = [null, -1, 1.5, 'x', [], {}, true, 1e308, '\u0000', 'A'.repeat(500)];
  const ids = [
    index,
    `id-${index}`,
    1,
    1,
    2 ** 60,
    -0,
    'x'.repeat(300),
    { nested: 1 },
    [1],
    true,
    1.25,
  ];
  switch (Math.floor(random() * 9)) {
    case 0:
      return `{"jsonrpc":"2.0","id":${index},"method":"session.list"`.slice(
        0,
        5 + Math.floor(random() * 40),
      );
    case 1:
      return Buffer.from([0, 159, 146, 150, Math.floor(random() * 256)]);
    case 2:
      return JSON.stringify([{ jsonrpc: '2.0', id: index, method: 'session.list' }]);
    case 3:
      return JSON.stringify({ jsonrpc: pick(['1.0', 2, null]), id: index, method: 'session.list' });
    case 4:
      return JSON.stringify({ jsonrpc: '2.0', id: pick(ids), method: pick(methods) });
    case 5:
      return JSON.stringify({
        jsonrpc: '2.0',
        id: index,
        method: pick(methods.slice(0, 5)),
        params: {
          session_id: pick(junkValues),
          cols: pick(junkValues),
          rows: pick(junkValues),
          data: pick(junkValues),
        },
      });
    case 6:
      return JSON.stringify({
        jsonrpc: '2.0',
        id: index,
        method: 'session.list',
        params: pick(['x', 5, [1, 2], null]),
      });
    case 7:
      return pick(['null', '42', '"str"', '[]', '{}', 'true', '{"__proto__":{"x":1}}', '\u0000']);
    default:
      return `${'['.repeat(200 + Math.floor(random() * 200))}`;
  }
}

describe('the door', () => {
  it('needs the token on /rpc, /pty, /metrics and /, and checks Origin', async () => {
    gateway = await startGatewayProcess({ args: ['--allow-origin', 'http://allowed.example'] });
    const { port, token } = gateway;
    const auth = { authorization: `Bearer ${token}` };
    for (const path of ['/rpc', '/pty/any']) {
      expect(await upgradeStatus(port, path)).toBe(401);
      expect(await upgradeStatus(port, path, { authorization: 'Bearer wrong' })).toBe(401);
      expect(await upgradeStatus(port, `${path}?token=wrong`)).toBe(401);
      expect(await upgradeStatus(port, path, { ...auth, origin: 'http://evil.example' })).toBe(403);
    }
    expect(await upgradeStatus(port, '/rpc', { ...auth, origin: `http://127.0.0.1:${port}` })).toBe(
      101,
    );
    expect(await upgradeStatus(port, '/rpc', { ...auth, origin: 'http://allowed.example' })).toBe(
      101,
    );
    for (const path of ['/metrics', '/']) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}${path}?token=wrong`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}${path}?token=${token}`)).status).toBe(200);
    }
    expect(gateway.logs()).not.toContain(token);
    expect((await stat(join(gateway.home, 'gateway.json'))).mode & 0o777).toBe(0o600);
  });

  it('answers an oversized frame with 4029, closes 1009 past maxPayload, limits rate and sessions', async () => {
    gateway = await startGatewayProcess({
      args: ['--max-message-bytes', '1024', '--rate-limit-per-s', '20', '--max-sessions', '2'],
    });
    const big = await rawRpc(gateway);
    big.ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'session.list',
        params: { pad: 'x'.repeat(1500) },
      }),
    );
    const tooBig = await waitFor(() => big.replies.find((reply) => reply.error), {
      what: '4029 reply',
    });
    expect(tooBig.error).toMatchObject({ code: 4029 });
    big.ws.send('x'.repeat(10_000));
    expect(await big.closed).toBe(1009);

    const flood = await rawRpc(gateway);
    for (let id = 0; id < 300; id += 1)
      flood.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'session.list' }));
    await waitFor(() => flood.replies.length === 300, { what: '300 replies' });
    const limited = flood.replies.filter((reply) => reply.error?.code === 4029);
    expect(limited.length).toBeGreaterThan(200);
    expect(flood.replies.filter((reply) => reply.result).length).toBeGreaterThan(0);
    flood.ws.close();

    const health = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
    expect(health.status).toBe(200);
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    clients.push(client);
    await client.request('session.create', {});
    await client.request('session.create', {});
    await expect(client.request('session.create', {})).rejects.toMatchObject({ code: 4029 });
    expect(await countsAgree(gateway)).toEqual({ sessions: 2, registry: 2, openRuns: 2 });
  });

  it('answers 10 000 seeded malformed frames with JSON-RPC errors only and stays up', async () => {
    gateway = await startGatewayProcess({ args: ['--rate-limit-per-s', '1000000'] });
    const before = (await scrapeMetrics(gateway)).get('tether_process_resident_memory_bytes') ?? 0;
    const fuzz = await rawRpc(gateway);
    const random = seeded(0x7e7e7);
    for (let index = 0; index < 10_000; index += 1) {
      const frame = malformedFrame(random, index);
      fuzz.ws.send(frame, { binary: Buffer.isBuffer(frame) });
    }
    fuzz.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'session.list' }));
    const final = await waitFor(() => fuzz.replies.find((reply) => reply.id === 'final'), {
      what: 'final reply',
      timeoutMs: 30_000,
    });
    expect(final.result).toEqual({ sessions: [] });
    const others = fuzz.replies.filter((reply) => reply.id !== 'final');
    expect(others.length).toBeGreaterThan(5000);
    const nonErrors = others.filter(
      (reply) => reply.jsonrpc !== '2.0' || !Number.isInteger(reply.error?.code),
    );
    expect(JSON.stringify(nonErrors.slice(0, 3))).toBe('[]');
    expect(fuzz.ws.readyState).toBe(WebSocket.OPEN);
    fuzz.ws.close();

    const after = await scrapeMetrics(gateway);
    console.log(
      `[door] fuzz: ${others.length} error replies; rss ${(before / 2 ** 20).toFixed(0)} → ` +
        `${((after.get('tether_process_resident_memory_bytes') ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    );
    expect((await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status).toBe(200);
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });
});
