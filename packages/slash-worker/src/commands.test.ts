import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '@tether/test-utils';
import { spawnSlashWorker } from '../dist/index.js';
import {
  BROKEN_PLUGIN_PATH,
  PLUGIN_PATH,
  collectTurn,
  workerPool,
} from './test-fixtures/worker-env.js';

const pool = workerPool(spawnSlashWorker);
afterEach(() => pool.cleanup());

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Record<string, unknown>) => error,
  );
}

describe('slash commands', () => {
  it('/status shows the worker pid and the session id', async () => {
    const { worker, options } = await pool.start();
    const { output } = await worker.exec('/status');
    expect(output).toContain(`worker pid: ${worker.pid}`);
    expect(output).toContain(`session: ${options.sessionId}`);
    expect(output).toContain(`cwd: ${options.cwd}`);
  });

  it('/title returns the title, and refuses an empty one', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH] });
    expect(await worker.exec('/title Work  stuff')).toEqual({
      output: 'title set to Work  stuff',
      title: 'Work  stuff',
    });
    const error = await rejection(worker.exec('/title   '));
    expect(error).toMatchObject({ code: 'TETHER_INVALID_PARAMS', data: { field: 'text' } });
  });

  it('/cd changes the directory of later turns, relative to the current one', async () => {
    const dir = await tempDir('sw-cd-');
    try {
      await mkdir(join(dir.path, 'inner'));
      const { worker } = await pool.start();
      await worker.exec(`/cd ${dir.path}`);
      await worker.exec('/cd inner');
      const turn = collectTurn(worker, 't-pwd');
      await worker.startTurn({ turnId: 't-pwd', text: 'pwd', agent: 'shell' });
      expect((await turn.ended).exitCode).toBe(0);
      expect(turn.output().trim()).toBe(join(dir.path, 'inner'));
    } finally {
      await dir.remove();
    }
  });

  it('/cd to a missing directory is invalid params naming dir', async () => {
    const { worker } = await pool.start();
    const error = await rejection(worker.exec('/cd /definitely/not/here'));
    expect(error).toMatchObject({
      code: 'TETHER_INVALID_PARAMS',
      rpcCode: -32602,
      data: { field: 'dir' },
    });
  });

  it('/env KEY=VALUE reaches later turns and /env lists it', async () => {
    const { worker } = await pool.start();
    await worker.exec('/env FOO=bar baz');
    expect((await worker.exec('/env')).output).toBe('FOO=bar baz');
    const turn = collectTurn(worker, 't-env');
    await worker.startTurn({ turnId: 't-env', text: 'echo "$FOO"', agent: 'shell' });
    await turn.ended;
    expect(turn.output()).toBe('bar baz\n');
    const error = await rejection(worker.exec('/env 1BAD=x'));
    expect(error).toMatchObject({ code: 'TETHER_INVALID_PARAMS', data: { field: 'KEY' } });
  });

  it('/history lists the last n turns with exit codes', async () => {
    const { worker } = await pool.start();
    for (const [turnId, text] of [
      ['a', 'true'],
      ['b', 'exit 3'],
      ['c', 'echo c'],
    ]) {
      const turn = collectTurn(worker, turnId!);
      await worker.startTurn({ turnId: turnId!, text: text!, agent: 'shell' });
      await turn.ended;
    }
    const { output } = await worker.exec('/history 2');
    expect(output.split('\n')).toEqual(['b  exit 3  exit 3', 'c  exit 0  echo c']);
    expect((await worker.exec('/history')).output.split('\n')).toHaveLength(3);
  });

  it('an unknown command is TETHER_UNKNOWN_SLASH (4040)', async () => {
    const { worker } = await pool.start();
    const error = await rejection(worker.exec('/nonesuch arg'));
    expect(error).toMatchObject({ code: 'TETHER_UNKNOWN_SLASH', rpcCode: 4040 });
    expect(error.name).toBe('TetherError');
  });

  it('runs plugin commands, lists them in /help, and reports a failed plugin', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH, BROKEN_PLUGIN_PATH] });
    expect((await worker.exec('/echo hi')).output).toBe(`hi from ${process.cwd()}`);
    const help = (await worker.exec('/help')).output;
    expect(help).toContain('/status');
    expect(help).toContain('/echo  echoes its args');
    expect(help).toContain(`plugin ${BROKEN_PLUGIN_PATH} failed to load: fixture plugin is broken`);
    expect(help).not.toContain('must not replace the built-in');
  });

  it('a plugin error crosses the channel as the same TetherError', async () => {
    const { worker } = await pool.start({ plugins: [PLUGIN_PATH] });
    const error = await rejection(worker.exec('/fail'));
    expect(error).toMatchObject({
      code: 'TETHER_LIMIT_REACHED',
      message: 'fixture limit',
      data: { limit: 1 },
    });
  });
});
