#!/usr/bin/env node
/**
 * `tether`: parse flags, connect to a gateway, render the Ink UI; on Ctrl-T hand the terminal
 * to the session's PTY and render the UI again on detach.
 */
import React from 'react';
import { render, type Instance } from 'ink';
import { CliArgsError, parseCliArgs, USAGE, type CliOptions } from './cli-args.js';
import { describeError } from './client.js';
import { createConnector } from './connect.js';
import { App } from './components/App.js';
import { GatewayController } from './gateway-controller.js';
import { attachOverRpc, attachOverWebSocket, type AttachResult } from './terminal-attach.js';

const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H';
// Closing the connection normally lets the process end by itself; this only bounds a stuck one.
const EXIT_DEADLINE_MS = 3000;

function parseOrExit(): CliOptions {
  try {
    return parseCliArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof CliArgsError)) throw error;
    process.stderr.write(`tether: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
}

async function openTerminal(
  controller: GatewayController,
  sessionId: string,
): Promise<AttachResult> {
  const client = controller.client;
  const route = controller.terminalRoute;
  if (!client || !route) {
    return { reason: 'error', message: 'not connected to the gateway', offset: 0 };
  }

  const state = controller.getState();
  const session = state.sessions.find((known) => known.session_id === sessionId);
  const cols = process.stdout.columns || 80;
  const rows = process.stdout.rows || 24;
  let offset = state.ptyOffset[sessionId] ?? 0;
  if (!session?.pty) {
    await client.request('pty.open', { session_id: sessionId, cols, rows });
    offset = 0;
  }

  const io = { stdin: process.stdin, stdout: process.stdout };
  process.stdout.write(CLEAR_SCREEN);
  const hint = offset > 0 ? ' (press Enter for a fresh prompt)' : '';
  const title = session?.title ?? sessionId;
  process.stdout.write(`[tether] terminal of "${title}"; Ctrl-] detaches${hint}\r\n`);
  if (route.kind === 'ws') {
    return attachOverWebSocket(io, { rpcUrl: route.rpcUrl, token: route.token, sessionId, offset });
  }
  return attachOverRpc(io, {
    client,
    onEvent: (listener) => controller.onEvent(listener),
    sessionId,
    offset,
  });
}

async function main(): Promise<void> {
  const options = parseOrExit();
  if (options.isHelp) {
    process.stdout.write(USAGE);
    return;
  }

  const controller = new GatewayController(createConnector(options));
  try {
    await controller.start();
  } catch (error) {
    process.stderr.write(`tether: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }

  let instance: Instance | null = null;
  let isAttaching = false;

  const quit = (): void => {
    instance?.unmount();
    instance = null;
    controller.close();
    setTimeout(() => process.exit(0), EXIT_DEADLINE_MS).unref();
  };

  const showTerminal = (sessionId: string): void => {
    if (isAttaching) return;
    isAttaching = true;
    // Ink must stop drawing and reading stdin before the PTY gets the screen.
    instance?.unmount();
    instance = null;
    openTerminal(controller, sessionId)
      .then((result) => {
        controller.dispatch({ type: 'pty-offset', sessionId, offset: result.offset });
        controller.notify(result.message, result.reason === 'error');
      })
      .catch((error: unknown) => {
        controller.notify(`terminal: ${describeError(error)}`, true);
      })
      .finally(() => {
        isAttaching = false;
        if (controller.hasClosed) return;
        process.stdout.write(CLEAR_SCREEN);
        mount();
      });
  };

  const mount = (): void => {
    instance = render(<App controller={controller} onQuit={quit} onOpenTerminal={showTerminal} />, {
      exitOnCtrlC: false,
      patchConsole: false,
    });
  };
  mount();
}

main().catch((error: unknown) => {
  process.stderr.write(`tether: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
