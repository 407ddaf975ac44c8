/**
 * A `/pty/<id>` client for transport tests: collects output bytes and control frames and
 * resolves when the socket closes, with its code.
 */
import WebSocket from 'ws';
import type { GatewayProcess } from './gateway-process.js';

export interface PtyHello {
  type: 'hello';
  offset: number;
  truncated: boolean;
  cols: number;
  rows: number;
}

export interface PtyClient {
  socket: WebSocket;
  /** Output bytes in arrival order. */
  chunks: Buffer[];
  control: Array<Record<string, unknown>>;
  output(): Buffer;
  byteCount(): number;
  hello: Promise<PtyHello>;
  closed: Promise<{ code: number; reason: string; bytesAtClose: number }>;
}

export function openPty(
  gateway: Pick<GatewayProcess, 'port' | 'token'>,
  sessionId: string,
  options: { offset?: number; port?: number } = {},
): PtyClient {
  const query = options.offset === undefined ? '' : `?offset=${options.offset}`;
  const port = options.port ?? gateway.port;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/pty/${sessionId}${query}`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  const chunks: Buffer[] = [];
  const control: Array<Record<string, unknown>> = [];
  let byteCount = 0;
  let resolveHello!: (hello: PtyHello) => void;
  const hello = new Promise<PtyHello>((resolve) => (resolveHello = resolve));
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      chunks.push(data);
      byteCount += data.length;
      return;
    }
    const frame = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    control.push(frame);
    if (frame.type === 'hello') resolveHello(frame as unknown as PtyHello);
  });
  socket.on('error', () => {
    // 'close' follows and carries what the test needs.
  });
  const closed = new Promise<{ code: number; reason: string; bytesAtClose: number }>((resolve) =>
    socket.on('close', (code, reason) =>
      resolve({ code, reason: reason.toString('utf8'), bytesAtClose: byteCount }),
    ),
  );
  return {
    socket,
    chunks,
    control,
    output: () => Buffer.concat(chunks),
    byteCount: () => byteCount,
    hello,
    closed,
  };
}

/** One scrape of the gateway's /metrics as name → value (unlabelled series only). */
/** The terminal stream's current end: an offset past the end is answered with the end. */
export async function endOffset(
  gateway: Parameters<typeof openPty>[0],
  sessionId: string,
): Promise<number> {
  const probe = openPty(gateway, sessionId, { offset: Number.MAX_SAFE_INTEGER });
  const hello = await probe.hello;
  probe.socket.close();
  await probe.closed;
  return hello.offset;
}

export async function scrapeMetrics(gateway: Pick<GatewayProcess, 'port' | 'token'>) {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/metrics`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*) (\S+)$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}
