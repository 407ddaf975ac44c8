/** Renders results as the console table and as docs/BENCHMARKS.md. */
import { BASELINES, SYSTEMS, type BenchResults, type Row } from './results.js';
import type { Figure } from './stats.js';

function num(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '∞' : 'n/a';
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

function cell(figure: Figure | undefined): string {
  if (!figure) return '—';
  if (figure.reps.length <= 1) return num(figure.value);
  return `${num(figure.value)} (${num(figure.min)}–${num(figure.max)})`;
}

function ratio(row: Row, baseline: (typeof BASELINES)[number]): string {
  const ours = row.values.Tether?.value;
  const theirs = row.values[baseline]?.value;
  if (ours === undefined || theirs === undefined || !theirs) return '—';
  return `${(ours / theirs).toFixed(2)}×`;
}

function tableRows(results: BenchResults): string[][] {
  const header = ['figure', 'unit', ...SYSTEMS, ...BASELINES.map((b) => `Tether ÷ ${b}`)];
  const body = results.rows.map((row) => [
    row.label + (row.note ? ` [${row.note}]` : ''),
    row.unit,
    ...SYSTEMS.map((system) => cell(row.values[system])),
    ...BASELINES.map((baseline) => ratio(row, baseline)),
  ]);
  return [header, ...body];
}

/** A plain-text table for stdout, columns padded to fit. */
export function consoleTable(results: BenchResults): string {
  const rows = tableRows(results);
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => [...row[column]!].length)),
  );
  const line = (row: string[]) =>
    row.map((text, column) => text.padEnd(widths[column]!)).join('  ');
  const targets = results.targets.map(
    (t) =>
      `  ${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'}  ${t.figure}: ${t.measured} (target ${t.target})`,
  );
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    'targets (issue 5):',
    ...targets,
    ...(results.skipped.length
      ? ['', 'skipped / scaled:', ...results.skipped.map((s) => `  ${s}`)]
      : []),
  ].join('\n');
}

function markdownTable(rows: string[][]): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  return [
    `| ${rows[0]!.map(escape).join(' | ')} |`,
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function markdownReport(results: BenchResults, analysis: string): string {
  const m = results.machine;
  const targets = markdownTable([
    ['figure', 'target', 'measured', 'met'],
    ...results.targets.map((t) => [
      t.figure,
      t.target,
      t.measured,
      t.met === null ? 'n/a' : t.met ? 'yes' : '**no**',
    ]),
  ]);
  return `# Benchmarks

Tether side by side with its peers, measured in one run on one machine by \`bench/\`
(\`pnpm bench\`). Each figure is the median of its repetitions, with the range over the
repetitions in brackets; ratios are Tether's figure divided by the peer's. The machine is
shared and noisy: compare ratios within this run, not absolute numbers across runs.
${results.smoke ? '\n**This is a smoke run (tiny sizes); its numbers mean nothing.**\n' : ''}
- Date: ${results.date}; run took ${results.durationS.toFixed(0)} s
- Command: \`${results.command}\`
- Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}
- Versions: ${Object.entries(results.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join('; ')}
${results.skipped.length ? `- Skipped / scaled: ${results.skipped.join('; ')}\n` : ''}
## Figures

${markdownTable(tableRows(results))}

## Targets (issue 5)

${targets}

![latency distributions](bench-latency.svg)

## How each figure is measured

- **Throughput**: a ${'100-byte-line'} text file is \`cat\`ed in \`/bin/sh\` in each system's
  terminal; timed from typing the command to the marker printed after it, at a WebSocket client
  (Tether \`/pty/<id>\` binary frames; Jupyter terminado JSON \`stdout\` messages) or in-process
  (raw node-pty, \`encoding: null\`). tmux has no WebSocket stream, so it is echo only.
- **Echo**: \`stty raw -echo; exec cat\`, then one key at a time, timed until it comes back,
  after ${'3 000'} untimed keys in the same terminal (V8 compiles the Node.js paths during the first
  thousands; Python has no JIT, so the warm-up changes nothing for Jupyter).
  tmux: a control-mode client (\`tmux -C attach\`) sends \`send-keys -l\` and waits for \`%output\`.
- **create → first output**: \`session.create\` then \`prompt.submit "echo bench"\` (the worker
  spawns on first use), until the first \`turn.output\` event.
- **Cycles**: \`session.create\` with a \`/bin/sh\` terminal, then \`session.close\`, in a row;
  afterwards no process may carry the gateway's \`TETHER_INSTANCE_ID\`.
- **Mass close**: sessions with a terminal and a worker (spawned by \`/status\`), all
  \`session.close\`d in parallel; lag from the gateway's prom-client histogram
  (\`tether_nodejs_eventloop_lag_*_seconds\`, reset by the /metrics read just before), less
  its 10 ms sampling period (each sample is the period plus the delay), plus client-side
  \`/healthz\` round trips every 25 ms. Tether and Jupyter run in their own kernel session, as a
  server started from another terminal or a service does, so the bench client does not share
  their CPU share under autogroup scheduling.
- **Memory**: (gateway VmRSS after N idle sessions − before) / N, after a 1 s settle; "plus"
  rows add the children's VmRSS / N (shared pages counted in each, so an upper bound).
- **Capacity**: terminal sessions added in batches until the gateway plus its marked children
  reach the memory bound, the session cap, or the first failure.
- **Detection**: a loopback TCP proxy stops forwarding (sockets stay open) with
  \`--heartbeat-interval-s 1 --heartbeat-timeout-s 1\`, timed until the gateway closes the
  client's \`close_on_disconnect\` session; a fixture parent spawns a worker via
  \`@tether/slash-worker\` (gateway default knobs) and is SIGKILLed, timed until the worker is
  gone; the gateway is SIGKILLed with sessions open, timed until no marked process is left.

${analysis}
`;
}
