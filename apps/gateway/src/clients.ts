import type { Attachment, SessionRegistry } from '@tether/core';
import type { RpcConnection } from '@tether/ws-transport';

/**
 * Which sessions each client connection is attached to. When a connection goes — cleanly or
 * not — every session it held is detached, which starts that session's grace; a connection
 * that is gone only ever drops writes (its `notify` is a no-op once closed: the detached
 * sentinel), so no output reaches a dead or foreign stream.
 */
export class ClientTracker {
  private readonly attachedByConnection = new Map<string, Set<string>>();
  private readonly attachments = new Map<string, Attachment>();

  constructor(private readonly registry: SessionRegistry) {
    registry.onClosed((session) => {
      for (const sessions of this.attachedByConnection.values()) sessions.delete(session.id);
    });
  }

  get connectionCount(): number {
    return this.attachedByConnection.size;
  }

  /** Starts tracking a connection; its close detaches everything it attached. */
  track(connection: RpcConnection): void {
    this.attachedByConnection.set(connection.id, new Set());
    connection.onClose(() => {
      const sessions = this.attachedByConnection.get(connection.id) ?? new Set<string>();
      this.attachedByConnection.delete(connection.id);
      this.attachments.delete(connection.id);
      for (const sessionId of sessions) this.registry.detach(sessionId, connection.id);
    });
  }

  attachmentFor(connection: RpcConnection): Attachment {
    let attachment = this.attachments.get(connection.id);
    if (!attachment) {
      attachment = {
        id: connection.id,
        transport: connection.transport,
        notify: (event) => connection.notify(event),
      };
      this.attachments.set(connection.id, attachment);
    }
    return attachment;
  }

  noteAttached(connection: RpcConnection, sessionId: string): void {
    this.attachedByConnection.get(connection.id)?.add(sessionId);
  }

  noteDetached(connection: RpcConnection, sessionId: string): void {
    this.attachedByConnection.get(connection.id)?.delete(sessionId);
  }
}
