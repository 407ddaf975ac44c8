import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { invalidParams } from '@tether/core';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface DataSourceConfig {
  /** `postgres://` or `postgresql://` selects PostgreSQL; `sqlite:`/`file:` name a SQLite file. */
  url?: string;
  /** SQLite file; wins over a non-PostgreSQL `url`. */
  sqlitePath?: string;
  /** Create tables from the entities instead of only migrating. Tests only. */
  synchronize?: boolean;
  /** PostgreSQL schema to use (created when missing); for test isolation. */
  schema?: string;
  /** How long a SQLite write waits for another writer's lock before failing. */
  busyTimeoutMs?: number;
  /** How long opening a PostgreSQL connection may take. */
  connectTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const MIGRATIONS_TABLE = 'migrations';

export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

function sqliteFile(config: DataSourceConfig): string {
  if (config.sqlitePath !== undefined) return resolve(config.sqlitePath);
  const url = config.url;
  if (url === undefined) throw invalidParams('sqlitePath', 'a file path when no url is given');
  const match = /^(?:sqlite|file):(?:\/\/)?(.+)$/i.exec(url);
  if (match?.[1] === undefined) {
    throw invalidParams('url', 'a postgres:// URL, or a sqlite: or file: path');
  }
  return resolve(match[1]);
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** TypeORM never creates a schema for us, and migrations need it before they start. */
async function ensurePostgresSchema(config: DataSourceConfig & { url: string }): Promise<void> {
  if (config.schema === undefined) return;
  const client = new pg.Client({
    connectionString: config.url,
    connectionTimeoutMillis: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  // A refused connection would otherwise also surface as an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(config.schema)}`);
  } finally {
    await client.end().catch(() => {
      // The connection is already broken; the caller gets the original error.
    });
  }
}

/**
 * Opens a TypeORM data source for the configured database and runs the committed migrations.
 * SQLite runs in WAL mode so readers never block the single writer.
 */
export async function createDataSource(
  config: DataSourceConfig,
): Promise<{ dataSource: DataSource; kind: StoreKind }> {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // LIMITATION: TypeORM takes no lock around migrations, so two gateways first opening one
    // empty PostgreSQL database at the same moment can race (one fails, a restart fixes it).
    // Fix: wrap the migration run in pg_advisory_lock on PostgreSQL.
    migrationsRun: true,
    // One transaction for the whole batch: a half-applied upgrade never becomes visible.
    migrationsTransactionMode: 'all' as const,
    synchronize: config.synchronize ?? false,
    logging: false,
  };

  if (isPostgresUrl(config.url)) {
    const url = config.url;
    await ensurePostgresSchema({ ...config, url });
    const dataSource = new DataSource({
      ...common,
      type: 'postgres',
      url,
      schema: config.schema,
      connectTimeoutMS: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      applicationName: 'tether-store',
    });
    await dataSource.initialize();
    return { dataSource, kind: 'postgres' };
  }

  const database = sqliteFile(config);
  await mkdir(dirname(database), { recursive: true });
  const dataSource = new DataSource({
    ...common,
    type: 'better-sqlite3',
    database,
    enableWAL: true,
    timeout: config.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    // better-sqlite3 runs on the event loop: with the default FULL, every commit waits for an
    // fsync, and a mass teardown's hundreds of run ends would stall every client. In WAL mode
    // NORMAL syncs at checkpoints instead; a power cut can lose the last commits, never
    // corrupt the file.
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
    },
  });
  await dataSource.initialize();
  return { dataSource, kind: 'sqlite' };
}
