import { TetherError, type Logger } from '@tether/core';
import { describe, expect, it } from 'vitest';
import type { RpcConnection } from './connection.js';
import { createDispatcher } from './dispatcher.js';

// The dispatcher is under test; the connection is only context it hands to handlers.
const connection: RpcConnection = {
  id: 'test',
  transport: 'ws',
  isOpen: true,
  notify: () => undefined,
  close: () => undefined,
  onClose: () => ({ dispose: () => undefined }),
};

function recordingLogger(): Logger & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  const logger: Logger & { errors: unknown[][] } = {
    errors,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (obj, msg) => void errors.push([obj, msg]),
    child: () => logger,
  };
  return logger;
}

const logger = recordingLogger();
const dispatcher = createDispatcher(
  {
    echo: {
      params: {
        text: { type: 'string', maxLength: 10, nonEmpty: true },
        count: { type: 'integer', optional: true, min: 1, max: 5 },
        ratio: { type: 'number', optional: true },
        flag: { type: 'boolean', optional: true },
        opts: { type: 'object', optional: true },
        list: { type: 'array', optional: true },
        argv: { type: 'string[]', optional: true, nonEmpty: true },
      },
      handler: (params) => ({ echoed: params }),
    },
    nothing: { handler: () => undefined },
    'fails.tether': {
      handler: () => {
        throw new TetherError('TETHER_SESSION_NOT_FOUND', 'session not found: s1', {
          session_id: 's1',
        });
      },
    },
    'fails.plain': {
      handler: async () => {
        throw new Error('secret path /etc/shadow exploded');
      },
    },
  },
  { logger, maxMessageBytes: 2048 },
);

async function call(raw: string | object): Promise<any> {
  return dispatcher.handle(typeof raw === 'string' ? raw : JSON.stringify(raw), connection);
}

const request = (method: string, params?: unknown, id: unknown = 1) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

describe('createDispatcher', () => {
  it('answers a valid request with its result and id', async () => {
    const response = await call(request('echo', { text: 'hi', extra: true }, 'abc'));
    expect(response).toEqual({
      jsonrpc: '2.0',
      id: 'abc',
      result: { echoed: { text: 'hi', extra: true } },
    });
  });

  it('turns an undefined result into {}', async () => {
    expect((await call(request('nothing'))).result).toEqual({});
  });

  it('answers invalid JSON with -32700 and a null id', async () => {
    const response = await call('{"jsonrpc":"2.0","id":1,');
    expect(response).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it.each([
    ['a number', '42'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"echo"}]'],
    ['an empty batch', '[]'],
    ['a missing jsonrpc', '{"id":1,"method":"echo"}'],
    ['a wrong jsonrpc', '{"jsonrpc":"1.0","id":1,"method":"echo"}'],
    ['a numeric jsonrpc', '{"jsonrpc":2,"id":1,"method":"echo"}'],
    ['a missing method', '{"jsonrpc":"2.0","id":1}'],
    ['a numeric method', '{"jsonrpc":"2.0","id":1,"method":7}'],
    ['an object id', '{"jsonrpc":"2.0","id":{},"method":"echo"}'],
    ['a boolean id', '{"jsonrpc":"2.0","id":true,"method":"echo"}'],
    ['a fractional id', '{"jsonrpc":"2.0","id":1.5,"method":"echo"}'],
    ['an unsafe integer id', '{"jsonrpc":"2.0","id":9007199254740993,"method":"echo"}'],
    ['a 129-character id', JSON.stringify(request('echo', {}, 'x'.repeat(129)))],
  ])('answers %s with -32600', async (_name, raw) => {
    const response = await call(raw);
    expect(response.error.code).toBe(-32600);
    expect(response.jsonrpc).toBe('2.0');
  });

  it('answers batches and bad ids with a null id', async () => {
    expect((await call('[1,2]')).id).toBeNull();
    expect((await call(request('echo', {}, 'x'.repeat(129)))).id).toBeNull();
  });

  it('accepts a 128-character id and echoes it', async () => {
    const id = 'y'.repeat(128);
    expect((await call(request('nothing', undefined, id))).id).toBe(id);
  });

  it('answers an unknown method with -32601, also for prototype names', async () => {
    for (const method of ['nope', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect((await call(request(method))).error.code).toBe(-32601);
    }
  });

  it('answers non-object params with -32602 naming params', async () => {
    for (const params of [[1, 2], 'text', 5, null]) {
      const response = await call(request('echo', params));
      expect(response.error).toMatchObject({
        code: -32602,
        data: { field: 'params', expected: 'object' },
      });
    }
  });

  it.each([
    ['text', {}, 'missing required'],
    ['text', { text: 5 }, 'wrong type'],
    ['text', { text: '' }, 'empty'],
    ['text', { text: 'x'.repeat(11) }, 'too long'],
    ['count', { text: 'a', count: 1.5 }, 'not an integer'],
    ['count', { text: 'a', count: 0 }, 'below min'],
    ['count', { text: 'a', count: 6 }, 'above max'],
    ['count', { text: 'a', count: '3' }, 'a numeric string'],
    ['ratio', { text: 'a', ratio: 'x' }, 'not a number'],
    ['flag', { text: 'a', flag: 1 }, 'not a boolean'],
    ['opts', { text: 'a', opts: [] }, 'an array for an object'],
    ['opts', { text: 'a', opts: null }, 'null for an object'],
    ['list', { text: 'a', list: {} }, 'an object for an array'],
    ['argv', { text: 'a', argv: ['ls', 1] }, 'a mixed array for string[]'],
    ['argv', { text: 'a', argv: [] }, 'an empty string[]'],
    ['text', { text: 5, count: 0 }, 'two bad fields (first wins)'],
  ])('answers -32602 with data.field=%s for %s (%s)', async (field, params, _why) => {
    const response = await call(request('echo', params));
    expect(response.error.code).toBe(-32602);
    expect(response.error.data.field).toBe(field);
    expect(typeof response.error.data.expected).toBe('string');
  });

  it('does not let an inherited __proto__ field satisfy a required param', async () => {
    const response = await call(
      '{"jsonrpc":"2.0","id":1,"method":"echo","params":{"__proto__":{"text":"a"}}}',
    );
    expect(response.error).toMatchObject({ code: -32602, data: { field: 'text' } });
  });

  it('maps a TetherError to its rpc code, message and data', async () => {
    const response = await call(request('fails.tether'));
    expect(response.error).toEqual({
      code: 4001,
      message: 'session not found: s1',
      data: { session_id: 's1' },
    });
  });

  it('maps any other throw to -32603 without leaking it, and logs it', async () => {
    const before = logger.errors.length;
    const response = await call(request('fails.plain'));
    expect(response.error.code).toBe(-32603);
    expect(response.error.message).toBe('internal error');
    expect(JSON.stringify(response)).not.toContain('shadow');
    expect(logger.errors.length).toBe(before + 1);
    expect(String((logger.errors.at(-1)?.[0] as { err: Error }).err.message)).toContain('shadow');
  });

  it('answers an oversize message with 4029 before parsing it', async () => {
    const response = await call(request('echo', { text: 'x'.repeat(4096) }));
    expect(response.error).toMatchObject({
      code: 4029,
      data: { limit: 'message_bytes', max_bytes: 2048 },
    });
    expect(response.id).toBeNull();
  });

  it('returns null for notifications, even failing ones', async () => {
    expect(await call({ jsonrpc: '2.0', method: 'echo', params: { text: 'a' } })).toBeNull();
    expect(await call({ jsonrpc: '2.0', method: 'nope' })).toBeNull();
    expect(await call({ jsonrpc: '2.0', method: 'fails.plain' })).toBeNull();
  });

  it('refuse() echoes the id of a readable request and stays silent for notifications', () => {
    const error = new TetherError('TETHER_LIMIT_REACHED');
    expect(dispatcher.refuse(JSON.stringify(request('echo', {}, 7)), error)).toMatchObject({
      id: 7,
      error: { code: 4029 },
    });
    expect(dispatcher.refuse('{"jsonrpc":"2.0","method":"echo"}', error)).toBeNull();
    expect(dispatcher.refuse('garbage', error)).toMatchObject({ id: null });
  });
});
