/**
 * An in-process stand-in for a gateway connection, for the UI and controller unit tests. The
 * real gateway is exercised by src/tui.e2e.test.ts.
 */
import type { EventMessage, RpcClient } from '../client.js';
import type { SessionInfo, StoredSession, StoredTurn } from '../state.js';

export class FakeClient implements RpcClient {
  readonly ready = { version: 'test', instance_id: 'fake', protocol: 1 };
  readonly calls: { method: string; params: any }[] = [];
  isOpen = true;
  private eventListeners = new Set<(event: EventMessage) => void>();
  private closeListeners = new Set<(info: { code: number; reason: string }) => void>();
  private nextId = 1;
  sessions: SessionInfo[] = [];
  /** `session.turns` answers, per session id. */
  turns: Record<string, StoredTurn[]> = {};
  /** `session.history` answers (newest first, as the gateway sends them). */
  stored: StoredSession[] = [];
  /** Events `session.attach` replays, per session id (filtered by `since_seq`). */
  replay: Record<string, EventMessage[]> = {};
  /** The next seq per session: the live status event an attach sends uses it. */
  seqs: Record<string, number> = {};
  /** Slash commands that fail, with the error the gateway would answer. */
  slashErrors: Record<string, { code: number; message: string }> = {};

  async request<T>(method: string, params: any = {}): Promise<T> {
    this.calls.push({ method, params });
    switch (method) {
      case 'session.list':
        return { sessions: this.sessions } as T;
      case 'session.create': {
        const session: SessionInfo = {
          session_id: `s${this.nextId}`,
          title: `session ${this.nextId++}`,
          status: 'idle',
          attached: 1,
          running: false,
          pty: null,
        };
        this.sessions.push(session);
        return { session } as T;
      }
      case 'session.attach': {
        const session = this.sessions.find((known) => known.session_id === params.session_id);
        if (!session) throw Object.assign(new Error('session not found'), { code: 4001 });
        const sinceSeq: number = params.since_seq ?? this.seqs[session.session_id] ?? 0;
        const events = (this.replay[session.session_id] ?? []).filter(
          (event) => (event.seq ?? 0) > sinceSeq,
        );
        // Like the gateway: the attach's own status event goes out live before the reply.
        this.emitStatus(session);
        return { session, events, truncated: false } as T;
      }
      case 'session.turns':
        return { turns: this.turns[params.session_id] ?? [] } as T;
      case 'session.history':
        return { sessions: this.stored.slice(0, params.limit ?? 50) } as T;
      case 'session.resume': {
        const stored = this.stored.find((known) => known.session_id === params.session_id);
        if (!stored) throw Object.assign(new Error('session not found'), { code: 4001 });
        const session: SessionInfo = {
          session_id: stored.session_id,
          title: stored.title,
          status: 'idle',
          attached: 1,
          running: false,
          pty: null,
        };
        this.sessions.push(session);
        this.emitStatus(session);
        return { session, turns: this.turns[stored.session_id] ?? [] } as T;
      }
      case 'prompt.submit':
        queueMicrotask(() => this.runTurn(params.session_id, params.text));
        return { turn_id: 'turn-1' } as T;
      case 'slash.exec': {
        const failure = this.slashErrors[params.command];
        if (failure) throw Object.assign(new Error(failure.message), { code: failure.code });
        return { output: `ran ${params.command}` } as T;
      }
      default:
        throw Object.assign(new Error(`unknown method ${method}`), { code: -32601 });
    }
  }

  private runTurn(sessionId: string, text: string): void {
    const emit = (type: string, payload: Record<string, unknown>): void => {
      const seq = (this.seqs[sessionId] ?? 0) + 1;
      this.seqs[sessionId] = seq;
      this.emit({ type, session_id: sessionId, seq, payload });
    };
    emit('turn.start', { turn_id: 'turn-1', text });
    emit('turn.output', { turn_id: 'turn-1', data: `${text.replace(/^echo /, '')}\n` });
    emit('turn.end', { turn_id: 'turn-1', exit_code: 0, signal: null, duration_ms: 3 });
  }

  private emitStatus(session: SessionInfo): void {
    const seq = (this.seqs[session.session_id] ?? 0) + 1;
    this.seqs[session.session_id] = seq;
    const sessionId = session.session_id;
    this.emit({ type: 'session.status', session_id: sessionId, seq, payload: { session } });
  }

  emit(event: EventMessage): void {
    for (const listener of this.eventListeners) listener(event);
  }

  onEvent(listener: (event: EventMessage) => void) {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  onClose(listener: (info: { code: number; reason: string }) => void) {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  close(): void {
    this.drop(1000, 'closed');
  }

  /** The connection ends (e.g. the gateway went away). */
  drop(code = 1006, reason = 'gone'): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const listener of this.closeListeners) listener({ code, reason });
  }
}
