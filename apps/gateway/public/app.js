// The web terminal: a session list over /rpc and an xterm attached to /pty/<id>, which
// re-attaches from its last offset when the socket drops, so nothing is lost or repeated.
const token = new URLSearchParams(location.search).get('token') ?? '';
const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const statusLine = document.getElementById('status');
const list = document.getElementById('sessions');
const footer = document.getElementById('footer');
const term = new Terminal({ cols: 100, rows: 30, convertEol: false });
term.open(document.getElementById('terminal'));

let rpc;
let nextId = 1;
const pending = new Map();
let sessions = [];
let current = null;
let pty = null;
let ptyOffset = 0;
let pollTimer = null;
// session.status and session.closed reach only clients attached to that session, so sessions
// other clients create or close show up through this poll.
const LIST_POLL_MS = 2000;

function request(method, params = {}) {
  if (!rpc || rpc.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
  const id = nextId++;
  rpc.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function render() {
  list.replaceChildren(
    ...sessions.map((s) => {
      const row = document.createElement('div');
      row.textContent = `${s.title} · ${s.status}`;
      row.dataset.sessionId = s.session_id;
      if (s.session_id === current) row.className = 'current';
      row.onclick = () => showSession(s.session_id);
      return row;
    }),
  );
  footer.textContent = `${sessions.length} session${sessions.length === 1 ? '' : 's'}`;
}

async function refresh() {
  try {
    sessions = (await request('session.list')).sessions;
  } catch (error) {
    // The connection dropped mid-request; its onclose reconnects and refreshes again.
    console.warn('session.list failed', error);
    return;
  }
  if (current !== null && !sessions.some((s) => s.session_id === current)) {
    // Closed elsewhere (or expired): stop pointing the terminal at it.
    current = null;
    if (pty) ((pty.onclose = null), pty.close(), (pty = null));
    statusLine.textContent = 'session closed';
  }
  render();
}

function stopPolling() {
  if (pollTimer !== null) clearInterval(pollTimer);
  pollTimer = null;
}

function connectRpc() {
  rpc = new WebSocket(`${wsBase}/rpc?token=${encodeURIComponent(token)}`);
  rpc.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.method === 'event') {
      const event = frame.params;
      if (event.type === 'gateway.ready') {
        statusLine.textContent = 'connected';
        stopPolling();
        pollTimer = setInterval(refresh, LIST_POLL_MS);
        // A new connection holds no attachment: take the shown session back, if it is still there.
        refresh().then(() => current !== null && showSession(current));
      } else if (event.type === 'session.status' || event.type === 'session.closed') {
        refresh();
      }
      return;
    }
    const waiter = pending.get(frame.id);
    if (!waiter) return;
    pending.delete(frame.id);
    if (frame.error) waiter.reject(new Error(frame.error.message));
    else waiter.resolve(frame.result);
  };
  rpc.onclose = () => {
    stopPolling();
    for (const waiter of pending.values()) waiter.reject(new Error('connection closed'));
    pending.clear();
    statusLine.textContent = 'disconnected; retrying…';
    setTimeout(connectRpc, 1000);
  };
}

function showSession(sessionId) {
  select(sessionId).catch((error) => {
    statusLine.textContent = `could not attach: ${error.message}`;
  });
}

async function select(sessionId) {
  const previous = current;
  if (previous !== sessionId) {
    current = sessionId;
    ptyOffset = 0;
    term.reset();
  }
  if (previous !== null && previous !== sessionId) {
    // Leaving a session lets it go detached (and its grace start) instead of holding every
    // session this page ever showed.
    request('session.detach', { session_id: previous }).catch((error) => {
      console.warn('session.detach failed (already closed?)', error);
    });
  }
  const { session } = await request('session.attach', { session_id: sessionId });
  if (!session.pty)
    await request('pty.open', { session_id: sessionId, cols: term.cols, rows: term.rows });
  render();
  openPty();
}

function openPty() {
  if (pty) ((pty.onclose = null), pty.close());
  const sessionId = current;
  const socket = new WebSocket(
    `${wsBase}/pty/${encodeURIComponent(sessionId)}?token=${encodeURIComponent(token)}&offset=${ptyOffset}`,
  );
  socket.binaryType = 'arraybuffer';
  pty = socket;
  socket.onmessage = (message) => {
    if (typeof message.data === 'string') {
      const control = JSON.parse(message.data);
      if (control.type === 'hello') {
        if (control.truncated) term.write('\r\n[earlier output was dropped]\r\n');
        ptyOffset = control.offset;
        statusLine.textContent = `attached to ${sessionId}`;
      }
      return;
    }
    const bytes = new Uint8Array(message.data);
    ptyOffset += bytes.length;
    term.write(bytes);
  };
  socket.onclose = (event) => {
    if (pty !== socket) return;
    pty = null;
    if (event.code === 4410) statusLine.textContent = 'terminal exited';
    else if (event.code === 4409 || event.code === 4404) statusLine.textContent = 'session closed';
    else setTimeout(() => current === sessionId && openPty(), 500);
  };
}

term.onData((data) => {
  if (pty && pty.readyState === WebSocket.OPEN) pty.send(new TextEncoder().encode(data));
});
term.onResize(({ cols, rows }) => {
  if (pty && pty.readyState === WebSocket.OPEN)
    pty.send(JSON.stringify({ type: 'resize', cols, rows }));
});

document.getElementById('new').onclick = async () => {
  const { session } = await request('session.create', {
    title: `web ${sessions.length + 1}`,
    pty: { cols: term.cols, rows: term.rows },
  });
  await refresh();
  await select(session.session_id);
  term.focus();
};

connectRpc();
