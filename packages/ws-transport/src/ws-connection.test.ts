import { TetherError } from '@tether/core';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@tether/test-utils';
import { createDispatcher } from './dispatcher.js';
import { malformedFrames } from './test-fixtures/fuzz.js';
import { rawClient, startTestServer, type TestServer } from './test-fixtures/helpers.js';
import type { RpcConnection } from './connection.js';

const dispatcher = createDispatcher(
  {
    echo: {
      params: { text: { type: 'string' } },
      handler: (params: { text: string }) => ({ text: params.text }),
    },
    slow: {
      params: { delayMs: { type: 'integer', min: 0, max: 1000 } },
      handler: (params: { delayMs: number }) =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ delayMs: params.delayMs }), params.delayMs),
        ),
    },
    busy: {
      handler: () => {
        throw new TetherError('TETHER_SESSION_BUSY');
      },
    },
  },
  { maxMessageBytes: 1024 },
);

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('attachWebSocketRpc', () => {
  it('answers a request over a real socket', async () => {
    server = await startTestServer(dispatcher);
    const client = await rawClient(server.url);
    const response = await client.call({
      jsonrpc: '2.0',
      id: 1,
      method: 'echo',
      params: { text: 'hi' },
    });
    expect(response).toEqual({ jsonrpc: '2.0', id: 1, result: { text: 'hi' } });
    expect((await client.call({ jsonrpc: '2.0', id: 2, method: 'busy' })).error.code).toBe(4009);
    client.ws.close();
  });

  it('survives 10 000 seeded malformed frames with only error replies', async () => {
    server = await startTestServer(dispatcher, { maxPayload: 1024 * 1024 });
    const client = await rawClient(server.url);
    const frames = malformedFrames(0x7e7e, 10_000).map((frame) =>
      // Keep every frame under the dispatcher limit so each reaches the parser.
      Buffer.byteLength(frame) > 1024 ? frame.slice(0, 300) : frame,
    );
    for (const frame of frames) client.ws.send(frame);
    client.ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'echo', params: { text: 'alive' } }),
    );
    await client.waitForCount(frames.length + 1);

    const errors = client.messages.filter((message) => message.error);
    const results = client.messages.filter((message) => 'result' in message);
    const codes = new Set(errors.map((message) => message.error.code));
    console.log(
      `fuzz: ${frames.length} frames, ${errors.length} errors, codes ${[...codes].join(',')}`,
    );
    expect(errors.length).toBe(frames.length);
    expect(results).toEqual([{ jsonrpc: '2.0', id: 'final', result: { text: 'alive' } }]);
    for (const code of codes) expect([-32700, -32600, -32601, -32602]).toContain(code);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(server.connections[0]?.isOpen).toBe(true);
    client.ws.close();
  });

  it('answers a binary frame with -32600 and keeps the connection', async () => {
    server = await startTestServer(dispatcher);
    const client = await rawClient(server.url);
    const payload = Buffer.from(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: { text: 'b' } }),
    );
    const response = await client.call(payload);
    expect(response).toMatchObject({ id: null, error: { code: -32600 } });
    expect(response.error.message).toContain('binary');
    const next = await client.call({
      jsonrpc: '2.0',
      id: 2,
      method: 'echo',
      params: { text: 'still' },
    });
    expect(next.result).toEqual({ text: 'still' });
    client.ws.close();
  });

  it('refuses requests above the rate limit with 4029 for the same id', async () => {
    server = await startTestServer(dispatcher, { rateLimit: { perSecond: 2, burst: 5 } });
    const client = await rawClient(server.url);
    for (let id = 1; id <= 20; id += 1) {
      client.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'echo', params: { text: 'r' } }));
    }
    await client.waitForCount(20);
    const limited = client.messages.filter((message) => message.error?.code === 4029);
    const answered = client.messages.filter((message) => message.result);
    expect(answered.length).toBeGreaterThanOrEqual(5);
    expect(answered.length).toBeLessThanOrEqual(7);
    expect(limited.length).toBe(20 - answered.length);
    expect(limited[0].error.data).toMatchObject({ limit: 'rate' });
    expect(new Set(client.messages.map((message) => message.id)).size).toBe(20);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.ws.close();
  });

  it('answers 4029 above maxMessageBytes; ws closes 1009 above maxPayload', async () => {
    server = await startTestServer(dispatcher, { maxPayload: 4096 });
    const client = await rawClient(server.url);
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'echo',
      params: { text: 'x'.repeat(2000) },
    });
    const response = await client.call(big);
    expect(response.error).toMatchObject({
      code: 4029,
      data: { limit: 'message_bytes', max_bytes: 1024 },
    });
    expect(
      (await client.call({ jsonrpc: '2.0', id: 2, method: 'echo', params: { text: 'ok' } })).result,
    ).toEqual({ text: 'ok' });

    const closedOnServer = new Promise<{ code: number }>((resolve) =>
      server?.connections[0]?.onClose(resolve),
    );
    client.ws.send('x'.repeat(5000));
    expect((await client.closed).code).toBe(1009);
    expect(await closedOnServer).toEqual({
      code: 1009,
      reason: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    });
  });

  it('sends responses in completion order, not request order', async () => {
    server = await startTestServer(dispatcher);
    const client = await rawClient(server.url);
    client.ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 'slow', method: 'slow', params: { delayMs: 150 } }),
    );
    client.ws.send(
      JSON.stringify({ jsonrpc: '2.0', id: 'fast', method: 'slow', params: { delayMs: 0 } }),
    );
    await client.waitForCount(2);
    expect(client.messages.map((message) => message.id)).toEqual(['fast', 'slow']);
    client.ws.close();
  });

  it('delivers notify() as event notifications and drops them silently once closed', async () => {
    server = await startTestServer(dispatcher);
    const connected = server.nextConnection();
    const client = await rawClient(server.url);
    const connection = await connected;
    connection.notify({ type: 'turn.output', session_id: 's1', seq: 1, payload: { data: 'x' } });
    await client.waitForCount(1);
    expect(client.messages[0]).toEqual({
      jsonrpc: '2.0',
      method: 'event',
      params: { type: 'turn.output', session_id: 's1', seq: 1, payload: { data: 'x' } },
    });

    const closeInfo = new Promise((resolve) => connection.onClose(resolve));
    connection.close(4001, 'bye');
    expect(await closeInfo).toEqual({ code: 4001, reason: 'bye' });
    expect(connection.isOpen).toBe(false);
    expect(() => connection.notify({ type: 'late', payload: {} })).not.toThrow();
    expect(() => connection.close()).not.toThrow();
    const late = await new Promise((resolve) => connection.onClose(resolve));
    expect(late).toEqual({ code: 4001, reason: 'bye' });
  });

  it('terminates a slow consumer once its buffer exceeds maxBufferedBytes', async () => {
    let connection: RpcConnection | null = null;
    server = await startTestServer(dispatcher, { maxBufferedBytes: 256 * 1024 });
    const connected = server.nextConnection();
    const client = await rawClient(server.url);
    connection = await connected;
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      connection?.onClose(resolve),
    );
    client.ws.pause();

    const chunk = 'y'.repeat(64 * 1024);
    let sent = 0;
    while (connection.isOpen && sent < 10_000) {
      for (let i = 0; i < 16; i += 1)
        connection.notify({ type: 'pty.data', payload: { data: chunk } });
      sent += 16;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const info = await closed;
    console.log(`slow consumer: terminated after ${sent} events of 64 KiB`);
    expect(info.reason).toBe('slow consumer');
    expect(sent).toBeLessThan(10_000);
    client.ws.terminate();
  });

  it('keeps serving other connections while one is refused', async () => {
    server = await startTestServer(dispatcher, { rateLimit: { perSecond: 1, burst: 1 } });
    const noisy = await rawClient(server.url);
    const quiet = await rawClient(server.url);
    for (let id = 1; id <= 10; id += 1)
      noisy.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'echo' }));
    await waitFor(() => noisy.messages.length === 10);
    const response = await quiet.call({
      jsonrpc: '2.0',
      id: 1,
      method: 'echo',
      params: { text: 'q' },
    });
    expect(response.result).toEqual({ text: 'q' });
    noisy.ws.close();
    quiet.ws.close();
  });
});
