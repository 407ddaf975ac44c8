import { describe, expect, it } from 'vitest';
import type { EventMessage } from './client.js';
import { currentSession, initialState, reduce, type SessionInfo, type State } from './state.js';

function session(id: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return {
    session_id: id,
    title: `t-${id}`,
    status: 'idle',
    attached: 1,
    running: false,
    pty: null,
    ...extra,
  };
}

function event(
  type: string,
  sessionId: string,
  seq: number,
  payload: Record<string, unknown>,
): EventMessage {
  return { type, session_id: sessionId, seq, payload };
}

function connected(...ids: string[]): State {
  return reduce(initialState, { type: 'connected', sessions: ids.map((id) => session(id)) });
}

describe('reduce', () => {
  it('selects the first listed session on connect', () => {
    const state = connected('a', 'b');
    expect(state.connection).toBe('connected');
    expect(state.currentId).toBe('a');
  });

  it('streams a turn into the transcript with its exit code', () => {
    let state = connected('a');
    state = reduce(state, {
      type: 'event',
      event: event('turn.start', 'a', 1, { turn_id: 't1', text: 'echo hi' }),
    });
    state = reduce(state, {
      type: 'event',
      event: event('turn.output', 'a', 2, { turn_id: 't1', data: 'h' }),
    });
    state = reduce(state, {
      type: 'event',
      event: event('turn.output', 'a', 3, { turn_id: 't1', data: 'i' }),
    });
    state = reduce(state, {
      type: 'event',
      event: event('turn.end', 'a', 4, {
        turn_id: 't1',
        exit_code: 0,
        signal: null,
        duration_ms: 5,
      }),
    });
    expect(state.transcripts['a']).toBe('$ echo hi\nhi\n[exit 0 in 5 ms]\n');
    expect(state.lastSeq['a']).toBe(4);
  });

  it('ignores a replayed event it already applied', () => {
    let state = connected('a');
    const output = event('turn.output', 'a', 1, { data: 'once\n' });
    state = reduce(state, { type: 'event', event: output });
    state = reduce(state, {
      type: 'attached',
      session: session('a'),
      events: [output],
      truncated: false,
    });
    expect(state.transcripts['a']).toBe('once\n');
  });

  it('applies attach replay events that carry no session_id to the attached session', () => {
    const state = reduce(connected('a'), {
      type: 'attached',
      session: session('a'),
      events: [{ type: 'turn.output', seq: 7, payload: { data: 'replayed\n' } }],
      truncated: true,
    });
    expect(state.transcripts['a']).toBe('[earlier events were dropped]\nreplayed\n');
    expect(state.lastSeq['a']).toBe(7);
  });

  it('reflects session.status in the list', () => {
    const updated = session('a', {
      title: 'renamed',
      status: 'running',
      running: true,
      attached: 2,
    });
    const state = reduce(connected('a'), {
      type: 'event',
      event: event('session.status', 'a', 1, { session: updated }),
    });
    expect(state.sessions).toEqual([updated]);
  });

  it('drops a closed session and moves the selection to its neighbour', () => {
    let state = connected('a', 'b', 'c');
    state = reduce(state, { type: 'select', sessionId: 'b' });
    state = reduce(state, {
      type: 'event',
      event: event('session.closed', 'b', 1, { reason: 'grace_expired' }),
    });
    expect(state.sessions.map((known) => known.session_id)).toEqual(['a', 'c']);
    expect(state.currentId).toBe('c');
    expect(state.notice?.text).toContain('grace_expired');
  });

  it('cycles through sessions in both directions, wrapping', () => {
    let state = connected('a', 'b', 'c');
    state = reduce(state, { type: 'cycle', delta: -1 });
    expect(state.currentId).toBe('c');
    state = reduce(state, { type: 'cycle', delta: 1 });
    expect(state.currentId).toBe('a');
  });

  it('makes a newly opened session current', () => {
    const state = reduce(connected('a'), { type: 'session-opened', session: session('b') });
    expect(currentSession(state)?.session_id).toBe('b');
    expect(state.sessions).toHaveLength(2);
  });

  it('marks a drop as reconnecting and keeps what it knew until the new list arrives', () => {
    let state = reduce(connected('a', 'b'), { type: 'select', sessionId: 'b' });
    state = reduce(state, { type: 'disconnected', reason: 'code 1006' });
    expect(state.connection).toBe('reconnecting');
    expect(state.notice?.text).toContain('reconnecting');
    expect(state.sessions).toHaveLength(2);
    state = reduce(state, { type: 'connected', sessions: [session('b')] });
    expect(state.currentId).toBe('b');
  });

  it('removes a session the gateway no longer has', () => {
    const state = reduce(connected('a'), { type: 'session-gone', sessionId: 'a', text: 'gone' });
    expect(state.sessions).toEqual([]);
    expect(state.currentId).toBeNull();
    expect(state.notice).toEqual({ text: 'gone', isError: true });
  });

  it('renders stored turns in place of the transcript and forgets the seq of the old run', () => {
    let state = reduce(connected('a'), {
      type: 'event',
      event: event('turn.output', 'a', 9, { data: 'stale\n' }),
    });
    state = reduce(state, {
      type: 'turns-loaded',
      sessionId: 'a',
      turns: [
        {
          turn_id: 't1',
          text: 'false',
          output: '',
          exit_code: 1,
          signal: null,
          started_at: 'x',
          ended_at: 'y',
        },
        {
          turn_id: 't2',
          text: 'sleep 9',
          output: 'so far\r\n',
          exit_code: null,
          signal: null,
          started_at: 'x',
          ended_at: null,
        },
      ],
    });
    expect(state.transcripts['a']).toBe(
      '[2 earlier turn(s) from the store]\n$ false\n[exit 1]\n$ sleep 9\nso far\r\n[running…]\n',
    );
    expect(state.runningText['a']).toBe('sleep 9');
    expect(state.lastSeq['a']).toBeUndefined();
    state = reduce(state, {
      type: 'event',
      event: event('turn.output', 'a', 1, { data: 'new\n' }),
    });
    expect(state.transcripts['a']).toMatch(/new\n$/);
  });

  it('knows what a running turn runs from turn.start until turn.end', () => {
    let state = reduce(connected('a'), {
      type: 'event',
      event: event('turn.start', 'a', 1, { text: 'make' }),
    });
    expect(state.runningText).toEqual({ a: 'make' });
    state = reduce(state, { type: 'event', event: event('turn.end', 'a', 2, { exit_code: 0 }) });
    expect(state.runningText).toEqual({});
  });

  it('moves the resume picker with wrap-around and closes it', () => {
    const stored = (id: string) => ({ session_id: id, title: id, created_at: 'x', runs: [] });
    let state = reduce(initialState, { type: 'picker-open', sessions: [stored('a'), stored('b')] });
    expect(state.picker?.index).toBe(0);
    state = reduce(state, { type: 'picker-move', delta: -1 });
    expect(state.picker?.index).toBe(1);
    state = reduce(state, { type: 'picker-move', delta: 1 });
    expect(state.picker?.index).toBe(0);
    expect(reduce(state, { type: 'picker-close' }).picker).toBeNull();
  });
});
