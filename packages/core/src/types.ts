/**
 * The contracts between Tether's packages. Core depends on nothing; pty-bridge, slash-worker,
 * ws-transport and store implement these interfaces, and only the apps wire them together.
 */

/** Life-cycle states of a live session (DESIGN.md §3). `running` is orthogonal. */
export type SessionState = 'starting' | 'live' | 'detached' | 'closing' | 'closed';

/** Why a run ended. The first reason given to the funnel wins. */
export type TeardownReason =
  | 'client_close'
  | 'disconnect'
  | 'grace_expired'
  | 'idle_ttl'
  | 'busy_cap'
  | 'shutdown'
  | 'owner_lost'
  | 'evicted';

export const TEARDOWN_REASONS: readonly TeardownReason[] = [
  'client_close',
  'disconnect',
  'grace_expired',
  'idle_ttl',
  'busy_cap',
  'shutdown',
  'owner_lost',
  'evicted',
];

/** Environment markers every spawned process carries (DESIGN.md §3, gateway death). */
export const SESSION_MARKER_ENV = 'TETHER_SESSION_ID';
export const INSTANCE_MARKER_ENV = 'TETHER_INSTANCE_ID';
/**
 * Unique per spawned process tree (one terminal, one worker, one turn): lets a package kill
 * exactly its own tree, escapees included, without touching the session's other processes.
 */
export const PROCESS_MARKER_ENV = 'TETHER_PROCESS_ID';

/** One event on the wire (PROTOCOL.md "Events"); `seq` counts per session from 1. */
export interface SessionEvent {
  type: string;
  session_id?: string;
  seq?: number;
  payload: Record<string, unknown>;
}

export interface Disposable {
  dispose(): void;
}

export interface ExitStatus {
  exitCode: number | null;
  /** Signal name such as `SIGKILL`, or null. */
  signal: string | null;
}

/** pino-compatible subset: object first, then a short lowercase message. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Called with the pid and start time of every process a package spawns, so sweeps can find it. */
export type ProcessSpawnedHook = (info: { pid: number; kind: 'pty' | 'worker' }) => void;

// ---------------------------------------------------------------------------------------------
// Terminal (implemented by @tether/pty-bridge)

export interface TerminalOptions {
  cols: number;
  rows: number;
  /** argv; defaults to the user's shell ($SHELL or /bin/sh) as an interactive shell. */
  command?: string[];
  cwd: string;
  /** Full environment for the child, markers included. */
  env: Record<string, string>;
  /** Size of the replay ring in bytes. */
  replayBytes: number;
  /** Escalation step between SIGHUP/SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Pause reading when this many bytes are unacknowledged by consumers (see `pause`). */
  highWatermarkBytes?: number;
}

export interface TerminalChunk {
  /** Byte offset of `data[0]` in the terminal's whole output stream. */
  offset: number;
  data: Buffer;
}

export interface TerminalReplay {
  /** The offset the returned bytes start at (>= requested offset when truncated). */
  offset: number;
  /** True when bytes between the requested offset and `offset` were dropped. */
  truncated: boolean;
  data: Buffer;
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalProcess {
  readonly pid: number;
  readonly cols: number;
  readonly rows: number;
  /** Exit status once the child exited and its last output was delivered, else null. */
  readonly exitStatus: ExitStatus | null;
  /** Total bytes produced so far: the offset the next chunk will start at. */
  readonly endOffset: number;
  /** Input bytes accepted by `write` but not yet taken by the terminal (0 when unknown). */
  readonly pendingInputBytes: number;
  onData(listener: (chunk: TerminalChunk) => void): Disposable;
  /** Fires once, after the last `onData` chunk. */
  onExit(listener: (status: ExitStatus) => void): Disposable;
  /** Throws TetherError `TETHER_TERMINAL_EXITED` (rpc 4100) after exit. Never blocks the loop. */
  write(data: Buffer | string): void;
  /** Validates (TetherError `TETHER_INVALID_PARAMS`) and clamps; returns the size applied. */
  resize(cols: number, rows: number): TerminalSize;
  /** Bytes from `offset` to the end, or from the oldest kept byte with `truncated: true`. */
  replayFrom(offset: number): TerminalReplay;
  /** Backpressure: stop reading from the PTY until `resume`. Counted; nested pauses nest. */
  pause(): void;
  resume(): void;
  /** Whole-tree kill with escalation; idempotent; resolves with the exit status. */
  kill(): Promise<ExitStatus>;
}

export type SpawnTerminal = (options: TerminalOptions) => Promise<TerminalProcess>;

// ---------------------------------------------------------------------------------------------
// Command worker (implemented by @tether/slash-worker)

export interface WorkerOptions {
  sessionId: string;
  instanceId: string;
  cwd: string;
  /** Full environment for the child, markers included. */
  env: Record<string, string>;
  /** Module paths of plugin commands and agents. */
  plugins: string[];
  requestTimeoutMs: number;
  watchdogPollMs: number;
  watchdogGraceMs: number;
  killGraceMs: number;
}

export interface SlashResult {
  output: string;
  /** Set by `/title`: the gateway renames the session and stores the title. */
  title?: string;
}

export interface TurnEnd {
  turnId: string;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
}

export interface WorkerHandle {
  readonly pid: number;
  /** Runs a slash command line such as `/title Work`. Rejects with TetherError on failure. */
  exec(command: string): Promise<SlashResult>;
  /** Starts a turn; resolves once started. Output and end arrive through the listeners. */
  startTurn(turn: { turnId: string; text: string; agent: string }): Promise<void>;
  /**
   * Stops the running turn's whole process group (SIGINT, SIGTERM, SIGKILL); resolves true if
   * a turn was running. With `leftoversReapedByCaller`, the
   * worker skips its own /proc sweep for what the turn left behind: a closing session's
   * teardown reaps those markers anyway, and hundreds of workers walking /proc at once would
   * starve the gateway.
   */
  interrupt(options?: { leftoversReapedByCaller?: boolean }): Promise<boolean>;
  onTurnOutput(listener: (turnId: string, data: string) => void): Disposable;
  onTurnEnd(listener: (end: TurnEnd) => void): Disposable;
  /** Fires once when the worker process is gone, whatever the cause. */
  onExit(listener: (status: ExitStatus) => void): Disposable;
  /** Polite request, terminate, kill, reap — each bounded. Idempotent. */
  close(): Promise<ExitStatus>;
}

export type SpawnWorker = (options: WorkerOptions) => Promise<WorkerHandle>;

// ---------------------------------------------------------------------------------------------
// Store (implemented by @tether/store)

export interface StoredRun {
  runId: string;
  sessionId: string;
  instanceId: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: TeardownReason | null;
}

export interface StoredSession {
  sessionId: string;
  title: string;
  cwd: string;
  createdAt: Date;
  runs: StoredRun[];
}

export interface StoredTurn {
  turnId: string;
  sessionId: string;
  runId: string;
  text: string;
  output: string;
  exitCode: number | null;
  signal: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export interface StoredProcess {
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): guards against pid reuse. */
  startTime: number;
  kind: 'pty' | 'worker' | 'guardian' | 'gateway';
  sessionId: string | null;
  runId: string | null;
  instanceId: string;
}

export interface RunEnd {
  runId: string;
  endedAt: Date;
  endReason: TeardownReason;
  /** Free-form exit statuses, e.g. `{ pty: {...}, worker: {...} }`. */
  exitStatuses?: Record<string, ExitStatus | null>;
}

export interface SessionStore {
  createSession(session: {
    sessionId: string;
    title: string;
    cwd: string;
    createdAt: Date;
  }): Promise<void>;
  setTitle(sessionId: string, title: string): Promise<void>;
  getSession(sessionId: string): Promise<StoredSession | null>;
  /** Stored sessions newest first, with their runs; `before`: an ISO time or a session id. */
  listSessions(options: { limit: number; before?: string }): Promise<StoredSession[]>;

  startRun(run: {
    runId: string;
    sessionId: string;
    instanceId: string;
    startedAt: Date;
  }): Promise<void>;
  /** Writes a run's end once: a second call for an ended run changes nothing and resolves. */
  endRun(end: RunEnd): Promise<void>;
  /** Runs with no end; all instances when `instanceId` is omitted. */
  listOpenRuns(instanceId?: string): Promise<StoredRun[]>;

  startTurn(turn: {
    turnId: string;
    sessionId: string;
    runId: string;
    text: string;
    startedAt: Date;
  }): Promise<void>;
  endTurn(turn: {
    turnId: string;
    output: string;
    exitCode: number | null;
    signal: string | null;
    endedAt: Date;
  }): Promise<void>;
  /** Newest `limit` turns, returned oldest first. */
  listTurns(sessionId: string, limit: number): Promise<StoredTurn[]>;

  recordProcess(process: StoredProcess): Promise<void>;
  /** Processes recorded by instances other than `exceptInstanceId` (for the start-up sweep). */
  listProcesses(filter: {
    instanceId?: string;
    exceptInstanceId?: string;
  }): Promise<StoredProcess[]>;
  forgetProcesses(filter: { instanceId: string }): Promise<void>;

  close(): Promise<void>;
}
