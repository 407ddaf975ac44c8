import { spawnSync } from 'node:child_process';
import { markedProcesses, waitFor } from '@tether/test-utils';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../test-support/events.js';
import {
  GATEWAY_MAIN,
  cleanEnv,
  logLines,
  startGatewayProcess,
} from '../test-support/gateway-process.js';
import { countsAgree, processLeaks } from '../test-support/leaks.js';

describe('knobs at the process level', () => {
  for (const value of ['abc', '2s', '-1', '']) {
    it(`TETHER_GRACE_S=${JSON.stringify(value)} starts with the default and a named warning`, async () => {
      const gateway = await startGatewayProcess({ env: { TETHER_GRACE_S: value } });
      const warning = logLines(gateway.logs()).find((line) => line.key === 'TETHER_GRACE_S');
      expect(warning).toMatchObject({ level: 40, key: 'TETHER_GRACE_S', value, used: 20 });
      expect(String(warning!.msg)).toContain('TETHER_GRACE_S');
      const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
      const info = await client.request('gateway.info');
      expect(info.config.graceS).toBe(20);
      expect(info.warnings).toHaveLength(1);
      expect(await countsAgree(gateway)).toEqual({ sessions: 0, registry: 0, openRuns: 0 });
      client.close();
      expect(await gateway.stop()).toEqual({ code: 0, signal: null });
      expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
      await gateway.removeHome();
    });
  }

  const badFlags: Array<[string, string, RegExp]> = [
    ['--grace-s', 'abc', /0 to/],
    ['--idle-ttl-s', '-1', /0\.1 to/],
    ['--reap-interval-s', '0.01', /0\.05 to 3600/],
    ['--kill-grace-ms', '2s', /accepted/],
  ];
  for (const [flag, value, range] of badFlags) {
    it(`${flag} ${value} exits 2 naming the flag and the accepted range`, () => {
      const result = spawnSync(process.execPath, [GATEWAY_MAIN, flag, value, '--port', '0'], {
        env: cleanEnv(),
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).toMatch(range);
    });
  }
});

describe('worker restart intensity', () => {
  it('stops respawning a worker that keeps crashing, says so, and refuses further use', async () => {
    const gateway = await startGatewayProcess({ args: ['--kill-grace-ms', '200'] });
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const { session } = await client.request('session.create', {});
    const sessionId: string = session.session_id;
    const workerPids = new Set<number>();

    // Five restarts are allowed in the window; the sixth crash ends respawning.
    for (let crash = 1; crash <= 6; crash += 1) {
      await client.request('slash.exec', { session_id: sessionId, command: '/help' });
      const [worker] = (await markedProcesses('TETHER_SESSION_ID', sessionId)).filter(
        (p) => p.command === 'node',
      );
      expect(worker).toBeDefined();
      expect(workerPids.has(worker!.pid)).toBe(false);
      workerPids.add(worker!.pid);
      process.kill(worker!.pid, 'SIGKILL');
      await waitFor(() => events.ofType('worker.exit', sessionId).length === crash, {
        what: `crash ${crash}`,
      });
    }
    const exits = events.ofType('worker.exit', sessionId).map((event) => event.payload.restarting);
    expect(exits).toEqual([true, true, true, true, true, false]);
    expect(events.ofType('warning', sessionId)).toHaveLength(1);
    expect(events.ofType('warning', sessionId)[0]!.payload.code).toBe(
      'TETHER_WORKER_RESTART_LIMIT',
    );

    await expect(
      client.request('slash.exec', { session_id: sessionId, command: '/help' }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('no longer respawns'),
    });
    expect(
      (await markedProcesses('TETHER_SESSION_ID', sessionId)).filter((p) => p.command === 'node'),
    ).toEqual([]);
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
    client.close();
    expect(await gateway.stop()).toEqual({ code: 0, signal: null });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    await gateway.removeHome();
  });
});
