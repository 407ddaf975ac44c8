/**
 * Workload 8: how fast failures are noticed. A half-open client socket (a loopback proxy that
 * stops forwarding), a worker whose parent was SIGKILLed, and a SIGKILLed gateway.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { startTether, type TetherGateway } from '../systems/tether.js';
import { killMarked, timeUntilNoMarked } from '../procs.js';
import { createLoadedSessions } from './mass-close.js';

const WORKER_PARENT = fileURLToPath(
  new URL('../../dist/fixtures/worker-parent.js', import.meta.url),
);

/** A loopback TCP proxy whose forwarding can be cut while both sockets stay open. */
async function startProxy(
  targetPort: number,
): Promise<{ port: number; cut(): void; close(): void }> {
  let isForwarding = true;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.push(client, upstream);
    client.on('data', (data) => isForwarding && upstream.write(data));
    upstream.on('data', (data) => isForwarding && client.write(data));
    // Errors after the cut are expected (the gateway hangs up); the proxy only forwards.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => (isForwarding = false),
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** ms from cutting the proxy until the gateway closes the client's close_on_disconnect session. */
export async function halfOpenDetection(reps: number, boundMs: number): Promise<number[]> {
  const gateway = await startTether(['--heartbeat-interval-s', '1', '--heartbeat-timeout-s', '1']);
  const results: number[] = [];
  try {
    for (let rep = 0; rep < reps; rep += 1) {
      const proxy = await startProxy(gateway.port);
      const rpc = await connectWebSocketRpc(`ws://127.0.0.1:${proxy.port}/rpc`, {
        token: gateway.token,
      });
      await rpc.request('session.create', { title: 'bench-half-open', close_on_disconnect: true });
      const started = performance.now();
      proxy.cut();
      for (;;) {
        const response = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
        const health = (await response.json()) as { sessions: number };
        if (health.sessions === 0) break;
        if (performance.now() - started > boundMs)
          throw new Error('half-open socket never detected');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      results.push(performance.now() - started);
      rpc.close();
      proxy.close();
    }
  } finally {
    await gateway.stop();
  }
  return results;
}

function isGone(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    // Vanished between the two reads.
    return true;
  }
}

/** ms from SIGKILL of a worker's parent until the worker is gone, with the gateway's defaults. */
export async function workerOrphanDetection(reps: number, boundMs: number): Promise<number[]> {
  const results: number[] = [];
  for (let rep = 0; rep < reps; rep += 1) {
    const instanceId = `bench-orphan-${process.pid}-${rep}-${Date.now().toString(36)}`;
    const options = {
      sessionId: `bench-session-${rep}`,
      instanceId,
      cwd: process.cwd(),
      env: {
        ...process.env,
        TETHER_INSTANCE_ID: instanceId,
        TETHER_SESSION_ID: `bench-session-${rep}`,
      },
      plugins: [],
      requestTimeoutMs: 45_000,
      watchdogPollMs: 2000,
      watchdogGraceMs: 5000,
      killGraceMs: 1000,
    };
    const parent = spawn(process.execPath, [WORKER_PARENT, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const workerPid = await new Promise<number>((resolve, reject) => {
      let text = '';
      parent.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /WORKER (\d+)/.exec(text);
        if (match) resolve(Number(match[1]));
      });
      parent.once('exit', (code) =>
        reject(new Error(`worker parent exited (${code}) before its worker`)),
      );
    });
    const started = performance.now();
    parent.kill('SIGKILL');
    while (!isGone(workerPid)) {
      if (performance.now() - started > boundMs) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const elapsed = performance.now() - started;
    if (!isGone(workerPid)) {
      await killMarked(instanceId);
      throw new Error(
        `worker ${workerPid} still alive ${Math.round(elapsed)} ms after its parent's SIGKILL`,
      );
    }
    results.push(elapsed);
  }
  return results;
}

export interface GatewayKillResult {
  sessions: number;
  ms: number | null;
  left: number;
}

/** SIGKILL the gateway with sessions (terminal + worker) open; time until no marked process. */
export async function gatewayKillDetection(
  sessions: number,
  boundMs: number,
): Promise<GatewayKillResult> {
  const gateway: TetherGateway = await startTether(['--max-sessions', '100000']);
  const rpc = await gateway.rpc();
  await createLoadedSessions(rpc, sessions, 4, true, true);
  rpc.close();
  const started = performance.now();
  await gateway.stop('SIGKILL');
  const gone = await timeUntilNoMarked(gateway.instanceId, started, boundMs);
  // Whatever outlived the bound is ours to clean up: it carries this run's instance marker.
  if (gone.left > 0) await killMarked(gateway.instanceId);
  return { sessions, ms: gone.ms, left: gone.left };
}
