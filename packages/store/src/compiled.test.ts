import { tempDir } from '@tether/test-utils';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStoreChild } from './test-fixtures/child.js';

describe('the compiled package', () => {
  it('opens, migrates and round-trips from dist/ in a plain node process', async () => {
    const dir = await tempDir('tether-store-');
    try {
      const result = await runStoreChild(join(dir.path, 'nested', 'tether.db'));
      expect(result).toEqual({
        outcome: 'written',
        title: 'from dist',
        at: '2024-05-06T07:08:09.123Z',
      });
    } finally {
      await dir.remove();
    }
  });
});
