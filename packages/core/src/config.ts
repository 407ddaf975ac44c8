import { TetherError } from './errors.js';
import {
  KINDS,
  KNOBS,
  defaultValue,
  displayRaw,
  displayValue,
  type ConfigKey,
  type KnobDescriptor,
  type TetherConfig,
} from './config-knobs.js';

export {
  KNOBS,
  LOG_LEVELS,
  type ConfigKey,
  type KnobDescriptor,
  type KnobKind,
  type TetherConfig,
} from './config-knobs.js';

export type ConfigSource = 'default' | 'env' | 'cli';

/** A malformed environment value that was replaced by the knob's default. */
export interface ConfigWarning {
  code: 'TETHER_CONFIG_FALLBACK';
  /** The environment variable, e.g. `TETHER_GRACE_S`. */
  key: string;
  /** The bad value as given (hidden for secrets). */
  value: string;
  /** The value used instead. */
  used: string | number;
  message: string;
}

export interface LoadConfigInput {
  /** Arguments after the program name (`process.argv.slice(2)`). */
  argv: string[];
  env: NodeJS.ProcessEnv | Record<string, string | undefined>;
  /** Boolean `--switches` that are not knobs (`--stdio`, `--help`): passed to `rest` as is. */
  allowSwitches?: string[];
}

export interface LoadConfigResult {
  config: TetherConfig;
  sources: Record<ConfigKey, ConfigSource>;
  warnings: ConfigWarning[];
  /** Everything that was not a knob: positionals, allowed switches, and all after `--`. */
  rest: string[];
}

/** A command-line knob that cannot be used. The gateway exits with `exitCode`. */
export class ConfigError extends TetherError {
  readonly flag: string;
  /** The value given (hidden for secrets), or null when none was given. */
  readonly value: string | null;
  /** What the flag accepts, or null for an unknown flag. */
  readonly range: string | null;
  readonly exitCode = 2;

  constructor(flag: string, value: string | null, range: string | null, message: string) {
    super('TETHER_INVALID_PARAMS', message, { flag, value, range });
    this.name = 'ConfigError';
    this.flag = flag;
    this.value = value;
    this.range = range;
  }
}

const KNOB_BY_FLAG = new Map(KNOBS.map((knob) => [knob.flag, knob]));

/**
 * Reads the configuration: command line over environment over default. The command line is
 * strict (throws ConfigError); the environment is lenient (falls back to the default with a
 * warning), because a stale variable in a shell profile must never stop a gateway.
 */
export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const { given, rest } = scanArgv(input.argv, new Set(input.allowSwitches ?? []));
  const config: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  const warnings: ConfigWarning[] = [];

  for (const knob of KNOBS) {
    const cliValues = given.get(knob);
    const envRaw = input.env[knob.env];

    if (cliValues !== undefined) {
      config[knob.key] = fromCli(knob, cliValues);
      sources[knob.key] = 'cli';
    } else if (envRaw !== undefined) {
      const parsed = KINDS[knob.kind].parse(envRaw, knob);
      if (parsed.ok) {
        config[knob.key] = parsed.value;
        sources[knob.key] = 'env';
      } else {
        warnings.push(fallbackWarning(knob, envRaw, parsed.problem));
        config[knob.key] = defaultValue(knob);
        sources[knob.key] = 'default';
      }
    } else {
      config[knob.key] = defaultValue(knob);
      sources[knob.key] = 'default';
    }
  }

  return {
    config: config as unknown as TetherConfig,
    sources: sources as Record<ConfigKey, ConfigSource>,
    warnings,
    rest,
  };
}

/** Splits argv into knob values (raw strings, in order) and everything else. */
function scanArgv(
  argv: string[],
  allowSwitches: Set<string>,
): { given: Map<KnobDescriptor, string[]>; rest: string[] } {
  const given = new Map<KnobDescriptor, string[]>();
  const rest: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }

    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const knob = KNOB_BY_FLAG.get(flag as KnobDescriptor['flag']);
    if (knob === undefined) {
      if (allowSwitches.has(flag)) {
        rest.push(arg);
        continue;
      }
      throw new ConfigError(flag, null, null, `${flag}: unknown option; see --help`);
    }

    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      // `--grace-s --port 1` is a forgotten value, not a grace of "--port".
      if (next === undefined || next.startsWith('--')) {
        const accepted = KINDS[knob.kind].accepted(knob);
        const message = `${flag}: needs a value; accepted: ${accepted}`;
        throw new ConfigError(flag, null, accepted, message);
      }
      raw = next;
      i++;
    }
    given.set(knob, [...(given.get(knob) ?? []), raw]);
  }
  return { given, rest };
}

/** A repeated list flag adds up; any other repeated flag takes its last value. */
function fromCli(knob: KnobDescriptor, raws: string[]): unknown {
  const values = raws.map((raw) => {
    const parsed = KINDS[knob.kind].parse(raw, knob);
    if (parsed.ok) return parsed.value;

    const accepted = KINDS[knob.kind].accepted(knob);
    const shown = displayRaw(knob, raw);
    throw new ConfigError(
      knob.flag,
      shown,
      accepted,
      `${knob.flag}: ${JSON.stringify(shown)} ${parsed.problem}; accepted: ${accepted}`,
    );
  });

  if (knob.kind !== 'list') return values.at(-1);
  // A list flag value that is only commas or blanks would silently add nothing: refuse it.
  if (values.some((value) => (value as string[]).length === 0)) {
    const accepted = KINDS.list.accepted(knob);
    throw new ConfigError(knob.flag, '', accepted, `${knob.flag}: needs a non-empty value`);
  }
  return values.flat();
}

function fallbackWarning(knob: KnobDescriptor, raw: string, problem: string): ConfigWarning {
  const fallback = defaultValue(knob);
  const used = typeof fallback === 'number' ? fallback : displayValue(knob, fallback);
  const shown = displayRaw(knob, raw);
  const accepted = KINDS[knob.kind].accepted(knob);
  return {
    code: 'TETHER_CONFIG_FALLBACK',
    key: knob.env,
    value: shown,
    used,
    message:
      `${knob.env}=${JSON.stringify(shown)} ${problem}; using the default ${used} ` +
      `(accepted: ${accepted})`,
  };
}

/** The effective configuration as a table for `tether-gateway config`. Never shows secrets. */
export function describeConfig(result: LoadConfigResult): string {
  const rows = KNOBS.map((knob) => [
    knob.flag,
    displayValue(knob, result.config[knob.key]),
    result.sources[knob.key],
    knob.env,
  ]);
  const header = ['knob', 'value', 'from', 'environment'];
  const widths = header.map((title, col) =>
    Math.max(title.length, ...rows.map((row) => (row[col] as string).length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, col) => cell.padEnd(widths[col] as number))
      .join('  ')
      .trimEnd();

  const lines = [line(header), ...rows.map(line)];
  for (const warning of result.warnings) lines.push(`warning: ${warning.message}`);
  return lines.join('\n');
}

/** The knob part of `--help`: flag, environment variable, unit, default and range. */
export function knobHelp(): string {
  return KNOBS.map((knob) => {
    const kind = KINDS[knob.kind];
    const fallback = displayValue(knob, defaultValue(knob));
    return (
      `  ${knob.flag} ${kind.placeholder}  (env ${knob.env})\n` +
      `      ${knob.description}\n` +
      `      default ${fallback}; accepted: ${kind.accepted(knob)}`
    );
  }).join('\n');
}

/** Seconds (possibly fractional) to whole milliseconds for timers. */
export function secondsToMs(s: number): number {
  return Math.round(s * 1000);
}
