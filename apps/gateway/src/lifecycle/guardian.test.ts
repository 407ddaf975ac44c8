import { markedProcesses, waitFor } from '@tether/test-utils';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { logLines, startGatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree, processLeaks } from '../test-support/leaks.js';
import { markedNamed, typeLine } from '../test-support/lifecycle.js';
import { storedRuns } from '../test-support/store-check.js';

const SESSIONS = 5;
const GUARDIAN_DEADLINE_MS = 3000;

describe('gateway death', () => {
  it('leaves no marked process 3 s after kill -9, and the next start ends the runs owner_lost', async () => {
    const first = await startGatewayProcess();
    const client = await connectWebSocketRpc(first.url, { token: first.token });
    const events = new EventRecorder(client);
    for (let index = 0; index < SESSIONS; index += 1) {
      const { session } = await client.request('session.create', { pty: { cols: 80, rows: 24 } });
      // The setsid+nohup escapee survives the pty hang-up and the worker watchdogs: only the
      // guardian's marker sweep can catch it, so the test fails without a guardian.
      await typeLine(
        first,
        session.session_id,
        'setsid nohup sleep 1000 >/dev/null 2>&1 & sleep 1000',
      );
      await client.request('prompt.submit', { session_id: session.session_id, text: 'sleep 1000' });
    }
    await waitFor(
      async () => (await markedNamed(first.instanceId, 'sleep')).length === SESSIONS * 3,
      {
        what: 'two terminal sleeps and a turn sleep per session',
      },
    );
    expect(events.ofType('turn.start')).toHaveLength(SESSIONS);
    expect(await countsAgree(first)).toEqual({
      sessions: SESSIONS,
      registry: SESSIONS,
      openRuns: SESSIONS,
    });
    const marked = await markedProcesses('TETHER_INSTANCE_ID', first.instanceId);
    expect(marked.length).toBeGreaterThanOrEqual(SESSIONS * 4);

    const killedAt = performance.now();
    const exit = await first.stop('SIGKILL');
    client.close();
    expect(exit.signal).toBe('SIGKILL');
    await waitFor(
      async () => (await markedProcesses('TETHER_INSTANCE_ID', first.instanceId)).length === 0,
      {
        timeoutMs: 10_000,
        intervalMs: 25,
        what: 'no marked process after the gateway died',
      },
    );
    const goneMs = Math.round(performance.now() - killedAt);
    console.log(`guardian: ${marked.length} marked processes gone ${goneMs} ms after kill -9`);
    expect(goneMs).toBeLessThan(GUARDIAN_DEADLINE_MS);
    // The guardian did it (not only the workers' own watchdogs, whose in-flight grace is 5 s).
    const reaped = await waitFor(
      () => logLines(first.logs()).find((line) => line.msg === 'guardian reaped instance'),
      { what: 'guardian report' },
    );
    expect(reaped).toMatchObject({ trigger: 'pipe_closed', survivors: [] });
    expect((reaped.signalled as number[]).length).toBeGreaterThanOrEqual(SESSIONS);

    // Nothing restarted in between: the runs are still open in the store.
    expect((await storedRuns(first.home)).filter((run) => run.endedAt === null)).toHaveLength(
      SESSIONS,
    );
    const second = await startGatewayProcess({ home: first.home });
    const runs = await storedRuns(first.home);
    expect(runs).toHaveLength(SESSIONS);
    expect(runs.map((run) => run.endReason)).toEqual(Array(SESSIONS).fill('owner_lost'));
    expect(await countsAgree(second)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await processLeaks(second)).toEqual({ marked: [], zombies: [] });
    expect(await processLeaks(first)).toEqual({ marked: [], zombies: [] });
    await first.removeHome();
  });

  it('lets the guardian go on a clean shutdown without it killing anything', async () => {
    const gateway = await startGatewayProcess();
    const guardianLine = await waitFor(
      () => logLines(gateway.logs()).find((line) => line.msg === 'guardian started'),
      { what: 'guardian start log' },
    );
    const guardianPid = guardianLine.guardianPid as number;
    expect(guardianPid).toBeGreaterThan(0);
    expect(await gateway.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await waitFor(
      async () => {
        try {
          process.kill(guardianPid, 0);
          return false;
        } catch {
          // ESRCH: the guardian has exited, which is what we wait for.
          return true;
        }
      },
      { what: 'guardian exit' },
    );
    const reaped = await waitFor(
      () => logLines(gateway.logs()).find((line) => line.msg === 'guardian reaped instance'),
      { what: 'guardian report' },
    );
    expect(reaped).toMatchObject({ trigger: 'pipe_closed', signalled: [] });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    await gateway.removeHome();
  });
});
