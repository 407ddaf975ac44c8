import { describe, expect, it } from 'vitest';
import { markedProcesses, tempDir, waitFor, zombies } from '@tether/test-utils';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeOutputs } from './outputs.js';
import { consoleTable } from './report.js';
import { FIGURE_IDS, type BenchResults } from './results.js';
import { runSuite } from './suite.js';

// The suite itself, at tiny sizes: every figure must come out. Values are never asserted —
// benchmarks are not speed tests.
describe('bench smoke run', () => {
  it(
    'produces every figure, the table, the JSON and the picture',
    { timeout: 180_000 },
    async () => {
      const out = await tempDir('tether-bench-smoke-');
      const lines: string[] = [];
      // The suite's gateways mark their children with instance ids of their own: anything
      // marked that was not there before the run is a leak.
      const markedBefore = new Set(
        (await markedProcesses('TETHER_INSTANCE_ID')).map((info) => info.pid),
      );
      try {
        const results: BenchResults = await runSuite({
          smoke: true,
          command: 'vitest smoke',
          mayInstall: false,
          log: (message) => lines.push(message),
        });
        for (const id of FIGURE_IDS) {
          const row = results.rows.find((candidate) => candidate.id === id);
          expect(row, `figure ${id}`).toBeDefined();
          expect(row!.values.Tether?.reps.length, `Tether value of ${id}`).toBeGreaterThan(0);
        }
        const throughput = results.rows.find((row) => row.id === 'throughput_mb_s')!;
        expect(throughput.values['raw node-pty']).toBeDefined();
        const hasJupyter = !results.skipped.some((note) => note.startsWith('Jupyter'));
        if (hasJupyter) expect(throughput.values.Jupyter).toBeDefined();
        else console.warn(`bench smoke: Jupyter skipped: ${results.skipped.join('; ')}`);
        expect(results.targets.length).toBeGreaterThan(0);
        expect(consoleTable(results)).toContain('Tether');
        const written = await writeOutputs(results, { resultsDir: out.path, docsDir: null });
        for (const path of written) expect(existsSync(path), path).toBe(true);
        expect(existsSync(join(out.path, 'smoke.json'))).toBe(true);

        const leaked = async () =>
          (await markedProcesses('TETHER_INSTANCE_ID')).filter(
            (info) => !markedBefore.has(info.pid),
          );
        await waitFor(async () => (await leaked()).length === 0, {
          timeoutMs: 5000,
          what: 'no process left by the suite',
        }).catch(() => undefined);
        expect(await leaked()).toEqual([]);
        expect(await zombies()).toEqual([]);
      } finally {
        await out.remove();
      }
    },
  );
});
