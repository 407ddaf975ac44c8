/**
 * @tether/ws-transport: JSON-RPC 2.0 over WebSocket and stdio with one dispatcher, param
 * validation, heartbeat, auth helpers and a client.
 */
export * from './protocol.js';
export type { RpcConnection, CloseInfo } from './connection.js';
export type { ParamSpec, ParamsSchema } from './validate.js';
export { validateParams } from './validate.js';
export {
  createDispatcher,
  serializeResponse,
  MAX_ID_LENGTH,
  type Dispatcher,
  type DispatcherOptions,
  type MethodSpec,
} from './dispatcher.js';
export {
  attachWebSocketRpc,
  DEFAULT_MAX_BUFFERED_BYTES,
  type WebSocketRpcOptions,
} from './ws-connection.js';
export { serveStdio, type StdioRpcConnection, type StdioRpcOptions } from './stdio.js';
export { startHeartbeat, type Heartbeat, type HeartbeatOptions } from './heartbeat.js';
export {
  isLoopbackHost,
  isOriginAllowed,
  rejectUpgrade,
  tokenFromRequest,
  tokensEqual,
} from './auth.js';
export {
  CLIENT_ERROR_CODES,
  connectStdioRpc,
  connectWebSocketRpc,
  RpcError,
  spawnStdioRpc,
  type RpcClient,
  type StdioSpawnOptions,
  type WebSocketClientOptions,
} from './client.js';
