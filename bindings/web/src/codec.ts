/**
 * The parameter encoding of docs/protocol.md section 4: varints, zigzag, every value type, and the
 * decoder limits of section 4.5.
 *
 * The decoder is the first code that reads bytes a server (or whoever sits in its place) chose, so it
 * checks every declared count and length against the limits and against the input left before it
 * allocates anything, and it bounds nesting, the number of values and the decoded size, in the same
 * order as the reference implementation: both ends then refuse the same inputs with the same error.
 * The encoder runs the same checks on in-memory values first, so a send the server would refuse is
 * refused here, with the error the server would have given.
 */

import {
  Custom,
  Dict,
  Float32,
  Float64,
  Hashtable,
  Int16,
  Int32,
  Int64,
  List,
  Params,
  Str,
  Table,
  UInt8,
  type TableKey,
  type Value,
  type ValueType,
  Bool,
  Bytes,
  Null,
} from './values.js';

/** Bounds on one decode, and the protocol version whose value types are allowed. */
export interface Limits {
  /** Deepest List, Dict or Table; one directly in the top-level parameters is at depth 1. */
  readonly maxDepth: number;
  /** Most entries of one List, Dict, StringArray or Table, the top-level parameters included. */
  readonly maxEntries: number;
  /** Longest string, in UTF-8 bytes. */
  readonly maxString: number;
  /** Longest Bytes or Custom data, and the most wire bytes of one packed array. */
  readonly maxBytes: number;
  /** Most values in one message, at every depth together. */
  readonly maxTotalValues: number;
  /** Largest decoded size (section 4.5) of one message. */
  readonly maxDecodedBytes: number;
  /** The connection's protocol version: version 1 lacks the types from UInt8 on. */
  readonly protocolVersion: number;
}

/** The defaults of section 4.5, for a version-4 (WSS) connection, which has every value type. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxDepth: 8,
  maxEntries: 4096,
  maxString: 64 * 1024,
  maxBytes: 256 * 1024,
  maxTotalValues: 65_536,
  maxDecodedBytes: 2 * 1024 * 1024,
  protocolVersion: 4,
});

/** The error names of section 4.6, and TypeNeedsVersion for a local refusal before sending. */
export type CodecErrorCode =
  | 'Truncated'
  | 'VarintOverflow'
  | 'NonCanonicalVarint'
  | 'UnknownTag'
  | 'ArrayTooLong'
  | 'InvalidTableKey'
  | 'DuplicateTableKey'
  | 'NonZeroPadding'
  | 'InvalidUtf8'
  | 'StringTooLong'
  | 'BytesTooLong'
  | 'TooManyEntries'
  | 'DepthExceeded'
  | 'TooManyValues'
  | 'DecodedTooLarge'
  | 'DuplicateKey'
  | 'TrailingBytes'
  | 'EmptyAppId'
  | 'TypeNeedsVersion';

/** Why bytes do not decode, or why values may not be sent. `code` names the error of section 4.6. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// Tags of section 4.1.
export const TAG = Object.freeze({
  Null: 0x00, False: 0x01, True: 0x02, Int32: 0x03, Int64: 0x04, Float32: 0x05, Float64: 0x06, Str: 0x07,
  Bytes: 0x08, List: 0x09, Dict: 0x0a, UInt8: 0x0b, Int16: 0x0c, ShortArray: 0x0d, IntArray: 0x0e,
  LongArray: 0x0f, FloatArray: 0x10, DoubleArray: 0x11, BoolArray: 0x12, StringArray: 0x13, Table: 0x14,
  Custom: 0x15,
});

/** The highest tag of a protocol version: versions 2, 3 and 4 have every type, version 1 up to Map. */
export function lastTag(version: number): number {
  return version >= 2 ? TAG.Custom : TAG.Dict;
}

/** The first protocol version that has a value type. */
export function typeVersion(type: ValueType): number {
  return TAG[type === 'Bool' ? 'True' : type] <= TAG.Dict ? 1 : 2;
}

// The decoded-size costs of section 4.5.
const VALUE_COST = 32;
const ENTRY_COST = VALUE_COST + 8;
const TABLE_ENTRY_COST = 2 * VALUE_COST;
const STRING_ELEMENT_COST = 24;
// The fewest wire bytes an element can take, which bounds an honest count by the input left.
const MIN_ELEMENT_LEN = 1;
const MIN_ENTRY_LEN = 2;
const MIN_TABLE_ENTRY_LEN = 3;
const MIN_STRING_LEN = 1;

const TYPE_NAMES: Record<ValueType, string> = {
  Null: 'null', Bool: 'bool', Int32: 'int', Int64: 'long', Float32: 'float', Float64: 'double', Str: 'string',
  Bytes: 'byte array', List: 'array', Dict: 'map', UInt8: 'byte', Int16: 'short', ShortArray: 'short array',
  IntArray: 'int array', LongArray: 'long array', FloatArray: 'float array', DoubleArray: 'double array',
  BoolArray: 'bool array', StringArray: 'string array', Table: 'table', Custom: 'custom type',
};

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is content, and dropping it
// would change the string.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Counts values and decoded bytes over one message, since per-container limits alone multiply. */
class Budget {
  values = 0;
  bytes = 0;
  constructor(private readonly limits: Limits) {}

  spendOne(): void {
    if (++this.values > this.limits.maxTotalValues) {
      throw new CodecError('TooManyValues', `more than ${this.limits.maxTotalValues} values in one message`);
    }
  }
  spendBytes(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxDecodedBytes) {
      throw new CodecError('DecodedTooLarge', `message would take more than ${this.limits.maxDecodedBytes} bytes once decoded`);
    }
  }
}

function checkDepth(limits: Limits, depth: number): void {
  if (depth > limits.maxDepth) throw new CodecError('DepthExceeded', `nesting exceeds the maximum depth of ${limits.maxDepth}`);
}

function checkEntries(limits: Limits, count: number | bigint): number {
  if (count > limits.maxEntries) throw new CodecError('TooManyEntries', `${count} entries exceed the limit of ${limits.maxEntries}`);
  return Number(count);
}

function stringTooLong(len: number | bigint, max: number): CodecError {
  return new CodecError('StringTooLong', `string of ${len} bytes exceeds the limit of ${max}`);
}

function bytesTooLong(len: number | bigint, max: number): CodecError {
  return new CodecError('BytesTooLong', `byte array of ${len} bytes exceeds the limit of ${max}`);
}

function arrayTooLong(len: number | bigint, max: number): CodecError {
  return new CodecError('ArrayTooLong', `packed array of ${len} bytes exceeds the limit of ${max}`);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** A cursor over a message body. Every read yields what was asked for or throws a CodecError. */
export class Reader {
  #at = 0;
  readonly #view: DataView;

  constructor(private readonly input: Uint8Array) {
    this.#view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.input.length - this.#at;
  }

  /** Succeeds only when everything was read, so nothing can be smuggled after a body's last field. */
  finish(): void {
    if (this.remaining !== 0) throw new CodecError('TrailingBytes', `${this.remaining} unread trailing bytes`);
  }

  take(len: number): Uint8Array {
    if (len > this.remaining) throw new CodecError('Truncated', 'input truncated');
    const bytes = this.input.subarray(this.#at, this.#at + len);
    this.#at += len;
    return bytes;
  }

  #advance(len: number): number {
    if (len > this.remaining) throw new CodecError('Truncated', 'input truncated');
    const at = this.#at;
    this.#at += len;
    return at;
  }

  u8(): number {
    return this.#view.getUint8(this.#advance(1));
  }
  u16(): number {
    return this.#view.getUint16(this.#advance(2));
  }
  i16(): number {
    return this.#view.getInt16(this.#advance(2));
  }
  i32(): number {
    return this.#view.getInt32(this.#advance(4));
  }
  u32(): number {
    return this.#view.getUint32(this.#advance(4));
  }
  u64(): bigint {
    return this.#view.getBigUint64(this.#advance(8));
  }

  /**
   * An unsigned LEB128 varint, only in its one shortest form. Returned as a number: exact below 2^53,
   * and above that only ever compared with limits far smaller, or refused.
   */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let group = 0; group < 10; group++) {
      const byte = this.u8();
      // The tenth group holds only bit 63; more would not fit in 64 bits.
      if (group === 9 && byte > 1) throw new CodecError('VarintOverflow', 'varint overflows its integer type');
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && group > 0) throw new CodecError('NonCanonicalVarint', 'non-canonical varint encoding');
        return value;
      }
      scale *= 128;
    }
    throw new CodecError('VarintOverflow', 'varint overflows its integer type');
  }

  /** A varint as an exact bigint, for 64-bit values. */
  varintBig(): bigint {
    let value = 0n;
    for (let group = 0; group < 10; group++) {
      const byte = this.u8();
      if (group === 9 && byte > 1) throw new CodecError('VarintOverflow', 'varint overflows its integer type');
      value |= BigInt(byte & 0x7f) << BigInt(7 * group);
      if ((byte & 0x80) === 0) {
        if (byte === 0 && group > 0) throw new CodecError('NonCanonicalVarint', 'non-canonical varint encoding');
        return value;
      }
    }
    throw new CodecError('VarintOverflow', 'varint overflows its integer type');
  }

  /** A varint-length-prefixed UTF-8 string of at most `max` bytes; the limit is checked first. */
  string(max: number): string {
    const len = this.varint();
    if (len > max) throw stringTooLong(len, max);
    return decodeUtf8(this.take(len));
  }

  /** A varint-length-prefixed byte array of at most `max` bytes, as a view into the input. */
  bytes(max: number): Uint8Array {
    const len = this.varint();
    if (len > max) throw bytesTooLong(len, max);
    return this.take(len);
  }

  /** Top-level parameters; the caller decides whether more may follow. */
  params(limits: Limits = DEFAULT_LIMITS): Params {
    return new Decoder(this, limits).params(0);
  }

  /** A container's count, refused unless the input left could hold that many elements. */
  count(limits: Limits, minElementLen: number): number {
    const count = checkEntries(limits, this.varint());
    if (count * minElementLen > this.remaining) throw new CodecError('Truncated', 'input truncated');
    return count;
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new CodecError('InvalidUtf8', 'string is not valid utf-8');
  }
}

function unzigzag32(u: number): number {
  // u < 2^33 here, so the arithmetic is exact.
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Decoding state for one top-level Params; recursion is bounded by maxDepth, checked first. */
class Decoder {
  readonly budget: Budget;
  constructor(
    readonly reader: Reader,
    readonly limits: Limits,
  ) {
    this.budget = new Budget(limits);
  }

  /** `depth` is the depth of the map being read. */
  params(depth: number): Params {
    const count = this.reader.count(this.limits, MIN_ENTRY_LEN);
    this.budget.spendBytes(count * ENTRY_COST);
    const params = new Params();
    for (let i = 0; i < count; i++) {
      const key = this.reader.u8();
      if (params.has(key)) throw new CodecError('DuplicateKey', `duplicate map key ${key}`);
      params.set(key, this.value(depth + 1));
    }
    return params;
  }

  int32(): number {
    const u = this.reader.varint();
    if (u >= 2 ** 32) throw new CodecError('VarintOverflow', 'varint overflows its integer type');
    return unzigzag32(u);
  }

  int16(): number {
    const u = this.reader.varint();
    if (u >= 2 ** 16) throw new CodecError('VarintOverflow', 'varint overflows its integer type');
    return unzigzag32(u);
  }

  int64(): bigint {
    const u = this.reader.varintBig();
    return BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n));
  }

  string(): string {
    const text = this.reader.string(this.limits.maxString);
    // The decoded size counts UTF-8 bytes, which the string was read from.
    this.budget.spendBytes(utf8Length(text));
    return text;
  }

  /** A packed array's bytes: the count bounded by its wire size, then exactly those bytes. */
  packed(width: number): Uint8Array {
    const declared = this.reader.varint();
    const wire = declared * width;
    if (wire > this.limits.maxBytes) throw arrayTooLong(wire, this.limits.maxBytes);
    const bytes = this.reader.take(wire);
    this.budget.spendBytes(wire);
    // A copy, aligned for the typed array and independent of the message buffer.
    return bytes.slice();
  }

  key(): TableKey {
    const tag = this.reader.u8();
    switch (tag) {
      case TAG.Int32:
        return Int32(this.int32());
      case TAG.Int64:
        return Int64(this.int64());
      case TAG.Str:
        return Str(this.string());
      case TAG.UInt8:
        return UInt8(this.reader.u8());
      case TAG.Int16:
        return Int16(this.int16());
      default:
        throw new CodecError('InvalidTableKey', `table key of type 0x${hex2(tag)} (keys are int, long, string, byte or short)`);
    }
  }

  table(depth: number): Hashtable {
    const count = this.reader.count(this.limits, MIN_TABLE_ENTRY_LEN);
    this.budget.spendBytes(count * TABLE_ENTRY_COST);
    const table = new Hashtable();
    for (let i = 0; i < count; i++) {
      const key = this.key();
      const value = this.value(depth + 1);
      if (table.has(key)) throw new CodecError('DuplicateTableKey', 'duplicate table key');
      table.set(key, value);
    }
    return table;
  }

  /** `depth` is the depth this value has if it is a container. */
  value(depth: number): Value {
    this.budget.spendOne();
    const tag = this.reader.u8();
    if (tag > lastTag(this.limits.protocolVersion)) throw new CodecError('UnknownTag', `unknown value tag 0x${hex2(tag)}`);
    const reader = this.reader;
    switch (tag) {
      case TAG.Null:
        return Null();
      case TAG.False:
        return Bool(false);
      case TAG.True:
        return Bool(true);
      case TAG.Int32:
        return Int32(this.int32());
      case TAG.Int64:
        return Int64(this.int64());
      case TAG.Float32: {
        const bytes = reader.take(4);
        return Float32.fromBits(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true));
      }
      case TAG.Float64: {
        const bytes = reader.take(8);
        return Float64.fromBits(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
      }
      case TAG.Str:
        return Str(this.string());
      case TAG.Bytes: {
        const bytes = reader.bytes(this.limits.maxBytes);
        this.budget.spendBytes(bytes.length);
        return Bytes(bytes);
      }
      case TAG.List: {
        checkDepth(this.limits, depth);
        const count = reader.count(this.limits, MIN_ELEMENT_LEN);
        this.budget.spendBytes(count * VALUE_COST);
        const items: Value[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
        return List(items);
      }
      case TAG.Dict:
        checkDepth(this.limits, depth);
        return Dict(this.params(depth));
      case TAG.UInt8:
        return UInt8(reader.u8());
      case TAG.Int16:
        return Int16(this.int16());
      case TAG.ShortArray:
        return { type: 'ShortArray', value: new Int16Array(fromLittleEndian(this.packed(2), 2)) } as const;
      case TAG.IntArray:
        return { type: 'IntArray', value: new Int32Array(fromLittleEndian(this.packed(4), 4)) } as const;
      case TAG.LongArray:
        return { type: 'LongArray', value: new BigInt64Array(fromLittleEndian(this.packed(8), 8)) } as const;
      case TAG.FloatArray:
        return { type: 'FloatArray', value: new Float32Array(fromLittleEndian(this.packed(4), 4)) } as const;
      case TAG.DoubleArray:
        return { type: 'DoubleArray', value: new Float64Array(fromLittleEndian(this.packed(8), 8)) } as const;
      case TAG.BoolArray: {
        const declared = reader.varint();
        const wire = Math.ceil(declared / 8);
        if (wire > this.limits.maxBytes) throw arrayTooLong(wire, this.limits.maxBytes);
        const bits = reader.take(wire);
        // Unused bits must be zero, so that every array has exactly one encoding.
        if (declared % 8 !== 0 && (bits[wire - 1] as number) >> declared % 8 !== 0) {
          throw new CodecError('NonZeroPadding', 'bool array has padding bits set');
        }
        this.budget.spendBytes(declared);
        const items: boolean[] = [];
        for (let i = 0; i < declared; i++) items.push(((bits[i >> 3] as number) & (1 << (i & 7))) !== 0);
        return { type: 'BoolArray', value: Object.freeze(items) } as const;
      }
      case TAG.StringArray: {
        const count = reader.count(this.limits, MIN_STRING_LEN);
        this.budget.spendBytes(count * STRING_ELEMENT_COST);
        const items: string[] = [];
        for (let i = 0; i < count; i++) items.push(this.string());
        return { type: 'StringArray', value: Object.freeze(items) } as const;
      }
      case TAG.Table:
        checkDepth(this.limits, depth);
        return Table(this.table(depth));
      case TAG.Custom: {
        const code = reader.u8();
        const data = reader.bytes(this.limits.maxBytes);
        this.budget.spendBytes(data.length);
        return Custom(code, data);
      }
      default:
        throw new CodecError('UnknownTag', `unknown value tag 0x${hex2(tag)}`);
    }
  }
}

/** Decodes parameters that must fill `input` exactly. */
export function decodeParams(input: Uint8Array, limits: Limits = DEFAULT_LIMITS): Params {
  const reader = new Reader(input);
  const params = reader.params(limits);
  reader.finish();
  return params;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Wire bytes (little-endian elements) into the host's element order, as the buffer of a typed array.
 * Every browser and Node host is little-endian, so this is a no-op but for a big-endian host, where
 * the bytes of each element are reversed (never converted through numbers, which could change NaNs).
 */
function fromLittleEndian(bytes: Uint8Array, width: number): ArrayBuffer {
  if (!LITTLE_ENDIAN_HOST) swapElements(bytes, width);
  return bytes.buffer as ArrayBuffer;
}

function swapElements(bytes: Uint8Array, width: number): void {
  for (let at = 0; at < bytes.length; at += width) bytes.subarray(at, at + width).reverse();
}

/** A growable output buffer. */
export class Writer {
  #bytes = new Uint8Array(64);
  #view = new DataView(this.#bytes.buffer);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #reserve(extra: number): number {
    const needed = this.#len + extra;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#len));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#len;
    this.#len = needed;
    return at;
  }

  // Each write reserves first and only then reads the view: reserving may replace the buffer.
  u8(value: number): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
  }
  u16(value: number): void {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
  }
  i16(value: number): void {
    const at = this.#reserve(2);
    this.#view.setInt16(at, value);
  }
  u32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
  }
  i32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setInt32(at, value);
  }
  u64(value: bigint): void {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value);
  }
  raw(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.length);
    this.#bytes.set(bytes, at);
  }
  /** Overwrites four bytes already written (a frame's body length, once the body is known). */
  patchU32(at: number, value: number): void {
    this.#view.setUint32(at, value);
  }

  /** A varint of a non-negative integer below 2^53. */
  varint(value: number): void {
    while (value >= 0x80) {
      this.u8((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.u8(value);
  }

  varintBig(value: bigint): void {
    while (value >= 0x80n) {
      this.u8(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    this.u8(Number(value));
  }

  /** A varint length and the UTF-8 bytes of `text`. */
  string(text: string): void {
    const bytes = utf8Encoder.encode(text);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#len);
  }
}

/** UTF-8 length of a well-formed string, without encoding it. */
export function utf8Length(text: string): number {
  let len = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) len += 1;
    else if (unit < 0x800) len += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      len += 4;
      i++;
    } else len += 3;
  }
  return len;
}

function zigzag32(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function zigzag64(value: bigint): bigint {
  return BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
}

/** Writes a packed array's elements little-endian, straight from the typed array's bytes. */
function writePacked(out: Writer, array: Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array): void {
  out.varint(array.length);
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (LITTLE_ENDIAN_HOST) {
    out.raw(bytes);
  } else {
    const copy = bytes.slice();
    swapElements(copy, array.BYTES_PER_ELEMENT);
    out.raw(copy);
  }
}

function writeKey(out: Writer, key: TableKey): void {
  writeValue(out, key);
}

function writeValue(out: Writer, value: Value): void {
  switch (value.type) {
    case 'Null':
      return out.u8(TAG.Null);
    case 'Bool':
      return out.u8(value.value ? TAG.True : TAG.False);
    case 'Int32':
      out.u8(TAG.Int32);
      return out.varint(zigzag32(value.value));
    case 'Int64':
      out.u8(TAG.Int64);
      return out.varintBig(zigzag64(value.value));
    case 'Float32': {
      out.u8(TAG.Float32);
      const bits = new Uint8Array(4);
      new DataView(bits.buffer).setUint32(0, value.bits, true);
      return out.raw(bits);
    }
    case 'Float64': {
      out.u8(TAG.Float64);
      const bits = new Uint8Array(8);
      new DataView(bits.buffer).setBigUint64(0, value.bits, true);
      return out.raw(bits);
    }
    case 'Str':
      out.u8(TAG.Str);
      return out.string(value.value);
    case 'Bytes':
      out.u8(TAG.Bytes);
      out.varint(value.value.length);
      return out.raw(value.value);
    case 'List':
      out.u8(TAG.List);
      out.varint(value.value.length);
      for (const item of value.value) writeValue(out, item);
      return;
    case 'Dict':
      out.u8(TAG.Dict);
      return writeParams(out, value.value);
    case 'UInt8':
      out.u8(TAG.UInt8);
      return out.u8(value.value);
    case 'Int16':
      out.u8(TAG.Int16);
      return out.varint(zigzag32(value.value));
    case 'ShortArray':
    case 'IntArray':
    case 'LongArray':
    case 'FloatArray':
    case 'DoubleArray':
      out.u8(TAG[value.type]);
      return writePacked(out, value.value);
    case 'BoolArray': {
      out.u8(TAG.BoolArray);
      const items = value.value;
      out.varint(items.length);
      const bits = new Uint8Array(Math.ceil(items.length / 8));
      items.forEach((set, i) => {
        if (set) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
      });
      return out.raw(bits);
    }
    case 'StringArray':
      out.u8(TAG.StringArray);
      out.varint(value.value.length);
      for (const item of value.value) out.string(item);
      return;
    case 'Table': {
      out.u8(TAG.Table);
      const entries = value.value.entries();
      out.varint(entries.length);
      for (const [key, item] of entries) {
        writeKey(out, key);
        writeValue(out, item);
      }
      return;
    }
    case 'Custom':
      out.u8(TAG.Custom);
      out.u8(value.code);
      out.varint(value.value.length);
      return out.raw(value.value);
  }
}

/** Appends parameters in wire form, keys ascending, after nothing but the caller's own checks. */
export function writeParams(out: Writer, params: Params): void {
  const entries = params.entries();
  out.varint(entries.length);
  for (const [key, value] of entries) {
    out.u8(key);
    writeValue(out, value);
  }
}

/**
 * Refuses parameters a receiver with these limits would refuse, with the error it would report, and
 * values of a type the protocol version lacks (TypeNeedsVersion). The checks run in the decoder's order.
 */
export function checkParams(params: Params, limits: Limits = DEFAULT_LIMITS): void {
  new LimitCheck(limits).params(params, 0);
}

class LimitCheck {
  readonly budget: Budget;
  constructor(readonly limits: Limits) {
    this.budget = new Budget(limits);
  }

  params(params: Params, depth: number): void {
    checkEntries(this.limits, params.size);
    this.budget.spendBytes(params.size * ENTRY_COST);
    for (const [, value] of params) this.value(value, depth + 1);
  }

  string(text: string): void {
    const len = utf8Length(text);
    if (len > this.limits.maxString) throw stringTooLong(len, this.limits.maxString);
    this.budget.spendBytes(len);
  }

  bytes(len: number): void {
    if (len > this.limits.maxBytes) throw bytesTooLong(len, this.limits.maxBytes);
    this.budget.spendBytes(len);
  }

  packed(wire: number, memory: number): void {
    if (wire > this.limits.maxBytes) throw arrayTooLong(wire, this.limits.maxBytes);
    this.budget.spendBytes(memory);
  }

  value(value: Value, depth: number): void {
    this.budget.spendOne();
    const needs = typeVersion(value.type);
    const version = this.limits.protocolVersion;
    if (needs > version) {
      const what = TYPE_NAMES[value.type];
      const article = /^[aeiou]/.test(what) ? 'an' : 'a';
      throw new CodecError('TypeNeedsVersion', `${article} ${what} value needs protocol version ${needs}; this connection speaks version ${version}`);
    }
    switch (value.type) {
      case 'Str':
        return this.string(value.value);
      case 'Bytes':
      case 'Custom':
        return this.bytes(value.value.length);
      case 'List':
        checkDepth(this.limits, depth);
        checkEntries(this.limits, value.value.length);
        this.budget.spendBytes(value.value.length * VALUE_COST);
        for (const item of value.value) this.value(item, depth + 1);
        return;
      case 'Dict':
        checkDepth(this.limits, depth);
        return this.params(value.value, depth);
      case 'ShortArray':
      case 'IntArray':
      case 'LongArray':
      case 'FloatArray':
      case 'DoubleArray':
        return this.packed(value.value.byteLength, value.value.byteLength);
      case 'BoolArray':
        return this.packed(Math.ceil(value.value.length / 8), value.value.length);
      case 'StringArray':
        checkEntries(this.limits, value.value.length);
        this.budget.spendBytes(value.value.length * STRING_ELEMENT_COST);
        for (const item of value.value) this.string(item);
        return;
      case 'Table': {
        checkDepth(this.limits, depth);
        const table = value.value;
        checkEntries(this.limits, table.size);
        this.budget.spendBytes(table.size * TABLE_ENTRY_COST);
        for (const [key, item] of table) {
          if (key.type === 'Str') this.string(key.value);
          this.value(item, depth + 1);
        }
        return;
      }
      default:
        return;
    }
  }
}

/** Checks `params` (see `checkParams`) and returns their encoding. */
export function encodeParams(params: Params, limits: Limits = DEFAULT_LIMITS): Uint8Array {
  checkParams(params, limits);
  const out = new Writer();
  writeParams(out, params);
  return out.finish();
}

/** The decoded size of section 4.5, as the decoder charges it. */
export function decodedSize(params: Params): number {
  let size = 0;
  for (const [, value] of params) size += ENTRY_COST + innerSize(value);
  return size;
}

function innerSize(value: Value): number {
  switch (value.type) {
    case 'Str':
      return utf8Length(value.value);
    case 'Bytes':
    case 'Custom':
      return value.value.length;
    case 'List':
      return value.value.reduce((sum, item) => sum + VALUE_COST + innerSize(item), 0);
    case 'Dict':
      return decodedSize(value.value);
    case 'ShortArray':
    case 'IntArray':
    case 'LongArray':
    case 'FloatArray':
    case 'DoubleArray':
      return value.value.byteLength;
    case 'BoolArray':
      return value.value.length;
    case 'StringArray':
      return value.value.reduce((sum, item) => sum + STRING_ELEMENT_COST + utf8Length(item), 0);
    case 'Table':
      return value.value
        .entries()
        .reduce((sum, [key, item]) => sum + TABLE_ENTRY_COST + (key.type === 'Str' ? utf8Length(key.value) : 0) + innerSize(item), 0);
    default:
      return 0;
  }
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
