/**
 * Finding and killing a session's processes through /proc (Linux).
 *
 * Killing a process group is not enough: interactive shells put jobs in their own groups,
 * `setsid` starts a new session and re-parents away from the tree, and `nohup` ignores HUP.
 * So a session's processes are the union of: the given roots, their descendants, every
 * process in a root's kernel session, and every process whose environment carries the
 * session (or instance) marker — the marker survives re-parenting and `setsid`.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { shareFreshly } from './fresh-share.js';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** Kernel session id. */
  sid: number;
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  /** Start time in clock ticks since boot: with the pid, identifies one process for good. */
  startTime: number;
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // The process is gone (ENOENT/ESRCH): that is an answer, not an error.
    return null;
  }
  return parseProcStat(text);
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and ')': split after the last. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number.parseInt(text.slice(0, text.indexOf(' ')), 10);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field N is fields[N - 3].
  const state = fields[0] ?? '?';
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  const sid = Number(fields[3]);
  const startTime = Number(fields[19]);
  if (!Number.isFinite(pid) || !Number.isFinite(startTime)) return null;
  return { pid, ppid, pgrp, sid, state, startTime };
}

/**
 * One walk of /proc with the indexes every query needs: children by parent, members by
 * kernel session, and pids by `TETHER_*` environment marker. Concurrent callers share one
 * snapshot, so a mass teardown of hundreds of sessions costs a few walks and each query is
 * proportional to what it finds, not to the number of processes on the machine.
 */
export interface ProcSnapshot {
  stats: ProcStat[];
  byPid: Map<number, ProcStat>;
  children: Map<number, number[]>;
  bySession: Map<number, number[]>;
  /** `KEY=value` of every `TETHER_*` variable → pids carrying it (zombies excluded). */
  byMarker: Map<string, number[]>;
}

/**
 * The shared walk. A walk already under way may have listed /proc before the caller forked
 * its latest child (a reap right after a spawn would then miss its root entirely), so a
 * caller arriving mid-walk shares the next one.
 */
export const procSnapshot: () => Promise<ProcSnapshot> = shareFreshly(takeSnapshot);

/** Every process on the machine (one shared walk of /proc). */
export async function listProcStats(): Promise<ProcStat[]> {
  return (await procSnapshot()).stats;
}

const MARKER_PREFIX = 'TETHER_';
/** Clock ticks per second for /proc start times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;
/** A process younger than this may not have exec'd yet: an unmarked answer is not kept. */
const YOUNG_PROCESS_TICKS = 2 * TICKS_PER_S;

/**
 * A process's environment is fixed at exec, so its markers are read once per process (pid
 * and start time) and kept while it exists — except for a young unmarked process, which may
 * still show its parent's environment between fork and exec and is read again next time.
 */
const markerCache = new Map<string, string[]>();

/** Stat files read per event-loop turn during a walk (about 10 µs each). */
const WALK_CHUNK = 128;
let statBuffer = Buffer.allocUnsafe(1024);

/**
 * /proc/<pid>/stat with three plain syscalls into one reused buffer: a tenth of the CPU of
 * `fs.promises.readFile` (open, fstat, read, close, each a thread-pool round trip), which
 * matters when hundreds of sessions are reaped at once. The stat file never waits on the
 * process's memory lock (environ does: that one is read asynchronously).
 */
function readProcStatSync(pid: number): ProcStat | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return null;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === statBuffer.length) {
        const grown = Buffer.allocUnsafe(statBuffer.length * 2);
        statBuffer.copy(grown);
        statBuffer = grown;
      }
      const bytesRead = readSync(fd, statBuffer, length, statBuffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return parseProcStat(statBuffer.toString('latin1', 0, length));
  } catch {
    // Gone while reading (ESRCH): no process, no answer.
    return null;
  } finally {
    closeSync(fd);
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function takeSnapshot(): Promise<ProcSnapshot> {
  const uptimeTicks = Number.parseFloat(readFileSync('/proc/uptime', 'latin1')) * TICKS_PER_S;
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const stats: ProcStat[] = [];
  for (let index = 0; index < pids.length; index += 1) {
    if (index > 0 && index % WALK_CHUNK === 0) await yieldToLoop();
    const stat = readProcStatSync(pids[index]!);
    if (stat) stats.push(stat);
  }

  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, number[]>();
  const bySession = new Map<number, number[]>();
  const liveKeys = new Set<string>();
  for (const stat of stats) {
    byPid.set(stat.pid, stat);
    pushTo(children, stat.ppid, stat.pid);
    pushTo(bySession, stat.sid, stat.pid);
  }

  const byMarker = new Map<string, number[]>();
  const markerLists = await Promise.all(
    stats.map(async (stat) => {
      if (stat.state === 'Z') return [];
      const key = `${stat.pid}:${stat.startTime}`;
      liveKeys.add(key);
      const cached = markerCache.get(key);
      if (cached) return cached;
      const markers = await readMarkers(stat.pid);
      const isYoung = uptimeTicks - stat.startTime < YOUNG_PROCESS_TICKS;
      if (markers.length > 0 || !isYoung) markerCache.set(key, markers);
      return markers;
    }),
  );
  stats.forEach((stat, index) => {
    for (const marker of markerLists[index] ?? []) pushTo(byMarker, marker, stat.pid);
  });
  for (const key of markerCache.keys()) if (!liveKeys.has(key)) markerCache.delete(key);
  return { stats, byPid, children, bySession, byMarker };
}

function pushTo(index: Map<number | string, number[]>, key: number | string, pid: number): void {
  const list = index.get(key);
  if (list) list.push(pid);
  else index.set(key, [pid]);
}

async function readMarkers(pid: number): Promise<string[]> {
  const env = await readProcEnv(pid);
  if (!env) return [];
  const markers: string[] = [];
  for (const [name, value] of env)
    if (name.startsWith(MARKER_PREFIX)) markers.push(`${name}=${value}`);
  return markers;
}

/** The environment of a process, or null when it is gone or unreadable. */
export async function readProcEnv(pid: number): Promise<Map<string, string> | null> {
  let raw: Buffer;
  try {
    raw = await readFile(`/proc/${pid}/environ`);
  } catch {
    // Gone, or not ours to read: either way it carries no marker we can see.
    return null;
  }
  const env = new Map<string, string>();
  for (const entry of raw.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

export interface ProcessQuery {
  /** Processes whose trees (descendants and kernel sessions) belong to the target. */
  rootPids?: number[];
  /** Environment markers: any process with one of these `KEY=value` pairs belongs. */
  markers?: Array<{ key: string; value: string }>;
  /** Include zombies (they cannot be killed, only waited for). Default false. */
  includeZombies?: boolean;
}

/** Pids matching the query, never including this process itself. */
export async function findProcesses(query: ProcessQuery): Promise<number[]> {
  return findInSnapshot(await procSnapshot(), query);
}

/** The query answered from one walk: roots, their kernel sessions, markers, all descendants. */
export function findInSnapshot(snapshot: ProcSnapshot, query: ProcessQuery): number[] {
  const found = new Set<number>();
  for (const pid of query.rootPids ?? []) {
    const stat = snapshot.byPid.get(pid);
    if (!stat) continue;
    found.add(pid);
    // A root that leads its kernel session (a PTY's shell) owns the whole session.
    if (stat.sid === pid) for (const member of snapshot.bySession.get(pid) ?? []) found.add(member);
  }
  for (const marker of query.markers ?? []) {
    for (const pid of snapshot.byMarker.get(`${marker.key}=${marker.value}`) ?? []) found.add(pid);
  }

  const pending = [...found];
  while (pending.length > 0) {
    for (const child of snapshot.children.get(pending.pop()!) ?? []) {
      if (!found.has(child)) {
        found.add(child);
        pending.push(child);
      }
    }
  }

  found.delete(process.pid);
  return [...found].filter((pid) => query.includeZombies || snapshot.byPid.get(pid)?.state !== 'Z');
}

/** The lowest scheduling priority (nice 19) on Linux. */
const DYING_NICE = 19;
let ownAutogroup: string | null | undefined;

/**
 * Drops a process about to be killed to the lowest CPU priority. Hundreds of shells and
 * workers exiting at once would otherwise outweigh the gateway on the scheduler and stall its
 * event loop; at nice 19 they exit on the CPU the gateway leaves idle.
 *
 * With the kernel's autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`), CPU is
 * shared between kernel sessions first and nice only orders the threads inside one; terminals
 * and workers each lead their own session, so their session's group is lowered too, unless it
 * is the gateway's own. Best effort: a process already gone, or not ours, is skipped.
 */
export function deprioritize(pid: number): void {
  try {
    setPriority(pid, DYING_NICE);
    ownAutogroup ??= readAutogroup('self');
    const group = readAutogroup(String(pid));
    if (group !== null && group !== ownAutogroup) {
      writeFileSync(`/proc/${pid}/autogroup`, String(DYING_NICE));
    }
  } catch {
    // ESRCH or EPERM, or no autogroup support: nothing to lower.
  }
}

/** The autogroup name (`/autogroup-N`), or null without autogroup support. */
function readAutogroup(pid: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/autogroup`, 'utf8').split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Wake-ups of dying processes: at most this many per step, one step every WAKE_STEP_MS.
 * Every woken process becomes runnable for its exit, and with autogroup scheduling each
 * terminal or worker is its own scheduling group with as much weight as the whole gateway, so
 * hundreds woken at once leave the gateway a small fraction of the CPU however low their nice.
 * Two per millisecond, measured on two cores: 500 sessions (a shell and a worker each, 1 000
 * wake-ups) are gone in ~2.6 s with the loop delayed ~0.1 s at worst; one per millisecond gave
 * ~3.6 s and ~60 ms (bench/, docs/BENCHMARKS.md).
 * LIMITATION: even paced, a thousand exits on two cores delay the loop ~0.1 s at worst
 * (target 20 ms). Fix: lighter workers; a PTY child wait without a thread per terminal.
 */
export const WAKES_PER_STEP = 8;
const WAKE_STEP_MS = 4;
const pendingWakes: Array<() => void> = [];
let isWakeStepScheduled = false;

/**
 * Runs a task that wakes a process to end it (a signal, a shutdown message) soon: the first
 * few at once, the rest paced as above, in order. A lone session's close is not delayed.
 * Resolves once the task has run (thrown or not): a grace period for the woken process must
 * start then, not when the task was queued.
 */
export function pacedWake(task: () => void): Promise<void> {
  return new Promise((resolve) => {
    pendingWakes.push(() => {
      try {
        task();
      } catch {
        // A wake-up is best effort; the caller's escalation covers one that failed.
      }
      resolve();
    });
    if (isWakeStepScheduled) return;
    isWakeStepScheduled = true;
    setImmediate(stepWakes);
  });
}

function stepWakes(): void {
  for (const run of pendingWakes.splice(0, WAKES_PER_STEP)) run();
  if (pendingWakes.length > 0) setTimeout(stepWakes, WAKE_STEP_MS);
  else isWakeStepScheduled = false;
}

/** Sends a signal, treating "already gone" as success. Returns false only when it was gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    // ESRCH: the process exited between finding and signalling it, which is what we wanted.
    // EPERM: not ours (pid reused by another user) — never retry, never escalate on it.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw error;
  }
}

/** True while the pid exists and is not a zombie. */
export async function isAlive(pid: number, startTime?: number): Promise<boolean> {
  const stat = await readProcStat(pid);
  if (!stat || stat.state === 'Z') return false;
  return startTime === undefined || stat.startTime === startTime;
}

export interface ReapOptions {
  /** Time between the polite signal and SIGKILL. */
  killGraceMs: number;
  /** First signal; default SIGTERM. SIGHUP is always sent alongside for terminal jobs. */
  politeSignal?: NodeJS.Signals;
  /** How long to keep re-checking after SIGKILL before giving up. Default 2000 ms. */
  killWaitMs?: number;
  /** Poll step while waiting. Default 25 ms. */
  pollMs?: number;
}

export interface ReapResult {
  /** Every pid that was signalled. */
  signalled: number[];
  /** Pids that needed SIGKILL. */
  killed: number[];
  /** Pids still alive after the whole escalation (should be empty). */
  survivors: number[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface ReapJob {
  query: ProcessQuery;
  politeSignal: NodeJS.Signals;
  killGraceMs: number;
  killWaitMs: number;
  createdMs: number;
  phase: 'new' | 'polite' | 'kill';
  deadlineMs: number;
  signalled: Set<number>;
  killed: Set<number>;
  resolve: (result: ReapResult) => void;
}

/** Reaps in progress, all stepped by one loop off one /proc walk per poll. */
const reapJobs = new Set<ReapJob>();
let isReapLoopRunning = false;
const REAP_POLL_MS = 25;

/**
 * Polite signal, bounded wait, SIGKILL, bounded wait — to every process the query finds,
 * re-running the query at each step so children forked during teardown are caught too.
 * Every reap in flight shares one loop and one /proc walk per step, so closing hundreds of
 * sessions at once costs what closing one does, per step. Never blocks the event loop.
 */
export function reapProcesses(query: ProcessQuery, options: ReapOptions): Promise<ReapResult> {
  return new Promise((resolve) => {
    reapJobs.add({
      query,
      politeSignal: options.politeSignal ?? 'SIGTERM',
      killGraceMs: options.killGraceMs,
      killWaitMs: options.killWaitMs ?? 2000,
      createdMs: performance.now(),
      phase: 'new',
      deadlineMs: 0,
      signalled: new Set(),
      killed: new Set(),
      resolve,
    });
    void runReapLoop();
  });
}

async function runReapLoop(): Promise<void> {
  if (isReapLoopRunning) return;
  isReapLoopRunning = true;
  try {
    while (reapJobs.size > 0) {
      const walkAskedMs = performance.now();
      const snapshot = await procSnapshot();
      const nowMs = performance.now();
      for (const job of [...reapJobs]) {
        // A job that arrived during this walk may name processes the walk did not see yet.
        if (job.createdMs > walkAskedMs) continue;
        stepReapJob(job, findInSnapshot(snapshot, job.query), nowMs, snapshot);
      }
      if (reapJobs.size > 0) await sleep(REAP_POLL_MS);
    }
  } finally {
    isReapLoopRunning = false;
  }
}

function stepReapJob(job: ReapJob, targets: number[], nowMs: number, snapshot: ProcSnapshot): void {
  const finish = (survivors: number[]) => {
    reapJobs.delete(job);
    job.resolve({ signalled: [...job.signalled], killed: [...job.killed], survivors });
  };
  if (job.phase === 'new') {
    if (targets.length === 0) return finish([]);
    job.phase = 'polite';
    if (job.killGraceMs > 0) {
      // The grace runs from the moment the last of these signals really went out.
      job.deadlineMs = Number.POSITIVE_INFINITY;
      const sent = targets.map((pid) => {
        job.signalled.add(pid);
        const startTime = snapshot.byPid.get(pid)?.startTime;
        return pacedWake(() => {
          // Paced, the signal may go out a while after the walk: pids wrap quickly (pid_max
          // can be 32768), so only the very process the walk saw is signalled.
          if (readProcStatSync(pid)?.startTime !== startTime) return;
          deprioritize(pid);
          signalProcess(pid, 'SIGHUP');
          if (job.politeSignal !== 'SIGHUP') signalProcess(pid, job.politeSignal);
        });
      });
      void Promise.all(sent).then(() => (job.deadlineMs = performance.now() + job.killGraceMs));
      return;
    }
    // No grace: the polite signal and SIGKILL go out together, below.
    for (const pid of targets) {
      signalProcess(pid, 'SIGHUP');
      if (job.politeSignal !== 'SIGHUP') signalProcess(pid, job.politeSignal);
    }
    job.deadlineMs = nowMs;
  }
  if (targets.length === 0) return finish([]);
  if (job.phase === 'polite') {
    if (nowMs < job.deadlineMs) return;
    job.phase = 'kill';
    job.deadlineMs = nowMs + job.killWaitMs;
  }
  for (const pid of targets) {
    deprioritize(pid);
    if (signalProcess(pid, 'SIGKILL')) job.killed.add(pid);
    job.signalled.add(pid);
  }
  if (nowMs >= job.deadlineMs) finish(targets);
}
