import { TetherError } from '@tether/core';
import { describe, expect, it } from 'vitest';
import { isUnavailable, toStoreError } from './errors.js';

const withCode = (code: string): Error => Object.assign(new Error('failed'), { code });

describe('toStoreError', () => {
  it('sorts connection-level failures as TETHER_STORE_UNAVAILABLE', () => {
    const codes = ['08006', '57P01', '53300', 'ECONNREFUSED', 'SQLITE_BUSY', 'SQLITE_IOERR_WRITE'];
    for (const code of codes) {
      expect(isUnavailable(withCode(code)), code).toBe(true);
    }
    const wrappedByTypeorm = Object.assign(new Error('query failed'), {
      driverError: new AggregateError([withCode('ECONNREFUSED')]),
    });
    const error = toStoreError(wrappedByTypeorm, 'listSessions');
    expect(error.code).toBe('TETHER_STORE_UNAVAILABLE');
    expect(error.cause).toBe(wrappedByTypeorm);
    expect(error.data).toEqual({ operation: 'listSessions', driverCode: 'ECONNREFUSED' });
  });

  it('sorts a refused login and a database closed to connections as unavailable', () => {
    // What pg reports for a role set NOLOGIN, and for ALLOW_CONNECTIONS false.
    expect(isUnavailable(withCode('28000'))).toBe(true);
    const closedDatabase = Object.assign(
      new Error('database "tether" is not currently accepting connections'),
      { code: '55000' },
    );
    expect(toStoreError(closedDatabase, 'endRun').code).toBe('TETHER_STORE_UNAVAILABLE');
    expect(toStoreError(withCode('55000'), 'op').code).toBe('TETHER_INTERNAL');
  });

  it('sorts query failures as TETHER_INTERNAL', () => {
    for (const code of ['23505', '23503', '42P01', 'SQLITE_CONSTRAINT_PRIMARYKEY']) {
      expect(toStoreError(withCode(code), 'op').code, code).toBe('TETHER_INTERNAL');
    }
  });

  it('passes TetherErrors through unchanged', () => {
    const original = new TetherError('TETHER_INVALID_PARAMS');
    expect(toStoreError(original, 'op')).toBe(original);
  });
});
