import { isTetherError } from '@tether/core';
import type { ExitStatus, StoredProcess } from '@tether/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlSessionStore } from '../index.js';

/** One database the shared suite can open (and reopen) and throw away afterwards. */
export interface StoreTarget {
  open(): Promise<SqlSessionStore>;
  /** The migrations table as raw SQL must name it (schema-qualified on PostgreSQL). */
  migrationsTable: string;
  dispose(): Promise<void>;
}

const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

/** The behaviour every driver must share; each driver's test file calls this once. */
export function defineStoreSuite(name: string, makeTarget: () => Promise<StoreTarget>): void {
  describe(`SqlSessionStore on ${name}`, () => {
    let target: StoreTarget;
    let store: SqlSessionStore;
    const opened: SqlSessionStore[] = [];

    async function open(): Promise<SqlSessionStore> {
      const next = await target.open();
      opened.push(next);
      return next;
    }

    async function addSession(sessionId: string, createdAt: Date): Promise<void> {
      const title = `title ${sessionId}`;
      await store.createSession({ sessionId, title, cwd: '/tmp', createdAt });
    }

    async function addTurn(turnId: string, sessionId: string, runId: string, ms: number) {
      const text = `text ${turnId}`;
      await store.startTurn({ turnId, sessionId, runId, text, startedAt: at(ms) });
    }

    async function endTurn(turnId: string, output: string, exit: ExitStatus, ms: number) {
      await store.endTurn({ turnId, output, ...exit, endedAt: at(ms) });
    }

    beforeEach(async () => {
      target = await makeTarget();
      store = await open();
    });

    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close();
      await target.dispose();
    });

    it('round-trips a session, its run, turns and the run end', async () => {
      await addSession('s1', at(0));
      await store.startRun({ runId: 'r1', sessionId: 's1', instanceId: 'i1', startedAt: at(1) });
      await addTurn('t1', 's1', 'r1', 2);
      await endTurn('t1', 'out\n', { exitCode: 0, signal: null }, 3);
      await addTurn('t2', 's1', 'r1', 4);
      await endTurn('t2', '', { exitCode: null, signal: 'SIGKILL' }, 5);
      await store.endRun({
        runId: 'r1',
        endedAt: at(6),
        endReason: 'client_close',
        exitStatuses: { pty: { exitCode: 0, signal: null }, worker: null },
      });

      expect(await store.getSession('s1')).toEqual({
        sessionId: 's1',
        title: 'title s1',
        cwd: '/tmp',
        createdAt: at(0),
        runs: [
          {
            runId: 'r1',
            sessionId: 's1',
            instanceId: 'i1',
            startedAt: at(1),
            endedAt: at(6),
            endReason: 'client_close',
          },
        ],
      });
      expect(await store.listTurns('s1', 10)).toEqual([
        {
          turnId: 't1',
          sessionId: 's1',
          runId: 'r1',
          text: 'text t1',
          output: 'out\n',
          exitCode: 0,
          signal: null,
          startedAt: at(2),
          endedAt: at(3),
        },
        {
          turnId: 't2',
          sessionId: 's1',
          runId: 'r1',
          text: 'text t2',
          output: '',
          exitCode: null,
          signal: 'SIGKILL',
          startedAt: at(4),
          endedAt: at(5),
        },
      ]);
      expect(await store.getSession('missing')).toBeNull();
    });

    it('writes a run end once: a second endRun keeps the first reason and time', async () => {
      await addSession('s1', at(0));
      await store.startRun({ runId: 'r1', sessionId: 's1', instanceId: 'i1', startedAt: at(1) });

      await store.endRun({ runId: 'r1', endedAt: at(10), endReason: 'grace_expired' });
      await store.endRun({ runId: 'r1', endedAt: at(20), endReason: 'shutdown' });
      await store.endRun({ runId: 'no-such-run', endedAt: at(20), endReason: 'shutdown' });

      const [run] = (await store.getSession('s1'))?.runs ?? [];
      expect(run?.endReason).toBe('grace_expired');
      expect(run?.endedAt).toEqual(at(10));
    });

    it('writes a turn end once', async () => {
      await addSession('s1', at(0));
      await store.startRun({ runId: 'r1', sessionId: 's1', instanceId: 'i1', startedAt: at(1) });
      await addTurn('t1', 's1', 'r1', 2);
      await endTurn('t1', 'first', { exitCode: 1, signal: null }, 3);
      await endTurn('t1', 'second', { exitCode: 0, signal: null }, 4);

      const [turn] = await store.listTurns('s1', 1);
      expect(turn).toMatchObject({ output: 'first', exitCode: 1, endedAt: at(3) });
    });

    it('lists open runs for one instance and for all', async () => {
      await addSession('s1', at(0));
      await addSession('s2', at(1));
      await store.startRun({ runId: 'a1', sessionId: 's1', instanceId: 'A', startedAt: at(2) });
      await store.startRun({ runId: 'b1', sessionId: 's2', instanceId: 'B', startedAt: at(3) });
      await store.startRun({ runId: 'a2', sessionId: 's2', instanceId: 'A', startedAt: at(4) });
      await store.endRun({ runId: 'a1', endedAt: at(5), endReason: 'idle_ttl' });

      const ids = (runs: { runId: string }[]): string[] => runs.map((run) => run.runId);
      expect(ids(await store.listOpenRuns('A'))).toEqual(['a2']);
      expect(ids(await store.listOpenRuns('B'))).toEqual(['b1']);
      expect(ids(await store.listOpenRuns())).toEqual(['b1', 'a2']);
      expect(await store.listOpenRuns('nobody')).toEqual([]);
    });

    it('lists sessions newest first, limited, with their runs, from a cursor', async () => {
      for (let index = 0; index < 5; index += 1) await addSession(`s${index}`, at(index * 1000));
      await store.startRun({ runId: 'r', sessionId: 's3', instanceId: 'i', startedAt: at(3500) });

      const page = await store.listSessions({ limit: 3 });
      expect(page.map((session) => session.sessionId)).toEqual(['s4', 's3', 's2']);
      expect(page[1]?.runs.map((run) => run.runId)).toEqual(['r']);
      expect(page[0]?.runs).toEqual([]);

      const byTime = await store.listSessions({ limit: 10, before: at(2000).toISOString() });
      expect(byTime.map((session) => session.sessionId)).toEqual(['s1', 's0']);

      const byId = await store.listSessions({ limit: 2, before: 's3' });
      expect(byId.map((session) => session.sessionId)).toEqual(['s2', 's1']);

      expect(await store.listSessions({ limit: 0 })).toEqual([]);
      await expect(store.listSessions({ limit: 1, before: 'unknown' })).rejects.toMatchObject({
        code: 'TETHER_INVALID_PARAMS',
      });
    });

    it('lists the newest turns, oldest first', async () => {
      await addSession('s1', at(0));
      await addSession('other', at(0));
      await store.startRun({ runId: 'r1', sessionId: 's1', instanceId: 'i', startedAt: at(1) });
      await store.startRun({ runId: 'r2', sessionId: 'other', instanceId: 'i', startedAt: at(1) });
      for (let index = 1; index <= 5; index += 1) {
        await addTurn(`t${index}`, 's1', 'r1', index * 10);
      }
      await addTurn('x', 'other', 'r2', 99);

      const turns = await store.listTurns('s1', 3);
      expect(turns.map((turn) => turn.turnId)).toEqual(['t3', 't4', 't5']);
      expect((await store.listTurns('s1', 50)).length).toBe(5);
    });

    it('records, lists and forgets processes by instance', async () => {
      // Above 2^32 on purpose: start_time is a bigint and must come back as the same number.
      const bigStart = 5_000_000_000_123;
      const pty: StoredProcess = {
        pid: 10,
        startTime: bigStart,
        kind: 'pty',
        sessionId: 's',
        runId: 'r',
        instanceId: 'A',
      };
      const guardian: StoredProcess = { ...pty, pid: 11, startTime: 7, kind: 'guardian' };
      const nullGuardian = { ...guardian, sessionId: null, runId: null };
      await store.recordProcess(pty);
      await store.recordProcess(pty);
      await store.recordProcess(nullGuardian);
      const worker: StoredProcess = { ...pty, pid: 20, startTime: 9, kind: 'worker' };
      await store.recordProcess({ ...worker, instanceId: 'B' });

      expect(await store.listProcesses({ instanceId: 'A' })).toEqual([pty, nullGuardian]);
      const others = await store.listProcesses({ exceptInstanceId: 'A' });
      expect(others.map((process) => process.pid)).toEqual([20]);
      expect((await store.listProcesses({})).length).toBe(3);

      await store.forgetProcesses({ instanceId: 'A' });
      expect(await store.listProcesses({ instanceId: 'A' })).toEqual([]);
      expect((await store.listProcesses({ instanceId: 'B' })).length).toBe(1);
    });

    it('sets a title', async () => {
      await addSession('s1', at(0));
      await store.setTitle('s1', 'Work');
      expect((await store.getSession('s1'))?.title).toBe('Work');
      await store.setTitle('missing', 'ignored');
      expect(await store.getSession('missing')).toBeNull();
    });

    it('round-trips dates to the millisecond', async () => {
      const dates = [
        new Date('2024-02-29T23:59:59.999Z'),
        new Date(1),
        new Date('1999-12-31T23:59:59.001Z'),
        new Date(Date.now()),
      ];
      for (const [index, date] of dates.entries()) await addSession(`d${index}`, date);
      for (const [index, date] of dates.entries()) {
        expect((await store.getSession(`d${index}`))?.createdAt.getTime()).toBe(date.getTime());
      }
      await expect(addSession('bad', new Date(Number.NaN))).rejects.toMatchObject({
        code: 'TETHER_INVALID_PARAMS',
      });
    });

    it('migrates on open, matches the entities, and does not migrate on reopen', async () => {
      const countMigrations = async (each: SqlSessionStore): Promise<unknown[]> =>
        each.dataSource.query(`SELECT name FROM ${target.migrationsTable}`);

      expect(await countMigrations(store)).toEqual([{ name: 'InitialSchema1733300000000' }]);
      const diff = await store.dataSource.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((query) => query.query)).toEqual([]);
      await addSession('kept', at(0));
      await store.close();

      const reopened = await open();
      expect(await countMigrations(reopened)).toEqual([{ name: 'InitialSchema1733300000000' }]);
      expect(await reopened.dataSource.showMigrations()).toBe(false);
      expect((await reopened.getSession('kept'))?.title).toBe('title kept');
    });

    it('rejects a bad query as TETHER_INTERNAL, keeping the driver error as cause', async () => {
      // The foreign key refuses a run of a session that was never stored.
      const error: unknown = await store
        .startRun({ runId: 'r', sessionId: 'missing', instanceId: 'i', startedAt: at(0) })
        .catch((caught: unknown) => caught);
      expect(isTetherError(error, 'TETHER_INTERNAL')).toBe(true);
      expect((error as Error).cause).toBeInstanceOf(Error);
    });

    it('rejects calls after close as unavailable; close is idempotent', async () => {
      await store.close();
      await store.close();
      await expect(store.getSession('s1')).rejects.toMatchObject({
        code: 'TETHER_STORE_UNAVAILABLE',
      });
    });
  });
}
