/**
 * Workload 5: many sessions, each with a terminal and a worker, closed all at once. Measures
 * the time until no marked process is left and the gateway's event-loop lag meanwhile, both
 * as the gateway sees it (prom-client's lag histogram, reset by every /metrics read) and as a
 * client sees it (/healthz round trips).
 */
import type { RpcClient } from '@tether/ws-transport';
import { metricValue, type TetherGateway } from '../systems/tether.js';
import { timeUntilNoMarked } from '../procs.js';
import { inBatches } from './batches.js';

/** The gateway's event-loop sampling period (apps/gateway/src/metrics.ts). */
const EVENT_LOOP_SAMPLING_MS = 10;

export interface MassCloseResult {
  sessions: number;
  allClosedRepliesMs: number;
  noMarkedMs: number | null;
  leftAfterBound: number;
  lagMs: { p50: number | null; p99: number | null; max: number | null };
  healthzMs: number[];
}

/** Sessions with a terminal and a worker (spawned by `/status`), `concurrency` at a time. */
export async function createLoadedSessions(
  rpc: RpcClient,
  count: number,
  concurrency: number,
  withWorker: boolean,
  withPty: boolean,
): Promise<string[]> {
  return inBatches(count, concurrency, async () => {
    const created = await rpc.request<{ session: { session_id: string } }>('session.create', {
      title: 'bench-load',
      ...(withPty ? { pty: { command: ['/bin/sh'] } } : {}),
    });
    const sessionId = created.session.session_id;
    if (withWorker) await rpc.request('slash.exec', { session_id: sessionId, command: '/status' });
    return sessionId;
  });
}

export async function massClose(
  gateway: TetherGateway,
  rpc: RpcClient,
  sessions: number,
  boundMs: number,
): Promise<MassCloseResult> {
  const ids = await createLoadedSessions(rpc, sessions, 8, true, true);
  // Reading /metrics resets the lag histogram, so the next read covers only the close.
  await gateway.metrics();
  const healthzMs: number[] = [];
  let isPolling = true;
  const poller = (async () => {
    while (isPolling) {
      healthzMs.push(await gateway.healthzMs());
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const started = performance.now();
  await Promise.all(
    ids.map((sessionId) =>
      rpc.request('session.close', { session_id: sessionId }, { timeoutMs: 60_000 }),
    ),
  );
  const allClosedRepliesMs = performance.now() - started;
  const gone = await timeUntilNoMarked(gateway.instanceId, started, boundMs);
  isPolling = false;
  await poller;
  const metrics = await gateway.metrics();
  // prom-client's samples are its timer period plus the delay (apps/gateway/src/metrics.ts
  // EVENT_LOOP_SAMPLING_MS): report the delay, what a request waiting on the loop feels.
  const delayMs = (name: string) => {
    const value = metricValue(metrics, `tether_nodejs_eventloop_lag_${name}_seconds`);
    return value === null ? null : Math.max(0, value * 1000 - EVENT_LOOP_SAMPLING_MS);
  };
  return {
    sessions,
    allClosedRepliesMs,
    noMarkedMs: gone.ms,
    leftAfterBound: gone.left,
    lagMs: { p50: delayMs('p50'), p99: delayMs('p99'), max: delayMs('max') },
    healthzMs,
  };
}
