/**
 * The soak's invariants, checked once in-flight operations have settled:
 * session.list = registry size = open stored runs, and no marked process that belongs to a
 * session the gateway no longer lists, and no zombie hanging off the gateway.
 */
import { markedProcesses, scrapeMetrics, zombieChildren, type ProcEntry } from './probes.js';
import { forgetSession, type SoakContext } from './state.js';

export interface CheckResult {
  isSettled: boolean;
  listed: number;
  registry: number;
  openRuns: number;
  drift: number;
  leaked: ProcEntry[];
  zombies: number[];
}

const SETTLE_ATTEMPTS = 60;
const SETTLE_PAUSE_MS = 100;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One sample: metrics before and after the list, so a reaper acting in between is seen. */
async function sample(context: SoakContext) {
  const { port, token } = context.gateway;
  const before = await scrapeMetrics(port, token, context.lagWindows);
  const listed = (
    await context.observer.request<{ sessions: Array<{ session_id: string }> }>('session.list')
  ).sessions;
  const after = await scrapeMetrics(port, token, context.lagWindows);
  const gauges = ['tether_registry_size', 'tether_sessions', 'tether_open_runs'];
  const isStable =
    gauges.every((name) => before.get(name) === after.get(name)) &&
    [before, after].every(
      (metrics) =>
        metrics.get('tether_sessions_closing') === 0 && metrics.get('tether_outbox_pending') === 0,
    );
  return { before, after, listed, isStable };
}

/** Waits (bounded) for a stable sample, then evaluates the invariants on it. */
export async function checkInvariants(
  context: SoakContext,
  leakRecheckMs: number,
): Promise<CheckResult> {
  let current = await sample(context);
  for (let attempt = 0; !current.isStable && attempt < SETTLE_ATTEMPTS; attempt += 1) {
    await delay(SETTLE_PAUSE_MS);
    current = await sample(context);
  }
  const listedIds = new Set(current.listed.map((session) => session.session_id));
  for (const id of [...context.sessions.keys()]) if (!listedIds.has(id)) forgetSession(context, id);

  const registry = current.after.get('tether_registry_size') ?? Number.NaN;
  const gaugeSessions = current.after.get('tether_sessions') ?? Number.NaN;
  const openRuns = current.after.get('tether_open_runs') ?? Number.NaN;
  const listed = listedIds.size;
  const drift = current.isStable
    ? Math.max(
        Math.abs(listed - registry),
        Math.abs(registry - openRuns),
        Math.abs(listed - gaugeSessions),
      )
    : 0;

  return {
    isSettled: current.isStable,
    listed,
    registry,
    openRuns,
    drift: Number.isNaN(drift) ? Number.POSITIVE_INFINITY : drift,
    leaked: await confirmedLeaks(context, listedIds, leakRecheckMs),
    zombies: await persistentZombies(context.gateway.pid),
  };
}

/**
 * Marked processes of sessions that are not listed. A session reaped a moment ago may still
 * have processes inside its kill deadline, so a candidate counts only if the same process
 * (pid and start time) is still there after the recheck delay and its session is still gone.
 */
async function confirmedLeaks(
  context: SoakContext,
  listedIds: Set<string>,
  recheckMs: number,
): Promise<ProcEntry[]> {
  const isOrphan = (entry: ProcEntry, ids: Set<string>) =>
    entry.sessionId !== null && !ids.has(entry.sessionId);
  const candidates = (await markedProcesses(context.gateway.instanceId)).filter((entry) =>
    isOrphan(entry, listedIds),
  );
  if (candidates.length === 0) return [];
  await delay(recheckMs);
  const relisted = new Set(
    (
      await context.observer.request<{ sessions: Array<{ session_id: string }> }>('session.list')
    ).sessions.map((session) => session.session_id),
  );
  const still = await markedProcesses(context.gateway.instanceId);
  const key = (entry: ProcEntry) => `${entry.pid}:${entry.startTime}`;
  const candidateKeys = new Set(candidates.map(key));
  return still.filter((entry) => candidateKeys.has(key(entry)) && isOrphan(entry, relisted));
}

/** Zombies of the gateway that are still zombies half a second later (not merely unreaped yet). */
async function persistentZombies(gatewayPid: number): Promise<number[]> {
  const first = await zombieChildren(gatewayPid);
  if (first.length === 0) return [];
  await delay(500);
  const second = new Set(await zombieChildren(gatewayPid));
  return first.filter((pid) => second.has(pid));
}
