import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { tempDir } from '@tether/test-utils';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree, processLeaks } from '../test-support/leaks.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

let gateway: GatewayProcess | null = null;

afterEach(async () => {
  if (gateway) {
    const exit = await gateway.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(await processLeaks(gateway)).toEqual({ marked: [], zombies: [] });
    await gateway.removeHome();
  }
  gateway = null;
});

describe.skipIf(!existsSync(CHROMIUM))('web terminal in headless Chromium', () => {
  it('creates a session, runs `echo hi` in the terminal and renders it', async () => {
    gateway = await startGatewayProcess();
    const profile = await tempDir('tether-chromium-');
    const context = await chromium.launchPersistentContext(profile.path, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 650 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${gateway.port}/?token=${gateway.token}`);
      await page.getByText('connected', { exact: true }).waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'New session' }).click();
      await page.locator('#status', { hasText: 'attached to' }).waitFor({ timeout: 15_000 });

      await page.locator('#terminal').click();
      await page.keyboard.type('echo hi');
      await page.keyboard.press('Enter');
      const rows = page.locator('.xterm-rows');
      // The command line echoes `echo hi`; the output is a row that is exactly `hi`.
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('.xterm-rows > div')).some(
            (row) => (row.textContent ?? '').trim() === 'hi',
          ),
        undefined,
        { timeout: 15_000 },
      );
      expect(await rows.textContent()).toContain('echo hi');

      // The page's /rpc connection holds the session.
      const rpc = await connectWebSocketRpc(gateway.url, { token: gateway.token });
      const [session] = (await rpc.request('session.list')).sessions;
      rpc.close();
      expect(session).toMatchObject({ attached: 1 });

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}web-terminal.png` });
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
      await profile.remove();
    }
    expect(await countsAgree(gateway)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
  });
});
