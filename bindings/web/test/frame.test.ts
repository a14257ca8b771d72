/**
 * Frames over WSS: one WebSocket message is one frame with the 8-byte header, never authenticated;
 * ENCRYPTED alone is the sender's request and is valid in version 4 only (the contract of issue 12).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Flag, MessageType, ProtocolError, SECURE_VERSION, buildFrame, parseFrame } from '../src/protocol.js';
import { hex, unhex } from './spec.js';

const MAX = 512 * 1024;

function frame(header: string, body = ''): Uint8Array {
  return unhex(header, body);
}

function refusedFrame(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.reason, 4, 'ProtocolViolation');
    assert.match(error.message, pattern);
    return true;
  };
}

test('a version-4 frame: header fields, the ENCRYPTED request, delivery and channel', () => {
  const parsed = parseFrame(frame('04 07 0d 05 00000002', 'aabb'), SECURE_VERSION, MAX);
  assert.equal(parsed.type, MessageType.Event);
  assert.equal(parsed.encrypted, true);
  assert.equal(parsed.delivery, 3);
  assert.equal(parsed.channel, 5);
  assert.equal(hex(parsed.body), 'aa bb');
});

test('buildFrame writes the flags byte from the options and the body length', () => {
  const built = buildFrame(SECURE_VERSION, MessageType.OperationRequest, { encrypted: true, delivery: 0, channel: 9 }, MAX, (out) => out.raw(unhex('fd 00')));
  assert.equal(hex(built), hex(unhex('04 05 01 09 00000002 fd 00')));
  const plain = buildFrame(SECURE_VERSION, MessageType.Ping, {}, MAX, (out) => out.u64(1n));
  assert.equal(hex(plain.subarray(0, 8)), hex(unhex('04 08 04 00 00000008')), 'reliable, channel 0, not encrypted');
  assert.throws(() => buildFrame(SECURE_VERSION, MessageType.Ping, { channel: 256 }, MAX, () => {}), RangeError);
  assert.throws(() => buildFrame(SECURE_VERSION, MessageType.Ping, {}, 4, (out) => out.u64(1n)), /exceeds the limit of 4/);
});

test('refused headers: version, type, flags, extensions, length', () => {
  assert.throws(() => parseFrame(frame('02 07 04 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/version 2, expected 4/));
  assert.throws(() => parseFrame(frame('04 0b 04 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/unknown message type 0xb/), 'Ack is a datagram type');
  assert.throws(() => parseFrame(frame('04 00 04 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/unknown message type/));
  assert.throws(() => parseFrame(frame('04 07 44 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/reserved flag/));
  assert.throws(() => parseFrame(frame('04 07 06 00 00000010', '00'.repeat(16)), SECURE_VERSION, MAX), refusedFrame(/authenticated/));
  assert.throws(() => parseFrame(frame('04 07 14 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/sequence or fragment/));
  assert.throws(() => parseFrame(frame('04 07 24 00 00000000'), SECURE_VERSION, MAX), refusedFrame(/sequence or fragment/));
  assert.throws(() => parseFrame(frame('04 07 04 00 00080001'), SECURE_VERSION, MAX), refusedFrame(/exceeds the limit/), 'checked on the header, before any body');
  // Before acceptance the clear-frame limit applies and ENCRYPTED needs AUTHENTICATED.
  assert.throws(() => parseFrame(frame('01 02 05 00 00000003', '000000'), 1, 4096), refusedFrame(/ENCRYPTED/));
  assert.throws(() => parseFrame(frame('01 02 04 00 00001001'), 1, 4096), refusedFrame(/exceeds the limit of 4096/));
});

test('a WebSocket message must be exactly one frame', () => {
  assert.throws(() => parseFrame(frame('04 08 04 00 00000008', '00'.repeat(7)), SECURE_VERSION, MAX), refusedFrame(/not one frame/), 'a frame cut short');
  assert.throws(() => parseFrame(frame('04 08 04 00 00000008', '00'.repeat(9)), SECURE_VERSION, MAX), refusedFrame(/not one frame/), 'bytes after it');
  const two = frame('04 08 04 00 00000008 0000000000000001 04 08 04 00 00000008 0000000000000002');
  assert.throws(() => parseFrame(two, SECURE_VERSION, MAX), refusedFrame(/not one frame/), 'two frames in one message');
  assert.throws(() => parseFrame(frame('04 08 04'), SECURE_VERSION, MAX), refusedFrame(/shorter than a frame header/));
});

test('the flag values are those of section 2.2', () => {
  assert.deepEqual(
    [Flag.Encrypted, Flag.Authenticated, Flag.DeliveryMask, Flag.Sequenced, Flag.Fragment, Flag.Reserved],
    [0x01, 0x02, 0x0c, 0x10, 0x20, 0xc0],
  );
});
