/**
 * The IPC contract between the parent handle and the worker child: message shapes, how
 * errors cross the channel, and how the child's knobs travel on its command line.
 */
import { ERROR_CODES, TetherError, type ErrorCode, type TurnEnd } from '@tether/core';

export interface ExecParams {
  command: string;
}

export interface StartTurnParams {
  turnId: string;
  text: string;
  agent: string;
}

/** What `startTurn` answers: the marker its processes carry, so the parent can reap them too. */
export interface StartTurnResult {
  marker: string;
}

export type WorkerRequest =
  | { type: 'request'; id: number; method: 'exec'; params: ExecParams }
  | { type: 'request'; id: number; method: 'startTurn'; params: StartTurnParams }
  | {
      type: 'request';
      id: number;
      method: 'interrupt';
      params: { leftoversReapedByCaller?: boolean };
    };

export type WorkerMethod = WorkerRequest['method'];

/** Parent → child. `shutdown` is the polite first step of `close()`. */
export type ParentMessage = WorkerRequest | { type: 'shutdown' };

export interface WireError {
  code: ErrorCode;
  message: string;
  data?: Record<string, unknown>;
}

export interface PluginLoadError {
  path: string;
  message: string;
}

/** Child → parent. Messages on one channel arrive in order, so `turnEnd` precedes a response. */
export type ChildMessage =
  | { type: 'ready'; pid: number; pluginErrors: PluginLoadError[] }
  | { type: 'response'; id: number; result: unknown }
  | { type: 'response'; id: number; error: WireError }
  | { type: 'turnOutput'; turnId: string; data: string }
  | { type: 'turnEnd'; end: TurnEnd };

export function toWireError(error: unknown): WireError {
  if (error instanceof TetherError) {
    const wire: WireError = { code: error.code, message: error.message };
    if (error.data) wire.data = error.data;
    return wire;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'TETHER_INTERNAL', message };
}

export function fromWireError(wire: WireError): TetherError {
  // A code this build does not know must still surface as a TetherError, not crash the handle.
  const code: ErrorCode = wire.code in ERROR_CODES ? wire.code : 'TETHER_INTERNAL';
  return new TetherError(code, wire.message, wire.data);
}

/** Knobs the child needs; they travel as argv so they never leak into turn environments. */
export interface ChildConfig {
  parentPid: number;
  watchdogPollMs: number;
  watchdogGraceMs: number;
  killGraceMs: number;
  plugins: string[];
}

export function toChildArgv(config: ChildConfig): string[] {
  const argv = [
    '--parent-pid',
    String(config.parentPid),
    '--watchdog-poll-ms',
    String(config.watchdogPollMs),
    '--watchdog-grace-ms',
    String(config.watchdogGraceMs),
    '--kill-grace-ms',
    String(config.killGraceMs),
  ];
  for (const plugin of config.plugins) argv.push('--plugin', plugin);
  return argv;
}

const DEFAULT_CHILD_CONFIG = { watchdogPollMs: 2000, watchdogGraceMs: 5000, killGraceMs: 1000 };

/** Parses the child's argv; unknown or malformed values fall back to defaults. */
export function parseChildArgv(argv: readonly string[]): ChildConfig {
  const config: ChildConfig = { parentPid: process.ppid, ...DEFAULT_CHILD_CONFIG, plugins: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    const value = argv[index + 1];
    if (value === undefined) break;
    const number = Number(value);
    const isCount = Number.isInteger(number) && number >= 0;
    if (flag === '--parent-pid' && isCount && number > 0) config.parentPid = number;
    else if (flag === '--watchdog-poll-ms' && isCount && number > 0) config.watchdogPollMs = number;
    else if (flag === '--watchdog-grace-ms' && isCount) config.watchdogGraceMs = number;
    else if (flag === '--kill-grace-ms' && isCount) config.killGraceMs = number;
    else if (flag === '--plugin') config.plugins.push(value);
    else continue;
    index += 1;
  }
  return config;
}
