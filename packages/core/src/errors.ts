/**
 * One registry of Tether's error codes. A code never changes meaning once released and is
 * never reused; `docs/errors.md` lists each with what a user can do about it.
 */
export const ERROR_CODES = {
  TETHER_PARSE_ERROR: { rpc: -32700, message: 'parse error' },
  TETHER_INVALID_REQUEST: { rpc: -32600, message: 'invalid request' },
  TETHER_UNKNOWN_METHOD: { rpc: -32601, message: 'unknown method' },
  TETHER_INVALID_PARAMS: { rpc: -32602, message: 'invalid params' },
  TETHER_INTERNAL: { rpc: -32603, message: 'internal error' },
  TETHER_SESSION_NOT_FOUND: { rpc: 4001, message: 'session not found or already closed' },
  TETHER_UNAUTHORISED: { rpc: 4003, message: 'not authorised' },
  TETHER_SESSION_BUSY: { rpc: 4009, message: 'session busy: a turn is running' },
  TETHER_LIMIT_REACHED: { rpc: 4029, message: 'limit reached' },
  TETHER_UNKNOWN_SLASH: { rpc: 4040, message: 'unknown slash command' },
  TETHER_TERMINAL_EXITED: { rpc: 4100, message: 'terminal not open, or exited' },
  TETHER_WORKER_FAILED: { rpc: 5030, message: 'worker failed' },
  TETHER_WORKER_TIMEOUT: { rpc: 5031, message: 'worker timed out' },
  TETHER_SPAWN_FAILED: { rpc: 5032, message: 'spawn failed' },
  TETHER_STORE_UNAVAILABLE: { rpc: 5040, message: 'store unavailable' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base error of every Tether package: a stable string `code` and its JSON-RPC number. */
export class TetherError extends Error {
  readonly code: ErrorCode;
  readonly rpcCode: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    data?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message ?? ERROR_CODES[code].message, options);
    this.name = 'TetherError';
    this.code = code;
    this.rpcCode = ERROR_CODES[code].rpc;
    this.data = data;
  }
}

export function isTetherError(value: unknown, code?: ErrorCode): value is TetherError {
  return value instanceof TetherError && (code === undefined || value.code === code);
}

/** -32602 naming the offending field, as PROTOCOL.md asks. */
export function invalidParams(field: string, expected: string): TetherError {
  return new TetherError('TETHER_INVALID_PARAMS', `invalid params: ${field} must be ${expected}`, {
    field,
    expected,
  });
}
