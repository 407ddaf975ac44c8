/**
 * Finding and connecting to a gateway: an explicit URL, the runtime file
 * `$TETHER_HOME/gateway.json`, or a private gateway spawned over stdio (`--standalone`).
 * Each call of the returned connector makes a fresh attempt, so reconnecting re-reads the
 * runtime file and follows a gateway that restarted on another port.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliOptions } from './cli-args.js';
import { loadTransport, type RpcClient } from './client.js';

/** How the terminal of a session is reached on this connection. */
export type TerminalRoute = { kind: 'ws'; rpcUrl: string; token: string | null } | { kind: 'rpc' };

export interface GatewayConnection {
  client: RpcClient;
  terminal: TerminalRoute;
  /** Where we connected, for messages. */
  description: string;
}

export type Connector = () => Promise<GatewayConnection>;

/** No gateway could be reached; the message says what was tried and what to run. */
export class GatewayNotFoundError extends Error {
  readonly code = 'TETHER_TUI_NO_GATEWAY';

  constructor(tried: string) {
    super(
      `no gateway found: ${tried}.\n` +
        'Start one with `pnpm start` (in the Tether checkout) or `tether-gateway`, ' +
        'or run `tether --standalone` for a private one.',
    );
    this.name = 'GatewayNotFoundError';
  }
}

interface RuntimeFile {
  url: string;
  token: string;
}

const CONNECT_TIMEOUT_MS = 5000;

async function readRuntimeFile(home: string): Promise<RuntimeFile> {
  const path = join(home, 'gateway.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(error);
    throw new GatewayNotFoundError(`tried the runtime file ${path} (${reason})`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<RuntimeFile>;
    if (typeof parsed.url !== 'string') throw new Error('no "url" field');
    return { url: parsed.url, token: typeof parsed.token === 'string' ? parsed.token : '' };
  } catch (error) {
    // A half-written file (gateway starting right now) reads as "not there yet".
    throw new GatewayNotFoundError(`tried the runtime file ${path} (unreadable: ${String(error)})`);
  }
}

async function connectUrl(
  url: string,
  token: string | null,
  source: string,
): Promise<GatewayConnection> {
  const transport = await loadTransport();
  try {
    const client = await transport.connectWebSocketRpc(url, {
      ...(token ? { token } : {}),
      timeoutMs: CONNECT_TIMEOUT_MS,
    });
    return { client, terminal: { kind: 'ws', rpcUrl: url, token }, description: url };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new GatewayNotFoundError(`tried ${url} from ${source} (${message})`);
  }
}

/** The runtime file may hold the gateway's base URL (http or ws); the rpc endpoint is /rpc. */
export function toRpcUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/rpc';
  return parsed.toString();
}

/** The gateway entry used by `--standalone` when `--gateway` is not given. */
export function defaultGatewayPath(): string {
  // dist/connect.js → apps/gateway/dist/main.js in the monorepo.
  return fileURLToPath(new URL('../../gateway/dist/main.js', import.meta.url));
}

async function spawnStandalone(gatewayPath: string, home: string): Promise<GatewayConnection> {
  try {
    await access(gatewayPath);
  } catch {
    // Missing is the common case (not built yet); the spawn error would be less clear.
    throw new GatewayNotFoundError(
      `tried to start ${gatewayPath} --stdio (no such file: build it or pass --gateway PATH)`,
    );
  }
  const transport = await loadTransport();
  try {
    const client = await transport.spawnStdioRpc(
      process.execPath,
      [gatewayPath, '--stdio', '--home', home],
      { stderr: 'ignore' },
    );
    return { client, terminal: { kind: 'rpc' }, description: `standalone gateway ${gatewayPath}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new GatewayNotFoundError(`tried to start ${gatewayPath} --stdio (${message})`);
  }
}

/** A connector for the given options; each call is one connection attempt. */
export function createConnector(options: CliOptions): Connector {
  if (options.isStandalone) {
    const gatewayPath = options.gatewayPath ?? defaultGatewayPath();
    return () => spawnStandalone(gatewayPath, options.home);
  }
  if (options.url !== null) {
    const url = options.url;
    return () => connectUrl(url, options.token, '--url/TETHER_URL');
  }
  return async () => {
    const runtime = await readRuntimeFile(options.home);
    const source = join(options.home, 'gateway.json');
    return connectUrl(toRpcUrl(runtime.url), options.token ?? runtime.token, source);
  };
}
