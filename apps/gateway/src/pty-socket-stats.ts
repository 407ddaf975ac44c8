import { Gauge, type Registry } from 'prom-client';

/** What one `/pty` socket reports about its send side. */
export interface PtySocketState {
  /** Bytes handed to the socket whose write has not completed yet. */
  unsentBytes: number;
  /** True while this socket holds the terminal paused. */
  isPaused: boolean;
}

/**
 * The live `/pty` sockets' send-side state, so backpressure is visible from outside: the
 * largest backlog now, the largest ever seen, and how many sockets hold a terminal paused.
 */
export class PtySocketStats {
  private readonly sockets = new Set<PtySocketState>();
  private peakUnsentBytes = 0;

  add(): PtySocketState {
    const state: PtySocketState = { unsentBytes: 0, isPaused: false };
    this.sockets.add(state);
    return state;
  }

  remove(state: PtySocketState): void {
    this.sockets.delete(state);
  }

  /** Called after every change of a socket's backlog, to keep the peak. */
  noteUnsent(state: PtySocketState): void {
    if (state.unsentBytes > this.peakUnsentBytes) this.peakUnsentBytes = state.unsentBytes;
  }

  get maxUnsentBytes(): number {
    let max = 0;
    for (const state of this.sockets) max = Math.max(max, state.unsentBytes);
    return max;
  }

  get peak(): number {
    return this.peakUnsentBytes;
  }

  get pausedCount(): number {
    let count = 0;
    for (const state of this.sockets) if (state.isPaused) count += 1;
    return count;
  }
}

/** Registers the backpressure gauges on the gateway's metrics registry. */
export function registerPtyGauges(registry: Registry, stats: PtySocketStats): void {
  new Gauge({
    name: 'tether_pty_unsent_bytes',
    help: 'Largest backlog of terminal output not yet written to one /pty socket.',
    registers: [registry],
    collect() {
      this.set(stats.maxUnsentBytes);
    },
  });
  new Gauge({
    name: 'tether_pty_unsent_bytes_peak',
    help: 'Largest /pty socket backlog seen since start.',
    registers: [registry],
    collect() {
      this.set(stats.peak);
    },
  });
  new Gauge({
    name: 'tether_pty_paused',
    help: '/pty sockets currently holding their terminal paused (backpressure).',
    registers: [registry],
    collect() {
      this.set(stats.pausedCount);
    },
  });
}
