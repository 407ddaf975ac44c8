import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./store-child.mjs', import.meta.url));

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
