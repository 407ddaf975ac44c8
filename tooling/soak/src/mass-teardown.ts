/**
 * Event-loop lag while many sessions are torn down at once: N sessions, each with a terminal
 * and a worker, closed in the same tick. The gateway's own loop-delay histogram is read
 * just before and just after; an outside probe times /healthz meanwhile.
 */
import { startSoakGateway } from './gateway-process.js';
import { markedProcesses, scrapeMetrics, zombieChildren } from './probes.js';
import { SoakClient } from './rpc-client.js';

export interface MassTeardownResult {
  sessions: number;
  workers: number;
  setupS: number;
  teardownS: number;
  /** The gateway's histogram over the teardown window (prom-client, reset at each scrape). */
  lag: { p50S: number; p99S: number; maxS: number; meanS: number };
  /** Slowest /healthz answer while the teardown ran (an outside view of the same stall). */
  healthzMaxMs: number;
  leftListed: number;
  leftOpenRuns: number;
  leftProcesses: number;
  zombies: number;
  gatewayExit: { code: number | null; signal: string | null };
  markedAfterStop: number;
  passed: boolean;
}

async function inBatches<T>(
  items: T[],
  size: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let index = 0; index < items.length; index += size) {
    await Promise.all(items.slice(index, index + size).map(run));
  }
}

export async function runMassTeardown(options: {
  sessions: number;
  onProgress?: (line: string) => void;
}): Promise<MassTeardownResult> {
  const progress = options.onProgress ?? (() => {});
  // Nothing may reap the sessions while they are being set up: long idle and grace.
  const gateway = await startSoakGateway([
    '--idle-ttl-s',
    '3600',
    '--grace-s',
    '600',
    '--max-sessions',
    String(options.sessions + 10),
  ]);
  const client = await SoakClient.connect(gateway.port, gateway.token);
  const setupStarted = performance.now();
  const ids: string[] = [];
  await inBatches(
    Array.from({ length: options.sessions }, (_, index) => index),
    8,
    async () => {
      const { session } = await client.request<{ session: { session_id: string } }>(
        'session.create',
        { title: 'mass', pty: { cols: 80, rows: 24 } },
        60_000,
      );
      ids.push(session.session_id);
    },
  );
  progress(`${ids.length} sessions with terminals`);
  await inBatches(ids, 4, (id) =>
    client.request('slash.exec', { session_id: id, command: '/status' }, 60_000),
  );
  const workers = (await markedProcesses(gateway.instanceId)).filter(
    (entry) => entry.ppid === gateway.pid && entry.cmdline.includes('--parent-pid'),
  ).length;
  const setupS = (performance.now() - setupStarted) / 1000;
  progress(`${workers} workers; closing all ${ids.length} sessions at once`);

  // This scrape resets the histogram, so the next one covers the teardown only.
  await scrapeMetrics(gateway.port, gateway.token);
  let healthzMaxMs = 0;
  let isTearingDown = true;
  const probe = (async () => {
    while (isTearingDown) {
      const sent = performance.now();
      await fetch(`http://127.0.0.1:${gateway.port}/healthz`).then((response) => response.text());
      healthzMaxMs = Math.max(healthzMaxMs, performance.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const teardownStarted = performance.now();
  await Promise.all(ids.map((id) => client.request('session.close', { session_id: id }, 120_000)));
  const teardownS = (performance.now() - teardownStarted) / 1000;
  isTearingDown = false;
  await probe;
  const after = await scrapeMetrics(gateway.port, gateway.token);
  const lag = {
    p50S: after.get('tether_nodejs_eventloop_lag_p50_seconds') ?? Number.NaN,
    p99S: after.get('tether_nodejs_eventloop_lag_p99_seconds') ?? Number.NaN,
    maxS: after.get('tether_nodejs_eventloop_lag_max_seconds') ?? Number.NaN,
    meanS: after.get('tether_nodejs_eventloop_lag_mean_seconds') ?? Number.NaN,
  };

  const deadline = Date.now() + 10_000;
  let left = await markedProcesses(gateway.instanceId);
  while (left.some((entry) => entry.sessionId !== null) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await markedProcesses(gateway.instanceId);
  }
  const leftProcesses = left.filter((entry) => entry.sessionId !== null).length;
  const leftListed = (await client.request<{ sessions: unknown[] }>('session.list')).sessions
    .length;
  const leftOpenRuns =
    (await scrapeMetrics(gateway.port, gateway.token)).get('tether_open_runs') ?? Number.NaN;
  const zombies = (await zombieChildren(gateway.pid)).length;
  client.close();
  const gatewayExit = await gateway.stop();
  let markedAfterStop = (await markedProcesses(gateway.instanceId)).length;
  for (let attempt = 0; markedAfterStop > 0 && attempt < 50; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    markedAfterStop = (await markedProcesses(gateway.instanceId)).length;
  }
  const passed =
    leftProcesses === 0 &&
    leftListed === 0 &&
    leftOpenRuns === 0 &&
    zombies === 0 &&
    gatewayExit.code === 0 &&
    markedAfterStop === 0;
  if (passed) await gateway.removeHome();
  return {
    sessions: ids.length,
    workers,
    setupS,
    teardownS,
    lag,
    healthzMaxMs,
    leftListed,
    leftOpenRuns,
    leftProcesses,
    zombies,
    gatewayExit,
    markedAfterStop,
    passed,
  };
}
