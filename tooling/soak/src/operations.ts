/**
 * The soak's operations: ordinary life-cycle calls and injected faults. Each picks its
 * target with the seeded PRNG and records one line in the trail.
 */
import WebSocket from 'ws';
import { findWorker, markedProcesses } from './probes.js';
import { SoakClient } from './rpc-client.js';
import {
  countFault,
  forgetSession,
  remember,
  type ClientSlot,
  type KnownSession,
  type SoakContext,
} from './state.js';

export type OperationKind =
  | 'connect'
  | 'disconnect'
  | 'vanish'
  | 'halfOpen'
  | 'create'
  | 'resume'
  | 'attach'
  | 'detach'
  | 'promptShort'
  | 'promptFork'
  | 'promptLong'
  | 'slash'
  | 'ptyInput'
  | 'ptyOpen'
  | 'close'
  | 'interrupt'
  | 'killWorker'
  | 'storeHiccup'
  | 'burst';

const SHORT_COMMANDS = [
  'echo soak',
  'true',
  'printf "%s" abc',
  'exit 3',
  'ls / > /dev/null',
  'echo $$',
];
// The first keeps the turn's pipe open (the turn lasts as long as the sleep); the others not.
const FORK_COMMANDS = [
  'sleep 30 &',
  'sleep 30 > /dev/null 2>&1 & echo forked',
  'nohup sleep 30 > /dev/null 2>&1 &',
];
const SLASH_COMMANDS = ['/help', '/status', '/title soak', '/history', '/env', '/nope'];
const PTY_INPUTS = [
  'echo hi\r',
  'sleep 30 &\r',
  'setsid sleep 30 &\r',
  'nohup sleep 30 > /dev/null 2>&1 &\r',
  'sh -c \'trap "" HUP TERM; sleep 30\' &\r',
  'exit\r',
];

export function operationWeights(context: SoakContext): Record<OperationKind, number> {
  const hasClients = context.clients.length > 0;
  const hasSessions = context.sessions.size > 0;
  const session = hasClients && hasSessions ? 1 : 0;
  const roomForSessions = context.sessions.size < context.maxSessions;
  return {
    connect: context.clients.length < context.maxClients ? (hasClients ? 4 : 50) : 0,
    disconnect: context.clients.length > 1 ? 3 : 0,
    vanish: context.clients.length > 1 ? 3 : 0,
    halfOpen: context.clients.some((slot) => slot.isProxied) ? 1 : 0,
    create: hasClients && roomForSessions ? 10 : 0,
    resume: hasClients && roomForSessions && context.closedIds.length > 0 ? 2 : 0,
    attach: session * 7,
    detach: session * 4,
    promptShort: session * 8,
    promptFork: session * 2,
    promptLong: session * 2,
    slash: session * 5,
    ptyInput: session * 6,
    ptyOpen: session * 2,
    close: session * 6,
    interrupt: session * 3,
    killWorker: session * 3,
    storeHiccup: context.hiccup ? 1 : 0,
    burst: session * 1,
  };
}

function pickClient(context: SoakContext): ClientSlot {
  return context.prng.pick(context.clients)!;
}

function pickSession(context: SoakContext): KnownSession {
  return context.prng.pick([...context.sessions.values()])!;
}

function forgetClient(context: SoakContext, slot: ClientSlot): void {
  context.clients = context.clients.filter((candidate) => candidate !== slot);
}

async function connect(context: SoakContext): Promise<void> {
  const isProxied = context.prng.chance(0.4);
  const port = isProxied ? context.proxy.port : context.gateway.port;
  const name = `c${context.nextClientNumber++}`;
  remember(context, `connect ${name}${isProxied ? ' via proxy' : ''}`);
  const client = await SoakClient.connect(port, context.gateway.token);
  client.onEvent((event) => {
    if (event.type === 'session.closed' && event.session_id)
      forgetSession(context, event.session_id);
  });
  context.clients.push({ name, client, isProxied });
}

function withSession(
  label: string,
  run: (context: SoakContext, slot: ClientSlot, session: KnownSession) => Promise<unknown>,
) {
  return async (context: SoakContext): Promise<void> => {
    const slot = pickClient(context);
    const session = pickSession(context);
    remember(context, `${label} ${session.id.slice(0, 8)} by ${slot.name}`);
    try {
      await run(context, slot, session);
    } catch (error) {
      // 4001: the session is gone (reaped, closed by another op); stop targeting it.
      if ((error as { code?: number }).code === 4001) forgetSession(context, session.id);
      throw error;
    }
  };
}

async function create(context: SoakContext): Promise<void> {
  const slot = pickClient(context);
  const hasPty = context.prng.chance(0.5);
  const closeOnDisconnect = context.prng.chance(0.25);
  remember(context, `create by ${slot.name} pty=${hasPty} cod=${closeOnDisconnect}`);
  const { session } = await slot.client.request<{ session: { session_id: string } }>(
    'session.create',
    {
      title: 'soak',
      close_on_disconnect: closeOnDisconnect,
      ...(hasPty ? { pty: { cols: 80, rows: 24 } } : {}),
    },
  );
  context.sessions.set(session.session_id, {
    id: session.session_id,
    hasPty,
    closeOnDisconnect,
    ptySocket: null,
  });
}

function ptySocket(context: SoakContext, session: KnownSession): Promise<WebSocket> {
  if (session.ptySocket && session.ptySocket.readyState === WebSocket.OPEN)
    return Promise.resolve(session.ptySocket);
  const { port, token } = context.gateway;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/pty/${session.id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  session.ptySocket = socket;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('pty socket did not open in time'));
    }, 10_000);
    socket.on('error', () => {
      // 'close' follows; a refused or closed stream is an ordinary outcome here.
    });
    socket.once('message', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('close', (code) => {
      clearTimeout(timer);
      if (session.ptySocket === socket) session.ptySocket = null;
      reject(Object.assign(new Error(`pty socket closed with ${code}`), { code: `pty${code}` }));
    });
  });
}

async function killWorkerOf(context: SoakContext, session: KnownSession): Promise<boolean> {
  const worker = findWorker(
    await markedProcesses(context.gateway.instanceId),
    session.id,
    context.gateway.pid,
  );
  if (!worker) return false;
  try {
    process.kill(worker.pid, 'SIGKILL');
    countFault(context, 'workerKilled');
    return true;
  } catch {
    // It exited between the scan and the kill: nothing left to fault.
    return false;
  }
}

function dropClient(context: SoakContext, slot: ClientSlot, how: 'close' | 'vanish'): void {
  forgetClient(context, slot);
  if (how === 'close') slot.client.close();
  else slot.client.vanish();
}

export const OPERATIONS: Record<OperationKind, (context: SoakContext) => Promise<unknown>> = {
  connect,
  async disconnect(context) {
    const slot = pickClient(context);
    remember(context, `disconnect ${slot.name}`);
    dropClient(context, slot, 'close');
  },
  async vanish(context) {
    const slot = pickClient(context);
    remember(context, `vanish ${slot.name}`);
    countFault(context, 'clientVanished');
    dropClient(context, slot, 'vanish');
  },
  async halfOpen(context) {
    const slot = [...context.clients].reverse().find((candidate) => candidate.isProxied);
    if (!slot) return;
    remember(context, `half-open ${slot.name}`);
    // The newest proxied link is this client's (clients connect one at a time).
    if (context.proxy.blackholeNewest()) countFault(context, 'halfOpen');
    forgetClient(context, slot);
  },
  create,
  async resume(context) {
    const slot = pickClient(context);
    const sessionId = context.prng.pick(context.closedIds)!;
    remember(context, `resume ${sessionId.slice(0, 8)} by ${slot.name}`);
    const { session } = await slot.client.request<{ session: { session_id: string } }>(
      'session.resume',
      {
        session_id: sessionId,
      },
    );
    context.closedIds = context.closedIds.filter((id) => id !== sessionId);
    context.sessions.set(session.session_id, {
      id: session.session_id,
      hasPty: false,
      closeOnDisconnect: false,
      ptySocket: null,
    });
  },
  attach: withSession('attach', (_context, slot, session) =>
    slot.client.request('session.attach', { session_id: session.id }),
  ),
  detach: withSession('detach', (_context, slot, session) =>
    slot.client.request('session.detach', { session_id: session.id }),
  ),
  promptShort: withSession('prompt.short', (context, slot, session) =>
    slot.client.request('prompt.submit', {
      session_id: session.id,
      text: context.prng.pick(SHORT_COMMANDS)!,
    }),
  ),
  promptFork: withSession('prompt.fork', (context, slot, session) =>
    slot.client.request('prompt.submit', {
      session_id: session.id,
      text: context.prng.pick(FORK_COMMANDS)!,
    }),
  ),
  promptLong: withSession('prompt.long', (_context, slot, session) =>
    slot.client.request('prompt.submit', { session_id: session.id, text: 'sleep 5' }),
  ),
  slash: withSession('slash', (context, slot, session) =>
    slot.client.request('slash.exec', {
      session_id: session.id,
      command: context.prng.pick(SLASH_COMMANDS)!,
    }),
  ),
  ptyInput: withSession('pty.input', async (context, _slot, session) => {
    const input = context.prng.pick(PTY_INPUTS)!;
    const socket = await ptySocket(context, session);
    socket.send(Buffer.from(input));
    if (context.prng.chance(0.2)) socket.terminate();
  }),
  ptyOpen: withSession('pty.open', (_context, slot, session) =>
    slot.client.request('pty.open', { session_id: session.id, cols: 100, rows: 30 }),
  ),
  close: withSession('close', async (context, slot, session) => {
    await slot.client.request('session.close', { session_id: session.id });
    forgetSession(context, session.id);
  }),
  interrupt: withSession('interrupt', async (context, slot, session) => {
    countFault(context, 'interrupt');
    await slot.client.request('session.interrupt', { session_id: session.id });
  }),
  killWorker: withSession('kill-worker', (context, _slot, session) =>
    killWorkerOf(context, session),
  ),
  async storeHiccup(context) {
    const holdMs = context.prng.int(50, 400);
    remember(context, `store-hiccup ${holdMs} ms`);
    countFault(context, 'storeHiccup');
    // Not awaited: the lock is held while later operations run into it.
    void context.hiccup!.hold(holdMs);
  },
  burst: withSession('burst', async (context, slot, session) => {
    // Several triggers in one tick: close, worker death, interrupt and the client vanishing.
    countFault(context, 'burst');
    const calls: Array<Promise<unknown>> = [
      slot.client.request('session.close', { session_id: session.id }),
      slot.client.request('session.interrupt', { session_id: session.id }),
      killWorkerOf(context, session),
    ];
    if (context.prng.chance(0.5) && context.clients.length > 1) dropClient(context, slot, 'vanish');
    const results = await Promise.allSettled(calls);
    forgetSession(context, session.id);
    const failed = results.find(
      (result): result is PromiseRejectedResult =>
        result.status === 'rejected' && !isExpected(result.reason),
    );
    if (failed) throw failed.reason;
  }),
};

/** Error codes a correct gateway answers under this load. */
const EXPECTED_CODES = new Set<number | string>([
  4001, // session gone (reaped or closed by another operation)
  4009, // a turn is running
  4040, // the unknown slash command the soak sends on purpose
  4100, // terminal not open or exited
  5030, // worker failed (crashed, or restart limit reached after kills)
  5032, // spawn failed: the soak killed the worker before it was ready
  -1, // our client went away (vanish, half-open) while the call was in flight
  'pty4404',
  'pty4409',
  'pty4410',
  'pty1006',
  'pty1005',
]);

export function isExpected(error: unknown): boolean {
  const code = (error as { code?: number | string }).code;
  return code !== undefined && EXPECTED_CODES.has(code);
}

export function errorKind(error: unknown): string {
  const code = (error as { code?: number | string }).code;
  return code === undefined ? `exception:${(error as Error).message}` : String(code);
}
