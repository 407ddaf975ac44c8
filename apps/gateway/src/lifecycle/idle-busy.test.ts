import { waitFor } from '@tether/test-utils';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import { startGatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree, processLeaks } from '../test-support/leaks.js';
import { linesWithMsg } from '../test-support/lifecycle.js';
import { storedRuns } from '../test-support/store-check.js';

const IDLE_TTL_MS = 1000;
const BUSY_CAP_MS = 2000;
const REAP_INTERVAL_MS = 100;
/** Scheduling slack on a shared two-core host, on top of one reaper interval. */
const SLACK_MS = 700;

describe('idle and busy reaping over real processes', () => {
  it('reaps ping-only and idle sessions at the TTL, spares typing and running ones, caps busy ones', async () => {
    const gateway = await startGatewayProcess({
      args: [
        '--idle-ttl-s',
        String(IDLE_TTL_MS / 1000),
        '--reap-interval-s',
        String(REAP_INTERVAL_MS / 1000),
        '--busy-cap-s',
        String(BUSY_CAP_MS / 1000),
        // Pings every 100 ms: a client that only answers them must still be reaped.
        '--heartbeat-interval-s',
        '0.1',
        '--heartbeat-timeout-s',
        '2',
        '--kill-grace-ms',
        '200',
      ],
    });
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const create = async (pty?: object) =>
      (await client.request('session.create', pty ? { pty } : {})).session.session_id as string;
    const closedAt = new Map<string, number>();
    const reasonOf = new Map<string, string>();
    const turnEndedAt = new Map<string, number>();
    client.onEvent((event) => {
      if (event.type === 'turn.end' && event.session_id)
        turnEndedAt.set(event.session_id, performance.now());
      if (event.type !== 'session.closed' || !event.session_id) return;
      closedAt.set(event.session_id, performance.now());
      reasonOf.set(event.session_id, event.payload.reason as string);
    });

    const startedMs = performance.now();
    const pingOnly = await create();
    const typing = await create({ cols: 80, rows: 24 });
    const longTurn = await create();
    const capped = await create();
    await client.request('prompt.submit', { session_id: longTurn, text: 'sleep 1.5' });
    await client.request('prompt.submit', { session_id: capped, text: 'sleep 600' });

    // The typist sends terminal input every 200 ms for 2.5 TTLs.
    const typedUntilMs = performance.now() + 2.5 * IDLE_TTL_MS;
    while (performance.now() < typedUntilMs) {
      await client.request('pty.write', {
        session_id: typing,
        data: Buffer.from(' ').toString('base64'),
      });
      expect(closedAt.has(typing)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stoppedTypingMs = performance.now();

    const turnEnd = await events.next(
      (event) => event.type === 'turn.end' && event.session_id === longTurn,
    );
    const turnEndMs = turnEndedAt.get(longTurn)!;
    expect(closedAt.has(longTurn) ? closedAt.get(longTurn)! > turnEndMs : true).toBe(true);
    await waitFor(() => closedAt.size === 4, {
      timeoutMs: 10_000,
      what: 'all four sessions reaped',
    });

    const pingOnlyMs = closedAt.get(pingOnly)! - startedMs;
    const typingAfterMs = closedAt.get(typing)! - stoppedTypingMs;
    const longTurnAfterMs = closedAt.get(longTurn)! - turnEndMs;
    const cappedMs = closedAt.get(capped)! - startedMs;
    console.log(
      `idle/busy: ping-only reaped at ${Math.round(pingOnlyMs)} ms (TTL ${IDLE_TTL_MS}); typist ` +
        `${Math.round(typingAfterMs)} ms after last input; long turn ${Math.round(longTurnAfterMs)} ms ` +
        `after its end; capped turn at ${Math.round(cappedMs)} ms (cap ${BUSY_CAP_MS})`,
    );
    expect(reasonOf.get(pingOnly)).toBe('idle_ttl');
    expect(pingOnlyMs).toBeGreaterThanOrEqual(IDLE_TTL_MS - 50);
    expect(pingOnlyMs).toBeLessThan(IDLE_TTL_MS + REAP_INTERVAL_MS + SLACK_MS);
    expect(reasonOf.get(typing)).toBe('idle_ttl');
    expect(typingAfterMs).toBeLessThan(IDLE_TTL_MS + REAP_INTERVAL_MS + SLACK_MS);
    expect(turnEnd.payload.exit_code).toBe(0);
    expect(reasonOf.get(longTurn)).toBe('idle_ttl');
    expect(longTurnAfterMs).toBeGreaterThanOrEqual(IDLE_TTL_MS - 150);
    expect(reasonOf.get(capped)).toBe('busy_cap');
    expect(cappedMs).toBeGreaterThanOrEqual(BUSY_CAP_MS - 50);
    expect(cappedMs).toBeLessThan(BUSY_CAP_MS + REAP_INTERVAL_MS + SLACK_MS + 500);

    // `session.closed` goes out at the start of a teardown; counts agree once it finished.
    await waitFor(() => linesWithMsg(gateway, 'session closed').length === 4, {
      what: 'four teardowns',
    });
    expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
    client.close();
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    const runs = await storedRuns(gateway.home);
    expect(runs.map((run) => run.endReason).sort()).toEqual([
      'busy_cap',
      'idle_ttl',
      'idle_ttl',
      'idle_ttl',
    ]);
    await gateway.removeHome();
  });
});
