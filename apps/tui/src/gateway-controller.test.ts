import { describe, expect, it } from 'vitest';
import { waitFor } from '@tether/test-utils';
import type { GatewayConnection } from './connect.js';
import { GatewayController } from './gateway-controller.js';
import { FakeClient } from './test-fixtures/fake-client.js';
import type { SessionInfo, StoredSession, StoredTurn } from './state.js';

function connectorOf(clients: FakeClient[]) {
  let attempts = 0;
  const connector = async (): Promise<GatewayConnection> => {
    attempts += 1;
    const client = clients.shift();
    if (!client) throw new Error('connection refused');
    return { client, terminal: { kind: 'rpc' }, description: `fake ${attempts}` };
  };
  return { connector, attempts: () => attempts };
}

describe('GatewayController', () => {
  it('reconnects after a drop and re-attaches the current session since the last seq', async () => {
    const first = new FakeClient();
    const second = new FakeClient();
    const { connector } = connectorOf([first, second]);
    const controller = new GatewayController(connector, { reconnectMinMs: 10, reconnectMaxMs: 20 });
    await controller.start();
    const session = await controller.createSession();
    first.emit({
      type: 'turn.output',
      session_id: session.session_id,
      seq: 5,
      payload: { data: 'x\n' },
    });
    second.sessions.push(session);

    first.drop();
    expect(controller.getState().connection).toBe('reconnecting');
    await waitFor(() => controller.getState().connection === 'connected', { what: 'reconnected' });
    await waitFor(() => second.calls.some((call) => call.method === 'session.attach'), {
      what: 'attach',
    });

    const attach = second.calls.find((call) => call.method === 'session.attach');
    expect(attach?.params).toEqual({ session_id: session.session_id, since_seq: 5 });
    controller.close();
  });

  it('says so and drops the session when the new gateway no longer has it', async () => {
    const first = new FakeClient();
    const second = new FakeClient();
    const { connector } = connectorOf([first, second]);
    const controller = new GatewayController(connector, { reconnectMinMs: 10, reconnectMaxMs: 20 });
    await controller.start();
    await controller.createSession();

    first.drop();
    await waitFor(() => controller.getState().notice?.text.includes('is gone'), {
      what: 'gone notice',
    });
    expect(controller.getState().sessions).toEqual([]);
    expect(controller.getState().notice?.text).toContain('"session 1"');
    controller.close();
  });

  it('keeps retrying with backoff while no gateway answers, and stops when closed', async () => {
    const first = new FakeClient();
    const { connector, attempts } = connectorOf([first]);
    const controller = new GatewayController(connector, { reconnectMinMs: 5, reconnectMaxMs: 10 });
    await controller.start();
    first.drop();
    await waitFor(() => attempts() >= 4, { what: 'several reconnect attempts' });
    expect(controller.getState().notice?.text).toContain('connection refused');

    controller.close();
    const attemptsAtClose = attempts();
    // Wait on a fresh fake connection being refused would need a hook; instead check that
    // a whole backoff period later no attempt was made.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(attempts()).toBe(attemptsAtClose);
  });

  it('shows the stored turns of a session it never saw, then only live events', async () => {
    const client = new FakeClient();
    client.sessions.push(sessionInfo('old', { status: 'running', running: true }));
    client.turns['old'] = [
      storedTurn('echo REPLAY-MARKER', 'REPLAY-MARKER\n', true),
      storedTurn('sleep 30', '', false),
    ];
    // What the gateway's replay buffer holds: applying it too would show the turn twice.
    client.replay['old'] = [
      { type: 'turn.start', session_id: 'old', seq: 1, payload: { text: 'echo REPLAY-MARKER' } },
    ];
    client.seqs['old'] = 1;
    const controller = new GatewayController(connectorOf([client]).connector);
    await controller.start();

    const methods = client.calls.map((call) => call.method);
    expect(methods).toEqual(['session.list', 'session.turns', 'session.attach']);
    expect(client.calls[1]?.params).toEqual({ session_id: 'old', limit: 20 });
    expect(client.calls[2]?.params).toEqual({ session_id: 'old' });
    const state = controller.getState();
    expect(state.transcripts['old']).toBe(
      '[2 earlier turn(s) from the store]\n$ echo REPLAY-MARKER\nREPLAY-MARKER\n[exit 0]\n' +
        '$ sleep 30\n[running…]\n',
    );
    expect(state.runningText['old']).toBe('sleep 30');

    // Seq 2 was the attach's own status event.
    client.emit({ type: 'turn.output', session_id: 'old', seq: 3, payload: { data: 'live\n' } });
    client.emit({ type: 'turn.end', session_id: 'old', seq: 4, payload: { exit_code: 0 } });
    expect(controller.getState().transcripts['old']).toMatch(/\[running…\]\nlive\n\[exit 0\]\n$/);
    expect(controller.getState().runningText['old']).toBeUndefined();
    controller.close();
  });

  it('replays missed events on reconnect although the live status event comes first', async () => {
    const first = new FakeClient();
    const second = new FakeClient();
    const { connector } = connectorOf([first, second]);
    const controller = new GatewayController(connector, { reconnectMinMs: 10, reconnectMaxMs: 20 });
    await controller.start();
    const session = await controller.createSession();
    const id = session.session_id;
    first.emit({ type: 'turn.output', session_id: id, seq: 5, payload: { data: 'seen\n' } });
    second.sessions.push(session);
    second.seqs[id] = 6;
    second.replay[id] = [
      { type: 'turn.output', session_id: id, seq: 6, payload: { data: 'missed\n' } },
    ];

    first.drop();
    await waitFor(() => controller.getState().transcripts[id]?.includes('missed'), {
      what: 'the missed output replayed',
    });
    expect(controller.getState().transcripts[id]).toBe('seen\nmissed\n');
    expect(controller.getState().lastSeq[id]).toBe(7);
    controller.close();
  });

  it('lists stored sessions and resumes the picked one, showing its turns', async () => {
    const client = new FakeClient();
    client.stored = [storedSession('a', 'first'), storedSession('b', 'second')];
    client.turns['b'] = [storedTurn('echo resumed', 'resumed\n', true)];
    const controller = new GatewayController(connectorOf([client]).connector);
    await controller.start();

    await controller.openResumePicker();
    expect(client.calls.at(-1)).toEqual({ method: 'session.history', params: { limit: 20 } });
    expect(controller.getState().picker?.sessions.map((known) => known.session_id)).toEqual([
      'a',
      'b',
    ]);
    controller.dispatch({ type: 'picker-move', delta: 1 });
    await controller.resumePicked();

    const state = controller.getState();
    expect(client.calls.at(-1)).toEqual({ method: 'session.resume', params: { session_id: 'b' } });
    expect(state.picker).toBeNull();
    expect(state.currentId).toBe('b');
    expect(state.transcripts['b']).toContain('$ echo resumed\nresumed\n[exit 0]\n');
    // The resumed run numbers its events from 1 again: they must not be taken as seen.
    client.emit({ type: 'turn.output', session_id: 'b', seq: 2, payload: { data: 'new run\n' } });
    expect(controller.getState().transcripts['b']).toMatch(/new run\n$/);
    controller.close();
  });

  it('writes every failed slash command into the transcript, not only the status line', async () => {
    const client = new FakeClient();
    client.slashErrors['/bogus'] = {
      code: 4040,
      message: 'unknown slash command /bogus; try /help',
    };
    client.slashErrors['/cd /nonexistent'] = { code: -32602, message: 'no such directory' };
    const controller = new GatewayController(connectorOf([client]).connector);
    await controller.start();
    for (const command of ['/bogus', '/cd /nonexistent']) {
      controller.run(() => controller.submit(command));
    }
    await waitFor(() => controller.getState().notice?.text.includes('no such directory'), {
      what: 'the second error on the status line',
    });
    const { currentId, transcripts } = controller.getState();
    expect(transcripts[currentId ?? '']).toBe(
      '/bogus\n! unknown slash command /bogus; try /help (4040)\n' +
        '/cd /nonexistent\n! no such directory (-32602)\n',
    );
    controller.close();
  });
});

function sessionInfo(id: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return {
    session_id: id,
    title: `t-${id}`,
    status: 'idle',
    attached: 0,
    running: false,
    pty: null,
    ...extra,
  };
}

function storedTurn(text: string, output: string, hasEnded: boolean): StoredTurn {
  return {
    turn_id: `turn-${text}`,
    text,
    output,
    exit_code: hasEnded ? 0 : null,
    signal: null,
    started_at: '2026-01-02T03:04:05.000Z',
    ended_at: hasEnded ? '2026-01-02T03:04:06.000Z' : null,
  };
}

function storedSession(id: string, title: string): StoredSession {
  const run = {
    run_id: `r-${id}`,
    started_at: '2026-01-02T03:04:05.000Z',
    ended_at: null,
    end_reason: null,
  };
  return { session_id: id, title, created_at: '2026-01-02T03:04:05.000Z', runs: [run] };
}
