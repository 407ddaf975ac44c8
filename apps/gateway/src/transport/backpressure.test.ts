import type { Socket } from 'node:net';
import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { endOffset, openPty, scrapeMetrics } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const MIB = 1024 * 1024;
/** gateway.ts: pause above 1 MiB unsent; the replay (1 MiB by default) may go out in one piece. */
const HIGH_WATERMARK_BYTES = MIB;
const REPLAY_BYTES = MIB;
const STALL_HOLD_MS = 10_000;

let gateway: GatewayProcess | null = null;
let client: RpcClient | null = null;

afterEach(async () => {
  client?.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  client = null;
});

function rawSocket(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

describe('backpressure', () => {
  it('keeps the backlog bounded and the pty paused while a /pty client stops reading for 10 s', async () => {
    gateway = await startGatewayProcess();
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const gw = gateway;
    const { session } = await client.request('session.create', { pty: { command: ['yes'] } });
    const sessionId: string = session.session_id;

    const pty = openPty(gateway, sessionId, { offset: 0 });
    await pty.hello;
    await waitFor(() => pty.byteCount() > 100_000, { what: 'yes output flowing' });
    rawSocket(pty.socket).pause();
    await waitFor(async () => (await scrapeMetrics(gw)).get('tether_pty_paused') === 1, {
      what: 'pty paused',
    });

    const pausedAt = await endOffset(gateway, sessionId);
    const holdUntil = Date.now() + STALL_HOLD_MS;
    let maxUnsent = 0;
    while (Date.now() < holdUntil) {
      const metrics = await scrapeMetrics(gateway);
      maxUnsent = Math.max(maxUnsent, metrics.get('tether_pty_unsent_bytes') ?? 0);
      expect(metrics.get('tether_pty_paused')).toBe(1);
      // Pacing of the sampling loop only; nothing waits on this.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await endOffset(gateway, sessionId)).toBe(pausedAt);
    const peak = (await scrapeMetrics(gateway)).get('tether_pty_unsent_bytes_peak') ?? -1;
    console.log(
      `[backpressure] yes flood: peak unsent ${peak} bytes, max sampled ${maxUnsent} bytes`,
    );
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(HIGH_WATERMARK_BYTES + REPLAY_BYTES);

    rawSocket(pty.socket).resume();
    await waitFor(async () => (await scrapeMetrics(gw)).get('tether_pty_paused') === 0, {
      what: 'pty resumed',
    });
    await waitFor(async () => (await endOffset(gw, sessionId)) > pausedAt, {
      what: 'output flowing again',
    });

    const interruptAt = performance.now();
    pty.socket.send(Buffer.from([0x03]));
    const exit = await events.next(
      (event) => event.type === 'pty.exit' && event.session_id === sessionId,
      5000,
    );
    const stopMs = performance.now() - interruptAt;
    console.log(`[backpressure] Ctrl-C stopped yes in ${stopMs.toFixed(0)} ms`);
    expect(exit.payload).toEqual({ exit_code: null, signal: 'SIGINT' });
    expect(stopMs).toBeLessThan(1000);
    expect((await pty.closed).code).toBe(4410);

    await client.request('session.close', { session_id: sessionId });
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });

  it('cuts off a /pty client stuck past --pty-stall-s and lets the terminal run on', async () => {
    gateway = await startGatewayProcess({ args: ['--pty-stall-s', '1'] });
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const gw = gateway;
    const { session } = await client.request('session.create', { pty: { command: ['yes'] } });
    const sessionId: string = session.session_id;

    const stuck = openPty(gateway, sessionId);
    await stuck.hello;
    rawSocket(stuck.socket).pause();
    await waitFor(async () => (await scrapeMetrics(gw)).get('tether_pty_paused') === 1, {
      what: 'pty paused',
    });
    const pausedMs = performance.now();
    // The stuck client cannot see a close frame, so watch the gateway side let go.
    await waitFor(async () => (await scrapeMetrics(gw)).get('tether_pty_paused') === 0, {
      what: 'stuck socket dropped',
      timeoutMs: 5000,
    });
    console.log(
      `[backpressure] stuck /pty client dropped after ${(performance.now() - pausedMs).toFixed(0)} ms`,
    );
    stuck.socket.terminate();

    const before = await endOffset(gateway, sessionId);
    await waitFor(async () => (await endOffset(gw, sessionId)) > before + 10_000, {
      what: 'terminal running on',
    });
    expect((await client.request('session.list')).sessions).toHaveLength(1);
    await client.request('session.close', { session_id: sessionId });
  });

  it('terminates a slow /rpc client over its buffer bound and detaches its session', async () => {
    gateway = await startGatewayProcess({ args: ['--grace-s', '60'] });
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const slow = new WebSocket(`${gateway.url}`, {
      headers: { authorization: `Bearer ${gateway.token}` },
    });
    const replies: Array<Record<string, any>> = [];
    slow.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as Record<string, any>;
      if ('id' in frame) replies.push(frame);
    });
    const slowClosed = new Promise<number>((resolve) => slow.on('close', (code) => resolve(code)));
    await new Promise((resolve) => slow.once('open', resolve));
    const send = (id: number, method: string, params: object) =>
      slow.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));

    send(1, 'session.create', { title: 'slow' });
    const created = await waitFor(() => replies.find((reply) => reply.id === 1), {
      what: 'create reply',
    });
    const sessionId: string = created.result.session.session_id;
    send(2, 'prompt.submit', { session_id: sessionId, text: 'yes' });
    await waitFor(() => replies.find((reply) => reply.id === 2), { what: 'submit reply' });
    rawSocket(slow).pause();

    await waitFor(
      async () => {
        const { sessions } = await client!.request('session.list');
        // A running turn shows as `running` even when detached; no attachment left is the sign.
        return sessions[0]?.attached === 0 ? sessions[0] : null;
      },
      { what: 'slow client cut off, session detached', timeoutMs: 30_000 },
    );
    rawSocket(slow).resume();
    expect(await slowClosed).toBe(1006);
    const rss = (await scrapeMetrics(gateway)).get('tether_process_resident_memory_bytes') ?? 0;
    console.log(`[backpressure] gateway rss after slow /rpc client: ${(rss / MIB).toFixed(0)} MiB`);
    expect(rss).toBeLessThan(512 * MIB);
    await client.request('session.close', { session_id: sessionId });
  });
});
