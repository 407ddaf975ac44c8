/**
 * The built-in slash commands and the dispatcher that also reaches plugin commands.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { TetherError, invalidParams, type SlashResult } from '@tether/core';
import type { CommandContext, LoadedPlugins } from './plugins.js';

export interface TurnRecord {
  turnId: string;
  text: string;
  exitCode: number | null;
  signal: string | null;
}

/** The worker's mutable state that commands read and change. */
export interface WorkerState {
  sessionId: string;
  cwd: string;
  /** Environment additions for later turns. */
  turnEnv: Map<string, string>;
  startedAtMs: number;
  /** Ended turns, oldest first, bounded. */
  history: TurnRecord[];
  turnsStarted: number;
  runningTurnId: string | null;
}

interface BuiltinCommand {
  description: string;
  run(args: string, state: WorkerState, plugins: LoadedPlugins): Promise<SlashResult> | SlashResult;
}

const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_HISTORY_COUNT = 10;

function expandHome(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return `${homedir()}${dir.slice(1)}`;
  return dir;
}

async function changeDirectory(args: string, state: WorkerState): Promise<SlashResult> {
  const target = resolve(state.cwd, expandHome(args === '' ? '~' : args));
  const info = await stat(target).catch(() => null);
  if (!info?.isDirectory()) {
    const message = `invalid params: dir ${target} is not a directory`;
    throw new TetherError('TETHER_INVALID_PARAMS', message, {
      field: 'dir',
      expected: 'an existing directory',
      value: target,
    });
  }
  state.cwd = target;
  return { output: `cwd is now ${target}` };
}

function setOrListEnv(args: string, state: WorkerState): SlashResult {
  if (args === '') {
    const lines = [...state.turnEnv].map(([key, value]) => `${key}=${value}`);
    return { output: lines.length > 0 ? lines.join('\n') : '(no turn environment additions)' };
  }
  const eq = args.indexOf('=');
  const key = eq > 0 ? args.slice(0, eq) : '';
  if (!ENV_KEY_PATTERN.test(key)) throw invalidParams('KEY', 'KEY=VALUE with a shell-style name');
  state.turnEnv.set(key, args.slice(eq + 1));
  return { output: `${key} set for later turns` };
}

function showHistory(args: string, state: WorkerState): SlashResult {
  const count = args === '' ? DEFAULT_HISTORY_COUNT : Number(args);
  if (!Number.isInteger(count) || count < 1) throw invalidParams('n', 'a positive integer');
  const turns = state.history.slice(-count);
  if (turns.length === 0) return { output: '(no turns yet)' };
  const lines = turns.map((turn) => {
    const status = turn.signal ? `signal ${turn.signal}` : `exit ${turn.exitCode ?? '?'}`;
    return `${turn.turnId}  ${status}  ${turn.text}`;
  });
  return { output: lines.join('\n') };
}

function showStatus(state: WorkerState): SlashResult {
  const uptimeS = ((performance.now() - state.startedAtMs) / 1000).toFixed(1);
  const lines = [
    `session: ${state.sessionId}`,
    `cwd: ${state.cwd}`,
    `worker pid: ${process.pid}`,
    `uptime: ${uptimeS}s`,
    `turns: ${state.turnsStarted}`,
    `running: ${state.runningTurnId ?? 'none'}`,
  ];
  return { output: lines.join('\n') };
}

function showHelp(plugins: LoadedPlugins): SlashResult {
  const lines = Object.entries(BUILTINS).map(([name, cmd]) => `/${name}  ${cmd.description}`);
  for (const [name, command] of plugins.commands) {
    if (!(name in BUILTINS)) lines.push(`/${name}  ${command.description}`);
  }
  for (const error of plugins.errors) {
    lines.push(`(plugin ${error.path} failed to load: ${error.message})`);
  }
  return { output: lines.join('\n') };
}

const BUILTINS: Record<string, BuiltinCommand> = {
  help: { description: 'list commands', run: (_args, _state, plugins) => showHelp(plugins) },
  status: {
    description: 'session, cwd, worker pid, uptime, turns',
    run: (_args, state) => showStatus(state),
  },
  title: {
    description: 'rename the session: /title <text>',
    run(args) {
      if (args === '') throw invalidParams('text', 'a non-empty title');
      return { output: `title set to ${args}`, title: args };
    },
  },
  cd: {
    description: 'change the directory for later turns: /cd <dir>',
    run: (args, state) => changeDirectory(args, state),
  },
  env: {
    description: 'list or set turn environment: /env [KEY=VALUE]',
    run: (args, state) => setOrListEnv(args, state),
  },
  history: {
    description: 'recent turns and exit codes: /history [n]',
    run: (args, state) => showHistory(args, state),
  },
};

/** Runs one command line; built-ins win over plugin commands of the same name. */
export async function runSlashCommand(
  line: string,
  state: WorkerState,
  plugins: LoadedPlugins,
  signal: AbortSignal,
): Promise<SlashResult> {
  const trimmed = line.trim();
  if (!trimmed.startsWith('/')) throw invalidParams('command', 'a slash command such as /help');
  const space = trimmed.search(/\s/);
  const name = space < 0 ? trimmed.slice(1) : trimmed.slice(1, space);
  const args = space < 0 ? '' : trimmed.slice(space + 1).trim();

  const builtin = BUILTINS[name];
  if (builtin) return builtin.run(args, state, plugins);

  const plugin = plugins.commands.get(name);
  if (!plugin) {
    const message = `unknown slash command /${name}; try /help`;
    throw new TetherError('TETHER_UNKNOWN_SLASH', message, { command: name });
  }
  const ctx: CommandContext = {
    sessionId: state.sessionId,
    cwd: state.cwd,
    env: Object.fromEntries(state.turnEnv),
    signal,
  };
  const result = await plugin.run(args, ctx);
  return typeof result === 'string' ? { output: result } : result;
}
