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

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

export interface State {
  connection: ConnectionState;
  sessions: SessionInfo[];
  currentId: string | null;
  /** Transcript text per session, capped at `TRANSCRIPT_MAX_CHARS`. */
  transcripts: Record<string, string>;
  /** Highest event seq applied per session, for `since_seq` on re-attach. */
  lastSeq: Record<string, number>;
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
  | { type: 'pty-offset'; sessionId: string; offset: number };

/** Older transcript text is dropped past this; the gateway keeps the full record. */
export const TRANSCRIPT_MAX_CHARS = 200_000;

export const initialState: State = {
  connection: 'connecting',
  sessions: [],
  currentId: null,
  transcripts: {},
  lastSeq: {},
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
    case 'turn.start':
      return appendLine(state, sessionId, `$ ${String(payload['text'] ?? '')}`);
    case 'turn.output':
      // Carriage returns would make the pane overwrite itself; the terminal view keeps them.
      return appendText(state, sessionId, String(payload['data'] ?? '').replace(/\r(?!\n)/g, ''));
    case 'turn.end': {
      const signal = payload['signal'] ? ` signal ${String(payload['signal'])}` : '';
      const duration = typeof payload['duration_ms'] === 'number'
        ? ` in ${payload['duration_ms']} ms`
        : '';
      const exit = `[exit ${String(payload['exit_code'] ?? '-')}${signal}${duration}]`;
      return appendLine(state, sessionId, exit);
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
  }
}
