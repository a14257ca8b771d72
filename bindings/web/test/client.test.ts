/**
 * The client's session against a scripted server: what it sends, the statuses it reports, its timers
 * (on mocked time), and how it ends a connection, for the WSS rules of issue 12.
 */

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';

import {
  Bool,
  Bytes,
  ConnectError,
  DisconnectedError,
  Hashtable,
  Int32,
  Int64,
  IntArray,
  OperationError,
  Params,
  PeerState,
  SealnetClient,
  SendError,
  Str,
  Table,
  UInt8,
  WSS_ENCRYPTION_MESSAGE,
  AuthValuesError,
  decodeParams,
  paramsEqual,
  describeParams,
  type WebSocketLike,
} from '../src/index.js';
import {
  MessageType,
  buildFrame,
  decodeDisconnect,
  decodeOperationRequest,
  decodePing,
  decodePong,
  encodeConnectAck,
  encodeDisconnect,
  encodeEvent,
  encodeOperationResponse,
  encodePing,
  encodePong,
  parseFrame,
  type ConnectAck,
  type Frame,
} from '../src/protocol.js';
import { hex, unhex } from './spec.js';

/** A WebSocket whose far end is the test: it records what the client sends and delivers what the test says. */
class FakeSocket implements WebSocketLike {
  static created: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onerror: WebSocketLike['onerror'] = null;
  onclose: WebSocketLike['onclose'] = null;
  readonly sent: Uint8Array[] = [];
  closeCode: number | undefined;

  constructor(readonly url: string) {
    FakeSocket.created.push(this);
  }
  send(data: Uint8Array): void {
    assert.equal(this.readyState, 1, 'the client sends only on an open socket');
    this.sent.push(data.slice());
  }
  close(code?: number): void {
    if (this.readyState >= 2) return;
    this.closeCode = code;
    this.readyState = 2;
    // A browser reports the close later, never from inside close().
    queueMicrotask(() => this.#closed(code ?? 1005));
  }
  #closed(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  // The server's side.
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(frame: Uint8Array): void {
    this.onmessage?.({ data: frame.slice().buffer });
  }
  deliverText(text: string): void {
    this.onmessage?.({ data: text });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: 'gone' });
  }
  fail(): void {
    this.onerror?.({});
    this.#closed(1006);
  }
  frames(): Frame[] {
    return this.sent.map((bytes) => parseFrame(bytes, bytes[0] as number, 1 << 20));
  }
  lastFrame(): Frame {
    const frames = this.frames();
    return frames[frames.length - 1] as Frame;
  }
}

/** Lets queued microtasks and immediates run (the fake socket's close). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function serverFrame(version: number, type: MessageType, write: Parameters<typeof buildFrame>[4], encrypted = false): Uint8Array {
  return buildFrame(version, type, { encrypted }, 1 << 20, write);
}

const ACCEPT: ConnectAck = { reason: 0, message: '', versions: { min: 4, max: 4, chosen: 4 } };

function connectAck(ack: ConnectAck = ACCEPT): Uint8Array {
  return serverFrame(1, MessageType.ConnectAck, (out) => encodeConnectAck(out, ack));
}

function response(opCode: number, returnCode: number, params: Params, debugMessage = '', encrypted = false): Uint8Array {
  return serverFrame(4, MessageType.OperationResponse, (out) => encodeOperationResponse(out, { opCode, returnCode, debugMessage, params }), encrypted);
}

function event(code: number, sender: number, params: Params, encrypted = false): Uint8Array {
  return serverFrame(4, MessageType.Event, (out) => encodeEvent(out, { code, sender, params }), encrypted);
}

interface Harness {
  client: SealnetClient;
  socket: FakeSocket;
  statuses: Array<[number, number, string]>;
  advance(ms: number): void;
  connected: Promise<void>;
}

/** A client on mocked time, connecting; `accept` makes the server accept it. */
function start(t: TestContext, accept = true): Harness {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 1000;
  FakeSocket.created = [];
  const client = new SealnetClient({ WebSocket: FakeSocket, now: () => clock });
  const statuses: Array<[number, number, string]> = [];
  client.onStatus = (code, reason, message) => statuses.push([code, reason, message]);
  const connected = client.connect('wss://127.0.0.1:4531/', { appId: 'demo', appVersion: '1.0' });
  const socket = FakeSocket.created[0] as FakeSocket;
  socket.open();
  if (accept) socket.deliver(connectAck());
  return {
    client,
    socket,
    statuses,
    connected,
    advance(ms: number) {
      clock += ms;
      t.mock.timers.tick(ms);
    },
  };
}

test('Connect offers versions 4 to 4; acceptance reports Connect then EncryptionEstablished and pings at once', async (t) => {
  const { client, socket, statuses, connected } = start(t, false);
  assert.equal(client.state, PeerState.Connecting);
  assert.equal(socket.binaryType, 'arraybuffer');
  assert.equal(hex(socket.sent[0] as Uint8Array), hex(unhex('01 01 04 00 0000000b', '04 64656d6f 03 312e30 04 04')));
  socket.deliver(connectAck());
  await connected;
  assert.deepEqual(statuses, [
    [1024, 0, 'connected'],
    [1048, 0, WSS_ENCRYPTION_MESSAGE],
  ]);
  assert.equal(client.state, PeerState.Encrypted);
  assert.ok(client.isEncrypted);
  assert.equal(client.protocolVersion, 4);
  const ping = socket.lastFrame();
  assert.equal(hex((socket.sent[1] as Uint8Array).subarray(0, 8)), hex(unhex('04 08 04 00 00000008')), 'a version-4 Ping, unauthenticated');
  assert.equal(decodePing(ping.body), 0n, 'milliseconds since the session started');
});

test('pings every second, answers the server\'s pings, and reads the server clock from Pongs', async (t) => {
  const h = start(t);
  await h.connected;
  const pings = () => h.socket.frames().filter((f) => f.type === MessageType.Ping).length;
  assert.equal(pings(), 1);
  h.advance(999);
  assert.equal(pings(), 1);
  h.advance(1);
  assert.equal(pings(), 2);
  h.socket.deliver(serverFrame(4, MessageType.Pong, (out) => encodePong(out, { echoMs: 1000n, serverTimeMs: 50_000n })));
  // Sent at 1000 ms into the session, answered at 1040: 40 ms round trip, the server at 50 000 + 20.
  h.advance(40);
  h.socket.deliver(serverFrame(4, MessageType.Pong, (out) => encodePong(out, { echoMs: 1000n, serverTimeMs: 50_000n })));
  assert.equal(h.client.roundTripTime, 40);
  assert.equal(h.client.serverTimeMs, 50_020);
  h.advance(100);
  assert.equal(h.client.serverTimeMs, 50_120, 'advanced by the client\'s own clock');
  h.socket.deliver(serverFrame(4, MessageType.Ping, (out) => encodePing(out, 77n)));
  const pong = h.socket.lastFrame();
  assert.equal(pong.type, MessageType.Pong);
  assert.deepEqual(decodePong(pong.body), { echoMs: 77n }, 'a client\'s Pong carries no server time');
});

test('ten seconds without a frame from the server end the connection with TimeoutDisconnect', async (t) => {
  const h = start(t);
  await h.connected;
  h.advance(9000);
  h.socket.deliver(serverFrame(4, MessageType.Pong, (out) => encodePong(out, { echoMs: 0n, serverTimeMs: 0n })));
  h.advance(9999);
  assert.equal(h.client.state, PeerState.Encrypted, 'a frame 9 s in restarted the silence');
  h.advance(1);
  assert.equal(h.client.state, PeerState.Disconnecting);
  const goodbye = h.socket.lastFrame();
  assert.equal(goodbye.type, MessageType.Disconnect);
  assert.equal(decodeDisconnect(goodbye.body).reason, 3);
  await h.client.disconnect();
  assert.deepEqual(h.statuses.slice(2).map(([code, reason]) => [code, reason]), [[1040, 3], [1025, 3]]);
});

test('no ConnectAck within the connect deadline: TimeoutDisconnect', async (t) => {
  const h = start(t, false);
  h.advance(10_000);
  await assert.rejects(h.connected, (error: unknown) => error instanceof ConnectError && error.status === 1040 && error.reason === 3);
  await settle();
  assert.deepEqual(h.statuses.map(([code, reason]) => [code, reason]), [[1040, 3], [1025, 3]]);
  const goodbye = h.socket.lastFrame();
  assert.deepEqual([goodbye.version, goodbye.type, decodeDisconnect(goodbye.body).reason], [1, MessageType.Disconnect, 3], 'before acceptance a frame carries version 1');
});

test('a refusing ConnectAck is reported by its reason, and nothing is sent after it', async (t) => {
  for (const [reason, status] of [[7, 1043], [13, 1042], [3, 1041], [99, 1044]] as const) {
    const h = start(t, false);
    h.socket.deliver(connectAck({ reason, message: 'no', versions: { min: 1, max: 2, chosen: 0 } }));
    await assert.rejects(h.connected, (error: unknown) => error instanceof ConnectError && error.status === status && error.reason === reason);
    await settle();
    assert.deepEqual(h.statuses.map(([code, r]) => [code, r]), [[status, reason], [1025, reason]]);
    assert.equal(h.socket.sent.length, 1, 'only Connect');
    t.mock.timers.reset();
  }
});

test('VersionMismatch names both ranges', async (t) => {
  const h = start(t, false);
  h.socket.deliver(connectAck({ reason: 8, message: '', versions: { min: 1, max: 3, chosen: 0 } }));
  await assert.rejects(h.connected, /the server speaks protocol versions 1 to 3; this client speaks 4 to 4: update the older one/);
});

test('an accepting ConnectAck for another version, or without a range, is a protocol violation', async (t) => {
  for (const ack of [{ reason: 0, message: '', versions: { min: 1, max: 2, chosen: 2 } }, { reason: 0, message: '' }]) {
    const h = start(t, false);
    h.socket.deliver(connectAck(ack));
    await assert.rejects(h.connected, (error: unknown) => error instanceof ConnectError && error.status === 1039 && error.reason === 4);
    const goodbye = h.socket.lastFrame();
    assert.equal(decodeDisconnect(goodbye.body).reason, 4);
    await settle();
    assert.deepEqual(h.statuses.map(([code]) => code), [1039, 1025]);
    t.mock.timers.reset();
  }
});

test('an answer that is not sealnet at all is said to be so', async (t) => {
  const h = start(t, false);
  h.socket.deliver(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await assert.rejects(h.connected, /the server does not speak the sealnet protocol/);
});

test('refused frames end the connection with ExceptionOnReceive and a Disconnect', async (t) => {
  const bad: Array<[string, (s: FakeSocket) => void]> = [
    ['a text message', (s) => s.deliverText('hello')],
    ['an authenticated frame', (s) => s.deliver(unhex('04 08 06 00 00000018', '00'.repeat(24)))],
    ['two frames in one message', (s) => s.deliver(unhex('04 08 04 00 00000008 0000000000000001 04 08 04 00 00000008 0000000000000001'))],
    ['a version-2 frame', (s) => s.deliver(unhex('02 08 04 00 00000008 0000000000000001'))],
    ['a HandshakeReply', (s) => s.deliver(unhex('04 04 04 00 00000000'))],
    ['a Pong without the server time', (s) => s.deliver(unhex('04 09 04 00 00000008 0000000000000001'))],
    ['an event that does not decode', (s) => s.deliver(unhex('04 07 04 00 00000007 01 00000002 01 f5'))],
    ['an unknown value tag', (s) => s.deliver(unhex('04 07 04 00 00000008 01 00000002 01 00 16'))],
  ];
  for (const [what, send] of bad) {
    const h = start(t);
    await h.connected;
    send(h.socket);
    assert.equal(h.client.state, PeerState.Disconnecting, what);
    const goodbye = h.socket.lastFrame();
    assert.deepEqual([goodbye.version, goodbye.type, decodeDisconnect(goodbye.body).reason], [4, MessageType.Disconnect, 4], what);
    await settle();
    assert.deepEqual(h.statuses.slice(2).map(([code, reason]) => [code, reason]), [[1039, 4], [1025, 4]], what);
    t.mock.timers.reset();
  }
});

test('the server\'s Disconnect is reported by its reason; the client does not answer it', async (t) => {
  for (const [reason, status] of [[3, 1041], [13, 1042], [0, 1044], [12, 1043], [2, 1043], [200, 1044]] as const) {
    const h = start(t);
    await h.connected;
    const sent = h.socket.sent.length;
    h.socket.deliver(serverFrame(4, MessageType.Disconnect, (out) => encodeDisconnect(out, { reason, message: 'bye' })));
    await settle();
    assert.equal(h.socket.sent.length, sent, 'no answer');
    assert.deepEqual(h.statuses.slice(2), [[status, reason, 'bye'], [1025, reason, h.statuses[3]?.[2] ?? '']]);
    assert.equal(h.client.state, PeerState.Disconnected);
    t.mock.timers.reset();
  }
});

test('a transport lost without a Disconnect, and a socket that never opens', async (t) => {
  const h = start(t);
  await h.connected;
  h.socket.drop();
  assert.deepEqual(h.statuses.slice(2).map(([code, reason]) => [code, reason]), [[1044, 0], [1025, 0]]);
  t.mock.timers.reset();

  const never = start(t, false);
  const socket = FakeSocket.created[0] as FakeSocket;
  socket.readyState = 0;
  socket.fail();
  await assert.rejects(never.connected, (error: unknown) => error instanceof ConnectError && error.status === 1023);
  await settle();
  assert.deepEqual(never.statuses.map(([code]) => code), [1023, 1025]);
});

test('sendOperation: the frame, the encrypt request, must-encrypt operations, delivery and channel', async (t) => {
  const h = start(t);
  await h.connected;
  h.client.sendOperation(7, new Params([[1, Int32(-1)]]));
  assert.equal(hex(h.socket.sent.at(-1) as Uint8Array), hex(unhex('04 05 04 00 00000005 07 01 01 03 01')));
  h.client.sendOperation(7, { 1: Int32(-1) }, { encrypt: true, channel: 3, delivery: 0 });
  assert.equal(hex((h.socket.sent.at(-1) as Uint8Array).subarray(0, 4)), hex(unhex('04 05 01 03')));
  h.client.sendOperation(230, new Params());
  assert.equal(h.socket.lastFrame().encrypted, true, 'Authenticate is always marked encrypted');
  assert.throws(() => h.client.sendOperation(7, new Params([[1, Str('x'.repeat(70000))]])), (error: unknown) => {
    assert.ok(error instanceof SendError);
    assert.equal((error.cause as { code?: string }).code, 'StringTooLong');
    return true;
  });
  assert.throws(() => h.client.sendOperation(256), RangeError);
});

test('nothing is sent before acceptance or after the end', async (t) => {
  const h = start(t, false);
  assert.throws(() => h.client.sendOperation(1), SendError);
  h.socket.deliver(connectAck());
  await h.connected;
  await h.client.disconnect();
  assert.throws(() => h.client.sendOperation(1), SendError);
});

test('responses are matched to requests in order, per operation code; RaiseEvent waits for none', async (t) => {
  const h = start(t);
  await h.connected;
  const seen: number[] = [];
  h.client.onOperationResponse = (r) => seen.push(r.returnCode);
  const first = h.client.request(9, new Params());
  h.client.sendOperation(9, new Params()); // answered, but awaited by nobody
  const third = h.client.request(9, new Params());
  const other = h.client.request(8, new Params());
  h.client.raiseEvent(1, 'x');
  h.socket.deliver(response(8, 80, new Params()));
  h.socket.deliver(response(9, 1, new Params()));
  h.socket.deliver(response(9, 2, new Params()));
  h.socket.deliver(response(9, 3, new Params([[1, Bool(true)]]), 'third', true));
  assert.equal((await other).returnCode, 80);
  assert.equal((await first).returnCode, 1);
  const answer = await third;
  assert.deepEqual([answer.returnCode, answer.debugMessage, answer.encrypted], [3, 'third', true]);
  assert.deepEqual(seen, [80, 1, 2, 3]);
  await assert.rejects(h.client.request(253, new Params()), TypeError);
});

test('requests still waiting when the connection ends are rejected', async (t) => {
  const h = start(t);
  await h.connected;
  const waiting = h.client.request(9, new Params());
  const closed = h.client.disconnect();
  await assert.rejects(waiting, DisconnectedError);
  await closed;
  const goodbye = h.socket.frames().find((f) => f.type === MessageType.Disconnect) as Frame;
  assert.equal(decodeDisconnect(goodbye.body).reason, 1, 'ClientRequest');
  assert.deepEqual(h.statuses.at(-1)?.slice(0, 2), [1025, 1]);
  assert.equal(h.socket.closeCode, 1000);
});

test('authenticate with a connection token: the request of docs/auth.md and the result', async (t) => {
  const h = start(t);
  await h.connected;
  const result = h.client.authenticate({ connectionToken: new Uint8Array([1, 2, 3]), userId: 'u1', params: { lobby: 'eu' }, authData: new Uint8Array([9]) });
  const sent = h.socket.lastFrame();
  assert.equal(sent.encrypted, true);
  const request = decodeOperationRequest(sent.body);
  assert.equal(request.opCode, 230);
  const expected = new Params([
    [217, UInt8(0)],
    [199, Bytes([1, 2, 3])],
    [225, Str('u1')],
    [216, Table(new Hashtable([[Str('lobby'), Str('eu')]]))],
    [214, Bytes([9])],
  ]);
  assert.ok(paramsEqual(request.params, expected), describeParams(request.params));
  const data = new Hashtable([[Str('level'), Int32(3)]]);
  h.socket.deliver(response(230, 0, new Params([[221, Bytes([7, 7])], [198, Int64(1_700_000_000_000n)], [225, Str('u1')], [202, Str('Ann')], [245, Table(data)]]), '', true));
  const auth = await result;
  assert.deepEqual([auth.userId, auth.nickname, Array.from(auth.token?.bytes ?? []), auth.token?.expiresAtMs], ['u1', 'Ann', [7, 7], 1_700_000_000_000]);
  assert.equal(auth.data?.get('level')?.value, 3);
  assert.equal(h.client.nickname, 'Ann');
});

test('authenticate with a server token sends AuthenticateOnce; a refusal rejects with its return code', async (t) => {
  const h = start(t);
  await h.connected;
  const result = h.client.authenticate({ token: new Uint8Array([5, 5, 5]) });
  const request = decodeOperationRequest(h.socket.lastFrame().body);
  assert.equal(request.opCode, 231);
  assert.ok(paramsEqual(request.params, new Params([[221, Bytes([5, 5, 5])]])));
  h.socket.deliver(response(231, 32753, new Params(), 'the server token is not valid here or has expired; authenticate again'));
  await assert.rejects(result, (error: unknown) => error instanceof OperationError && error.returnCode === 32753 && /expired/.test(error.message));
});

test('authentication values over their limits are refused before anything is sent', async (t) => {
  const h = start(t);
  await h.connected;
  const sent = h.socket.sent.length;
  await assert.rejects(h.client.authenticate({ connectionToken: new Uint8Array(129) }), (error: unknown) => error instanceof AuthValuesError && /129 bytes; the limit is 128/.test(error.message));
  await assert.rejects(h.client.authenticate({ token: new Uint8Array(0) }), AuthValuesError);
  await assert.rejects(h.client.authenticate({ params: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }), AuthValuesError);
  await assert.rejects(h.client.authenticate({ authData: new Uint8Array(1025) }), AuthValuesError);
  assert.equal(h.socket.sent.length, sent);
});

test('rooms: join, the members from Join and Leave events, a refreshed token, raise and leave', async (t) => {
  const h = start(t);
  await h.connected;
  const events: number[] = [];
  h.client.onEvent = (e) => events.push(e.code);
  const joined = h.client.joinRoom('lobby', { createIfMissing: true, maxPlayers: 4, isOpen: true });
  const join = decodeOperationRequest(h.socket.lastFrame().body);
  assert.equal(join.opCode, 226);
  assert.equal(h.socket.lastFrame().encrypted, true, 'joins ask for encryption, so a fresh token comes in the response');
  assert.ok(paramsEqual(join.params, new Params([
    [255, Str('lobby')],
    [215, UInt8(1)],
    [248, Table(new Hashtable([[UInt8(255), UInt8(4)], [UInt8(253), Bool(true)]]))],
  ])), describeParams(join.params));
  h.socket.deliver(response(226, 0, new Params([[255, Str('lobby')], [254, Int32(2)], [252, IntArray([1, 2])], [221, Bytes([1])], [198, Int64(5n)]]), '', true));
  assert.deepEqual(await joined, { name: 'lobby', actorNumber: 2, actors: [1, 2] });
  assert.deepEqual(Array.from(h.client.serverToken?.bytes ?? []), [1]);
  h.socket.deliver(event(255, 3, new Params([[254, Int32(3)], [252, IntArray([1, 2, 3])]])));
  assert.deepEqual(h.client.room?.actors, [1, 2, 3]);
  h.socket.deliver(event(254, 1, new Params([[254, Int32(1)], [252, IntArray([2, 3])]])));
  assert.deepEqual(h.client.room?.actors, [2, 3]);
  h.socket.deliver(event(223, 0, new Params([[221, Bytes([2])], [198, Int64(6n)]])));
  assert.deepEqual([Array.from(h.client.serverToken?.bytes ?? []), h.client.serverToken?.expiresAtMs], [[2], 6]);
  assert.deepEqual(events, [255, 254, 223], 'the client keeps its state and still hands every event on');

  h.client.raiseEvent(5, { hp: 3 }, { receivers: 'all', encrypt: true });
  const raise = h.socket.lastFrame();
  assert.equal(raise.encrypted, true);
  const raised = decodeOperationRequest(raise.body);
  assert.equal(raised.opCode, 253);
  assert.ok(paramsEqual(raised.params, new Params([[244, Int32(5)], [245, Table(new Hashtable([[Str('hp'), Int32(3)]]))], [246, Int32(1)]])));
  assert.throws(() => h.client.raiseEvent(200), RangeError);

  const left = h.client.leaveRoom();
  assert.equal(decodeOperationRequest(h.socket.lastFrame().body).opCode, 254);
  h.socket.deliver(response(254, 0, new Params()));
  await left;
  assert.equal(h.client.room, undefined);

  const refused = h.client.joinRoom('full');
  h.socket.deliver(response(226, 32765, new Params(), 'room full'));
  await assert.rejects(refused, (error: unknown) => error instanceof OperationError && error.returnCode === 32765);
});

test('events carry their sender, parameters and the encrypted flag', async (t) => {
  const h = start(t);
  await h.connected;
  const got: Array<[number, number, boolean, string]> = [];
  h.client.onEvent = (e) => got.push([e.code, e.sender, e.encrypted, describeParams(e.params)]);
  h.socket.deliver(event(1, 2, new Params([[245, Int32(-1)]]), true));
  assert.deepEqual(got, [[1, 2, true, '{245: Int32(-1)}']]);
  assert.ok(paramsEqual(decodeParams(unhex('01 f5 03 01')), new Params([[245, Int32(-1)]])));
});

test('an exception in an application callback does not break the session', async (t) => {
  const h = start(t);
  await h.connected;
  const reported: unknown[] = [];
  const global = globalThis as { reportError?: (error: unknown) => void };
  global.reportError = (error) => reported.push(error);
  t.after(() => delete global.reportError);
  let calls = 0;
  h.client.onEvent = () => {
    calls++;
    throw new Error('game bug');
  };
  h.socket.deliver(event(1, 2, new Params()));
  h.socket.deliver(event(1, 2, new Params()));
  assert.equal(h.client.state, PeerState.Encrypted);
  assert.equal(calls, 2, 'the next event is still delivered');
  assert.deepEqual(reported.map(String), ['Error: game bug', 'Error: game bug']);
});

test('a URL the WebSocket refuses reports ServerAddressInvalid, then Disconnect', async () => {
  class Refusing extends FakeSocket {
    constructor(url: string) {
      super(url);
      throw new SyntaxError('invalid port');
    }
  }
  const client = new SealnetClient({ WebSocket: Refusing });
  const statuses: number[] = [];
  client.onStatus = (code) => statuses.push(code);
  await assert.rejects(client.connect('wss://host:99999/', { appId: 'demo' }), (error: unknown) => error instanceof ConnectError && error.status === 1050 && /invalid port/.test(error.message));
  assert.deepEqual(statuses, [1050, 1025]);
  assert.equal(client.state, PeerState.Disconnected);
  await assert.rejects(client.connect('http://host/', { appId: 'demo' }), /not a WebSocket URL/);
  await assert.rejects(client.connect('wss://host/', { appId: '' }), /empty app id/);
});
