/**
 * Starts the built gateway as a real process for end-to-end tests and stops it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '@tether/test-utils';

export const GATEWAY_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  home: string;
  url: string;
  port: number;
  token: string;
  instanceId: string;
  pid: number;
  /** Everything the gateway wrote on stderr so far (one JSON log line per event). */
  logs(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  removeHome(): Promise<void>;
}

export async function startGatewayProcess(
  options: { args?: string[]; env?: Record<string, string>; home?: string } = {},
): Promise<GatewayProcess> {
  const dir = options.home ? null : await tempDir('tether-gw-');
  const home = options.home ?? dir!.path;
  const token = `test-token-${Math.random().toString(36).slice(2)}`;
  const child = spawn(
    process.execPath,
    [GATEWAY_MAIN, '--port', '0', '--home', home, '--token', token, ...(options.args ?? [])],
    { env: { ...cleanEnv(), ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const exitedEarly = exited.then(({ code, signal }) => {
    throw new Error(`gateway exited early (code ${code}, signal ${signal}): ${stderr}`);
  });
  const readRuntime = waitFor(
    async () => {
      const info = JSON.parse(await readFile(join(home, 'gateway.json'), 'utf8')) as {
        url: string;
        port: number;
        pid: number;
        instance_id: string;
        token: string;
      };
      return info.pid === child.pid ? info : null;
    },
    { timeoutMs: 20_000, what: 'gateway runtime file' },
  );
  const runtime = await Promise.race([readRuntime, exitedEarly]);
  exitedEarly.catch(() => undefined);

  return {
    child,
    home,
    url: runtime.url,
    port: runtime.port,
    token,
    instanceId: runtime.instance_id,
    pid: child.pid!,
    logs: () => stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!hasExited) child.kill(signal);
      return exited;
    },
    removeHome: async () => dir?.remove(),
  };
}

/** The test runner's environment without anything that would mark the gateway itself. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TETHER_')) env[key] = value;
  }
  return env;
}

/** Parsed JSON log lines of a gateway. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
