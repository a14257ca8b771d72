/**
 * The frame and parameter vectors of docs/protocol.md (section 12, and the examples of sections 3 and
 * 4 they build on), computed with this library's encoders and read back with its decoders. Each
 * documented hex block must also still stand in the document, so neither side can change alone. The
 * Noise vectors of section 12 (keys, handshake, sealed frames) do not apply to WSS, where no key
 * exchange runs; of those frames the plaintext bodies are checked.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Bool,
  BoolArray,
  Bytes,
  Custom,
  Dict,
  DoubleArray,
  Float32,
  Float64,
  FloatArray,
  Hashtable,
  Int16,
  Int32,
  Int64,
  IntArray,
  List,
  LongArray,
  Null,
  Params,
  ShortArray,
  Str,
  StringArray,
  Table,
  UInt8,
  Writer,
  decodeParams,
  encodeParams,
  paramsEqual,
  describeParams,
  CodecError,
  DEFAULT_LIMITS,
} from '../src/index.js';
import {
  MessageType,
  buildFrame,
  decodeConnect,
  decodeConnectAck,
  decodeDisconnect,
  decodeEvent,
  decodeOperationRequest,
  decodeOperationResponse,
  decodePing,
  decodePong,
  encodeConnect,
  encodeConnectAck,
  encodeDisconnect,
  encodeEvent,
  encodeOperationRequest,
  encodeOperationResponse,
  encodePing,
  encodePong,
  parseFrame,
} from '../src/protocol.js';
import { DocSection, hex, unhex } from './spec.js';

function body(write: (out: Writer) => void): Uint8Array {
  const out = new Writer();
  write(out);
  return out.finish();
}

function assertBytes(computed: Uint8Array, documented: Uint8Array, what: string): void {
  assert.equal(hex(computed), hex(documented), `${what}: the library computes ${hex(computed)}, the document says ${hex(documented)}`);
}

/** `rows` must be a code block of `section` and equal `computed`. */
function documentedBlock(section: DocSection, what: string, rows: string[], computed: Uint8Array, annotatedWithNumbers = false): void {
  assertBytes(computed, unhex(...rows), what);
  assert.ok(section.hasBlock(rows, annotatedWithNumbers), `${section.heading}, ${what}: no code block there reads\n  ${rows.join('\n  ')}`);
}

/** `row` must be a line of some block of `section` and equal `computed`. */
function documentedLine(section: DocSection, what: string, row: string, computed: Uint8Array): void {
  assertBytes(computed, unhex(row), what);
  assert.ok(section.hasLine(row), `${section.heading}, ${what}: no code block line holds ${row}`);
}

/** `quoted` must be quoted in the prose of `section` (as `` `01 02` ``) and equal `computed`. */
function documentedQuote(section: DocSection, what: string, quoted: string, computed: Uint8Array): void {
  assertBytes(computed, unhex(quoted), what);
  assert.ok(section.mentions(`\`${quoted}\``), `${section.heading}, ${what}: the prose does not quote \`${quoted}\``);
}

function clearFrame(version: number, type: MessageType, write: (out: Writer) => void): Uint8Array {
  return buildFrame(version, type, {}, 1 << 19, write);
}

test('12.2: the Connect and ConnectAck frames of a version-1 connection', () => {
  const section = new DocSection('### 12.2 ', '### ');
  const connect = clearFrame(1, MessageType.Connect, (out) => encodeConnect(out, { appId: 'demo', clientVersion: '1.0' }));
  documentedBlock(section, 'Connect', ['01 01 04 00 00000009', '04 64656d6f 03 312e30'], connect);
  const ack = clearFrame(1, MessageType.ConnectAck, (out) => encodeConnectAck(out, { reason: 0, message: '' }));
  documentedBlock(section, 'ConnectAck', ['01 02 04 00 00000003', '0000 00'], ack);

  const parsed = parseFrame(connect, 1, 4096);
  assert.deepEqual({ type: parsed.type, encrypted: parsed.encrypted, delivery: parsed.delivery, channel: parsed.channel }, { type: MessageType.Connect, encrypted: false, delivery: 1, channel: 0 });
  assert.deepEqual(decodeConnect(parsed.body), { appId: 'demo', clientVersion: '1.0' });
  assert.deepEqual(decodeConnectAck(parseFrame(ack, 1, 4096).body), { reason: 0, message: '' });
});

test('12.6: the Connect and ConnectAck frames of a version-2 connection carry the version ranges', () => {
  const section = new DocSection('### 12.6 ', '### ');
  const connect = clearFrame(1, MessageType.Connect, (out) =>
    encodeConnect(out, { appId: 'demo', clientVersion: '1.0', versions: { min: 1, max: 2 } }),
  );
  documentedBlock(section, 'Connect', ['01 01 04 00 0000000b', '04 64656d6f 03 312e30', '01 02'], connect);
  const ack = clearFrame(1, MessageType.ConnectAck, (out) =>
    encodeConnectAck(out, { reason: 0, message: '', versions: { min: 1, max: 2, chosen: 2 } }),
  );
  documentedBlock(section, 'ConnectAck', ['01 02 04 00 00000006', '0000 00', '01 02 02'], ack);
  assert.deepEqual(decodeConnectAck(parseFrame(ack, 1, 4096).body), { reason: 0, message: '', versions: { min: 1, max: 2, chosen: 2 } });
  assert.deepEqual(decodeConnect(parseFrame(connect, 1, 4096).body).versions, { min: 1, max: 2 });
});

test('12.8: a WSS Connect offers versions 4 to 4, and an event raised with Encrypt has the flag and no counter', () => {
  const section = new DocSection('### 12.8 ', '### ');
  const connect = clearFrame(1, MessageType.Connect, (out) =>
    encodeConnect(out, { appId: 'demo', clientVersion: '1.0', versions: { min: 4, max: 4 } }),
  );
  documentedBlock(section, 'Connect', ['01 01 04 00 0000000b', '04 64656d6f 03 312e30', '04 04'], connect);
  const event = buildFrame(4, MessageType.Event, { encrypted: true }, 1 << 19, (out) =>
    encodeEvent(out, { code: 1, sender: 2, params: new Params([[245, Str('hi')]]) }),
  );
  documentedBlock(section, 'the Event', ['04 07 05 00 0000000b', '01 00000002 01 f5 07 02 6869'], event);
  const parsed = parseFrame(event, 4, 1 << 19);
  assert.equal(parsed.encrypted, true);
  assert.deepEqual(decodeEvent(parsed.body).params, new Params([[245, Str('hi')]]));
});

test('12.5: the plaintext bodies of the transport frames', () => {
  const section = new DocSection('### 12.5 ', '### ');
  const request = body((out) => encodeOperationRequest(out, { opCode: 230, params: new Params([[1, Str('token')]]) }));
  documentedQuote(section, 'the encrypted OperationRequest\'s plaintext', 'e6 01 01 07 05 746f6b656e', request);
  const decoded = decodeOperationRequest(request);
  assert.equal(decoded.opCode, 230);
  assert.ok(paramsEqual(decoded.params, new Params([[1, Str('token')]])));

  documentedLine(section, 'the Ping body', '00000000000003e8', body((out) => encodePing(out, 1000n)));
  assert.equal(decodePing(unhex('00000000000003e8')), 1000n);

  const event = body((out) => encodeEvent(out, { code: 1, sender: 2, params: new Params([[245, Int32(-1)]]) }));
  documentedLine(section, 'the Event body', '01 00000002 01 f5 03 01', event);
  const back = decodeEvent(event);
  assert.deepEqual([back.code, back.sender], [1, 2]);
  assert.ok(paramsEqual(back.params, new Params([[245, Int32(-1)]])));
});

test('12.6: the version-2 plaintext bodies: Short and FloatArray, and the Pong with the server clock', () => {
  const section = new DocSection('### 12.6 ', '### ');
  const params = new Params([[1, Int16(-2)], [2, FloatArray([1.0, 2.0])]]);
  const request = body((out) => encodeOperationRequest(out, { opCode: 7, params }));
  documentedQuote(section, 'the OperationRequest\'s plaintext', '07 02 01 0c 03 02 10 02 0000803f 00000040', request);
  assert.ok(paramsEqual(decodeOperationRequest(request).params, params));

  const pong = body((out) => encodePong(out, { echoMs: 1000n, serverTimeMs: 5000n }));
  documentedLine(section, 'the Pong body', '00000000000003e8 0000000000001388', pong);
  assert.deepEqual(decodePong(pong), { echoMs: 1000n, serverTimeMs: 5000n });
});

test('3.4, 3.5: Connect and ConnectAck body examples', () => {
  const connect = new DocSection('### 3.4 ', '### ');
  documentedQuote(connect, 'Connect', '04 67 61 6d 65 03 31 2e 30', body((out) => encodeConnect(out, { appId: 'game', clientVersion: '1.0' })));
  documentedQuote(connect, 'Connect with versions', '04 67 61 6d 65 03 31 2e 30 01 02', body((out) => encodeConnect(out, { appId: 'game', clientVersion: '1.0', versions: { min: 1, max: 2 } })));
  const ack = new DocSection('### 3.5 ', '### ');
  documentedQuote(ack, 'accepting a version-1 client', '00 00 00', body((out) => encodeConnectAck(out, { reason: 0, message: '' })));
  documentedQuote(ack, 'accepting a version-2 client', '00 00 00 01 02 02', body((out) => encodeConnectAck(out, { reason: 0, message: '', versions: { min: 1, max: 2, chosen: 2 } })));
});

test('3.8 to 3.12: request, response, event and Disconnect examples', () => {
  const one = new Params([[1, Int32(-1)]]);
  const request = body((out) => encodeOperationRequest(out, { opCode: 7, params: one }));
  documentedQuote(new DocSection('### 3.8 ', '### '), 'OperationRequest', '07 01 01 03 01', request);
  const response = body((out) => encodeOperationResponse(out, { opCode: 7, returnCode: -2, debugMessage: 'no', params: one }));
  documentedQuote(new DocSection('### 3.9 ', '### '), 'OperationResponse', '07 ff fe 02 6e 6f 01 01 03 01', response);
  const decoded = decodeOperationResponse(response);
  assert.deepEqual([decoded.opCode, decoded.returnCode, decoded.debugMessage], [7, -2, 'no']);
  const event = body((out) => encodeEvent(out, { code: 3, sender: -2, params: one }));
  documentedQuote(new DocSection('### 3.10 ', '### '), 'Event', '03 ff ff ff fe 01 01 03 01', event);
  assert.equal(decodeEvent(event).sender, -2);
  const disconnect = body((out) => encodeDisconnect(out, { reason: 4, message: '' }));
  documentedQuote(new DocSection('### 3.12 ', '### '), 'Disconnect', '00 04 00', disconnect);
  assert.deepEqual(decodeDisconnect(disconnect), { reason: 4, message: '' });
});

test('4.2: varint examples, and the refused non-canonical form', () => {
  const section = new DocSection('### 4.2 ', '### ');
  for (const [value, quoted] of [[0, '00'], [127, '7f'], [128, '80 01']] as const) {
    documentedQuote(section, `varint ${value}`, quoted, body((out) => out.varint(value)));
  }
  assert.ok(section.mentions('`80 00` is refused'));
  // A Bytes value whose length is the varint 80 00.
  assert.throws(() => decodeParams(unhex('01 00 08 80 00')), (e: unknown) => e instanceof CodecError && e.code === 'NonCanonicalVarint');
});

test('4.7: the version-1 parameter example', () => {
  const section = new DocSection('### 4.7 ', '## ');
  const params = new Params([
    [0, Null()],
    [1, Bool(false)],
    [2, Bool(true)],
    [3, Int32(-1)],
    [4, Int64(300n)],
    [5, Float32(1.0)],
    [6, Float64(-2.0)],
    [7, Str('hé')],
    [8, Bytes([0xab])],
    [9, List([Int32(1)])],
    [10, Dict(new Params([[0, Null()]]))],
  ]);
  const rows = ['0b', '00 00', '01 01', '02 02', '03 03 01', '04 04 d8 04', '05 05 00 00 80 3f', '06 06 00 00 00 00 00 00 00 c0', '07 07 03 68 c3 a9', '08 08 01 ab', '09 09 01 03 02', '0a 0a 01 00 00'];
  const encoded = encodeParams(params, { ...DEFAULT_LIMITS, protocolVersion: 1 });
  documentedBlock(section, 'version 1', rows, encoded, true);
  const decoded = decodeParams(encoded, { ...DEFAULT_LIMITS, protocolVersion: 1 });
  assert.ok(paramsEqual(decoded, params), describeParams(decoded));
});

test('4.7: the version-2 parameter example, with table keys in canonical order', () => {
  const section = new DocSection('### 4.7 ', '## ');
  // The table is built out of order: the encoder sorts by key type, then value.
  const table = new Hashtable([[UInt8(255), Null()], [Str('hp'), Int32(5)], [Int32(7), Bool(true)]]);
  const params = new Params([
    [10, Custom(0x56, [0x00, 0x00, 0x80, 0x3f])],
    [0, UInt8(200)],
    [1, Int16(-300)],
    [2, ShortArray([-1, 2])],
    [3, IntArray([1])],
    [4, LongArray([-2n])],
    [5, FloatArray([1.0])],
    [6, DoubleArray([-2.0])],
    [7, BoolArray([true, false, true])],
    [8, StringArray(['a', ''])],
    [9, Table(table)],
  ]);
  const rows = [
    '0b', '00 0b c8', '01 0c d7 04', '02 0d 02 ffff 0200', '03 0e 01 01000000', '04 0f 01 feffffffffffffff',
    '05 10 01 0000803f', '06 11 01 00000000000000c0', '07 12 03 05', '08 13 02 01 61 00', '09 14 03', '03 0e 02',
    '07 02 6870 03 0a', '0b ff 00', '0a 15 56 04 0000803f',
  ];
  const encoded = encodeParams(params);
  documentedBlock(section, 'version 2', rows, encoded, true);
  const decoded = decodeParams(encoded);
  assert.ok(paramsEqual(decoded, params), describeParams(decoded));
  // The same bytes decode for a version-1 receiver only up to the first version-2 tag.
  assert.throws(() => decodeParams(encoded, { ...DEFAULT_LIMITS, protocolVersion: 1 }), (e: unknown) => e instanceof CodecError && e.code === 'UnknownTag');
});
