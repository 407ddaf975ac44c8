import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./store-child.mjs', import.meta.url));
export const STORE_CHILD = CHILD;

/** Whether a process running as `uid` can read `path` (every folder above it included). */
export function isReachableByNobody(path: string, uid = 65534): boolean {
  const probe = `require('fs').accessSync(${JSON.stringify(path)}, require('fs').constants.R_OK)`;
  return (
    spawnSync(process.execPath, ['-e', probe], { uid, gid: uid, timeout: 10_000 }).status === 0
  );
}

/** Runs store-child.mjs (the compiled store in its own node process) and parses its report. */
export async function runStoreChild(
  sqlitePath: string,
  as: { uid?: number; gid?: number } = {},
): Promise<Record<string, unknown>> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const options = { ...as, timeout: 30_000 };
    execFile(process.execPath, [CHILD, sqlitePath], options, (error, out, err) => {
      if (error) reject(new Error(`store child failed: ${error.message}\n${err}`));
      else resolve(out);
    });
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(lastLine) as Record<string, unknown>;
}
