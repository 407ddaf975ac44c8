import { markedProcesses, waitFor } from '@tether/test-utils';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventRecorder } from './test-support/events.js';
import { startGatewayProcess } from './test-support/gateway-process.js';
import { processLeaks } from './test-support/leaks.js';
import { storedRuns } from './test-support/store-check.js';

describe('gateway shutdown', () => {
  it('ends every session with shutdown on SIGTERM, reaps every process and exits 0', async () => {
    const gateway = await startGatewayProcess();
    const client = await connectWebSocketRpc(gateway.url, { token: gateway.token });
    const events = new EventRecorder(client);
    const terminalCommands = ['sleep 1000 &', 'nohup sleep 1000 >/dev/null 2>&1 &', 'sleep 1000'];

    for (const command of terminalCommands) {
      const { session } = await client.request('session.create', { pty: { cols: 80, rows: 24 } });
      const pty = new WebSocket(`ws://127.0.0.1:${gateway.port}/pty/${session.session_id}`, {
        headers: { authorization: `Bearer ${gateway.token}` },
      });
      await new Promise((resolve) => pty.once('open', resolve));
      pty.send(Buffer.from(`${command}\r`));
      pty.close();
    }
    const { session: busy } = await client.request('session.create', {});
    await client.request('prompt.submit', { session_id: busy.session_id, text: 'sleep 1000' });
    await events.next((event) => event.type === 'turn.start');

    // Three terminal sleeps and the turn's sleep, each carrying the gateway's instance marker.
    await waitFor(
      async () =>
        (await markedProcesses('TETHER_INSTANCE_ID', gateway.instanceId)).filter(
          (p) => p.command === 'sleep',
        ).length === 4,
      { what: 'four marked sleeps' },
    );

    const exit = await gateway.stop('SIGTERM');
    client.close();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });

    const runs = await storedRuns(gateway.home);
    expect(runs).toHaveLength(4);
    expect(runs.map((run) => run.endReason)).toEqual([
      'shutdown',
      'shutdown',
      'shutdown',
      'shutdown',
    ]);
    await gateway.removeHome();
  });
});
