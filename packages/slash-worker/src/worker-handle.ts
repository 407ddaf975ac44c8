/**
 * The parent side of the command worker: spawns the child, correlates requests over IPC,
 * turns the child's death into errors and one exit event, and closes it with escalation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  PROCESS_MARKER_ENV,
  SESSION_MARKER_ENV,
  TetherError,
  reapProcesses,
  deprioritize,
  pacedWake,
  signalProcess,
  type Disposable,
  type ExitStatus,
  type Logger,
  type ProcessSpawnedHook,
  type SlashResult,
  type TurnEnd,
  type WorkerHandle,
  type WorkerOptions,
} from '@tether/core';
import {
  fromWireError,
  toChildArgv,
  type ChildMessage,
  type ParentMessage,
  type StartTurnResult,
  type WorkerMethod,
  type WorkerRequest,
} from './protocol.js';
import { StderrRing } from './stderr-ring.js';

/** Absolute path of the built child entry (`dist/child.js`). */
export const WORKER_CHILD_PATH = fileURLToPath(new URL('./child.js', import.meta.url));

/** Optional wiring for `spawnSlashWorker`. */
export interface SpawnWorkerHooks {
  logger?: Logger;
  onSpawned?: ProcessSpawnedHook;
}

/** After `exit`, how long to wait for the last stderr bytes before reporting the death. */
const STDERR_DRAIN_MS = 200;

interface Pending {
  resolve(value: unknown): void;
  reject(error: TetherError): void;
  timer: NodeJS.Timeout;
}

function once<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

export class SlashWorkerHandle implements WorkerHandle {
  readonly pid: number;
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly outputListeners = new Set<(turnId: string, data: string) => void>();
  private readonly endListeners = new Set<(end: TurnEnd) => void>();
  private readonly exitListeners = new Set<(status: ExitStatus) => void>();
  private readonly stderr = new StderrRing();
  private readonly turnMarkers: string[] = [];
  private readonly ready = once<void>();
  private readonly exited = once<ExitStatus>();
  private exitStatus: ExitStatus | null = null;
  private closing: Promise<ExitStatus> | null = null;

  constructor(
    private readonly child: ChildProcess,
    private readonly marker: string,
    private readonly options: WorkerOptions,
    private readonly logger: Logger | undefined,
  ) {
    this.pid = child.pid ?? -1;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of this.stderr.push(chunk)) {
        this.logger?.debug({ pid: this.pid, line }, 'worker stderr');
      }
    });
    // EPIPE once the child is gone; its death is reported through `exit`.
    child.stdin?.on('error', () => undefined);
    child.on('message', (message: ChildMessage) => this.onMessage(message));
    child.once('exit', (exitCode, signal) => {
      const timer = setTimeout(() => this.finalize({ exitCode, signal }), STDERR_DRAIN_MS);
      child.once('close', () => clearTimeout(timer));
    });
    child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) =>
      this.finalize({ exitCode, signal }),
    );
  }

  /** Resolves on the child's `ready`; rejects on death or after `requestTimeoutMs`. */
  async whenReady(): Promise<void> {
    const timer = setTimeout(() => {
      const ms = this.options.requestTimeoutMs;
      const message = `worker not ready after ${ms} ms`;
      this.ready.reject(new TetherError('TETHER_WORKER_TIMEOUT', message));
    }, this.options.requestTimeoutMs);
    try {
      await this.ready.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  async exec(command: string): Promise<SlashResult> {
    return (await this.request('exec', { command })) as SlashResult;
  }

  async startTurn(turn: { turnId: string; text: string; agent: string }): Promise<void> {
    const result = (await this.request('startTurn', turn)) as StartTurnResult;
    this.turnMarkers.push(result.marker);
  }

  async interrupt(options: { leftoversReapedByCaller?: boolean } = {}): Promise<boolean> {
    return (await this.request('interrupt', options)) === true;
  }

  onTurnOutput(listener: (turnId: string, data: string) => void): Disposable {
    this.outputListeners.add(listener);
    return { dispose: () => this.outputListeners.delete(listener) };
  }

  onTurnEnd(listener: (end: TurnEnd) => void): Disposable {
    this.endListeners.add(listener);
    return { dispose: () => this.endListeners.delete(listener) };
  }

  onExit(listener: (status: ExitStatus) => void): Disposable {
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  close(): Promise<ExitStatus> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private async runClose(): Promise<ExitStatus> {
    const { killGraceMs } = this.options;
    const hasExited = () => this.exitStatus !== null;
    if (!hasExited()) {
      // Paced and at the lowest priority: a mass close must not stall the gateway's loop.
      // The grace starts once the request is really sent.
      await pacedWake(() => {
        // Exited meanwhile: its pid is waited for and may belong to someone else by now.
        if (hasExited()) return;
        deprioritize(this.pid);
        this.send({ type: 'shutdown' });
      });
      await this.waitForExit(killGraceMs);
    }
    if (!hasExited()) {
      this.logger?.warn({ pid: this.pid, reason: 'shutdown_ignored' }, 'worker terminate');
      deprioritize(this.pid);
      signalProcess(-this.pid, 'SIGTERM');
      await this.waitForExit(killGraceMs);
    }
    // Once the worker is waited for its pid may be reused, so it is a root only while alive.
    const rootPids = hasExited() ? [] : [this.pid];
    if (!hasExited()) {
      this.logger?.warn({ pid: this.pid, reason: 'terminate_ignored' }, 'worker kill');
      deprioritize(this.pid);
      signalProcess(-this.pid, 'SIGKILL');
    }
    const markers = [this.marker, ...this.turnMarkers].map((value) => ({
      key: PROCESS_MARKER_ENV,
      value,
    }));
    const reaped = await reapProcesses(
      { rootPids, markers },
      { killGraceMs: 0, politeSignal: 'SIGKILL' },
    );
    if (reaped.signalled.length > 0) {
      this.logger?.warn({ pid: this.pid, killed: reaped.signalled }, 'worker leftovers killed');
    }
    this.child.stdin?.destroy();
    return this.exited.promise;
  }

  private waitForExit(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void this.exited.promise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private request(method: WorkerMethod, params: unknown): Promise<unknown> {
    if (this.exitStatus) return Promise.reject(this.failure('worker has exited'));
    if (this.closing) return Promise.reject(this.failure('worker is closing'));
    const id = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const message = `worker did not answer ${method} in ${timeoutMs} ms`;
        reject(new TetherError('TETHER_WORKER_TIMEOUT', message));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.send({ type: 'request', id, method, params } as WorkerRequest);
    });
  }

  private send(message: ParentMessage): void {
    if (!this.child.connected) return;
    this.child.send(message, (error) => {
      if (!error) return;
      // The channel broke under us: the exit that follows rejects everything pending.
      this.logger?.warn({ pid: this.pid, err: error }, 'worker ipc send failed');
    });
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'ready') {
      for (const error of message.pluginErrors) {
        this.logger?.warn({ plugin: error }, 'worker plugin failed to load');
      }
      this.ready.resolve();
    } else if (message.type === 'response') {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      if ('error' in message) pending.reject(fromWireError(message.error));
      else pending.resolve(message.result);
    } else if (message.type === 'turnOutput') {
      for (const listener of [...this.outputListeners]) listener(message.turnId, message.data);
    } else if (message.type === 'turnEnd') {
      for (const listener of [...this.endListeners]) listener(message.end);
    }
  }

  private failure(message: string): TetherError {
    const status = this.exitStatus;
    return new TetherError('TETHER_WORKER_FAILED', message, {
      exitCode: status?.exitCode ?? null,
      signal: status?.signal ?? null,
      stderr: this.stderr.snapshot(),
    });
  }

  private finalize(status: ExitStatus): void {
    if (this.exitStatus) return;
    this.exitStatus = status;
    this.logger?.info({ pid: this.pid, ...status }, 'worker exited');
    const died = this.failure(`worker exited (code ${status.exitCode}, signal ${status.signal})`);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(died);
    }
    this.pending.clear();
    const message = 'worker exited before ready';
    this.ready.reject(new TetherError('TETHER_SPAWN_FAILED', message, died.data));
    this.exited.resolve(status);
    for (const listener of [...this.exitListeners]) listener(status);
    this.exitListeners.clear();
  }
}

function spawnFailed(error: unknown, options: WorkerOptions): TetherError {
  const errno = (error as NodeJS.ErrnoException).code ?? null;
  const message = `could not spawn the worker: ${(error as Error).message}`;
  return new TetherError('TETHER_SPAWN_FAILED', message, {
    errno,
    path: process.execPath,
    cwd: options.cwd,
  });
}

/** Spawns a worker child and resolves once it is ready for requests. */
export async function spawnSlashWorker(
  options: WorkerOptions,
  hooks: SpawnWorkerHooks = {},
): Promise<WorkerHandle> {
  const sessionId = options.sessionId || options.env[SESSION_MARKER_ENV];
  const logger = hooks.logger?.child({ sessionId, component: 'slash-worker' });
  const marker = `worker-${randomUUID()}`;
  const argv = toChildArgv({ parentPid: process.pid, ...options });
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [WORKER_CHILD_PATH, ...argv], {
      cwd: options.cwd,
      env: { ...options.env, [PROCESS_MARKER_ENV]: marker },
      detached: true,
      stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
    });
  } catch (error) {
    throw spawnFailed(error, options);
  }
  if (child.pid === undefined) {
    const error = await new Promise<unknown>((resolve) => child.once('error', resolve));
    throw spawnFailed(error, options);
  }

  hooks.onSpawned?.({ pid: child.pid, kind: 'worker' });
  logger?.info({ pid: child.pid }, 'worker spawned');
  const handle = new SlashWorkerHandle(child, marker, options, logger);
  try {
    await handle.whenReady();
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}
