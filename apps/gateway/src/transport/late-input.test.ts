import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { openPty } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const PASTE_BYTES = 4 * 1024 * 1024;
/** Raw mode, so the whole paste reaches the program; it exits once it has read all of it. */
const PASTE_SCRIPT = `stty raw -echo; echo READY; head -c ${PASTE_BYTES} > /dev/null; exit 0`;

let gateway: GatewayProcess | null = null;
let client: RpcClient | null = null;

afterEach(async () => {
  client?.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  client = null;
});

describe('bad and late terminal input', () => {
  it('rejects bad sizes naming the field, clamps huge ones, and answers late input with 4100 / 4410', async () => {
    gateway = await startGatewayProcess();
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const { session } = await client.request('session.create', {
      pty: { command: ['sh', '-c', PASTE_SCRIPT] },
    });
    const sessionId: string = session.session_id;
    const rpc = client;
    const resize = (cols: unknown, rows: unknown) =>
      rpc.request('pty.resize', { session_id: sessionId, cols, rows });

    for (const [cols, rows, field] of [
      [0, 24, 'cols'],
      [-5, 24, 'cols'],
      [80.5, 24, 'cols'],
      ['NaN', 24, 'cols'],
      [null, 24, 'cols'],
      [80, 0, 'rows'],
      [80, 'x', 'rows'],
    ] as const) {
      await expect(resize(cols, rows)).rejects.toMatchObject({ code: -32602, data: { field } });
    }
    expect(await resize(100_000, 2 ** 40)).toEqual({ cols: 1000, rows: 1000 });

    // A 4 MiB paste through /pty: written without stalling the loop (health stays prompt).
    const pty = openPty(gateway, sessionId);
    await pty.hello;
    await waitFor(() => pty.output().includes('READY'), { what: 'READY' });
    const startedMs = performance.now();
    // One frame, as xterm.js sends a paste: /pty accepts frames far above the RPC limit.
    pty.socket.send(Buffer.alloc(PASTE_BYTES, 'a'));
    const healthMs: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const before = performance.now();
      await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
      healthMs.push(performance.now() - before);
    }
    console.log(
      `[late-input] 4 MiB paste: slowest /healthz ${Math.max(...healthMs).toFixed(0)} ms, ` +
        `${(performance.now() - startedMs).toFixed(0)} ms total`,
    );
    expect(Math.max(...healthMs)).toBeLessThan(1000);

    await events.next((event) => event.type === 'pty.exit' && event.session_id === sessionId);
    expect((await pty.closed).code).toBe(4410);

    await expect(resize(80, 24)).rejects.toMatchObject({ code: 4100 });
    const data = Buffer.from('late').toString('base64');
    await expect(rpc.request('pty.write', { session_id: sessionId, data })).rejects.toMatchObject({
      code: 4100,
    });
    const late = openPty(gateway, sessionId);
    expect((await late.closed).code).toBe(4410);
    for (let i = 0; i < 200; i += 1) void resize(80 + i, 24).catch(() => undefined);
    expect((await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status).toBe(200);
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
  });
});
