/**
 * One JSON-RPC 2.0 dispatcher for every transport: parses a raw message, checks the envelope
 * and the params, runs the handler and turns every outcome into a response. Malformed input
 * always becomes a JSON-RPC error, never an exception.
 */
import { randomUUID } from 'node:crypto';
import { isTetherError, TetherError, type Logger } from '@tether/core';
import type { RpcConnection } from './connection.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  errorResponse,
  eventNotification,
  type EventMessage,
  type RpcErrorObject,
  type RpcId,
  type RpcResponse,
} from './protocol.js';
import { validateParams, type ParamsSchema } from './validate.js';

/** Longest string id we echo back; longer ids are refused so replies stay small. */
export const MAX_ID_LENGTH = 128;

/** One RPC method: an optional param schema and its handler. */
export interface MethodSpec<P = any> {
  params?: ParamsSchema;
  handler(params: P, ctx: { connection: RpcConnection }): unknown | Promise<unknown>;
}

export interface DispatcherOptions {
  logger?: Logger;
  /** Messages longer than this (UTF-8 bytes) get a 4029 error without being parsed. */
  maxMessageBytes?: number;
}

export interface Dispatcher {
  readonly maxMessageBytes: number;
  /** Resolves with the response to send, or null for a notification (no `id`). */
  handle(raw: string, connection: RpcConnection): Promise<RpcResponse | null>;
  /**
   * The response refusing `raw` with `error` without running it (rate limit, size), echoing
   * its id when one can be read; null when `raw` is a notification.
   */
  refuse(raw: string | null, error: TetherError): RpcResponse | null;
}

const NO_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => NO_LOGGER,
};

type Envelope =
  | { ok: true; id: RpcId | undefined; method: string; params: unknown }
  | { ok: false; id: RpcId; error: TetherError };

function isValidId(id: unknown): id is RpcId {
  if (id === null) return true;
  if (typeof id === 'string') return id.length <= MAX_ID_LENGTH;
  return Number.isSafeInteger(id);
}

function invalidRequest(detail: string): TetherError {
  return new TetherError('TETHER_INVALID_REQUEST', `invalid request: ${detail}`);
}

function toErrorObject(error: TetherError): RpcErrorObject {
  const object: RpcErrorObject = { code: error.rpcCode, message: error.message };
  if (error.data !== undefined) object.data = error.data;
  return object;
}

function readEnvelope(message: unknown): Envelope {
  if (Array.isArray(message)) {
    return { ok: false, id: null, error: invalidRequest('batch requests are not supported') };
  }
  if (typeof message !== 'object' || message === null) {
    return { ok: false, id: null, error: invalidRequest('message must be an object') };
  }

  const fields = message as Record<string, unknown>;
  const hasId = Object.hasOwn(fields, 'id');
  if (hasId && !isValidId(fields.id)) {
    const detail = `id must be a string of <= ${MAX_ID_LENGTH} characters, a safe integer or null`;
    return { ok: false, id: null, error: invalidRequest(detail) };
  }
  const id = hasId ? (fields.id as RpcId) : undefined;
  if (fields.jsonrpc !== '2.0') {
    return { ok: false, id: id ?? null, error: invalidRequest('jsonrpc must be "2.0"') };
  }
  if (typeof fields.method !== 'string') {
    return { ok: false, id: id ?? null, error: invalidRequest('method must be a string') };
  }
  return { ok: true, id, method: fields.method, params: fields.params };
}

function peekId(raw: string): RpcId | undefined {
  try {
    const message: unknown = JSON.parse(raw);
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
    if (!Object.hasOwn(message, 'id')) return undefined;
    const id = (message as { id: unknown }).id;
    return isValidId(id) ? id : null;
  } catch (error) {
    // Unparseable: the refusal goes out with a null id, as JSON-RPC says for unknown ids.
    void error;
    return null;
  }
}

/** Builds the dispatcher. Method names are matched exactly, never via the prototype chain. */
export function createDispatcher(
  methods: Record<string, MethodSpec>,
  options: DispatcherOptions = {},
): Dispatcher {
  const logger = options.logger ?? NO_LOGGER;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const table = new Map(Object.entries(methods));

  function tooLarge(bytes: number): TetherError {
    return new TetherError(
      'TETHER_LIMIT_REACHED',
      `limit reached: message is ${bytes} bytes, the limit is ${maxMessageBytes}`,
      { limit: 'message_bytes', max_bytes: maxMessageBytes },
    );
  }

  async function run(
    spec: MethodSpec,
    method: string,
    params: Record<string, unknown>,
    connection: RpcConnection,
  ): Promise<{ result: unknown } | { error: RpcErrorObject }> {
    try {
      if (spec.params) validateParams(params, spec.params);
      const result = await spec.handler(params, { connection });
      return { result: result === undefined ? {} : result };
    } catch (error) {
      if (isTetherError(error)) return { error: toErrorObject(error) };

      const sessionId = typeof params.session_id === 'string' ? params.session_id : null;
      const errorId = randomUUID();
      logger.error(
        { err: error, method, sessionId, connectionId: connection.id, errorId },
        'rpc handler failed',
      );
      // The message never carries the cause: stacks and paths are not for clients.
      return { error: { code: -32603, message: 'internal error', data: { error_id: errorId } } };
    }
  }

  async function handle(raw: string, connection: RpcConnection): Promise<RpcResponse | null> {
    const bytes = Buffer.byteLength(raw, 'utf8');
    if (bytes > maxMessageBytes) return errorResponse(null, toErrorObject(tooLarge(bytes)));

    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch (error) {
      // The parser's message would echo client bytes; the code says all a client needs.
      void error;
      return errorResponse(null, { code: -32700, message: 'parse error: invalid JSON' });
    }

    const envelope = readEnvelope(message);
    if (!envelope.ok) return errorResponse(envelope.id, toErrorObject(envelope.error));

    const { id, method } = envelope;
    const isNotification = id === undefined;
    const spec = table.get(method);
    if (!spec) {
      if (isNotification) return null;
      return errorResponse(id, {
        code: -32601,
        message: `unknown method: ${method.slice(0, 100)}`,
      });
    }

    let params: Record<string, unknown> = {};
    if (envelope.params !== undefined) {
      const given = envelope.params;
      if (typeof given !== 'object' || given === null || Array.isArray(given)) {
        if (isNotification) return null;
        const error = new TetherError(
          'TETHER_INVALID_PARAMS',
          'invalid params: params must be an object',
          {
            field: 'params',
            expected: 'object',
          },
        );
        return errorResponse(id, toErrorObject(error));
      }
      params = given as Record<string, unknown>;
    }

    const outcome = await run(spec, method, params, connection);
    if (isNotification) return null;
    return 'result' in outcome
      ? { jsonrpc: '2.0', id, result: outcome.result }
      : errorResponse(id, outcome.error);
  }

  function refuse(raw: string | null, error: TetherError): RpcResponse | null {
    const id =
      raw === null || Buffer.byteLength(raw, 'utf8') > maxMessageBytes ? null : peekId(raw);
    if (id === undefined) return null;
    return errorResponse(id, toErrorObject(error));
  }

  return { maxMessageBytes, handle, refuse };
}

/**
 * Serialises a response. A result JSON cannot carry (BigInt, cycles) becomes -32603 for the
 * same id instead of an exception inside a transport.
 */
/** The `event` notification as one line of JSON, or null (logged) if it cannot be sent. */
export function serializeEvent(event: EventMessage, logger: Logger): string | null {
  try {
    return JSON.stringify(eventNotification(event));
  } catch (error) {
    const fields = { sessionId: event.session_id ?? null, err: error, type: event.type };
    logger.error(fields, 'event not serialisable');
    return null;
  }
}

export function serializeResponse(response: RpcResponse, logger?: Logger): string {
  try {
    return JSON.stringify(response);
  } catch (error) {
    logger?.error({ err: error, sessionId: null, id: response.id }, 'rpc result not serialisable');
    return JSON.stringify(errorResponse(response.id, { code: -32603, message: 'internal error' }));
  }
}

export { NO_LOGGER };
