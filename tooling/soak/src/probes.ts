/**
 * What the soak observes from outside the gateway: its Prometheus metrics and /proc.
 */
import { readdir, readFile } from 'node:fs/promises';

/** Every sample of /metrics without labels, by name; the loop-delay window goes to `lagSink`. */
export async function scrapeMetrics(
  port: number,
  token: string,
  lagSink?: LagWindow[],
): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`/metrics answered HTTP ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#') || line.includes('{')) continue;
    const [name, value] = line.split(' ');
    if (name && value !== undefined) samples.set(name, Number(value));
  }
  const window = lagWindow(samples);
  if (window && lagSink) lagSink.push(window);
  return samples;
}

export interface LagWindow {
  p50S: number;
  p99S: number;
  maxS: number;
}

/**
 * prom-client's loop-delay figures cover the time since the previous scrape (it resets its
 * histogram on every collect). A window with no sample (two scrapes closer than the 10 ms
 * resolution) reads as zeros and is dropped.
 */
export function lagWindow(metrics: Map<string, number>): LagWindow | null {
  const p50S = metrics.get('tether_nodejs_eventloop_lag_p50_seconds');
  const p99S = metrics.get('tether_nodejs_eventloop_lag_p99_seconds');
  const maxS = metrics.get('tether_nodejs_eventloop_lag_max_seconds');
  if (p50S === undefined || p99S === undefined || maxS === undefined || maxS === 0) return null;
  return { p50S, p99S, maxS };
}

/** Windows summed up: median of the p50s, and the largest p99 and max. */
export function summarizeLag(windows: LagWindow[]): LagWindow | null {
  if (windows.length === 0) return null;
  const p50s = windows.map((window) => window.p50S).sort((a, b) => a - b);
  return {
    p50S: p50s[Math.floor(p50s.length / 2)]!,
    p99S: Math.max(...windows.map((window) => window.p99S)),
    maxS: Math.max(...windows.map((window) => window.maxS)),
  };
}

export interface ProcEntry {
  pid: number;
  ppid: number;
  state: string;
  /** Clock ticks since boot: with the pid, names one process for good. */
  startTime: number;
  sessionId: string | null;
  cmdline: string;
}

async function readEntry(pid: number, instanceId: string): Promise<ProcEntry | null> {
  try {
    const environ = (await readFile(`/proc/${pid}/environ`)).toString('utf8').split('\0');
    if (!environ.includes(`TETHER_INSTANCE_ID=${instanceId}`)) return null;
    const sessionEntry = environ.find((entry) => entry.startsWith('TETHER_SESSION_ID='));
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    return {
      pid,
      ppid: Number(fields[1]),
      state: fields[0] ?? '?',
      startTime: Number(fields[19]),
      sessionId: sessionEntry ? sessionEntry.slice('TETHER_SESSION_ID='.length) : null,
      cmdline,
    };
  } catch {
    // Gone while we looked, or not ours to read: it carries no marker we can see.
    return null;
  }
}

/** Live processes carrying the gateway's instance marker (zombies excluded). */
export async function markedProcesses(instanceId: string): Promise<ProcEntry[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const found: ProcEntry[] = [];
  // Small batches: a full /proc walk at once would open hundreds of files in one go.
  for (let index = 0; index < pids.length; index += 64) {
    const batch = pids.slice(index, index + 64).filter((pid) => pid !== process.pid);
    const entries = await Promise.all(batch.map((pid) => readEntry(pid, instanceId)));
    for (const entry of entries) if (entry && entry.state !== 'Z') found.push(entry);
  }
  return found;
}

/** The session's command worker: a marked direct child of the gateway started as the worker. */
export function findWorker(
  entries: ProcEntry[],
  sessionId: string,
  gatewayPid: number,
): ProcEntry | undefined {
  return entries.find(
    (entry) =>
      entry.sessionId === sessionId &&
      entry.ppid === gatewayPid &&
      entry.cmdline.includes('--parent-pid'),
  );
}

/** Zombie children of the given pid. */
export async function zombieChildren(parentPid: number): Promise<number[]> {
  let children: string[] = [];
  try {
    // Linux lists a thread's children here; the gateway's children hang off its main thread.
    children = (await readFile(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8'))
      .trim()
      .split(/\s+/);
  } catch {
    // The parent is gone: its zombies were re-parented and reaped by init.
    return [];
  }
  const found: number[] = [];
  for (const child of children.filter(Boolean).map(Number)) {
    try {
      const stat = await readFile(`/proc/${child}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) found.push(child);
    } catch {
      // Reaped while we looked.
    }
  }
  return found;
}
