/**
 * Runs every workload against every system it applies to, on loopback, starting and stopping
 * each system itself, and returns the figures. Writing them out is report.ts's job.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { FULL, SMOKE, type BenchSizes } from './config.js';
import { memAvailableBytes } from './procs.js';
import type { BenchResults, Row, SystemName } from './results.js';
import { figureOf, quantile } from './stats.js';
import type { TermStream } from './term-stream.js';
import { ensureJupyter, startJupyter, type JupyterServer } from './systems/jupyter.js';
import { openRawPty } from './systems/raw-pty.js';
import { LOAD_KNOBS, startTether, tetherShell, type TetherGateway } from './systems/tether.js';
import { openTmux, tmuxVersion } from './systems/tmux.js';
import { catThroughput, echoRoundTrips, writePayload } from './workloads/terminal.js';
import { createCloseCycles, createToFirstOutput } from './workloads/sessions.js';
import { massClose } from './workloads/mass-close.js';
import { capacity, memoryPerSession } from './workloads/memory.js';
import {
  gatewayKillDetection,
  halfOpenDetection,
  workerOrphanDetection,
} from './workloads/detection.js';
import { evaluateTargets } from './targets.js';
import { VERSION_PROBES } from './versions.js';

export interface SuiteOptions {
  smoke: boolean;
  command: string;
  /** Install the Jupyter peer with apt when missing (root only). */
  mayInstall: boolean;
  log(message: string): void;
}

/**
 * What a session with a terminal and a worker takes from the machine, with room to spare:
 * MemAvailable drops by ~11 MiB per such session here (the ~51 MB RSS of a Node.js worker
 * counts the pages every worker shares). The mass-close size is capped to fit.
 */
const SESSION_BUDGET_BYTES = 24 * 1024 * 1024;

export async function runSuite(options: SuiteOptions): Promise<BenchResults> {
  const sizes: BenchSizes = options.smoke ? SMOKE : FULL;
  const startedAt = Date.now();
  const rows: Row[] = [];
  const skipped: string[] = [];
  const samples: BenchResults['samples'] = { echo: {}, createToOutput: [] };
  const add = (row: Row) => rows.push(row);
  /** A figure only Tether has (no peer runs that workload). */
  const addTether = (id: string, label: string, unit: string, reps: number[]) =>
    add({ id, label, unit, values: { Tether: figureOf(reps) } });
  const work = await mkdtemp(join(tmpdir(), 'tether-bench-work-'));
  const log = options.log;

  const jupyter = ensureJupyter({ mayInstall: options.mayInstall });
  if (!jupyter.ok) skipped.push(`Jupyter: ${jupyter.message}`);
  const tmux = tmuxVersion();
  if (!tmux) skipped.push('tmux: not installed');

  try {
    // --- 1 and 2: terminal I/O, the same workload through each system -------------------
    const payload = join(work, 'payload.txt');
    await writePayload(payload, sizes.throughputBytes);
    const throughput: Partial<Record<SystemName, number[]>> = {};
    const echoP50: Partial<Record<SystemName, number[]>> = {};
    const echoP99: Partial<Record<SystemName, number[]>> = {};

    const terminalRun = async (
      system: SystemName,
      open: () => Promise<TermStream>,
      doThroughput: boolean,
    ) => {
      if (doThroughput) {
        const stream = await open();
        try {
          for (let rep = 0; rep < sizes.throughputReps; rep += 1) {
            const mbs = await catThroughput(stream, payload, sizes.throughputBytes, 120_000);
            (throughput[system] ??= []).push(mbs);
            log(`throughput ${system} rep ${rep + 1}: ${mbs.toFixed(1)} MB/s`);
          }
        } finally {
          await stream.close();
        }
      }
      for (let rep = 0; rep < sizes.echoReps; rep += 1) {
        // A fresh terminal per repetition: raw-mode `cat` owns it once started.
        const stream = await open();
        try {
          const trips = await echoRoundTrips(stream, sizes.echoKeys, sizes.echoWarmupKeys);
          (samples.echo[system] ??= []).push(...trips);
          (echoP50[system] ??= []).push(quantile(trips, 0.5));
          (echoP99[system] ??= []).push(quantile(trips, 0.99));
          log(`echo ${system} rep ${rep + 1}: p50 ${quantile(trips, 0.5).toFixed(3)} ms`);
        } finally {
          await stream.close();
        }
      }
    };

    log('terminal I/O: raw node-pty');
    await terminalRun('raw node-pty', async () => openRawPty(work), true);

    log('terminal I/O: Tether');
    const tetherTerm = await startTether(LOAD_KNOBS);
    try {
      const rpc = await tetherTerm.rpc();
      await terminalRun('Tether', async () => (await tetherShell(tetherTerm, rpc)).stream, true);
      rpc.close();
    } finally {
      await tetherTerm.stop();
    }

    if (jupyter.ok) {
      log('terminal I/O: Jupyter');
      const server: JupyterServer = await startJupyter();
      try {
        await terminalRun('Jupyter', () => server.openTerminal(), true);
      } finally {
        await server.stop();
      }
    }
    if (tmux) {
      log('terminal I/O: tmux (echo only: its client is not a WebSocket stream)');
      try {
        await terminalRun('tmux', () => openTmux(work), false);
      } catch (error) {
        // An optional peer failing must not cost the rest of the run; the table shows the gap.
        skipped.push(`tmux: failed (${error instanceof Error ? error.message : String(error)})`);
      }
    }

    const perSystem = (values: Partial<Record<SystemName, number[]>>) => {
      const out: Row['values'] = {};
      for (const [system, reps] of Object.entries(values))
        out[system as SystemName] = figureOf(reps);
      return out;
    };
    add({
      id: 'throughput_mb_s',
      label: `terminal output to a client, ${sizes.throughputBytes / 1e6} MB via cat`,
      unit: 'MB/s',
      values: perSystem(throughput),
    });
    add({
      id: 'echo_p50_ms',
      label: `keystroke echo p50 (${sizes.echoKeys} keys after ${sizes.echoWarmupKeys} untimed, raw cat)`,
      unit: 'ms',
      values: perSystem(echoP50),
    });
    add({ id: 'echo_p99_ms', label: 'keystroke echo p99', unit: 'ms', values: perSystem(echoP99) });

    // --- 3 and 4: session lifecycle (Tether only) ---------------------------------------
    log('session lifecycle');
    const lifecycle = await startTether(LOAD_KNOBS);
    try {
      const rpc = await lifecycle.rpc();
      const p50: number[] = [];
      const p99: number[] = [];
      for (let rep = 0; rep < sizes.createReps; rep += 1) {
        const trips = await createToFirstOutput(rpc, sizes.createSamples);
        samples.createToOutput.push(...trips);
        p50.push(quantile(trips, 0.5));
        p99.push(quantile(trips, 0.99));
        log(`create→output rep ${rep + 1}: p50 ${quantile(trips, 0.5).toFixed(1)} ms`);
      }
      addTether(
        'create_output_p50_ms',
        'session.create → first turn.output of echo, p50',
        'ms',
        p50,
      );
      addTether('create_output_p99_ms', 'session.create → first turn.output, p99', 'ms', p99);
      const perSecond: number[] = [];
      const leaked: number[] = [];
      for (let rep = 0; rep < sizes.cycleReps; rep += 1) {
        const result = await createCloseCycles(lifecycle, rpc, sizes.cycles);
        perSecond.push(result.perSecond);
        leaked.push(result.leaked);
        log(`cycles rep ${rep + 1}: ${result.perSecond.toFixed(1)}/s, leaked ${result.leaked}`);
      }
      addTether(
        'cycles_per_s',
        `create (with terminal) → close cycles, ${sizes.cycles} in a row`,
        '/s',
        perSecond,
      );
      addTether('cycles_leaked', 'marked processes alive after the cycles', 'procs', leaked);
      rpc.close();
    } finally {
      await lifecycle.stop();
    }

    // --- 5: mass close -------------------------------------------------------------------
    const fits = Math.floor(((await memAvailableBytes()) * 0.6) / SESSION_BUDGET_BYTES);
    const massSessions = Math.max(1, Math.min(sizes.massSessions, fits));
    if (massSessions < sizes.massSessions)
      skipped.push(`mass close scaled to ${massSessions} sessions to fit memory`);
    const mass = {
      noMarked: [] as number[],
      replies: [] as number[],
      p50: [] as number[],
      p99: [] as number[],
      max: [] as number[],
      healthz: [] as number[],
    };
    let massNote = '';
    for (let rep = 0; rep < sizes.massReps; rep += 1) {
      log(`mass close rep ${rep + 1}: ${massSessions} sessions with terminal + worker`);
      const gateway = await startTether(LOAD_KNOBS);
      try {
        const rpc = await gateway.rpc();
        const result = await massClose(gateway, rpc, massSessions, 30_000);
        rpc.close();
        if (result.noMarkedMs === null)
          massNote = `${result.leftAfterBound} processes left after 30 s`;
        mass.noMarked.push(result.noMarkedMs ?? Number.POSITIVE_INFINITY);
        mass.replies.push(result.allClosedRepliesMs);
        if (result.lagMs.p50 !== null) mass.p50.push(result.lagMs.p50);
        if (result.lagMs.p99 !== null) mass.p99.push(result.lagMs.p99);
        if (result.lagMs.max !== null) mass.max.push(result.lagMs.max);
        mass.healthz.push(quantile(result.healthzMs, 0.99));
        log(
          `  no marked process after ${result.noMarkedMs?.toFixed(0)} ms; lag p99 ${result.lagMs.p99?.toFixed(1)} ms`,
        );
      } finally {
        await gateway.stop();
      }
    }
    const massLabel = `${massSessions} sessions (terminal + worker) closed at once`;
    add({
      id: 'mass_close_no_marked_ms',
      label: `${massLabel}: until no marked process`,
      unit: 'ms',
      values: { Tether: figureOf(mass.noMarked) },
      ...(massNote ? { note: massNote } : {}),
    });
    addTether(
      'mass_close_replies_ms',
      `${massLabel}: until every close replied`,
      'ms',
      mass.replies,
    );
    addTether(
      'mass_close_lag_p50_ms',
      'event-loop lag p50 during the close (gateway /metrics)',
      'ms',
      mass.p50,
    );
    addTether('mass_close_lag_p99_ms', 'event-loop lag p99 during the close', 'ms', mass.p99);
    addTether('mass_close_lag_max_ms', 'event-loop lag max during the close', 'ms', mass.max);
    addTether(
      'mass_close_healthz_p99_ms',
      '/healthz round trip p99 during the close (client view)',
      'ms',
      mass.healthz,
    );

    // --- 6 and 7: memory -------------------------------------------------------------------
    log('memory per idle session');
    const mem = {
      bare: [] as number[],
      ptyGw: [] as number[],
      ptyTotal: [] as number[],
      wGw: [] as number[],
      wTotal: [] as number[],
    };
    const memGateway: TetherGateway = await startTether(LOAD_KNOBS);
    try {
      const rpc = await memGateway.rpc();
      for (let rep = 0; rep < sizes.memoryReps; rep += 1) {
        const bare = await memoryPerSession(memGateway, rpc, sizes.memorySessions, {
          worker: false,
          pty: false,
        });
        mem.bare.push(bare.gatewayBytes / 1024);
        const withPty = await memoryPerSession(memGateway, rpc, sizes.memorySessions, {
          worker: false,
          pty: true,
        });
        mem.ptyGw.push(withPty.gatewayBytes / 1024);
        mem.ptyTotal.push((withPty.gatewayBytes + withPty.childBytes) / 1024);
        const withWorker = await memoryPerSession(memGateway, rpc, sizes.memoryWorkerSessions, {
          worker: true,
          pty: false,
        });
        mem.wGw.push(withWorker.gatewayBytes / 1024);
        mem.wTotal.push((withWorker.gatewayBytes + withWorker.childBytes) / 1024);
        log(
          `memory rep ${rep + 1}: bare ${mem.bare.at(-1)!.toFixed(1)} KB, worker total ${mem.wTotal.at(-1)!.toFixed(0)} KB`,
        );
      }
      rpc.close();
    } finally {
      await memGateway.stop();
    }
    addTether(
      'mem_bare_gateway_kb',
      'gateway RSS per idle session, no worker, no terminal',
      'KB',
      mem.bare,
    );
    addTether(
      'mem_pty_gateway_kb',
      'gateway RSS per idle session with a terminal',
      'KB',
      mem.ptyGw,
    );
    addTether('mem_pty_total_kb', "… plus the shell's RSS", 'KB', mem.ptyTotal);
    addTether('mem_worker_gateway_kb', 'gateway RSS per idle session with a worker', 'KB', mem.wGw);
    addTether('mem_worker_total_kb', "… plus the worker's RSS", 'KB', mem.wTotal);

    log(
      `capacity: terminal sessions up to ${sizes.capacityCap} or ${sizes.capacityBoundBytes / 1024 ** 3} GiB`,
    );
    const capGateway = await startTether(LOAD_KNOBS);
    try {
      const rpc = await capGateway.rpc();
      const result = await capacity(capGateway, rpc, {
        cap: sizes.capacityCap,
        boundBytes: sizes.capacityBoundBytes,
        batch: sizes.capacityBatch,
      });
      rpc.close();
      const note =
        `stopped by ${result.stoppedBy} at ${(result.totalBytes / 1024 ** 2).toFixed(0)} MiB total RSS` +
        (result.error ? ` (${result.error})` : '');
      add({
        id: 'capacity_sessions',
        label: 'concurrent sessions with a terminal reached',
        unit: 'sessions',
        values: { Tether: figureOf([result.sessions]) },
        note,
      });
      addTether(
        'capacity_extrapolated',
        `sessions the ${sizes.capacityBoundBytes / 1024 ** 3} GiB bound holds at the measured cost`,
        'sessions',
        [result.extrapolated],
      );
      log(`  ${result.sessions} sessions; ${note}`);
    } finally {
      await capGateway.stop();
    }

    // --- 8: detection ------------------------------------------------------------------------
    log('detection: half-open socket');
    const halfOpen = await halfOpenDetection(sizes.halfOpenReps, 15_000);
    addTether(
      'detect_half_open_ms',
      'half-open client socket detected (1 s / 1 s heartbeat)',
      'ms',
      halfOpen,
    );
    log("detection: worker after its parent's SIGKILL");
    const orphan = await workerOrphanDetection(sizes.orphanReps, 10_000);
    addTether('detect_worker_orphan_ms', "worker gone after its parent's SIGKILL", 'ms', orphan);
    log('detection: gateway SIGKILL');
    const killed: number[] = [];
    let killNote = '';
    for (let rep = 0; rep < sizes.gatewayKillReps; rep += 1) {
      const result = await gatewayKillDetection(sizes.gatewayKillSessions, 10_000);
      killed.push(result.ms ?? Number.POSITIVE_INFINITY);
      if (result.ms === null)
        killNote = `${result.left} of the marked processes outlived 10 s (the suite killed them)`;
    }
    add({
      id: 'detect_gateway_kill_ms',
      label: `all marked processes gone after gateway SIGKILL (${sizes.gatewayKillSessions} sessions)`,
      unit: 'ms',
      values: { Tether: figureOf(killed) },
      ...(killNote ? { note: killNote } : {}),
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  return {
    date: new Date(startedAt).toISOString(),
    command: options.command,
    smoke: options.smoke,
    durationS: (Date.now() - startedAt) / 1000,
    machine: {
      nproc: cpus().length,
      memGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      kernel: release(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
    },
    versions: {
      ...VERSION_PROBES(),
      'jupyter_server, terminado': jupyter.version ?? `not measured (${jupyter.message})`,
      tmux: tmux ?? 'not installed',
    },
    skipped,
    rows,
    targets: evaluateTargets(rows),
    samples,
  };
}
