/**
 * Helpers for the life-cycle tests (src/lifecycle): terminal sockets, marked-process
 * counting, log-line filtering.
 */
import { markedProcesses } from '@tether/test-utils';
import WebSocket from 'ws';
import { logLines, type GatewayProcess } from './gateway-process.js';

/** Opens `/pty/<id>`, waits for it to be open, and returns it. */
export async function openPtySocket(gateway: GatewayProcess, sessionId: string): Promise<WebSocket> {
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
export async function typeLine(gateway: GatewayProcess, sessionId: string, line: string): Promise<void> {
  const socket = await openPtySocket(gateway, sessionId);
  socket.send(Buffer.from(`${line}\r`));
  socket.close();
}

/** Live processes with this instance marker whose command is `name` (e.g. `sleep`). */
export async function markedNamed(instanceId: string, name: string) {
  return (await markedProcesses('TETHER_INSTANCE_ID', instanceId)).filter((p) => p.command === name);
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
