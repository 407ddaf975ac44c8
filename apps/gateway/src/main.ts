#!/usr/bin/env node
import {
  ConfigError,
  describeConfig,
  knobHelp,
  loadConfig,
  type LoadConfigResult,
} from '@tether/core';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';

const USAGE = `usage: tether-gateway [config] [--stdio] [flags]

  (no command)   run the gateway (WebSocket on --host/--port, or JSON-RPC on stdio with --stdio)
  config         print the effective configuration and where each value came from
  --help         this text;  --version  the version

flags (each also settable by its environment variable):
`;

function parse(argv: string[]): LoadConfigResult {
  try {
    return loadConfig({
      argv,
      env: process.env,
      allowSwitches: ['--stdio', '--help', '--version'],
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tether-gateway: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const loaded = parse(process.argv.slice(2));
  const rest = new Set(loaded.rest);
  if (rest.has('--help')) {
    process.stdout.write(USAGE + knobHelp() + '\n');
    return;
  }
  if (rest.has('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const unknown = loaded.rest.filter((arg) => !['config', '--stdio'].includes(arg));
  if (unknown.length > 0) {
    process.stderr.write(
      `tether-gateway: unknown argument "${unknown[0]}"; see tether-gateway --help\n`,
    );
    process.exit(2);
  }
  if (rest.has('config')) {
    process.stdout.write(describeConfig(loaded) + '\n');
    return;
  }

  const isStdio = rest.has('--stdio');
  const logger = createLogger(loaded.config.logLevel, { component: 'gateway' });
  for (const warning of loaded.warnings) {
    logger.warn(
      { sessionId: null, key: warning.key, value: warning.value, used: warning.used },
      warning.message,
    );
  }
  // A signal during start-up is kept and honoured as soon as the gateway is up, so it still
  // ends with a clean shutdown (and exit 0) rather than dying half-started.
  let earlySignal: string | null = null;
  const onEarlySignal = (signal: string) => (earlySignal ??= signal);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onEarlySignal);
  const gateway = await startGateway({
    config: loaded.config,
    logger,
    warnings: loaded.warnings.map((warning) => warning.message),
    ...(isStdio ? { stdio: { input: process.stdin, output: process.stdout } } : {}),
  });

  let exitCode = 0;
  const stop = (reason: string) => {
    void gateway.shutdown(reason).then(
      () => {
        logger.flush();
        process.exitCode = exitCode;
        // Let pino's async destination finish its last line, then leave even if a handle lingers.
        setTimeout(() => process.exit(exitCode), 50).unref();
      },
      (error: unknown) => {
        logger.fatal({ sessionId: null, err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.off(signal, onEarlySignal);
    process.on(signal, () => stop(signal));
  }
  if (earlySignal) stop(earlySignal);
  void gateway.stdioDone?.then(() => stop('stdin_eof'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ sessionId: null, err: error }, 'uncaught exception; shutting down');
    exitCode = 1;
    stop('uncaught_exception');
  });
  process.on('unhandledRejection', (error) => {
    logger.error({ sessionId: null, err: error }, 'unhandled rejection');
  });
}

void main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`tether-gateway: ${message}\n`);
  process.exit(1);
});
