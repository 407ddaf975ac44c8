import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { connectWebSocketRpc } from '@tether/ws-transport';
import { tempDir, waitFor } from '@tether/test-utils';
import { chromium, type Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../test-support/gateway-process.js';
import { countsAgree } from '../test-support/leaks.js';
import { stopAndCheck } from '../test-support/cleanup.js';

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

// Chromium start-up alone can take tens of seconds on a loaded 2-core machine.
const BROWSER_TEST_TIMEOUT_MS = 120_000;

let gateway: GatewayProcess | null = null;

/** Runs `body` with a page of a fresh headless Chromium, failing on any page error. */
async function withPage(body: (page: Page) => Promise<void>): Promise<void> {
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
    await body(page);
    expect(pageErrors).toEqual([]);
  } finally {
    await context.close();
    await profile.remove();
  }
}

afterEach(async () => {
  if (gateway) await stopAndCheck(gateway);
  gateway = null;
});

describe.skipIf(!existsSync(CHROMIUM))('web terminal in headless Chromium', () => {
  it(
    'creates a session, runs `echo hi` in the terminal and renders it',
    async () => {
      const live = await startGatewayProcess();
      gateway = live;
      await withPage(async (page) => {
        await page.goto(`http://127.0.0.1:${live.port}/?token=${live.token}`);
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
        const rpc = await connectWebSocketRpc(live.url, { token: live.token });
        const [session] = (await rpc.request('session.list')).sessions;
        rpc.close();
        expect(session).toMatchObject({ attached: 1 });

        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}web-terminal.png` });
      });
      expect(await countsAgree(live)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  it(
    'lists sessions others create, drops ones they close, and detaches on switch',
    async () => {
      const live = await startGatewayProcess();
      gateway = live;
      const rpc = await connectWebSocketRpc(live.url, { token: live.token });
      const attachedCount = async (sessionId: string): Promise<number> => {
        const { sessions } = await rpc.request('session.list');
        const found = sessions.find(
          (known: { session_id: string }) => known.session_id === sessionId,
        );
        return found?.attached;
      };
      try {
        await withPage(async (page) => {
          await page.goto(`http://127.0.0.1:${live.port}/?token=${live.token}`);
          await page.getByText('connected', { exact: true }).waitFor({ timeout: 15_000 });
          await page.locator('#footer', { hasText: '0 sessions' }).waitFor({ timeout: 15_000 });
          const row = (title: string) => page.locator('#sessions div', { hasText: title });

          // Created by another client: no event reaches the page, only its list poll does.
          const { session: first } = await rpc.request('session.create', {
            title: 'made-elsewhere',
          });
          const { session: second } = await rpc.request('session.create', {
            title: 'second-elsewhere',
          });
          await row('second-elsewhere').waitFor({ timeout: 15_000 });
          await page.locator('#footer', { hasText: '2 sessions' }).waitFor({ timeout: 15_000 });

          await row('made-elsewhere').click();
          const status = (text: string) => page.locator('#status', { hasText: text });
          await status(`attached to ${first.session_id}`).waitFor({ timeout: 15_000 });
          // The rpc client that made it, and now the page.
          expect(await attachedCount(first.session_id)).toBe(2);
          await row('second-elsewhere').click();
          await status(`attached to ${second.session_id}`).waitFor({ timeout: 15_000 });
          await waitFor(async () => (await attachedCount(first.session_id)) === 1, {
            what: 'the page detached from the session it left',
            timeoutMs: 15_000,
          });
          expect(await attachedCount(second.session_id)).toBe(2);

          // Closed elsewhere while the page is not attached to it: it must leave the list.
          const closing = await rpc.request('session.close', { session_id: first.session_id });
          expect(closing).toEqual({ closed: true });
          await row('made-elsewhere').waitFor({ state: 'detached', timeout: 15_000 });
          await page.locator('#footer', { hasText: /^1 session$/ }).waitFor({ timeout: 15_000 });
        });
      } finally {
        rpc.close();
      }
      expect(await countsAgree(live)).toEqual({ sessions: 1, registry: 1, openRuns: 1 });
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
