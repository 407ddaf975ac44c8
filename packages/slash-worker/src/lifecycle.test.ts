import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, type WorkerOptions } from '@tether/core';
import { tempDir, waitFor } from '@tether/test-utils';
import { WORKER_CHILD_PATH, spawnSlashWorker } from '../dist/index.js';
import {
  PARENT_FIXTURE_PATH,
  PLUGIN_PATH,
  collectTurn,
  testOptions,
  workerPool,
} from './test-fixtures/worker-env.js';

const pool = workerPool(spawnSlashWorker);
afterEach(() => pool.cleanup());

describe('worker life cycle', () => {
  it('close() kills a background job a turn left behind', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 'bg');
    await worker.startTurn({ turnId: 'bg', text: 'sleep 600 & echo forked', agent: 'shell' });
    expect((await turn.ended).exitCode).toBe(0);
    expect(turn.output()).toBe('forked\n');
    expect(await worker.close()).toEqual({ exitCode: 0, signal: null });
    // The pool's leak check asserts nothing with this test's marker is alive.
  });

  it('close() twice returns the same promise and result; onExit fires once', async () => {
    const { worker } = await pool.start();
    let exits = 0;
    worker.onExit(() => (exits += 1));
    const first = worker.close();
    const second = worker.close();
    expect(second).toBe(first);
    expect(await second).toEqual(await first);
    expect(await worker.close()).toBe(await first);
    expect(exits).toBe(1);
    const error = await worker.exec('/status').catch((e) => e);
    expect(error).toMatchObject({ code: 'TETHER_WORKER_FAILED' });
  });

  it('a request the worker never answers times out with TETHER_WORKER_TIMEOUT (5031)', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH], requestTimeoutMs: 1500 });
    const startedMs = performance.now();
    const error = await worker.exec('/hang').catch((e) => e);
    expect(error).toMatchObject({ code: 'TETHER_WORKER_TIMEOUT', rpcCode: 5031 });
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(1400);
    expect((await worker.exec('/title still alive')).title).toBe('still alive');
  });

  it('a SIGKILLed worker rejects pending requests with 5030 and fires onExit once', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH] });
    const exits: unknown[] = [];
    worker.onExit((status) => exits.push(status));
    const pending = worker.exec('/hang').catch((e) => e);
    // The request must be in the worker before the kill, or it tests nothing.
    await worker.exec('/status');
    process.kill(worker.pid, 'SIGKILL');
    const error = await pending;
    expect(error).toMatchObject({
      code: 'TETHER_WORKER_FAILED',
      rpcCode: 5030,
      data: { exitCode: null, signal: 'SIGKILL' },
    });
    expect(Array.isArray(error.data.stderr)).toBe(true);
    expect(await worker.close()).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(exits).toEqual([{ exitCode: null, signal: 'SIGKILL' }]);
  });

  it('a spawn that cannot start is TETHER_SPAWN_FAILED with errno and path', async () => {
    const options = testOptions({ cwd: '/definitely/not/here' });
    const error = await spawnSlashWorker(options).catch((e) => e);
    expect(error).toMatchObject({
      code: 'TETHER_SPAWN_FAILED',
      rpcCode: 5032,
      data: { errno: 'ENOENT', path: process.execPath },
    });
  });

  it('calls onSpawned with the worker pid', async () => {
    const options = testOptions();
    pool.track(options.sessionId);
    const spawned: unknown[] = [];
    const worker = await spawnSlashWorker(options, { onSpawned: (info) => spawned.push(info) });
    expect(spawned).toEqual([{ pid: worker.pid, kind: 'worker' }]);
    await worker.close();
  });

  async function spawnFixtureParent(options: WorkerOptions, command?: string) {
    const argv = [PARENT_FIXTURE_PATH, JSON.stringify(options), ...(command ? [command] : [])];
    const parent = spawn(process.execPath, argv, {
      env: options.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const parentExited = new Promise((resolve) => parent.once('exit', resolve));
    const lines = createInterface({ input: parent.stdout! });
    const workerPid = await new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const match = /^WORKER (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      parent.once('exit', (code) => reject(new Error(`fixture parent exited early (${code})`)));
    });
    return { parent, parentExited, workerPid };
  }

  it('exits quickly, with its turn, when its parent is SIGKILLed', async () => {
    const options = testOptions();
    pool.track(options.sessionId);
    const { parent, parentExited, workerPid } = await spawnFixtureParent(options);
    expect(await isAlive(workerPid)).toBe(true);

    const killedAtMs = performance.now();
    parent.kill('SIGKILL');
    await waitFor(async () => !(await isAlive(workerPid)), { timeoutMs: 5000, intervalMs: 5 });
    const goneMs = Math.round(performance.now() - killedAtMs);
    console.log(`parent-death: worker ${workerPid} gone ${goneMs} ms after parent SIGKILL`);
    expect(goneMs).toBeLessThan(2000);
    await parentExited;
    // The pool's leak check asserts the `sleep 600` turn died with the worker.
  });

  it('lets an in-flight slash command finish before exiting on parent death', async () => {
    const dir = await tempDir('sw-grace-');
    try {
      const options = testOptions({ plugins: [PLUGIN_PATH], watchdogGraceMs: 3000 });
      pool.track(options.sessionId);
      const proof = join(dir.path, 'finished');
      const fixture = await spawnFixtureParent(options, `/slow ${proof}`);
      const { parent, parentExited, workerPid } = fixture;
      parent.kill('SIGKILL');
      await waitFor(async () => !(await isAlive(workerPid)), { intervalMs: 5 });
      expect(await readFile(proof, 'utf8')).toBe('done');
      await parentExited;
    } finally {
      await dir.remove();
    }
  });

  it('exits on its own when --parent-pid is not its parent (the ppid backstop)', async () => {
    const options = testOptions();
    pool.track(options.sessionId);
    const notMyParent = process.ppid;
    const argv = [WORKER_CHILD_PATH, '--parent-pid', String(notMyParent)];
    const child = spawn(process.execPath, argv, {
      env: options.env,
      stdio: ['pipe', 'ignore', 'inherit', 'ipc'],
    });
    const exitCode = await new Promise((resolve) => child.once('exit', resolve));
    expect(exitCode).toBe(0);
  });
});
