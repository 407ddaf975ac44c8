import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { INSTANCE_MARKER_ENV, SESSION_MARKER_ENV, type Logger } from '@tether/core';

/** The guardian's kill grace is short: its whole pass must fit the 3 s promise. */
const GUARDIAN_KILL_GRACE_MAX_MS = 300;

export interface GuardianHandle {
  readonly pid: number;
  /** Lets go of the pipe: the guardian sweeps (nothing, after a clean teardown) and exits. */
  release(): void;
}

/**
 * Starts the guardian (see guardian.ts) in its own process group and kernel session, so a
 * signal to the gateway's group does not reach it, and hands it the write end of nothing but
 * its stdin pipe. Returns null when the compiled guardian is not there (running from source).
 *
 * LIMITATION: a kill that takes the whole cgroup (systemd stop, a container exit) takes the
 * guardian too; then only the next start-up sweep reaps. Fix: run the guardian under the
 * service manager as its own unit, or use PR_SET_CHILD_SUBREAPER from a native helper.
 */
export function startGuardian(
  instanceId: string,
  killGraceMs: number,
  logger: Logger,
): GuardianHandle | null {
  const entry = fileURLToPath(new URL('./guardian.js', import.meta.url));
  if (!existsSync(entry)) {
    logger.warn({ sessionId: null, entry }, 'guardian not built; a killed gateway may leak');
    return null;
  }
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === INSTANCE_MARKER_ENV || key === SESSION_MARKER_ENV) continue;
    if (key === 'TETHER_TOKEN' || key === 'TETHER_DB_URL') continue;
    env[key] = value;
  }
  const graceMs = Math.min(killGraceMs, GUARDIAN_KILL_GRACE_MAX_MS);
  const argv = [entry, instanceId, String(process.pid), String(graceMs)];
  const child: ChildProcess = spawn(process.execPath, argv, {
    detached: true,
    env,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  child.on('error', (error) => {
    logger.error({ sessionId: null, err: error }, 'guardian failed to start');
  });
  child.stdin?.on('error', (error) => {
    // EPIPE: the guardian is gone already; the start-up sweep of the next gateway covers us.
    logger.warn({ sessionId: null, err: error }, 'guardian pipe failed');
  });
  // The guardian lives on after the gateway; neither it nor its pipe may hold the exit open.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  logger.info({ sessionId: null, guardianPid: child.pid }, 'guardian started');
  return {
    pid: child.pid ?? 0,
    release: () => child.stdin?.end(),
  };
}
