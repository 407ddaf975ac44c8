/**
 * Starts the built gateway for a soak and stops it. Its JSON log goes to a file in the soak's
 * home folder; lines at error level or above are counted as they arrive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** The built gateway entry (apps/gateway/dist/main.js through the workspace link). */
export const GATEWAY_MAIN = join(
  require.resolve('tether-gateway/package.json'),
  '..',
  'dist',
  'main.js',
);

/** Life-cycle knobs small enough that grace, idle and heartbeat fire many times in a soak. */
export const SOAK_GATEWAY_ARGS = [
  '--grace-s',
  '0.5',
  '--idle-ttl-s',
  '5',
  '--reap-interval-s',
  '0.2',
  '--kill-grace-ms',
  '200',
  '--heartbeat-interval-s',
  '1',
  '--heartbeat-timeout-s',
  '1',
  '--watchdog-grace-s',
  '0.5',
  '--worker-timeout-s',
  '10',
  '--rate-limit-per-s',
  '100000',
];

export interface SoakGateway {
  child: ChildProcess;
  pid: number;
  port: number;
  token: string;
  instanceId: string;
  home: string;
  logPath: string;
  /** Log lines at level error (50) or above, the first few kept whole. */
  errorLines: { count: number; samples: string[] };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly hasExited: boolean;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  removeHome(): Promise<void>;
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TETHER_')) env[key] = value;
  }
  return env;
}

const STOP_TIMEOUT_MS = 30_000;

export async function startSoakGateway(
  extraArgs: string[] = [],
  startTimeoutMs = 20_000,
): Promise<SoakGateway> {
  const home = await mkdtemp(join(tmpdir(), 'tether-soak-'));
  const token = `soak-${Math.random().toString(36).slice(2)}`;
  const child = spawn(
    process.execPath,
    [
      // Diagnostics, e.g. SOAK_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
      ...(process.env.SOAK_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
      GATEWAY_MAIN,
      '--port',
      '0',
      '--home',
      home,
      '--token',
      token,
      ...SOAK_GATEWAY_ARGS,
      ...extraArgs,
    ],
    { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logPath = join(home, 'gateway.log');
  const log = createWriteStream(logPath);
  const errorLines = { count: 0, samples: [] as string[] };
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const level = /"level":(\d+)/.exec(line);
      if (!level || Number(level[1]) < 50) continue;
      errorLines.count += 1;
      if (errorLines.samples.length < 10) errorLines.samples.push(line.slice(0, 600));
    }
  });
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      hasExited = true;
      log.end();
      resolve({ code, signal });
    }),
  );

  const deadline = Date.now() + startTimeoutMs;
  let runtime: { port: number; pid: number; instance_id: string } | null = null;
  while (!runtime) {
    if (hasExited) throw new Error(`gateway exited during start; see ${logPath}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not start within ${startTimeoutMs} ms`);
    }
    try {
      const info = JSON.parse(await readFile(join(home, 'gateway.json'), 'utf8'));
      if (info.pid === child.pid) runtime = info;
    } catch {
      // Not written yet.
    }
    if (!runtime) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    child,
    pid: child.pid!,
    port: runtime.port,
    token,
    instanceId: runtime.instance_id,
    home,
    logPath,
    errorLines,
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop() {
      if (!hasExited) child.kill('SIGTERM');
      // Bounded: a shutdown that hangs is a failure, not a reason to hang the soak.
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    removeHome: () => rm(home, { recursive: true, force: true }),
  };
}
