#!/usr/bin/env node
/**
 * `pnpm bench` (full run) / `pnpm bench --smoke` or BENCH_SMOKE=1 (tiny sizes, for CI).
 * Prints one table; writes bench/results/latest.json, and for full runs docs/BENCHMARKS.md
 * and docs/bench-latency.svg.
 */
import { join } from 'node:path';
import { BENCH_DIR, DOCS_DIR, writeOutputs } from './outputs.js';
import { consoleTable } from './report.js';
import { runSuite } from './suite.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || process.env.BENCH_SMOKE === '1';
const unknown = args.filter((arg) => arg !== '--smoke');
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown argument "${unknown[0]}"; usage: pnpm bench [--smoke]\n`);
  process.exit(2);
}

const results = await runSuite({
  smoke,
  command: smoke ? 'pnpm bench --smoke' : 'pnpm bench',
  mayInstall: true,
  log: (message) => process.stderr.write(`bench: ${message}\n`),
});
process.stdout.write(consoleTable(results) + '\n');
const written = await writeOutputs(results, {
  resultsDir: join(BENCH_DIR, 'results'),
  // A smoke run's numbers mean nothing; it must not overwrite the committed full run.
  docsDir: smoke ? null : DOCS_DIR,
});
process.stderr.write(`bench: wrote ${written.join(', ')}\n`);
// Lingering sockets of stopped peers must not keep the run alive.
process.exit(0);
