// The browser test: Chromium (Debian's, headless, driven by playwright-core) runs the library against
// the real sealnet-server over WSS, sharing a room with a native C player (test/native_player.c) that
// connects over UDP or TCP. Events go both ways, the 21 values of tests/cross/README.md are checked
// by type on both sides, and edge values of every type make a round trip browser -> C -> browser.
//
// Run by scripts/web-test.sh inside scripts/with-server.sh, which provides:
//   SEALNET_SERVER_WSS_URL          wss://127.0.0.1:PORT/ (required)
//   SEALNET_SERVER_WSS_FINGERPRINT  hex SHA-256 of the server's certificate (DER), checked first
//   SEALNET_SERVER_ADDR, SEALNET_SERVER_UDP_ADDR   for the native player
//   SEALNET_TEST_CONNECTION_TOKEN, SEALNET_TEST_NICKNAME   a backend guest (with --backend)
// and web-test.sh adds SEALNET_WEB_NATIVE_PLAYER (the compiled C player) and CHROMIUM (its path).
// SEALNET_WEB_CERT_MODE=spki makes the browser trust exactly the server's key
// (--ignore-certificate-errors-spki-list) instead of ignoring certificate errors in the context.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

import { chromium } from 'playwright-core';

import { startServer } from '../scripts/serve.mjs';

const STEP_MS = 20_000;
const TOTAL_MS = 90_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this test through scripts/with-server.sh (a server with its WSS listener) and scripts/web-test.sh`);
  }
  return value;
}

function within(promise, what, ms = STEP_MS) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The certificate the WSS listener presents, read without trusting it, checked against the
 * fingerprint the server printed; returns what Chromium's SPKI list takes (base64 SHA-256 of the key).
 */
async function serverCertificate(url, fingerprint) {
  // A plain ws:// listener (behind a proxy that terminates TLS) has no certificate to check.
  if (url.startsWith('ws://')) return undefined;
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const der = await within(
    new Promise((resolve, reject) => {
      const socket = tlsConnect({ host, port: Number(port), rejectUnauthorized: false, servername: /^[\d.:]+$/.test(host) ? undefined : host }, () => {
        const raw = socket.getPeerCertificate(false).raw;
        socket.end();
        resolve(raw);
      });
      socket.once('error', reject);
    }),
    'TLS handshake with the WSS listener',
  );
  const actual = createHash('sha256').update(der).digest('hex');
  if (fingerprint) {
    assert.equal(actual, fingerprint.replace(/[:\s]/g, '').toLowerCase(), 'the WSS listener presents the certificate the server printed');
  }
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Lines of a child's standard output, with waits for the next matching one. */
function lineReader(stream, label) {
  const lines = [];
  const waiters = [];
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    rest += chunk;
    let at;
    while ((at = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, at);
      rest = rest.slice(at + 1);
      console.log(`[${label}] ${line}`);
      const waiter = waiters.findIndex((w) => w.pattern.test(line));
      if (waiter >= 0) waiters.splice(waiter, 1)[0].resolve(line);
      else lines.push(line);
    }
  });
  return {
    next(pattern, what) {
      const at = lines.findIndex((line) => pattern.test(line));
      if (at >= 0) return Promise.resolve(lines.splice(at, 1)[0]);
      return within(new Promise((resolve) => waiters.push({ pattern, resolve })), what);
    },
  };
}

/**
 * Debian's Chromium, headless, on a fresh profile, with `base`'s test page open. Trusts the server's
 * certificate by ignoring certificate errors in the context, or by the SPKI list when `spki` is given,
 * or not at all.
 */
async function openPage(cleanups, base, { spki, ignoreHTTPSErrors }) {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const profile = await mkdtemp(join(tmpdir(), 'sealnet-chromium-'));
  cleanups.push(() => rm(profile, { recursive: true, force: true }));
  // Root needs --no-sandbox; the rest keep a machine without internet access from waiting on it.
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  if (spki) args.push(`--ignore-certificate-errors-spki-list=${spki}`);
  // A persistent context over a fresh directory is how playwright takes --user-data-dir (it refuses
  // the flag in launch()), so the profile is new and known, and removed afterwards.
  const context = await within(
    chromium.launchPersistentContext(profile, { executablePath, headless: true, args, ignoreHTTPSErrors }),
    'Chromium start',
  );
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('console', (message) => console.log(`[browser] ${message.text()}`));
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${base}test/page.html`);
  return { page, pageErrors };
}

/** One game: the native player over `transport`, the browser over WSS, in a room of their own. */
async function play(t, transport) {
  const url = required('SEALNET_SERVER_WSS_URL');
  const player = required('SEALNET_WEB_NATIVE_PLAYER');
  const spki = await serverCertificate(url, process.env.SEALNET_SERVER_WSS_FINGERPRINT);
  const pinKey = process.env.SEALNET_WEB_CERT_MODE === 'spki';
  if (pinKey && !spki) throw new Error('SEALNET_WEB_CERT_MODE=spki needs a wss:// listener');
  t.diagnostic(`WSS listener at ${url}; the browser ${pinKey ? `trusts exactly the key ${spki}` : 'ignores certificate errors (ignoreHTTPSErrors)'}`);

  const cleanups = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(`cleanup: ${error}`));
  });

  const { server, url: base } = await startServer();
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));

  // The native player joins first; the browser then joins the same room.
  const room = `web-test-${transport}-${process.pid}-${Date.now().toString(36)}`;
  const native = spawn(player, ['--room', room, '--transport', transport], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => native.once('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(async () => {
    if (native.exitCode === null && native.signalCode === null) {
      native.kill('SIGTERM');
      await exited;
    }
  });
  native.stderr.setEncoding('utf8');
  native.stderr.on('data', (chunk) => process.stderr.write(`[native] ${chunk}`));
  const nativeOut = lineReader(native.stdout, 'native');
  const joined = await Promise.race([
    nativeOut.next(/^joined \d+$/, 'native player in the room'),
    exited.then(({ code }) => Promise.reject(new Error(`the native player exited (${code}) before joining`))),
  ]);
  const nativeActor = Number(joined.split(' ')[1]);

  const { page, pageErrors } = await openPage(cleanups, base, { spki: pinKey ? spki : undefined, ignoreHTTPSErrors: !pinKey });

  const config = {
    url,
    room,
    nativeActor,
    connectionToken: process.env.SEALNET_TEST_CONNECTION_TOKEN ?? '',
    nickname: process.env.SEALNET_TEST_NICKNAME ?? '',
  };
  // The native player exits 0 once it has left, while the browser goes on; a failure ends the game
  // at once instead of leaving the browser waiting for its next message.
  const nativeFailed = exited.then(({ code, signal }) =>
    code === 0 ? new Promise(() => {}) : Promise.reject(new Error(`the native player failed (exit ${code ?? signal}); its output is above`)),
  );
  const report = await within(
    Promise.race([page.evaluate(async (config) => (await import('/dist/test/browser_player.js')).run(config), config), nativeFailed]),
    'end of the browser player',
    TOTAL_MS - 15_000,
  );

  // What the native player saw of the browser, then its clean exit.
  const browserActor = report.actor;
  await nativeOut.next(new RegExp(`^peer ${browserActor}$`), 'native player seeing the browser join');
  await nativeOut.next(new RegExp(`^ok: 21 values from actor ${browserActor}$`), 'native check of the browser\'s 21 values');
  await nativeOut.next(/^echoed 1$/, 'native echo');
  await nativeOut.next(new RegExp(`^chat ${browserActor} \\(plain\\): hello from the browser$`), 'native player reading the browser\'s chat line, sent plain');
  await nativeOut.next(/^left$/, 'native player leaving');
  assert.deepEqual(await within(exited, 'native player exit'), { code: 0, signal: null });

  assert.deepEqual(pageErrors, []);
  assert.deepEqual(report.typesFromNative, [
    '1:UInt8', '2:Int16', '3:Int32', '4:Int64', '5:Float32', '6:Float64', '7:Bool', '8:Str', '9:Bytes',
    '10:ShortArray', '11:IntArray', '12:LongArray', '13:FloatArray', '14:DoubleArray', '15:BoolArray',
    '16:StringArray', '17:List', '18:Table', '19:Custom', '20:Dict', '21:Null',
  ]);
  assert.equal(report.nativeChat, 'native: hello from C');
  assert.ok(report.roundTripTime !== undefined && report.roundTripTime >= 0, 'a Pong arrived');
  assert.ok(report.serverTimeMs !== undefined && report.serverTimeMs >= 0, 'the server clock is known');
  assert.deepEqual(report.refusedStatuses, [[1043, 7], [1025, 7]]);
  const codes = report.statuses.map(([code, reason]) => [code, reason]);
  assert.deepEqual(codes, [[1024, 0], [1048, 0], [1025, 1]], 'the browser player\'s statuses');
  if (config.connectionToken) {
    assert.match(report.authenticated, new RegExp(`^${config.nickname} \\(`));
    assert.deepEqual(report.tokenAuthStatuses, [1024, 1048, 1025]);
  } else {
    t.diagnostic('no backend guest (SEALNET_TEST_CONNECTION_TOKEN): authentication was not exercised');
  }
  t.diagnostic(`browser actor ${browserActor}, native actor ${nativeActor}; echo of ${report.echoedBytes} bytes; rtt ${report.roundTripTime} ms; authenticated as ${report.authenticated}`);
}

// UDP and TCP players share rooms with WSS players: one game over each.
for (const transport of ['udp', 'tcp']) {
  test(`a browser player over WSS and a native C player over ${transport.toUpperCase()} share a room`, { timeout: TOTAL_MS }, async (t) => {
    if (transport === 'udp' && !process.env.SEALNET_SERVER_UDP_ADDR) {
      t.skip('the server has no UDP listener (SEALNET_SERVER_UDP_ADDR is empty)');
      return;
    }
    await play(t, transport);
  });
}

test('a browser that does not trust the certificate reports ExceptionOnConnect, then Disconnect', { timeout: TOTAL_MS }, async (t) => {
  const url = required('SEALNET_SERVER_WSS_URL');
  if (url.startsWith('ws://')) {
    t.skip('a plain ws:// listener has no certificate');
    return;
  }
  const cleanups = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(`cleanup: ${error}`));
  });
  const { server, url: base } = await startServer();
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const { page } = await openPage(cleanups, base, { spki: undefined, ignoreHTTPSErrors: false });
  const outcome = await within(
    page.evaluate(async (url) => {
      const { SealnetClient } = await import('/dist/src/index.js');
      const client = new SealnetClient();
      const statuses = [];
      client.onStatus = (code, reason) => statuses.push([code, reason]);
      const error = await client.connect(url, { appId: 'demo' }).then(() => null, (error) => ({ name: error.name, status: error.status }));
      await client.disconnect();
      return { error, statuses };
    }, url),
    'refusal of the untrusted certificate',
  );
  assert.deepEqual(outcome, { error: { name: 'ConnectError', status: 1023 }, statuses: [[1023, 0], [1025, 0]] });
});
