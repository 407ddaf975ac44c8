import { invalidParams } from '@tether/core';
import type {
  Logger,
  RunEnd,
  SessionStore,
  StoredProcess,
  StoredRun,
  StoredSession,
  StoredTurn,
} from '@tether/core';
import { Brackets, In, IsNull, Not } from 'typeorm';
import type { DataSource, FindOptionsWhere } from 'typeorm';
import type { StoreKind } from './data-source.js';
import { ProcessEntity, RunEntity, SessionEntity, TurnEntity } from './entities/index.js';
import { storeClosedError, toStoreError } from './errors.js';
import { fromIso, toIso, toStoredProcess, toStoredRun, toStoredTurn } from './mapping.js';

const ISO_PREFIX = /^\d{4}-\d{2}-\d{2}(T|$)/;

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw invalidParams('limit', 'an integer >= 0');
}

/** Core's `SessionStore` over a TypeORM data source (SQLite or PostgreSQL). */
export class SqlSessionStore implements SessionStore {
  readonly dataSource: DataSource;
  readonly kind: StoreKind;
  readonly #logger: Logger | undefined;
  #isClosed = false;

  constructor(dataSource: DataSource, kind: StoreKind, logger?: Logger) {
    this.dataSource = dataSource;
    this.kind = kind;
    this.#logger = logger;
  }

  /** Every public method goes through here so no raw driver error escapes. */
  async #run<T>(operation: string, sessionId: string | null, work: () => Promise<T>): Promise<T> {
    if (this.#isClosed || !this.dataSource.isInitialized) throw storeClosedError(operation);
    try {
      return await work();
    } catch (error) {
      const wrapped = toStoreError(error, operation);
      if (wrapped.code === 'TETHER_STORE_UNAVAILABLE') {
        this.#logger?.warn({ sessionId, operation, err: error }, 'store unavailable');
      }
      throw wrapped;
    }
  }

  async createSession(session: {
    sessionId: string;
    title: string;
    cwd: string;
    createdAt: Date;
  }): Promise<void> {
    const createdAt = toIso(session.createdAt, 'createdAt');
    await this.#run('createSession', session.sessionId, async () => {
      await this.dataSource.getRepository(SessionEntity).insert({ ...session, createdAt });
    });
  }

  /** Renames a stored session; an unknown id changes nothing. */
  async setTitle(sessionId: string, title: string): Promise<void> {
    await this.#run('setTitle', sessionId, async () => {
      await this.dataSource.getRepository(SessionEntity).update({ sessionId }, { title });
    });
  }

  async getSession(sessionId: string): Promise<StoredSession | null> {
    return this.#run('getSession', sessionId, async () => {
      const row = await this.dataSource.getRepository(SessionEntity).findOneBy({ sessionId });
      if (row === null) return null;
      const [session] = await this.#withRuns([row]);
      return session ?? null;
    });
  }

  /**
   * Newest first (ties broken by id, descending). `before` is an ISO time (sessions created
   * strictly before it) or a session id (sessions after that one in this order). Runs are
   * oldest first.
   */
  async listSessions(options: { limit: number; before?: string }): Promise<StoredSession[]> {
    checkLimit(options.limit);
    if (options.limit === 0) return [];
    return this.#run('listSessions', null, async () => {
      const query = this.dataSource
        .getRepository(SessionEntity)
        .createQueryBuilder('s')
        .orderBy('s.createdAt', 'DESC')
        .addOrderBy('s.sessionId', 'DESC')
        .limit(options.limit);
      const before = options.before;
      if (before !== undefined && ISO_PREFIX.test(before) && !Number.isNaN(Date.parse(before))) {
        query.where('s.createdAt < :before', { before: new Date(before).toISOString() });
      } else if (before !== undefined) {
        const cursor = await this.dataSource
          .getRepository(SessionEntity)
          .findOneBy({ sessionId: before });
        if (cursor === null) throw invalidParams('before', 'an ISO time or a stored session id');
        query.where(
          new Brackets((where) => {
            where
              .where('s.createdAt < :at', { at: cursor.createdAt })
              .orWhere('(s.createdAt = :at AND s.sessionId < :id)', { id: cursor.sessionId });
          }),
        );
      }
      return this.#withRuns(await query.getMany());
    });
  }

  async #withRuns(rows: SessionEntity[]): Promise<StoredSession[]> {
    if (rows.length === 0) return [];
    const runs = await this.dataSource.getRepository(RunEntity).find({
      where: { sessionId: In(rows.map((row) => row.sessionId)) },
      order: { startedAt: 'ASC', runId: 'ASC' },
    });
    const runsBySession = new Map<string, StoredRun[]>();
    for (const run of runs) {
      const list = runsBySession.get(run.sessionId) ?? [];
      list.push(toStoredRun(run));
      runsBySession.set(run.sessionId, list);
    }
    return rows.map((row) => ({
      sessionId: row.sessionId,
      title: row.title,
      cwd: row.cwd,
      createdAt: fromIso(row.createdAt),
      runs: runsBySession.get(row.sessionId) ?? [],
    }));
  }

  async startRun(run: {
    runId: string;
    sessionId: string;
    instanceId: string;
    startedAt: Date;
  }): Promise<void> {
    const startedAt = toIso(run.startedAt, 'startedAt');
    await this.#run('startRun', run.sessionId, async () => {
      await this.dataSource.getRepository(RunEntity).insert({
        runId: run.runId,
        sessionId: run.sessionId,
        instanceId: run.instanceId,
        startedAt,
        endedAt: null,
        endReason: null,
        exitStatuses: null,
      });
    });
  }

  /** Exactly once: the UPDATE only matches a run without an end, so the first end wins. */
  async endRun(end: RunEnd): Promise<void> {
    const endedAt = toIso(end.endedAt, 'endedAt');
    await this.#run('endRun', null, async () => {
      const result = await this.dataSource.getRepository(RunEntity).update(
        { runId: end.runId, endedAt: IsNull() },
        {
          endedAt,
          endReason: end.endReason,
          exitStatuses: end.exitStatuses === undefined ? null : JSON.stringify(end.exitStatuses),
        },
      );
      if (result.affected === 0) {
        this.#logger?.debug({ runId: end.runId, reason: end.endReason }, 'run already ended');
      }
    });
  }

  async listOpenRuns(instanceId?: string): Promise<StoredRun[]> {
    return this.#run('listOpenRuns', null, async () => {
      const where: FindOptionsWhere<RunEntity> = { endedAt: IsNull() };
      if (instanceId !== undefined) where.instanceId = instanceId;
      const rows = await this.dataSource.getRepository(RunEntity).find({
        where,
        order: { startedAt: 'ASC', runId: 'ASC' },
      });
      return rows.map(toStoredRun);
    });
  }

  async startTurn(turn: {
    turnId: string;
    sessionId: string;
    runId: string;
    text: string;
    startedAt: Date;
  }): Promise<void> {
    const startedAt = toIso(turn.startedAt, 'startedAt');
    await this.#run('startTurn', turn.sessionId, async () => {
      await this.dataSource.getRepository(TurnEntity).insert({
        ...turn,
        startedAt,
        output: '',
        exitCode: null,
        signal: null,
        endedAt: null,
      });
    });
  }

  /** Like `endRun`, the first end of a turn wins; later calls change nothing. */
  async endTurn(turn: {
    turnId: string;
    output: string;
    exitCode: number | null;
    signal: string | null;
    endedAt: Date;
  }): Promise<void> {
    const endedAt = toIso(turn.endedAt, 'endedAt');
    await this.#run('endTurn', null, async () => {
      await this.dataSource
        .getRepository(TurnEntity)
        .update(
          { turnId: turn.turnId, endedAt: IsNull() },
          { output: turn.output, exitCode: turn.exitCode, signal: turn.signal, endedAt },
        );
    });
  }

  async listTurns(sessionId: string, limit: number): Promise<StoredTurn[]> {
    checkLimit(limit);
    if (limit === 0) return [];
    return this.#run('listTurns', sessionId, async () => {
      const newestFirst = await this.dataSource.getRepository(TurnEntity).find({
        where: { sessionId },
        order: { startedAt: 'DESC', turnId: 'DESC' },
        take: limit,
      });
      return newestFirst.reverse().map(toStoredTurn);
    });
  }

  /** Idempotent: recording the same (instance, pid, start time) twice keeps one row. */
  async recordProcess(process: StoredProcess): Promise<void> {
    if (!Number.isSafeInteger(process.startTime) || process.startTime < 0) {
      throw invalidParams('startTime', 'a non-negative integer');
    }
    await this.#run('recordProcess', process.sessionId, async () => {
      await this.dataSource
        .createQueryBuilder()
        .insert()
        .into(ProcessEntity)
        .values({ ...process })
        .orIgnore()
        .execute();
    });
  }

  async listProcesses(filter: {
    instanceId?: string;
    exceptInstanceId?: string;
  }): Promise<StoredProcess[]> {
    return this.#run('listProcesses', null, async () => {
      const where: FindOptionsWhere<ProcessEntity> = {};
      if (filter.instanceId !== undefined) where.instanceId = filter.instanceId;
      if (filter.exceptInstanceId !== undefined) {
        where.instanceId =
          filter.instanceId === undefined
            ? Not(filter.exceptInstanceId)
            : // Both given: the one instance, unless it is the excluded one.
              filter.instanceId === filter.exceptInstanceId
              ? In([])
              : filter.instanceId;
      }
      const rows = await this.dataSource.getRepository(ProcessEntity).find({
        where,
        order: { id: 'ASC' },
      });
      return rows.map(toStoredProcess);
    });
  }

  async forgetProcesses(filter: { instanceId: string }): Promise<void> {
    await this.#run('forgetProcesses', null, async () => {
      await this.dataSource.getRepository(ProcessEntity).delete({ instanceId: filter.instanceId });
    });
  }

  /** Idempotent; later calls on the store reject with `TETHER_STORE_UNAVAILABLE`. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (!this.dataSource.isInitialized) return;
    try {
      await this.dataSource.destroy();
    } catch (error) {
      throw toStoreError(error, 'close');
    }
    this.#logger?.info({ sessionId: null, kind: this.kind }, 'store closed');
  }
}
