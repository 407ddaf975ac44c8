import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { storedRuns } from '../test-support/store-check.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const INTERVAL_S = 1;
const TIMEOUT_S = 1;
const SLACK_MS = 1000;
const GRACE_S = 2;

/** Forwards both ways until `blackhole()`; then drops every byte and keeps the sockets open. */
async function startProxy(targetPort: number) {
  let isBlackholed = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.push(inbound, outbound);
    inbound.on('data', (data) => isBlackholed || outbound.write(data));
    outbound.on('data', (data) => isBlackholed || inbound.write(data));
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    // While blackholed the far side's FIN must not reach the other side either.
    inbound.on('end', () => isBlackholed || outbound.end());
    outbound.on('end', () => isBlackholed || inbound.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    blackhole: () => (isBlackholed = true),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let gateway: GatewayProcess | null = null;
let clients: RpcClient[] = [];
let proxy: Awaited<ReturnType<typeof startProxy>> | null = null;

afterEach(async () => {
  for (const client of clients) client.close();
  await proxy?.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  clients = [];
  proxy = null;
});

describe('heartbeat on a half-open socket', () => {
  it('declares a blackholed connection dead within interval + timeout, then grace expires', async () => {
    gateway = await startGatewayProcess({
      args: [
        '--heartbeat-interval-s',
        String(INTERVAL_S),
        '--heartbeat-timeout-s',
        String(TIMEOUT_S),
        '--grace-s',
        String(GRACE_S),
        '--reap-interval-s',
        '0.2',
      ],
    });
    proxy = await startProxy(gateway.port);
    const viaProxy = await connectWebSocketRpc(`ws://127.0.0.1:${proxy.port}/rpc`, {
      token: gateway.token,
    });
    const observer = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    clients.push(viaProxy, observer);
    const { session } = await viaProxy.request('session.create', {
      title: 'behind a proxy',
      pty: {},
    });
    const sessionId: string = session.session_id;
    expect((await observer.request('session.list')).sessions[0]).toMatchObject({ attached: 1 });

    proxy.blackhole();
    const blackholedMs = performance.now();
    const detached = await waitFor(
      async () => {
        const [listed] = (await observer.request('session.list')).sessions;
        return listed?.status === 'detached' ? listed : null;
      },
      { what: 'session detached', timeoutMs: 10_000, intervalMs: 25 },
    );
    const detectionMs = performance.now() - blackholedMs;
    console.log(
      `[half-open] detected after ${detectionMs.toFixed(0)} ms ` +
        `(--heartbeat-interval-s ${INTERVAL_S} --heartbeat-timeout-s ${TIMEOUT_S})`,
    );
    expect(detached).toMatchObject({ session_id: sessionId, attached: 0 });
    expect(detectionMs).toBeLessThan((INTERVAL_S + TIMEOUT_S) * 1000 + SLACK_MS);
    expect(gateway.logs()).toContain('heartbeat_timeout');

    // Grace is running: the session is still there, then it ends by grace.
    await waitFor(async () => (await observer.request('session.list')).sessions.length === 0, {
      what: 'grace expiry',
      timeoutMs: GRACE_S * 1000 + 5000,
    });
    const home = gateway.home;
    // The run's end is persisted through the outbox, just after the session left the list.
    const endReason = await waitFor(async () => (await storedRuns(home))[0]?.endReason, {
      what: 'stored end',
    });
    expect(endReason).toBe('grace_expired');
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
  });
});
