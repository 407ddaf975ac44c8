import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  KNOBS,
  describeConfig,
  knobHelp,
  loadConfig,
  secondsToMs,
  type TetherConfig,
} from './config.js';
import { TetherError } from './errors.js';

type Env = Record<string, string | undefined>;

function load(argv: string[] = [], env: Env = {}, allowSwitches?: string[]) {
  return loadConfig({ argv, env, ...(allowSwitches ? { allowSwitches } : {}) });
}

function cliError(argv: string[]): ConfigError {
  try {
    load(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

const SAMPLE_TOKEN = 'tok-3f9a-secret-value';

describe('knob table', () => {
  it('has exactly one row per config key, with unique flags and env names', () => {
    const keys = KNOBS.map((knob) => knob.key).sort();
    const config = load().config;
    expect(keys).toEqual(Object.keys(config).sort());
    expect(new Set(KNOBS.map((knob) => knob.flag)).size).toBe(KNOBS.length);
    expect(new Set(KNOBS.map((knob) => knob.env)).size).toBe(KNOBS.length);
  });

  it('puts the unit in every flag and env name of a numeric knob', () => {
    for (const knob of KNOBS) {
      if (knob.kind === 'seconds') {
        expect(knob.flag).toMatch(/-s$/);
        expect(knob.env).toMatch(/_S$/);
      }
    }
  });
});

describe('loadConfig defaults', () => {
  it('uses the DESIGN.md §7 defaults when nothing is given', () => {
    const { config, sources, warnings, rest } = load();
    const expected: TetherConfig = {
      graceS: 20,
      idleTtlS: 21_600,
      reapIntervalS: 60,
      busyCapS: 3600,
      heartbeatIntervalS: 20,
      heartbeatTimeoutS: 20,
      workerTimeoutS: 45,
      watchdogPollS: 2,
      watchdogGraceS: 5,
      killGraceMs: 1000,
      replayBytes: 1_048_576,
      replayEvents: 1000,
      maxSessions: 256,
      home: join(homedir(), '.tether'),
      dbUrl: null,
      host: '127.0.0.1',
      port: 7420,
      token: null,
      plugins: [],
      allowOrigins: [],
      maxMessageBytes: 1_048_576,
      rateLimitPerS: 200,
      ptyStallS: 60,
      logLevel: 'info',
    };
    expect(config).toEqual(expected);
    expect(Object.values(sources).every((source) => source === 'default')).toBe(true);
    expect(warnings).toEqual([]);
    expect(rest).toEqual([]);
  });

  it('hands out a fresh list each time so callers cannot mutate the default', () => {
    load().config.plugins.push('mutated');
    expect(load().config.plugins).toEqual([]);
  });
});

describe('loadConfig environment', () => {
  it('reads every kind of knob from the environment', () => {
    const { config, sources, warnings } = load([], {
      TETHER_GRACE_S: '0.5',
      TETHER_KILL_GRACE_MS: '250',
      TETHER_PORT: '0',
      TETHER_HOME: '~/elsewhere',
      TETHER_DB_URL: 'postgres://tether@127.0.0.1/tether',
      TETHER_TOKEN: SAMPLE_TOKEN,
      TETHER_PLUGINS: 'a, b,,c',
      TETHER_LOG_LEVEL: 'debug',
    });
    expect(warnings).toEqual([]);
    expect(config.graceS).toBe(0.5);
    expect(config.killGraceMs).toBe(250);
    expect(config.port).toBe(0);
    expect(config.home).toBe(join(homedir(), 'elsewhere'));
    expect(config.dbUrl).toBe('postgres://tether@127.0.0.1/tether');
    expect(config.token).toBe(SAMPLE_TOKEN);
    expect(config.plugins).toEqual(['a', 'b', 'c']);
    expect(config.logLevel).toBe('debug');
    expect(sources.graceS).toBe('env');
    expect(sources.plugins).toBe('env');
    expect(sources.idleTtlS).toBe('default');
  });

  it('treats an empty list variable as an empty list, not a mistake', () => {
    const { config, sources, warnings } = load([], { TETHER_ALLOW_ORIGINS: '' });
    expect(config.allowOrigins).toEqual([]);
    expect(sources.allowOrigins).toBe('env');
    expect(warnings).toEqual([]);
  });

  it.each(['abc', '2s', '-1', '', 'NaN', 'Infinity', '1e999', '1e3', ' '])(
    'falls back to the default and warns for TETHER_GRACE_S=%j',
    (bad) => {
      const { config, sources, warnings } = load([], { TETHER_GRACE_S: bad });
      expect(config.graceS).toBe(20);
      expect(sources.graceS).toBe('default');
      expect(warnings).toHaveLength(1);
      const [warning] = warnings;
      expect(warning).toMatchObject({
        code: 'TETHER_CONFIG_FALLBACK',
        key: 'TETHER_GRACE_S',
        value: bad,
        used: 20,
      });
      expect(warning?.message).toContain(`TETHER_GRACE_S=${JSON.stringify(bad)}`);
      expect(warning?.message).toContain('using the default 20');
    },
  );

  it('words the warning as a person would read it', () => {
    const [warning] = load([], { TETHER_GRACE_S: '2s' }).warnings;
    expect(warning?.message).toMatch(
      /^TETHER_GRACE_S="2s" is not a number of seconds; using the default 20/,
    );
  });

  it.each([
    ['TETHER_PORT', '70000', 7420],
    ['TETHER_MAX_SESSIONS', '1.5', 256],
    ['TETHER_MAX_SESSIONS', '0', 256],
    ['TETHER_REPLAY_BYTES', '12', 1_048_576],
    ['TETHER_LOG_LEVEL', 'loud', 'info'],
    ['TETHER_HOST', '', '127.0.0.1'],
    ['TETHER_DB_URL', 'not a url', '(SQLite file in the home folder)'],
  ])('falls back for %s=%j', (key, bad, used) => {
    const { warnings } = load([], { [key]: bad });
    expect(warnings).toEqual([expect.objectContaining({ key, value: bad, used })]);
  });

  it('keeps going past several bad variables and warns about each', () => {
    const { config, warnings } = load([], {
      TETHER_GRACE_S: 'x',
      TETHER_PORT: 'y',
      TETHER_IDLE_TTL_S: '30',
    });
    expect(warnings.map((warning) => warning.key)).toEqual(['TETHER_GRACE_S', 'TETHER_PORT']);
    expect(config.idleTtlS).toBe(30);
  });

  it('never echoes a bad token value in a warning', () => {
    const { warnings, config } = load([], { TETHER_TOKEN: '' });
    expect(config.token).toBeNull();
    expect(warnings[0]?.used).toBe('(random per start)');
    expect(warnings[0]?.value).toBe('(hidden)');
  });
});

describe('loadConfig command line', () => {
  it('lets the command line win over the environment', () => {
    const { config, sources } = load(['--grace-s', '3'], { TETHER_GRACE_S: '7' });
    expect(config.graceS).toBe(3);
    expect(sources.graceS).toBe('cli');
  });

  it('does not warn about a bad variable the command line overrides', () => {
    const { config, warnings } = load(['--grace-s', '3'], { TETHER_GRACE_S: 'junk' });
    expect(config.graceS).toBe(3);
    expect(warnings).toEqual([]);
  });

  it('accepts --flag=value and fractional seconds', () => {
    const { config, sources } = load(['--grace-s=0.5', '--idle-ttl-s', '.25', '--port=0']);
    expect(config.graceS).toBe(0.5);
    expect(config.idleTtlS).toBe(0.25);
    expect(config.port).toBe(0);
    expect(sources.port).toBe('cli');
  });

  it('takes the last value of a repeated scalar flag', () => {
    expect(load(['--port', '1', '--port', '2']).config.port).toBe(2);
  });

  it('adds up repeated list flags, and they replace the environment list', () => {
    const { config } = load(
      ['--plugin', './a.js', '--plugin=./b.js', '--allow-origin', 'http://127.0.0.1:3000'],
      { TETHER_PLUGINS: 'env-only' },
    );
    expect(config.plugins).toEqual(['./a.js', './b.js']);
    expect(config.allowOrigins).toEqual(['http://127.0.0.1:3000']);
  });

  it.each([
    ['--grace-s', 'abc', 'is not a number of seconds', '0 to 604800'],
    ['--grace-s', '2s', 'is not a number of seconds', '0 to 604800'],
    ['--grace-s', '-1', 'is out of range', '0 to 604800'],
    ['--grace-s', '', 'is empty', '0 to 604800'],
    ['--grace-s', 'NaN', 'is not a number of seconds', '0 to 604800'],
    ['--grace-s', 'Infinity', 'is not a number of seconds', '0 to 604800'],
    ['--grace-s', '1e999', 'is not a number of seconds', '0 to 604800'],
    ['--port', '70000', 'is out of range', '0 to 65535'],
    ['--port', '80.5', 'is not a port number', '0 to 65535'],
    ['--kill-grace-ms', '1.5', 'is not a whole number', '0 to 60000'],
    ['--max-sessions', '0', 'is out of range', '1 to 100000'],
    ['--idle-ttl-s', '0.01', 'is out of range', '0.1 to 31536000'],
    ['--log-level', 'loud', 'is not one of the accepted values', 'one of trace, debug'],
    ['--db-url', 'nope', 'is not a URL', 'a URL'],
    ['--host', '', 'is empty', 'a non-empty string'],
  ])('refuses %s %j with exit code 2', (flag, value, problem, range) => {
    for (const argv of [[flag, value], [`${flag}=${value}`]]) {
      // `--grace-s ""` as two words and as `--grace-s=` must be refused the same way.
      const err = cliError(argv);
      expect(err).toBeInstanceOf(TetherError);
      expect(err.code).toBe('TETHER_INVALID_PARAMS');
      expect(err.exitCode).toBe(2);
      expect(err.flag).toBe(flag);
      expect(err.value).toBe(value);
      expect(err.range).toContain(range);
      expect(err.message).toBe(
        `${flag}: ${JSON.stringify(value)} ${problem}; accepted: ${err.range}`,
      );
    }
  });

  it('words the error exactly as DESIGN.md asks', () => {
    expect(cliError(['--grace-s', '2s']).message).toBe(
      '--grace-s: "2s" is not a number of seconds; accepted: 0 to 604800',
    );
  });

  it('refuses an unknown flag, naming it', () => {
    const err = cliError(['--grace', '5']);
    expect(err.flag).toBe('--grace');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('--grace');
    expect(err.message).toContain('unknown option');
  });

  it('refuses a knob flag without its value', () => {
    expect(cliError(['--grace-s']).message).toContain('--grace-s: needs a value');
    expect(cliError(['--grace-s', '--port', '1']).flag).toBe('--grace-s');
  });

  it('refuses a list flag whose value holds no item', () => {
    expect(cliError(['--plugin', ',']).flag).toBe('--plugin');
  });

  it('hides a token in the error it raises', () => {
    const err = cliError([`--token=`]);
    expect(err.value).toBe('(hidden)');
  });

  it('passes positionals, allowed switches and everything after -- to rest', () => {
    const { rest, config } = load(
      ['config', '--stdio', '--port', '9', '--help', '-v', '--', '--grace-s', 'x', '--bogus'],
      {},
      ['--stdio', '--help', '--version'],
    );
    expect(rest).toEqual(['config', '--stdio', '--help', '-v', '--grace-s', 'x', '--bogus']);
    expect(config.port).toBe(9);
    expect(config.graceS).toBe(20);
  });

  it('refuses a switch that was not allowed', () => {
    expect(cliError(['--stdio']).flag).toBe('--stdio');
  });
});

describe('describeConfig', () => {
  it('lists every knob with its value and source, and never the token', () => {
    const result = load(['--token', SAMPLE_TOKEN, '--grace-s', '1.5'], {
      TETHER_PORT: '7777',
      TETHER_DB_URL: 'postgres://tether:hunter2@127.0.0.1/tether',
      TETHER_MAX_SESSIONS: 'lots',
    });
    const text = describeConfig(result);
    expect(text).not.toContain(SAMPLE_TOKEN);
    expect(text).not.toContain('hunter2');
    expect(text).toMatch(/--token\s+\(set\)\s+cli/);
    expect(text).toMatch(/--grace-s\s+1\.5\s+cli/);
    expect(text).toMatch(/--port\s+7777\s+env\s+TETHER_PORT/);
    expect(text).toMatch(/--max-sessions\s+256\s+default/);
    expect(text).toContain('warning: TETHER_MAX_SESSIONS="lots"');
    for (const knob of KNOBS) expect(text).toContain(knob.flag);
  });

  it('says the token is random when none is set', () => {
    expect(describeConfig(load())).toMatch(/--token\s+\(random per start\)\s+default/);
  });
});

describe('knobHelp', () => {
  it('names each flag with its environment variable, default and range', () => {
    const help = knobHelp();
    for (const knob of KNOBS) {
      expect(help).toContain(`${knob.flag} `);
      expect(help).toContain(`(env ${knob.env})`);
    }
    expect(help).toContain('--grace-s <seconds>  (env TETHER_GRACE_S)');
    expect(help).toContain('default 20; accepted: 0 to 604800');
    expect(help.split('\n').every((line) => line.length < 100)).toBe(true);
  });
});

describe('secondsToMs', () => {
  it('turns fractional seconds into whole milliseconds', () => {
    expect(secondsToMs(0.5)).toBe(500);
    expect(secondsToMs(20)).toBe(20_000);
    expect(secondsToMs(0.0004)).toBe(0);
    expect(secondsToMs(0.1 + 0.2)).toBe(300);
  });
});
