import type { SessionEvent } from './types.js';

export interface EventReplay {
  events: SessionEvent[];
  /** True when events after the requested seq were already dropped from the buffer. */
  truncated: boolean;
}

/** A session's numbered event stream with a bounded replay buffer (PROTOCOL.md `since_seq`). */
export class EventLog {
  private lastSeq = 0;
  private readonly buffer: SessionEvent[] = [];

  constructor(
    private readonly sessionId: string,
    private readonly capacity: number,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  append(type: string, payload: Record<string, unknown>): SessionEvent {
    this.lastSeq += 1;
    const event: SessionEvent = { type, session_id: this.sessionId, seq: this.lastSeq, payload };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity)
      this.buffer.splice(0, this.buffer.length - this.capacity);
    return event;
  }

  /** Exactly the events after `sinceSeq`, or what is left of them with `truncated: true`. */
  since(sinceSeq: number): EventReplay {
    const oldestSeq = this.buffer[0]?.seq ?? this.lastSeq + 1;
    const events = this.buffer.filter((event) => (event.seq ?? 0) > sinceSeq);
    return { events, truncated: sinceSeq + 1 < oldestSeq };
  }
}
