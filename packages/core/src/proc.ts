/**
 * Finding and killing a session's processes through /proc (Linux).
 *
 * Killing a process group is not enough: interactive shells put jobs in their own groups,
 * `setsid` starts a new session and re-parents away from the tree, and `nohup` ignores HUP.
 * So a session's processes are the union of: the given roots, their descendants, every
 * process in a root's kernel session, and every process whose environment carries the
 * session (or instance) marker — the marker survives re-parenting and `setsid`.
 */
import { readdir, readFile } from 'node:fs/promises';
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

/** Parses /proc/<pid>/stat; the command name may hold spaces and ')' so split after the last ')'. */
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
 * Every process on the machine. Concurrent callers share scans: a mass teardown of hundreds
 * of sessions then costs a few /proc walks, not one per session. A scan already under way
 * may have listed /proc before the caller forked its latest child (a reap right after a
 * spawn would then miss its root entirely), so a caller arriving mid-scan shares the next.
 */
export const listProcStats: () => Promise<ProcStat[]> = shareFreshly(scanProc);

async function scanProc(): Promise<ProcStat[]> {
  const uptime = await readFile('/proc/uptime', 'utf8');
  uptimeTicks = Number.parseFloat(uptime) * TICKS_PER_S;
  const names = await readdir('/proc');
  const pids = names.filter((name) => /^\d+$/.test(name)).map(Number);
  const stats = await Promise.all(pids.map((pid) => readProcStat(pid)));
  return stats.filter((stat): stat is ProcStat => stat !== null);
}

/**
 * A process's environment is fixed at exec, so it is read once per process (pid and start
 * time) and kept while the process exists. Entries of processes gone are dropped each scan.
 */
const envCache = new Map<string, Promise<Map<string, string> | null>>();

/** Clock ticks per second for /proc start times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;
/** A process younger than this may not have exec'd yet: an unmarked answer is not kept. */
const YOUNG_PROCESS_TICKS = 2 * TICKS_PER_S;
let uptimeTicks = 0;

function cachedEnv(stat: ProcStat): Promise<Map<string, string> | null> {
  const key = `${stat.pid}:${stat.startTime}`;
  const cached = envCache.get(key);
  if (cached) return cached;
  const env = readProcEnv(stat.pid);
  envCache.set(key, env);
  const isYoung = uptimeTicks - stat.startTime < YOUNG_PROCESS_TICKS;
  if (isYoung) {
    // Between fork and exec a child still shows its parent's environment; only keep the
    // answer once it carries a marker (exec keeps it) or the process is old enough.
    void env.then((vars) => {
      const isMarked = vars !== null && [...vars.keys()].some((name) => name.startsWith('TETHER_'));
      if (!isMarked) envCache.delete(key);
    });
  }
  return env;
}

function pruneEnvCache(stats: ProcStat[]): void {
  if (envCache.size <= stats.length) return;
  const live = new Set(stats.map((stat) => `${stat.pid}:${stat.startTime}`));
  for (const key of envCache.keys()) if (!live.has(key)) envCache.delete(key);
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
  const stats = await listProcStats();
  const roots = new Set(query.rootPids ?? []);
  const rootSessions = new Set<number>();
  for (const stat of stats) {
    if (roots.has(stat.pid) && stat.sid === stat.pid) rootSessions.add(stat.sid);
  }

  const found = new Set<number>();
  for (const stat of stats) {
    if (roots.has(stat.pid) || rootSessions.has(stat.sid)) found.add(stat.pid);
  }
  addDescendants(stats, found);

  const markers = query.markers ?? [];
  if (markers.length > 0) {
    pruneEnvCache(stats);
    // Zombies have an empty environ and exec may not have happened yet for a fresh fork,
    // so neither is cached: a zombie is never a kill target and a fresh fork is re-read.
    const candidates = stats.filter((stat) => !found.has(stat.pid) && stat.pid !== process.pid);
    const envs = await Promise.all(
      candidates.map((stat) => (stat.state === 'Z' ? Promise.resolve(null) : cachedEnv(stat))),
    );
    candidates.forEach((stat, index) => {
      const env = envs[index];
      if (env && markers.some((marker) => env.get(marker.key) === marker.value)) found.add(stat.pid);
    });
    addDescendants(stats, found);
  }

  found.delete(process.pid);
  const byPid = new Map(stats.map((stat) => [stat.pid, stat]));
  return [...found].filter((pid) => query.includeZombies || byPid.get(pid)?.state !== 'Z');
}

function addDescendants(stats: ProcStat[], found: Set<number>): void {
  let isGrowing = true;
  while (isGrowing) {
    isGrowing = false;
    for (const stat of stats) {
      if (!found.has(stat.pid) && found.has(stat.ppid)) {
        found.add(stat.pid);
        isGrowing = true;
      }
    }
  }
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

/**
 * Polite signal, bounded wait, SIGKILL, bounded wait — to every process the query finds,
 * re-running the query at each step so children forked during teardown are caught too.
 * Never blocks the event loop: every wait is a timer.
 */
export async function reapProcesses(query: ProcessQuery, options: ReapOptions): Promise<ReapResult> {
  const politeSignal = options.politeSignal ?? 'SIGTERM';
  const pollMs = options.pollMs ?? 25;
  const signalled = new Set<number>();
  const killed = new Set<number>();

  let targets = await findProcesses(query);
  for (const pid of targets) {
    signalProcess(pid, 'SIGHUP');
    if (politeSignal !== 'SIGHUP') signalProcess(pid, politeSignal);
    signalled.add(pid);
  }

  const politeDeadline = Date.now() + options.killGraceMs;
  while (targets.length > 0 && Date.now() < politeDeadline) {
    await sleep(pollMs);
    targets = await findProcesses(query);
  }

  const killDeadline = Date.now() + (options.killWaitMs ?? 2000);
  while (targets.length > 0) {
    for (const pid of targets) {
      if (signalProcess(pid, 'SIGKILL')) killed.add(pid);
      signalled.add(pid);
    }
    if (Date.now() >= killDeadline) break;
    await sleep(pollMs);
    targets = await findProcesses(query);
  }

  return { signalled: [...signalled], killed: [...killed], survivors: targets };
}
