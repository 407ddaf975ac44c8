/**
 * Command-line flags of `tether`, validated strictly: a bad flag is a `CliArgsError` naming
 * it, and main turns that into exit status 2.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TetherError } from '@tether/core';

export interface CliOptions {
  /** Explicit rpc URL (`--url` / `TETHER_URL`); when absent the runtime file is read. */
  url: string | null;
  token: string | null;
  home: string;
  isStandalone: boolean;
  /** Gateway entry for `--standalone`; null means the default next to this package. */
  gatewayPath: string | null;
  isHelp: boolean;
}

/** A flag the user got wrong; `flag` names it. */
export class CliArgsError extends TetherError {
  readonly flag: string;

  constructor(flag: string, message: string) {
    super('TETHER_INVALID_PARAMS', message, { field: flag });
    this.name = 'CliArgsError';
    this.flag = flag;
  }
}

export const USAGE = `usage: tether [--url ws://HOST:PORT/rpc --token T] [--home DIR]
       tether --standalone [--gateway PATH] [--home DIR]

  --url URL       gateway rpc endpoint (env TETHER_URL); default: read $TETHER_HOME/gateway.json
  --token T       gateway token (env TETHER_TOKEN)
  --home DIR      Tether home folder (env TETHER_HOME, default ~/.tether)
  --standalone    start a private gateway over stdio instead of connecting to one
  --gateway PATH  the gateway's main.js for --standalone
  -h, --help      show this help
`;

const VALUE_FLAGS = new Set(['--url', '--token', '--home', '--gateway']);
const BOOLEAN_FLAGS = new Set(['--standalone', '--help', '-h']);

function checkUrl(url: string, flag: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL constructor's message names no flag; ours does.
    throw new CliArgsError(flag, `${flag}: "${url}" is not a URL (expected ws://HOST:PORT/rpc)`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new CliArgsError(flag, `${flag}: "${url}" must start with ws:// or wss://`);
  }
  return url;
}

/** Parses `argv` (without node and script) with `env` as the fallback for unset flags. */
export function parseCliArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): CliOptions {
  const values = new Map<string, string>();
  const booleans = new Set<string>();

  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    const equals = arg.indexOf('=');
    const flag = arg.startsWith('--') && equals !== -1 ? arg.slice(0, equals) : arg;
    if (BOOLEAN_FLAGS.has(flag)) {
      if (flag !== arg) throw new CliArgsError(flag, `${flag} takes no value`);
      booleans.add(flag === '-h' ? '--help' : flag);
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      const what = arg.startsWith('-') ? `unknown flag ${flag}` : `unexpected argument "${arg}"`;
      throw new CliArgsError(flag, `${what} (see tether --help)`);
    }
    const value = flag !== arg ? arg.slice(equals + 1) : argv[++index];
    if (value === undefined || value === '' || (flag === arg && value.startsWith('--'))) {
      throw new CliArgsError(flag, `${flag} needs a value`);
    }
    values.set(flag, value);
  }

  const isStandalone = booleans.has('--standalone');
  const flagUrl = values.get('--url');
  if (isStandalone && flagUrl !== undefined) {
    throw new CliArgsError('--url', '--url and --standalone cannot be combined');
  }
  if (!isStandalone && values.has('--gateway')) {
    throw new CliArgsError('--gateway', '--gateway is only used with --standalone');
  }

  const envUrl = isStandalone ? undefined : env['TETHER_URL'] || undefined;
  const url =
    flagUrl !== undefined
      ? checkUrl(flagUrl, '--url')
      : envUrl !== undefined
        ? checkUrl(envUrl, 'TETHER_URL')
        : null;

  return {
    url,
    token: values.get('--token') ?? (env['TETHER_TOKEN'] || null),
    home: values.get('--home') ?? (env['TETHER_HOME'] || join(homedir(), '.tether')),
    isStandalone,
    gatewayPath: values.get('--gateway') ?? null,
    isHelp: booleans.has('--help'),
  };
}
