#!/usr/bin/env node
/**
 * `pnpm bench` (full run) / `pnpm bench --smoke` or BENCH_SMOKE=1 (tiny sizes, for CI) /
 * `pnpm bench --render` (rewrite the report from the last results).
 * Prints one table; writes bench/results/latest.json, and for full runs docs/BENCHMARKS.md
 * and docs/bench-latency.svg.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_DIR, DOCS_DIR, writeOutputs } from './outputs.js';
import { consoleTable } from './report.js';
import type { BenchResults } from './results.js';
import { runSuite } from './suite.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || process.env.BENCH_SMOKE === '1';
// `--render`: rewrite docs/BENCHMARKS.md from bench/results/latest.json (after editing
// bench/analysis.md) without measuring again.
const render = args.includes('--render');
// `pnpm bench -- --smoke` passes the `--` through.
const unknown = args.filter((arg) => !['--smoke', '--render', '--'].includes(arg));
if (smoke && render) {
  process.stderr.write('bench: --smoke and --render exclude each other\n');
  process.exit(2);
}
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown argument "${unknown[0]}"; usage: pnpm bench [--smoke | --render]\n`,
  );
  process.exit(2);
}

const resultsDir = join(BENCH_DIR, 'results');
async function lastResults(): Promise<BenchResults> {
  const path = join(resultsDir, 'latest.json');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BenchResults;
  } catch {
    process.stderr.write(
      `bench: --render needs ${path}, which only a full run writes (pnpm bench, ~7 min)\n`,
    );
    process.exit(2);
  }
}

const results: BenchResults = render
  ? await lastResults()
  : await runSuite({
      smoke,
      command: smoke ? 'pnpm bench --smoke' : 'pnpm bench',
      mayInstall: true,
      log: (message) => process.stderr.write(`bench: ${message}\n`),
    });
process.stdout.write(consoleTable(results) + '\n');
const written = await writeOutputs(results, {
  resultsDir,
  // A smoke run's numbers mean nothing; it must not overwrite the committed full run.
  docsDir: smoke || results.smoke ? null : DOCS_DIR,
});
process.stderr.write(`bench: wrote ${written.join(', ')}\n`);
// Lingering sockets of stopped peers must not keep the run alive.
process.exit(0);
