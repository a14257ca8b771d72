/**
 * Frames and message bodies (docs/protocol.md sections 2 and 3) as a WSS client sees them.
 *
 * Over WSS (protocol version 4) one WebSocket binary message is exactly one frame, and no frame is ever
 * authenticated: TLS protects the whole stream, so there is no counter, no tag and no key exchange. The
 * header is therefore always the 8 fixed bytes. The ENCRYPTED flag survives, without AUTHENTICATED,
 * only in version 4, where it says that the sender asked for encryption: the server relays such an
 * event to nobody who would receive it in clear.
 */

import { CodecError, DEFAULT_LIMITS, Reader, Writer, writeParams, checkParams, type Limits } from './codec.js';
import { DisconnectReason } from './constants.js';
import type { Params } from './values.js';

/** The protocol version of a WSS connection. */
export const SECURE_VERSION = 4;
/** The version byte of Connect and ConnectAck, which are read before a version is agreed. */
export const HANDSHAKE_VERSION = 1;
export const HEADER_LEN = 8;

export const MessageType = Object.freeze({
  Connect: 0x01,
  ConnectAck: 0x02,
  HandshakeInit: 0x03,
  HandshakeReply: 0x04,
  OperationRequest: 0x05,
  OperationResponse: 0x06,
  Event: 0x07,
  Ping: 0x08,
  Pong: 0x09,
  Disconnect: 0x0a,
});
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const Flag = Object.freeze({
  Encrypted: 0x01,
  Authenticated: 0x02,
  DeliveryMask: 0x0c,
  Sequenced: 0x10,
  Fragment: 0x20,
  Reserved: 0xc0,
});

/** The default largest frame body (section 2.4). */
export const MAX_BODY = 512 * 1024;
/** The body limit before the connection is accepted (section 2.4's clear-frame limit). */
export const MAX_CLEAR_BODY = 4096;

// Text field maxima of section 4.5.
export const MAX_APP_ID = 64;
export const MAX_CLIENT_VERSION = 32;
export const MAX_REASON_TEXT = 256;
export const MAX_DEBUG_MESSAGE = 1024;

/**
 * A frame this client refuses (a malformed or unexpected one): the connection ends with `reason`,
 * ProtocolViolation unless said otherwise.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    message: string,
    readonly reason: number = DisconnectReason.ProtocolViolation,
  ) {
    super(message);
  }
}

export interface Frame {
  readonly version: number;
  readonly type: MessageType;
  /** The sender asked for encryption (version 4: TLS protected it). */
  readonly encrypted: boolean;
  readonly delivery: number;
  readonly channel: number;
  readonly body: Uint8Array;
}

/**
 * Checks one WebSocket message as one frame (section 2.5 with the version-4 rules) and returns it.
 * `version` is the version byte expected: 1 up to and including ConnectAck, 4 after it.
 */
export function parseFrame(message: Uint8Array, version: number, maxBody: number): Frame {
  if (message.length < HEADER_LEN) throw new ProtocolError(`a WebSocket message of ${message.length} bytes is shorter than a frame header`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const [got, type, flags, channel] = [message[0], message[1], message[2], message[3]] as [number, number, number, number];
  const bodyLen = view.getUint32(4);
  if (got !== version) throw new ProtocolError(`frame of protocol version ${got}, expected ${version}`);
  if (type < MessageType.Connect || type > MessageType.Disconnect) throw new ProtocolError(`unknown message type 0x${type.toString(16)}`);
  if ((flags & Flag.Reserved) !== 0) throw new ProtocolError(`reserved flag bits set (flags 0x${flags.toString(16)})`);
  if ((flags & Flag.Authenticated) !== 0) {
    throw new ProtocolError('an authenticated frame over WSS, where no frame is authenticated (TLS protects them)');
  }
  // Without AUTHENTICATED, ENCRYPTED is only meaningful in version 4 (the sender's request).
  if ((flags & Flag.Encrypted) !== 0 && version !== SECURE_VERSION) throw new ProtocolError('ENCRYPTED set on an unauthenticated frame');
  if (bodyLen > maxBody) throw new ProtocolError(`frame body of ${bodyLen} bytes exceeds the limit of ${maxBody}`);
  if ((flags & (Flag.Sequenced | Flag.Fragment)) !== 0) throw new ProtocolError('sequence or fragment extension on a stream transport');
  if (message.length !== HEADER_LEN + bodyLen) {
    throw new ProtocolError(`a WebSocket message of ${message.length} bytes is not one frame of ${HEADER_LEN + bodyLen} bytes`);
  }
  return {
    version: got,
    type: type as MessageType,
    encrypted: (flags & Flag.Encrypted) !== 0,
    delivery: (flags & Flag.DeliveryMask) >> 2,
    channel,
    body: message.subarray(HEADER_LEN),
  };
}

export interface FrameOptions {
  readonly encrypted?: boolean;
  readonly delivery?: number;
  readonly channel?: number;
}

/** One frame: the header and the body `writeBody` appends, refused locally above `maxBody`. */
export function buildFrame(
  version: number,
  type: MessageType,
  options: FrameOptions,
  maxBody: number,
  writeBody: (out: Writer) => void,
): Uint8Array {
  const delivery = options.delivery ?? 1;
  const channel = options.channel ?? 0;
  if (!Number.isInteger(delivery) || delivery < 0 || delivery > 3) throw new RangeError('delivery mode is 0 to 3');
  if (!Number.isInteger(channel) || channel < 0 || channel > 255) throw new RangeError('channel is 0 to 255');
  const out = new Writer();
  out.u8(version);
  out.u8(type);
  out.u8((delivery << 2) | (options.encrypted ? Flag.Encrypted : 0));
  out.u8(channel);
  out.u32(0);
  writeBody(out);
  const bodyLen = out.length - HEADER_LEN;
  if (bodyLen > maxBody) throw new CodecError('BytesTooLong', `frame body of ${bodyLen} bytes exceeds the limit of ${maxBody}`);
  out.patchU32(4, bodyLen);
  return out.finish();
}

// ---------------------------------------------------------------------------------------------
// Bodies (section 3)
// ---------------------------------------------------------------------------------------------

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export interface Connect {
  readonly appId: string;
  readonly clientVersion: string;
  readonly versions?: VersionRange;
}

export interface ConnectAck {
  readonly reason: number;
  readonly message: string;
  readonly versions?: { readonly min: number; readonly max: number; readonly chosen: number };
}

export interface OperationRequest {
  readonly opCode: number;
  readonly params: Params;
}

export interface OperationResponse {
  readonly opCode: number;
  readonly returnCode: number;
  /** Empty when the server sent none. */
  readonly debugMessage: string;
  readonly params: Params;
}

export interface EventData {
  readonly code: number;
  readonly sender: number;
  readonly params: Params;
}

export interface Pong {
  readonly echoMs: bigint;
  readonly serverTimeMs?: bigint;
}

export interface Disconnect {
  readonly reason: number;
  readonly message: string;
}

function whole<T>(body: Uint8Array, read: (reader: Reader) => T): T {
  const reader = new Reader(body);
  const message = read(reader);
  reader.finish();
  return message;
}

function checkText(text: string, max: number, what: string): void {
  const len = new TextEncoder().encode(text).length;
  if (len > max) throw new CodecError('StringTooLong', `${what} of ${len} bytes exceeds the limit of ${max}`);
}

/** The text cut to at most `max` UTF-8 bytes at a character boundary, as a Disconnect's sender must. */
export function truncateText(text: string, max: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= max) return text;
  let out = '';
  let len = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (len + size > max) break;
    out += char;
    len += size;
  }
  return out;
}

export function encodeConnect(out: Writer, connect: Connect): void {
  checkText(connect.appId, MAX_APP_ID, 'app id');
  if (connect.appId.length === 0) throw new CodecError('EmptyAppId', 'empty app id');
  checkText(connect.clientVersion, MAX_CLIENT_VERSION, 'client version');
  out.string(connect.appId);
  out.string(connect.clientVersion);
  if (connect.versions) {
    out.u8(connect.versions.min);
    out.u8(connect.versions.max);
  }
}

export function decodeConnect(body: Uint8Array): Connect {
  return whole(body, (reader) => {
    const appId = reader.string(MAX_APP_ID);
    if (appId.length === 0) throw new CodecError('EmptyAppId', 'empty app id');
    const clientVersion = reader.string(MAX_CLIENT_VERSION);
    if (reader.remaining === 0) return { appId, clientVersion };
    return { appId, clientVersion, versions: { min: reader.u8(), max: reader.u8() } };
  });
}

export function encodeConnectAck(out: Writer, ack: ConnectAck): void {
  checkText(ack.message, MAX_REASON_TEXT, 'message');
  out.u16(ack.reason);
  out.string(ack.message);
  if (ack.versions) {
    out.u8(ack.versions.min);
    out.u8(ack.versions.max);
    out.u8(ack.versions.chosen);
  }
}

export function decodeConnectAck(body: Uint8Array): ConnectAck {
  return whole(body, (reader) => {
    const reason = reader.u16();
    const message = reader.string(MAX_REASON_TEXT);
    if (reader.remaining === 0) return { reason, message };
    return { reason, message, versions: { min: reader.u8(), max: reader.u8(), chosen: reader.u8() } };
  });
}

export function encodeOperationRequest(out: Writer, request: OperationRequest, limits: Limits = DEFAULT_LIMITS): void {
  checkParams(request.params, limits);
  out.u8(request.opCode);
  writeParams(out, request.params);
}

export function decodeOperationRequest(body: Uint8Array, limits: Limits = DEFAULT_LIMITS): OperationRequest {
  return whole(body, (reader) => ({ opCode: reader.u8(), params: reader.params(limits) }));
}

export function encodeOperationResponse(out: Writer, response: OperationResponse, limits: Limits = DEFAULT_LIMITS): void {
  checkText(response.debugMessage, MAX_DEBUG_MESSAGE, 'debug message');
  checkParams(response.params, limits);
  out.u8(response.opCode);
  out.i16(response.returnCode);
  out.string(response.debugMessage);
  writeParams(out, response.params);
}

export function decodeOperationResponse(body: Uint8Array, limits: Limits = DEFAULT_LIMITS): OperationResponse {
  return whole(body, (reader) => ({
    opCode: reader.u8(),
    returnCode: reader.i16(),
    debugMessage: reader.string(MAX_DEBUG_MESSAGE),
    params: reader.params(limits),
  }));
}

export function encodeEvent(out: Writer, event: EventData, limits: Limits = DEFAULT_LIMITS): void {
  checkParams(event.params, limits);
  out.u8(event.code);
  out.i32(event.sender);
  writeParams(out, event.params);
}

export function decodeEvent(body: Uint8Array, limits: Limits = DEFAULT_LIMITS): EventData {
  return whole(body, (reader) => ({ code: reader.u8(), sender: reader.i32(), params: reader.params(limits) }));
}

export function encodePing(out: Writer, timestampMs: bigint): void {
  out.u64(timestampMs);
}

export function decodePing(body: Uint8Array): bigint {
  return whole(body, (reader) => reader.u64());
}

export function encodePong(out: Writer, pong: Pong): void {
  out.u64(pong.echoMs);
  if (pong.serverTimeMs !== undefined) out.u64(pong.serverTimeMs);
}

export function decodePong(body: Uint8Array): Pong {
  return whole(body, (reader) => {
    const echoMs = reader.u64();
    if (reader.remaining === 0) return { echoMs };
    return { echoMs, serverTimeMs: reader.u64() };
  });
}

export function encodeDisconnect(out: Writer, disconnect: Disconnect): void {
  out.u16(disconnect.reason);
  out.string(truncateText(disconnect.message, MAX_REASON_TEXT));
}

export function decodeDisconnect(body: Uint8Array): Disconnect {
  return whole(body, (reader) => ({ reason: reader.u16(), message: reader.string(MAX_REASON_TEXT) }));
}
