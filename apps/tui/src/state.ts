/**
 * The TUI's state as pure functions: every gateway event and user action is an `Action`, and
 * `reduce` folds it into a new `State`. Nothing here does I/O, so it is unit-testable alone.
 */
import type { EventMessage } from './client.js';

export type SessionStatus = 'starting' | 'idle' | 'running' | 'detached';

/** A `session` object as PROTOCOL.md defines it. */
export interface SessionInfo {
  session_id: string;
  title: string;
  status: SessionStatus | string;
  created_at?: string;
  last_active_at?: string;
  attached: number;
  running: boolean;
  pty: { cols: number; rows: number } | null;
  close_on_disconnect?: boolean;
}

/** A `turn` object from the store (PROTOCOL.md). */
export interface StoredTurn {
  turn_id: string;
  text: string;
  output: string;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  ended_at: string | null;
}

/** One run of a stored session; `ended_at` is null while it is live. */
export interface StoredRun {
  run_id: string;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/** A `stored` session object (PROTOCOL.md, `session.history`). */
export interface StoredSession {
  session_id: string;
  title: string;
  created_at: string;
  runs: StoredRun[];
}

/** The Ctrl-R list of stored sessions; `index` is the highlighted row. */
export interface ResumePicker {
  sessions: StoredSession[];
  index: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface State {
  connection: ConnectionState;
  sessions: SessionInfo[];
  currentId: string | null;
  /** Transcript text per session, capped at `TRANSCRIPT_MAX_CHARS`. */
  transcripts: Record<string, string>;
  /**
   * Highest event seq applied per session, for `since_seq` on re-attach. Absent when the
   * transcript came from the store and no live event has arrived yet: the seq is unknown then.
   */
  lastSeq: Record<string, number>;
  /** What the running turn of a session is running (its prompt text). */
  runningText: Record<string, string>;
  /** Open while the user picks a stored session to resume (Ctrl-R). */
  picker: ResumePicker | null;
  /** Next terminal byte offset per session, for `?offset=` on re-attach. */
  ptyOffset: Record<string, number>;
  /** One status line: the last error or notice. */
  notice: { text: string; isError: boolean } | null;
}

export type Action =
  | { type: 'connecting' }
  | { type: 'connected'; sessions: SessionInfo[] }
  | { type: 'disconnected'; reason: string }
  | { type: 'event'; event: EventMessage }
  | { type: 'session-opened'; session: SessionInfo }
  | { type: 'attached'; session: SessionInfo; events: EventMessage[]; truncated: boolean }
  | { type: 'session-gone'; sessionId: string; text: string; isError?: boolean }
  | { type: 'select'; sessionId: string }
  | { type: 'cycle'; delta: number }
  | { type: 'append'; sessionId: string; text: string }
  | { type: 'notice'; text: string; isError?: boolean }
  | { type: 'pty-offset'; sessionId: string; offset: number }
  | { type: 'turns-loaded'; sessionId: string; turns: StoredTurn[] }
  | { type: 'picker-open'; sessions: StoredSession[] }
  | { type: 'picker-move'; delta: number }
  | { type: 'picker-close' };

/** Older transcript text is dropped past this; the gateway keeps the full record. */
export const TRANSCRIPT_MAX_CHARS = 200_000;

export const initialState: State = {
  connection: 'connecting',
  sessions: [],
  currentId: null,
  transcripts: {},
  lastSeq: {},
  runningText: {},
  picker: null,
  ptyOffset: {},
  notice: null,
};

export function currentSession(state: State): SessionInfo | undefined {
  return state.sessions.find((session) => session.session_id === state.currentId);
}

function appendText(state: State, sessionId: string, text: string): State {
  const before = state.transcripts[sessionId] ?? '';
  let next = before + text;
  if (next.length > TRANSCRIPT_MAX_CHARS) next = next.slice(next.length - TRANSCRIPT_MAX_CHARS);
  return { ...state, transcripts: { ...state.transcripts, [sessionId]: next } };
}

/** Starts `text` on a fresh line, so a turn header never glues onto unterminated output. */
function appendLine(state: State, sessionId: string, text: string): State {
  const before = state.transcripts[sessionId] ?? '';
  const separator = before === '' || before.endsWith('\n') ? '' : '\n';
  return appendText(state, sessionId, `${separator}${text}\n`);
}

function upsertSession(state: State, session: SessionInfo): State {
  const index = state.sessions.findIndex((known) => known.session_id === session.session_id);
  const sessions = [...state.sessions];
  if (index === -1) sessions.push(session);
  else sessions[index] = session;
  return { ...state, sessions, currentId: state.currentId ?? session.session_id };
}

function removeSession(state: State, sessionId: string): State {
  const index = state.sessions.findIndex((known) => known.session_id === sessionId);
  if (index === -1) return state;
  const sessions = state.sessions.filter((known) => known.session_id !== sessionId);
  let currentId = state.currentId;
  if (currentId === sessionId) {
    // Prefer the neighbour that slid into the closed session's row.
    currentId = (sessions[index] ?? sessions[index - 1])?.session_id ?? null;
  }
  return { ...state, sessions, currentId };
}

function titleOf(state: State, sessionId: string): string {
  return state.sessions.find((known) => known.session_id === sessionId)?.title ?? sessionId;
}

function withoutRunning(state: State, sessionId: string): State {
  if (!(sessionId in state.runningText)) return state;
  const runningText = { ...state.runningText };
  delete runningText[sessionId];
  return { ...state, runningText };
}

/** `[exit 0]`, `[exit - signal SIGINT]`: the end of a turn as the transcript shows it. */
function exitLine(exitCode: unknown, signal: unknown, durationMs?: unknown): string {
  const signalText = signal ? ` signal ${String(signal)}` : '';
  const duration = typeof durationMs === 'number' ? ` in ${durationMs} ms` : '';
  return `[exit ${String(exitCode ?? '-')}${signalText}${duration}]`;
}

/** Replaces a session's transcript with its stored turns, oldest first. */
function loadTurns(state: State, sessionId: string, turns: StoredTurn[]): State {
  const lastSeq = { ...state.lastSeq };
  // The store knows nothing of event seqs; the first live event sets it again.
  delete lastSeq[sessionId];
  let next: State = {
    ...withoutRunning(state, sessionId),
    lastSeq,
    transcripts: { ...state.transcripts, [sessionId]: '' },
  };
  if (turns.length > 0) {
    next = appendLine(next, sessionId, `[${turns.length} earlier turn(s) from the store]`);
  }
  for (const turn of turns) {
    next = appendLine(next, sessionId, `$ ${turn.text}`);
    next = appendText(next, sessionId, turn.output.replace(/\r(?!\n)/g, ''));
    if (turn.ended_at !== null) {
      next = appendLine(next, sessionId, exitLine(turn.exit_code, turn.signal));
      continue;
    }
    // LIMITATION: a turn still running shows only its live output from the attach on; what
    // it printed before is stored at its end. Fix: replay its buffered turn.output events.
    next = appendLine(next, sessionId, '[running…]');
    next = { ...next, runningText: { ...next.runningText, [sessionId]: turn.text } };
  }
  return next;
}

function movePicker(picker: ResumePicker | null, delta: number): ResumePicker | null {
  if (!picker || picker.sessions.length === 0) return picker;
  const count = picker.sessions.length;
  return { ...picker, index: (((picker.index + delta) % count) + count) % count };
}

function applySessionEvent(state: State, sessionId: string, event: EventMessage): State {
  const payload = event.payload;
  switch (event.type) {
    case 'session.status': {
      const session = payload['session'] as SessionInfo | undefined;
      return session ? upsertSession(state, session) : state;
    }
    case 'session.closed': {
      const reason = String(payload['reason'] ?? 'unknown');
      const text = `session "${titleOf(state, sessionId)}" closed (${reason})`;
      return { ...removeSession(state, sessionId), notice: { text, isError: false } };
    }
    case 'turn.start': {
      const text = String(payload['text'] ?? '');
      state = { ...state, runningText: { ...state.runningText, [sessionId]: text } };
      return appendLine(state, sessionId, `$ ${text}`);
    }
    case 'turn.output':
      // Carriage returns would make the pane overwrite itself; the terminal view keeps them.
      return appendText(state, sessionId, String(payload['data'] ?? '').replace(/\r(?!\n)/g, ''));
    case 'turn.end': {
      const exit = exitLine(payload['exit_code'], payload['signal'], payload['duration_ms']);
      return appendLine(withoutRunning(state, sessionId), sessionId, exit);
    }
    case 'pty.exit':
      // A new terminal starts its byte count at 0 again.
      state = { ...state, ptyOffset: { ...state.ptyOffset, [sessionId]: 0 } };
      return appendLine(state, sessionId, `[terminal exited ${String(payload['exit_code'])}]`);
    case 'worker.exit': {
      const restarting = payload['restarting'] ? ', restarting' : '';
      const exit = String(payload['exit_code']);
      return appendLine(state, sessionId, `[worker exited ${exit}${restarting}]`);
    }
    case 'warning':
      return { ...state, notice: { text: String(payload['message'] ?? 'warning'), isError: true } };
    default:
      return state;
  }
}

function applyEvent(state: State, event: EventMessage): State {
  if (event.type === 'warning' && !event.session_id) {
    return { ...state, notice: { text: String(event.payload['message'] ?? ''), isError: true } };
  }
  const sessionId = event.session_id;
  if (!sessionId) return state;

  // Replayed events (re-attach) may overlap ones already seen live; seq makes that idempotent.
  // LIMITATION: an event older than the newest applied one is dropped even if never seen.
  // Fix: track the seen seqs per session as a set of ranges.
  const seq = event.seq;
  if (typeof seq === 'number') {
    if (seq <= (state.lastSeq[sessionId] ?? 0)) return state;
    state = { ...state, lastSeq: { ...state.lastSeq, [sessionId]: seq } };
  }
  return applySessionEvent(state, sessionId, event);
}

function cycle(state: State, delta: number): State {
  if (state.sessions.length === 0) return state;
  const index = state.sessions.findIndex((known) => known.session_id === state.currentId);
  const count = state.sessions.length;
  const next = state.sessions[(((index + delta) % count) + count) % count];
  return next ? { ...state, currentId: next.session_id } : state;
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'connecting':
      return { ...state, connection: 'connecting' };
    case 'connected': {
      // The gateway's list is the truth: sessions we knew that it no longer has are gone.
      const known = new Set(action.sessions.map((session) => session.session_id));
      const stillCurrent = state.currentId !== null && known.has(state.currentId);
      return {
        ...state,
        connection: 'connected',
        sessions: action.sessions,
        currentId: stillCurrent ? state.currentId : (action.sessions[0]?.session_id ?? null),
      };
    }
    case 'disconnected':
      return {
        ...state,
        connection: 'reconnecting',
        notice: { text: `connection lost (${action.reason}); reconnecting…`, isError: true },
      };
    case 'event':
      return applyEvent(state, action.event);
    case 'session-opened':
      return { ...upsertSession(state, action.session), currentId: action.session.session_id };
    case 'attached': {
      let next = upsertSession(state, action.session);
      if (action.truncated) {
        next = appendLine(next, action.session.session_id, '[earlier events were dropped]');
      }
      for (const event of action.events) {
        const sessionId = event.session_id ?? action.session.session_id;
        next = applyEvent(next, { ...event, session_id: sessionId });
      }
      return next;
    }
    case 'session-gone':
      return {
        ...removeSession(state, action.sessionId),
        notice: { text: action.text, isError: action.isError ?? true },
      };
    case 'select':
      return state.sessions.some((known) => known.session_id === action.sessionId)
        ? { ...state, currentId: action.sessionId }
        : state;
    case 'cycle':
      return cycle(state, action.delta);
    case 'append':
      return appendLine(state, action.sessionId, action.text);
    case 'notice':
      return { ...state, notice: { text: action.text, isError: action.isError ?? false } };
    case 'pty-offset':
      return { ...state, ptyOffset: { ...state.ptyOffset, [action.sessionId]: action.offset } };
    case 'turns-loaded':
      return loadTurns(state, action.sessionId, action.turns);
    case 'picker-open':
      return { ...state, picker: { sessions: action.sessions, index: 0 } };
    case 'picker-move':
      return { ...state, picker: movePicker(state.picker, action.delta) };
    case 'picker-close':
      return { ...state, picker: null };
  }
}
