import { tempDir } from '@tether/test-utils';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionStore } from './index.js';
import { defineStoreSuite } from './test-fixtures/store-suite.js';

defineStoreSuite('SQLite', async () => {
  const dir = await tempDir('tether-store-');
  const sqlitePath = join(dir.path, 'tether.db');
  return {
    open: () => createSessionStore({ sqlitePath }),
    migrationsTable: 'migrations',
    dispose: () => dir.remove(),
  };
});

describe('SQLite file', () => {
  it('runs in WAL mode and creates missing parent folders', async () => {
    const dir = await tempDir('tether-store-');
    const sqlitePath = join(dir.path, 'a', 'b', 'tether.db');
    const store = await createSessionStore({ sqlitePath });
    try {
      expect(store.kind).toBe('sqlite');
      expect(existsSync(sqlitePath)).toBe(true);
      const mode: unknown = await store.dataSource.query('PRAGMA journal_mode');
      expect(mode).toEqual([{ journal_mode: 'wal' }]);
      // 1 = NORMAL: commits do not wait for an fsync on the event loop.
      expect(await store.dataSource.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
    } finally {
      await store.close();
      await dir.remove();
    }
  });

  it('accepts a sqlite: url when no sqlitePath is given', async () => {
    const dir = await tempDir('tether-store-');
    const store = await createSessionStore({ url: `sqlite:${join(dir.path, 'u.db')}` });
    try {
      expect(existsSync(join(dir.path, 'u.db'))).toBe(true);
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});
