import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { isAlive } from '@tether/core';
import { join } from 'node:path';

export interface RuntimeInfo {
  url: string;
  port: number;
  pid: number;
  instance_id: string;
  token: string;
}

export function runtimeFilePath(home: string): string {
  return join(home, 'gateway.json');
}

/** Written atomically with mode 0600: it holds the token. */
export async function writeRuntimeFile(home: string, info: RuntimeInfo): Promise<string> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const path = runtimeFilePath(home);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return path;
}

/** Removes the file only if it is still ours (a newer gateway may have replaced it). */
export async function removeRuntimeFile(home: string, instanceId: string): Promise<void> {
  const path = runtimeFilePath(home);
  try {
    const current = JSON.parse(await readFile(path, 'utf8')) as Partial<RuntimeInfo>;
    if (current.instance_id !== instanceId) return;
  } catch {
    // Missing or unreadable: nothing of ours to remove.
    return;
  }
  await rm(path, { force: true });
}

/**
 * The gateway that owns this home's runtime file, if it is still running. Two gateways on one
 * home would overwrite each other's runtime file and leave clients unable to find the first.
 */
export async function findLiveGateway(home: string): Promise<RuntimeInfo | null> {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(await readFile(runtimeFilePath(home), 'utf8')) as RuntimeInfo;
  } catch {
    // No file (or a torn one): nobody is serving this home.
    return null;
  }
  if (!Number.isInteger(info.pid) || info.pid === process.pid) return null;
  if (!(await isAlive(info.pid))) return null;
  const commandLine = await readFile(`/proc/${info.pid}/cmdline`, 'utf8').catch(() => '');
  return commandLine.includes('gateway') ? info : null;
}
