// Shared set-up for the worker tests: options with a per-test marker, and the leak check.
import { fileURLToPath } from 'node:url';
import { INSTANCE_MARKER_ENV, SESSION_MARKER_ENV, type WorkerOptions } from '@tether/core';
import { leakCheck, uniqueMarker } from '@tether/test-utils';

export const PLUGIN_PATH = fileURLToPath(new URL('./plugin.mjs', import.meta.url));
export const BROKEN_PLUGIN_PATH = fileURLToPath(new URL('./broken-plugin.mjs', import.meta.url));
export const PARENT_FIXTURE_PATH = fileURLToPath(new URL('./parent.mjs', import.meta.url));

/** A fresh marker per test: every process the test causes carries it as its session id. */
export function testOptions(overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  const sessionId = uniqueMarker('sw');
  return {
    sessionId,
    instanceId: 'sw-test',
    cwd: process.cwd(),
    env: { ...stringEnv(), [SESSION_MARKER_ENV]: sessionId, [INSTANCE_MARKER_ENV]: 'sw-test' },
    plugins: [],
    requestTimeoutMs: 10_000,
    watchdogPollMs: 200,
    watchdogGraceMs: 500,
    killGraceMs: 300,
    ...overrides,
  };
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return env;
}

export async function expectNoLeaks(sessionId: string): Promise<void> {
  const left = await leakCheck({ markerKey: SESSION_MARKER_ENV, markerValue: sessionId });
  if (left.marked.length > 0 || left.zombies.length > 0) {
    throw new Error(`leaked processes: ${JSON.stringify(left)}`);
  }
}

type SpawnSlashWorker = typeof import('../../dist/index.js').spawnSlashWorker;
type Handle = Awaited<ReturnType<SpawnSlashWorker>>;

/** Spawns workers for one test; `cleanup` closes them all and runs the leak check. */
export function workerPool(spawnSlashWorker: SpawnSlashWorker) {
  let handles: Handle[] = [];
  let sessionIds: string[] = [];
  return {
    async start(overrides: Partial<WorkerOptions> = {}) {
      const options = testOptions(overrides);
      sessionIds.push(options.sessionId);
      const worker = await spawnSlashWorker(options);
      handles.push(worker);
      return { worker, options };
    },
    track(sessionId: string) {
      sessionIds.push(sessionId);
    },
    async cleanup() {
      await Promise.all(handles.map((handle) => handle.close()));
      for (const sessionId of sessionIds) await expectNoLeaks(sessionId);
      handles = [];
      sessionIds = [];
    },
  };
}

/** Collects one turn's output and waits for its end. */
export function collectTurn(worker: Handle, turnId: string) {
  let output = '';
  const outputs = worker.onTurnOutput((id, data) => {
    if (id === turnId) output += data;
  });
  const ended = new Promise<import('@tether/core').TurnEnd>((resolve) => {
    const ends = worker.onTurnEnd((end) => {
      if (end.turnId !== turnId) return;
      ends.dispose();
      outputs.dispose();
      resolve(end);
    });
  });
  return { output: () => output, ended };
}
