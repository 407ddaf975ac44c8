import { waitFor } from '@tether/test-utils';
import { describe, expect, it } from 'vitest';
import { createSessionStore } from './index.js';
import {
  dropSchema,
  IS_PG_REQUIRED,
  PG_URL,
  pgQuery,
  probePostgres,
  redactedUrl,
  uniqueSchema,
} from './test-fixtures/postgres.js';
import { defineStoreSuite } from './test-fixtures/store-suite.js';

const unreachableReason = await probePostgres();
const shouldSkip = unreachableReason !== null && !IS_PG_REQUIRED;
if (unreachableReason !== null) {
  console.warn(
    `PostgreSQL at ${redactedUrl(PG_URL)} is not reachable (${unreachableReason}); ` +
      (IS_PG_REQUIRED ? 'TETHER_REQUIRE_PG=1, so this fails.' : 'skipping the PostgreSQL suite.'),
  );
}

describe.skipIf(shouldSkip)('PostgreSQL', () => {
  it('is reachable', () => {
    // Only reached when skipping is not allowed: this is the failure TETHER_REQUIRE_PG asks for.
    expect(unreachableReason).toBeNull();
  });

  defineStoreSuite('PostgreSQL', async () => {
    const schema = uniqueSchema();
    return {
      open: () => createSessionStore({ url: PG_URL, schema }),
      migrationsTable: `"${schema}"."migrations"`,
      dispose: () => dropSchema(schema),
    };
  });

  it('keeps each schema to itself and drops it afterwards', async () => {
    const schema = uniqueSchema();
    const store = await createSessionStore({ url: PG_URL, schema });
    try {
      expect(store.kind).toBe('postgres');
      const tables = await pgQuery(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}'`,
      );
      expect(tables.rows.map((row: { table_name: string }) => row.table_name).sort()).toEqual([
        'migrations',
        'processes',
        'runs',
        'sessions',
        'turns',
      ]);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
    const left = await pgQuery(
      `SELECT 1 FROM information_schema.schemata WHERE schema_name = '${schema}'`,
    );
    expect(left.rowCount).toBe(0);
  });

  it('recovers after the server drops its connections', async () => {
    const schema = uniqueSchema();
    const store = await createSessionStore({ url: PG_URL, schema });
    try {
      await store.createSession({ sessionId: 's', title: 't', cwd: '/', createdAt: new Date() });
      // Ends every pooled connection this store holds, as a server restart would.
      await pgQuery(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity ` +
          `WHERE application_name = 'tether-store' AND pid <> pg_backend_pid()`,
      );
      // Each dead pooled connection may fail one query before the pool replaces it; every
      // such failure must be reported as unavailable, and the store must come back by itself.
      const failureCodes: unknown[] = [];
      const session = await waitFor(
        () =>
          store.getSession('s').catch((error: unknown) => {
            failureCodes.push((error as { code?: unknown }).code);
            return null;
          }),
        { timeoutMs: 10_000, what: 'a query to succeed after the connections were dropped' },
      );
      expect(session.title).toBe('t');
      expect(failureCodes.every((code) => code === 'TETHER_STORE_UNAVAILABLE')).toBe(true);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });
});
