// An in-process fake RpcClient stands in for the gateway here only because
// src/tui.e2e.test.ts drives the same UI against the real gateway in a real terminal.
import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { waitFor } from '@tether/test-utils';
import type { EventMessage, RpcClient } from '../client.js';
import { GatewayController } from '../gateway-controller.js';
import type { SessionInfo } from '../state.js';
import { App } from './App.js';

class FakeClient implements RpcClient {
  readonly ready = { version: 'test', instance_id: 'fake', protocol: 1 };
  readonly calls: { method: string; params: any }[] = [];
  isOpen = true;
  private eventListeners = new Set<(event: EventMessage) => void>();
  private closeListeners = new Set<(info: { code: number; reason: string }) => void>();
  private nextId = 1;
  sessions: SessionInfo[] = [];

  async request<T>(method: string, params: any = {}): Promise<T> {
    this.calls.push({ method, params });
    switch (method) {
      case 'session.list':
        return { sessions: this.sessions } as T;
      case 'session.create': {
        const session: SessionInfo = {
          session_id: `s${this.nextId}`,
          title: `session ${this.nextId++}`,
          status: 'idle',
          attached: 1,
          running: false,
          pty: null,
        };
        this.sessions.push(session);
        return { session } as T;
      }
      case 'session.attach': {
        const session = this.sessions.find((known) => known.session_id === params.session_id);
        if (!session) throw Object.assign(new Error('session not found'), { code: 4001 });
        return { session, events: [], truncated: false } as T;
      }
      case 'prompt.submit':
        queueMicrotask(() => this.runTurn(params.session_id, params.text));
        return { turn_id: 'turn-1' } as T;
      case 'slash.exec':
        return { output: `ran ${params.command}` } as T;
      default:
        throw Object.assign(new Error(`unknown method ${method}`), { code: -32601 });
    }
  }

  private runTurn(sessionId: string, text: string): void {
    let seq = 0;
    const emit = (type: string, payload: Record<string, unknown>): void =>
      this.emit({ type, session_id: sessionId, seq: ++seq, payload });
    emit('turn.start', { turn_id: 'turn-1', text });
    emit('turn.output', { turn_id: 'turn-1', data: `${text.replace(/^echo /, '')}\n` });
    emit('turn.end', { turn_id: 'turn-1', exit_code: 0, signal: null, duration_ms: 3 });
  }

  emit(event: EventMessage): void {
    for (const listener of this.eventListeners) listener(event);
  }

  onEvent(listener: (event: EventMessage) => void) {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  onClose(listener: (info: { code: number; reason: string }) => void) {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  close(): void {
    this.isOpen = false;
    for (const listener of this.closeListeners) listener({ code: 1000, reason: 'closed' });
  }
}

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
    <App controller={controller} onQuit={() => quits.push(1)} onOpenTerminal={(id) => terminals.push(id)} />,
  );
  const screen = (text: string) =>
    waitFor(() => (view.lastFrame() ?? '').includes(text), { what: `"${text}" on screen`, timeoutMs: 3000 });
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

    await screen('[exit 0 in 3 ms]').catch((error) => { console.log(view.lastFrame()); throw error; });
    expect(client.calls.map((call) => call.method)).toEqual(['session.list', 'session.create', 'prompt.submit']);
    expect(client.calls[2]?.params).toEqual({ session_id: 's1', text: 'echo hello-app' });
    expect(view.lastFrame()).toContain('$ echo hello-app');
    expect(view.lastFrame()).toContain('1 session ');
    view.unmount();
  });

  it('sends slash commands to slash.exec and shows their output', async () => {
    const client = new FakeClient();
    const { view, screen } = await renderApp(client);
    view.stdin.write('/help');
    await screen('> /help');
    view.stdin.write('\r');
    await screen('ran /help');
    expect(client.calls.at(-1)).toEqual({ method: 'slash.exec', params: { session_id: 's1', command: '/help' } });
    view.unmount();
  });

  it('creates with Ctrl-N, switches with Tab (attaching), and asks for the terminal with Ctrl-T', async () => {
    const client = new FakeClient();
    client.sessions.push({ session_id: 'old', title: 'old one', status: 'detached', attached: 0, running: false, pty: null });
    const { view, screen, terminals, quits } = await renderApp(client);
    await screen('1 session ');

    view.stdin.write('\x0e');
    await screen('2 sessions');
    expect(view.lastFrame()).toMatch(/› +session 1/);

    view.stdin.write('\t');
    await screen('› ');
    await waitFor(() => /› +old one/.test(view.lastFrame() ?? ''), { what: 'old one highlighted' });
    expect(client.calls.filter((call) => call.method === 'session.attach').at(-1)?.params).toEqual({
      session_id: 'old',
      since_seq: 0,
    });

    view.stdin.write('\x14');
    await waitFor(() => terminals.length === 1, { what: 'terminal request' });
    expect(terminals).toEqual(['old']);

    view.stdin.write('\x11');
    await waitFor(() => quits.length === 1, { what: 'quit' });
    view.unmount();
  });
});
