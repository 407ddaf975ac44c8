/**
 * An in-process stand-in for a gateway connection, for the UI and controller unit tests. The
 * real gateway is exercised by src/tui.e2e.test.ts.
 */
import type { EventMessage, RpcClient } from '../client.js';
import type { SessionInfo } from '../state.js';

export class FakeClient implements RpcClient {
  readonly ready = { version: 'test', instance_id: 'fake', protocol: 1 };
  readonly calls: { method: string; params: any }[] = [];
  isOpen = true;
  private eventListeners = new Set<(event: EventMessage) => void>();
  private closeListeners = new Set<(info: { code: number; reason: string }) => void>();
  private nextId = 1;
  sessions: SessionInfo[] = [];

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
        return { session, events: [], truncated: false } as T;
      }
      case 'prompt.submit':
        queueMicrotask(() => this.runTurn(params.session_id, params.text));
        return { turn_id: 'turn-1' } as T;
      case 'slash.exec':
        return { output: `ran ${params.command}` } as T;
      default:
        throw Object.assign(new Error(`unknown method ${method}`), { code: -32601 });
    }
  }

  private runTurn(sessionId: string, text: string): void {
    let seq = 0;
    const emit = (type: string, payload: Record<string, unknown>): void =>
      this.emit({ type, session_id: sessionId, seq: ++seq, payload });
    emit('turn.start', { turn_id: 'turn-1', text });
    emit('turn.output', { turn_id: 'turn-1', data: `${text.replace(/^echo /, '')}\n` });
    emit('turn.end', { turn_id: 'turn-1', exit_code: 0, signal: null, duration_ms: 3 });
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

