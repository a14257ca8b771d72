#!/usr/bin/env node
// A tiny static file server for the demo and the browser test: serves bindings/web (the compiled
// library in dist/, the demo in demo/) on loopback, with no dependency. Browsers load ES modules only
// over HTTP(S), not from file:// URLs, which is why the demo needs a server at all.
//
//   node scripts/serve.mjs [--port PORT] [--host HOST]     (default 127.0.0.1:8080; port 0 picks one)
//
// It prints "serving http://HOST:PORT/demo/" once it listens. Only GET and HEAD of files under the
// served directory are answered; anything else, and any path that would leave it, is refused.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** The file a URL path names under `root`, or null when the path would leave it. */
function fileFor(root, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const file = normalize(join(root, path));
  return file === root || file.startsWith(root + sep) ? file : null;
}

/**
 * Starts serving `root` (bindings/web by default) on `host`:`port` and resolves with the server and
 * its base URL once it listens.
 */
export function startServer({ root = ROOT, host = '127.0.0.1', port = 0 } = {}) {
  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let file = fileFor(root, request.url ?? '/');
    if (!file) {
      response.writeHead(403).end('forbidden\n');
      return;
    }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      response.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        // Always the files on disk: a rebuilt library must not be shadowed by a cached one.
        'Cache-Control': 'no-store',
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch {
      response.writeHead(404).end('not found\n');
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolvePromise({ server, url: `http://${shown}:${address.port}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
  };
  const { url } = await startServer({ host: option('--host', '127.0.0.1'), port: Number(option('--port', '8080')) });
  console.log(`serving ${url}demo/`);
}
