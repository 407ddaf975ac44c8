import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The effective configuration of one gateway (DESIGN.md §7). Units are in the names. */
export interface TetherConfig {
  graceS: number;
  idleTtlS: number;
  reapIntervalS: number;
  busyCapS: number;
  heartbeatIntervalS: number;
  heartbeatTimeoutS: number;
  workerTimeoutS: number;
  watchdogPollS: number;
  watchdogGraceS: number;
  killGraceMs: number;
  replayBytes: number;
  replayEvents: number;
  maxSessions: number;
  home: string;
  /** null = a SQLite file in `home`. */
  dbUrl: string | null;
  host: string;
  port: number;
  /** null = a random token per start, made by the gateway. */
  token: string | null;
  plugins: string[];
  allowOrigins: string[];
  maxMessageBytes: number;
  rateLimitPerS: number;
  /** A /pty client that keeps the terminal paused this long is disconnected (0 = never). */
  ptyStallS: number;
  logLevel: string;
}

export type ConfigKey = keyof TetherConfig;

/**
 * How a raw string becomes a value. `seconds` is a fractional number ≥ 0; `list` is
 * comma-separated in the environment and a repeatable flag on the command line; `path` is a
 * string whose leading `~` means the user's home folder.
 */
export type KnobKind = 'seconds' | 'integer' | 'port' | 'string' | 'path' | 'list' | 'url';

interface KnobFor<K extends ConfigKey> {
  readonly key: K;
  readonly flag: `--${string}`;
  readonly env: `TETHER_${string}`;
  readonly kind: KnobKind;
  readonly default: TetherConfig[K];
  readonly min?: number;
  readonly max?: number;
  /** The only accepted values of a `string` knob. */
  readonly choices?: readonly string[];
  /** Never printed: describeConfig shows `(set)` and messages hide the value. */
  readonly isSecret?: boolean;
  /** What a null value means, for people reading help and `tether-gateway config`. */
  readonly nullLabel?: string;
  readonly description: string;
}

/** One row of the knob table. */
export type KnobDescriptor = { [K in ConfigKey]: KnobFor<K> }[ConfigKey];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const DAY_S = 86_400;
const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** The single source of truth for every knob: parsing, help and `config` all read this. */
export const KNOBS: readonly KnobDescriptor[] = [
  {
    key: 'graceS',
    flag: '--grace-s',
    env: 'TETHER_GRACE_S',
    kind: 'seconds',
    default: 20,
    min: 0,
    max: 7 * DAY_S,
    description: 'reattach grace after the last client leaves (0 = park until idle TTL)',
  },
  {
    key: 'idleTtlS',
    flag: '--idle-ttl-s',
    env: 'TETHER_IDLE_TTL_S',
    kind: 'seconds',
    default: 21_600,
    min: 0.1,
    max: 365 * DAY_S,
    description: 'idle TTL: a session without user activity this long is closed',
  },
  {
    key: 'reapIntervalS',
    flag: '--reap-interval-s',
    env: 'TETHER_REAP_INTERVAL_S',
    kind: 'seconds',
    default: 60,
    min: 0.05,
    max: 3600,
    description: 'how often the reaper sweeps',
  },
  {
    key: 'busyCapS',
    flag: '--busy-cap-s',
    env: 'TETHER_BUSY_CAP_S',
    kind: 'seconds',
    default: 3600,
    min: 0.1,
    max: 365 * DAY_S,
    description: 'busy cap: how long a running session is spared by the grace and idle reapers',
  },
  {
    key: 'heartbeatIntervalS',
    flag: '--heartbeat-interval-s',
    env: 'TETHER_HEARTBEAT_INTERVAL_S',
    kind: 'seconds',
    default: 20,
    min: 0,
    max: 3600,
    description: 'heartbeat ping interval (0 = off)',
  },
  {
    key: 'heartbeatTimeoutS',
    flag: '--heartbeat-timeout-s',
    env: 'TETHER_HEARTBEAT_TIMEOUT_S',
    kind: 'seconds',
    default: 20,
    min: 0.1,
    max: 3600,
    description: 'a peer silent this long after a ping is cut off',
  },
  {
    key: 'workerTimeoutS',
    flag: '--worker-timeout-s',
    env: 'TETHER_WORKER_TIMEOUT_S',
    kind: 'seconds',
    default: 45,
    min: 0.1,
    max: 3600,
    description: 'worker command timeout',
  },
  {
    key: 'watchdogPollS',
    flag: '--watchdog-poll-s',
    env: 'TETHER_WATCHDOG_POLL_S',
    kind: 'seconds',
    default: 2,
    min: 0.05,
    max: 60,
    description: 'worker watchdog poll interval',
  },
  {
    key: 'watchdogGraceS',
    flag: '--watchdog-grace-s',
    env: 'TETHER_WATCHDOG_GRACE_S',
    kind: 'seconds',
    default: 5,
    min: 0,
    max: 60,
    description: 'after parent death, how long the worker lets an in-flight command finish',
  },
  {
    key: 'killGraceMs',
    flag: '--kill-grace-ms',
    env: 'TETHER_KILL_GRACE_MS',
    kind: 'integer',
    default: 1000,
    min: 0,
    max: 60_000,
    description: 'kill escalation step (SIGTERM, then SIGKILL after this long)',
  },
  {
    key: 'replayBytes',
    flag: '--replay-bytes',
    env: 'TETHER_REPLAY_BYTES',
    kind: 'integer',
    default: MIB,
    min: KIB,
    max: GIB,
    description: 'terminal replay buffer per session',
  },
  {
    key: 'replayEvents',
    flag: '--replay-events',
    env: 'TETHER_REPLAY_EVENTS',
    kind: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000,
    description: 'event replay buffer per session',
  },
  {
    key: 'maxSessions',
    flag: '--max-sessions',
    env: 'TETHER_MAX_SESSIONS',
    kind: 'integer',
    default: 256,
    min: 1,
    max: 100_000,
    description: 'session limit',
  },
  {
    key: 'home',
    flag: '--home',
    env: 'TETHER_HOME',
    kind: 'path',
    default: '~/.tether',
    description: 'home folder (database, logs)',
  },
  {
    key: 'dbUrl',
    flag: '--db-url',
    env: 'TETHER_DB_URL',
    kind: 'url',
    default: null,
    nullLabel: '(SQLite file in the home folder)',
    description: 'database URL',
  },
  {
    key: 'host',
    flag: '--host',
    env: 'TETHER_HOST',
    kind: 'string',
    default: '127.0.0.1',
    description: 'bind address',
  },
  {
    key: 'port',
    flag: '--port',
    env: 'TETHER_PORT',
    kind: 'port',
    default: 7420,
    min: 0,
    max: 65_535,
    description: 'listen port (0 = any free port)',
  },
  {
    key: 'token',
    flag: '--token',
    env: 'TETHER_TOKEN',
    kind: 'string',
    default: null,
    isSecret: true,
    nullLabel: '(random per start)',
    description: 'auth token clients must present',
  },
  {
    key: 'plugins',
    flag: '--plugin',
    env: 'TETHER_PLUGINS',
    kind: 'list',
    default: [],
    description: 'slash-command plugin module to load',
  },
  {
    key: 'allowOrigins',
    flag: '--allow-origin',
    env: 'TETHER_ALLOW_ORIGINS',
    kind: 'list',
    default: [],
    description: 'extra WebSocket Origin to accept',
  },
  {
    key: 'maxMessageBytes',
    flag: '--max-message-bytes',
    env: 'TETHER_MAX_MESSAGE_BYTES',
    kind: 'integer',
    default: MIB,
    min: KIB,
    max: 64 * MIB,
    description: 'largest accepted JSON-RPC message',
  },
  {
    key: 'rateLimitPerS',
    flag: '--rate-limit-per-s',
    env: 'TETHER_RATE_LIMIT_PER_S',
    kind: 'integer',
    default: 200,
    min: 1,
    max: 1_000_000,
    description: 'messages per second per connection',
  },
  {
    key: 'ptyStallS',
    flag: '--pty-stall-s',
    env: 'TETHER_PTY_STALL_S',
    kind: 'seconds',
    default: 60,
    min: 0,
    max: DAY_S,
    description:
      'cut off a terminal client stuck this long: output unread or input not taken (0 = never)',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'TETHER_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    choices: LOG_LEVELS,
    description: 'log level',
  },
];

/** A raw string read as a knob's value, or what is wrong with it. */
export type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

interface KindSpec {
  /** Shown after the flag in help: `--grace-s <seconds>`. */
  readonly placeholder: string;
  parse(raw: string, knob: KnobDescriptor): Parsed;
  accepted(knob: KnobDescriptor): string;
}

// Plain decimals only: exponents (`1e3`, `1e999`), `Infinity`, hex and units are refused so
// that what a person typed is exactly what runs. The minus sign is let through on purpose, so
// that `-1` is reported as out of range rather than as "not a number".
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
const WHOLE = /^-?\d+$/;

function fail(problem: string): Parsed {
  return { ok: false, problem };
}

function numberKind(placeholder: string, pattern: RegExp, noun: string): KindSpec {
  return {
    placeholder,
    parse(raw, knob) {
      const text = raw.trim();
      if (text === '') return fail('is empty');
      if (!pattern.test(text)) return fail(`is not ${noun}`);

      const value = Number(text);
      // A long enough digit string still overflows to Infinity.
      if (!Number.isFinite(value)) return fail(`is not ${noun}`);
      if (value < (knob.min ?? 0) || value > (knob.max ?? Number.MAX_SAFE_INTEGER)) {
        return fail('is out of range');
      }
      return { ok: true, value };
    },
    accepted: (knob) => `${knob.min ?? 0} to ${knob.max ?? Number.MAX_SAFE_INTEGER}`,
  };
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

export const KINDS: Readonly<Record<KnobKind, KindSpec>> = {
  seconds: numberKind('<seconds>', DECIMAL, 'a number of seconds'),
  integer: numberKind('<n>', WHOLE, 'a whole number'),
  port: numberKind('<port>', WHOLE, 'a port number'),
  string: {
    placeholder: '<value>',
    parse(raw, knob) {
      if (raw.trim() === '') return fail('is empty');
      if (knob.choices !== undefined && !knob.choices.includes(raw)) {
        return fail('is not one of the accepted values');
      }
      return { ok: true, value: raw };
    },
    accepted: (knob) =>
      knob.choices === undefined ? 'a non-empty string' : `one of ${knob.choices.join(', ')}`,
  },
  path: {
    placeholder: '<path>',
    parse: (raw) =>
      raw.trim() === '' ? fail('is empty') : { ok: true, value: resolve(expandHome(raw)) },
    accepted: () => 'a folder path (~ = your home folder)',
  },
  list: {
    placeholder: '<value>',
    // An empty list is a meaningful setting (none), so an empty string is not an error here.
    parse: (raw) => ({
      ok: true,
      value: raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    }),
    accepted: () => 'comma-separated values; the flag may be repeated',
  },
  url: {
    placeholder: '<url>',
    parse(raw) {
      if (raw.trim() === '') return fail('is empty');
      return URL.canParse(raw) ? { ok: true, value: raw } : fail('is not a URL');
    },
    accepted: () => 'a URL such as postgres://user@host/db',
  },
};

/** The default of a knob as the program uses it (`~` expanded). */
export function defaultValue(knob: KnobDescriptor): unknown {
  if (knob.kind === 'path' && typeof knob.default === 'string') {
    return resolve(expandHome(knob.default));
  }
  return Array.isArray(knob.default) ? [...knob.default] : knob.default;
}

/** A value as safe to show a person: secrets hidden, URL passwords masked, null explained. */
export function displayValue(knob: KnobDescriptor, value: unknown): string {
  if (value === null || value === undefined) return knob.nullLabel ?? '(none)';
  if (knob.isSecret === true) return '(set)';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',');
  if (knob.kind === 'url' && typeof value === 'string') return maskUrlPassword(value);
  return String(value);
}

/** The raw text a person typed, as safe to echo back in an error or warning. */
export function displayRaw(knob: KnobDescriptor, raw: string): string {
  if (knob.isSecret === true) return '(hidden)';
  return knob.kind === 'url' ? maskUrlPassword(raw) : raw;
}

function maskUrlPassword(text: string): string {
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (url.password === '') return text;
  url.password = '***';
  return url.toString();
}
