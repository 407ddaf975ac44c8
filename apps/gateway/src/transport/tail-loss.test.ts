import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { tempDir, waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { openPty } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const RUNS = 50;
const PARALLEL = 5;

let gateway: GatewayProcess | null = null;
let client: RpcClient | null = null;
let scratch: { path: string; remove(): Promise<void> } | null = null;

afterEach(async () => {
  client?.close();
  if (gateway) await stopAndCheck(gateway);
  await scratch?.remove();
  gateway = null;
  client = null;
  scratch = null;
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('no tail loss through the gateway', () => {
  it(`delivers every byte of a program that writes 300 000 random bytes as base64 and exits 3, ${RUNS} runs`, async () => {
    gateway = await startGatewayProcess();
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    scratch = await tempDir('tether-tail-');
    const events = new EventRecorder(client);
    const gw = gateway;
    const rpc = client;
    const dir = scratch.path;

    const runOnce = async (index: number) => {
      const file = join(dir, `out-${index}`);
      // -onlcr: the PTY passes the bytes through unchanged so they can be compared. The program
      // waits for input after READY, so the bytes go through the live stream, not the replay.
      const script =
        `stty -onlcr -echo; echo READY; read go; ` +
        `head -c 300000 /dev/urandom | base64 > '${file}'; cat '${file}'; exit 3`;
      const { session } = await rpc.request('session.create', {
        pty: { command: ['sh', '-c', script] },
      });
      const sessionId: string = session.session_id;
      const pty = openPty(gw, sessionId, { offset: 0 });
      const hello = await pty.hello;
      await waitFor(() => pty.output().includes('READY\n'), { what: 'READY' });
      pty.socket.send(Buffer.from('go\r'));
      const closed = await pty.closed;
      const exit = await events.next(
        (event) => event.type === 'pty.exit' && event.session_id === sessionId,
      );
      const expected = Buffer.concat([Buffer.from('READY\n'), await readFile(file)]);
      const received = pty.output();
      await rpc.request('session.close', { session_id: sessionId });
      return { hello, closed, exit: exit.payload, expected, received };
    };

    const results: Awaited<ReturnType<typeof runOnce>>[] = [];
    for (let start = 0; start < RUNS; start += PARALLEL) {
      const batch = Array.from({ length: Math.min(PARALLEL, RUNS - start) }, (_, i) =>
        runOnce(start + i),
      );
      results.push(...(await Promise.all(batch)));
    }

    for (const result of results) {
      expect(result.hello).toMatchObject({ offset: 0, truncated: false });
      expect(result.received.length).toBe(result.expected.length);
      expect(sha256(result.received)).toBe(sha256(result.expected));
      expect(result.closed.code).toBe(4410);
      expect(result.exit).toEqual({ exit_code: 3, signal: null });
    }
    expect(results).toHaveLength(RUNS);
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });
});
