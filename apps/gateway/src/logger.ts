import pino from 'pino';
import type { Logger } from '@tether/core';

/** Structured logs, one JSON line per event, on stderr (stdout may carry stdio JSON-RPC). */
export function createLogger(
  level: string,
  bindings: Record<string, unknown>,
): Logger & pino.Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: { paths: ['token', '*.token', 'headers.authorization'], censor: '(hidden)' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
