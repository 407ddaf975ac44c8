/**
 * Serves JSON-RPC on an accepted WebSocket: one message per text frame, responses in
 * completion order, a per-connection rate limit, a bound on what a slow reader may leave
 * queued, and the heartbeat.
 */
import { randomUUID } from 'node:crypto';
import { TetherError, type Logger } from '@tether/core';
import { WebSocket, type RawData } from 'ws';
import { CloseSignal, type RpcConnection } from './connection.js';
import { NO_LOGGER, serializeEvent, serializeResponse, type Dispatcher } from './dispatcher.js';
import { startHeartbeat } from './heartbeat.js';
import { errorResponse, type EventMessage, type RpcResponse } from './protocol.js';
import { TokenBucket } from './rate-limit.js';

export interface WebSocketRpcOptions {
  logger?: Logger;
  /**
   * Frames above this get a 4029 reply and the connection stays. Frames above the ws
   * server's `maxPayload` never reach us: ws closes the socket with 1009. Keep `maxPayload`
   * larger than this so clients get the friendlier error.
   */
  maxMessageBytes?: number;
  rateLimit?: { perSecond: number; burst: number };
  /** A connection whose unsent bytes exceed this is terminated as a slow consumer. */
  maxBufferedBytes?: number;
  heartbeat?: { intervalMs: number; timeoutMs: number };
}

export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

/** The close code ws sent for a protocol error (1009 too big, 1007 bad UTF-8, …). */
function wsErrorStatus(error: Error): number {
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  const status = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  return typeof status === 'number' ? status : 1002;
}

/** Wires `ws` to `dispatcher` and returns the connection handle the gateway keeps. */
export function attachWebSocketRpc(
  ws: WebSocket,
  dispatcher: Dispatcher,
  options: WebSocketRpcOptions = {},
): RpcConnection {
  const id = `ws-${randomUUID()}`;
  const logger = (options.logger ?? NO_LOGGER).child({ connectionId: id, transport: 'ws' });
  const maxMessageBytes = options.maxMessageBytes ?? dispatcher.maxMessageBytes;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const bucket = options.rateLimit
    ? new TokenBucket(options.rateLimit.perSecond, options.rateLimit.burst)
    : null;
  const closeSignal = new CloseSignal();
  // Why the socket ended when we ended it; ws only reports 1006 for a terminate.
  let ownClose: { code: number; reason: string } | null = null;

  const heartbeat = options.heartbeat
    ? startHeartbeat(ws, {
        ...options.heartbeat,
        onDead: () => {
          ownClose ??= { code: 1006, reason: 'heartbeat timeout' };
          logger.warn({ sessionId: null, reason: 'heartbeat_timeout' }, 'connection terminated');
        },
      })
    : null;

  function isOpen(): boolean {
    return !closeSignal.isClosed && ws.readyState === WebSocket.OPEN;
  }

  function terminateSlowConsumer(): void {
    ownClose ??= { code: 1006, reason: 'slow consumer' };
    logger.warn(
      {
        sessionId: null,
        reason: 'slow_consumer',
        bufferedBytes: ws.bufferedAmount,
        maxBufferedBytes,
      },
      'connection terminated',
    );
    ws.terminate();
  }

  function sendText(text: string): void {
    if (!isOpen()) return;
    if (ws.bufferedAmount > maxBufferedBytes) {
      terminateSlowConsumer();
      return;
    }
    ws.send(text, (error) => {
      if (error) logger.debug({ sessionId: null, err: error }, 'send failed');
    });
  }

  function sendResponse(response: RpcResponse | null): void {
    if (response) sendText(serializeResponse(response, logger));
  }

  function refuse(raw: string | null, error: TetherError): void {
    sendResponse(dispatcher.refuse(raw, error));
  }

  function onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const error = new TetherError(
        'TETHER_INVALID_REQUEST',
        'invalid request: binary frames are not accepted',
      );
      sendResponse(errorResponse(null, { code: error.rpcCode, message: error.message }));
      return;
    }

    const bytes = rawLength(data);
    if (bytes > maxMessageBytes) {
      const message = `limit reached: message is ${bytes} bytes, the limit is ${maxMessageBytes}`;
      refuse(
        null,
        new TetherError('TETHER_LIMIT_REACHED', message, {
          limit: 'message_bytes',
          max_bytes: maxMessageBytes,
        }),
      );
      return;
    }

    const raw = rawToString(data);
    if (bucket && !bucket.tryTake()) {
      refuse(
        raw,
        new TetherError('TETHER_LIMIT_REACHED', 'limit reached: too many requests', {
          limit: 'rate',
          per_second: options.rateLimit?.perSecond,
        }),
      );
      return;
    }

    dispatcher.handle(raw, connection).then(sendResponse, (error: unknown) => {
      // handle() turns every failure into a response; reaching here is a bug in this package.
      logger.error({ sessionId: null, err: error }, 'dispatcher rejected');
    });
  }

  ws.on('message', onMessage);
  ws.on('error', (error: Error & { code?: string }) => {
    // ws closes the socket after a protocol error and 'close' follows, but it reports 1006
    // there; keep what really happened for the close listeners.
    ownClose ??= { code: wsErrorStatus(error), reason: error.code ?? 'websocket error' };
    logger.debug({ sessionId: null, err: error }, 'websocket error');
  });
  ws.once('close', (code, reasonBuffer) => {
    heartbeat?.stop();
    ws.off('message', onMessage);
    const info = ownClose ?? { code, reason: reasonBuffer.toString('utf8') };
    logger.debug({ sessionId: null, ...info }, 'connection closed');
    closeSignal.fire(info);
  });

  const connection: RpcConnection = {
    id,
    transport: 'ws',
    get isOpen() {
      return isOpen();
    },
    notify(event: EventMessage): void {
      if (!isOpen()) return;
      const text = serializeEvent(event, logger);
      if (text !== null) sendText(text);
    },
    close(code = 1000, reason = ''): void {
      if (closeSignal.isClosed || ws.readyState >= WebSocket.CLOSING) return;
      ownClose ??= { code, reason };
      try {
        ws.close(code, reason);
      } catch (error) {
        // An invalid code or a reason over 123 bytes: still end the connection.
        logger.warn({ sessionId: null, err: error, code }, 'close refused, terminating');
        ws.terminate();
      }
    },
    onClose: (listener) => closeSignal.subscribe(listener),
  };

  return connection;
}
