import { mkdir, rm, writeFile, rename } from 'node:fs/promises';
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
    const { readFile } = await import('node:fs/promises');
    const current = JSON.parse(await readFile(path, 'utf8')) as Partial<RuntimeInfo>;
    if (current.instance_id !== instanceId) return;
  } catch {
    // Missing or unreadable: nothing of ours to remove.
    return;
  }
  await rm(path, { force: true });
}
