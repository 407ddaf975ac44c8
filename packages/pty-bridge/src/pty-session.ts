import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { PROCESS_MARKER_ENV, TetherError, reapProcesses } from '@tether/core';
import type {
  Disposable,
  ExitStatus,
  Logger,
  TerminalChunk,
  TerminalProcess,
  TerminalReplay,
  TerminalSize,
} from '@tether/core';
import type { IPty } from 'node-pty';
import { ListenerSet } from './listener-set.js';
import { PtyReadSide } from './read-side.js';
import type { ReplayBuffer } from './replay-buffer.js';
import { clampTerminalSize } from './size.js';

/** How long output may keep draining after the child exited before exit is reported anyway. */
export const DRAIN_FALLBACK_MS = 2000;
/** After the reap, how long `kill` waits for node-pty to report the child's end. */
const KILL_EXIT_WAIT_MS = 5000;

export interface PtySessionOptions {
  processId: string;
  replay: ReplayBuffer;
  killGraceMs: number;
  drainFallbackMs?: number;
  logger?: Logger;
}

/** One live terminal: a node-pty child, its numbered output and its teardown. */
export class PtySession implements TerminalProcess {
  readonly pid: number;
  /** This terminal's value of `PROCESS_MARKER_ENV`, carried by every process it starts. */
  readonly processId: string;
  cols: number;
  rows: number;
  exitStatus: ExitStatus | null = null;

  private readonly replay: ReplayBuffer;
  private readonly readSide: PtyReadSide;
  private readonly dataListeners: ListenerSet<TerminalChunk>;
  private readonly exitListeners: ListenerSet<ExitStatus>;
  private readonly ptySubscriptions: Disposable[];
  private readonly exited: Promise<ExitStatus>;
  private resolveExited!: (status: ExitStatus) => void;
  private pauseCount = 0;
  /** True once node-pty's stream closed the PTY fd (its number may be reused at once). */
  private isFdClosed = false;
  private killPromise: Promise<ExitStatus> | undefined;
  private readonly spawnedAtMs = Date.now();

  constructor(
    private readonly pty: IPty,
    private readonly options: PtySessionOptions,
  ) {
    this.pid = pty.pid;
    this.processId = options.processId;
    this.cols = pty.cols;
    this.rows = pty.rows;
    this.replay = options.replay;
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));

    const onListenerError = (err: unknown) =>
      options.logger?.error({ err, pid: this.pid }, 'terminal listener threw');
    this.dataListeners = new ListenerSet(onListenerError);
    this.exitListeners = new ListenerSet(onListenerError);

    this.readSide = new PtyReadSide(pty, {
      drainFallbackMs: options.drainFallbackMs ?? DRAIN_FALLBACK_MS,
      onFallbackClose: () =>
        options.logger?.debug({ pid: this.pid }, 'pty still held open after exit, closing'),
      onLateData: (data) => this.ptyOnData(data),
      onDrainError: (err) =>
        options.logger?.warn({ err, pid: this.pid }, 'pty drain stopped early'),
      onClosing: () => this.dropQueuedInput(),
    });
    if (!this.readSide.isGuarded) {
      // LIMITATION: without node-pty's internals, output read after exit can be lost.
      // Fix: a node-pty API to hold the read side open until EOF.
      options.logger?.warn({ pid: this.pid }, 'node-pty internals not found, drain unguarded');
    }

    // node-pty types data as string, but with `encoding: null` it hands over raw Buffers.
    const onPtyData = pty.onData as unknown as (listener: (data: Buffer) => void) => Disposable;
    this.ptySubscriptions = [
      onPtyData((data) => this.ptyOnData(data)),
      pty.onExit((event) => this.ptyOnExit(event.exitCode, event.signal ?? 0)),
    ];
  }

  get endOffset(): number {
    return this.replay.endOffset;
  }

  onData(listener: (chunk: TerminalChunk) => void): Disposable {
    return this.dataListeners.add(listener);
  }

  /** Fires once after the last chunk; a listener added after exit is called on a microtask. */
  onExit(listener: (status: ExitStatus) => void): Disposable {
    const status = this.exitStatus;
    if (!status) return this.exitListeners.add(listener);
    let isDisposed = false;
    queueMicrotask(() => {
      if (!isDisposed) listener(status);
    });
    return { dispose: () => (isDisposed = true) };
  }

  /**
   * Input goes straight to the PTY's non-blocking fd while node-pty has nothing queued: a
   * keystroke then costs one syscall, not a thread-pool round trip (node-pty 1.1.0 writes
   * with `fs.write`). What the kernel does not take at once (EAGAIN, a partial write) goes to
   * node-pty's queue, after which every write queues behind it, so the order holds.
   */
  write(data: Buffer | string): void {
    this.assertOpen('write');
    if (this.isFdClosed) {
      // The fd number may already be another file's or socket's: input goes nowhere.
      throw new TetherError('TETHER_TERMINAL_EXITED', 'terminal exited: cannot write', {
        pid: this.pid,
      });
    }
    const fd = this.inputFd();
    if (fd === null || this.pendingInputBytes > 0) {
      this.pty.write(data);
      return;
    }
    const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    try {
      written = writeSync(fd, buffer);
    } catch {
      // EAGAIN (the kernel's buffer is full) or a real error: the bytes go to node-pty's
      // queue, which retries the one and reports the other as it would have anyway.
    }
    if (written < buffer.length) this.pty.write(buffer.subarray(written));
  }

  /**
   * node-pty's master fd (private `_fd`) while it is still open, else null. The fd closes with
   * node-pty's read socket (EIO at the child's exit), before the exit is reported; its number
   * is then free for the next file or socket the gateway opens, so a write to it must never
   * happen after that: `destroyed` turns true in the same synchronous call that closes it.
   * LIMITATION: reads node-pty internals; without them input takes node-pty's slower path.
   */
  private inputFd(): number | null {
    const internals = this.pty as unknown as {
      _fd?: unknown;
      _writable?: unknown;
      _socket?: { destroyed?: unknown };
    };
    const fd = internals._fd;
    if (typeof fd !== 'number' || fd < 0) return null;
    if (internals._writable === false || internals._socket?.destroyed !== false) return null;
    return fd;
  }

  /**
   * Bytes still in node-pty's input queue. node-pty 1.1.0 exposes no count, so this reads its
   * private `_writeStream._writeQueue` (`{ buffer, offset }` tasks); without it, 0.
   * LIMITATION: a node-pty upgrade that renames it silently disables stall detection.
   */
  get pendingInputBytes(): number {
    const queue = (this.pty as unknown as { _writeStream?: { _writeQueue?: unknown } })._writeStream
      ?._writeQueue;
    if (!Array.isArray(queue)) return 0;
    let pending = 0;
    for (const task of queue as Array<{ buffer?: Buffer; offset?: number }>) {
      pending += (task.buffer?.length ?? 0) - (task.offset ?? 0);
    }
    return pending;
  }

  /**
   * The PTY fd is about to close: input still queued in node-pty must not be written later to
   * whatever reuses the number (node-pty 1.1.0 retries queued writes on a timer), so it is
   * dropped, as it would be anyway once node-pty sees the close.
   */
  private dropQueuedInput(): void {
    this.isFdClosed = true;
    const queue = (this.pty as unknown as { _writeStream?: { _writeQueue?: unknown } })._writeStream
      ?._writeQueue;
    if (Array.isArray(queue)) queue.length = 0;
  }

  resize(cols: number, rows: number): TerminalSize {
    this.assertOpen('resize');
    const size = clampTerminalSize(cols, rows);
    try {
      this.pty.resize(size.cols, size.rows);
    } catch (error) {
      // The fd closes as the child's exit is processed; a resize racing that is a late resize.
      throw new TetherError(
        'TETHER_TERMINAL_EXITED',
        undefined,
        { pid: this.pid },
        {
          cause: error,
        },
      );
    }
    this.cols = size.cols;
    this.rows = size.rows;
    return size;
  }

  replayFrom(offset: number): TerminalReplay {
    return this.replay.from(offset);
  }

  pause(): void {
    this.pauseCount += 1;
    if (this.pauseCount === 1 && !this.exitStatus) this.readSide.pause();
  }

  resume(): void {
    if (this.pauseCount === 0) return;
    this.pauseCount -= 1;
    if (this.pauseCount === 0 && !this.exitStatus) this.readSide.resume();
  }

  kill(): Promise<ExitStatus> {
    this.killPromise ??= this.reapTree();
    return this.killPromise;
  }

  private async reapTree(): Promise<ExitStatus> {
    // Once node-pty has waited for the child its pid may be reused: find the rest by marker.
    const isChildGone = this.exitStatus !== null || this.readSide.isChildExited;
    const result = await reapProcesses(
      {
        rootPids: isChildGone ? [] : [this.pid],
        markers: [{ key: PROCESS_MARKER_ENV, value: this.processId }],
      },
      { killGraceMs: this.options.killGraceMs },
    );
    if (result.survivors.length > 0) {
      const survivors = result.survivors;
      this.options.logger?.error({ pid: this.pid, survivors }, 'pty reap left survivors');
    }

    // Killing overrides backpressure: what is left is bounded by the kernel's PTY buffer.
    this.pauseCount = 0;
    if (!this.exitStatus) this.readSide.resume();

    return this.waitForExit();
  }

  private async waitForExit(): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), KILL_EXIT_WAIT_MS);
    });
    const status = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (status) return status;

    // LIMITATION: node-pty never reported the child's end (e.g. stuck in uninterruptible
    // sleep); we report a kill without having waited for it. Fix: none short of the kernel.
    this.options.logger?.error({ pid: this.pid }, 'pty child did not exit after kill');
    return { exitCode: null, signal: 'SIGKILL' };
  }

  private ptyOnData(data: Buffer): void {
    const offset = this.replay.append(data);
    this.dataListeners.fire({ offset, data });
  }

  private ptyOnExit(exitCode: number, signalNumber: number): void {
    if (this.exitStatus) return;
    const signal = signalName(signalNumber);
    const status: ExitStatus = { exitCode: signal ? null : exitCode, signal };
    this.exitStatus = status;

    for (const subscription of this.ptySubscriptions) subscription.dispose();
    this.readSide.dispose();
    const durationMs = Date.now() - this.spawnedAtMs;
    const fields = { pid: this.pid, ...status, bytes: this.endOffset, durationMs };
    this.options.logger?.info(fields, 'pty exited');

    this.exitListeners.fire(status);
    this.exitListeners.clear();
    this.dataListeners.clear();
    this.resolveExited(status);
  }

  private assertOpen(operation: 'write' | 'resize'): void {
    if (this.exitStatus || this.readSide.isChildExited) {
      throw new TetherError('TETHER_TERMINAL_EXITED', `terminal exited: cannot ${operation}`, {
        pid: this.pid,
      });
    }
  }
}

function signalName(signalNumber: number): string | null {
  if (!signalNumber) return null;
  const entry = Object.entries(constants.signals).find(([, number]) => number === signalNumber);
  return entry ? entry[0] : `SIG${signalNumber}`;
}
