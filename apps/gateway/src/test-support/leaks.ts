import { leakCheck } from '@tether/test-utils';
import type { GatewayProcess } from './gateway-process.js';

/** Reads one gauge from the gateway's /metrics. */
export async function gauge(gateway: GatewayProcess, name: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/metrics`, {
    headers: { authorization: `Bearer ${gateway.token}` },
  });
  const text = await response.text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} missing`);
  return Number(line.split(' ')[1]);
}

/** While the gateway runs: the listed count, the registry size and the open stored runs agree. */
export async function countsAgree(
  gateway: GatewayProcess,
): Promise<{ sessions: number; registry: number; openRuns: number }> {
  const [sessions, registry, openRuns] = await Promise.all([
    gauge(gateway, 'tether_sessions'),
    gauge(gateway, 'tether_registry_size'),
    gauge(gateway, 'tether_open_runs'),
  ]);
  return { sessions, registry, openRuns };
}

/** After the gateway stopped: no process carries its instance marker, no zombie hangs off us. */
export async function processLeaks(gateway: GatewayProcess) {
  return leakCheck({
    markerKey: 'TETHER_INSTANCE_ID',
    markerValue: gateway.instanceId,
    timeoutMs: 5000,
  });
}
