import { connectWebSocketRpc, type RpcClient } from '@tether/ws-transport';
import { waitFor } from '@tether/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { EventRecorder } from './test-support/events.js';
import { startGatewayProcess, type GatewayProcess } from './test-support/gateway-process.js';
import { countsAgree, processLeaks } from './test-support/leaks.js';
import { openPty } from './test-support/pty-client.js';
import { storedRuns } from './test-support/store-check.js';
import { stopAndCheck } from './test-support/cleanup.js';

const gateways: GatewayProcess[] = [];
const clients: RpcClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const gateway of gateways.splice(0)) await stopAndCheck(gateway);
});

async function start(args: string[] = [], home?: string) {
  const gateway = await startGatewayProcess({ args, ...(home ? { home } : {}) });
  gateways.push(gateway);
  const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
  clients.push(client);
  return { gateway, client, events: new EventRecorder(client) };
}

describe('edges a first-time user runs into', () => {
  it('sends no turn events for a prompt whose agent does not exist', async () => {
    const { gateway, client, events } = await start();
    const { session } = await client.request('session.create', { agent: 'nope' });
    await expect(
      client.request('prompt.submit', { session_id: session.session_id, text: 'echo hi' }),
    ).rejects.toMatchObject({ code: -32602, data: { field: 'agent' } });
    // The worker is fine; only the turn was refused.
    await client.request('slash.exec', { session_id: session.session_id, command: '/status' });
    expect(events.ofType('turn.start')).toEqual([]);
    expect(events.ofType('turn.end')).toEqual([]);
    expect((await client.request('session.list')).sessions[0].running).toBe(false);
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
  });

  it('answers 5032 naming the path for a terminal command that does not exist', async () => {
    const { gateway, client } = await start();
    await expect(
      client.request('session.create', { pty: { command: ['/nonexistent/bin'] } }),
    ).rejects.toMatchObject({ code: 5032, data: { errno: 'ENOENT', path: '/nonexistent/bin' } });
    expect((await client.request('session.list')).sessions).toEqual([]);
    await waitFor(async () => (await countsAgree(gateway)).openRuns === 0, {
      what: 'run of the failed create ended',
    });
  });

  it('ends a running turn with turn.end before session.closed, and closes the terminal with 4409', async () => {
    const { gateway, client, events } = await start();
    const { session } = await client.request('session.create', { pty: {} });
    const sessionId: string = session.session_id;
    const pty = openPty(gateway, sessionId);
    await pty.hello;
    const { turn_id: turnId } = await client.request('prompt.submit', {
      session_id: sessionId,
      text: 'sleep 40',
    });
    await events.next((event) => event.type === 'turn.start');

    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: true,
    });
    const types = events.events
      .filter((event) => event.session_id === sessionId)
      .map((event) => event.type);
    expect(types.indexOf('turn.end')).toBeGreaterThan(-1);
    expect(types.indexOf('turn.end')).toBeLessThan(types.indexOf('session.closed'));
    expect(events.ofType('turn.end')[0]?.payload.turn_id).toBe(turnId);
    expect((await pty.closed).code).toBe(4409);
  });

  it('answers session.turns for an id it has never seen with 4001', async () => {
    const { client } = await start();
    await expect(
      client.request('session.turns', { session_id: 'never-seen' }),
    ).rejects.toMatchObject({ code: 4001 });
  });

  it('refuses to start a second gateway on a home another live gateway serves', async () => {
    const { gateway } = await start();
    const second = startGatewayProcess({ home: gateway.home });
    await expect(second).rejects.toThrow(/already serving/);
  });

  it('ends the open turn of a run its dead gateway left, along with the run', async () => {
    const { gateway, client, events } = await start();
    const { session } = await client.request('session.create', {});
    await client.request('prompt.submit', { session_id: session.session_id, text: 'sleep 600' });
    await events.next((event) => event.type === 'turn.start');
    const stored = async () =>
      (await client.request('session.turns', { session_id: session.session_id })).turns;
    await waitFor(async () => (await stored()).length === 1, { what: 'turn stored' });
    client.close();
    await gateway.stop('SIGKILL');
    gateways.splice(gateways.indexOf(gateway), 1);
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });

    const next = await start([], gateway.home);
    const { turns } = await next.client.request('session.turns', {
      session_id: session.session_id,
    });
    expect(turns).toHaveLength(1);
    expect(turns[0]).toMatchObject({ exit_code: null, signal: 'SIGKILL' });
    expect(turns[0].ended_at).not.toBeNull();
    const runs = await storedRuns(gateway.home);
    expect(runs.map((run) => run.endReason)).toEqual(['owner_lost']);
  });
});
