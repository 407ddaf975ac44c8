import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  TetherError,
  invalidParams,
  type LiveSession,
  type SessionRegistry,
  type SessionStore,
  type StoredSession,
  type StoredTurn,
} from '@tether/core';
import { clampTerminalSize } from '@tether/pty-bridge';
import type { MethodSpec, RpcConnection } from '@tether/ws-transport';
import type { ClientTracker } from './clients.js';
import type { SessionRuntime } from './session-runtime.js';

export interface MethodDeps {
  registry: SessionRegistry;
  store: SessionStore;
  runtime: SessionRuntime;
  clients: ClientTracker;
  info: () => Record<string, unknown>;
  defaultCwd: string;
}

const MAX_TEXT_CHARS = 256 * 1024;
const MAX_TITLE_CHARS = 200;
const STORE_READ_WAIT_MS = 2000;

const sessionIdParam = { session_id: { type: 'string', nonEmpty: true, maxLength: 128 } } as const;

function storedView(session: StoredSession) {
  return {
    session_id: session.sessionId,
    title: session.title,
    created_at: session.createdAt.toISOString(),
    runs: session.runs.map((run) => ({
      run_id: run.runId,
      started_at: run.startedAt.toISOString(),
      ended_at: run.endedAt?.toISOString() ?? null,
      end_reason: run.endReason,
      instance_id: run.instanceId,
    })),
  };
}

function turnView(turn: StoredTurn) {
  return {
    turn_id: turn.turnId,
    text: turn.text,
    output: turn.output,
    exit_code: turn.exitCode,
    signal: turn.signal,
    started_at: turn.startedAt.toISOString(),
    ended_at: turn.endedAt?.toISOString() ?? null,
  };
}

async function resolveCwd(cwd: string | undefined, fallback: string): Promise<string> {
  if (cwd === undefined) return fallback;
  const path = resolve(fallback, cwd);
  const info = await stat(path).catch(() => null);
  if (!info?.isDirectory()) throw invalidParams('cwd', 'an existing directory');
  return path;
}

/** The JSON-RPC method table of PROTOCOL.md; every session operation is on the registry. */
export function createMethods(deps: MethodDeps): Record<string, MethodSpec> {
  const { registry, store, runtime, clients } = deps;

  /** The live session, with its use counted as user activity (idle clock). */
  const use = (sessionId: string): LiveSession => {
    const session = registry.require(sessionId);
    registry.touch(session);
    return session;
  };

  const attach = (session: LiveSession, connection: RpcConnection) => {
    registry.attach(session, clients.attachmentFor(connection));
    clients.noteAttached(connection, session.id);
  };

  /** Reads see the caller's own writes: wait (bounded) for queued writes first. */
  const readStore = async <T>(read: () => Promise<T>): Promise<T> => {
    await registry.outbox.drained(STORE_READ_WAIT_MS);
    try {
      return await read();
    } catch (error) {
      throw new TetherError(
        'TETHER_STORE_UNAVAILABLE',
        'store unavailable; try again shortly',
        undefined,
        {
          cause: error,
        },
      );
    }
  };

  const startSession = async (
    session: LiveSession,
    connection: RpcConnection,
    pty: { cols?: number; rows?: number; command?: string[] } | undefined,
  ) => {
    attach(session, connection);
    if (pty) {
      try {
        const size = clampTerminalSize(pty.cols ?? 80, pty.rows ?? 24);
        await runtime.openTerminal(session, size, pty.command);
      } catch (error) {
        // A session whose requested terminal could not start is not handed out half-made.
        await registry.closeSession(session.id, 'client_close');
        throw error;
      }
    }
    registry.markStarted(session);
  };

  return {
    'gateway.info': { handler: () => deps.info() },

    'session.create': {
      params: {
        title: { type: 'string', optional: true, maxLength: MAX_TITLE_CHARS },
        cwd: { type: 'string', optional: true, maxLength: 4096 },
        agent: { type: 'string', optional: true, nonEmpty: true, maxLength: 200 },
        close_on_disconnect: { type: 'boolean', optional: true },
        pty: { type: 'object', optional: true },
      },
      async handler(
        params: {
          title?: string;
          cwd?: string;
          agent?: string;
          close_on_disconnect?: boolean;
          pty?: { cols?: unknown; rows?: unknown; command?: unknown };
        },
        { connection },
      ) {
        const pty = params.pty ? validatePty(params.pty) : undefined;
        const cwd = await resolveCwd(params.cwd, deps.defaultCwd);
        const session = registry.create({
          title: params.title ?? 'untitled',
          cwd,
          agent: params.agent ?? 'shell',
          closeOnDisconnect: params.close_on_disconnect ?? false,
        });
        await startSession(session, connection, pty);
        return { session: session.view() };
      },
    },

    'session.attach': {
      params: { ...sessionIdParam, since_seq: { type: 'integer', optional: true, min: 0 } },
      handler(params: { session_id: string; since_seq?: number }, { connection }) {
        const session = registry.require(params.session_id);
        // Snapshot before attaching: the attach's own status event goes out live, and must
        // not come back a second time inside the replay.
        const replay = session.eventsSince(params.since_seq ?? session.seq);
        attach(session, connection);
        return { session: session.view(), events: replay.events, truncated: replay.truncated };
      },
    },

    'session.detach': {
      params: sessionIdParam,
      handler(params: { session_id: string }, { connection }) {
        registry.require(params.session_id);
        clients.noteDetached(connection, params.session_id);
        registry.detach(params.session_id, connection.id);
        return { detached: true };
      },
    },

    'session.close': {
      params: sessionIdParam,
      async handler(params: { session_id: string }) {
        const claim = registry.requestClose(params.session_id, 'client_close');
        if (!claim) return { closed: false };
        await claim.done;
        return { closed: claim.isFirstClaim };
      },
    },

    'session.list': {
      handler: () => ({ sessions: registry.list().map((session) => session.view()) }),
    },

    'session.history': {
      params: {
        limit: { type: 'integer', optional: true, min: 1, max: 1000 },
        before: { type: 'string', optional: true, maxLength: 64 },
      },
      async handler(params: { limit?: number; before?: string }) {
        if (params.before !== undefined && Number.isNaN(Date.parse(params.before))) {
          throw invalidParams('before', 'an ISO 8601 time');
        }
        const sessions = await readStore(() =>
          store.listSessions({
            limit: params.limit ?? 50,
            ...(params.before ? { before: params.before } : {}),
          }),
        );
        return { sessions: sessions.map(storedView) };
      },
    },

    'session.resume': {
      params: sessionIdParam,
      async handler(params: { session_id: string }, { connection }) {
        const live = registry.get(params.session_id);
        const turns = async () =>
          (await readStore(() => store.listTurns(params.session_id, 50))).map(turnView);
        if (live) {
          attach(live, connection);
          return { session: live.view(), turns: await turns() };
        }
        const stored = await readStore(() => store.getSession(params.session_id));
        if (!stored) {
          throw new TetherError(
            'TETHER_SESSION_NOT_FOUND',
            `session ${params.session_id} not found`,
            {
              session_id: params.session_id,
            },
          );
        }
        const cwd = await resolveCwd(stored.cwd, deps.defaultCwd).catch(() => deps.defaultCwd);
        const session = registry.create({
          cwd,
          agent: 'shell',
          closeOnDisconnect: false,
          resume: { sessionId: stored.sessionId, title: stored.title, createdAt: stored.createdAt },
        });
        await startSession(session, connection, undefined);
        return { session: session.view(), turns: await turns() };
      },
    },

    'session.turns': {
      params: { ...sessionIdParam, limit: { type: 'integer', optional: true, min: 1, max: 1000 } },
      async handler(params: { session_id: string; limit?: number }) {
        const isKnown =
          registry.get(params.session_id) !== undefined ||
          (await readStore(() => store.getSession(params.session_id))) !== null;
        if (!isKnown) {
          throw new TetherError(
            'TETHER_SESSION_NOT_FOUND',
            `session ${params.session_id} not found`,
            {
              session_id: params.session_id,
            },
          );
        }
        const turns = await readStore(() => store.listTurns(params.session_id, params.limit ?? 50));
        return { turns: turns.map(turnView) };
      },
    },

    'prompt.submit': {
      params: {
        ...sessionIdParam,
        text: { type: 'string', nonEmpty: true, maxLength: MAX_TEXT_CHARS },
      },
      async handler(params: { session_id: string; text: string }) {
        const session = use(params.session_id);
        return { turn_id: await runtime.submitPrompt(session, params.text) };
      },
    },

    'session.interrupt': {
      params: sessionIdParam,
      async handler(params: { session_id: string }) {
        const session = use(params.session_id);
        if (!session.running || !session.worker) return { interrupted: false };
        return { interrupted: await session.worker.interrupt() };
      },
    },

    'slash.exec': {
      params: {
        ...sessionIdParam,
        command: { type: 'string', nonEmpty: true, maxLength: MAX_TEXT_CHARS },
      },
      async handler(params: { session_id: string; command: string }) {
        if (!params.command.startsWith('/'))
          throw invalidParams('command', 'a slash command starting with "/"');
        const session = use(params.session_id);
        const worker = await runtime.ensureWorker(session);
        const result = await worker.exec(params.command);
        if (result.title !== undefined && registry.isCurrent(session)) {
          session.title = result.title.slice(0, MAX_TITLE_CHARS);
          const title = session.title;
          void registry.outbox.enqueue(`setTitle ${session.id}`, () =>
            store.setTitle(session.id, title),
          );
          registry.emitStatus(session);
        }
        return { output: result.output };
      },
    },

    'pty.open': {
      params: {
        ...sessionIdParam,
        cols: { type: 'integer', optional: true },
        rows: { type: 'integer', optional: true },
        command: { type: 'string[]', optional: true, nonEmpty: true },
      },
      async handler(params: {
        session_id: string;
        cols?: number;
        rows?: number;
        command?: string[];
      }) {
        const session = use(params.session_id);
        const size = clampTerminalSize(params.cols ?? 80, params.rows ?? 24);
        const terminal = await runtime.openTerminal(session, size, params.command);
        return { pty: { cols: terminal.cols, rows: terminal.rows, pid: terminal.pid } };
      },
    },

    'pty.write': {
      params: { ...sessionIdParam, data: { type: 'string' } },
      handler(params: { session_id: string; data: string }) {
        const session = use(params.session_id);
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(params.data)) throw invalidParams('data', 'base64');
        requireTerminal(session).write(Buffer.from(params.data, 'base64'));
        return {};
      },
    },

    'pty.resize': {
      params: { ...sessionIdParam, cols: { type: 'number' }, rows: { type: 'number' } },
      handler(params: { session_id: string; cols: number; rows: number }) {
        const session = registry.require(params.session_id);
        const terminal = requireTerminal(session);
        const before = { cols: terminal.cols, rows: terminal.rows };
        const applied = terminal.resize(params.cols, params.rows);
        // A resize that changes nothing is not user activity (it must not keep a session alive).
        if (applied.cols !== before.cols || applied.rows !== before.rows) {
          registry.touch(session);
          registry.emitStatus(session);
        }
        return applied;
      },
    },
  };
}

function requireTerminal(session: LiveSession) {
  const terminal = session.terminal;
  if (!terminal || terminal.exitStatus) {
    throw new TetherError(
      'TETHER_TERMINAL_EXITED',
      terminal ? 'the terminal has exited' : 'no terminal is open',
      {
        session_id: session.id,
      },
    );
  }
  return terminal;
}

function validatePty(pty: { cols?: unknown; rows?: unknown; command?: unknown }) {
  const command = pty.command;
  if (
    command !== undefined &&
    (!Array.isArray(command) ||
      command.length === 0 ||
      !command.every((part) => typeof part === 'string'))
  ) {
    throw invalidParams('pty.command', 'a non-empty array of strings');
  }
  if (pty.cols !== undefined && typeof pty.cols !== 'number')
    throw invalidParams('pty.cols', 'an integer');
  if (pty.rows !== undefined && typeof pty.rows !== 'number')
    throw invalidParams('pty.rows', 'an integer');
  return {
    ...(pty.cols !== undefined ? { cols: pty.cols as number } : {}),
    ...(pty.rows !== undefined ? { rows: pty.rows as number } : {}),
    ...(command ? { command: command as string[] } : {}),
  };
}
