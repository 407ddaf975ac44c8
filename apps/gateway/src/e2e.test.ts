import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventRecorder } from './test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from './test-support/gateway-process.js';
import { countsAgree } from './test-support/leaks.js';
import { storedRuns } from './test-support/store-check.js';
import { stopAndCheck } from './test-support/cleanup.js';

let gateway: GatewayProcess | null = null;
let client: RpcClient | null = null;

afterEach(async () => {
  client?.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  client = null;
});

function openPty(gw: GatewayProcess, sessionId: string, offset?: number) {
  const query = offset === undefined ? '' : `?offset=${offset}`;
  const socket = new WebSocket(`ws://127.0.0.1:${gw.port}/pty/${sessionId}${query}`, {
    headers: { authorization: `Bearer ${gw.token}` },
  });
  let output = '';
  const control: Array<Record<string, unknown>> = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) output += data.toString('utf8');
    else control.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  return { socket, output: () => output, control };
}

describe('gateway end to end over WebSocket', () => {
  it('creates a session, streams a turn, renames it, echoes terminal input and closes it once', async () => {
    gateway = await startGatewayProcess();
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    expect(client.ready).toMatchObject({ instance_id: gateway.instanceId, protocol: 1 });
    const events = new EventRecorder(client);

    const { session } = await client.request('session.create', {
      title: 'first',
      pty: { cols: 80, rows: 24 },
    });
    expect(session).toMatchObject({ title: 'first', attached: 1, pty: { cols: 80, rows: 24 } });
    const sessionId: string = session.session_id;

    const { turn_id: turnId } = await client.request('prompt.submit', {
      session_id: sessionId,
      text: 'echo hello',
    });
    const end = await events.next(
      (event) => event.type === 'turn.end' && event.payload.turn_id === turnId,
    );
    expect(end.payload.exit_code).toBe(0);
    const output = events
      .ofType('turn.output', sessionId)
      .filter((event) => event.payload.turn_id === turnId)
      .map((event) => event.payload.data)
      .join('');
    expect(output).toBe('hello\n');
    const seqs = events.events
      .filter((event) => event.session_id === sessionId)
      .map((event) => event.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    await client.request('slash.exec', { session_id: sessionId, command: '/title Work' });
    const listed = await client.request('session.list');
    expect(listed.sessions).toHaveLength(1);
    expect(listed.sessions[0].title).toBe('Work');

    const pty = openPty(gateway, sessionId);
    await waitFor(() => pty.control.find((frame) => frame.type === 'hello'), { what: 'pty hello' });
    pty.socket.send(Buffer.from('echo hi-from-pty\r'));
    await waitFor(() => /hi-from-pty[\r\n]+.*hi-from-pty/s.test(pty.output()), {
      what: 'echoed output',
    });

    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: true,
    });
    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: false,
    });
    expect((await client.request('session.list')).sessions).toHaveLength(0);
    await waitFor(() => pty.socket.readyState === WebSocket.CLOSED, { what: 'pty socket closed' });

    const runs = await storedRuns(gateway.home);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ endReason: 'client_close' });
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });

  it('answers unknown ids with 4001 and creates nothing', async () => {
    gateway = await startGatewayProcess();
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    await expect(
      client.request('prompt.submit', { session_id: 'nope', text: 'ls' }),
    ).rejects.toMatchObject({
      code: 4001,
    });
    await expect(client.request('session.create', { pty: { cols: 'wide' } })).rejects.toMatchObject(
      {
        code: -32602,
        data: { field: 'pty.cols' },
      },
    );
    await expect(client.request('no.such.method')).rejects.toMatchObject({ code: -32601 });
    expect((await client.request('session.list')).sessions).toHaveLength(0);
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });
});

describe('the door', () => {
  it('refuses /rpc and /pty upgrades without a valid token with HTTP 401', async () => {
    gateway = await startGatewayProcess();
    const statusOf = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${gateway!.port}${path}`, { headers });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('open', () => {
          socket.close();
          resolve(101);
        });
        socket.on('error', () => {});
      });
    expect(await statusOf('/rpc')).toBe(401);
    expect(await statusOf('/pty/anything')).toBe(401);
    expect(await statusOf('/rpc', { authorization: 'Bearer wrong' })).toBe(401);
    expect(await statusOf('/rpc?token=wrong')).toBe(401);
    expect(await statusOf(`/rpc?token=${gateway.token}`)).toBe(101);
    const metrics = await fetch(`http://127.0.0.1:${gateway.port}/metrics`);
    expect(metrics.status).toBe(401);
    const health = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true, sessions: 0 });
  });
});
