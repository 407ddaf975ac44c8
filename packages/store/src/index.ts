/**
 * @tether/store: Tether's sessions, runs, turns and spawned processes in SQLite (default) or
 * PostgreSQL, through TypeORM with committed migrations.
 */
// Once, before any entity module runs its decorators.
import 'reflect-metadata';
import type { Logger } from '@tether/core';
import { createDataSource, isPostgresUrl } from './data-source.js';
import type { DataSourceConfig } from './data-source.js';
import { toStoreError } from './errors.js';
import { SqlSessionStore } from './session-store.js';

export { createDataSource, isPostgresUrl } from './data-source.js';
export type { DataSourceConfig, StoreKind } from './data-source.js';
export { ENTITIES, ProcessEntity, RunEntity, SessionEntity, TurnEntity } from './entities/index.js';
export { InitialSchema1733300000000, MIGRATIONS } from './migrations/index.js';
export { isUnavailable, toStoreError } from './errors.js';
export { SqlSessionStore } from './session-store.js';

export interface SessionStoreOptions extends DataSourceConfig {
  logger?: Logger;
}

/**
 * Opens the store and applies pending migrations. A `postgres://`/`postgresql://` `url`
 * selects PostgreSQL; otherwise a SQLite file at `sqlitePath` (parent folder created, WAL).
 * Rejects with `TETHER_STORE_UNAVAILABLE` when the database cannot be reached or opened.
 */
export async function createSessionStore(options: SessionStoreOptions): Promise<SqlSessionStore> {
  const { logger, ...config } = options;
  const kind = isPostgresUrl(config.url) ? 'postgres' : 'sqlite';
  try {
    const opened = await createDataSource(config);
    logger?.info({ sessionId: null, kind: opened.kind }, 'store opened');
    return new SqlSessionStore(opened.dataSource, opened.kind, logger);
  } catch (error) {
    const wrapped = toStoreError(error, 'open');
    logger?.error({ sessionId: null, kind, err: error }, 'store open failed');
    throw wrapped;
  }
}
