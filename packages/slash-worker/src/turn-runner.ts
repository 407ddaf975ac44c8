/**
 * Runs one turn at a time through an agent, gives each turn its own process marker, and
 * stops turns: interrupt (graceful escalation) or kill (the worker is going away).
 */
import { randomUUID } from 'node:crypto';
import {
  PROCESS_MARKER_ENV,
  TetherError,
  invalidParams,
  reapProcesses,
  type TurnEnd,
} from '@tether/core';
import type { WorkerState } from './commands.js';
import type { Agent, AgentResult } from './plugins.js';
import type { StartTurnParams, StartTurnResult } from './protocol.js';

const HISTORY_LIMIT = 100;
/** After SIGINT and SIGTERM steps, how long past the SIGKILL step to wait for an agent. */
const AGENT_SETTLE_EXTRA_MS = 1000;

interface RunningTurn {
  turnId: string;
  text: string;
  marker: string;
  abort: AbortController;
  done: Promise<void>;
  isEnded: boolean;
  startedAtMs: number;
}

export interface TurnRunnerOptions {
  state: WorkerState;
  agents: ReadonlyMap<string, Agent>;
  killGraceMs: number;
  onOutput(turnId: string, data: string): void;
  onEnd(end: TurnEnd): void;
}

export class TurnRunner {
  private running: RunningTurn | null = null;
  /** Every turn marker ever used: ended turns may leave background jobs behind. */
  readonly markers: string[] = [];

  constructor(private readonly options: TurnRunnerOptions) {}

  start(params: StartTurnParams): StartTurnResult {
    if (this.running) {
      const runningTurnId = this.running.turnId;
      throw new TetherError('TETHER_SESSION_BUSY', undefined, { runningTurnId });
    }
    const agent = this.options.agents.get(params.agent);
    if (!agent) {
      throw invalidParams('agent', `one of ${[...this.options.agents.keys()].join(', ')}`);
    }
    const { state } = this.options;
    const marker = `${process.env[PROCESS_MARKER_ENV] ?? 'worker'}.turn-${randomUUID()}`;
    this.markers.push(marker);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined) env[key] = value;
    }
    for (const [key, value] of state.turnEnv) env[key] = value;
    env[PROCESS_MARKER_ENV] = marker;

    const turn: RunningTurn = {
      turnId: params.turnId,
      text: params.text,
      marker,
      abort: new AbortController(),
      done: Promise.resolve(),
      isEnded: false,
      startedAtMs: performance.now(),
    };
    this.running = turn;
    state.runningTurnId = turn.turnId;
    state.turnsStarted += 1;

    const emit = (data: string) => {
      if (!turn.isEnded) this.options.onOutput(turn.turnId, data);
    };
    const failed = (error: unknown): AgentResult => {
      const reason = error instanceof Error ? error.message : String(error);
      emit(`tether: agent ${params.agent} failed: ${reason}\n`);
      return { exitCode: null, signal: null };
    };
    turn.done = Promise.resolve()
      .then(() => {
        const { turnId, text } = turn;
        return agent.run({ turnId, text, cwd: state.cwd, env, signal: turn.abort.signal, emit });
      })
      .catch(failed)
      .then((result) => this.finish(turn, result));
    return { marker };
  }

  /**
   * Graceful stop; resolves after the turn ended (or was given up on). Then what the turn
   * left behind is reaped by its marker, unless the caller will do that itself.
   */
  async interrupt(leftoversReapedByCaller = false): Promise<boolean> {
    const turn = this.running;
    if (!turn) return false;
    turn.abort.abort('interrupt');
    const settleMs = 2 * this.options.killGraceMs + AGENT_SETTLE_EXTRA_MS;
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise((resolve) => (timer = setTimeout(resolve, settleMs)));
    await Promise.race([turn.done, settled]);
    clearTimeout(timer);
    // Whatever the turn left behind (background jobs, escapees) goes with it.
    if (!leftoversReapedByCaller)
      await reapProcesses(
        { markers: [{ key: PROCESS_MARKER_ENV, value: turn.marker }] },
        {
          killGraceMs: 0,
          politeSignal: 'SIGKILL',
        },
      );
    // LIMITATION: an agent that ignores its abort signal is abandoned, not stopped; its
    // promise may still settle later and is ignored. Fix: run plugin agents in a sub-process.
    this.finish(turn, { exitCode: null, signal: 'SIGKILL' });
    return true;
  }

  /** Synchronous first step of shutdown: tells the running turn to die now. */
  killNow(): void {
    this.running?.abort.abort('kill');
  }

  private finish(turn: RunningTurn, result: AgentResult): void {
    if (turn.isEnded) return;
    turn.isEnded = true;
    if (this.running === turn) this.running = null;
    const { state } = this.options;
    if (state.runningTurnId === turn.turnId) state.runningTurnId = null;
    const { turnId, text } = turn;
    const { exitCode, signal } = result;
    state.history.push({ turnId, text, exitCode, signal });
    if (state.history.length > HISTORY_LIMIT) state.history.shift();
    const durationMs = Math.round(performance.now() - turn.startedAtMs);
    this.options.onEnd({ turnId, exitCode, signal, durationMs });
  }
}
