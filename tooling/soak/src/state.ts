/**
 * What the soak driver knows while it runs: its clients, the sessions it has seen, its
 * terminal streams, and a short trail of recent operations for failure reports.
 */
import type WebSocket from 'ws';
import type { LagWindow } from './probes.js';
import type { Prng } from './prng.js';
import type { HalfOpenProxy } from './proxy.js';
import type { SoakClient } from './rpc-client.js';
import type { SoakGateway } from './gateway-process.js';
import type { StoreHiccup } from './store-hiccup.js';

export interface ClientSlot {
  name: string;
  client: SoakClient;
  isProxied: boolean;
}

export interface KnownSession {
  id: string;
  hasPty: boolean;
  closeOnDisconnect: boolean;
  ptySocket: WebSocket | null;
}

export interface SoakContext {
  gateway: SoakGateway;
  proxy: HalfOpenProxy;
  hiccup: StoreHiccup | null;
  prng: Prng;
  /** Never faulted, never attached: the observer that lists sessions for the checks. */
  observer: SoakClient;
  clients: ClientSlot[];
  sessions: Map<string, KnownSession>;
  /** Sessions seen closing, newest last (bounded): targets for session.resume. */
  closedIds: string[];
  maxClients: number;
  maxSessions: number;
  trail: string[];
  counters: {
    errorsByKind: Map<string, number>;
    unexpected: string[];
    faults: Map<string, number>;
  };
  nextClientNumber: number;
  /** Where the loop-delay windows of every scrape go (the soak swaps it for the final phase). */
  lagWindows: LagWindow[];
}

export const TRAIL_LENGTH = 60;
const CLOSED_IDS_KEPT = 50;

/** The session is gone from the gateway's list; it may be resumed later. */
export function forgetSession(context: SoakContext, sessionId: string): void {
  if (!context.sessions.delete(sessionId)) return;
  context.closedIds.push(sessionId);
  if (context.closedIds.length > CLOSED_IDS_KEPT) context.closedIds.shift();
}

export function remember(context: SoakContext, line: string): void {
  context.trail.push(line);
  if (context.trail.length > TRAIL_LENGTH) context.trail.shift();
}

export function countFault(context: SoakContext, kind: string): void {
  context.counters.faults.set(kind, (context.counters.faults.get(kind) ?? 0) + 1);
}
