/**
 * The slice of `@tether/ws-transport`'s client API the TUI depends on. Everything else in the
 * TUI imports these types from here, so swapping the transport (or faking it in a test)
 * touches one file.
 */
import type { Disposable } from '@tether/core';
import { connectWebSocketRpc, spawnStdioRpc } from '@tether/ws-transport';

export type { Disposable };

/** A server-pushed event (PROTOCOL.md, Events). */
export interface EventMessage {
  type: string;
  session_id?: string;
  seq?: number;
  payload: Record<string, unknown>;
}

export interface GatewayReadyInfo {
  version: string;
  instance_id: string;
  protocol: number;
}

/** A JSON-RPC client connection to a gateway, over WebSocket or stdio. */
export interface RpcClient {
  readonly ready: GatewayReadyInfo | null;
  request<T = any>(method: string, params?: object, options?: { timeoutMs?: number }): Promise<T>;
  onEvent(listener: (event: EventMessage) => void): Disposable;
  onClose(listener: (info: { code: number; reason: string }) => void): Disposable;
  close(): void;
  readonly isOpen: boolean;
}

/** The JSON-RPC error code of a failed request, if it has one. */
export function rpcErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return code;
  const rpcCode = (error as { rpcCode?: unknown }).rpcCode;
  return typeof rpcCode === 'number' ? rpcCode : undefined;
}

/** A one-line description of a failed request for the status line. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = rpcErrorCode(error);
  return code === undefined ? message : `${message} (${code})`;
}

/** PROTOCOL.md: session not found, or already closed. */
export const SESSION_NOT_FOUND = 4001;

/** The two factories of `@tether/ws-transport` that the TUI uses. */
export interface Transport {
  connectWebSocketRpc(
    url: string,
    options?: { token?: string; origin?: string; timeoutMs?: number },
  ): Promise<RpcClient>;
  spawnStdioRpc(
    command: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string; stderr?: 'inherit' | 'pipe' | 'ignore' },
  ): Promise<RpcClient & { child: import('node:child_process').ChildProcess }>;
}

/** The real transport package, typed through the slice above. */
export async function loadTransport(): Promise<Transport> {
  return { connectWebSocketRpc, spawnStdioRpc };
}
