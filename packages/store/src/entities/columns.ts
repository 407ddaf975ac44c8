import type { ColumnOptions, PrimaryColumnOptions } from 'typeorm';

/*
 * Every column names its type explicitly: vitest (esbuild) emits no decorator metadata, and
 * the same entities must map to the same columns on SQLite and PostgreSQL.
 */

/** Ids come from the gateway (UUIDs today); unbounded text keeps the store out of that choice. */
export function idColumn(name: string, isNullable = false): ColumnOptions {
  return { name, type: 'varchar', nullable: isNullable };
}

export function primaryIdColumn(name: string): PrimaryColumnOptions {
  return { name, type: 'varchar' };
}

/**
 * Times are ISO-8601 UTC strings with milliseconds (`Date#toISOString`). They sort as text,
 * compare with plain `<`, and come back as the same millisecond on both drivers, which a
 * native timestamp type does not promise (SQLite has none; PG keeps microseconds and zones).
 */
export function timeColumn(name: string, isNullable = false): ColumnOptions {
  return { name, type: 'varchar', length: 32, nullable: isNullable };
}

/** Short enum-like strings (teardown reasons, process kinds). */
export function tagColumn(name: string, isNullable = false): ColumnOptions {
  return { name, type: 'varchar', length: 32, nullable: isNullable };
}
