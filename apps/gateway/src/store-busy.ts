import type { SqlSessionStore } from '@tether/store';

/**
 * How long a SQLite write waits for another connection's lock once the gateway is serving.
 * better-sqlite3 waits synchronously, on the event loop: with the store's 5 s default a second
 * writer holding the lock (a backup, a tool, a test) froze every client and the reaping for as
 * long as it held it. Serving, a write fails fast instead and the outbox retries it later.
 */
export const SERVING_SQLITE_BUSY_TIMEOUT_MS = 20;

/**
 * Switches a SQLite store to the short busy timeout. Called after start-up, whose own writes
 * (process records, the start-up sweep) are awaited directly and may still wait out a lock.
 */
export async function failFastOnBusyLock(store: SqlSessionStore): Promise<void> {
  if (store.kind !== 'sqlite') return;
  await store.dataSource.query(`PRAGMA busy_timeout = ${SERVING_SQLITE_BUSY_TIMEOUT_MS}`);
}
