import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  SessionRegistry,
  readProcStat,
  secondsToMs,
  systemClock,
  type Clock,
  type Logger,
  type TetherConfig,
} from '@tether/core';
import { spawnPtySession } from '@tether/pty-bridge';
import { spawnSlashWorker } from '@tether/slash-worker';
import { createSessionStore, type SqlSessionStore } from '@tether/store';
import {
  PROTOCOL_VERSION,
  attachWebSocketRpc,
  createDispatcher,
  isOriginAllowed,
  rejectUpgrade,
  serveStdio,
  tokenFromRequest,
  tokensEqual,
  type Dispatcher,
  type RpcConnection,
} from '@tether/ws-transport';
import { WebSocketServer } from 'ws';
import { ClientTracker } from './clients.js';
import { createHttpHandler } from './http.js';
import { createMethods } from './methods.js';
import { createMetrics } from './metrics.js';
import { servePtySocket } from './pty-socket.js';
import { PtySocketStats, registerPtyGauges } from './pty-socket-stats.js';
import { findLiveGateway, removeRuntimeFile, writeRuntimeFile } from './runtime-file.js';
import { SessionRuntime } from './session-runtime.js';
import { sweepDeadInstances } from './startup-sweep.js';
import { failFastOnBusyLock } from './store-busy.js';
import { startGuardian } from './guardian-launcher.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  config: TetherConfig;
  logger: Logger;
  warnings: string[];
  /** Serve JSON-RPC on these streams instead of listening on TCP. */
  stdio?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
  clock?: Clock;
}

export interface Gateway {
  readonly instanceId: string;
  readonly url: string | null;
  readonly port: number | null;
  readonly registry: SessionRegistry;
  /** Resolves when a stdio client hung up (stdio mode only). */
  readonly stdioDone: Promise<void> | null;
  shutdown(reason: string): Promise<void>;
}

/** Per-socket watermarks for the terminal stream (unwritten bytes). */
const PTY_HIGH_WATERMARK_BYTES = 1024 * 1024;
const PTY_LOW_WATERMARK_BYTES = 256 * 1024;
/** Largest terminal input frame (a paste); larger ones close the socket with 1009. */
const PTY_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const WORKER_MAX_RESTARTS = 5;
const WORKER_RESTART_WINDOW_MS = 60_000;

/**
 * Wires the packages into one gateway. Order of start: store, start-up sweep of dead
 * predecessors, registry and reapers, then listeners. Shutdown runs it backwards (see
 * `shutdown`).
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const instanceId = randomUUID();
  const token = config.token ?? randomBytes(24).toString('base64url');
  const startedAt = new Date();
  const log = logger.child({ instanceId });
  if (!options.stdio) {
    const other = await findLiveGateway(config.home);
    if (other) {
      throw new Error(
        `another gateway (pid ${other.pid}, ${other.url}) is already serving ${config.home}; ` +
          'stop it, or give this one another --home',
      );
    }
  }

  const store = await createSessionStore({
    ...(config.dbUrl ? { url: config.dbUrl } : { sqlitePath: join(config.home, 'tether.db') }),
    logger: log,
  });
  const ownStat = await readProcStat(process.pid);
  await store.recordProcess({
    pid: process.pid,
    startTime: ownStat?.startTime ?? 0,
    kind: 'gateway',
    sessionId: null,
    runId: null,
    instanceId,
  });
  const guardian = startGuardian(instanceId, config.killGraceMs, log);
  const guardianStat = guardian ? await readProcStat(guardian.pid) : null;
  if (guardian && guardianStat) {
    await store.recordProcess({
      pid: guardian.pid,
      startTime: guardianStat.startTime,
      kind: 'guardian',
      sessionId: null,
      runId: null,
      instanceId,
    });
  }
  const sweep = await sweepDeadInstances(store, instanceId, config.killGraceMs, log);
  await failFastOnBusyLock(store);
  log.info({ ...sweep, sessionId: null }, 'start-up sweep done');

  const registry = new SessionRegistry({
    instanceId,
    clock,
    logger: log,
    store,
    limits: {
      maxSessions: config.maxSessions,
      graceMs: secondsToMs(config.graceS),
      idleTtlMs: secondsToMs(config.idleTtlS),
      busyCapMs: secondsToMs(config.busyCapS),
      reapIntervalMs: secondsToMs(config.reapIntervalS),
      killGraceMs: config.killGraceMs,
      replayEvents: config.replayEvents,
    },
  });
  const metrics = createMetrics(registry, store, instanceId);
  const ptyStats = new PtySocketStats();
  registerPtyGauges(metrics.registry, ptyStats);
  registry.onClosed((_session, result) => {
    metrics.closed.inc({ reason: result.reason });
    metrics.teardownSeconds.observe(result.durationMs / 1000);
  });

  const runtime = new SessionRuntime(
    registry,
    store,
    (workerOptions) => spawnSlashWorker(workerOptions, { logger: log }),
    (terminalOptions) => spawnPtySession(terminalOptions, { logger: log }),
    {
      instanceId,
      plugins: config.plugins,
      workerTimeoutMs: secondsToMs(config.workerTimeoutS),
      watchdogPollMs: secondsToMs(config.watchdogPollS),
      watchdogGraceMs: secondsToMs(config.watchdogGraceS),
      killGraceMs: config.killGraceMs,
      replayBytes: config.replayBytes,
      maxRestarts: WORKER_MAX_RESTARTS,
      restartWindowMs: WORKER_RESTART_WINDOW_MS,
    },
    log,
    metrics,
  );
  const clients = new ClientTracker(registry);
  const info = () => ({
    version: VERSION,
    instance_id: instanceId,
    started_at: startedAt.toISOString(),
    config: publicConfig(config),
    warnings: options.warnings,
  });
  const dispatcher = createDispatcher(
    createMethods({ registry, store, runtime, clients, info, defaultCwd: process.cwd() }),
    { logger: log, maxMessageBytes: config.maxMessageBytes },
  );
  const greet = (connection: RpcConnection) => {
    clients.track(connection);
    connection.notify({
      type: 'gateway.ready',
      payload: { version: VERSION, instance_id: instanceId, protocol: PROTOCOL_VERSION },
    });
  };
  registry.startReapers();

  let server: Server | null = null;
  let wss: WebSocketServer | null = null;
  let ptyWss: WebSocketServer | null = null;
  let url: string | null = null;
  let port: number | null = null;
  let stdioDone: Promise<void> | null = null;

  if (options.stdio) {
    const connection = serveStdio(options.stdio.input, options.stdio.output, dispatcher, {
      logger: log,
      maxMessageBytes: config.maxMessageBytes,
    });
    greet(connection);
    stdioDone = connection.done;
  } else {
    server = createServer(
      createHttpHandler({ token, metrics: metrics.registry, health: () => health() }),
    );
    const sockets = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes * 2 });
    // Terminal input frames are raw pastes, not RPC messages: they get their own, larger bound.
    const ptySockets = new WebSocketServer({ noServer: true, maxPayload: PTY_MAX_FRAME_BYTES });
    wss = sockets;
    ptyWss = ptySockets;
    server.on('upgrade', (req, socket, head) =>
      routeUpgrade(req, socket, head, {
        wss: sockets,
        ptyWss: ptySockets,
        token,
        config,
        dispatcher,
        greet,
        registry,
        ptyStats,
        logger: log,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    url = `ws://${host}:${port}/rpc`;
    await writeRuntimeFile(config.home, {
      url,
      port,
      pid: process.pid,
      instance_id: instanceId,
      token,
    });
    log.info({ sessionId: null, url, port, home: config.home }, 'gateway listening');
  }

  const health = () => ({
    ok: true,
    sessions: registry.size,
    uptime_s: Math.round((Date.now() - startedAt.getTime()) / 1000),
  });

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (reason: string) => {
    shuttingDown ??= runShutdown(reason);
    return shuttingDown;
  };

  /** Fixed, logged order: stop accepting, stop restarts and reapers, end sessions, store, file. */
  async function runShutdown(reason: string): Promise<void> {
    const startedMs = clock.now();
    log.info({ sessionId: null, reason, sessions: registry.size }, 'gateway shutting down');
    runtime.isShuttingDown = true;
    registry.stopReapers();
    const closingServer = server
      ? new Promise<void>((resolve) => server!.close(() => resolve()))
      : null;
    const results = await registry.closeAll('shutdown');
    const isDrained = await registry.outbox.drained(5000);
    if (!isDrained)
      log.error(
        { sessionId: null, pending: registry.outbox.pending },
        'store writes lost at shutdown',
      );
    await store.forgetProcesses({ instanceId }).catch((error: unknown) => {
      log.warn({ sessionId: null, err: error }, 'could not forget process records');
    });
    // Clients have had `session.closed`; now say goodbye so none of them holds the exit open.
    const allSockets = () => [...(wss?.clients ?? []), ...(ptyWss?.clients ?? [])];
    for (const socket of allSockets()) socket.close(1001, 'gateway shutting down');
    await (store as SqlSessionStore).close();
    server?.closeAllConnections();
    for (const socket of allSockets()) socket.terminate();
    await closingServer;
    if (!options.stdio) await removeRuntimeFile(config.home, instanceId);
    // Our own teardown is done; the guardian's sweep now finds nothing and it exits.
    guardian?.release();
    log.info(
      {
        sessionId: null,
        reason,
        closed: results.length,
        durationMs: Math.round(clock.now() - startedMs),
      },
      'gateway stopped',
    );
  }

  return { instanceId, url, port, registry, stdioDone, shutdown };
}

interface UpgradeDeps {
  wss: WebSocketServer;
  ptyWss: WebSocketServer;
  token: string;
  config: TetherConfig;
  dispatcher: Dispatcher;
  greet: (connection: RpcConnection) => void;
  registry: SessionRegistry;
  ptyStats: PtySocketStats;
  logger: Logger;
}

/** Auth and Origin are checked before the upgrade completes: refusals are plain HTTP. */
function routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: UpgradeDeps): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ptyMatch = /^\/pty\/([^/]+)$/.exec(url.pathname);
  if (url.pathname !== '/rpc' && !ptyMatch) {
    rejectUpgrade(socket, 404, 'no such endpoint');
    return;
  }
  const presented = tokenFromRequest(req);
  if (presented === null || !tokensEqual(presented, deps.token)) {
    deps.logger.warn(
      { sessionId: null, path: url.pathname, reason: 'bad_token' },
      'upgrade refused',
    );
    rejectUpgrade(socket, 401, 'unauthorised');
    return;
  }
  if (!isOriginAllowed(req.headers.origin, deps.config.allowOrigins, req.headers.host)) {
    deps.logger.warn(
      { sessionId: null, origin: req.headers.origin, reason: 'bad_origin' },
      'upgrade refused',
    );
    rejectUpgrade(socket, 403, 'origin not allowed');
    return;
  }

  const server = ptyMatch ? deps.ptyWss : deps.wss;
  server.handleUpgrade(req, socket, head, (ws) => {
    if (ptyMatch) {
      const offsetText = url.searchParams.get('offset');
      const offset = offsetText !== null && /^\d+$/.test(offsetText) ? Number(offsetText) : null;
      servePtySocket(
        ws,
        decodeURIComponent(ptyMatch[1]!),
        offset,
        deps.registry,
        {
          highWatermarkBytes: PTY_HIGH_WATERMARK_BYTES,
          lowWatermarkBytes: PTY_LOW_WATERMARK_BYTES,
          stallMs: secondsToMs(deps.config.ptyStallS),
          stats: deps.ptyStats,
        },
        deps.logger,
      );
      return;
    }
    const { heartbeatIntervalS, heartbeatTimeoutS, rateLimitPerS, maxMessageBytes } = deps.config;
    const connection = attachWebSocketRpc(ws, deps.dispatcher, {
      logger: deps.logger,
      maxMessageBytes,
      rateLimit: { perSecond: rateLimitPerS, burst: rateLimitPerS * 2 },
      ...(heartbeatIntervalS > 0
        ? {
            heartbeat: {
              intervalMs: secondsToMs(heartbeatIntervalS),
              timeoutMs: secondsToMs(heartbeatTimeoutS),
            },
          }
        : {}),
    });
    deps.greet(connection);
  });
}

/** Effective configuration for `gateway.info`: never the token or database credentials. */
function publicConfig(config: TetherConfig): Record<string, unknown> {
  const { token: _token, dbUrl, ...rest } = config;
  return {
    ...rest,
    dbUrl: dbUrl ? dbUrl.replace(/\/\/[^@/]*@/, '//***@') : null,
    token: config.token ? '(set)' : '(random)',
  };
}
