/**
 * The built-in `shell` agent: runs the turn text with the user's shell, in its own process
 * group, streaming stdout and stderr as UTF-8 text.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { signalProcess } from '@tether/core';
import type { Agent, AgentResult, AgentTurn } from './plugins.js';

/**
 * Once the shell exited, output still in the pipes is read for at most this long: a
 * background job (`sleep 600 &`) holds the pipes open and must not keep the turn running.
 */
const OUTPUT_DRAIN_MS = 200;
const SPAWN_FAILED_EXIT_CODE = 127;

function pipeDecoded(stream: Readable, emit: (data: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) emit(text);
  });
  return new Promise((resolve) => {
    stream.once('close', () => {
      const rest = decoder.end();
      if (rest) emit(rest);
      resolve();
    });
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalProcess(-pgid, signal);
}

/** `killGraceMs` is the step of the interrupt escalation SIGINT → SIGTERM → SIGKILL. */
export function createShellAgent(killGraceMs: number): Agent {
  return {
    run(turn: AgentTurn): Promise<AgentResult> {
      return new Promise((resolve) => {
        const shell = turn.env.SHELL || '/bin/sh';
        const child = spawn(shell, ['-c', turn.text], {
          cwd: turn.cwd,
          env: turn.env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const timers: NodeJS.Timeout[] = [];
        const stdoutClosed = pipeDecoded(child.stdout, turn.emit);
        const stderrClosed = pipeDecoded(child.stderr, turn.emit);

        const onAbort = () => {
          const pid = child.pid;
          if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
          if (turn.signal.reason === 'kill') {
            signalGroup(pid, 'SIGKILL');
            return;
          }
          signalGroup(pid, 'SIGINT');
          timers.push(setTimeout(() => signalGroup(pid, 'SIGTERM'), killGraceMs));
          timers.push(setTimeout(() => signalGroup(pid, 'SIGKILL'), 2 * killGraceMs));
        };
        turn.signal.addEventListener('abort', onAbort, { once: true });

        child.once('error', (error) => {
          // Spawn failed (bad cwd, missing shell): a turn result, not a worker failure.
          turn.signal.removeEventListener('abort', onAbort);
          turn.emit(`tether: could not start ${shell}: ${error.message}\n`);
          resolve({ exitCode: SPAWN_FAILED_EXIT_CODE, signal: null });
        });

        child.once('exit', (exitCode, signal) => {
          for (const timer of timers) clearTimeout(timer);
          turn.signal.removeEventListener('abort', onAbort);
          const drained = Promise.all([stdoutClosed, stderrClosed]);
          const drainTimer = setTimeout(() => {
            child.stdout.destroy();
            child.stderr.destroy();
          }, OUTPUT_DRAIN_MS);
          void drained.then(() => {
            clearTimeout(drainTimer);
            resolve({ exitCode, signal });
          });
        });
      });
    },
  };
}
