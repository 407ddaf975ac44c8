import { TetherError } from './errors.js';
import type {
  RunEnd,
  SessionStore,
  StoredProcess,
  StoredRun,
  StoredSession,
  StoredTurn,
} from './types.js';

/**
 * A `SessionStore` kept in memory: for embedding without a database and for tests that inject
 * store faults (`isUnavailable`). Same semantics as the SQL store, `endRun` exactly-once included.
 */
export class MemorySessionStore implements SessionStore {
  isUnavailable = false;
  readonly sessions = new Map<string, Omit<StoredSession, 'runs'>>();
  readonly runs = new Map<string, StoredRun>();
  readonly turns = new Map<string, StoredTurn>();
  readonly processes: StoredProcess[] = [];
  endRunWrites = 0;

  private check(): void {
    if (this.isUnavailable)
      throw new TetherError('TETHER_STORE_UNAVAILABLE', 'store unavailable (injected)');
  }

  async createSession(session: {
    sessionId: string;
    title: string;
    cwd: string;
    createdAt: Date;
  }): Promise<void> {
    this.check();
    if (!this.sessions.has(session.sessionId)) this.sessions.set(session.sessionId, { ...session });
  }

  async setTitle(sessionId: string, title: string): Promise<void> {
    this.check();
    const session = this.sessions.get(sessionId);
    if (session) session.title = title;
  }

  async getSession(sessionId: string): Promise<StoredSession | null> {
    this.check();
    const session = this.sessions.get(sessionId);
    return session ? { ...session, runs: this.runsOf(sessionId) } : null;
  }

  async listSessions(options: { limit: number; before?: string }): Promise<StoredSession[]> {
    this.check();
    const before = options.before ? new Date(options.before).getTime() : Infinity;
    return [...this.sessions.values()]
      .filter((session) => session.createdAt.getTime() < before)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, options.limit)
      .map((session) => ({ ...session, runs: this.runsOf(session.sessionId) }));
  }

  async startRun(run: {
    runId: string;
    sessionId: string;
    instanceId: string;
    startedAt: Date;
  }): Promise<void> {
    this.check();
    this.runs.set(run.runId, { ...run, endedAt: null, endReason: null });
  }

  async endRun(end: RunEnd): Promise<void> {
    this.check();
    const run = this.runs.get(end.runId);
    if (!run || run.endedAt) return;
    run.endedAt = end.endedAt;
    run.endReason = end.endReason;
    this.endRunWrites += 1;
  }

  async listOpenRuns(instanceId?: string): Promise<StoredRun[]> {
    this.check();
    return [...this.runs.values()].filter(
      (run) => run.endedAt === null && (instanceId === undefined || run.instanceId === instanceId),
    );
  }

  async startTurn(turn: {
    turnId: string;
    sessionId: string;
    runId: string;
    text: string;
    startedAt: Date;
  }) {
    this.check();
    this.turns.set(turn.turnId, {
      ...turn,
      output: '',
      exitCode: null,
      signal: null,
      endedAt: null,
    });
  }

  async endTurn(turn: {
    turnId: string;
    output: string;
    exitCode: number | null;
    signal: string | null;
    endedAt: Date;
  }) {
    this.check();
    const stored = this.turns.get(turn.turnId);
    if (stored && !stored.endedAt) Object.assign(stored, turn);
  }

  async listTurns(sessionId: string, limit: number): Promise<StoredTurn[]> {
    this.check();
    const all = [...this.turns.values()].filter((turn) => turn.sessionId === sessionId);
    return all.slice(Math.max(0, all.length - limit));
  }

  async recordProcess(process: StoredProcess): Promise<void> {
    this.check();
    this.processes.push({ ...process });
  }

  async listProcesses(filter: {
    instanceId?: string;
    exceptInstanceId?: string;
  }): Promise<StoredProcess[]> {
    this.check();
    return this.processes.filter(
      (p) =>
        (filter.instanceId === undefined || p.instanceId === filter.instanceId) &&
        (filter.exceptInstanceId === undefined || p.instanceId !== filter.exceptInstanceId),
    );
  }

  async forgetProcesses(filter: { instanceId: string }): Promise<void> {
    this.check();
    for (let i = this.processes.length - 1; i >= 0; i -= 1) {
      if (this.processes[i]?.instanceId === filter.instanceId) this.processes.splice(i, 1);
    }
  }

  async close(): Promise<void> {}

  private runsOf(sessionId: string): StoredRun[] {
    return [...this.runs.values()].filter((run) => run.sessionId === sessionId);
  }
}
