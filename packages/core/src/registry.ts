import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from './clock.js';
import { TetherError } from './errors.js';
import { Outbox } from './outbox.js';
import { reapProcesses, type ReapResult } from './proc.js';
import { LiveSession, type Attachment } from './session.js';
import { runTeardown, type TeardownResult } from './teardown.js';
import {
  SESSION_MARKER_ENV,
  type Logger,
  type SessionStore,
  type TeardownReason,
} from './types.js';

export interface RegistryLimits {
  maxSessions: number;
  /** 0 parks a detached session until the idle TTL. */
  graceMs: number;
  idleTtlMs: number;
  busyCapMs: number;
  reapIntervalMs: number;
  killGraceMs: number;
  replayEvents: number;
  /** How long a teardown waits for its store write before answering (the write goes on). */
  persistWaitMs?: number;
}

export interface RegistryOptions {
  instanceId: string;
  clock: Clock;
  logger: Logger;
  store: SessionStore;
  limits: RegistryLimits;
  /** Finds and kills every process carrying the session marker. Injectable for fault tests. */
  sweepSessionProcesses?: (sessionId: string) => Promise<ReapResult>;
}

export interface CreateSessionInput {
  title?: string;
  cwd: string;
  agent: string;
  closeOnDisconnect: boolean;
  /** Set for `session.resume`: the stored session gets a new run. */
  resume?: { sessionId: string; title: string; createdAt: Date };
}

export interface CloseClaim {
  /** True for the one caller whose request started the teardown. */
  isFirstClaim: boolean;
  done: Promise<TeardownResult>;
}

type ClosedListener = (session: LiveSession, result: TeardownResult) => void;

/**
 * The live sessions of one gateway and the one funnel that ends them. `requestClose` claims a
 * session synchronously — it leaves the map in the same tick — so every later trigger finds
 * the claim and shares its result instead of starting a second teardown.
 */
export class SessionRegistry {
  readonly instanceId: string;
  readonly outbox: Outbox;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly closing = new Map<string, Promise<TeardownResult>>();
  private readonly closedListeners = new Set<ClosedListener>();
  private reaperTimer: TimerHandle | null = null;

  constructor(private readonly options: RegistryOptions) {
    this.instanceId = options.instanceId;
    this.outbox = new Outbox(options.clock, options.logger);
  }

  get size(): number {
    return this.sessions.size;
  }

  get closingCount(): number {
    return this.closing.size;
  }

  get limits(): RegistryLimits {
    return this.options.limits;
  }

  get(sessionId: string): LiveSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** The live session, or 4001 — closing and closed sessions are not found. */
  require(sessionId: string): LiveSession {
    const session = this.sessions.get(sessionId);
    if (!session) {
      throw new TetherError(
        'TETHER_SESSION_NOT_FOUND',
        `session ${sessionId} not found or already closed`,
        {
          session_id: sessionId,
        },
      );
    }
    return session;
  }

  /** Attachable sessions, oldest first (the map keeps creation order). */
  list(): LiveSession[] {
    return [...this.sessions.values()];
  }

  onClosed(listener: ClosedListener): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  create(input: CreateSessionInput): LiveSession {
    this.admitOne();
    const { clock } = this.options;
    const now = clock.wallNow();
    const sessionId = input.resume?.sessionId ?? randomUUID();
    const session = new LiveSession({
      sessionId,
      runId: randomUUID(),
      title: input.resume?.title ?? input.title ?? 'untitled',
      cwd: input.cwd,
      agent: input.agent,
      closeOnDisconnect: input.closeOnDisconnect,
      createdAt: input.resume?.createdAt ?? now,
      nowMs: clock.now(),
      now,
      replayEvents: this.options.limits.replayEvents,
    });
    this.sessions.set(sessionId, session);

    const { store } = this.options;
    if (!input.resume) {
      void this.outbox.enqueue(`createSession ${sessionId}`, () =>
        store.createSession({
          sessionId,
          title: session.title,
          cwd: session.cwd,
          createdAt: session.createdAt,
        }),
      );
    }
    void this.outbox.enqueue(`startRun ${session.runId}`, () =>
      store.startRun({
        runId: session.runId,
        sessionId,
        instanceId: this.instanceId,
        startedAt: now,
      }),
    );
    this.options.logger.info(
      { sessionId, runId: session.runId, state: 'starting' },
      'session created',
    );
    return session;
  }

  /** Ends `starting`: the session is live (or detached if nobody is attached any more). */
  markStarted(session: LiveSession): void {
    if (session.state !== 'starting') return;
    session.state = session.attachments.size > 0 ? 'live' : 'detached';
    this.options.logger.info({ sessionId: session.id, state: session.state }, 'session started');
    if (session.state === 'detached') this.onLastDetach(session);
    this.emitStatus(session);
  }

  attach(session: LiveSession, attachment: Attachment): void {
    if (session.isClosing) throw this.closingError(session);
    session.epoch += 1;
    session.attachments.set(attachment.id, { attachment, epoch: session.epoch });
    session.graceTimer?.cancel();
    session.graceTimer = null;
    if (session.state === 'detached') {
      session.state = 'live';
      this.options.logger.info(
        { sessionId: session.id, state: 'live', epoch: session.epoch },
        'session re-attached',
      );
    }
    this.emitStatus(session);
  }

  /** The attachment is gone (detach, clean close or a dead socket). Unknown ids change nothing. */
  detach(sessionId: string, attachmentId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session || !session.attachments.delete(attachmentId)) return;
    if (session.attachments.size > 0) {
      this.emitStatus(session);
      return;
    }
    if (session.state === 'starting') return;
    session.state = 'detached';
    this.options.logger.info({ sessionId, state: 'detached' }, 'session detached');
    this.emitStatus(session);
    this.onLastDetach(session);
  }

  /**
   * Runs a spawn for a session and re-checks, after the await, that the registry still holds
   * this very session and that it is not closing; otherwise what was spawned is reaped at once
   * and the caller gets 4001. The funnel waits for spawns in flight, so none can slip past it.
   */
  async spawnGuarded<T>(
    session: LiveSession,
    label: string,
    spawn: () => Promise<T>,
    reap: (spawned: T) => Promise<unknown>,
  ): Promise<T> {
    if (!this.isCurrent(session)) throw this.closingError(session);
    const attempt = (async () => {
      const spawned = await spawn();
      if (this.isCurrent(session)) return spawned;
      this.options.logger.warn(
        { sessionId: session.id, spawn: label },
        'session closed during spawn; reaping',
      );
      await reap(spawned).catch((error: unknown) => {
        this.options.logger.error(
          { sessionId: session.id, spawn: label, err: error },
          'reap after spawn failed',
        );
      });
      throw this.closingError(session);
    })();
    session.pendingSpawns.add(attempt);
    try {
      return await attempt;
    } finally {
      session.pendingSpawns.delete(attempt);
    }
  }

  isCurrent(session: LiveSession): boolean {
    return this.sessions.get(session.id) === session && !session.isClosing;
  }

  beginTurn(session: LiveSession, turnId: string, text: string): void {
    const { clock } = this.options;
    session.running = {
      turnId,
      text,
      startedMs: clock.now(),
      startedAt: clock.wallNow(),
      output: [],
      outputBytes: 0,
    };
    session.touch(clock.now(), clock.wallNow());
    this.emitStatus(session);
  }

  /** A turn ended: its idle clock restarts, and a detached session's grace starts again. */
  endTurn(session: LiveSession): void {
    const { clock } = this.options;
    session.running = null;
    session.touch(clock.now(), clock.wallNow(), false);
    if (session.isClosing) return;
    this.emitStatus(session);
    if (session.attachments.size === 0 && session.state === 'detached') this.onLastDetach(session);
  }

  /** User activity on the session (input, an RPC acting on it). */
  touch(session: LiveSession, isInput = true): void {
    const { clock } = this.options;
    session.touch(clock.now(), clock.wallNow(), isInput);
  }

  emitStatus(session: LiveSession): void {
    if (session.isClosing) return;
    session.emit('session.status', { session: session.view() });
  }

  /**
   * The funnel's entry. Synchronous claim: the first caller removes the session and starts
   * the teardown; every other caller, concurrent or later (while it runs), gets the same
   * promise. Returns null when the id is neither live nor closing.
   */
  requestClose(sessionId: string, reason: TeardownReason): CloseClaim | null {
    const inFlight = this.closing.get(sessionId);
    if (inFlight) return { isFirstClaim: false, done: inFlight };
    const session = this.sessions.get(sessionId);
    if (!session) return null;

    this.sessions.delete(sessionId);
    session.state = 'closing';
    session.closeReason = reason;
    session.epoch += 1;
    session.graceTimer?.cancel();
    session.graceTimer = null;

    const done = runTeardown(session, reason, {
      clock: this.options.clock,
      logger: this.options.logger,
      store: this.options.store,
      outbox: this.outbox,
      killGraceMs: this.options.limits.killGraceMs,
      persistWaitMs: this.options.limits.persistWaitMs ?? 2000,
      sweep: this.options.sweepSessionProcesses ?? ((id) => this.sweepByMarker(id)),
      notifyClosed: (result) => {
        for (const listener of this.closedListeners) listener(session, result);
      },
    }).finally(() => this.closing.delete(sessionId));
    this.closing.set(sessionId, done);
    return { isFirstClaim: true, done };
  }

  async closeSession(sessionId: string, reason: TeardownReason): Promise<TeardownResult | null> {
    return this.requestClose(sessionId, reason)?.done ?? null;
  }

  /** Closes every live session with one reason and waits for every teardown in flight. */
  async closeAll(reason: TeardownReason): Promise<TeardownResult[]> {
    for (const id of [...this.sessions.keys()]) this.requestClose(id, reason);
    return Promise.all([...this.closing.values()]);
  }

  startReapers(): void {
    if (this.reaperTimer) return;
    this.reaperTimer = this.options.clock.setInterval(
      () => this.sweep(),
      this.options.limits.reapIntervalMs,
    );
  }

  stopReapers(): void {
    this.reaperTimer?.cancel();
    this.reaperTimer = null;
    for (const session of this.sessions.values()) {
      session.graceTimer?.cancel();
      session.graceTimer = null;
    }
  }

  /** One pass of the idle and busy reapers (also run by the interval). */
  sweep(): void {
    const { clock } = this.options;
    const { idleTtlMs, busyCapMs } = this.options.limits;
    const nowMs = clock.now();
    for (const session of [...this.sessions.values()]) {
      if (session.state === 'starting') continue;
      if (session.running) {
        const runMs = nowMs - session.running.startedMs;
        const isUnwatched =
          session.attachments.size === 0 || nowMs - session.lastInputMs >= busyCapMs;
        if (runMs >= busyCapMs && isUnwatched) this.requestClose(session.id, 'busy_cap');
        continue;
      }
      if (session.hasStdioAttachment) continue;
      if (nowMs - session.lastActiveMs >= idleTtlMs) this.requestClose(session.id, 'idle_ttl');
    }
  }

  private onLastDetach(session: LiveSession): void {
    if (session.closeOnDisconnect) {
      this.requestClose(session.id, 'disconnect');
      return;
    }
    const { graceMs } = this.options.limits;
    if (graceMs <= 0 || session.graceTimer) return;
    const epochAtDetach = session.epoch;
    session.graceTimer = this.options.clock.setTimeout(() => {
      session.graceTimer = null;
      // A timer that fires anyway after a re-attach must not act: re-check epoch and state.
      if (!this.isCurrent(session) || session.epoch !== epochAtDetach) return;
      if (session.attachments.size > 0 || session.state !== 'detached') return;
      if (session.running) return; // busy: exempt until the turn ends (endTurn re-arms grace)
      this.requestClose(session.id, 'grace_expired');
    }, graceMs);
  }

  private admitOne(): void {
    if (this.sessions.size < this.options.limits.maxSessions) return;
    const evictable = this.list()
      .filter((session) => session.state === 'detached' && !session.running)
      .sort((a, b) => a.lastActiveMs - b.lastActiveMs)[0];
    if (!evictable) {
      throw new TetherError(
        'TETHER_LIMIT_REACHED',
        `session limit reached (${this.options.limits.maxSessions})`,
        {
          limit: 'sessions',
          max: this.options.limits.maxSessions,
        },
      );
    }
    this.options.logger.info(
      { sessionId: evictable.id, reason: 'evicted' },
      'evicting to admit a new session',
    );
    this.requestClose(evictable.id, 'evicted');
  }

  private closingError(session: LiveSession): TetherError {
    return new TetherError(
      'TETHER_SESSION_NOT_FOUND',
      `session ${session.id} is closing or closed`,
      {
        session_id: session.id,
      },
    );
  }

  private sweepByMarker(sessionId: string): Promise<ReapResult> {
    return reapProcesses(
      { markers: [{ key: SESSION_MARKER_ENV, value: sessionId }] },
      { killGraceMs: this.options.limits.killGraceMs },
    );
  }
}
