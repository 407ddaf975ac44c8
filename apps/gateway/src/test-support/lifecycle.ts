/**
 * Helpers for the life-cycle tests (src/lifecycle): terminal sockets, marked-process
 * counting, log-line filtering.
 */
import { markedProcesses } from '@tether/test-utils';
import WebSocket from 'ws';
import { logLines, type GatewayProcess } from './gateway-process.js';

/** Opens `/pty/<id>`, waits for it to be open, and returns it. */
export async function openPtySocket(
  gateway: GatewayProcess,
  sessionId: string,
): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}/pty/${sessionId}`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** Types one line into a session's terminal and lets go of the socket. */
export async function typeLine(
  gateway: GatewayProcess,
  sessionId: string,
  line: string,
): Promise<void> {
  const socket = await openPtySocket(gateway, sessionId);
  socket.send(Buffer.from(`${line}\r`));
  socket.close();
}

/** Live processes with this instance marker whose command is `name` (e.g. `sleep`). */
export async function markedNamed(instanceId: string, name: string) {
  return (await markedProcesses('TETHER_INSTANCE_ID', instanceId)).filter(
    (p) => p.command === name,
  );
}

/** The JSON log lines with this message. */
export function linesWithMsg(gateway: GatewayProcess, msg: string) {
  return logLines(gateway.logs()).filter((line) => line.msg === msg);
}

/** Log lines that betray a mishandled race: ESRCH escaping, unhandled rejections, crashes. */
export function raceComplaints(gateway: GatewayProcess): string[] {
  return gateway
    .logs()
    .split('\n')
    .filter((line) => /ESRCH|unhandled rejection|uncaught exception|UnhandledPromise/i.test(line));
}

export interface RawRpc {
  socket: WebSocket;
  events: Array<{ type: string; session_id?: string; payload: Record<string, any> }>;
  request(method: string, params?: object): Promise<any>;
  /** Waits for the first event (seen or to come) that matches. */
  next(match: (event: RawRpc['events'][number]) => boolean): Promise<RawRpc['events'][number]>;
}

/** A JSON-RPC client on a bare `ws` socket, so a test can destroy the TCP socket itself. */
export async function rawRpc(gateway: GatewayProcess): Promise<RawRpc> {
  const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}/rpc`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  const pending = new Map<number, { resolve(value: any): void; reject(error: any): void }>();
  const events: RawRpc['events'] = [];
  const listeners = new Set<() => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8'));
    if (message.id !== undefined && pending.has(message.id)) {
      const waiter = pending.get(message.id)!;
      pending.delete(message.id);
      if (message.error) waiter.reject(message.error);
      else waiter.resolve(message.result);
      return;
    }
    if (message.method === 'event') events.push(message.params);
    else if (message.params?.type) events.push(message.params);
    for (const listener of listeners) listener();
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', () => reject(new Error('rpc upgrade refused')));
  });
  let nextId = 1;
  return {
    socket,
    events,
    request(method, params) {
      const id = nextId++;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    next(match) {
      return new Promise((resolve) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          listeners.delete(check);
          resolve(found);
        };
        listeners.add(check);
        check();
      });
    },
  };
}
