/**
 * The worker child's entry: wires the IPC channel to commands and turns, and owns the way
 * out (parent death, polite shutdown, signals). Run as `node child.js --parent-pid N ...`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROCESS_MARKER_ENV, SESSION_MARKER_ENV, TetherError, reapProcesses } from '@tether/core';
import { runSlashCommand, type WorkerState } from './commands.js';
import { loadPlugins } from './plugins.js';
import {
  parseChildArgv,
  toWireError,
  type ChildMessage,
  type ParentMessage,
  type WorkerRequest,
} from './protocol.js';
import { createShellAgent } from './shell-agent.js';
import { TurnRunner } from './turn-runner.js';
import { startWatchdog } from './watchdog.js';

function send(message: ChildMessage): void {
  // After the parent is gone there is nobody to tell; the watchdog handles the exit.
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, (error) => {
    if (error) process.stderr.write(`tether-worker: ipc send failed: ${error.message}\n`);
  });
}

/**
 * Runs the worker in this process until its parent goes or asks it to shut down. Expects an
 * IPC channel and stdin as a pipe from the parent: EOF on either counts as parent death.
 */
export async function runSlashWorker(
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const config = parseChildArgv(argv);
  // A dead parent's stderr pipe gives EPIPE; that must not crash the orderly way out.
  process.stderr.on('error', () => undefined);

  const plugins = await loadPlugins(config.plugins);
  for (const error of plugins.errors) {
    process.stderr.write(`tether-worker: plugin ${error.path} failed to load: ${error.message}\n`);
  }
  const agents = new Map(plugins.agents);
  agents.set('shell', createShellAgent(config.killGraceMs));

  const state: WorkerState = {
    sessionId: process.env[SESSION_MARKER_ENV] ?? '',
    cwd: process.cwd(),
    turnEnv: new Map(),
    startedAtMs: performance.now(),
    history: [],
    turnsStarted: 0,
    runningTurnId: null,
  };
  const turns = new TurnRunner({
    state,
    agents,
    killGraceMs: config.killGraceMs,
    onOutput: (turnId, data) => send({ type: 'turnOutput', turnId, data }),
    onEnd: (end) => send({ type: 'turnEnd', end }),
  });
  const commandsInFlight = new Set<Promise<unknown>>();
  const shutdownAbort = new AbortController();
  let isShuttingDown = false;
  let cutGrace: () => void = () => undefined;

  async function killOwnChildren(): Promise<void> {
    const markers = [process.env[PROCESS_MARKER_ENV], ...turns.markers]
      .filter((value): value is string => Boolean(value))
      .map((value) => ({ key: PROCESS_MARKER_ENV, value }));
    await reapProcesses(
      { rootPids: [process.pid], markers },
      {
        killGraceMs: 0,
        politeSignal: 'SIGKILL',
        killWaitMs: 500,
      },
    );
  }

  async function shutdown(reason: string, graceMs: number): Promise<void> {
    if (isShuttingDown) return cutGrace();
    isShuttingDown = true;
    watchdog.stop();
    // A turn dies at once; only slash commands get the grace to finish.
    turns.killNow();
    shutdownAbort.abort(reason);
    if (commandsInFlight.size > 0) {
      const graceOver = new Promise<void>((resolve) => {
        cutGrace = resolve;
        setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled([...commandsInFlight]), graceOver]);
    }
    // On a polite shutdown the parent is alive and reaps this worker's and its turns' markers
    // itself once the worker is gone; scanning /proc here too would only slow a mass close
    // (hundreds of workers each walking /proc at once). On parent death nobody else will.
    if (reason === 'shutdown') process.exit(0);
    try {
      await killOwnChildren();
    } catch (error) {
      // /proc unreadable: still exit; the parent's close() reaps by marker as a second line.
      process.stderr.write(`tether-worker: reap failed: ${(error as Error).message}\n`);
    }
    process.exit(0);
  }

  async function handle(request: WorkerRequest): Promise<unknown> {
    if (isShuttingDown) throw new TetherError('TETHER_WORKER_FAILED', 'worker is shutting down');
    if (request.method === 'exec') {
      const running = runSlashCommand(request.params.command, state, plugins, shutdownAbort.signal);
      commandsInFlight.add(running);
      try {
        return await running;
      } finally {
        commandsInFlight.delete(running);
      }
    }
    if (request.method === 'startTurn') return turns.start(request.params);
    return turns.interrupt(request.params?.leftoversReapedByCaller === true);
  }

  const watchdog = startWatchdog({
    parentPid: config.parentPid,
    pollMs: config.watchdogPollMs,
    onParentGone: (reason) => void shutdown(reason, config.watchdogGraceMs),
  });
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'shutdown') {
      void shutdown('shutdown', config.watchdogGraceMs);
      return;
    }
    if (message.type !== 'request') return;
    handle(message).then(
      (result) => send({ type: 'response', id: message.id, result }),
      (error: unknown) => send({ type: 'response', id: message.id, error: toWireError(error) }),
    );
  });
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    // Turns live in their own process groups, so a signal to the worker's group misses them:
    // the worker must take them down itself rather than die at once.
    process.on(signal, () => void shutdown(signal, 0));
  }

  send({ type: 'ready', pid: process.pid, pluginErrors: plugins.errors });
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    // The entry path does not resolve: then this file is not what node was asked to run.
    return false;
  }
}

if (isMainModule()) {
  runSlashWorker().catch((error: unknown) => {
    process.stderr.write(`tether-worker: failed to start: ${(error as Error).stack ?? error}\n`);
    // No turn can start before `ready`, so exiting here orphans nothing.
    process.exit(1);
  });
}
