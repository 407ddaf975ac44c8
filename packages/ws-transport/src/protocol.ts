/**
 * Wire types of Tether's JSON-RPC 2.0 protocol (PROTOCOL.md). Changing a name here is a
 * breaking change for every client.
 */

/** The protocol version announced in `gateway.ready`. */
export const PROTOCOL_VERSION = 1;

export type RpcId = string | number | null;

export interface RpcRequest {
  jsonrpc: '2.0';
  /** Absent for notifications. */
  id?: RpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

/** A server-pushed event; sent as the params of an `event` notification. */
export interface EventMessage {
  type: string;
  session_id?: string;
  seq?: number;
  payload: Record<string, unknown>;
}

/** The `event` notification that carries an EventMessage. */
export interface EventNotification {
  jsonrpc: '2.0';
  method: 'event';
  params: EventMessage;
}

/** Payload of the first event on every connection. */
export interface GatewayReady {
  version: string;
  instance_id: string;
  protocol: number;
}

export const EVENT_METHOD = 'event';
export const READY_EVENT = 'gateway.ready';

/** Default bound on one message (frame or line), in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

export function eventNotification(event: EventMessage): EventNotification {
  return { jsonrpc: '2.0', method: EVENT_METHOD, params: event };
}

export function errorResponse(id: RpcId, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: '2.0', id, error };
}
