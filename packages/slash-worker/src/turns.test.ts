import { afterEach, describe, expect, it } from 'vitest';
import { PROCESS_MARKER_ENV, SESSION_MARKER_ENV, isAlive } from '@tether/core';
import { markedProcesses, waitFor } from '@tether/test-utils';
import { spawnSlashWorker } from '../dist/index.js';
import { PLUGIN_PATH, collectTurn, workerPool } from './test-fixtures/worker-env.js';

const pool = workerPool(spawnSlashWorker);
afterEach(() => pool.cleanup());

describe('turns', () => {
  it('streams the output of echo hello and ends with exit 0', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 't1');
    await worker.startTurn({ turnId: 't1', text: 'echo hello', agent: 'shell' });
    const end = await turn.ended;
    expect(turn.output()).toBe('hello\n');
    expect(end).toMatchObject({ turnId: 't1', exitCode: 0, signal: null });
    expect(end.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports exit 7 and carries stderr as output too', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 't7');
    await worker.startTurn({ turnId: 't7', text: 'echo oops >&2; exit 7', agent: 'shell' });
    expect((await turn.ended).exitCode).toBe(7);
    expect(turn.output()).toBe('oops\n');
  });

  it('decodes a UTF-8 character split across output chunks', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 'utf8');
    const text = "printf '\\303'; sleep 0.2; printf '\\251\\n'";
    await worker.startTurn({ turnId: 'utf8', text, agent: 'shell' });
    await turn.ended;
    expect(turn.output()).toBe('é\n');
  });

  it('interrupt ends sleep 1000 promptly and returns true, then false', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 'sleepy');
    await worker.startTurn({ turnId: 'sleepy', text: 'sleep 1000', agent: 'shell' });
    const startedMs = performance.now();
    expect(await worker.interrupt()).toBe(true);
    const end = await turn.ended;
    const tookMs = performance.now() - startedMs;
    expect(end.signal ?? end.exitCode).not.toBe(0);
    expect(tookMs).toBeLessThan(1500);
    expect(await worker.interrupt()).toBe(false);
  });

  it('interrupt also kills what the turn put in the background', async () => {
    const { worker, options } = await pool.start();
    const turn = collectTurn(worker, 'bg');
    const text = 'sleep 600 & echo started; wait';
    await worker.startTurn({ turnId: 'bg', text, agent: 'shell' });
    await waitFor(() => turn.output().includes('started'), { what: 'turn output' });
    expect(await worker.interrupt()).toBe(true);
    await turn.ended;
    const left = await markedProcesses(SESSION_MARKER_ENV, options.sessionId);
    expect(left.map((info) => info.pid)).toEqual([worker.pid]);
  });

  it('leaves the leftovers to the caller when asked, and close() reaps them', async () => {
    const { worker, options } = await pool.start();
    const turn = collectTurn(worker, 'left');
    const text = 'setsid sleep 600 & echo started; wait';
    await worker.startTurn({ turnId: 'left', text, agent: 'shell' });
    await waitFor(() => turn.output().includes('started'), { what: 'turn output' });
    expect(await worker.interrupt({ leftoversReapedByCaller: true })).toBe(true);
    await turn.ended;
    // The escapee outlived the interrupt: the worker did not sweep for it...
    const left = await markedProcesses(SESSION_MARKER_ENV, options.sessionId);
    expect(left.some((info) => info.pid !== worker.pid)).toBe(true);
    // ...and the worker's close, which a closing session runs next, does.
    await worker.close();
    expect(await markedProcesses(SESSION_MARKER_ENV, options.sessionId)).toEqual([]);
  });

  it('refuses a second turn while one runs with TETHER_SESSION_BUSY (4009)', async () => {
    const { worker } = await pool.start();
    await worker.startTurn({ turnId: 'first', text: 'sleep 1000', agent: 'shell' });
    const second = { turnId: 'second', text: 'true', agent: 'shell' };
    const error = await worker.startTurn(second).catch((e) => e);
    expect(error).toMatchObject({ code: 'TETHER_SESSION_BUSY', rpcCode: 4009 });
    await worker.interrupt();
  });

  it('refuses an unknown agent naming agent, and runs a plugin agent', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH] });
    const unknown = { turnId: 'x', text: 'hi', agent: 'nope' };
    const error = await worker.startTurn(unknown).catch((e) => e);
    expect(error).toMatchObject({ code: 'TETHER_INVALID_PARAMS', data: { field: 'agent' } });
    const turn = collectTurn(worker, 'up');
    await worker.startTurn({ turnId: 'up', text: 'shout', agent: 'upper' });
    expect(await turn.ended).toMatchObject({ exitCode: 0 });
    expect(turn.output()).toBe('SHOUT');
  });

  it('gives each turn its own process marker', async () => {
    const { worker } = await pool.start();
    const turn = collectTurn(worker, 'm');
    await worker.startTurn({ turnId: 'm', text: `echo "$${PROCESS_MARKER_ENV}"`, agent: 'shell' });
    await turn.ended;
    const turnMarker = turn.output().trim();
    expect(turnMarker).toMatch(/\.turn-/);
    const workerEnv = await markedProcesses(PROCESS_MARKER_ENV, turnMarker.split('.turn-')[0]);
    expect(workerEnv.map((info) => info.pid)).toEqual([worker.pid]);
    expect(await isAlive(worker.pid)).toBe(true);
  });
});
