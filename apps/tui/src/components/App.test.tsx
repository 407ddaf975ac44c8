// An in-process fake RpcClient stands in for the gateway here only because
// src/tui.e2e.test.ts drives the same UI against the real gateway in a real terminal.
import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { waitFor } from '@tether/test-utils';
import { FakeClient } from '../test-fixtures/fake-client.js';
import { GatewayController } from '../gateway-controller.js';
import type { StoredSession, StoredTurn } from '../state.js';
import { App } from './App.js';

const controllers: GatewayController[] = [];
afterEach(() => {
  for (const controller of controllers.splice(0)) controller.close();
});

async function renderApp(client: FakeClient) {
  const controller = new GatewayController(async () => ({
    client,
    terminal: { kind: 'rpc' },
    description: 'fake',
  }));
  controllers.push(controller);
  await controller.start();
  const quits: number[] = [];
  const terminals: string[] = [];
  const view = render(
    <App
      controller={controller}
      onQuit={() => quits.push(1)}
      onOpenTerminal={(id) => terminals.push(id)}
    />,
  );
  const screen = (text: string) =>
    waitFor(() => (view.lastFrame() ?? '').includes(text), {
      what: `"${text}" on screen`,
      timeoutMs: 3000,
    });
  return { view, controller, quits, terminals, screen };
}

describe('App', () => {
  it('creates a session for the first prompt and streams the turn into the output pane', async () => {
    const client = new FakeClient();
    const { view, screen } = await renderApp(client);
    await screen('0 sessions');

    view.stdin.write('echo hello-app');
    await screen('> echo hello-app');
    view.stdin.write('\r');

    await screen('[exit 0 in 3 ms]');
    expect(client.calls.map((call) => call.method)).toEqual([
      'session.list',
      'session.create',
      'prompt.submit',
    ]);
    expect(client.calls[2]?.params).toEqual({ session_id: 's1', text: 'echo hello-app' });
    expect(view.lastFrame()).toContain('$ echo hello-app');
    expect(view.lastFrame()).toContain('1 session ');
    view.unmount();
  });

  it('treats a line break inside one input chunk as Enter, submitting each line in order', async () => {
    const client = new FakeClient();
    const { view, screen } = await renderApp(client);
    await screen('0 sessions');
    view.stdin.write('echo one\r/help\rpartial');
    await screen('ran /help');
    await screen('> partial');
    const submitted = client.calls.filter((call) => call.method !== 'session.list');
    expect(submitted.map((call) => call.method)).toEqual([
      'session.create',
      'prompt.submit',
      'slash.exec',
    ]);
    expect(submitted[1]?.params).toEqual({ session_id: 's1', text: 'echo one' });
    view.unmount();
  });

  it('sends slash commands to slash.exec and shows their output', async () => {
    const client = new FakeClient();
    const { view, screen } = await renderApp(client);
    view.stdin.write('/help');
    await screen('> /help');
    view.stdin.write('\r');
    await screen('ran /help');
    expect(client.calls.at(-1)).toEqual({
      method: 'slash.exec',
      params: { session_id: 's1', command: '/help' },
    });
    view.unmount();
  });

  it('creates with Ctrl-N, switches with Tab (attaching), and asks for the terminal with Ctrl-T', async () => {
    const client = new FakeClient();
    client.sessions.push({
      session_id: 'old',
      title: 'old one',
      status: 'detached',
      attached: 0,
      running: false,
      pty: null,
    });
    const { view, screen, terminals, quits } = await renderApp(client);
    await screen('1 session ');

    view.stdin.write('\x0e');
    await screen('2 sessions');
    expect(view.lastFrame()).toMatch(/› +session 1/);

    view.stdin.write('\t');
    await screen('› ');
    await waitFor(() => /› +old one/.test(view.lastFrame() ?? ''), { what: 'old one highlighted' });
    // Current at start and never seen before: its stored turns, then live events only.
    expect(client.calls.map((call) => call.method)).toEqual([
      'session.list',
      'session.turns',
      'session.attach',
      'session.create',
    ]);
    expect(client.calls.filter((call) => call.method === 'session.attach').at(-1)?.params).toEqual({
      session_id: 'old',
    });

    view.stdin.write('\x14');
    await waitFor(() => terminals.length === 1, { what: 'terminal request' });
    expect(terminals).toEqual(['old']);

    view.stdin.write('\x11');
    await waitFor(() => quits.length === 1, { what: 'quit' });
    view.unmount();
  });

  it('lists stored sessions on Ctrl-R and resumes the picked one with its turns', async () => {
    const client = new FakeClient();
    client.stored = [
      storedSession('new-one', 'newest', 'client_close'),
      storedSession('older', 'older one', 'grace_expired'),
    ];
    client.turns['older'] = [turn('echo from-the-store', 'from-the-store\n')];
    const { view, screen } = await renderApp(client);
    await screen('^R resume');

    view.stdin.write('\x12');
    await screen('Resume a stored session');
    expect(view.lastFrame()).toMatch(/› newest · .* · client_close/);
    expect(view.lastFrame()).toContain('older one');
    expect(view.lastFrame()).toContain('grace_expired');
    view.stdin.write('x');
    view.stdin.write('\x1b[B');
    await waitFor(() => /› older one/.test(view.lastFrame() ?? ''), { what: 'second row picked' });
    view.stdin.write('\r');

    await screen('from-the-store');
    expect(client.calls.find((call) => call.method === 'session.resume')?.params).toEqual({
      session_id: 'older',
    });
    expect(view.lastFrame()).toContain('$ echo from-the-store');
    expect(view.lastFrame()).toMatch(/› +older one/);
    // The key typed while the picker was open went nowhere.
    expect(view.lastFrame()).not.toContain('> x');
    view.unmount();
  });

  it('closes the Ctrl-R list on Esc without resuming', async () => {
    const client = new FakeClient();
    client.stored = [storedSession('a', 'stored a', 'shutdown')];
    const { view, screen } = await renderApp(client);
    view.stdin.write('\x12');
    await screen('Resume a stored session');
    view.stdin.write('\x1b');
    await waitFor(() => !(view.lastFrame() ?? '').includes('Resume a stored'), {
      what: 'list closed',
    });
    expect(client.calls.some((call) => call.method === 'session.resume')).toBe(false);
    view.unmount();
  });
});

function storedSession(id: string, title: string, endReason: string): StoredSession {
  return {
    session_id: id,
    title,
    created_at: '2026-01-02T03:04:05.000Z',
    runs: [
      {
        run_id: `r-${id}`,
        started_at: '2026-01-02T03:04:05.000Z',
        ended_at: '2026-01-02T04:00:00.000Z',
        end_reason: endReason,
      },
    ],
  };
}

function turn(text: string, output: string): StoredTurn {
  return {
    turn_id: `t-${text}`,
    text,
    output,
    exit_code: 0,
    signal: null,
    started_at: '2026-01-02T03:05:00.000Z',
    ended_at: '2026-01-02T03:05:01.000Z',
  };
}
