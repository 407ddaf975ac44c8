/** Workloads 3 and 4 (Tether only): create → first output of a turn, and create/close cycles. */
import type { RpcClient, EventMessage } from '@tether/ws-transport';
import type { TetherGateway } from '../systems/tether.js';
import { timeUntilNoMarked } from '../procs.js';

interface Created {
  session: { session_id: string };
}

/** ms from sending `session.create` to the first `turn.output` of `echo` in the new session. */
export async function createToFirstOutput(rpc: RpcClient, samples: number): Promise<number[]> {
  const results: number[] = [];
  for (let index = 0; index < samples; index += 1) {
    let sessionId: string | null = null;
    let resolveOutput!: () => void;
    const early: string[] = [];
    const output = new Promise<void>((resolve) => (resolveOutput = resolve));
    const listener = rpc.onEvent((event: EventMessage) => {
      if (event.type !== 'turn.output') return;
      // The event can beat the create response only in theory; remember it either way.
      if (sessionId === null) early.push(event.session_id ?? '');
      else if (event.session_id === sessionId) resolveOutput();
    });
    const started = performance.now();
    const created = await rpc.request<Created>('session.create', { title: 'bench-turn' });
    sessionId = created.session.session_id;
    if (early.includes(sessionId)) resolveOutput();
    await rpc.request('prompt.submit', { session_id: sessionId, text: 'echo bench' });
    await output;
    results.push(performance.now() - started);
    listener.dispose();
    await rpc.request('session.close', { session_id: sessionId });
  }
  return results;
}

/** Sequential create (with a terminal) → close cycles per second, then the leak check. */
export async function createCloseCycles(
  gateway: TetherGateway,
  rpc: RpcClient,
  cycles: number,
): Promise<{ perSecond: number; leaked: number }> {
  const started = performance.now();
  for (let index = 0; index < cycles; index += 1) {
    const created = await rpc.request<Created>('session.create', {
      title: 'bench-cycle',
      pty: { command: ['/bin/sh'] },
    });
    await rpc.request('session.close', { session_id: created.session.session_id });
  }
  const perSecond = cycles / ((performance.now() - started) / 1000);
  const leak = await timeUntilNoMarked(gateway.instanceId, performance.now(), 5000);
  return { perSecond, leaked: leak.left };
}
