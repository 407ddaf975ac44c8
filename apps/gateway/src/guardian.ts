#!/usr/bin/env node
/**
 * The guardian: a small process the gateway starts and that outlives it. Its stdin is a pipe
 * from the gateway; when the pipe closes (the gateway died, or finished its own teardown and
 * let go) it kills every process carrying the gateway's instance marker and exits. A ppid
 * poll is the backstop for the rare case where the pipe end leaked into another process.
 *
 * argv: <instanceId> <gatewayPid> <killGraceMs>. The guardian itself never carries the
 * instance marker (it would otherwise be one of its own targets and look like a leak).
 */
import { INSTANCE_MARKER_ENV, reapProcesses } from '@tether/core';

const PPID_POLL_MS = 500;
/** Escapes forked during the first pass are caught by passes until a scan comes back empty. */
const MAX_PASSES = 5;

const [instanceId, gatewayPidText, killGraceText] = process.argv.slice(2);
const gatewayPid = Number(gatewayPidText);
const killGraceMs = Math.max(0, Number(killGraceText) || 200);

function log(fields: Record<string, unknown>, msg: string): void {
  const base = {
    level: 30,
    time: new Date().toISOString(),
    component: 'guardian',
    instanceId,
    sessionId: null,
  };
  const line = { ...base, ...fields, msg };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

if (!instanceId || !Number.isInteger(gatewayPid) || gatewayPid <= 0) {
  process.stderr.write('guardian: usage: guardian <instanceId> <gatewayPid> <killGraceMs>\n');
  process.exit(2);
}

let isReaping = false;

async function reapAll(trigger: string): Promise<void> {
  if (isReaping) return;
  isReaping = true;
  clearInterval(poll);
  const startedMs = performance.now();
  const signalled = new Set<number>();
  let survivors: number[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const result = await reapProcesses(
      { markers: [{ key: INSTANCE_MARKER_ENV, value: instanceId! }] },
      { killGraceMs, killWaitMs: 1000 },
    );
    survivors = result.survivors;
    if (result.signalled.length === 0) break;
    for (const pid of result.signalled) signalled.add(pid);
  }
  log(
    {
      trigger,
      gatewayPid,
      signalled: [...signalled],
      survivors,
      durationMs: Math.round(performance.now() - startedMs),
    },
    'guardian reaped instance',
  );
  process.exit(0);
}

const onPipeGone = () => void reapAll('pipe_closed');
process.stdin.once('end', onPipeGone);
process.stdin.once('close', onPipeGone);
// EPIPE/ECONNRESET on the pipe mean the same thing as EOF: the gateway is gone.
process.stdin.on('error', onPipeGone);
process.stdin.resume();

const poll = setInterval(() => {
  if (process.ppid !== gatewayPid) void reapAll('ppid_changed');
}, PPID_POLL_MS);

// The gateway's signals are not ours: a SIGTERM/SIGHUP to the group must not stop the guard
// before the gateway has let go of the pipe.
for (const signal of ['SIGHUP', 'SIGINT'] as const) process.on(signal, () => undefined);
