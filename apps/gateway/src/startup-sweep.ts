import {
  INSTANCE_MARKER_ENV,
  isAlive,
  reapProcesses,
  type Logger,
  type SessionStore,
  type StoredProcess,
} from '@tether/core';

/** A run holds at most one open turn; the newest few are enough to find it. */
const MAX_TURNS_SWEPT_PER_RUN = 20;

export interface SweepReport {
  endedRuns: number;
  killedPids: number[];
  skippedInstances: string[];
}

/**
 * At start-up: end the runs that dead gateways left open (`owner_lost`) and kill whatever of
 * their processes survived. A predecessor counts as dead when its recorded gateway process is
 * gone (pid and start time, so a reused pid cannot keep it "alive"). Kills go by the instance
 * marker in the environment and by recorded pids whose start time still matches — never by a
 * bare pid, which may now belong to someone else.
 *
 * LIMITATION: liveness is judged on this host only, so two gateways on different hosts sharing
 * one PostgreSQL database would end each other's runs. Fix: store the host name with the
 * gateway process and only judge instances recorded on this host.
 */
export async function sweepDeadInstances(
  store: SessionStore,
  ownInstanceId: string,
  killGraceMs: number,
  logger: Logger,
): Promise<SweepReport> {
  const report: SweepReport = { endedRuns: 0, killedPids: [], skippedInstances: [] };
  const openRuns = (await store.listOpenRuns()).filter((run) => run.instanceId !== ownInstanceId);
  const processes = await store.listProcesses({ exceptInstanceId: ownInstanceId });
  const instances = new Set([
    ...openRuns.map((run) => run.instanceId),
    ...processes.map((p) => p.instanceId),
  ]);

  for (const instanceId of instances) {
    const own = processes.filter((p) => p.instanceId === instanceId);
    if (await isGatewayAlive(own)) {
      report.skippedInstances.push(instanceId);
      continue;
    }
    const rootPids: number[] = [];
    for (const recorded of own) {
      if (recorded.kind !== 'gateway' && (await isAlive(recorded.pid, recorded.startTime)))
        rootPids.push(recorded.pid);
    }
    const reaped = await reapProcesses(
      { rootPids, markers: [{ key: INSTANCE_MARKER_ENV, value: instanceId }] },
      { killGraceMs },
    );
    report.killedPids.push(...reaped.signalled);
    const endedAt = new Date();
    for (const run of openRuns.filter((candidate) => candidate.instanceId === instanceId)) {
      await endOpenTurns(store, run.sessionId, run.runId, endedAt);
      await store.endRun({ runId: run.runId, endedAt, endReason: 'owner_lost' });
      report.endedRuns += 1;
      logger.info(
        { sessionId: run.sessionId, runId: run.runId, reason: 'owner_lost', instanceId },
        'session closed',
      );
    }
    await store.forgetProcesses({ instanceId });
  }
  return report;
}

async function isGatewayAlive(processes: StoredProcess[]): Promise<boolean> {
  for (const recorded of processes) {
    if (recorded.kind === 'gateway' && (await isAlive(recorded.pid, recorded.startTime)))
      return true;
  }
  return false;
}

/** Turns the dead gateway was running never got their end: they died with it. */
async function endOpenTurns(store: SessionStore, sessionId: string, runId: string, endedAt: Date) {
  const turns = await store.listTurns(sessionId, MAX_TURNS_SWEPT_PER_RUN);
  for (const turn of turns) {
    if (turn.runId !== runId || turn.endedAt !== null) continue;
    await store.endTurn({
      turnId: turn.turnId,
      output: turn.output,
      exitCode: null,
      signal: 'SIGKILL',
      endedAt,
    });
  }
}
