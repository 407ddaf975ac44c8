import { describe, expect, it } from 'vitest';
import { CliArgsError, parseCliArgs } from './cli-args.js';

function failure(argv: string[], env: Record<string, string> = {}): CliArgsError {
  try {
    parseCliArgs(argv, env);
  } catch (error) {
    if (error instanceof CliArgsError) return error;
    throw error;
  }
  throw new Error('expected a CliArgsError');
}

describe('parseCliArgs', () => {
  it('reads the runtime file from the home folder by default', () => {
    const options = parseCliArgs(['--home', '/tmp/h'], {});
    expect(options).toMatchObject({ url: null, token: null, home: '/tmp/h', isStandalone: false });
  });

  it('takes url and token from flags, in both --flag value and --flag=value forms', () => {
    const options = parseCliArgs(['--url=ws://127.0.0.1:9/rpc', '--token', 'T'], {});
    expect(options.url).toBe('ws://127.0.0.1:9/rpc');
    expect(options.token).toBe('T');
  });

  it('falls back to TETHER_URL, TETHER_TOKEN and TETHER_HOME', () => {
    const options = parseCliArgs([], {
      TETHER_URL: 'ws://127.0.0.1:1/rpc',
      TETHER_TOKEN: 'env-token',
      TETHER_HOME: '/tmp/env-home',
    });
    expect(options).toMatchObject({
      url: 'ws://127.0.0.1:1/rpc',
      token: 'env-token',
      home: '/tmp/env-home',
    });
  });

  it('names an unknown flag', () => {
    const error = failure(['--colour']);
    expect(error.flag).toBe('--colour');
    expect(error.message).toContain('--colour');
  });

  it('names a flag that is missing its value', () => {
    expect(failure(['--home']).message).toBe('--home needs a value');
    expect(failure(['--url', '--token', 'x']).flag).toBe('--url');
  });

  it('names --url when it is not a WebSocket URL', () => {
    const error = failure(['--url', 'http://127.0.0.1:1/rpc']);
    expect(error.flag).toBe('--url');
    expect(error.message).toContain('ws://');
  });

  it('names TETHER_URL when the environment value is not a URL', () => {
    expect(failure([], { TETHER_URL: 'nope' }).flag).toBe('TETHER_URL');
  });

  it('refuses --standalone with --url, and --gateway without --standalone', () => {
    expect(failure(['--standalone', '--url', 'ws://127.0.0.1:1/rpc']).flag).toBe('--url');
    expect(failure(['--gateway', '/x.js']).flag).toBe('--gateway');
  });

  it('ignores TETHER_URL in standalone mode', () => {
    const options = parseCliArgs(['--standalone', '--gateway', '/g.js'], {
      TETHER_URL: 'ws://127.0.0.1:1/rpc',
    });
    expect(options).toMatchObject({ url: null, isStandalone: true, gatewayPath: '/g.js' });
  });
});
