/** The soak report as text for people. */
import type { LagFigures, SoakReport } from './soak.js';

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;
const lag = (figures: LagFigures | null) =>
  figures ? `p50 ${ms(figures.p50S)}, p99 ${ms(figures.p99S)}, max ${ms(figures.maxS)}` : 'n/a';

export function formatReport(report: SoakReport): string {
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  const limited = report.isTimeLimited ? ' (stopped by the time limit)' : '';
  const { final } = report;
  const lines = [
    `soak ${verdict}: seed ${report.seed}, ${report.operations}/${report.requested} operations` +
      `${limited} in ${report.elapsedS.toFixed(1)} s`,
    `  operations/s        ${report.operationsPerS.toFixed(1)} (checks included)`,
    `  leaked processes    ${report.leakedProcesses}`,
    `  count drift (max)   ${report.countDrift} over ${report.checks} checks ` +
      `(${report.unsettledChecks} unsettled)`,
    `  zombies (max)       ${report.maxZombies}`,
    `  open runs at end    ${final.openRunsAtEnd} (listed ${final.listedAtEnd}, ` +
      `registry ${final.registryAtEnd}, session processes ${final.markedAtEnd}, ` +
      `zombies ${final.zombiesAtEnd})`,
    `  gateway exit        ${JSON.stringify(final.gatewayExit)}; marked processes after stop ` +
      `${final.markedAfterStop}`,
    `  event-loop lag      at end: ${lag(report.lagAtEnd)}`,
    `                      over the run: ${lag(report.lagOverRun)}`,
    '                      (median p50, max p99, max of the per-scrape windows)',
    `  operations          ${JSON.stringify(report.opsByKind)}`,
    `  faults              ${JSON.stringify(report.faults)}`,
    `  answered errors     ${JSON.stringify(report.errors)}`,
    `  gateway error logs  ${report.gatewayErrorLogLines}`,
    `  reproduce           ${report.reproduce}`,
  ];
  if (!report.passed) {
    lines.push('  failures:');
    for (const failure of report.failures.slice(0, 30)) lines.push(`    - ${failure}`);
    if (report.leakSamples.length)
      lines.push('  leaked:', ...report.leakSamples.map((line) => `    ${line}`));
    if (report.gatewayErrorSamples.length) {
      lines.push(
        '  gateway error lines:',
        ...report.gatewayErrorSamples.map((line) => `    ${line}`),
      );
    }
    lines.push(
      '  operations before the first failure:',
      ...report.failingTrail.map((line) => `    ${line}`),
    );
    lines.push(`  gateway log: ${report.logPath}`);
  }
  return `${lines.join('\n')}\n`;
}
