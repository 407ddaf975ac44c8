/** Versions of the systems under test, read from their own package files. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

function packageVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    // Not built or not installed: say so in the report instead of failing the run.
    return 'unknown';
  }
}

export function VERSION_PROBES(): Record<string, string> {
  const gatewayPackage = fileURLToPath(new URL('../../apps/gateway/package.json', import.meta.url));
  return {
    'tether-gateway': packageVersion(gatewayPackage),
    'node-pty': packageVersion(require.resolve('node-pty/package.json')),
    ws: packageVersion(require.resolve('ws/package.json')),
  };
}
