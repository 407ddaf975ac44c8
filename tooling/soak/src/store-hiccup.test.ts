import { afterEach, describe, expect, it } from 'vitest';
import { startSoakGateway, type SoakGateway } from './gateway-process.js';
import { markedProcesses, scrapeMetrics } from './probes.js';
import { SoakClient } from './rpc-client.js';
import { StoreHiccup } from './store-hiccup.js';

let gateway: SoakGateway | null = null;

afterEach(async () => {
  if (!gateway) return;
  expect(await gateway.stop()).toEqual({ code: 0, signal: null });
  expect(await markedProcesses(gateway.instanceId)).toEqual([]);
  await gateway.removeHome();
  gateway = null;
});

/** The slowest /healthz answer while `during` runs. */
async function slowestHealthzMs(port: number, during: Promise<unknown>): Promise<number> {
  let isRunning = true;
  void during.finally(() => (isRunning = false));
  let slowestMs = 0;
  while (isRunning) {
    const sentMs = performance.now();
    await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.text());
    slowestMs = Math.max(slowestMs, performance.now() - sentMs);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return slowestMs;
}

describe('store hiccup', () => {
  it('keeps the event loop running while another connection holds the write lock', async () => {
    gateway = await startSoakGateway(['--idle-ttl-s', '600']);
    const client = await SoakClient.connect(gateway.port, gateway.token);
    const hiccup = new StoreHiccup(gateway.home);
    const holdMs = 1500;
    const held = hiccup.hold(holdMs);

    // Writes meet the lock: the session's create and run start, then its end.
    const work = (async () => {
      const { session } = await client.request<{ session: { session_id: string } }>(
        'session.create',
        { title: 'hiccup' },
      );
      await client.request('session.close', { session_id: session.session_id });
    })();
    const slowestMs = await slowestHealthzMs(gateway.port, Promise.all([held, work]));
    expect(hiccup.heldCount).toBe(1);
    expect(slowestMs).toBeLessThan(holdMs / 3);

    // Once the lock is gone the queued writes land: no open run is left behind.
    const deadline = Date.now() + 10_000;
    let metrics = await scrapeMetrics(gateway.port, gateway.token);
    while (metrics.get('tether_outbox_pending') !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      metrics = await scrapeMetrics(gateway.port, gateway.token);
    }
    expect(metrics.get('tether_open_runs')).toBe(0);
    expect(metrics.get('tether_registry_size')).toBe(0);
    hiccup.close();
    client.close();
  });
});
