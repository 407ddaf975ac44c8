import { createServer, IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  isLoopbackHost,
  isOriginAllowed,
  rejectUpgrade,
  tokenFromRequest,
  tokensEqual,
} from './auth.js';

function fakeRequest(url: string, headers: Record<string, string> = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = headers;
  return req;
}

describe('tokensEqual', () => {
  it('is true only for identical tokens, whatever the lengths', () => {
    expect(tokensEqual('secret-token', 'secret-token')).toBe(true);
    expect(tokensEqual('secret-token', 'secret-tokeN')).toBe(false);
    expect(tokensEqual('secret-token', 'secret')).toBe(false);
    expect(tokensEqual('', '')).toBe(true);
    expect(tokensEqual('', 'x')).toBe(false);
    expect(tokensEqual('é', 'e\u0301')).toBe(false);
  });
});

describe('tokenFromRequest', () => {
  it('reads a bearer header, else the token query parameter', () => {
    expect(tokenFromRequest(fakeRequest('/rpc', { authorization: 'Bearer abc123' }))).toBe(
      'abc123',
    );
    expect(tokenFromRequest(fakeRequest('/rpc', { authorization: 'bearer  abc123 ' }))).toBe(
      'abc123',
    );
    expect(tokenFromRequest(fakeRequest('/rpc?token=q%2Bv'))).toBe('q+v');
    expect(tokenFromRequest(fakeRequest('/rpc?token=q', { authorization: 'Bearer h' }))).toBe('h');
  });

  it('returns null without a usable token', () => {
    expect(tokenFromRequest(fakeRequest('/rpc'))).toBeNull();
    expect(tokenFromRequest(fakeRequest('/rpc?token='))).toBeNull();
    expect(
      tokenFromRequest(fakeRequest('/rpc', { authorization: 'Basic dXNlcjpwdw==' })),
    ).toBeNull();
    expect(tokenFromRequest(fakeRequest('/rpc', { authorization: 'Bearer' }))).toBeNull();
    expect(tokenFromRequest(fakeRequest('/rpc', { authorization: 'Bearer a b' }))).toBeNull();
  });
});

describe('isOriginAllowed', () => {
  const host = '127.0.0.1:7420';
  it('allows a missing Origin (non-browser clients)', () => {
    expect(isOriginAllowed(undefined, [], host)).toBe(true);
  });
  it("allows the gateway's own page", () => {
    expect(isOriginAllowed('http://127.0.0.1:7420', [], host)).toBe(true);
    expect(isOriginAllowed('HTTP://127.0.0.1:7420', [], host)).toBe(true);
  });
  it('refuses other origins unless listed, and allows all with *', () => {
    expect(isOriginAllowed('http://evil.example', [], host)).toBe(false);
    expect(isOriginAllowed('http://127.0.0.1:7421', [], host)).toBe(false);
    expect(isOriginAllowed('null', [], host)).toBe(false);
    expect(isOriginAllowed('http://evil.example', [], undefined)).toBe(false);
    expect(isOriginAllowed('https://app.example', ['https://app.example'], host)).toBe(true);
    expect(isOriginAllowed('https://app.example.evil', ['https://app.example'], host)).toBe(false);
    expect(isOriginAllowed('http://anything', ['*'], host)).toBe(true);
  });
});

describe('isLoopbackHost', () => {
  it('recognises loopback names with and without ports', () => {
    for (const host of [
      'localhost',
      'localhost:7420',
      '127.0.0.1:1',
      '127.1.2.3',
      '[::1]:7420',
      '[::1]',
    ]) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of [undefined, '', 'evil.example:7420', '127.0.0.1.evil.example', '10.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('rejectUpgrade', () => {
  let http: Server | null = null;
  afterEach(async () => {
    http?.closeAllConnections();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    http = null;
  });

  async function door(): Promise<string> {
    http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      const token = tokenFromRequest(req);
      if (!token || !tokensEqual(token, 'right')) return rejectUpgrade(socket, 401, 'bad token');
      if (!isOriginAllowed(req.headers.origin, [], req.headers.host)) {
        return rejectUpgrade(socket, 403, 'origin not allowed');
      }
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000, 'welcome'));
    });
    await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
    return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/rpc`;
  }

  function attempt(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    return new Promise<{ status?: number; body?: string; opened?: boolean }>((resolve) => {
      const ws = new WebSocket(url, options);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      ws.once('open', () => {
        resolve({ opened: true });
        ws.close();
      });
      ws.once('error', () => undefined);
    });
  }

  it('gives a real ws client 401 without a valid token', async () => {
    const url = await door();
    expect(await attempt(url)).toEqual({ status: 401, body: 'bad token\n' });
    expect(await attempt(url, { headers: { authorization: 'Bearer wrong' } })).toMatchObject({
      status: 401,
    });
  });

  it('gives 403 for a foreign Origin and lets a good client in', async () => {
    const url = await door();
    const headers = { authorization: 'Bearer right' };
    expect(await attempt(url, { headers, origin: 'http://evil.example' })).toMatchObject({
      status: 403,
    });
    expect(await attempt(url, { headers })).toEqual({ opened: true });
    expect(await attempt(`${url}?token=right`)).toEqual({ opened: true });
  });
});
