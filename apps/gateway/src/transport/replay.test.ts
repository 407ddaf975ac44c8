import { connectWebSocketRpc, type EventMessage, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { endOffset, openPty } from '../test-support/pty-client.js';
import { stopAndCheck } from '../test-support/cleanup.js';

const LINES = 3000;
/** Numbered lines, paced so a detach lands mid-stream, then the program waits for input. */
const NUMBERED_SCRIPT =
  `stty -onlcr -echo; i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo line-$i; ` +
  `[ $((i % 100)) -eq 0 ] && sleep 0.02; done; read _`;

function numberedText(count: number): string {
  let text = '';
  for (let i = 1; i <= count; i += 1) text += `line-${i}\n`;
  return text;
}

let gateway: GatewayProcess | null = null;
let clients: RpcClient[] = [];

afterEach(async () => {
  for (const client of clients) client.close();
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
  clients = [];
});

async function connect(gw: GatewayProcess): Promise<RpcClient> {
  const client = await connectWebSocketRpc(gw.url, { token: gw.token });
  clients.push(client);
  return client;
}

describe('exact terminal replay', () => {
  it('re-attaching with the last offset gives no gap and no duplicate', async () => {
    gateway = await startGatewayProcess();
    const client = await connect(gateway);
    const { session } = await client.request('session.create', {
      pty: { command: ['sh', '-c', NUMBERED_SCRIPT] },
    });
    const sessionId: string = session.session_id;

    const first = openPty(gateway, sessionId, { offset: 0 });
    expect((await first.hello).offset).toBe(0);
    await waitFor(() => first.output().includes('line-300\n'), { what: 'first 300 lines' });
    first.socket.close();
    await first.closed;
    const lastOffset = first.byteCount();
    expect(lastOffset).toBeLessThan(numberedText(LINES).length);

    // Output continued while nobody watched.
    const gw = gateway;
    await waitFor(async () => (await endOffset(gw, sessionId)) > lastOffset + 5000, {
      what: 'more output',
    });

    const second = openPty(gateway, sessionId, { offset: lastOffset });
    expect(await second.hello).toMatchObject({ offset: lastOffset, truncated: false });
    await waitFor(() => second.output().includes(`line-${LINES}\n`), { what: 'last line' });
    const joined = Buffer.concat([
      first.output().subarray(0, lastOffset),
      second.output(),
    ]).toString('utf8');
    expect(joined).toBe(numberedText(LINES));
    second.socket.close();
    await second.closed;
  });

  it('an offset older than the buffer says truncated and starts at the oldest kept byte', async () => {
    const replayBytes = 4096;
    gateway = await startGatewayProcess({ args: ['--replay-bytes', String(replayBytes)] });
    const client = await connect(gateway);
    const { session } = await client.request('session.create', {
      pty: { command: ['sh', '-c', NUMBERED_SCRIPT] },
    });
    const sessionId: string = session.session_id;
    const expected = numberedText(LINES);
    const gw = gateway;
    await waitFor(async () => (await endOffset(gw, sessionId)) === expected.length, {
      what: 'all lines written',
    });

    const late = openPty(gateway, sessionId, { offset: 10 });
    expect(await late.hello).toMatchObject({
      offset: expected.length - replayBytes,
      truncated: true,
    });
    await waitFor(() => late.byteCount() >= replayBytes, { what: 'replayed tail' });
    expect(late.output().toString('utf8')).toBe(expected.slice(-replayBytes));

    // Inside the buffer: exact, not truncated.
    const inside = openPty(gateway, sessionId, { offset: expected.length - 100 });
    expect(await inside.hello).toMatchObject({ offset: expected.length - 100, truncated: false });
    await waitFor(() => inside.byteCount() >= 100, { what: 'replayed 100 bytes' });
    expect(inside.output().toString('utf8')).toBe(expected.slice(-100));
    late.socket.close();
    inside.socket.close();
    await Promise.all([late.closed, inside.closed]);
  });
});

describe('exact event replay', () => {
  const setTitles = async (client: RpcClient, sessionId: string, from: number, count: number) => {
    for (let i = from; i < from + count; i += 1) {
      await client.request('slash.exec', { session_id: sessionId, command: `/title t${i}` });
    }
  };
  const seqsOf = (events: EventMessage[], sessionId: string) =>
    events.filter((event) => event.session_id === sessionId).map((event) => event.seq!);

  it('session.attach {since_seq} returns exactly the events after since_seq, none twice', async () => {
    gateway = await startGatewayProcess();
    const owner = await connect(gateway);
    const watcher = await connect(gateway);
    const { session } = await owner.request('session.create', { title: 'replay' });
    const sessionId: string = session.session_id;

    const recorder = new EventRecorder(watcher);
    await watcher.request('session.attach', { session_id: sessionId });
    await setTitles(owner, sessionId, 0, 5);
    await recorder.next(
      (event) =>
        event.type === 'session.status' &&
        (event.payload.session as { title?: string }).title === 't4',
    );
    await watcher.request('session.detach', { session_id: sessionId });
    // Read only after the detach answer: the socket is ordered, so every event the gateway
    // sent before detaching has arrived by now, and none comes after it.
    const lastSeen = Math.max(...seqsOf(recorder.events, sessionId));

    await setTitles(owner, sessionId, 5, 7);
    const attached = await watcher.request('session.attach', {
      session_id: sessionId,
      since_seq: lastSeen,
    });
    expect(attached.truncated).toBe(false);
    await setTitles(owner, sessionId, 12, 2);
    const live = () => seqsOf(recorder.events, sessionId).filter((seq) => seq > lastSeen);
    const replayed = seqsOf(attached.events, sessionId);
    expect(replayed[0]).toBe(lastSeen + 1);
    await recorder.next(
      (event) =>
        event.type === 'session.status' &&
        (event.payload.session as { title?: string }).title === 't13',
    );

    // Everything after lastSeen, from replay and live events together: contiguous, no repeat.
    const all = [...replayed, ...live()].sort((a, b) => a - b);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => lastSeen + 1 + i));
  });

  it('since_seq older than --replay-events says truncated and returns the kept tail', async () => {
    gateway = await startGatewayProcess({ args: ['--replay-events', '5'] });
    const client = await connect(gateway);
    const { session } = await client.request('session.create', { title: 'short' });
    const sessionId: string = session.session_id;
    await client.request('session.detach', { session_id: sessionId });
    await setTitles(client, sessionId, 0, 12);

    const attached = await client.request('session.attach', {
      session_id: sessionId,
      since_seq: 1,
    });
    expect(attached.truncated).toBe(true);
    const replayed = seqsOf(attached.events, sessionId);
    expect(replayed).toHaveLength(5);
    expect(replayed).toEqual(Array.from({ length: 5 }, (_, i) => replayed[0]! + i));
    expect(attached.events.at(-1).payload.session.title).toBe('t11');

    const exact = await client.request('session.attach', {
      session_id: sessionId,
      since_seq: replayed[1],
    });
    expect(exact.truncated).toBe(false);
    expect(seqsOf(exact.events, sessionId)[0]).toBe(replayed[1]! + 1);
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
  });
});
