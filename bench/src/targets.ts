/** Issue 5's targets, checked against one run's figures (ratios from the same run only). */
import type { Row, SystemName, TargetCheck } from './results.js';

function value(rows: Row[], id: string, system: SystemName = 'Tether'): number | null {
  const figure = rows.find((row) => row.id === id)?.values[system];
  return figure && Number.isFinite(figure.value) ? figure.value : null;
}

const fmt = (n: number | null, digits = 2) => (n === null ? 'n/a' : n.toFixed(digits));

function check(
  figure: string,
  target: string,
  measured: string,
  parts: Array<boolean | null>,
): TargetCheck {
  const met = parts.some((part) => part === null) ? null : parts.every(Boolean);
  return { figure, target, measured, met };
}

function atMost(a: number | null, b: number | null): boolean | null {
  return a === null || b === null ? null : a <= b;
}

export function evaluateTargets(rows: Row[]): TargetCheck[] {
  const tp = value(rows, 'throughput_mb_s');
  const tpRaw = value(rows, 'throughput_mb_s', 'raw node-pty');
  const tpJup = value(rows, 'throughput_mb_s', 'Jupyter');
  const p50 = value(rows, 'echo_p50_ms');
  const p99 = value(rows, 'echo_p99_ms');
  const jp50 = value(rows, 'echo_p50_ms', 'Jupyter');
  const jp99 = value(rows, 'echo_p99_ms', 'Jupyter');
  const create = value(rows, 'create_output_p50_ms');
  const leaked = value(rows, 'cycles_leaked');
  const closeMs = value(rows, 'mass_close_no_marked_ms');
  const lag99 = value(rows, 'mass_close_lag_p99_ms');
  const bare = value(rows, 'mem_bare_gateway_kb');
  const orphan = value(rows, 'detect_worker_orphan_ms');
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b);
  return [
    check(
      'throughput',
      '≥ 0.9× raw node-pty, ≥ 1.5× Jupyter',
      `${fmt(tp, 1)} MB/s = ${fmt(ratio(tp, tpRaw))}× raw, ${fmt(ratio(tp, tpJup))}× Jupyter`,
      [atMost(0.9, ratio(tp, tpRaw)), atMost(1.5, ratio(tp, tpJup))],
    ),
    check('echo p50', '≤ 0.7× Jupyter', `${fmt(p50, 3)} ms = ${fmt(ratio(p50, jp50))}× Jupyter`, [
      atMost(ratio(p50, jp50), 0.7),
    ]),
    check('echo p99', '≤ Jupyter and ≤ 2 ms', `${fmt(p99, 3)} ms (Jupyter ${fmt(jp99, 3)} ms)`, [
      atMost(p99, jp99),
      atMost(p99, 2),
    ]),
    check('create → first output p50', '≤ 50 ms', `${fmt(create, 1)} ms`, [atMost(create, 50)]),
    check('create → close cycles', 'no leak', `${fmt(leaked, 0)} marked processes left`, [
      atMost(leaked, 0),
    ]),
    check('mass close', '≤ 3 s until no marked process', `${fmt(closeMs, 0)} ms`, [
      atMost(closeMs, 3000),
    ]),
    check('mass close lag', 'p99 ≤ 20 ms', `${fmt(lag99, 1)} ms`, [atMost(lag99, 20)]),
    check('memory per idle session', '≤ 100 KB without worker', `${fmt(bare, 1)} KB`, [
      atMost(bare, 100),
    ]),
    check('worker after parent SIGKILL', '≤ 250 ms', `${fmt(orphan, 0)} ms`, [atMost(orphan, 250)]),
  ];
}
