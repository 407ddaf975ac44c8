/**
 * Control over node-pty's read stream that node-pty 1.1.0 does not offer:
 *
 * - Pausing must stop the kernel read at once. A paused `net.Socket` keeps reading into its
 *   own buffer, and when the child exits the read fails with EIO, which destroys the socket
 *   and drops that buffer: the program's last output is lost.
 * - node-pty destroys the socket 200 ms after the child exits (`DESTROY_SOCKET_TIMEOUT_MS`),
 *   whatever is still unread. We hold that destroy back until the read side ends by itself
 *   (EIO once every holder of the PTY's slave side is gone), or until the fallback has run
 *   for `drainFallbackMs` of unpaused time — a background job keeping the slave open would
 *   otherwise delay the exit report forever.
 *
 * - libuv reports end-of-file when the PTY signals POLLHUP (the slave side closed) after a
 *   read that did not fill its buffer. A PTY master hands out data in pieces, so a short read
 *   does not mean it is drained: the last kilobytes would be dropped. On that early end we
 *   read the rest ourselves, synchronously, until the kernel answers EIO (truly drained).
 *   Bounded: with the slave closed nothing more can be written.
 *
 * All of this needs node-pty's private `_socket` (pinned at 1.1.0). Without it we fall back
 * to plain pause/resume and node-pty's own timing.
 */
import { readSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { IPty } from 'node-pty';

interface StreamHandle {
  fd?: number;
  reading?: boolean;
  readStart?(): number;
  readStop?(): number;
}

export interface ReadSideOptions {
  drainFallbackMs: number;
  /** Called when the fallback, not the end of the read side, closes the stream. */
  onFallbackClose?: () => void;
  /** Receives output read directly from the fd after libuv's early end-of-file. */
  onLateData: (data: Buffer) => void;
  /** Told when that direct read stopped on something other than the expected EIO. */
  onDrainError?: (error: unknown) => void;
  /** Runs just before the stream (and with it the PTY fd) really closes. */
  onClosing?: () => void;
}

const DRAIN_CHUNK_BYTES = 65536;

export class PtyReadSide {
  /** True once node-pty saw the child exit (its deferred destroy arrived). */
  isChildExited = false;
  /** False when node-pty's internals were not found and only plain pause/resume works. */
  readonly isGuarded: boolean;

  private readonly socket: Socket | undefined;
  private readonly destroySocket: ((error?: Error) => unknown) | undefined;
  private isPaused = false;
  private fallbackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pty: IPty,
    private readonly options: ReadSideOptions,
  ) {
    const socket = (pty as unknown as { _socket?: Socket })._socket;
    this.isGuarded = typeof socket?.destroy === 'function';
    if (!socket || !this.isGuarded) return;

    this.socket = socket;
    const destroySocket = socket.destroy.bind(socket);
    this.destroySocket = destroySocket;
    // An error (EIO) or a finished read means the read side really ended: let it through.
    // node-pty's post-exit timer is the only caller that destroys a live stream without one.
    socket.destroy = ((error?: Error) => {
      if (socket.readableEnded && !socket.destroyed) this.drainAfterEarlyEnd();
      if (error || socket.readableEnded || socket.destroyed) {
        if (!socket.destroyed) this.options.onClosing?.();
        return destroySocket(error);
      }
      this.isChildExited = true;
      this.armFallback();
      return socket;
    }) as Socket['destroy'];
  }

  pause(): void {
    this.isPaused = true;
    this.disarmFallback();
    this.pty.pause();
    const handle = this.handle();
    if (handle?.reading && handle.readStop) {
      handle.reading = false;
      handle.readStop();
    }
  }

  resume(): void {
    this.isPaused = false;
    this.pty.resume();
    const handle = this.handle();
    // Mirrors net's own read start, so reading restarts even if the stream's buffer was empty.
    if (handle && !handle.reading && handle.readStart && !this.socket?.destroyed) {
      handle.reading = true;
      handle.readStart();
    }
    if (this.isChildExited) this.armFallback();
  }

  dispose(): void {
    this.disarmFallback();
  }

  private drainAfterEarlyEnd(): void {
    const fd = this.handle()?.fd ?? (this.pty as unknown as { _fd?: number })._fd;
    if (typeof fd !== 'number' || fd < 0) return;
    for (;;) {
      const chunk = Buffer.allocUnsafe(DRAIN_CHUNK_BYTES);
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, chunk, 0, DRAIN_CHUNK_BYTES, null);
      } catch (error) {
        // EIO: every slave holder is gone and the buffer is empty — the real end.
        if ((error as NodeJS.ErrnoException).code !== 'EIO') this.options.onDrainError?.(error);
        return;
      }
      if (bytesRead === 0) return;
      this.options.onLateData(chunk.subarray(0, bytesRead));
    }
  }

  private handle(): StreamHandle | undefined {
    if (!this.socket || this.socket.destroyed) return undefined;
    return (this.socket as unknown as { _handle?: StreamHandle })._handle ?? undefined;
  }

  private armFallback(): void {
    if (this.isPaused || this.fallbackTimer) return;
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = undefined;
      if (!this.socket || this.socket.destroyed) return;
      this.options.onFallbackClose?.();
      this.options.onClosing?.();
      this.destroySocket?.();
    }, this.options.drainFallbackMs);
  }

  private disarmFallback(): void {
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = undefined;
  }
}
