/** Workloads 6 and 7: memory per idle session, and how many terminal sessions fit a bound. */
import type { RpcClient } from '@tether/ws-transport';
import type { TetherGateway } from '../systems/tether.js';
import { markedPids, rssBytes, sumRss } from '../procs.js';
import { createLoadedSessions } from './mass-close.js';

/** Lets allocation settle (lazy buffers, GC) before a reading; not a synchronisation. */
const SETTLE_MS = 1000;

async function settledRss(pid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return rssBytes(pid);
}

export interface PerSessionMemory {
  gatewayBytes: number;
  childBytes: number;
}

/** (RSS after N sessions − RSS before) / N for the gateway, and the children's RSS / N. */
export async function memoryPerSession(
  gateway: TetherGateway,
  rpc: RpcClient,
  count: number,
  kind: { worker: boolean; pty: boolean },
): Promise<PerSessionMemory> {
  const before = await settledRss(gateway.pid);
  const ids = await createLoadedSessions(rpc, count, 8, kind.worker, kind.pty);
  const after = await settledRss(gateway.pid);
  const children = await sumRss(await markedPids(gateway.instanceId));
  await Promise.all(
    ids.map((sessionId) => rpc.request('session.close', { session_id: sessionId })),
  );
  return { gatewayBytes: (after - before) / count, childBytes: children / count };
}

export interface CapacityResult {
  sessions: number;
  totalBytes: number;
  stoppedBy: 'memory bound' | 'session cap' | 'error';
  error?: string;
  /** Sessions the bound would hold at the measured cost per session. */
  extrapolated: number;
}

/** Adds terminal sessions in batches until the memory bound, the cap, or the first failure. */
export async function capacity(
  gateway: TetherGateway,
  rpc: RpcClient,
  options: { cap: number; boundBytes: number; batch: number },
): Promise<CapacityResult> {
  const baseline = await rssBytes(gateway.pid);
  let sessions = 0;
  let totalBytes = baseline;
  let stoppedBy: CapacityResult['stoppedBy'] = 'session cap';
  let error: string | undefined;
  while (sessions < options.cap) {
    try {
      const size = Math.min(options.batch, options.cap - sessions);
      await createLoadedSessions(rpc, size, 8, false, true);
      sessions += size;
    } catch (failure) {
      stoppedBy = 'error';
      error = failure instanceof Error ? failure.message : String(failure);
      break;
    }
    totalBytes =
      (await rssBytes(gateway.pid)) + (await sumRss(await markedPids(gateway.instanceId)));
    if (totalBytes >= options.boundBytes) {
      stoppedBy = 'memory bound';
      break;
    }
  }
  const perSession = sessions > 0 ? (totalBytes - baseline) / sessions : Number.NaN;
  const extrapolated = Math.floor((options.boundBytes - baseline) / perSession);
  return { sessions, totalBytes, stoppedBy, extrapolated, ...(error ? { error } : {}) };
}
