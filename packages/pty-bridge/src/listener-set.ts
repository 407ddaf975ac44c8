import type { Disposable } from '@tether/core';

/**
 * Typed listeners that cannot break their source: one listener throwing must neither stop
 * the others nor escape into node-pty's stream, which would tear the terminal down.
 */
export class ListenerSet<T> {
  private readonly listeners = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  get size(): number {
    return this.listeners.size;
  }

  add(listener: (value: T) => void): Disposable {
    // Wrapped so adding the same function twice yields two independent subscriptions.
    const entry = (value: T) => listener(value);
    this.listeners.add(entry);
    return { dispose: () => this.listeners.delete(entry) };
  }

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
