import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionRegistry, SessionStore } from '@tether/core';

export interface GatewayMetrics {
  readonly registry: Registry;
  closed: Counter<'reason'>;
  teardownSeconds: Histogram;
  spawned: Counter<'kind'>;
}

/**
 * The three counts that must agree — registry size, listed sessions, stored open runs — are
 * exported side by side so a drift is visible on any dashboard.
 */
/**
 * The event-loop lag histogram samples with a timer of this period; each sample is the period
 * plus the delay, so an idle loop reads about 10 ms. Subtract it to get the delay itself.
 */
export const EVENT_LOOP_SAMPLING_MS = 10;

export function createMetrics(
  sessions: SessionRegistry,
  store: SessionStore,
  instanceId: string,
): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    prefix: 'tether_',
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLING_MS,
  });
  new Gauge({
    name: 'tether_sessions',
    help: 'Attachable sessions (what session.list returns).',
    registers: [registry],
    collect() {
      this.set(sessions.size);
    },
  });
  new Gauge({
    name: 'tether_registry_size',
    help: 'Sessions held by the registry.',
    registers: [registry],
    collect() {
      this.set(sessions.list().length);
    },
  });
  new Gauge({
    name: 'tether_sessions_closing',
    help: 'Teardowns in flight.',
    registers: [registry],
    collect() {
      this.set(sessions.closingCount);
    },
  });
  new Gauge({
    name: 'tether_open_runs',
    help: 'Stored runs of this gateway with no end yet.',
    registers: [registry],
    async collect() {
      try {
        this.set((await store.listOpenRuns(instanceId)).length);
      } catch {
        // Store down: report NaN rather than a stale number, so the gap is visible.
        this.set(Number.NaN);
      }
    },
  });
  new Gauge({
    name: 'tether_outbox_pending',
    help: 'Store writes waiting for the store.',
    registers: [registry],
    collect() {
      this.set(sessions.outbox.pending);
    },
  });
  return {
    registry,
    closed: new Counter({
      name: 'tether_sessions_closed_total',
      help: 'Sessions ended, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    teardownSeconds: new Histogram({
      name: 'tether_teardown_seconds',
      help: 'Time from claim to the end of a teardown.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    spawned: new Counter({
      name: 'tether_processes_spawned_total',
      help: 'Processes spawned, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
