/**
 * The server-side view of one client connection, shared by the WebSocket and stdio transports.
 */
import type { Disposable } from '@tether/core';
import type { EventMessage } from './protocol.js';

export interface CloseInfo {
  code: number;
  reason: string;
}

/** One client connection as the dispatcher and the gateway see it. */
export interface RpcConnection {
  readonly id: string;
  readonly transport: 'ws' | 'stdio';
  readonly isOpen: boolean;
  /** Sends an `event` notification. On a closed connection this is a silent no-op. */
  notify(event: EventMessage): void;
  /** Idempotent. */
  close(code?: number, reason?: string): void;
  /** Fires once. A listener added after the close is called on the next microtask. */
  onClose(listener: (info: CloseInfo) => void): Disposable;
}

/**
 * Fires close listeners exactly once, and late subscribers too, so a gateway that attaches a
 * listener after the peer already vanished still detaches its sessions.
 */
export class CloseSignal {
  private readonly listeners = new Set<(info: CloseInfo) => void>();
  private closedWith: CloseInfo | null = null;

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  fire(info: CloseInfo): void {
    if (this.closedWith) return;
    this.closedWith = info;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(info);
  }

  subscribe(listener: (info: CloseInfo) => void): Disposable {
    const closedWith = this.closedWith;
    if (closedWith) {
      let isDisposed = false;
      queueMicrotask(() => {
        if (!isDisposed) listener(closedWith);
      });
      return { dispose: () => (isDisposed = true) };
    }
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
}
