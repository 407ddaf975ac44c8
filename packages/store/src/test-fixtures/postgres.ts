import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.TETHER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable url>'; // never echo a string we could not find the password in
  }
}

export const IS_PG_REQUIRED = process.env.TETHER_REQUIRE_PG === '1';

/** Runs one statement on a short-lived connection; rejects when PostgreSQL is not there. */
export async function pgQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined); // a refused connect also rejects connect(); that suffices
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    await client.end().catch(() => undefined); // already broken: the query's error is the news
  }
}

/** The reason PostgreSQL cannot be used, or null when it answers. */
export async function probePostgres(): Promise<string | null> {
  try {
    await pgQuery('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export function uniqueSchema(): string {
  return `tether_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
