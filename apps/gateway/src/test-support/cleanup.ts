import { expect } from 'vitest';
import type { GatewayProcess } from './gateway-process.js';
import { processLeaks } from './leaks.js';

/**
 * The end of every gateway test: a clean SIGTERM shutdown (exit 0), no process left with the
 * gateway's instance marker, no zombie, and the temporary home removed.
 */
export async function stopAndCheck(gateway: GatewayProcess): Promise<void> {
  const exit = await gateway.stop('SIGTERM');
  expect(exit.code).toBe(0);
  expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
  await gateway.removeHome();
}
