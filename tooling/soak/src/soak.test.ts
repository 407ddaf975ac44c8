import { describe, expect, it } from 'vitest';
import { formatReport } from './report.js';
import { runSoak } from './soak.js';

describe('life-cycle soak', () => {
  it('keeps counts agreeing and leaks nothing over 300 seeded operations with faults', async () => {
    const report = await runSoak({ count: 300, seed: 1, timeLimitS: 80 });
    // The whole report on failure: the failing operations and the gateway log path are in it.
    expect(report.failures, formatReport(report)).toEqual([]);
    expect(report.operations).toBe(300);
    expect(report.leakedProcesses).toBe(0);
    expect(report.countDrift).toBe(0);
    expect(report.maxZombies).toBe(0);
    expect(report.final).toMatchObject({
      listedAtEnd: 0,
      registryAtEnd: 0,
      openRunsAtEnd: 0,
      markedAtEnd: 0,
      zombiesAtEnd: 0,
      markedAfterStop: 0,
      gatewayExit: { code: 0, signal: null },
    });
    // The faults were really injected, not skipped.
    expect(report.faults.workerKilled).toBeGreaterThan(0);
    expect(report.faults.clientVanished).toBeGreaterThan(0);
    expect(report.faults.halfOpen).toBeGreaterThan(0);
    expect(report.lagOverRun).not.toBeNull();
  }, 120_000);
});
