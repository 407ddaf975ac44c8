import type { TimerHandle } from './clock.js';
import { EventLog, type EventReplay } from './event-log.js';
import type {
  SessionEvent,
  SessionState,
  TeardownReason,
  TerminalProcess,
  WorkerHandle,
} from './types.js';

/** One client connection attached to a session. `notify` must drop writes once it is gone. */
export interface Attachment {
  readonly id: string;
  readonly transport: 'ws' | 'stdio';
  notify(event: SessionEvent): void;
}

export interface RunningTurn {
  turnId: string;
  text: string;
  startedMs: number;
  startedAt: Date;
  output: string[];
  outputBytes: number;
}

export interface SessionInit {
  sessionId: string;
  runId: string;
  title: string;
  cwd: string;
  agent: string;
  closeOnDisconnect: boolean;
  createdAt: Date;
  nowMs: number;
  now: Date;
  replayEvents: number;
}

/** The wire shape of a session (PROTOCOL.md `session` object). */
export interface SessionView {
  session_id: string;
  title: string;
  status: 'starting' | 'idle' | 'running' | 'detached';
  created_at: string;
  last_active_at: string;
  attached: number;
  running: boolean;
  pty: { cols: number; rows: number } | null;
  close_on_disconnect: boolean;
}

/**
 * A live run of a session. Mutated only by the registry and the gateway's handlers; the
 * registry's funnel is the only thing that ends it.
 */
export class LiveSession {
  readonly id: string;
  readonly runId: string;
  readonly cwd: string;
  readonly agent: string;
  readonly closeOnDisconnect: boolean;
  readonly createdAt: Date;
  readonly startedMs: number;
  title: string;
  state: SessionState = 'starting';

  /** Bumped by every attach and by the fence: stale timers and connections compare against it. */
  epoch = 0;
  readonly attachments = new Map<string, { attachment: Attachment; epoch: number }>();

  /** Last user activity (input, RPCs on the session, turn output): drives the idle TTL. */
  lastActiveMs: number;
  lastActiveAt: Date;
  /** Last action by a user (not output): a running turn past the busy cap needs one. */
  lastInputMs: number;

  running: RunningTurn | null = null;
  terminal: TerminalProcess | null = null;
  worker: WorkerHandle | null = null;
  closeReason: TeardownReason | null = null;
  graceTimer: TimerHandle | null = null;
  /** Spawns in flight: the funnel waits for them so nothing it misses can survive. */
  readonly pendingSpawns = new Set<Promise<unknown>>();

  private readonly log: EventLog;

  constructor(init: SessionInit) {
    this.id = init.sessionId;
    this.runId = init.runId;
    this.title = init.title;
    this.cwd = init.cwd;
    this.agent = init.agent;
    this.closeOnDisconnect = init.closeOnDisconnect;
    this.createdAt = init.createdAt;
    this.startedMs = init.nowMs;
    this.lastActiveMs = init.nowMs;
    this.lastInputMs = init.nowMs;
    this.lastActiveAt = init.now;
    this.log = new EventLog(init.sessionId, init.replayEvents);
  }

  get isClosing(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }

  get seq(): number {
    return this.log.seq;
  }

  /** True when a stdio client is attached: such a session is never idle-reaped. */
  get hasStdioAttachment(): boolean {
    for (const { attachment } of this.attachments.values())
      if (attachment.transport === 'stdio') return true;
    return false;
  }

  /** Numbers the event, keeps it for replay and sends it to every attachment. */
  emit(type: string, payload: Record<string, unknown>): SessionEvent {
    const event = this.log.append(type, payload);
    for (const { attachment } of this.attachments.values()) attachment.notify(event);
    return event;
  }

  eventsSince(sinceSeq: number): EventReplay {
    return this.log.since(sinceSeq);
  }

  /** Records user activity; `isInput` also counts for the busy cap. */
  touch(nowMs: number, now: Date, isInput = true): void {
    this.lastActiveMs = nowMs;
    this.lastActiveAt = now;
    if (isInput) this.lastInputMs = nowMs;
  }

  view(): SessionView {
    return {
      session_id: this.id,
      title: this.title,
      status: this.status(),
      created_at: this.createdAt.toISOString(),
      last_active_at: this.lastActiveAt.toISOString(),
      attached: this.attachments.size,
      running: this.running !== null,
      pty:
        this.terminal && !this.terminal.exitStatus
          ? { cols: this.terminal.cols, rows: this.terminal.rows }
          : null,
      close_on_disconnect: this.closeOnDisconnect,
    };
  }

  private status(): SessionView['status'] {
    if (this.state === 'starting') return 'starting';
    if (this.running) return 'running';
    if (this.attachments.size === 0) return 'detached';
    return 'idle';
  }
}
