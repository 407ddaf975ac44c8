import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SESSION_MARKER_ENV, isTetherError } from '@tether/core';
import type { ExitStatus, Logger, TerminalOptions, TerminalProcess } from '@tether/core';
import { leakCheck, markedProcesses, tempDir, uniqueMarker, waitFor } from '@tether/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DRAIN_FALLBACK_MS, spawnPtySession } from './index.js';

let marker = '';
let dir: { path: string; remove(): Promise<void> };
let terminals: TerminalProcess[] = [];

beforeEach(async () => {
  marker = uniqueMarker('pty');
  dir = await tempDir('tether-pty-');
  terminals = [];
});

afterEach(async () => {
  await Promise.all(terminals.map((terminal) => terminal.kill()));
  const leaks = await leakCheck({ markerKey: SESSION_MARKER_ENV, markerValue: marker });
  await dir.remove();
  expect(leaks).toEqual({ marked: [], zombies: [] });
});

const PATH = process.env.PATH ?? '/usr/bin:/bin';

async function open(
  overrides: Partial<TerminalOptions> = {},
  hooks = {},
): Promise<TerminalProcess> {
  const terminal = await spawnPtySession(
    {
      cols: 80,
      rows: 24,
      cwd: dir.path,
      env: { PATH, HOME: dir.path, [SESSION_MARKER_ENV]: marker },
      replayBytes: 1 << 20,
      killGraceMs: 300,
      ...overrides,
    },
    hooks,
  );
  terminals.push(terminal);
  return terminal;
}

/** Collects output, checks offsets are contiguous, and notes any chunk after exit. */
function record(terminal: TerminalProcess) {
  const chunks: Buffer[] = [];
  let nextOffset = terminal.endOffset;
  let chunksAfterExit = 0;
  let exitCount = 0;
  terminal.onData((chunk) => {
    expect(chunk.offset).toBe(nextOffset);
    nextOffset += chunk.data.length;
    chunks.push(chunk.data);
    if (exitCount > 0) chunksAfterExit += 1;
  });
  const exited = new Promise<ExitStatus>((resolve) =>
    terminal.onExit((status) => {
      exitCount += 1;
      resolve(status);
    }),
  );
  return {
    exited,
    bytes: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
    chunkCount: () => chunks.length,
    chunksAfterExit: () => chunksAfterExit,
    exitCount: () => exitCount,
  };
}

/** The same program writes its output to the terminal and, through tee, to "$F". */
const BIG_OUTPUT_SCRIPT = 'stty -opost; head -c 300000 /dev/urandom | base64 | tee "$F"; exit 3';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (isTetherError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('spawnPtySession output', () => {
  it('delivers every byte of a large output before reporting the exit code', async () => {
    for (let run = 0; run < 10; run += 1) {
      const file = join(dir.path, `expected-${run}`);
      const terminal = await open({
        command: ['sh', '-c', BIG_OUTPUT_SCRIPT],
        env: { PATH, [SESSION_MARKER_ENV]: marker, F: file },
      });
      const output = record(terminal);

      const status = await output.exited;
      const expected = await readFile(file);

      expect(status).toEqual({ exitCode: 3, signal: null });
      expect(expected.length).toBeGreaterThan(400_000);
      expect(sha256(output.bytes())).toBe(sha256(expected));
      expect(terminal.endOffset).toBe(expected.length);
      expect(terminal.exitStatus).toEqual(status);
      expect(output.chunksAfterExit()).toBe(0);
    }
  });

  it('passes raw binary output through byte-exact and keeps the tail for replay', async () => {
    const file = join(dir.path, 'binary');
    const terminal = await open({
      command: ['sh', '-c', 'stty raw -opost; head -c 200000 /dev/urandom | tee "$F"'],
      env: { PATH, [SESSION_MARKER_ENV]: marker, F: file },
      replayBytes: 65536,
    });
    const output = record(terminal);

    expect(await output.exited).toEqual({ exitCode: 0, signal: null });
    const expected = await readFile(file);
    expect(sha256(output.bytes())).toBe(sha256(expected));

    const replay = terminal.replayFrom(0);
    expect(replay.truncated).toBe(true);
    expect(replay.offset).toBe(200_000 - 65536);
    expect(replay.data.equals(expected.subarray(200_000 - 65536))).toBe(true);
    expect(terminal.replayFrom(199_990).data.equals(expected.subarray(199_990))).toBe(true);
  });

  it('holds the exit back while paused and delivers the tail after resume', async () => {
    const file = join(dir.path, 'tail');
    const terminal = await open({
      command: ['sh', '-c', 'stty -opost; head -c 3000 /dev/urandom | base64 | tee "$F"; exit 5'],
      env: { PATH, [SESSION_MARKER_ENV]: marker, F: file },
    });
    terminal.pause();
    const output = record(terminal);
    await waitFor(async () => !(await stat(`/proc/${terminal.pid}`).catch(() => null)), {
      what: 'the child to exit',
    });

    // Bounded observation: node-pty would drop unread output 200 ms after the child's exit.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(output.exitCount()).toBe(0);
    expect(terminal.exitStatus).toBeNull();

    terminal.resume();
    expect(await output.exited).toEqual({ exitCode: 5, signal: null });
    expect(sha256(output.bytes())).toBe(sha256(await readFile(file)));
  });

  it('reports the exit after a bounded wait when a background job holds the pty open', async () => {
    const script =
      'setsid sh -c \'echo ok > "$F"; exec sleep 600\' & ' +
      'while [ ! -s "$F" ]; do :; done; echo started; exit 4';
    const terminal = await open({
      command: ['sh', '-c', script],
      env: { PATH, [SESSION_MARKER_ENV]: marker, F: join(dir.path, 'ok') },
    });
    const output = record(terminal);
    const startMs = Date.now();

    expect(await output.exited).toEqual({ exitCode: 4, signal: null });
    expect(Date.now() - startMs).toBeGreaterThanOrEqual(DRAIN_FALLBACK_MS);
    expect(Date.now() - startMs).toBeLessThan(DRAIN_FALLBACK_MS + 3000);
    expect(output.text()).toContain('started');
    // The job outlives the shell until the terminal is killed (afterEach's leak check).
    expect((await markedProcesses(SESSION_MARKER_ENV, marker)).map((p) => p.command)).toEqual([
      'sleep',
    ]);
    await terminal.kill();
    expect(await markedProcesses(SESSION_MARKER_ENV, marker)).toEqual([]);
  });
});

describe('spawnPtySession input and size', () => {
  it('runs the default shell and echoes typed input', async () => {
    const terminal = await open();
    const output = record(terminal);

    terminal.write('echo h""i\r');

    // The output line follows the echoed input, possibly after the shell's prompt (dash
    // prints "# " there when the input arrived before its first prompt).
    await waitFor(() => /(?:[\r\n]|[#$] )hi\r\n/.test(output.text()), { what: 'hi' });
  });

  it('writes large input without blocking the event loop, byte-exact', async () => {
    const file = join(dir.path, 'input');
    const terminal = await open({
      command: ['sh', '-c', 'stty raw -echo -iexten; printf READY; head -c 1000000 > "$F"; exit 7'],
      env: { PATH, [SESSION_MARKER_ENV]: marker, F: file },
    });
    const output = record(terminal);
    await waitFor(() => output.text().includes('READY'), { what: 'READY' });
    const input = Buffer.from((await import('node:crypto')).randomBytes(1_000_000));

    let maxGapMs = 0;
    let lastTickMs = Date.now();
    const ticker = setInterval(() => {
      maxGapMs = Math.max(maxGapMs, Date.now() - lastTickMs);
      lastTickMs = Date.now();
    }, 5);
    const writeStartMs = Date.now();
    terminal.write(input);
    const writeMs = Date.now() - writeStartMs;

    const status = await output.exited;
    clearInterval(ticker);
    expect(status).toEqual({ exitCode: 7, signal: null });
    expect(writeMs).toBeLessThan(100);
    expect(maxGapMs).toBeLessThan(250);
    expect(sha256(await readFile(file))).toBe(sha256(input));
  });

  it('keeps the order of many writes of random sizes, written directly or queued', async () => {
    // Small writes go straight to the fd, ones the kernel cannot take queue in node-pty;
    // a write while anything is queued must queue behind it.
    const file = join(dir.path, 'ordered');
    const total = 600_000;
    const terminal = await open({
      command: ['sh', '-c', `stty raw -echo -iexten; printf READY; head -c ${total} > "$F"`],
      env: { PATH, [SESSION_MARKER_ENV]: marker, F: file },
    });
    const output = record(terminal);
    await waitFor(() => output.text().includes('READY'), { what: 'READY' });
    const { randomBytes } = await import('node:crypto');
    const input = randomBytes(total);
    let seed = 7;
    const nextSize = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 3 === 0 ? 1 + (seed % 40_000) : 1 + (seed % 16);
    };
    for (let offset = 0; offset < total;) {
      const size = Math.min(nextSize(), total - offset);
      terminal.write(input.subarray(offset, offset + size));
      offset += size;
      // Now and then let the queue drain, so later writes take the direct path again.
      if (seed % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await output.exited;
    expect(sha256(await readFile(file))).toBe(sha256(input));
  });
  it('validates and clamps resize and applies it to the pty', async () => {
    const terminal = await open({ command: ['sh'] });
    const output = record(terminal);

    expect(terminal.resize(5000, 50)).toEqual({ cols: 1000, rows: 50 });
    expect([terminal.cols, terminal.rows]).toEqual([1000, 50]);
    for (const [cols, rows] of [
      [0, 10],
      [-3, 10],
      [1.5, 10],
      [Number.NaN, 10],
      [80, 0],
    ]) {
      const code = codeOf(() => terminal.resize(cols as number, rows as number));
      expect(code).toBe('TETHER_INVALID_PARAMS');
    }
    expect([terminal.cols, terminal.rows]).toEqual([1000, 50]);

    terminal.write('stty size\r');
    await waitFor(() => output.text().includes('50 1000'), { what: 'stty size' });
  });

  it('never writes input into an fd the exiting terminal gave up', async () => {
    // At the child's exit node-pty closes the PTY fd before the exit is reported; the next
    // file the process opens may get the same number. Input in that window must go nowhere.
    const opened: number[] = [];
    try {
      for (let round = 0; round < 10; round += 1) {
        const terminal = await open({ command: ['sh', '-c', 'exit 0'] });
        let hasExited = false;
        terminal.onExit(() => (hasExited = true));
        while (!hasExited) {
          opened.push(openSync(join(dir.path, `victim-${round}-${opened.length}`), 'w+'));
          try {
            terminal.write('TYPED-AFTER-EXIT');
          } catch {
            // TETHER_TERMINAL_EXITED: refusing is fine, writing elsewhere is not.
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      for (const fd of opened) {
        const contents = Buffer.alloc(64);
        expect(readSync(fd, contents, 0, 64, 0), `fd ${fd}`).toBe(0);
      }
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  });

  it('refuses late writes and resizes after exit with TETHER_TERMINAL_EXITED', async () => {
    const lines: Array<{ level: string; obj: object; msg?: string }> = [];
    const logger: Logger = {
      debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
      child: () => logger,
    };
    const spawned: Array<{ pid: number; kind: string }> = [];
    const terminal = await open(
      { command: ['sh', '-c', 'echo "ID=$TETHER_PROCESS_ID"'] },
      { logger, onSpawned: (info: { pid: number; kind: string }) => spawned.push(info) },
    );
    const output = record(terminal);
    await output.exited;

    expect(spawned).toEqual([{ pid: terminal.pid, kind: 'pty' }]);
    expect(output.text()).toMatch(/ID=[0-9a-f-]{36}/);
    expect(lines.map((line) => line.msg)).toEqual(['pty spawned', 'pty exited']);
    for (let attempt = 0; attempt < 100; attempt += 1) {
      expect(codeOf(() => terminal.resize(100, 40))).toBe('TETHER_TERMINAL_EXITED');
      expect(codeOf(() => terminal.write('late\r'))).toBe('TETHER_TERMINAL_EXITED');
    }
    expect(await terminal.kill()).toEqual({ exitCode: 0, signal: null });
    const lateListener = await new Promise<ExitStatus>((resolve) => terminal.onExit(resolve));
    expect(lateListener).toEqual({ exitCode: 0, signal: null });
  });

  it('keeps delivering to other listeners when one throws, and logs it', async () => {
    const errors: unknown[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (obj) => errors.push(obj),
      child: () => logger,
    };
    const terminal = await open({ command: ['sh', '-c', 'echo one; echo two'] }, { logger });
    terminal.onData(() => {
      throw new Error('listener bug');
    });
    const output = record(terminal);

    await output.exited;
    expect(output.text()).toContain('two');
    expect(errors.length).toBeGreaterThan(0);
  });

  it('refuses bad options before spawning anything', async () => {
    await expect(open({ cols: 0 })).rejects.toMatchObject({ code: 'TETHER_INVALID_PARAMS' });
    await expect(open({ replayBytes: 0 })).rejects.toMatchObject({ code: 'TETHER_INVALID_PARAMS' });
    await expect(open({ cwd: join(dir.path, 'missing') })).rejects.toMatchObject({
      code: 'TETHER_SPAWN_FAILED',
    });
    await expect(open({ command: ['/nonexistent/bin'] })).rejects.toMatchObject({
      code: 'TETHER_SPAWN_FAILED',
      rpcCode: 5032,
      data: { errno: 'ENOENT', path: '/nonexistent/bin' },
    });
    await expect(open({ command: ['no-such-program-tether'] })).rejects.toMatchObject({
      code: 'TETHER_SPAWN_FAILED',
    });
    expect(await markedProcesses(SESSION_MARKER_ENV, marker)).toEqual([]);
  });
});

describe('spawnPtySession backpressure and kill', () => {
  it('stops reading while paused, nests pauses, and flows again after resume', async () => {
    const terminal = await open({ command: ['yes'] });
    const output = record(terminal);
    await waitFor(() => output.chunkCount() > 0, { what: 'first output' });

    terminal.pause();
    terminal.pause();
    const pausedOffset = terminal.endOffset;
    const pausedChunks = output.chunkCount();
    // Bounded observation window: nothing may arrive while paused, even after one resume.
    await new Promise((resolve) => setTimeout(resolve, 300));
    terminal.resume();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(output.chunkCount()).toBe(pausedChunks);
    expect(terminal.endOffset).toBe(pausedOffset);

    terminal.resume();
    await waitFor(() => terminal.endOffset > pausedOffset + 100_000, {
      what: 'output after resume',
    });
  });

  it('kills the whole tree, escapees included, once for every caller', async () => {
    const terminal = await open();
    const output = record(terminal);
    terminal.write(
      'sleep 600 & nohup sleep 600 >/dev/null 2>&1 & setsid sleep 600 & ' +
        'sh -c \'trap "" HUP TERM; sleep 600\' & echo STAR""TED\r',
    );
    await waitFor(() => output.text().includes('STARTED'), { what: 'STARTED' });
    await waitFor(
      async () =>
        (await markedProcesses(SESSION_MARKER_ENV, marker)).filter((p) => p.command === 'sleep')
          .length === 4,
      { what: 'four sleeps' },
    );

    const first = terminal.kill();
    const second = terminal.kill();
    expect(second).toBe(first);
    const status = await first;

    expect(status.signal).toMatch(/^SIG/);
    expect(status.exitCode).toBeNull();
    expect(await markedProcesses(SESSION_MARKER_ENV, marker)).toEqual([]);
    expect(await output.exited).toEqual(status);
    expect(output.exitCount()).toBe(1);
    expect(await terminal.kill()).toEqual(status);
  });

  it('kills a paused terminal and still reports its exit', async () => {
    const terminal = await open({ command: ['yes'] });
    const output = record(terminal);
    await waitFor(() => output.chunkCount() > 0, { what: 'first output' });
    terminal.pause();

    const status = await terminal.kill();

    expect(status.signal).toMatch(/^SIG/);
    expect(await output.exited).toEqual(status);
  });
});
