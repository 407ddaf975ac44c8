/**
 * The soak's end: close everything that is left, let it quiesce, and check that nothing is
 * counted, open or alive any more — first with the gateway running, then after it stopped.
 */
import {
  markedProcesses,
  scrapeMetrics,
  summarizeLag,
  zombieChildren,
  type LagWindow,
} from './probes.js';
import type { SoakContext } from './state.js';

export interface FinalFigures {
  listedAtEnd: number;
  registryAtEnd: number;
  openRunsAtEnd: number;
  markedAtEnd: number;
  zombiesAtEnd: number;
  gatewayExit: { code: number | null; signal: string | null };
  markedAfterStop: number;
  /** Loop delay while the rest was closed and the gateway quiesced. */
  lagAtEnd: LagWindow | null;
}

const QUIESCE_TIMEOUT_MS = 15_000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil<T>(
  read: () => Promise<T>,
  isDone: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!isDone(value) && Date.now() < deadline) {
    await delay(100);
    value = await read();
  }
  return value;
}

export async function finalPhase(
  context: SoakContext,
  fail: (message: string) => void,
): Promise<FinalFigures> {
  const { gateway, observer } = context;
  const lagWindows: LagWindow[] = [];
  // Reset the gateway's histogram so the final windows cover the final phase only.
  await scrapeMetrics(gateway.port, gateway.token).catch(() => null);
  const figures: FinalFigures = {
    listedAtEnd: Number.NaN,
    registryAtEnd: Number.NaN,
    openRunsAtEnd: Number.NaN,
    markedAtEnd: Number.NaN,
    zombiesAtEnd: Number.NaN,
    gatewayExit: { code: null, signal: null },
    markedAfterStop: Number.NaN,
    lagAtEnd: null,
  };
  try {
    for (const session of context.sessions.values()) session.ptySocket?.terminate();
    const listed = (
      await observer.request<{ sessions: Array<{ session_id: string }> }>('session.list')
    ).sessions;
    await Promise.all(
      listed.map((session) =>
        observer.request('session.close', { session_id: session.session_id }, 30_000),
      ),
    );
    for (const slot of context.clients) slot.client.close();
    context.clients = [];

    const metrics = await waitUntil(
      () => scrapeMetrics(gateway.port, gateway.token, lagWindows),
      (sample) =>
        [
          'tether_registry_size',
          'tether_open_runs',
          'tether_sessions_closing',
          'tether_outbox_pending',
        ].every((name) => sample.get(name) === 0),
      QUIESCE_TIMEOUT_MS,
    );
    figures.registryAtEnd = metrics.get('tether_registry_size') ?? Number.NaN;
    figures.openRunsAtEnd = metrics.get('tether_open_runs') ?? Number.NaN;
    figures.listedAtEnd = (
      await observer.request<{ sessions: unknown[] }>('session.list')
    ).sessions.length;

    const sessionProcesses = await waitUntil(
      async () =>
        (await markedProcesses(gateway.instanceId)).filter((entry) => entry.sessionId !== null),
      (entries) => entries.length === 0,
      5000,
    );
    figures.markedAtEnd = sessionProcesses.length;
    figures.zombiesAtEnd = (
      await waitUntil(
        () => zombieChildren(gateway.pid),
        (pids) => pids.length === 0,
        5000,
      )
    ).length;

    await delay(200);
    await scrapeMetrics(gateway.port, gateway.token, lagWindows);
    figures.lagAtEnd = summarizeLag(lagWindows);

    if (figures.listedAtEnd !== 0 || figures.registryAtEnd !== 0 || figures.openRunsAtEnd !== 0) {
      fail(
        `at the end: listed ${figures.listedAtEnd}, registry ${figures.registryAtEnd}, ` +
          `open runs ${figures.openRunsAtEnd} (all must be 0)`,
      );
    }
    if (figures.markedAtEnd !== 0) {
      fail(
        `at the end: ${figures.markedAtEnd} session process(es) alive: ` +
          sessionProcesses.map((entry) => entry.cmdline).join(' | '),
      );
    }
    if (figures.zombiesAtEnd !== 0)
      fail(`at the end: ${figures.zombiesAtEnd} zombie children of the gateway`);
  } catch (error) {
    fail(`final phase failed: ${(error as Error).stack ?? String(error)}`);
  }

  observer.close();
  figures.gatewayExit = await gateway.stop();
  if (figures.gatewayExit.code !== 0) {
    fail(`gateway exit ${JSON.stringify(figures.gatewayExit)} (expected code 0)`);
  }
  const left = await waitUntil(
    () => markedProcesses(gateway.instanceId),
    (entries) => entries.length === 0,
    5000,
  );
  figures.markedAfterStop = left.length;
  if (left.length > 0) {
    fail(
      `after the gateway stopped: ${left.length} marked process(es): ` +
        left.map((entry) => entry.cmdline).join(' | '),
    );
    for (const entry of left) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  return figures;
}
