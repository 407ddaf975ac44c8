import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { openPty } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const INPUT_BYTES = 1024 * 1024;

let gateway: GatewayProcess | null = null;
let client: RpcClient | null = null;

afterEach(async () => {
  client?.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  client = null;
});

async function sessionRunning(script: string): Promise<string> {
  const { session } = await client!.request('session.create', {
    pty: { command: ['sh', '-c', script] },
  });
  return session.session_id as string;
}

describe('terminal input stall', () => {
  it('closes with 1013 a socket whose input the program never reads, and keeps the session', async () => {
    gateway = await startGatewayProcess({ args: ['--pty-stall-s', '1'] });
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const sessionId = await sessionRunning('stty raw -echo; echo READY; sleep 600');
    const pty = openPty(gateway, sessionId);
    await pty.hello;
    await waitForText(pty.output, 'READY');

    const sentMs = performance.now();
    pty.socket.send(Buffer.alloc(INPUT_BYTES, 'x'));
    const closed = await pty.closed;
    const stallMs = Math.round(performance.now() - sentMs);
    console.log(`input stall detected after ${stallMs} ms (--pty-stall-s 1)`);

    expect(closed.code).toBe(1013);
    expect(stallMs).toBeGreaterThanOrEqual(900);
    expect((await client.request('session.list')).sessions).toHaveLength(1);
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
  });

  it('keeps a socket whose program reads slower than input arrives', async () => {
    // The queue grows the whole time, but the program keeps taking bytes: that is progress.
    gateway = await startGatewayProcess({ args: ['--pty-stall-s', '1'] });
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const chunks = 30;
    const chunkBytes = 8000;
    const script =
      `stty raw -echo; echo READY; ` +
      `n=0; while [ $n -lt ${(chunks * chunkBytes) / 4000} ]; do head -c 4000 > /dev/null; ` +
      `n=$((n+1)); sleep 0.1; done; echo DONE; sleep 600`;
    const sessionId = await sessionRunning(script);
    const pty = openPty(gateway, sessionId);
    await pty.hello;
    await waitForText(pty.output, 'READY');
    for (let index = 0; index < chunks; index += 1) {
      pty.socket.send(Buffer.alloc(chunkBytes, 'z'));
      await new Promise((resolve) => setTimeout(resolve, 100)); // the sender's own pace
    }
    // Sent at 80 KB/s, read at 40 KB/s: the last bytes are read ~3 s after the last send,
    // far past the 1 s stall limit, with the queue never shrinking until the very end.
    await waitForText(pty.output, 'DONE');
    expect(pty.socket.readyState).toBe(pty.socket.OPEN);
    pty.socket.close();
  });

  it('keeps a socket whose large input the program reads, however long it takes', async () => {
    gateway = await startGatewayProcess({ args: ['--pty-stall-s', '1'] });
    client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const script = `stty raw -echo; echo READY; head -c ${INPUT_BYTES} > /dev/null; echo DONE; sleep 600`;
    const sessionId = await sessionRunning(script);
    const pty = openPty(gateway, sessionId);
    await pty.hello;
    await waitForText(pty.output, 'READY');

    pty.socket.send(Buffer.alloc(INPUT_BYTES, 'y'));
    await waitForText(pty.output, 'DONE');
    expect(pty.socket.readyState).toBe(pty.socket.OPEN);
    pty.socket.close();
  });
});

async function waitForText(output: () => Buffer, text: string): Promise<void> {
  await waitFor(() => output().toString('utf8').includes(text), { what: text, timeoutMs: 20_000 });
}
