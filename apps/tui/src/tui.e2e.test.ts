// The TUI against the real gateway, in a real terminal (tmux), driven by keystrokes and read
// back from the screen.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { leakCheck, tempDir, uniqueMarker, waitFor } from '@tether/test-utils';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const GATEWAY_MAIN = join(REPO, 'apps/gateway/dist/main.js');
const TUI_MAIN = join(REPO, 'apps/tui/dist/main.js');
const hasGateway = existsSync(GATEWAY_MAIN);
const isCi = Boolean(process.env['CI']);

if (!hasGateway && !isCi) {
  console.warn(`skipping tui e2e: ${GATEWAY_MAIN} is missing (build apps/gateway first)`);
}

// Everything a test process may inherit that would point the gateway or the TUI elsewhere.
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of [
    'TETHER_SESSION_ID',
    'TETHER_INSTANCE_ID',
    'TETHER_URL',
    'TETHER_TOKEN',
    'TETHER_HOME',
    'TETHER_PORT',
    'TMUX',
    'CI',
  ]) {
    delete env[key];
  }
  return env;
}

describe.skipIf(!hasGateway && !isCi)('tether in a real terminal', () => {
  const socketName = uniqueMarker('tether-tui');
  const token = uniqueMarker('token');
  let home: { path: string; remove(): Promise<void> };
  let gateway: ChildProcess;
  let gatewayStderr = '';
  let instanceId = '';
  let rpcUrl = '';
  let gatewayExit: Promise<number | null>;

  const tmux = async (...args: string[]): Promise<string> =>
    (await run('tmux', ['-L', socketName, ...args], { env: cleanEnv() })).stdout;
  const screen = (): Promise<string> => tmux('capture-pane', '-p', '-t', 'tui');
  const waitForScreen = async (test: (text: string) => boolean, what: string): Promise<string> => {
    let last = '';
    try {
      return await waitFor(
        async () => {
          last = await screen();
          return test(last) ? last : null;
        },
        { what, timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- screen ---\n${last}\n--- gateway stderr (tail) ---\n${gatewayStderr.slice(-2000)}`,
        { cause: error },
      );
    }
  };

  beforeAll(async () => {
    if (!hasGateway)
      throw new Error(`${GATEWAY_MAIN} is missing under CI: build apps/gateway first`);
    if (!existsSync(TUI_MAIN))
      throw new Error(`${TUI_MAIN} is missing: run pnpm build in apps/tui`);
    home = await tempDir('tether-tui-e2e-');

    // A long grace: the sessions must outlive the TUI between its runs on a loaded machine.
    const args = ['--port', '0', '--home', home.path, '--token', token, '--grace-s', '600'];
    gateway = spawn(process.execPath, [GATEWAY_MAIN, ...args], {
      env: cleanEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    gateway.stderr?.on('data', (chunk: Buffer) => {
      gatewayStderr += chunk.toString('utf8');
    });
    gatewayExit = new Promise((resolve) => gateway.once('exit', (code) => resolve(code)));

    const runtime = await waitFor(
      async () => {
        const text = await readFile(join(home.path, 'gateway.json'), 'utf8');
        return JSON.parse(text) as { instance_id: string; url: string };
      },
      { what: 'the gateway runtime file', timeoutMs: 20_000, intervalMs: 50 },
    );
    instanceId = runtime.instance_id;
    rpcUrl = runtime.url;
  });

  const startTui = async (): Promise<void> => {
    // `env -u CI`: with CI set, Ink renders nothing until exit.
    const command = `env -u CI ${process.execPath} ${TUI_MAIN} --home ${home.path}`;
    await tmux('new-session', '-d', '-s', 'tui', '-x', '120', '-y', '40', command);
  };

  const quitTui = async (): Promise<void> => {
    await tmux('send-keys', '-t', 'tui', 'C-q');
    // The tmux session (and its server) ends with the TUI.
    await waitFor(
      async () => {
        try {
          await tmux('has-session', '-t', 'tui');
          return false;
        } catch {
          return true; // has-session fails once the session is gone: that is the wait's end
        }
      },
      { what: 'the TUI to quit', timeoutMs: 30_000, intervalMs: 100 },
    );
  };

  afterAll(async () => {
    await tmux('kill-server').catch(() => {
      // Already gone (the TUI exited and tmux with it); nothing left to stop.
    });
    if (gateway && gateway.exitCode === null) gateway.kill('SIGTERM');
    await home?.remove();
  });

  it('creates a session, runs a prompt, attaches and detaches the terminal', async () => {
    await startTui();
    await waitForScreen((text) => text.includes('0 sessions'), 'the UI with 0 sessions');

    await tmux('send-keys', '-t', 'tui', 'C-n');
    await waitForScreen((text) => /\b1 session\b(?!s)/.test(text), 'footer "1 session"');

    await tmux('send-keys', '-t', 'tui', '-l', 'echo hello-tui');
    await waitForScreen((text) => text.includes('> echo hello-tui'), 'the typed prompt');
    await tmux('send-keys', '-t', 'tui', 'Enter');
    const afterTurn = await waitForScreen(
      (text) => /│ hello-tui\s/.test(text) && text.includes('[exit 0'),
      'turn output hello-tui and its exit code',
    );
    expect(afterTurn).toContain('$ echo hello-tui');
    expect(afterTurn).toMatch(/\b1 session\b(?!s)/);

    await tmux('send-keys', '-t', 'tui', 'C-t');
    await waitForScreen((text) => text.includes('Ctrl-] detaches'), 'the attached terminal');
    await tmux('send-keys', '-t', 'tui', '-l', 'echo hi-term');
    await tmux('send-keys', '-t', 'tui', 'Enter');
    await waitForScreen((text) => /^hi-term\s*$/m.test(text), 'hi-term printed by the shell');

    await tmux('send-keys', '-t', 'tui', 'C-]');
    const back = await waitForScreen(
      (text) => text.includes('detached from the terminal') && /\b1 session\b(?!s)/.test(text),
      'the UI again after Ctrl-]',
    );
    expect(back).toContain('hello-tui');
  });

  it('shows the stored output of sessions when re-opened', async () => {
    await quitTui();
    // Another client makes a session and runs a turn while no TUI is open.
    const rpc = await connectWebSocketRpc(rpcUrl, { token });
    const { session } = await rpc.request('session.create', { title: 'rpc-made' });
    const ended = new Promise<void>((resolve) => {
      rpc.onEvent((event) => {
        if (event.type === 'turn.end' && event.session_id === session.session_id) resolve();
      });
    });
    await rpc.request('prompt.submit', {
      session_id: session.session_id,
      text: 'echo REPLAY-MARKER',
    });
    await ended;
    rpc.close();

    await startTui();
    // The oldest session is current at start: the one the first TUI run made.
    const first = await waitForScreen(
      (text) =>
        /│ hello-tui\s/.test(text) && text.includes('[exit 0') && /\b2 sessions\b/.test(text),
      "the first session's stored turn on re-open",
    );
    expect(first).toContain('$ echo hello-tui');

    await tmux('send-keys', '-t', 'tui', 'Tab');
    const second = await waitForScreen(
      (text) => /│ REPLAY-MARKER\s/.test(text) && /› +rpc-made · idle · 1 att/.test(text),
      "the rpc-made session's stored turn after Tab",
    );
    // From the store only: the events the gateway still buffers are not shown a second time.
    expect(second.match(/\$ echo REPLAY-MARKER/g)).toHaveLength(1);
  });

  it('lists a closed session on Ctrl-R and resumes it with its turns', async () => {
    // rpc-made is current: close it, so only the store knows it.
    await tmux('send-keys', '-t', 'tui', 'C-w');
    await waitForScreen(
      (text) => text.includes('closed "rpc-made"') && /\b1 session\b(?!s)/.test(text),
      'rpc-made closed',
    );

    await tmux('send-keys', '-t', 'tui', 'C-r');
    const picker = await waitForScreen(
      (text) =>
        text.includes('Resume a stored session') && /› rpc-made · .* · client_close/.test(text),
      'the resume list with rpc-made first',
    );
    expect(picker).toMatch(/untitled · .* · live/);

    await tmux('send-keys', '-t', 'tui', 'Enter');
    const resumed = await waitForScreen(
      (text) =>
        text.includes('resumed "rpc-made"') &&
        /│ REPLAY-MARKER\s/.test(text) &&
        /\b2 sessions\b/.test(text) &&
        /› +rpc-made · idle · 1 att/.test(text),
      'rpc-made resumed with its stored turn',
    );
    expect(resumed.match(/\$ echo REPLAY-MARKER/g)).toHaveLength(1);

    // The resumed session takes prompts again.
    await tmux('send-keys', '-t', 'tui', '-l', 'echo after-resume');
    await tmux('send-keys', '-t', 'tui', 'Enter');
    await waitForScreen(
      (text) => /│ after-resume\s/.test(text),
      'a new turn in the resumed session',
    );
  });

  it('stops the gateway cleanly and leaves no process behind', async () => {
    await tmux('kill-server');
    gateway.kill('SIGTERM');
    expect(await gatewayExit).toBe(0);

    const leaks = await leakCheck({
      markerKey: 'TETHER_INSTANCE_ID',
      markerValue: instanceId,
      timeoutMs: 10_000,
    });
    expect(leaks.marked).toEqual([]);
    expect(leaks.zombies).toEqual([]);
  });
});
