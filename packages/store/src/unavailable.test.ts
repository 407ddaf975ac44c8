import { isTetherError, TetherError } from '@tether/core';
import { tempDir } from '@tether/test-utils';
import Database from 'better-sqlite3';
import { chmod, chown } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionStore } from './index.js';
import { isReachableByNobody, runStoreChild, STORE_CHILD } from './test-fixtures/child.js';

const NOBODY = 65534;

const session = (sessionId: string) => ({
  sessionId,
  title: 't',
  cwd: '/',
  createdAt: new Date(),
});

/** A loopback port that was just free: bound on port 0, then closed, so nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('an unreachable store', () => {
  it('rejects opening PostgreSQL on a closed port with TETHER_STORE_UNAVAILABLE', async () => {
    const port = await closedPort();
    const url = `postgres://postgres@127.0.0.1:${port}/test`;

    const error: unknown = await createSessionStore({ url }).catch((caught: unknown) => caught);

    expect(isTetherError(error, 'TETHER_STORE_UNAVAILABLE')).toBe(true);
    expect((error as TetherError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect((error as TetherError).message).not.toContain(url);
  });

  it('rejects opening PostgreSQL with a schema on a closed port the same way', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/test`;
    await expect(createSessionStore({ url, schema: 'tether_x' })).rejects.toMatchObject({
      code: 'TETHER_STORE_UNAVAILABLE',
    });
  });

  it('rejects a SQLite write as unavailable while another connection holds the lock', async () => {
    const dir = await tempDir('tether-store-');
    const sqlitePath = join(dir.path, 'tether.db');
    const store = await createSessionStore({ sqlitePath, busyTimeoutMs: 100 });
    // A second connection, as another gateway or a stray sqlite3 shell would hold it.
    const other = new Database(sqlitePath);
    try {
      other.exec('BEGIN IMMEDIATE');

      const error: unknown = await store
        .createSession(session('s1'))
        .catch((caught: unknown) => caught);
      expect(isTetherError(error, 'TETHER_STORE_UNAVAILABLE')).toBe(true);
      expect((error as TetherError).data).toMatchObject({ driverCode: 'SQLITE_BUSY' });
      // WAL: readers are not blocked by the writer.
      expect(await store.getSession('s1')).toBeNull();

      other.exec('ROLLBACK');
      await store.createSession(session('s1'));
      expect((await store.getSession('s1'))?.sessionId).toBe('s1');
    } finally {
      other.close();
      await store.close();
      await dir.remove();
    }
  });

  it('rejects SQLite calls as unavailable when the connection is closed under it', async () => {
    const dir = await tempDir('tether-store-');
    const store = await createSessionStore({ sqlitePath: join(dir.path, 'tether.db') });
    try {
      // The raw handle, closed behind TypeORM's back: the same state a crashed driver leaves.
      (
        store.dataSource.driver as unknown as { databaseConnection: Database.Database }
      ).databaseConnection.close();

      await expect(store.createSession(session('s1'))).rejects.toMatchObject({
        code: 'TETHER_STORE_UNAVAILABLE',
      });
      await expect(store.listOpenRuns()).rejects.toBeInstanceOf(TetherError);
    } finally {
      await store.close();
      await dir.remove();
    }
  });

  it('rejects a read-only SQLite file with a TetherError, without crashing', async (context) => {
    if (process.getuid?.() === 0 && !isReachableByNobody(STORE_CHILD)) {
      // The checkout sits below a folder `nobody` may not enter (a private temp clone), so the
      // unprivileged child cannot even load the store; root itself ignores file modes.
      console.warn(`skipped: ${STORE_CHILD} is not readable by uid ${NOBODY}`);
      context.skip();
    }
    const dir = await tempDir('tether-store-');
    const sqlitePath = join(dir.path, 'tether.db');
    await (await createSessionStore({ sqlitePath })).close();
    // Root ignores file modes, so as root the write runs as `nobody`, owning the file: then
    // only the read-only modes stand in its way, as they would for an ordinary user.
    const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    if (process.getuid?.() === 0) {
      for (const path of [dir.path, sqlitePath]) await chown(path, NOBODY, NOBODY);
    }
    await chmod(sqlitePath, 0o444);
    await chmod(dir.path, 0o555);
    try {
      const result = await runStoreChild(sqlitePath, asUser);
      expect(result).toMatchObject({
        outcome: 'rejected',
        name: 'TetherError',
        code: 'TETHER_STORE_UNAVAILABLE',
      });
    } finally {
      await chmod(dir.path, 0o755);
      await dir.remove();
    }
  });

  it('rejects an unknown database url with TETHER_INVALID_PARAMS', async () => {
    await expect(createSessionStore({ url: 'mysql://127.0.0.1/x' })).rejects.toMatchObject({
      code: 'TETHER_INVALID_PARAMS',
    });
  });
});
