import { spawnStdioRpc } from '@tether/ws-transport';
import { leakCheck, tempDir, waitFor } from '@tether/test-utils';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from './test-support/events.js';
import { GATEWAY_MAIN, cleanEnv } from './test-support/gateway-process.js';
import { storedRuns } from './test-support/store-check.js';

describe('gateway over --stdio', () => {
  it('creates, prompts, writes to the terminal and closes over stdin/stdout, then exits on EOF', async () => {
    const home = await tempDir('tether-stdio-');
    const client = await spawnStdioRpc(
      process.execPath,
      [GATEWAY_MAIN, '--stdio', '--home', home.path],
      {
        env: cleanEnv(),
        stderr: 'pipe',
      },
    );
    const instanceId = client.ready!.instance_id;
    const events = new EventRecorder(client);
    const exited = new Promise<number | null>((resolve) =>
      client.child.on('exit', (code) => resolve(code)),
    );

    const { session } = await client.request('session.create', { pty: { cols: 80, rows: 24 } });
    const sessionId: string = session.session_id;
    const { turn_id: turnId } = await client.request('prompt.submit', {
      session_id: sessionId,
      text: 'echo hello',
    });
    const end = await events.next(
      (event) => event.type === 'turn.end' && event.payload.turn_id === turnId,
    );
    expect(end.payload.exit_code).toBe(0);
    expect(
      events
        .ofType('turn.output', sessionId)
        .map((event) => event.payload.data)
        .join(''),
    ).toBe('hello\n');

    await client.request('pty.write', {
      session_id: sessionId,
      data: Buffer.from('echo via-stdio\r').toString('base64'),
    });
    await waitFor(
      () =>
        /via-stdio[\r\n]+.*via-stdio/s.test(
          events
            .ofType('pty.data', sessionId)
            .map((event) => Buffer.from(String(event.payload.data), 'base64').toString('utf8'))
            .join(''),
        ),
      { what: 'pty.data echo' },
    );

    expect((await client.request('session.list')).sessions).toHaveLength(1);
    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: true,
    });
    expect(await client.request('session.close', { session_id: sessionId })).toEqual({
      closed: false,
    });
    expect((await client.request('session.list')).sessions).toHaveLength(0);

    client.close();
    expect(await exited).toBe(0);
    const runs = await storedRuns(home.path);
    expect(runs.map((run) => run.endReason)).toEqual(['client_close']);
    expect(await leakCheck({ markerKey: 'TETHER_INSTANCE_ID', markerValue: instanceId })).toEqual({
      marked: [],
      zombies: [],
    });
    await home.remove();
  });
});
