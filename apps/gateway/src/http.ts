import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tokenFromRequest, tokensEqual } from '@tether/ws-transport';
import type { Registry } from 'prom-client';

const require = createRequire(import.meta.url);
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** Static files of the web page; the xterm files come from the installed package. */
const ASSETS: Record<string, { path: string; type: string }> = {
  '/assets/xterm.js': {
    path: require.resolve('@xterm/xterm/lib/xterm.js'),
    type: 'text/javascript',
  },
  '/assets/xterm.css': { path: require.resolve('@xterm/xterm/css/xterm.css'), type: 'text/css' },
  '/assets/app.js': { path: `${PUBLIC_DIR}app.js`, type: 'text/javascript' },
};

export interface HttpDeps {
  token: string;
  metrics: Registry;
  health: () => Record<string, unknown>;
}

/** Static files are read once: they do not change while the gateway runs. */
const fileCache = new Map<string, Promise<Buffer>>();
function readStatic(path: string): Promise<Buffer> {
  let file = fileCache.get(path);
  if (!file) {
    file = readFile(path);
    fileCache.set(path, file);
    file.catch(() => fileCache.delete(path));
  }
  return file;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** `/healthz` (open), `/metrics` and `/` (token), the page's assets (open: no secrets). */
export function createHttpHandler(deps: HttpDeps) {
  const isAuthorised = (req: IncomingMessage) => {
    const token = tokenFromRequest(req);
    return token !== null && tokensEqual(token, deps.token);
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'application/json', JSON.stringify(deps.health()));
      return;
    }
    const asset = ASSETS[path];
    if (asset) {
      send(res, 200, asset.type, await readStatic(asset.path));
      return;
    }
    if (path !== '/metrics' && path !== '/') {
      send(res, 404, 'text/plain', 'not found\n');
      return;
    }
    if (!isAuthorised(req)) {
      send(
        res,
        401,
        'text/plain',
        'unauthorised: pass the gateway token as ?token= or a Bearer header\n',
      );
      return;
    }
    if (path === '/metrics') {
      send(res, 200, deps.metrics.contentType, await deps.metrics.metrics());
      return;
    }
    send(res, 200, 'text/html; charset=utf-8', await readStatic(`${PUBLIC_DIR}index.html`));
  };
}
