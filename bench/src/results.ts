/** The suite's result model: rows of figures per system, targets, and raw latency samples. */
import type { Figure } from './stats.js';

export const SYSTEMS = ['Tether', 'raw node-pty', 'Jupyter', 'tmux'] as const;
export type SystemName = (typeof SYSTEMS)[number];
export const BASELINES: SystemName[] = ['raw node-pty', 'Jupyter', 'tmux'];

export interface Row {
  /** Stable id the smoke test checks for, e.g. `throughput_mb_s`. */
  id: string;
  label: string;
  unit: string;
  values: Partial<Record<SystemName, Figure>>;
  note?: string;
}

export interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  met: boolean | null;
}

export interface BenchResults {
  date: string;
  command: string;
  smoke: boolean;
  durationS: number;
  machine: { nproc: number; memGiB: number; kernel: string; node: string; cpu: string };
  versions: Record<string, string>;
  skipped: string[];
  rows: Row[];
  targets: TargetCheck[];
  /** Every latency sample (ms) for the distribution picture. */
  samples: { echo: Partial<Record<SystemName, number[]>>; createToOutput: number[] };
}

/** The figures every run must produce (the smoke test's checklist). */
export const FIGURE_IDS = [
  'throughput_mb_s',
  'echo_p50_ms',
  'echo_p99_ms',
  'create_output_p50_ms',
  'create_output_p99_ms',
  'cycles_per_s',
  'cycles_leaked',
  'mass_close_no_marked_ms',
  'mass_close_replies_ms',
  'mass_close_lag_p50_ms',
  'mass_close_lag_p99_ms',
  'mass_close_lag_max_ms',
  'mass_close_healthz_p99_ms',
  'mem_bare_gateway_kb',
  'mem_pty_gateway_kb',
  'mem_pty_total_kb',
  'mem_worker_gateway_kb',
  'mem_worker_total_kb',
  'capacity_sessions',
  'capacity_extrapolated',
  'detect_half_open_ms',
  'detect_worker_orphan_ms',
  'detect_gateway_kill_ms',
] as const;
