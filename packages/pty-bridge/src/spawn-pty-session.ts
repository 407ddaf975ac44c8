import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PROCESS_MARKER_ENV, SESSION_MARKER_ENV, TetherError, invalidParams } from '@tether/core';
import type { Logger, ProcessSpawnedHook, TerminalOptions, TerminalProcess } from '@tether/core';
import { spawn } from 'node-pty';
import type { IPty } from 'node-pty';
import { PtySession } from './pty-session.js';
import { ReplayBuffer } from './replay-buffer.js';
import { clampTerminalSize } from './size.js';

export interface PtySpawnHooks {
  logger?: Logger;
  onSpawned?: ProcessSpawnedHook;
}

/**
 * Starts a terminal on node-pty (`xterm-256color`, raw Buffer output). The child gets
 * `options.env` plus a fresh `TETHER_PROCESS_ID`, so `kill` can find its whole tree.
 * With one argument this is core's `SpawnTerminal`.
 * Throws `TETHER_INVALID_PARAMS` for bad options and `TETHER_SPAWN_FAILED` if node-pty fails.
 */
export async function spawnPtySession(
  options: TerminalOptions,
  hooks: PtySpawnHooks = {},
): Promise<TerminalProcess> {
  const size = clampTerminalSize(options.cols, options.rows);
  if (!Number.isInteger(options.killGraceMs) || options.killGraceMs < 0) {
    throw invalidParams('killGraceMs', 'a non-negative integer');
  }
  const [file, ...args] = options.command ?? [process.env.SHELL || '/bin/sh'];
  if (typeof file !== 'string' || file === '') throw invalidParams('command', 'a non-empty argv');
  const replay = new ReplayBuffer(options.replayBytes);
  await assertDirectory(options.cwd);
  await assertExecutable(file, options.env.PATH ?? process.env.PATH ?? '', options.cwd);

  const processId = randomUUID();
  const sessionId = options.env[SESSION_MARKER_ENV] ?? null;
  const logger = hooks.logger?.child({ sessionId, processId });
  const env = { ...options.env, [PROCESS_MARKER_ENV]: processId };

  let pty: IPty;
  try {
    const cwd = options.cwd;
    pty = spawn(file, args, { name: 'xterm-256color', ...size, cwd, env, encoding: null });
  } catch (error) {
    throw new TetherError(
      'TETHER_SPAWN_FAILED',
      'spawn failed: cannot start the terminal',
      {
        command: file,
      },
      { cause: error },
    );
  }

  const session = new PtySession(pty, {
    processId,
    replay,
    killGraceMs: options.killGraceMs,
    ...(logger ? { logger } : {}),
  });
  logger?.info({ pid: session.pid, command: file, ...size }, 'pty spawned');

  try {
    hooks.onSpawned?.({ pid: session.pid, kind: 'pty' });
  } catch (error) {
    // A caller that cannot record the process must not be left with one it does not know of.
    await session.kill();
    throw error;
  }
  return session;
}

async function assertDirectory(cwd: string): Promise<void> {
  const info = await stat(cwd).catch((error: unknown) => {
    throw new TetherError(
      'TETHER_SPAWN_FAILED',
      'spawn failed: cwd is not readable',
      { cwd },
      {
        cause: error,
      },
    );
  });
  if (!info.isDirectory()) {
    throw new TetherError('TETHER_SPAWN_FAILED', 'spawn failed: cwd is not a directory', { cwd });
  }
}

/**
 * node-pty forks before it execs, so a missing program only shows as exit code 1 of a child
 * that never ran. Resolve it first, the way execvp will, to give a clear 5032 instead.
 */
async function assertExecutable(file: string, searchPath: string, cwd: string): Promise<void> {
  const candidates = file.includes('/')
    ? [resolve(cwd, file)]
    : searchPath
        .split(':')
        .filter(Boolean)
        .map((dir) => join(dir, file));
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return;
    } catch {
      // Not here (or not executable): try the next PATH entry.
    }
  }
  throw new TetherError(
    'TETHER_SPAWN_FAILED',
    `spawn failed: ${file} not found or not executable`,
    {
      errno: 'ENOENT',
      path: file,
    },
  );
}
