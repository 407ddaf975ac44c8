import type { Clock, TimerHandle } from './clock.js';
import type { Outbox } from './outbox.js';
import { deprioritize, pacedWake, type ReapResult } from './proc.js';
import type { LiveSession } from './session.js';
import type { ExitStatus, Logger, SessionStore, TeardownReason } from './types.js';

export interface TeardownResult {
  sessionId: string;
  runId: string;
  /** The first reason given; later triggers share this result. */
  reason: TeardownReason;
  durationMs: number;
  terminal: ExitStatus | null;
  worker: ExitStatus | null;
  /** Pids that were still found after the session sweep (should be empty). */
  survivors: number[];
  /** False when the store was unreachable: the run's end waits in the outbox. */
  isPersisted: boolean;
}

export interface TeardownDeps {
  clock: Clock;
  logger: Logger;
  store: SessionStore;
  outbox: Outbox;
  killGraceMs: number;
  persistWaitMs: number;
  sweep: (sessionId: string) => Promise<ReapResult>;
  notifyClosed: (result: TeardownResult) => void;
}

/**
 * Steps 3–6 of the funnel (DESIGN.md §3); the registry has already claimed and fenced the
 * session. Reaping comes before persisting and never waits on the store.
 */
export async function runTeardown(
  session: LiveSession,
  reason: TeardownReason,
  deps: TeardownDeps,
): Promise<TeardownResult> {
  const startedMs = deps.clock.now();
  const log = deps.logger.child({ sessionId: session.id, runId: session.runId });
  log.info({ reason, state: 'closing' }, 'session closing');

  // A running turn is interrupted first, so its clients see it end (turn.end) before they
  // are told the session closed; then they are dropped (their sends become no-ops).
  await endRunningTurn(session, deps, log);
  session.emit('session.closed', { reason });
  session.attachments.clear();

  // A spawn still in flight re-checks the session after its await and reaps what it made;
  // wait for it so the sweep below cannot run before its process exists.
  await Promise.allSettled([...session.pendingSpawns]);

  const reapStartedMs = deps.clock.now();
  const [terminal, worker] = await Promise.all([
    session.terminal ? session.terminal.kill().catch(() => null) : Promise.resolve(null),
    closeWorker(session, log),
  ]);
  const sweepStartedMs = deps.clock.now();
  const sweep = await deps.sweep(session.id).catch((error: unknown) => {
    log.error({ err: error }, 'session sweep failed');
    return { signalled: [], killed: [], survivors: [] } satisfies ReapResult;
  });
  session.state = 'closed';

  const persistStartedMs = deps.clock.now();
  const endedAt = deps.clock.wallNow();
  const turn = session.running;
  if (turn) {
    session.running = null;
    void deps.outbox.enqueue(`endTurn ${turn.turnId}`, () =>
      deps.store.endTurn({
        turnId: turn.turnId,
        output: turn.output.join(''),
        exitCode: null,
        signal: worker?.signal ?? 'SIGKILL',
        endedAt,
      }),
    );
  }
  const written = deps.outbox.enqueue(`endRun ${session.runId}`, () =>
    deps.store.endRun({
      runId: session.runId,
      endedAt,
      endReason: reason,
      exitStatuses: { terminal, worker },
    }),
  );
  const isPersisted = await Promise.race([
    written,
    new Promise<boolean>((resolve) =>
      deps.clock.setTimeout(() => resolve(false), deps.persistWaitMs),
    ),
  ]);

  const result: TeardownResult = {
    sessionId: session.id,
    runId: session.runId,
    reason,
    durationMs: Math.round(deps.clock.now() - startedMs),
    terminal,
    worker,
    survivors: sweep.survivors,
    isPersisted,
  };
  log.info(
    {
      reason,
      durationMs: result.durationMs,
      // Where the time went: waiting for spawns, killing, the marker sweep, the store write.
      stepsMs: {
        spawns: Math.round(reapStartedMs - startedMs),
        kill: Math.round(sweepStartedMs - reapStartedMs),
        sweep: Math.round(persistStartedMs - sweepStartedMs),
        persist: Math.round(deps.clock.now() - persistStartedMs),
      },
      terminalPid: session.terminal?.pid,
      terminalExit: terminal,
      workerPid: session.worker?.pid,
      workerExit: worker,
      sweptPids: sweep.signalled,
      survivors: sweep.survivors,
      isPersisted,
    },
    'session closed',
  );
  deps.notifyClosed(result);
  return result;
}

/**
 * Interrupts the running turn, waiting at most one kill step for the worker to report its end.
 * A turn that does not end in time is reported ended here (killed: the worker's close below
 * takes its processes down); the store write for it happens with the run's end.
 */
async function endRunningTurn(
  session: LiveSession,
  deps: TeardownDeps,
  log: Logger,
): Promise<void> {
  const turn = session.running;
  if (!turn) return;
  const worker = session.worker;
  if (worker) {
    let timer: TimerHandle | undefined;
    // Paced like every wake-up of a dying process (see pacedWake): hundreds of sessions
    // closing mid-turn must not wake hundreds of workers at once. The worker's close below
    // reaps the turn's leftovers, so the worker need not walk /proc for them itself.
    // A worker that exited meanwhile is no longer the session's, and its pid may be reused.
    const interrupted = pacedWake(() => {
      if (session.worker === worker) deprioritize(worker.pid);
    }).then(() => worker.interrupt({ leftoversReapedByCaller: true }));
    await Promise.race([
      interrupted.catch((error: unknown) => {
        log.warn({ err: error }, 'interrupting the running turn failed; closing the worker anyway');
      }),
      new Promise(
        (resolve) => (timer = deps.clock.setTimeout(() => resolve(undefined), deps.killGraceMs)),
      ),
    ]);
    timer?.cancel();
  }
  if (session.running !== turn) return;
  session.emit('turn.end', {
    turn_id: turn.turnId,
    exit_code: null,
    signal: 'SIGKILL',
    duration_ms: Math.round(deps.clock.now() - turn.startedMs),
  });
}

async function closeWorker(session: LiveSession, log: Logger): Promise<ExitStatus | null> {
  const worker = session.worker;
  if (!worker) return null;
  return worker.close().catch((error: unknown) => {
    log.error({ err: error }, 'worker close failed');
    return null;
  });
}
