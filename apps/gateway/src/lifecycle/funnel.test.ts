import { isAlive } from '@tether/core';
import { markedProcesses, waitFor, zombies } from '@tether/test-utils';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree, processLeaks } from '../test-support/leaks.js';
import {
  linesWithMsg,
  markedNamed,
  raceComplaints,
  rawRpc,
  typeLine,
} from '../test-support/lifecycle.js';
import { storedRuns } from '../test-support/store-check.js';

const KILL_GRACE_MS = 300;
const IDLE_TTL_MS = 1000;

async function fourTriggers(workerState: 'alive' | 'dead', offsetMs: number) {
  const gateway = await startGatewayProcess({
    args: [
      '--idle-ttl-s',
      String(IDLE_TTL_MS / 1000),
      '--reap-interval-s',
      '0.05',
      '--kill-grace-ms',
      String(KILL_GRACE_MS),
    ],
  });
  const closer = await connectWebSocketRpc(gateway.url, { token: gateway.token });
  const owner = await rawRpc(gateway);
  const { session } = await owner.request('session.create', { close_on_disconnect: true });
  const sessionId: string = session.session_id;
  const { turn_id: turnId } = await owner.request('prompt.submit', {
    session_id: sessionId,
    text: 'true',
  });
  await owner.next((event) => event.type === 'turn.end' && event.payload.turn_id === turnId);
  const idleSinceMs = performance.now();
  if (workerState === 'dead') {
    const [worker] = (await markedProcesses('TETHER_SESSION_ID', sessionId)).filter(
      (p) => p.command === 'node',
    );
    expect(worker).toBeDefined();
    process.kill(worker!.pid, 'SIGKILL');
    await owner.next((event) => event.type === 'worker.exit');
  }
  expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });

  // Aim the three outside triggers at the moment the idle reaper fires (every 50 ms): this
  // wait is for coincidence, not synchronisation; the assertions hold whichever comes first.
  const fireInMs = idleSinceMs + IDLE_TTL_MS + offsetMs - performance.now();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, fireInMs)));
  const closed = closer
    .request('session.close', { session_id: sessionId })
    .catch((error: unknown) => error);
  owner.socket.terminate();
  gateway.child.kill('SIGTERM');

  const exit = await gateway.exited;
  closer.close();
  await closed;
  expect(exit).toEqual({ code: 0, signal: null });
  const closedLines = linesWithMsg(gateway, 'session closed').filter(
    (line) => line.sessionId === sessionId,
  );
  expect(closedLines).toHaveLength(1);
  expect(
    linesWithMsg(gateway, 'session closing').filter((line) => line.sessionId === sessionId),
  ).toHaveLength(1);
  expect(
    owner.events.filter((event) => event.type === 'session.closed').length,
  ).toBeLessThanOrEqual(1);
  const runs = await storedRuns(gateway.home);
  expect(runs).toHaveLength(1);
  expect(runs[0]!.endReason).toBe(closedLines[0]!.reason);
  expect(runs[0]!.endedAt).not.toBeNull();
  expect(raceComplaints(gateway)).toEqual([]);
  expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
  await gateway.removeHome();
  return closedLines[0]!.reason as string;
}

describe('the funnel over real processes', () => {
  for (const workerState of ['alive', 'dead'] as const) {
    it(`four triggers at once with the worker ${workerState} → one teardown, one end, no ESRCH`, async () => {
      const reasons: string[] = [];
      for (const offsetMs of [0, 25, 50]) reasons.push(await fourTriggers(workerState, offsetMs));
      console.log(`four triggers (worker ${workerState}): winning reasons ${reasons.join(', ')}`);
      for (const reason of reasons)
        expect(['client_close', 'disconnect', 'idle_ttl', 'shutdown']).toContain(reason);
    });
  }

  it('session.close leaves no setsid, nohup, HUP-ignoring or forked-turn escapee alive', async () => {
    const gateway = await startGatewayProcess({ args: ['--kill-grace-ms', String(KILL_GRACE_MS)] });
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const { session } = await client.request('session.create', { pty: { cols: 80, rows: 24 } });
    const sessionId: string = session.session_id;
    await typeLine(gateway, sessionId, 'setsid sleep 600 & nohup sleep 600 >/dev/null 2>&1 &');
    await typeLine(gateway, sessionId, `sh -c 'trap "" HUP TERM; sleep 600' &`);
    const { turn_id: turnId } = await client.request('prompt.submit', {
      session_id: sessionId,
      text: 'sleep 600 >/dev/null 2>&1 & echo forked',
    });
    await events.next((event) => event.type === 'turn.end' && event.payload.turn_id === turnId);
    const sleeps = await waitFor(
      async () => {
        const found = (await markedProcesses('TETHER_SESSION_ID', sessionId)).filter(
          (p) => p.command === 'sleep',
        );
        return found.length === 4 ? found : null;
      },
      { what: 'four escapee sleeps' },
    );

    const closedAt = performance.now();
    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: true,
    });
    const closeMs = Math.round(performance.now() - closedAt);
    // A killed orphan may linger as a zombie of PID 1 on this host: dead, so not alive.
    const alive = [];
    for (const p of sleeps) if (await isAlive(p.pid)) alive.push(p);
    const left = await markedProcesses('TETHER_SESSION_ID', sessionId);
    console.log(
      `escapees: 4 sleeps, none left ${closeMs} ms after session.close (kill grace ${KILL_GRACE_MS} ms)`,
    );
    expect(left).toEqual([]);
    expect(alive).toEqual([]);
    expect(await zombies([gateway.pid])).toEqual([]);
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
    client.close();
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    await gateway.removeHome();
  });

  it('50 sessions whose turn and terminal exit on their own leave no zombie and store exit codes', async () => {
    const count = 50;
    const gateway = await startGatewayProcess({ args: ['--kill-grace-ms', String(KILL_GRACE_MS)] });
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const { session } = await client.request('session.create', {
        pty: { command: ['sh', '-c', 'exit 3'] },
      });
      ids.push(session.session_id);
    }
    await Promise.all(
      ids.map((id) => client.request('prompt.submit', { session_id: id, text: 'exit 5' })),
    );
    await waitFor(
      () =>
        events.ofType('turn.end').length === count && events.ofType('pty.exit').length === count,
      {
        timeoutMs: 30_000,
        what: 'every turn and terminal to exit',
      },
    );
    expect(events.ofType('pty.exit').map((event) => event.payload.exit_code)).toEqual(
      Array(count).fill(3),
    );
    expect(events.ofType('turn.end').map((event) => event.payload.exit_code)).toEqual(
      Array(count).fill(5),
    );
    // The workers stay (they are per session); only their turns and the terminals ended.
    expect(await zombies([gateway.pid])).toEqual([]);
    for (const id of ids) {
      const { turns } = await client.request('session.turns', { session_id: id });
      expect(turns).toHaveLength(1);
      expect(turns[0]).toMatchObject({ exit_code: 5, text: 'exit 5' });
      expect(turns[0].ended_at).not.toBeNull();
    }
    expect(await countsAgree(gateway)).toEqual({
      sessions: count,
      registry: count,
      openRuns: count,
    });
    client.close();
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    const runs = await storedRuns(gateway.home);
    expect(runs).toHaveLength(count);
    expect(runs.map((run) => run.endReason)).toEqual(Array(count).fill('shutdown'));
    // StoredRun does not expose exit statuses; the teardown line carries what endRun stored.
    const closedLines = linesWithMsg(gateway, 'session closed');
    expect(closedLines).toHaveLength(count);
    for (const line of closedLines) expect(line.terminalExit).toMatchObject({ exitCode: 3 });
    await gateway.removeHome();
  });

  it('a worker SIGKILLed as shutdown begins is not respawned', async () => {
    const gateway = await startGatewayProcess({ args: ['--kill-grace-ms', String(KILL_GRACE_MS)] });
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    for (let index = 0; index < 3; index += 1) {
      const { session } = await client.request('session.create', {});
      await client.request('prompt.submit', { session_id: session.session_id, text: 'sleep 1000' });
    }
    await waitFor(async () => (await markedNamed(gateway.instanceId, 'sleep')).length === 3, {
      what: 'three turns',
    });
    const workers = await markedNamed(gateway.instanceId, 'node');
    expect(workers).toHaveLength(3);
    const knownPids = new Set(workers.map((p) => p.pid));

    for (const worker of workers) process.kill(worker.pid, 'SIGKILL');
    gateway.child.kill('SIGTERM');
    const newWorkers = new Set<number>();
    let hasExited = false;
    void gateway.exited.then(() => (hasExited = true));
    while (!hasExited) {
      for (const p of await markedNamed(gateway.instanceId, 'node'))
        if (!knownPids.has(p.pid)) newWorkers.add(p.pid);
    }
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    client.close();
    expect([...newWorkers]).toEqual([]);
    // A worker whose death the gateway saw before the SIGTERM may be reported `restarting`
    // (respawn is lazy: it would only happen on next use). None may be once shutdown began.
    const shutdownAt = Date.parse(String(linesWithMsg(gateway, 'gateway shutting down')[0]?.time));
    const restartsAfterShutdown = linesWithMsg(gateway, 'worker exited unexpectedly').filter(
      (line) => line.restarting === true && Date.parse(String(line.time)) >= shutdownAt,
    );
    expect(restartsAfterShutdown).toEqual([]);
    expect(events.ofType('worker.exit').length).toBeLessThanOrEqual(3);
    expect(raceComplaints(gateway)).toEqual([]);
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    expect((await storedRuns(gateway.home)).map((run) => run.endReason)).toEqual(
      Array(3).fill('shutdown'),
    );
    await gateway.removeHome();
  });
});
