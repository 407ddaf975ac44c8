/**
 * Helpers shared by Tether's tests: temp dirs, waiting on conditions instead of sleeping,
 * and the leak check every integration test ends with.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempDir(
  prefix = 'tether-test-',
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value (returned) or the timeout passes (throws). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

async function readInfo(pid: number): Promise<ProcInfo | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const command = stat.slice(stat.indexOf('(') + 1, close);
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? '?', command };
  } catch {
    // Exited while we looked.
    return null;
  }
}

async function hasMarker(pid: number, key: string, value?: string): Promise<boolean> {
  try {
    const env = (await readFile(`/proc/${pid}/environ`)).toString('utf8').split('\0');
    return env.some((entry) =>
      value === undefined ? entry.startsWith(`${key}=`) : entry === `${key}=${value}`,
    );
  } catch {
    // Exited while we looked, or unreadable.
    return false;
  }
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Live (non-zombie) processes carrying `key=value` (or any value of `key`) in their environment. */
export async function markedProcesses(key: string, value?: string): Promise<ProcInfo[]> {
  const found: ProcInfo[] = [];
  for (const pid of await allPids()) {
    if (pid === process.pid) continue;
    if (!(await hasMarker(pid, key, value))) continue;
    const info = await readInfo(pid);
    if (info && info.state !== 'Z') found.push(info);
  }
  return found;
}

/** Zombie children of the given parent pids (default: this process). */
export async function zombies(parentPids: number[] = [process.pid]): Promise<ProcInfo[]> {
  const parents = new Set(parentPids);
  const found: ProcInfo[] = [];
  for (const pid of await allPids()) {
    const info = await readInfo(pid);
    if (info && info.state === 'Z' && parents.has(info.ppid)) found.push(info);
  }
  return found;
}

/**
 * The leak check: waits (bounded) until no live process carries the marker and no zombie
 * hangs off the given parents, then returns what is left so the test can assert it is empty.
 */
export async function leakCheck(options: {
  markerKey: string;
  markerValue?: string;
  parentPids?: number[];
  timeoutMs?: number;
}): Promise<{ marked: ProcInfo[]; zombies: ProcInfo[] }> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    const marked = await markedProcesses(options.markerKey, options.markerValue);
    const zombieList = await zombies(options.parentPids);
    if ((marked.length === 0 && zombieList.length === 0) || Date.now() > deadline) {
      return { marked, zombies: zombieList };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A unique marker value for one test, so its processes can be told apart from others'. */
export function uniqueMarker(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
