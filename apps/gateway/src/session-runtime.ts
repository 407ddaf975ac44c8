import { randomUUID } from 'node:crypto';
import {
  INSTANCE_MARKER_ENV,
  SESSION_MARKER_ENV,
  TetherError,
  readProcStat,
  type ExitStatus,
  type LiveSession,
  type Logger,
  type SessionRegistry,
  type SessionStore,
  type SpawnTerminal,
  type SpawnWorker,
  type TerminalProcess,
  type WorkerHandle,
} from '@tether/core';
import type { GatewayMetrics } from './metrics.js';

export interface RuntimeSettings {
  instanceId: string;
  plugins: string[];
  workerTimeoutMs: number;
  watchdogPollMs: number;
  watchdogGraceMs: number;
  killGraceMs: number;
  replayBytes: number;
  /** Worker restarts allowed per window before the session stops respawning. */
  maxRestarts: number;
  restartWindowMs: number;
}

/** Most of a turn's output kept for the transcript; the stream to clients is never cut. */
const MAX_STORED_TURN_OUTPUT_BYTES = 256 * 1024;

/** Variables a child must not inherit from the gateway. */
const PRIVATE_ENV = ['TETHER_TOKEN', 'TETHER_DB_URL'];

/**
 * Spawns and wires a session's worker and terminal. Every spawn goes through the registry's
 * guard (`spawnGuarded`), so a close racing a spawn reaps what was spawned; nothing here
 * ends a session — only the funnel does.
 */
export class SessionRuntime {
  private readonly restarts = new WeakMap<LiveSession, number[]>();
  private readonly workerStarts = new WeakMap<LiveSession, Promise<WorkerHandle>>();
  private readonly unconfirmedTurns = new Map<string, Array<() => void>>();
  isShuttingDown = false;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly store: SessionStore,
    private readonly spawnWorker: SpawnWorker,
    private readonly spawnTerminal: SpawnTerminal,
    private readonly settings: RuntimeSettings,
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  childEnv(session: LiveSession): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !PRIVATE_ENV.includes(key)) env[key] = value;
    }
    env[SESSION_MARKER_ENV] = session.id;
    env[INSTANCE_MARKER_ENV] = this.settings.instanceId;
    return env;
  }

  /** The session's worker, spawned on first use (and after a crash, within the restart limit). */
  ensureWorker(session: LiveSession): Promise<WorkerHandle> {
    if (session.worker) return Promise.resolve(session.worker);
    const starting = this.workerStarts.get(session);
    if (starting) return starting;
    if (this.isShuttingDown) return Promise.reject(this.closingError(session));
    const restarts = this.restarts.get(session) ?? [];
    if (restarts.length > this.settings.maxRestarts) {
      return Promise.reject(
        new TetherError(
          'TETHER_WORKER_FAILED',
          'worker keeps crashing; this session no longer respawns it',
          {
            restarts: restarts.length,
          },
        ),
      );
    }

    const start = this.registry
      .spawnGuarded(
        session,
        'worker',
        () =>
          this.spawnWorker({
            sessionId: session.id,
            instanceId: this.settings.instanceId,
            cwd: session.cwd,
            env: this.childEnv(session),
            plugins: this.settings.plugins,
            requestTimeoutMs: this.settings.workerTimeoutMs,
            watchdogPollMs: this.settings.watchdogPollMs,
            watchdogGraceMs: this.settings.watchdogGraceMs,
            killGraceMs: this.settings.killGraceMs,
          }),
        (worker) => worker.close(),
      )
      .then((worker) => {
        session.worker = worker;
        this.wireWorker(session, worker);
        this.recordProcess(session, worker.pid, 'worker');
        return worker;
      })
      .finally(() => this.workerStarts.delete(session));
    this.workerStarts.set(session, start);
    return start;
  }

  async openTerminal(
    session: LiveSession,
    size: { cols: number; rows: number },
    command: string[] | undefined,
  ): Promise<TerminalProcess> {
    if (session.terminal && !session.terminal.exitStatus) return session.terminal;
    if (this.isShuttingDown) throw this.closingError(session);
    const terminal = await this.registry.spawnGuarded(
      session,
      'terminal',
      () =>
        this.spawnTerminal({
          cols: size.cols,
          rows: size.rows,
          ...(command ? { command } : {}),
          cwd: session.cwd,
          env: this.childEnv(session),
          replayBytes: this.settings.replayBytes,
          killGraceMs: this.settings.killGraceMs,
        }),
      (spawned) => spawned.kill(),
    );
    session.terminal = terminal;
    this.recordProcess(session, terminal.pid, 'pty');
    terminal.onData((chunk) => {
      this.registry.touch(session, false);
      for (const { attachment } of session.attachments.values()) {
        if (attachment.transport !== 'stdio') continue;
        attachment.notify({
          type: 'pty.data',
          session_id: session.id,
          payload: { offset: chunk.offset, data: chunk.data.toString('base64') },
        });
      }
    });
    terminal.onExit((status) => {
      this.logger.info(
        { sessionId: session.id, terminalPid: terminal.pid, ...statusFields(status) },
        'terminal exited',
      );
      if (session.isClosing) return;
      session.emit('pty.exit', { exit_code: status.exitCode, signal: status.signal });
      this.registry.emitStatus(session);
    });
    this.registry.emitStatus(session);
    return terminal;
  }

  async submitPrompt(session: LiveSession, text: string): Promise<string> {
    if (session.running)
      throw new TetherError('TETHER_SESSION_BUSY', 'a turn is already running in this session');
    const worker = await this.ensureWorker(session);
    if (session.running)
      throw new TetherError('TETHER_SESSION_BUSY', 'a turn is already running in this session');

    const turnId = randomUUID();
    this.registry.beginTurn(session, turnId, text);
    const startedAt = session.running!.startedAt;
    // Until the worker confirms the turn, its output and end are held back: a turn that never
    // starts (unknown agent, worker gone) produces no turn events at all, and one that does
    // always shows turn.start first.
    const heldBack: Array<() => void> = [];
    this.unconfirmedTurns.set(turnId, heldBack);
    try {
      await worker.startTurn({ turnId, text, agent: session.agent });
    } catch (error) {
      this.unconfirmedTurns.delete(turnId);
      // (A cast: TypeScript narrowed `running` to null before beginTurn set it.)
      const running = session.running as { turnId: string } | null;
      if (running?.turnId === turnId) this.registry.endTurn(session);
      throw error;
    }
    this.unconfirmedTurns.delete(turnId);
    void this.registry.outbox.enqueue(`startTurn ${turnId}`, () =>
      this.store.startTurn({
        turnId,
        sessionId: session.id,
        runId: session.runId,
        text,
        startedAt,
      }),
    );
    session.emit('turn.start', { turn_id: turnId, text });
    for (const release of heldBack) release();
    return turnId;
  }

  /** Runs a worker event now, or once its turn is confirmed (see `submitPrompt`). */
  private whenConfirmed(turnId: string, action: () => void): void {
    const heldBack = this.unconfirmedTurns.get(turnId);
    if (heldBack) heldBack.push(action);
    else action();
  }

  private wireWorker(session: LiveSession, worker: WorkerHandle): void {
    worker.onTurnOutput((turnId, data) =>
      this.whenConfirmed(turnId, () => this.onTurnOutput(session, turnId, data)),
    );
    worker.onTurnEnd((end) => this.whenConfirmed(end.turnId, () => this.finishTurn(session, end)));
    worker.onExit((status) => this.onWorkerExit(session, worker, status));
  }

  private onTurnOutput(session: LiveSession, turnId: string, data: string): void {
    const turn = session.running;
    if (!turn || turn.turnId !== turnId) return;
    if (turn.outputBytes < MAX_STORED_TURN_OUTPUT_BYTES) {
      turn.output.push(data);
      turn.outputBytes += Buffer.byteLength(data);
    }
    this.registry.touch(session, false);
    session.emit('turn.output', { turn_id: turnId, data });
  }

  private finishTurn(
    session: LiveSession,
    end: { turnId: string; exitCode: number | null; signal: string | null; durationMs: number },
  ): void {
    const turn = session.running;
    if (!turn || turn.turnId !== end.turnId) return;
    const output = turn.output.join('');
    void this.registry.outbox.enqueue(`endTurn ${end.turnId}`, () =>
      this.store.endTurn({
        turnId: end.turnId,
        output,
        exitCode: end.exitCode,
        signal: end.signal,
        endedAt: new Date(),
      }),
    );
    session.emit('turn.end', {
      turn_id: end.turnId,
      exit_code: end.exitCode,
      signal: end.signal,
      duration_ms: end.durationMs,
    });
    this.registry.endTurn(session);
  }

  private onWorkerExit(session: LiveSession, worker: WorkerHandle, status: ExitStatus): void {
    if (session.worker === worker) session.worker = null;
    if (session.isClosing || this.isShuttingDown) return;

    const nowMs = performance.now();
    const recent = (this.restarts.get(session) ?? []).filter(
      (at) => nowMs - at < this.settings.restartWindowMs,
    );
    recent.push(nowMs);
    this.restarts.set(session, recent);
    const isRestarting = recent.length <= this.settings.maxRestarts;
    this.logger.warn(
      {
        sessionId: session.id,
        workerPid: worker.pid,
        ...statusFields(status),
        restarting: isRestarting,
      },
      'worker exited unexpectedly',
    );
    if (session.running) {
      this.finishTurn(session, {
        turnId: session.running.turnId,
        exitCode: status.exitCode,
        signal: status.signal,
        durationMs: Math.round(nowMs - session.running.startedMs),
      });
    }
    session.emit('worker.exit', {
      exit_code: status.exitCode,
      signal: status.signal,
      restarting: isRestarting,
    });
    if (!isRestarting) {
      session.emit('warning', {
        code: 'TETHER_WORKER_RESTART_LIMIT',
        message:
          `worker crashed ${recent.length} times within ` +
          `${this.settings.restartWindowMs / 1000} s; not respawning`,
      });
    }
  }

  private recordProcess(session: LiveSession, pid: number, kind: 'pty' | 'worker'): void {
    this.metrics.spawned.inc({ kind });
    void readProcStat(pid).then((stat) => {
      if (!stat) return;
      void this.registry.outbox.enqueue(`recordProcess ${pid}`, () =>
        this.store.recordProcess({
          pid,
          startTime: stat.startTime,
          kind,
          sessionId: session.id,
          runId: session.runId,
          instanceId: this.settings.instanceId,
        }),
      );
    });
  }

  private closingError(session: LiveSession): TetherError {
    return new TetherError('TETHER_SESSION_NOT_FOUND', `session ${session.id} is closing`, {
      session_id: session.id,
    });
  }
}

export function statusFields(status: ExitStatus | null): {
  exitCode?: number | null;
  signal?: string | null;
} {
  return status ? { exitCode: status.exitCode, signal: status.signal } : {};
}
