import { randomUUID } from 'node:crypto';
import {
  MemorySessionStore,
  SessionRegistry,
  isTetherError,
  silentLogger,
  systemClock,
  type SpawnTerminal,
  type SpawnWorker,
} from '@tether/core';
import { spawnPtySession } from '@tether/pty-bridge';
import { spawnSlashWorker } from '@tether/slash-worker';
import { leakCheck } from '@tether/test-utils';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { SessionRuntime } from '../session-runtime.js';

const ROUNDS = 200;
const CONCURRENCY = 8;
const KILL_GRACE_MS = 200;
const MAX_SPAWN_DELAY_MS = 40;
const MAX_CLOSE_DELAY_MS = 60;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomMs = (max: number) => Math.floor(Math.random() * max);

/** Fault injector: the real spawn, started after a random delay (a slow fork, a busy host). */
function slowly<O, T>(spawn: (options: O) => Promise<T>): (options: O) => Promise<T> {
  return async (options) => {
    await delay(randomMs(MAX_SPAWN_DELAY_MS));
    return spawn(options);
  };
}

describe('close during create', () => {
  it(`${ROUNDS} rounds with slow spawns and random close delays: nothing survives, every caller answered`, async () => {
    const instanceId = `close-during-create-${randomUUID()}`;
    const store = new MemorySessionStore();
    const registry = new SessionRegistry({
      instanceId,
      clock: systemClock,
      logger: silentLogger,
      store,
      limits: {
        maxSessions: 1000,
        graceMs: 60_000,
        idleTtlMs: 600_000,
        busyCapMs: 600_000,
        reapIntervalMs: 60_000,
        killGraceMs: KILL_GRACE_MS,
        replayEvents: 100,
      },
    });
    const spawnWorker: SpawnWorker = slowly((options) => spawnSlashWorker(options));
    const spawnTerminal: SpawnTerminal = slowly((options) => spawnPtySession(options));
    const runtime = new SessionRuntime(
      registry,
      store,
      spawnWorker,
      spawnTerminal,
      {
        instanceId,
        plugins: [],
        workerTimeoutMs: 10_000,
        watchdogPollMs: 500,
        watchdogGraceMs: 500,
        killGraceMs: KILL_GRACE_MS,
        replayBytes: 64 * 1024,
        maxRestarts: 5,
        restartWindowMs: 60_000,
      },
      silentLogger,
      createMetrics(registry, store, instanceId),
    );

    const outcomes = {
      spawned: 0,
      refused: 0,
      closedFirst: 0,
      closedLate: 0,
      other: [] as unknown[],
    };
    const settle = (promise: Promise<unknown>) =>
      promise.then(
        () => void (outcomes.spawned += 1),
        (error: unknown) => {
          if (isTetherError(error, 'TETHER_SESSION_NOT_FOUND')) outcomes.refused += 1;
          else outcomes.other.push(error);
        },
      );

    const round = async () => {
      const session = registry.create({
        cwd: process.cwd(),
        agent: 'shell',
        closeOnDisconnect: false,
      });
      const terminal = settle(
        runtime.openTerminal(session, { cols: 80, rows: 24 }, ['sleep', '600']),
      );
      const worker = settle(runtime.ensureWorker(session));
      await delay(randomMs(MAX_CLOSE_DELAY_MS));
      const result = await registry.closeSession(session.id, 'client_close');
      if (result) outcomes.closedFirst += 1;
      else outcomes.closedLate += 1;
      await Promise.all([terminal, worker]);
      expect(registry.get(session.id)).toBeUndefined();
    };
    for (let started = 0; started < ROUNDS; started += CONCURRENCY) {
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ROUNDS - started) }, round));
    }

    console.log(
      `close during create: ${JSON.stringify({ ...outcomes, other: outcomes.other.length })}`,
    );
    expect(outcomes.other).toEqual([]);
    expect(outcomes.spawned + outcomes.refused).toBe(ROUNDS * 2);
    expect(outcomes.closedFirst).toBe(ROUNDS);
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(registry.size).toBe(0);
    expect(await registry.outbox.drained(5000)).toBe(true);
    expect(await store.listOpenRuns()).toEqual([]);
    expect(
      await leakCheck({
        markerKey: 'TETHER_INSTANCE_ID',
        markerValue: instanceId,
        timeoutMs: 5000,
      }),
    ).toEqual({
      marked: [],
      zombies: [],
    });
  });
});
