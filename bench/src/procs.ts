/** /proc readings: resident memory and processes carrying the gateway's instance marker. */
import { readFile } from 'node:fs/promises';
import { markedProcesses } from '@tether/test-utils';

export const INSTANCE_MARKER = 'TETHER_INSTANCE_ID';

/** VmRSS of a process in bytes; 0 when it is gone. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    // The process exited between listing and reading: it holds no memory.
    return 0;
  }
}

export async function sumRss(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += await rssBytes(pid);
  return total;
}

/** Live processes marked with this gateway instance (workers, terminals, their children). */
export async function markedPids(instanceId: string): Promise<number[]> {
  return (await markedProcesses(INSTANCE_MARKER, instanceId)).map((info) => info.pid);
}

/** Polls until no marked process is left or the bound passes; returns the ms it took or null. */
export async function timeUntilNoMarked(
  instanceId: string,
  startedAtMs: number,
  boundMs: number,
  pollMs = 20,
): Promise<{ ms: number | null; left: number }> {
  for (;;) {
    const left = (await markedPids(instanceId)).length;
    const now = performance.now();
    if (left === 0) return { ms: now - startedAtMs, left: 0 };
    if (now - startedAtMs > boundMs) return { ms: null, left };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** SIGKILLs our own leftovers by the instance marker this suite gave them (cleanup only). */
export async function killMarked(instanceId: string): Promise<number> {
  const pids = await markedPids(instanceId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: nothing left to clean up.
    }
  }
  return pids.length;
}

export async function memAvailableBytes(): Promise<number> {
  const info = await readFile('/proc/meminfo', 'utf8');
  const match = /^MemAvailable:\s+(\d+)\s+kB/m.exec(info);
  return match ? Number(match[1]) * 1024 : 0;
}
