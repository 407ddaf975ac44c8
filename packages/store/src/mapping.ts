import { invalidParams } from '@tether/core';
import type { StoredProcess, StoredRun, StoredTurn, TeardownReason } from '@tether/core';
import type { ProcessEntity } from './entities/process.entity.js';
import type { RunEntity } from './entities/run.entity.js';
import type { TurnEntity } from './entities/turn.entity.js';

/** Dates go in as ISO-8601 UTC text (see entities/columns.ts); an invalid Date is a caller bug. */
export function toIso(date: Date, field: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw invalidParams(field, 'a valid Date');
  }
  return date.toISOString();
}

export function fromIso(text: string): Date {
  return new Date(text);
}

export function fromIsoOrNull(text: string | null): Date | null {
  return text === null ? null : new Date(text);
}

export function toStoredRun(row: RunEntity): StoredRun {
  return {
    runId: row.runId,
    sessionId: row.sessionId,
    instanceId: row.instanceId,
    startedAt: fromIso(row.startedAt),
    endedAt: fromIsoOrNull(row.endedAt),
    // Only the store writes this column, and only from a TeardownReason.
    endReason: row.endReason as TeardownReason | null,
  };
}

export function toStoredTurn(row: TurnEntity): StoredTurn {
  return {
    turnId: row.turnId,
    sessionId: row.sessionId,
    runId: row.runId,
    text: row.text,
    output: row.output,
    exitCode: row.exitCode,
    signal: row.signal,
    startedAt: fromIso(row.startedAt),
    endedAt: fromIsoOrNull(row.endedAt),
  };
}

export function toStoredProcess(row: ProcessEntity): StoredProcess {
  return {
    pid: row.pid,
    // PG hands bigint back as a string to avoid precision loss; tick counts fit a double.
    startTime: Number(row.startTime),
    kind: row.kind as StoredProcess['kind'],
    sessionId: row.sessionId,
    runId: row.runId,
    instanceId: row.instanceId,
  };
}
