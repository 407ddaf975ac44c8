/**
 * The peer users would otherwise pick for terminals in a browser: Debian's Jupyter Server with
 * terminado, started on loopback with its own temp root and JUPYTER_* dirs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@tether/test-utils';
import { WebSocket } from 'ws';
import type { TermStream } from '../term-stream.js';

/** Debian's python, not whichever python comes first on PATH. */
const PYTHON = '/usr/bin/python3';
const APT_PACKAGES = ['python3-jupyter-server', 'python3-terminado'];

export interface JupyterAvailability {
  ok: boolean;
  version: string | null;
  message: string;
}

function probe(): { ok: boolean; version: string | null } {
  const result = spawnSync(
    PYTHON,
    [
      '-c',
      'import jupyter_server, terminado; print(jupyter_server.__version__, terminado.__version__)',
    ],
    { encoding: 'utf8' },
  );
  return result.status === 0
    ? { ok: true, version: result.stdout.trim() }
    : { ok: false, version: null };
}

/** Checks for the peer and, when allowed and root, installs it with apt. */
export function ensureJupyter(options: { mayInstall: boolean }): JupyterAvailability {
  const first = probe();
  if (first.ok) return { ...first, message: 'installed' };
  const how = `apt-get install -y ${APT_PACKAGES.join(' ')}`;
  if (!options.mayInstall)
    return { ok: false, version: null, message: `not installed; run: ${how}` };
  if (process.getuid?.() !== 0) {
    return { ok: false, version: null, message: `not installed and not root; run: sudo ${how}` };
  }
  process.stderr.write(`bench: installing the Jupyter peer: ${how}\n`);
  const install = spawnSync('apt-get', ['install', '-y', ...APT_PACKAGES], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const second = probe();
  if (second.ok) return { ...second, message: 'installed by the suite with apt' };
  return {
    ok: false,
    version: null,
    message: `apt-get failed (status ${install.status}); run: apt-get update && ${how}`,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface JupyterServer {
  child: ChildProcess;
  port: number;
  openTerminal(): Promise<TermStream>;
  stop(): Promise<void>;
}

export async function startJupyter(): Promise<JupyterServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-jupyter-'));
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  const env = {
    ...process.env,
    // The same shell as the other systems, so only the transport differs.
    SHELL: '/bin/sh',
    HOME: dir,
    JUPYTER_CONFIG_DIR: join(dir, 'config'),
    JUPYTER_DATA_DIR: join(dir, 'data'),
    JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
    JUPYTER_PLATFORM_DIRS: '1',
  };
  const child = spawn(
    PYTHON,
    [
      '-m',
      'jupyter_server',
      '--allow-root',
      `--ServerApp.token=${token}`,
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1',
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${dir}`,
    ],
    // Its own kernel session, like the Tether gateway (see systems/tether.ts).
    { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr!.on(
    'data',
    (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const base = `127.0.0.1:${port}`;
  const headers = { authorization: `token ${token}` };
  await waitFor(
    async () => {
      if (hasExited) throw new Error(`jupyter exited early: ${stderr}`);
      const response = await fetch(`http://${base}/api/status`, { headers });
      return response.ok;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'jupyter server' },
  );

  return {
    child,
    port,
    async openTerminal() {
      const response = await fetch(`http://${base}/api/terminals`, { method: 'POST', headers });
      if (!response.ok) throw new Error(`POST /api/terminals: ${response.status}`);
      const { name } = (await response.json()) as { name: string };
      return openTerminado(`ws://${base}/terminals/websocket/${name}`, headers, async () => {
        await fetch(`http://${base}/api/terminals/${name}`, { method: 'DELETE', headers });
      });
    },
    async stop() {
      if (!hasExited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function openTerminado(
  url: string,
  headers: Record<string, string>,
  remove: () => Promise<void>,
): Promise<TermStream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const stream: TermStream = {
      system: 'Jupyter',
      write: (data) => ws.send(JSON.stringify(['stdin', data])),
      sink: () => undefined,
      async close() {
        await new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done();
          ws.once('close', () => done());
          ws.close(1000);
        });
        await remove();
      },
    };
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString()) as [string, unknown];
      if (message[0] === 'stdout') stream.sink(message[1] as string);
    });
    ws.once('open', () => resolve(stream));
    ws.once('error', reject);
  });
}
