/**
 * The soak: starts the built gateway, runs a seeded random sequence of life-cycle operations
 * and faults against it, checks the invariants every few steps and at the end, and returns
 * a report. Bounded by the operation count and a wall-clock limit.
 */
import { checkInvariants, type CheckResult } from './invariants.js';
import {
  OPERATIONS,
  errorKind,
  isExpected,
  operationWeights,
  type OperationKind,
} from './operations.js';
import { markedProcesses, scrapeMetrics, summarizeLag, type LagWindow } from './probes.js';
import { Prng } from './prng.js';
import { HalfOpenProxy } from './proxy.js';
import { SoakClient } from './rpc-client.js';
import { startSoakGateway } from './gateway-process.js';
import { remember, type SoakContext } from './state.js';
import { StoreHiccup } from './store-hiccup.js';
import { finalPhase, type FinalFigures } from './final-phase.js';

export interface SoakOptions {
  count: number;
  seed: number;
  /** Wall-clock bound for the operation loop; the final phase has its own bounds. */
  timeLimitS?: number;
  /** Invariants are checked every this many operations (and always at the end). */
  checkEvery?: number;
  maxSessions?: number;
  maxClients?: number;
  /** At most this many operations in flight at once (the rest are awaited one by one). */
  maxInFlight?: number;
  storeHiccup?: boolean;
  /** Extra gateway flags. */
  gatewayArgs?: string[];
  /** Progress lines (stderr in the CLI). */
  onProgress?: (line: string) => void;
}

export type LagFigures = LagWindow;

export interface SoakReport {
  seed: number;
  requested: number;
  operations: number;
  elapsedS: number;
  operationsPerS: number;
  isTimeLimited: boolean;
  checks: number;
  unsettledChecks: number;
  leakedProcesses: number;
  leakSamples: string[];
  countDrift: number;
  maxZombies: number;
  final: FinalFigures;
  /** The gateway's loop delay during the final phase (closing the rest, quiescing). */
  lagAtEnd: LagFigures | null;
  /** Over the whole run: max of the per-scrape windows' p99 and max, median of their p50. */
  lagOverRun: LagFigures | null;
  opsByKind: Record<string, number>;
  faults: Record<string, number>;
  errors: Record<string, number>;
  unexpectedErrors: string[];
  gatewayErrorLogLines: number;
  gatewayErrorSamples: string[];
  failures: string[];
  failingTrail: string[];
  logPath: string;
  reproduce: string;
  passed: boolean;
}

const LEAK_RECHECK_MS = 2000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const timeLimitMs = (options.timeLimitS ?? 1800) * 1000;
  const checkEvery = options.checkEvery ?? 10;
  const maxInFlight = options.maxInFlight ?? 3;
  const progress = options.onProgress ?? (() => {});
  const gateway = await startSoakGateway(['--busy-cap-s', '8', ...(options.gatewayArgs ?? [])]);
  const proxy = new HalfOpenProxy(gateway.port);
  await proxy.start();
  const context: SoakContext = {
    gateway,
    proxy,
    hiccup: options.storeHiccup === false ? null : new StoreHiccup(gateway.home),
    prng: new Prng(options.seed),
    observer: await SoakClient.connect(gateway.port, gateway.token),
    clients: [],
    sessions: new Map(),
    closedIds: [],
    maxClients: options.maxClients ?? 4,
    maxSessions: options.maxSessions ?? 10,
    trail: [],
    counters: { errorsByKind: new Map(), unexpected: [], faults: new Map() },
    nextClientNumber: 1,
    lagWindows: [],
  };

  const failures: string[] = [];
  let failingTrail: string[] = [];
  const fail = (message: string) => {
    failures.push(message);
    if (failingTrail.length === 0) failingTrail = [...context.trail];
    progress(`FAIL ${message}`);
  };
  const opsByKind: Record<string, number> = {};
  let leakedProcesses = 0;
  const leakSamples: string[] = [];
  let countDrift = 0;
  let maxZombies = 0;
  let checks = 0;
  let unsettledChecks = 0;

  const recordCheck = (result: CheckResult, label: string) => {
    checks += 1;
    if (!result.isSettled) unsettledChecks += 1;
    if (result.drift > 0) {
      fail(
        `${label}: counts disagree (listed ${result.listed}, registry ${result.registry}, ` +
          `open runs ${result.openRuns})`,
      );
    }
    countDrift = Math.max(countDrift, result.drift);
    if (result.leaked.length > 0) {
      leakedProcesses += result.leaked.length;
      for (const entry of result.leaked) {
        if (leakSamples.length < 20)
          leakSamples.push(`pid ${entry.pid} session ${entry.sessionId}: ${entry.cmdline}`);
        // Bounded clean-up of what the gateway left: these carry our gateway's marker.
        try {
          process.kill(entry.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      fail(
        `${label}: ${result.leaked.length} leaked process(es): ` +
          result.leaked.map((entry) => entry.cmdline).join(' | '),
      );
    }
    if (result.zombies.length > 0)
      fail(`${label}: zombie children of the gateway: ${result.zombies.join(', ')}`);
    maxZombies = Math.max(maxZombies, result.zombies.length);
  };

  const inFlight = new Set<Promise<void>>();
  const startedAt = performance.now();
  let operations = 0;
  let isTimeLimited = false;
  try {
    for (let step = 0; step < options.count; step += 1) {
      if (gateway.hasExited) {
        fail(`the gateway exited during the soak; see ${gateway.logPath}`);
        break;
      }
      if (performance.now() - startedAt > timeLimitMs) {
        isTimeLimited = true;
        break;
      }
      const kind: OperationKind = context.prng.weighted(operationWeights(context));
      opsByKind[kind] = (opsByKind[kind] ?? 0) + 1;
      operations += 1;
      const run = OPERATIONS[kind](context).then(
        () => undefined,
        (error: unknown) => {
          const errorName = `${kind}:${errorKind(error)}`;
          context.counters.errorsByKind.set(
            errorName,
            (context.counters.errorsByKind.get(errorName) ?? 0) + 1,
          );
          if (isExpected(error)) return;
          remember(context, `  -> unexpected ${errorName}`);
          if (context.counters.unexpected.length < 30) {
            context.counters.unexpected.push(
              `step ${step} ${errorName}: ${(error as Error).message}`,
            );
          }
          fail(`step ${step}: unexpected error ${errorName}: ${(error as Error).message}`);
        },
      );
      // Some operations overlap the next ones, so races between them are exercised too.
      if (inFlight.size < maxInFlight && context.prng.chance(0.3)) {
        inFlight.add(run);
        void run.finally(() => inFlight.delete(run));
      } else {
        await run;
      }

      if ((step + 1) % checkEvery === 0) {
        await Promise.all(inFlight);
        recordCheck(await checkInvariants(context, LEAK_RECHECK_MS), `after step ${step}`);
      }
      if ((step + 1) % 500 === 0) {
        const seconds = (performance.now() - startedAt) / 1000;
        progress(
          `${step + 1} operations, ${(operations / seconds).toFixed(1)} ops/s, ` +
            `${context.sessions.size} sessions`,
        );
      }
    }
    await Promise.all(inFlight);
    recordCheck(await checkInvariants(context, LEAK_RECHECK_MS), 'after the last step');
  } catch (error) {
    fail(`the soak itself failed: ${(error as Error).stack ?? String(error)}`);
  }
  const elapsedS = (performance.now() - startedAt) / 1000;

  const final = await finalPhase(context, fail);
  const lagAtEnd = final.lagAtEnd;
  context.hiccup?.close();
  await proxy.stop();
  if (failures.length === 0) await gateway.removeHome();

  const lagOverRun = summarizeLag(context.lagWindows);
  if (gateway.errorLines.count > 0)
    fail(`gateway logged ${gateway.errorLines.count} error line(s)`);

  return {
    seed: options.seed,
    requested: options.count,
    operations,
    elapsedS,
    operationsPerS: operations / elapsedS,
    isTimeLimited,
    checks,
    unsettledChecks,
    leakedProcesses,
    leakSamples,
    countDrift,
    maxZombies,
    final,
    lagAtEnd,
    lagOverRun,
    opsByKind,
    faults: Object.fromEntries(context.counters.faults),
    errors: Object.fromEntries(context.counters.errorsByKind),
    unexpectedErrors: context.counters.unexpected,
    gatewayErrorLogLines: gateway.errorLines.count,
    gatewayErrorSamples: gateway.errorLines.samples,
    failures,
    failingTrail,
    logPath: gateway.logPath,
    reproduce:
      `pnpm soak --count ${options.count} --seed ${options.seed}` +
      (options.storeHiccup === false ? ' --no-store-hiccup' : '') +
      (options.maxSessions !== undefined ? ` --max-sessions ${options.maxSessions}` : '') +
      (options.checkEvery !== undefined ? ` --check-every ${options.checkEvery}` : ''),
    passed: failures.length === 0,
  };
}

export { markedProcesses, scrapeMetrics };
