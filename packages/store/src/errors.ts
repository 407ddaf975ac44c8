import { TetherError } from '@tether/core';

/*
 * The gateway treats "the database is not there" (retry later, report unhealthy) differently
 * from "this query is wrong" (a bug), so every database error is sorted into one of the two.
 */

/**
 * PostgreSQL SQLSTATE classes: connection exception, invalid authorisation (a login refused,
 * e.g. a role set NOLOGIN: an operator's state to wait out, not a bad query), insufficient
 * resources, operator action.
 */
const PG_UNAVAILABLE_CLASSES = new Set(['08', '28', '53', '57']);

/** Socket and file-system errors: the server or the file cannot be reached. */
const SYSTEM_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
]);

/** SQLite result codes (extended codes share the prefix) meaning the file cannot be used now. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|READONLY|IOERR|FULL|NOTADB|CORRUPT|PERM)/;

/** TypeORM's own errors for a data source that is not connected, and pg/better-sqlite3 texts. */
const UNAVAILABLE_NAMES = new Set([
  'CannotExecuteNotConnectedError',
  'ConnectionIsNotSetError',
  'QueryRunnerAlreadyReleasedError',
]);
// `ALTER DATABASE ... ALLOW_CONNECTIONS false` answers 55000, a class shared with real bugs.
const UNAVAILABLE_MESSAGE = new RegExp(
  'connection is not open|connection terminated|not connected|timeout exceeded .*connect' +
    '|not currently accepting connections',
  'i',
);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error, then what it wraps: TypeORM's `driverError`, `cause`, AggregateError parts. */
function* chain(error: unknown, depth = 0): Generator<unknown> {
  if (error === null || error === undefined || depth > 5) return;
  yield error;
  const wrapper = error as { driverError?: unknown; cause?: unknown; errors?: unknown };
  yield* chain(wrapper.driverError, depth + 1);
  yield* chain(wrapper.cause, depth + 1);
  if (Array.isArray(wrapper.errors)) {
    for (const part of wrapper.errors) yield* chain(part, depth + 1);
  }
}

function isUnavailableOne(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined) {
    if (SYSTEM_UNAVAILABLE_CODES.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && PG_UNAVAILABLE_CLASSES.has(code.slice(0, 2))) return true;
  }
  if (!(error instanceof Error)) return false;
  return UNAVAILABLE_NAMES.has(error.name) || UNAVAILABLE_MESSAGE.test(error.message);
}

/** True when the database (not the query) is the problem. */
export function isUnavailable(error: unknown): boolean {
  for (const part of chain(error)) {
    if (isUnavailableOne(part)) return true;
  }
  return false;
}

/** The first driver code in the chain, safe to log (never holds a URL or credentials). */
function driverCode(error: unknown): string | undefined {
  for (const part of chain(error)) {
    const code = codeOf(part);
    if (code !== undefined) return code;
  }
  return undefined;
}

/**
 * Wraps any database failure as a TetherError, keeping the original as `cause`:
 * `TETHER_STORE_UNAVAILABLE` for connection-level failures, `TETHER_INTERNAL` otherwise.
 */
export function toStoreError(error: unknown, operation: string): TetherError {
  if (error instanceof TetherError) return error;
  const data = { operation, driverCode: driverCode(error) };
  if (isUnavailable(error)) {
    const message = `store unavailable during ${operation}`;
    return new TetherError('TETHER_STORE_UNAVAILABLE', message, data, { cause: error });
  }
  return new TetherError('TETHER_INTERNAL', `store ${operation} failed`, data, { cause: error });
}

export function storeClosedError(operation: string): TetherError {
  return new TetherError('TETHER_STORE_UNAVAILABLE', `store is closed (${operation})`, {
    operation,
  });
}
