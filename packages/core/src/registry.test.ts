import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { isTetherError } from './errors.js';
import { silentLogger } from './logger.js';
import { MemorySessionStore } from './memory-store.js';
import { SessionRegistry, type RegistryLimits } from './registry.js';
import type { Attachment } from './session.js';
import type { SessionEvent, TeardownReason } from './types.js';

const LIMITS: RegistryLimits = {
  maxSessions: 3,
  graceMs: 1000,
  idleTtlMs: 10_000,
  busyCapMs: 60_000,
  reapIntervalMs: 500,
  killGraceMs: 50,
  replayEvents: 100,
  persistWaitMs: 200,
};

function setup(limits: Partial<RegistryLimits> = {}) {
  const clock = new ManualClock();
  const store = new MemorySessionStore();
  let sweeps = 0;
  const registry = new SessionRegistry({
    instanceId: 'test-instance',
    clock,
    logger: silentLogger,
    store,
    limits: { ...LIMITS, ...limits },
    sweepSessionProcesses: async () => {
      sweeps += 1;
      return { signalled: [], killed: [], survivors: [] };
    },
  });
  return { clock, store, registry, sweeps: () => sweeps };
}

function recorder(
  id: string,
  transport: 'ws' | 'stdio' = 'ws',
): Attachment & { events: SessionEvent[] } {
  const events: SessionEvent[] = [];
  return { id, transport, events, notify: (event) => events.push(event) };
}

function createLive(registry: SessionRegistry, attachment?: Attachment, closeOnDisconnect = false) {
  const session = registry.create({ cwd: '/tmp', agent: 'shell', closeOnDisconnect });
  if (attachment) registry.attach(session, attachment);
  registry.markStarted(session);
  return session;
}

/** Lets queued microtasks and the outbox run without moving the manual clock. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SessionRegistry.requestClose', () => {
  it('runs one teardown for four triggers in the same tick and keeps the first reason', async () => {
    const { registry, store, sweeps } = setup();
    const client = recorder('c1');
    const session = createLive(registry, client);
    await registry.outbox.drained(1000);

    const reasons: TeardownReason[] = ['client_close', 'disconnect', 'idle_ttl', 'shutdown'];
    const claims = reasons.map((reason) => registry.requestClose(session.id, reason));
    const results = await Promise.all(claims.map((claim) => claim?.done));

    expect(claims.map((claim) => claim?.isFirstClaim)).toEqual([true, false, false, false]);
    expect(new Set(results).size).toBe(1);
    expect(results[0]?.reason).toBe('client_close');
    expect(sweeps()).toBe(1);
    expect(store.endRunWrites).toBe(1);
    expect(client.events.filter((event) => event.type === 'session.closed')).toHaveLength(1);
    expect([...store.runs.values()][0]?.endReason).toBe('client_close');
  });

  it('removes the session from the registry in the same tick as the claim', () => {
    const { registry } = setup();
    const session = createLive(registry, recorder('c1'));
    registry.requestClose(session.id, 'client_close');
    expect(registry.size).toBe(0);
    expect(registry.list()).toEqual([]);
    expect(() => registry.require(session.id)).toThrow(/not found or already closed/);
  });

  it('answers null for an id that is neither live nor closing, and creates nothing', async () => {
    const { registry, store } = setup();
    expect(registry.requestClose('no-such-id', 'client_close')).toBeNull();
    const session = createLive(registry);
    await registry.closeSession(session.id, 'client_close');
    expect(registry.requestClose(session.id, 'client_close')).toBeNull();
    expect(registry.size).toBe(0);
    expect(store.sessions.size).toBe(1);
  });
});

describe('SessionRegistry.spawnGuarded', () => {
  it('reaps what a spawn produced when the session closed during it, and the close waits for it', async () => {
    const { registry } = setup();
    const session = createLive(registry);
    let release: (value: string) => void = () => {};
    const reaped: string[] = [];
    const spawning = registry.spawnGuarded(
      session,
      'test',
      () => new Promise<string>((resolve) => (release = resolve)),
      async (spawned) => void reaped.push(spawned),
    );
    const closing = registry.closeSession(session.id, 'client_close');
    let isClosed = false;
    void closing.then(() => (isClosed = true));
    await flush();
    expect(isClosed).toBe(false);

    release('child-1');
    await expect(spawning).rejects.toSatisfy((error) =>
      isTetherError(error, 'TETHER_SESSION_NOT_FOUND'),
    );
    await closing;
    expect(reaped).toEqual(['child-1']);
  });

  it('refuses to start a spawn for a closing session', async () => {
    const { registry } = setup();
    const session = createLive(registry);
    registry.requestClose(session.id, 'client_close');
    let isSpawned = false;
    await expect(
      registry.spawnGuarded(
        session,
        'test',
        async () => (isSpawned = true),
        async () => {},
      ),
    ).rejects.toThrow(/closing/);
    expect(isSpawned).toBe(false);
  });
});

describe('grace', () => {
  it('closes a detached session with grace_expired once the grace passes', async () => {
    const { registry, clock, store } = setup();
    const session = createLive(registry, recorder('c1'));
    registry.detach(session.id, 'c1');
    expect(session.state).toBe('detached');
    clock.advance(999);
    expect(registry.size).toBe(1);
    clock.advance(1);
    expect(registry.size).toBe(0);
    await registry.outbox.drained(1000);
    await flush();
    expect([...store.runs.values()][0]?.endReason).toBe('grace_expired');
  });

  it('is cancelled by a re-attach, and a later detach starts a fresh grace', () => {
    const { registry, clock } = setup();
    const session = createLive(registry, recorder('c1'));
    registry.detach(session.id, 'c1');
    clock.advance(900);
    registry.attach(session, recorder('c2'));
    clock.advance(5000);
    expect(registry.size).toBe(1);
    registry.detach(session.id, 'c2');
    clock.advance(999);
    expect(registry.size).toBe(1);
    clock.advance(1);
    expect(registry.size).toBe(0);
  });

  it('ignores a stale connection leaving after the client re-attached on a new one', () => {
    const { registry, clock } = setup();
    const session = createLive(registry, recorder('old'));
    registry.attach(session, recorder('new'));
    registry.detach(session.id, 'old');
    clock.advance(10_000 - 1);
    expect(registry.size).toBe(1);
    expect(session.state).toBe('live');
  });

  it('with grace 0 parks a detached session until the idle TTL', () => {
    const { registry, clock } = setup({ graceMs: 0 });
    registry.startReapers();
    const session = createLive(registry, recorder('c1'));
    registry.detach(session.id, 'c1');
    clock.advance(9_000);
    expect(registry.size).toBe(1);
    clock.advance(1_500);
    expect(registry.size).toBe(0);
    expect(session.closeReason).toBe('idle_ttl');
  });

  it('closes a close_on_disconnect session when its last client goes', () => {
    const { registry } = setup();
    const session = createLive(registry, recorder('c1'), true);
    registry.detach(session.id, 'c1');
    expect(session.closeReason).toBe('disconnect');
  });

  it('does not close a detached session mid-turn and restarts grace when the turn ends', () => {
    const { registry, clock } = setup();
    const session = createLive(registry, recorder('c1'));
    registry.beginTurn(session, 't1', 'sleep 5');
    registry.detach(session.id, 'c1');
    clock.advance(3000);
    expect(registry.size).toBe(1);
    registry.endTurn(session);
    clock.advance(999);
    expect(registry.size).toBe(1);
    clock.advance(1);
    expect(session.closeReason).toBe('grace_expired');
  });
});

describe('idle and busy reapers', () => {
  it('reaps an attached session nobody used for the idle TTL, but not one that was used', () => {
    const { registry, clock } = setup();
    registry.startReapers();
    const unused = createLive(registry, recorder('c1'));
    const used = createLive(registry, recorder('c2'));
    clock.advance(6000);
    registry.touch(used);
    clock.advance(4500);
    expect(unused.closeReason).toBe('idle_ttl');
    expect(used.closeReason).toBeNull();
  });

  it('never idle-reaps a session attached over stdio', () => {
    const { registry, clock } = setup();
    registry.startReapers();
    const session = createLive(registry, recorder('stdio', 'stdio'));
    clock.advance(100_000);
    expect(session.closeReason).toBeNull();
  });

  it('keeps a running session past the idle TTL and ends it at the busy cap when unwatched', () => {
    const { registry, clock } = setup();
    registry.startReapers();
    const session = createLive(registry, recorder('c1'));
    registry.beginTurn(session, 't1', 'sleep 1000');
    clock.advance(30_000);
    expect(session.closeReason).toBeNull();
    registry.detach(session.id, 'c1');
    clock.advance(30_500);
    expect(session.closeReason).toBe('busy_cap');
  });
});

describe('session limit', () => {
  it('evicts the oldest detached idle session at the limit', () => {
    const { registry, clock } = setup();
    const first = createLive(registry, recorder('a'));
    clock.advance(10);
    const second = createLive(registry, recorder('b'));
    createLive(registry, recorder('c'));
    registry.detach(second.id, 'b');
    registry.detach(first.id, 'a');
    createLive(registry, recorder('d'));
    expect(first.closeReason).toBe('evicted');
    expect(second.closeReason).toBeNull();
    expect(registry.size).toBe(3);
  });

  it('fails with 4029 when nothing can be evicted', () => {
    const { registry } = setup();
    for (const id of ['a', 'b', 'c']) createLive(registry, recorder(id));
    let caught: unknown;
    try {
      registry.create({ cwd: '/tmp', agent: 'shell', closeOnDisconnect: false });
    } catch (error) {
      caught = error;
    }
    expect(isTetherError(caught, 'TETHER_LIMIT_REACHED')).toBe(true);
    expect((caught as { rpcCode: number }).rpcCode).toBe(4029);
    expect(registry.size).toBe(3);
  });
});

describe('store faults', () => {
  it('still tears down while the store is down and writes the run end once it is back', async () => {
    const { registry, store, clock } = setup();
    const session = createLive(registry, recorder('c1'));
    await registry.outbox.drained(1000);
    store.isUnavailable = true;
    const closing = registry.closeSession(session.id, 'client_close');
    await flush();
    clock.advance(250);
    const result = await closing;
    expect(result?.isPersisted).toBe(false);
    expect(registry.size).toBe(0);
    expect([...store.runs.values()][0]?.endedAt).toBeNull();

    store.isUnavailable = false;
    for (let i = 0; i < 20 && registry.outbox.pending > 0; i += 1) {
      clock.advance(5000);
      await flush();
    }
    expect(store.endRunWrites).toBe(1);
    expect([...store.runs.values()][0]?.endReason).toBe('client_close');
  });
});

describe('events', () => {
  it('numbers events per session from 1 and replays exactly those after since_seq', () => {
    const { registry } = setup();
    const session = createLive(registry, recorder('c1'));
    const before = session.seq;
    session.emit('turn.output', { data: 'a' });
    session.emit('turn.output', { data: 'b' });
    const replay = session.eventsSince(before);
    expect(replay.truncated).toBe(false);
    expect(replay.events.map((event) => event.payload.data)).toEqual(['a', 'b']);
    expect(replay.events.map((event) => event.seq)).toEqual([before + 1, before + 2]);
  });

  it('says truncated when the requested events were dropped from the buffer', () => {
    const { registry } = setup({ replayEvents: 3 });
    const session = createLive(registry, recorder('c1'));
    for (let i = 0; i < 10; i += 1) session.emit('turn.output', { data: String(i) });
    const replay = session.eventsSince(0);
    expect(replay.truncated).toBe(true);
    expect(replay.events).toHaveLength(3);
    expect(replay.events[0]?.seq).toBe(session.seq - 2);
  });
});
