/** Tether as a user runs it: the built gateway process on loopback, spoken to over WebSocket. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { WebSocket } from 'ws';
import type { TermStream } from '../term-stream.js';

export const GATEWAY_MAIN = fileURLToPath(
  new URL('../../../apps/gateway/dist/main.js', import.meta.url),
);

/** Knobs a user would set for a load test: room for many sessions, no per-client rate cap. */
export const LOAD_KNOBS = ['--max-sessions', '100000', '--rate-limit-per-s', '1000000'];

export interface TetherGateway {
  child: ChildProcess;
  pid: number;
  port: number;
  token: string;
  instanceId: string;
  home: string;
  rpc(): Promise<RpcClient>;
  openPty(sessionId: string): Promise<TermStream>;
  healthzMs(): Promise<number>;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
}

function envWithoutTether(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // An inherited TETHER_* would mark the gateway itself or change its knobs.
    if (value !== undefined && !key.startsWith('TETHER_')) env[key] = value;
  }
  return env;
}

export async function startTether(knobs: string[] = []): Promise<TetherGateway> {
  const home = await mkdtemp(join(tmpdir(), 'tether-bench-'));
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  // BENCH_GATEWAY_NODE_ARGS lets a profiling run add e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      GATEWAY_MAIN,
      '--port',
      '0',
      '--home',
      home,
      '--token',
      token,
      '--log-level',
      'warn',
      ...knobs,
    ],
    // Its own kernel session, as a gateway run from another terminal or a service is: with
    // autogroup scheduling the bench client then does not share the gateway's CPU share.
    { env: envWithoutTether(), stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const runtime = await waitFor(
    async () => {
      if (hasExited) throw new Error(`gateway exited early: ${stderr}`);
      const info = JSON.parse(await readFile(join(home, 'gateway.json'), 'utf8')) as {
        port: number;
        pid: number;
        instance_id: string;
      };
      return info.pid === child.pid ? info : null;
    },
    { timeoutMs: 20_000, what: 'gateway runtime file' },
  );
  const base = `127.0.0.1:${runtime.port}`;
  const headers = { authorization: `Bearer ${token}` };

  return {
    child,
    pid: child.pid!,
    port: runtime.port,
    token,
    instanceId: runtime.instance_id,
    home,
    rpc: () => connectWebSocketRpc(`ws://${base}/rpc`, { token }),
    openPty: (sessionId) => openTetherPty(`ws://${base}/pty/${sessionId}`, headers),
    async healthzMs() {
      const started = performance.now();
      const response = await fetch(`http://${base}/healthz`);
      await response.text();
      return performance.now() - started;
    },
    async metrics() {
      const response = await fetch(`http://${base}/metrics`, { headers });
      return response.text();
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!hasExited) child.kill(signal);
      const result = await exited;
      process.removeListener('exit', killOnExit);
      await rm(home, { recursive: true, force: true });
      return result;
    },
  };
}

function openTetherPty(url: string, headers: Record<string, string>): Promise<TermStream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const stream: TermStream = {
      system: 'Tether',
      write: (data) => ws.send(Buffer.from(data), { binary: true }),
      sink: () => undefined,
      close: () =>
        new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done();
          ws.once('close', () => done());
          ws.close(1000);
        }),
    };
    ws.on('message', (data, isBinary) => {
      // The first text frame is the hello; later text frames are control replies.
      if (!isBinary) return resolve(stream);
      stream.sink(data as Buffer);
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`pty socket closed early (${code})`)));
  });
}

/** Creates a session with a `/bin/sh` terminal and opens its terminal stream. */
export async function tetherShell(
  gateway: TetherGateway,
  rpc: RpcClient,
): Promise<{ sessionId: string; stream: TermStream }> {
  const created = await rpc.request<{ session: { session_id: string } }>('session.create', {
    title: 'bench',
    pty: { cols: 80, rows: 24, command: ['/bin/sh'] },
  });
  const sessionId = created.session.session_id;
  return { sessionId, stream: await gateway.openPty(sessionId) };
}

/** One line of Prometheus text, by exact metric name. */
export function metricValue(text: string, name: string): number | null {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : null;
}
