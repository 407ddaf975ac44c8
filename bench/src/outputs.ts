/** Writes a run's JSON, and for full runs the Markdown report and the latency picture. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownReport } from './report.js';
import type { BenchResults } from './results.js';
import { latencySvg } from './svg.js';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DOCS_DIR = fileURLToPath(new URL('../../docs', import.meta.url));

export async function writeOutputs(
  results: BenchResults,
  dirs: { resultsDir: string; docsDir: string | null },
): Promise<string[]> {
  await mkdir(dirs.resultsDir, { recursive: true });
  // A smoke run keeps its own file, so it never replaces the full run `--render` reads.
  const jsonPath = join(dirs.resultsDir, results.smoke ? 'smoke.json' : 'latest.json');
  await writeFile(jsonPath, JSON.stringify(results, null, 2) + '\n');
  const svg = latencySvg([
    {
      title: 'Keystroke echo round trip (raw mode, cat)',
      series: Object.entries(results.samples.echo).map(([name, samples]) => ({ name, samples })),
    },
    {
      title: 'Tether: session.create → first turn.output of echo',
      series: [{ name: 'Tether', samples: results.samples.createToOutput }],
    },
  ]);
  const svgPath = join(dirs.docsDir ?? dirs.resultsDir, 'bench-latency.svg');
  const written = [jsonPath, svgPath];
  if (dirs.docsDir) {
    await mkdir(dirs.docsDir, { recursive: true });
    const mdPath = join(dirs.docsDir, 'BENCHMARKS.md');
    await writeFile(mdPath, markdownReport(results, await analysisText()));
    written.push(mdPath);
  } else {
    await mkdir(dirs.resultsDir, { recursive: true });
  }
  await writeFile(svgPath, svg);
  return written;
}

/** The hand-written findings (profiles, limits) that go under the table. */
async function analysisText(): Promise<string> {
  try {
    return await readFile(join(BENCH_DIR, 'analysis.md'), 'utf8');
  } catch {
    // No findings written yet: the report is complete without them.
    return '';
  }
}
