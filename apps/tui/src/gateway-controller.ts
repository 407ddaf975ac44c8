/**
 * The TUI's connection to a gateway and the state it feeds: owns the RpcClient, folds its
 * events through the reducer, reconnects with backoff when the connection drops, and offers
 * the user actions (submit, create, close, switch). It lives outside React so the Ink tree
 * can be unmounted while the terminal is attached without losing the connection or state.
 */
import {
  describeError,
  rpcErrorCode,
  SESSION_NOT_FOUND,
  type Disposable,
  type EventMessage,
  type RpcClient,
} from './client.js';
import type { Connector, GatewayConnection, TerminalRoute } from './connect.js';
import {
  currentSession,
  initialState,
  reduce,
  type Action,
  type SessionInfo,
  type State,
  type StoredSession,
  type StoredTurn,
} from './state.js';

export interface ControllerOptions {
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** How many stored turns a re-opened session shows, and how many sessions Ctrl-R lists. */
export const HISTORY_TURNS = 20;
export const HISTORY_SESSIONS = 20;

export class GatewayController {
  private state: State = initialState;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: EventMessage) => void>();
  private connection: GatewayConnection | null = null;
  private connectionDisposables: Disposable[] = [];
  /** Sessions this connection is attached to; a new connection starts with none. */
  private attachedIds = new Set<string>();
  /**
   * Live events of sessions whose attach (or resume) is in flight. The gateway sends the
   * attach's own status event before the reply; applied first, its higher seq would make the
   * reducer drop the replayed events as already seen. They are applied after the reply.
   */
  private heldEvents = new Map<string, EventMessage[]>();
  private attaching = new Map<string, Promise<void>>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs: number;
  // Two flags because close() can re-enter through the client's own onClose callback.
  private isClosing = false;
  private isClosed = false;

  constructor(
    private readonly connector: Connector,
    private readonly options: ControllerOptions = {},
  ) {
    this.reconnectDelayMs = options.reconnectMinMs ?? RECONNECT_MIN_MS;
  }

  readonly getState = (): State => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Every gateway event, after the reducer saw it (the terminal view listens for pty.data). */
  onEvent(listener: (event: EventMessage) => void): Disposable {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  get client(): RpcClient | null {
    return this.connection?.client.isOpen ? this.connection.client : null;
  }

  get terminalRoute(): TerminalRoute | null {
    return this.connection?.terminal ?? null;
  }

  notify(text: string, isError = false): void {
    this.dispatch({ type: 'notice', text, isError });
  }

  dispatch(action: Action): void {
    this.state = reduce(this.state, action);
    for (const listener of this.listeners) listener();
  }

  /** The first connection; rejects (GatewayNotFoundError) so main can explain and exit. */
  async start(): Promise<void> {
    this.dispatch({ type: 'connecting' });
    await this.adopt(await this.connector(), false);
  }

  private async adopt(connection: GatewayConnection, isReconnect: boolean): Promise<void> {
    if (this.isClosing) {
      connection.client.close();
      return;
    }
    this.connection = connection;
    this.attachedIds = new Set();
    this.heldEvents = new Map();
    this.attaching = new Map();
    const { client } = connection;
    this.connectionDisposables = [
      client.onEvent((event) => this.handleEvent(event)),
      client.onClose((info) => this.handleClose(connection, info)),
    ];

    const previous = currentSession(this.state);
    const { sessions } = await client.request<{ sessions: SessionInfo[] }>('session.list');
    this.dispatch({ type: 'connected', sessions });
    this.reconnectDelayMs = this.options.reconnectMinMs ?? RECONNECT_MIN_MS;
    if (isReconnect) this.notify(`reconnected to ${connection.description}`);

    // Re-attach whatever was current before the drop, so its missed events are replayed; if
    // the gateway lost it, the attach's 4001 is what tells the user.
    const target = previous?.session_id ?? this.state.currentId;
    if (target !== null && target !== undefined) await this.attach(target, previous?.title);
  }

  private handleEvent(event: EventMessage): void {
    const held = event.session_id ? this.heldEvents.get(event.session_id) : undefined;
    if (held) held.push(event);
    else this.dispatch({ type: 'event', event });
    if (event.type === 'session.closed' && event.session_id) {
      this.attachedIds.delete(event.session_id);
      // A shutting-down gateway may keep the socket open until it exits; dropping it now
      // starts the reconnect loop, which finds the gateway's successor.
      if (event.payload['reason'] === 'shutdown') this.connection?.client.close();
    }
    for (const listener of this.eventListeners) listener(event);
  }

  private handleClose(connection: GatewayConnection, info: { code: number; reason: string }): void {
    // A late close of a connection we already replaced must not tear down the new one.
    if (this.connection !== connection) return;
    for (const disposable of this.connectionDisposables) disposable.dispose();
    this.connectionDisposables = [];
    this.connection = null;
    if (this.isClosing) return;
    this.dispatch({ type: 'disconnected', reason: info.reason || `code ${info.code}` });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.isClosing || this.reconnectTimer !== null) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(delayMs * 2, this.options.reconnectMaxMs ?? RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnectOnce();
    }, delayMs);
  }

  private async reconnectOnce(): Promise<void> {
    let connection: GatewayConnection;
    try {
      connection = await this.connector();
    } catch (error) {
      this.notify(`reconnecting… (${describeError(error)})`, true);
      this.scheduleReconnect();
      return;
    }
    try {
      await this.adopt(connection, true);
    } catch (error) {
      // The new connection broke during set-up; its onClose schedules the next attempt,
      // and if it is still open we drop it so that happens.
      this.notify(`reconnect failed: ${describeError(error)}`, true);
      if (connection.client.isOpen) connection.client.close();
      else this.scheduleReconnect();
    }
  }

  private requireClient(): RpcClient {
    const client = this.client;
    if (!client) throw new Error('not connected to the gateway; reconnecting…');
    return client;
  }

  /**
   * Attaches this connection to a session. With a known seq it replays the events after it;
   * otherwise (never seen, or its transcript came from the store) it shows the stored turns
   * and then only live events: the store is the record, the replay buffer is not needed.
   */
  attach(sessionId: string, knownTitle?: string): Promise<void> {
    if (this.attachedIds.has(sessionId)) return Promise.resolve();
    // Fast switching can ask twice before the first reply; one load and one attach serve both.
    const inFlight = this.attaching.get(sessionId);
    if (inFlight) return inFlight;
    const attaching = this.attachNow(sessionId, knownTitle).finally(() => {
      if (this.attaching.get(sessionId) === attaching) this.attaching.delete(sessionId);
    });
    this.attaching.set(sessionId, attaching);
    return attaching;
  }

  private async attachNow(sessionId: string, knownTitle?: string): Promise<void> {
    const client = this.requireClient();
    const sinceSeq = this.state.lastSeq[sessionId];
    // LIMITATION: events between the turns read and the attach are not shown. Fix: a
    // `session.attach` that returns the stored turns and the seq they cover in one reply.
    if (sinceSeq === undefined) await this.loadTurns(client, sessionId);
    const params =
      sinceSeq === undefined
        ? { session_id: sessionId }
        : { session_id: sessionId, since_seq: sinceSeq };
    try {
      await this.holdingEvents(
        sessionId,
        () =>
          client.request<{ session: SessionInfo; events?: EventMessage[]; truncated?: boolean }>(
            'session.attach',
            params,
          ),
        (reply) => {
          this.attachedIds.add(sessionId);
          this.dispatch({
            type: 'attached',
            session: reply.session,
            events: reply.events ?? [],
            truncated: reply.truncated ?? false,
          });
        },
      );
    } catch (error) {
      if (rpcErrorCode(error) !== SESSION_NOT_FOUND) throw error;
      const title =
        knownTitle ?? this.state.sessions.find((known) => known.session_id === sessionId)?.title;
      const text = `session "${title ?? sessionId}" is gone (closed or expired in the gateway)`;
      this.dispatch({ type: 'session-gone', sessionId, text });
    }
  }

  private async loadTurns(client: RpcClient, sessionId: string): Promise<void> {
    try {
      const { turns } = await client.request<{ turns: StoredTurn[] }>('session.turns', {
        session_id: sessionId,
        limit: HISTORY_TURNS,
      });
      this.dispatch({ type: 'turns-loaded', sessionId, turns });
    } catch (error) {
      // Attaching still works without the record; the transcript says what is missing.
      this.dispatch({ type: 'turns-loaded', sessionId, turns: [] });
      const text = `! earlier turns unavailable: ${describeError(error)}`;
      this.dispatch({ type: 'append', sessionId, text });
    }
  }

  /**
   * Runs `request` with the session's live events held back, hands its reply to `apply`,
   * then applies the held events: what the reply describes comes before what followed it.
   */
  private async holdingEvents<T>(
    sessionId: string,
    request: () => Promise<T>,
    apply: (reply: T) => void,
  ): Promise<T> {
    const held: EventMessage[] = [];
    this.heldEvents.set(sessionId, held);
    try {
      const reply = await request();
      apply(reply);
      return reply;
    } finally {
      if (this.heldEvents.get(sessionId) === held) this.heldEvents.delete(sessionId);
      for (const event of held) this.dispatch({ type: 'event', event });
    }
  }

  /** Ctrl-R: lists stored sessions, newest first, to pick one to resume. */
  async openResumePicker(): Promise<void> {
    const { sessions } = await this.requireClient().request<{ sessions: StoredSession[] }>(
      'session.history',
      { limit: HISTORY_SESSIONS },
    );
    if (sessions.length === 0) return this.notify('no stored sessions to resume');
    this.dispatch({ type: 'picker-open', sessions });
  }

  /** Enter in the picker: resumes the highlighted stored session and makes it current. */
  async resumePicked(): Promise<void> {
    const picker = this.state.picker;
    const picked = picker?.sessions[picker.index];
    this.dispatch({ type: 'picker-close' });
    if (!picked) return;
    const client = this.requireClient();
    const sessionId = picked.session_id;
    await this.holdingEvents(
      sessionId,
      () =>
        client.request<{ session: SessionInfo; turns?: StoredTurn[] }>('session.resume', {
          session_id: sessionId,
        }),
      (reply) => {
        this.attachedIds.add(sessionId);
        this.dispatch({ type: 'session-opened', session: reply.session });
        this.dispatch({ type: 'turns-loaded', sessionId, turns: reply.turns ?? [] });
      },
    );
    this.notify(`resumed "${picked.title}"`);
  }

  async createSession(): Promise<SessionInfo> {
    const client = this.requireClient();
    const { session } = await client.request<{ session: SessionInfo }>('session.create', {});
    this.attachedIds.add(session.session_id);
    this.dispatch({ type: 'session-opened', session });
    return session;
  }

  /**
   * Plain text is a prompt, `/…` a slash command; a session is created first if none.
   * Submits run one after another, so lines pasted together keep their order and share the
   * session the first one created.
   */
  submit(text: string): Promise<void> {
    const next = this.submitQueue.then(() => this.submitNow(text));
    this.submitQueue = next.catch(() => undefined);
    return next;
  }

  private submitQueue: Promise<void> = Promise.resolve();

  private async submitNow(text: string): Promise<void> {
    const trimmed = text.trim();
    if (trimmed === '') return;
    const session = currentSession(this.state) ?? (await this.createSession());
    const sessionId = session.session_id;
    try {
      const client = this.requireClient();
      if (trimmed.startsWith('/')) {
        this.dispatch({ type: 'append', sessionId, text: trimmed });
        const { output } = await client.request<{ output: string }>('slash.exec', {
          session_id: sessionId,
          command: trimmed,
        });
        const text = String(output ?? '').replace(/\n$/, '');
        this.dispatch({ type: 'append', sessionId, text });
        return;
      }
      await client.request('prompt.submit', { session_id: sessionId, text });
    } catch (error) {
      // The status line shows only the newest error; the transcript keeps each one in place.
      this.dispatch({ type: 'append', sessionId, text: `! ${describeError(error)}` });
      throw error;
    }
  }

  async closeCurrent(): Promise<void> {
    const session = currentSession(this.state);
    if (!session) return;
    await this.requireClient().request('session.close', { session_id: session.session_id });
    // The session.closed event usually removed it already; this covers a lost event.
    this.attachedIds.delete(session.session_id);
    this.dispatch({
      type: 'session-gone',
      sessionId: session.session_id,
      text: `closed "${session.title}"`,
      isError: false,
    });
  }

  async cycle(delta: number): Promise<void> {
    this.dispatch({ type: 'cycle', delta });
    const current = this.state.currentId;
    if (current !== null) await this.attach(current);
  }

  /** Runs a user action, turning a failure into the status line instead of a crash. */
  run(action: () => Promise<unknown>): void {
    action().catch((error: unknown) => {
      this.notify(describeError(error), true);
    });
  }

  /** Quits: stops reconnecting and closes the connection; sessions stay in the gateway. */
  close(): void {
    if (this.isClosing) return;
    this.isClosing = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const connection = this.connection;
    connection?.client.close();
    for (const disposable of this.connectionDisposables) disposable.dispose();
    this.connectionDisposables = [];
    this.listeners.clear();
    this.eventListeners.clear();
    this.isClosed = true;
  }

  get hasClosed(): boolean {
    return this.isClosed;
  }
}
