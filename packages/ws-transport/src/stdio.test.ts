import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { leakCheck, uniqueMarker } from '@tether/test-utils';
import { describe, expect, it } from 'vitest';
import { connectStdioRpc, RpcError, spawnStdioRpc } from './client.js';
import { createDispatcher } from './dispatcher.js';
import { serveStdio } from './stdio.js';

const FIXTURE = fileURLToPath(new URL('./test-fixtures/stdio-server.mjs', import.meta.url));
const MARKER_KEY = 'TETHER_WS_TRANSPORT_TEST';

function lineReader(stream: NodeJS.ReadableStream) {
  const lines: any[] = [];
  let buffer = '';
  const waiters: (() => void)[] = [];
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let index: number;
    while ((index = buffer.indexOf('\n')) !== -1) {
      lines.push(JSON.parse(buffer.slice(0, index)));
      buffer = buffer.slice(index + 1);
    }
    for (const waiter of waiters.splice(0)) waiter();
  });
  return {
    lines,
    async waitForCount(count: number): Promise<void> {
      while (lines.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

describe('serveStdio in a real child process', () => {
  it('round-trips requests and events, and ends cleanly on stdin EOF', async () => {
    const marker = uniqueMarker('stdio');
    const client = await spawnStdioRpc(process.execPath, [FIXTURE], {
      env: { ...process.env, [MARKER_KEY]: marker },
      stderr: 'pipe',
    });
    expect(client.ready).toEqual({ version: '0.0.0-test', instance_id: 'fixture', protocol: 1 });
    expect(await client.request('echo', { text: 'über ✓' })).toEqual({ text: 'über ✓' });

    const ticks: number[] = [];
    client.onEvent((event) => {
      if (event.type === 'tick') ticks.push(event.seq ?? -1);
    });
    expect(await client.request('emit', { count: 50 })).toEqual({ emitted: 50 });
    expect(ticks).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    const error = await client.request('echo', { text: 7 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: -32602, data: { field: 'text' } });
    expect(await client.request('nope').catch((e: RpcError) => e.code)).toBe(-32601);

    let stderr = '';
    client.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => client.child.once('exit', resolve));
    const closed = new Promise((resolve) => client.onClose(resolve));
    client.close();
    expect(await exited).toBe(0);
    expect(await closed).toEqual({ code: 1000, reason: 'eof' });
    expect(stderr).toContain('stdin ended');
    expect(client.isOpen).toBe(false);
    await expect(client.request('echo', { text: 'late' })).rejects.toMatchObject({ code: -32001 });

    const leaks = await leakCheck({ markerKey: MARKER_KEY, markerValue: marker });
    expect(leaks).toEqual({ marked: [], zombies: [] });
  });

  it('answers an overlong line with 4029 and keeps serving the next line', async () => {
    const marker = uniqueMarker('stdio-big');
    const child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, [MARKER_KEY]: marker },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const reader = lineReader(child.stdout);
    await reader.waitForCount(1);
    expect(reader.lines[0].params.type).toBe('gateway.ready');

    // 2 MiB in one line against a 4 KiB limit, written in pieces as a pipe would deliver it.
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'echo',
      params: { text: 'x'.repeat(2 << 20) },
    });
    for (let at = 0; at < big.length; at += 65_536) child.stdin.write(big.slice(at, at + 65_536));
    child.stdin.write('\n');
    child.stdin.write('not json\n');
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'echo', params: { text: 'after' } })}\r\n`,
    );
    await reader.waitForCount(4);

    expect(reader.lines[1]).toMatchObject({
      id: null,
      error: { code: 4029, data: { max_bytes: 4096 } },
    });
    expect(reader.lines[2]).toMatchObject({ id: null, error: { code: -32700 } });
    expect(reader.lines[3]).toEqual({ jsonrpc: '2.0', id: 2, result: { text: 'after' } });

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(await leakCheck({ markerKey: MARKER_KEY, markerValue: marker })).toEqual({
      marked: [],
      zombies: [],
    });
  });
});

describe('serveStdio on in-process streams', () => {
  it('queues output behind a stalled reader, then delivers everything in order', async () => {
    const toServer = new PassThrough();
    const fromServer = new PassThrough({ highWaterMark: 1024 });
    const dispatcher = createDispatcher({ ping: { handler: () => ({ pong: true }) } });
    const connection = serveStdio(toServer, fromServer, dispatcher);

    // Nobody reads fromServer yet: every write past the watermark must wait for 'drain'.
    let writeCalls = 0;
    const originalWrite = fromServer.write.bind(fromServer);
    fromServer.write = ((...args: Parameters<typeof originalWrite>) => {
      writeCalls += 1;
      return originalWrite(...args);
    }) as typeof fromServer.write;
    for (let seq = 1; seq <= 1000; seq += 1) {
      connection.notify({
        type: 'turn.output',
        session_id: 's',
        seq,
        payload: { data: 'z'.repeat(100) },
      });
    }
    expect(writeCalls).toBeLessThan(50);

    fromServer.write = originalWrite as typeof fromServer.write;
    const reader = lineReader(fromServer);
    await reader.waitForCount(1000);
    expect(reader.lines.map((line) => line.params.seq)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );

    const closed = new Promise((resolve) => connection.onClose(resolve));
    toServer.end();
    await connection.done;
    expect(await closed).toEqual({ code: 1000, reason: 'eof' });
    expect(connection.isOpen).toBe(false);
    expect(() => connection.notify({ type: 'late', payload: {} })).not.toThrow();
  });

  it('works with connectStdioRpc over a pair of streams', async () => {
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const dispatcher = createDispatcher({
      add: {
        params: { a: { type: 'number' }, b: { type: 'number' } },
        handler: (params: { a: number; b: number }) => ({ sum: params.a + params.b }),
      },
    });
    const connection = serveStdio(toServer, fromServer, dispatcher);
    const clientPromise = connectStdioRpc(fromServer, toServer);
    connection.notify({
      type: 'gateway.ready',
      payload: { version: 'x', instance_id: 'i', protocol: 1 },
    });
    const client = await clientPromise;
    expect(await client.request('add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    client.close();
    await connection.done;
  });
});
