/**
 * The door: token checks, Origin checks and refusing an upgrade before it completes, so an
 * unauthorised client never gets a WebSocket at all.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time comparison; hashing first keeps the length of the secret from leaking. */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The token from `Authorization: Bearer <token>` or else `?token=<token>`; null if none. */
export function tokenFromRequest(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (match?.[1]) return match[1];
  }

  try {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    return token ? token : null;
  } catch (error) {
    // A request line that is not a URL carries no token; the caller answers 401.
    void error;
    return null;
  }
}

/**
 * Browsers always send Origin; other clients usually do not, and they prove themselves with
 * the token instead. An Origin equal to the gateway's own address is the gateway's own page.
 */
export function isOriginAllowed(
  origin: string | undefined,
  allowed: string[],
  host: string | undefined,
): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;

  const normalised = origin.toLowerCase();
  // LIMITATION: with DNS rebinding, Host and Origin agree on the attacker's name. The token
  // still guards the door. Fix: also require a loopback Host (isLoopbackHost) when bound to
  // loopback.
  if (host && normalised === `http://${host.toLowerCase()}`) return true;
  return allowed.some((entry) => entry.toLowerCase() === normalised);
}

/** True for `localhost`, `127.x.x.x` and `[::1]`, with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** Answers a pending upgrade with a minimal HTTP error and closes the socket. */
export function rejectUpgrade(
  socket: Duplex,
  status: 401 | 403 | 404 | 429,
  message: string,
): void {
  if (socket.destroyed) return;
  // The message goes into the body only, so it cannot inject headers; keep it on one line.
  const body = `${message.replace(/[\r\n]+/g, ' ')}\n`;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body, 'utf8')}`,
  ];
  if (status === 401) head.push('WWW-Authenticate: Bearer');
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  // A peer that never reads would keep 'finish' from firing.
  setTimeout(() => socket.destroy(), 1000).unref();
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
