import type { EventMessage, RpcClient } from '@tether/ws-transport';

/** Collects a client's events so tests can wait for one instead of sleeping. */
export class EventRecorder {
  readonly events: EventMessage[] = [];
  private waiters: Array<{
    match: (event: EventMessage) => boolean;
    resolve: (event: EventMessage) => void;
  }> = [];

  constructor(client: RpcClient) {
    client.onEvent((event) => {
      this.events.push(event);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(event)) return true;
        waiter.resolve(event);
        return false;
      });
    });
  }

  /** The first event (already seen or still to come) matching the predicate. */
  next(match: (event: EventMessage) => boolean, timeoutMs = 20_000): Promise<EventMessage> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('timed out waiting for an event')),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }

  ofType(type: string, sessionId?: string): EventMessage[] {
    return this.events.filter(
      (event) => event.type === type && (!sessionId || event.session_id === sessionId),
    );
  }
}
