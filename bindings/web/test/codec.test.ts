/**
 * The codec: every type round-trips exactly, the encoding is canonical, and malformed or oversized
 * input is refused with the error section 4.6 names, before anything is allocated for it.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Bool,
  BoolArray,
  Bytes,
  CodecError,
  Custom,
  DEFAULT_LIMITS,
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
  checkParams,
  decodeParams,
  decodedSize,
  describe,
  describeParams,
  encodeParams,
  paramsEqual,
  toValue,
  valueEquals,
  readVector,
  Vector2,
  Vector3,
  Quaternion,
  type CodecErrorCode,
  type Limits,
  type Value,
} from '../src/index.js';
import { allTypes, edgeValues, nested } from './fixtures.js';
import { hex, unhex } from './spec.js';

function refused(code: CodecErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof CodecError, `expected a CodecError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

function roundTrip(params: Params, limits: Limits = DEFAULT_LIMITS): Uint8Array {
  const encoded = encodeParams(params, limits);
  const decoded = decodeParams(encoded, limits);
  assert.ok(paramsEqual(decoded, params), `decoded ${describeParams(decoded)}\n   sent ${describeParams(params)}`);
  // Canonical: what was decoded encodes to the same bytes.
  assert.equal(hex(encodeParams(decoded, limits)), hex(encoded));
  assert.equal(decodedSize(decoded), decodedSize(params));
  return encoded;
}

test('the 21 values of the cross-binding test round-trip with their types', () => {
  const encoded = roundTrip(allTypes());
  const decoded = decodeParams(encoded);
  const types = decoded.entries().map(([key, value]) => `${key}:${value.type}`);
  assert.deepEqual(types, [
    '1:UInt8', '2:Int16', '3:Int32', '4:Int64', '5:Float32', '6:Float64', '7:Bool', '8:Str', '9:Bytes',
    '10:ShortArray', '11:IntArray', '12:LongArray', '13:FloatArray', '14:DoubleArray', '15:BoolArray',
    '16:StringArray', '17:List', '18:Table', '19:Custom', '20:Dict', '21:Null',
  ]);
});

test('edge values of every type round-trip exactly, NaN payloads and signed zeros included', () => {
  const encoded = roundTrip(edgeValues());
  const decoded = decodeParams(encoded);
  assert.equal(decoded.typed(7, 'Float32')?.bits, 0x7fc00001);
  assert.equal(decoded.typed(11, 'Float64')?.bits, 0x7ff8000000000123n);
  assert.ok(Object.is(decoded.typed(6, 'Float32')?.value, -0));
  assert.ok(Object.is(decoded.typed(10, 'Float64')?.value, -0));
  const floats = decoded.typed(25, 'FloatArray')?.value as Float32Array;
  assert.deepEqual(Array.from(new Uint32Array(floats.buffer, floats.byteOffset, floats.length)), [0x7fc00001, 0x80000000, 0x3f800000]);
  assert.equal(decoded.typed(15, 'Str')?.value, '\u{feff}BOM, 𝄞 clef, 日本語, \u0000 nul', 'a leading BOM is kept');
  assert.equal(decoded.typed(4, 'Int64')?.value, -(1n << 63n));
  assert.equal(decoded.typed(24, 'LongArray')?.value[1], (1n << 63n) - 1n);
});

test('each type alone round-trips, and its encoding is what section 4.1 says', () => {
  const cases: Array<[Value, string]> = [
    [Null(), '00'],
    [Bool(false), '01'],
    [Bool(true), '02'],
    [Int32(-1), '03 01'],
    [Int32(-2147483648), '03 ff ff ff ff 0f'],
    [Int64(-(1n << 63n)), '04 ff ff ff ff ff ff ff ff ff 01'],
    [Float32(1.5), '05 00 00 c0 3f'],
    [Float64(-2.25), '06 00 00 00 00 00 00 02 c0'],
    [Str('é'), '07 02 c3 a9'],
    [Bytes([1, 2]), '08 02 01 02'],
    [List([Null()]), '09 01 00'],
    [Dict(new Params([[9, Bool(true)]])), '0a 01 09 02'],
    [UInt8(255), '0b ff'],
    [Int16(-32768), '0c ff ff 03'],
    [ShortArray([1]), '0d 01 01 00'],
    [IntArray([-1]), '0e 01 ff ff ff ff'],
    [LongArray([1n]), '0f 01 01 00 00 00 00 00 00 00'],
    [FloatArray([-1]), '10 01 00 00 80 bf'],
    [DoubleArray([1]), '11 01 00 00 00 00 00 00 f0 3f'],
    [BoolArray([false, false, false, false, false, false, false, false, true]), '12 09 00 01'],
    [StringArray(['ab']), '13 01 02 61 62'],
    [Table(new Hashtable([[Int16(1), Null()]])), '14 01 0c 02 00'],
    [Custom(87, [9]), '15 57 01 09'],
  ];
  for (const [value, wire] of cases) {
    const params = new Params([[1, value]]);
    assert.equal(hex(encodeParams(params)), hex(unhex('01 01', wire)), describe(value));
    assert.ok(valueEquals(decodeParams(encodeParams(params)).get(1) as Value, value), describe(value));
  }
});

test('table keys of different types are different keys, and are written in type, then value order', () => {
  const table = new Hashtable([
    [Int16(1), Str('short')],
    [UInt8(1), Str('byte')],
    [Str('b'), Null()],
    [Str('a'), Null()],
    [Int64(1n), Str('long')],
    [Int32(1), Str('int')],
    [Int32(-5), Null()],
  ]);
  assert.equal(table.size, 7);
  const encoded = roundTrip(new Params([[0, Table(table)]]));
  const keys = decodeParams(encoded).typed(0, 'Table')?.value.entries().map(([key]) => describe(key));
  assert.deepEqual(keys, ['Int32(-5)', 'Int32(1)', 'Int64(1n)', 'Str("a")', 'Str("b")', 'UInt8(1)', 'Int16(1)']);
  // Strings sort by their UTF-8 bytes, not by UTF-16 code units: U+FFFD (ef bf bd) before U+1D11E (f0 ...).
  const strings = new Hashtable([[Str('𝄞'), Null()], [Str('\ufffd'), Null()]]);
  assert.deepEqual(strings.entries().map(([key]) => key.value), ['\ufffd', '𝄞']);
});

test('a receiver accepts keys in any order and yields them sorted', () => {
  const decoded = decodeParams(unhex('02 05 00 01 00'));
  assert.deepEqual(decoded.keys(), [1, 5]);
  const table = decodeParams(unhex('01 00 14 02 0b 01 00 03 02 00')).typed(0, 'Table')?.value;
  assert.deepEqual(table?.entries().map(([key]) => describe(key)), ['Int32(1)', 'UInt8(1)']);
});

test('plain JS values get a documented wire type', () => {
  const params = new Params({ 1: 5, 2: 2 ** 40, 3: 1.5, 4: 'x', 5: true, 6: null, 7: 7n, 8: new Uint8Array([1]), 9: [1, 'a'], 10: { hp: 5 } });
  const types = params.entries().map(([, value]) => value.type);
  assert.deepEqual(types, ['Int32', 'Float64', 'Float64', 'Str', 'Bool', 'Null', 'Int64', 'Bytes', 'List', 'Table']);
  assert.equal(toValue(new Float32Array([1])).type, 'FloatArray');
  assert.throws(() => toValue(new Date() as never), TypeError);
});

test('value constructors refuse what their type cannot hold', () => {
  assert.throws(() => Int32(2 ** 31), RangeError);
  assert.throws(() => Int32(1.5), RangeError);
  assert.throws(() => Int16(40000), RangeError);
  assert.throws(() => UInt8(-1), RangeError);
  assert.throws(() => Int64(1n << 63n), RangeError);
  assert.throws(() => Int64(2 ** 60), RangeError, 'an unsafe number is not an exact integer');
  assert.throws(() => ShortArray([70000]), RangeError, 'elements are not wrapped silently');
  assert.throws(() => Str('\ud800'), RangeError, 'a lone surrogate has no UTF-8 form');
  assert.throws(() => StringArray(['ok', '\udc00']), RangeError);
  assert.throws(() => Custom(256, []), RangeError);
  assert.throws(() => new Params().set(256, 1), RangeError);
  assert.throws(() => Bytes([256]), RangeError);
});

test('values are copies: changing the source array afterwards changes nothing sent', () => {
  const source = new Uint8Array([1, 2, 3]);
  const value = Bytes(source);
  source[0] = 9;
  assert.equal(value.value[0], 1);
  const floats = new Float32Array([1]);
  const packed = FloatArray(floats);
  floats[0] = 2;
  assert.equal(packed.value[0], 1);
});

test('every strict prefix of a valid encoding is refused as truncated', () => {
  const encoded = encodeParams(allTypes());
  for (let len = 0; len < encoded.length; len++) {
    assert.throws(() => decodeParams(encoded.subarray(0, len)), (error: unknown) => {
      assert.ok(error instanceof CodecError, String(error));
      // A cut inside a string can leave a partial UTF-8 sequence, a cut after a count leaves too
      // few bytes for it: both are the truncation of one input.
      assert.ok(['Truncated', 'InvalidUtf8'].includes(error.code), `prefix ${len}: ${error.code}`);
      return true;
    }, `prefix of ${len} bytes`);
  }
  assert.throws(() => decodeParams(new Uint8Array([...encoded, 0])), refused('TrailingBytes'));
});

test('malformed varints and integers out of their width', () => {
  assert.throws(() => decodeParams(unhex('01 00 04 ff ff ff ff ff ff ff ff ff 02')), refused('VarintOverflow'), 'tenth byte above 1');
  assert.throws(() => decodeParams(unhex('01 00 04 ff ff ff ff ff ff ff ff ff 81 00')), refused('VarintOverflow'), 'eleven bytes');
  assert.throws(() => decodeParams(unhex('01 00 04 80 00')), refused('NonCanonicalVarint'));
  assert.throws(() => decodeParams(unhex('80 00')), refused('NonCanonicalVarint'), 'a count too');
  assert.throws(() => decodeParams(unhex('01 00 03 80 80 80 80 10')), refused('VarintOverflow'), 'Int of 2^32');
  assert.equal(decodeParams(unhex('01 00 03 fe ff ff ff 0f')).typed(0, 'Int32')?.value, 2147483647);
  assert.throws(() => decodeParams(unhex('01 00 0c 80 80 04')), refused('VarintOverflow'), 'Short of 2^16');
  assert.equal(decodeParams(unhex('01 00 0c fe ff 03')).typed(0, 'Int16')?.value, 32767);
  assert.equal(decodeParams(unhex('01 00 04 fe ff ff ff ff ff ff ff ff 01')).typed(0, 'Int64')?.value, (1n << 63n) - 1n);
});

test('unknown tags, by protocol version', () => {
  assert.throws(() => decodeParams(unhex('01 00 16')), refused('UnknownTag'));
  assert.throws(() => decodeParams(unhex('01 00 ff')), refused('UnknownTag'));
  const v1: Limits = { ...DEFAULT_LIMITS, protocolVersion: 1 };
  assert.throws(() => decodeParams(unhex('01 00 0b 01'), v1), refused('UnknownTag'));
  assert.equal(decodeParams(unhex('01 00 0b 01')).typed(0, 'UInt8')?.value, 1);
});

test('tables: invalid key types and repeated keys', () => {
  assert.throws(() => decodeParams(unhex('01 00 14 01 00 00 00')), refused('InvalidTableKey'), 'a null key');
  assert.throws(() => decodeParams(unhex('01 00 14 01 05 00 00 80 3f 00')), refused('InvalidTableKey'), 'a float key');
  assert.throws(() => decodeParams(unhex('01 00 14 02 03 02 00 03 02 01')), refused('DuplicateTableKey'));
  // The same number under two key types is two keys.
  assert.equal(decodeParams(unhex('01 00 14 02 03 02 00 0c 02 01')).typed(0, 'Table')?.value.size, 2);
  assert.throws(() => decodeParams(unhex('02 07 00 07 01')), refused('DuplicateKey'));
});

test('bool arrays: padding bits must be zero', () => {
  assert.throws(() => decodeParams(unhex('01 00 12 03 0d')), refused('NonZeroPadding'));
  assert.deepEqual(decodeParams(unhex('01 00 12 03 05')).typed(0, 'BoolArray')?.value, [true, false, true]);
  assert.deepEqual(decodeParams(unhex('01 00 12 00')).typed(0, 'BoolArray')?.value, []);
});

test('invalid UTF-8 is refused, in values, keys and string arrays', () => {
  for (const bad of ['ff', 'c0 80', 'ed a0 80', 'f4 90 80 80', 'e2 82']) {
    const bytes = unhex(bad);
    assert.throws(() => decodeParams(unhex('01 00 07', bytes.length.toString(16).padStart(2, '0'), bad)), refused('InvalidUtf8'), bad);
  }
  assert.throws(() => decodeParams(unhex('01 00 13 01 01 ff')), refused('InvalidUtf8'));
  assert.throws(() => decodeParams(unhex('01 00 14 01 07 01 ff 00')), refused('InvalidUtf8'));
});

test('declared lengths over a limit are refused before the bytes are looked for', () => {
  // 65 537 declared, nothing present: the limit is reported, not the truncation.
  assert.throws(() => decodeParams(unhex('01 00 07 81 80 04')), refused('StringTooLong'));
  assert.throws(() => decodeParams(unhex('01 00 08 81 80 10')), refused('BytesTooLong'));
  assert.throws(() => decodeParams(unhex('01 00 15 01 81 80 10')), refused('BytesTooLong'), 'custom data');
  assert.throws(() => decodeParams(unhex('01 00 0f 81 80 02')), refused('ArrayTooLong'), '32 769 longs are 262 152 bytes');
  assert.throws(() => decodeParams(unhex('01 00 12 81 80 80 01')), refused('ArrayTooLong'), 'bool array of 262 145 bytes');
  assert.throws(() => decodeParams(unhex('01 00 0e ff ff ff ff ff ff ff ff ff 01')), refused('ArrayTooLong'), 'a count of 2^64-1');
  assert.throws(() => decodeParams(unhex('81 20')), refused('TooManyEntries'), '4097 top-level entries');
  assert.throws(() => decodeParams(unhex('01 00 09 81 20')), refused('TooManyEntries'));
  assert.throws(() => decodeParams(unhex('01 00 13 81 20')), refused('TooManyEntries'));
  assert.throws(() => decodeParams(unhex('01 00 14 81 20')), refused('TooManyEntries'));
  // Within the limit, but more than the input left could hold: refused before any space is reserved.
  assert.throws(() => decodeParams(unhex('80 20 00')), refused('Truncated'));
  assert.throws(() => decodeParams(unhex('01 00 09 80 20 00')), refused('Truncated'));
  assert.throws(() => decodeParams(unhex('01 00 0e 02 00 00 00 00')), refused('Truncated'), 'a packed array shorter than its count');
});

test('depth: 8 levels are allowed, 9 are refused, for lists, maps and tables', () => {
  roundTrip(new Params([[0, nested(8)]]));
  assert.throws(() => encodeParams(new Params([[0, nested(9)]])), refused('DepthExceeded'));
  const deep = (open: string) => unhex('01 00', open.repeat(9), '00'.repeat(1));
  assert.throws(() => decodeParams(deep('09 01')), refused('DepthExceeded'));
  assert.throws(() => decodeParams(deep('0a 01 00')), refused('DepthExceeded'));
  assert.throws(() => decodeParams(deep('14 01 03 00')), refused('DepthExceeded'));
  assert.equal(decodeParams(unhex('01 00', '09 01'.repeat(8), '00')).size, 1);
  // Depth is checked on the tag, before the count is read.
  assert.throws(() => decodeParams(unhex('01 00', '09 01'.repeat(8), '09')), refused('DepthExceeded'));
});

test('the total number of values and the decoded size are bounded', () => {
  const small: Limits = { ...DEFAULT_LIMITS, maxTotalValues: 3 };
  assert.throws(() => decodeParams(unhex('01 00 09 03 00 00 00'), small), refused('TooManyValues'));
  assert.equal(decodeParams(unhex('01 00 09 02 00 00'), small).size, 1);
  assert.throws(() => encodeParams(new Params([[0, List([Null(), Null(), Null()])]]), small), refused('TooManyValues'));

  // 40 per entry, 32 per list element, bytes of strings: { 0: List[Str("ab")] } is 40 + 32 + 2.
  const params = new Params([[0, List([Str('ab')])]]);
  assert.equal(decodedSize(params), 74);
  const tight: Limits = { ...DEFAULT_LIMITS, maxDecodedBytes: 73 };
  assert.throws(() => decodeParams(encodeParams(params), tight), refused('DecodedTooLarge'));
  assert.throws(() => encodeParams(params, tight), refused('DecodedTooLarge'));
  assert.equal(decodeParams(encodeParams(params), { ...tight, maxDecodedBytes: 74 }).size, 1);
});

test('decoded size follows section 4.5 for every type', () => {
  const params = new Params([
    [0, Str('abc')], // 40 + 3
    [1, StringArray(['a', 'bc'])], // 40 + 24 + 1 + 24 + 2
    [2, IntArray([1, 2])], // 40 + 8
    [3, BoolArray([true, false, true])], // 40 + 3
    [4, Table(new Hashtable([[Str('k'), Int32(1)]]))], // 40 + 64 + 1
    [5, Dict(new Params([[1, Null()]]))], // 40 + 40
    [6, Custom(1, [1, 2])], // 40 + 2
  ]);
  assert.equal(decodedSize(params), 43 + 91 + 48 + 43 + 105 + 80 + 42);
  assert.equal(decodedSize(decodeParams(encodeParams(params))), decodedSize(params));
});

test('a sender is refused what a receiver would refuse, and types a version lacks', () => {
  const v1: Limits = { ...DEFAULT_LIMITS, protocolVersion: 1 };
  assert.throws(() => checkParams(new Params([[0, UInt8(1)]]), v1), (error: unknown) => {
    refused('TypeNeedsVersion')(error);
    assert.match((error as Error).message, /a byte value needs protocol version 2; this connection speaks version 1/);
    return true;
  });
  assert.throws(() => checkParams(new Params([[0, List([Int16(1)])]]), v1), refused('TypeNeedsVersion'), 'at any depth');
  assert.throws(() => checkParams(new Params([[0, Str('x'.repeat(65537))]])), refused('StringTooLong'));
  assert.throws(() => checkParams(new Params([[0, StringArray(['é'.repeat(32769)])]])), refused('StringTooLong'), 'limits count UTF-8 bytes');
  assert.throws(() => checkParams(new Params([[0, Table(new Hashtable([[Str('x'.repeat(65537)), Null()]]))]])), refused('StringTooLong'), 'table keys too');
  assert.throws(() => checkParams(new Params([[0, Bytes(new Uint8Array(262145))]])), refused('BytesTooLong'));
  assert.throws(() => checkParams(new Params([[0, IntArray(new Int32Array(65537))]])), refused('ArrayTooLong'));
  assert.throws(() => checkParams(new Params([[0, List(new Array(4097).fill(null))]])), refused('TooManyEntries'));
  checkParams(new Params([[0, Bytes(new Uint8Array(262144))]]));
});

test('random values round-trip, and random corruptions only ever throw CodecErrors', () => {
  // A small deterministic generator, so a failure repeats.
  let seed = 0x2545f491;
  const next = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const scalar = (): Value => {
    switch (next(10)) {
      case 0: return Int32(next(2 ** 31) - next(2 ** 31));
      case 1: return Int64(BigInt(next(2 ** 31)) * BigInt(next(2 ** 31)) * (next(2) ? 1n : -1n));
      case 2: return Float32.fromBits(next(2 ** 32));
      case 3: return Float64.fromBits((BigInt(next(2 ** 32)) << 32n) | BigInt(next(2 ** 32)));
      case 4: return Str(String.fromCodePoint(...Array.from({ length: next(5) }, () => next(0xd000))));
      case 5: return Bytes(Array.from({ length: next(6) }, () => next(256)));
      case 6: return UInt8(next(256));
      case 7: return Int16(next(65536) - 32768);
      case 8: return BoolArray(Array.from({ length: next(12) }, () => next(2) === 1));
      default: return Custom(next(256), Array.from({ length: next(4) }, () => next(256)));
    }
  };
  const value = (depth: number): Value => {
    if (depth >= 3 || next(3) > 0) return scalar();
    switch (next(3)) {
      case 0: return List(Array.from({ length: next(4) }, () => value(depth + 1)));
      case 1: return Dict(new Params(Array.from({ length: next(4) }, () => [next(256), value(depth + 1)] as const)));
      default: return Table(new Hashtable(Array.from({ length: next(4) }, () => [next(2) ? Str(`k${next(9)}`) : UInt8(next(9)), value(depth + 1)] as const)));
    }
  };
  for (let round = 0; round < 300; round++) {
    const params = new Params(Array.from({ length: next(6) }, () => [next(256), value(0)] as const));
    const encoded = roundTrip(params);
    for (let flip = 0; flip < 5 && encoded.length > 0; flip++) {
      const corrupt = encoded.slice();
      corrupt[next(corrupt.length)] = next(256);
      try {
        decodeParams(corrupt);
      } catch (error) {
        assert.ok(error instanceof CodecError, `a corruption threw ${String(error)}`);
      }
    }
  }
});

test('Int32, Int16 and UInt8 of the same number are different values', () => {
  assert.ok(!valueEquals(Int32(5), Int16(5)));
  assert.ok(!valueEquals(Int32(5), UInt8(5)));
  assert.ok(!valueEquals(Int64(5n), Int32(5)));
  assert.ok(!valueEquals(Float32(1), Float64(1)));
  assert.ok(valueEquals(Float64.fromBits(0x7ff8000000000001n), Float64.fromBits(0x7ff8000000000001n)), 'NaNs equal by bits');
  assert.ok(!valueEquals(Float64(0), Float64(-0)));
  assert.ok(!paramsEqual(new Params([[1, Int32(5)]]), new Params([[1, Int16(5)]])));
});

test('a Str limit counts bytes, and decoded keys are not confused with Str values', () => {
  const atLimit = new Params([[0, Str('x'.repeat(65536))]]);
  roundTrip(atLimit);
  assert.equal(Table(new Hashtable([[Str('a'), Bool(true)]])).value.get('a')?.type, 'Bool');
});

test('vector helpers build the custom values the other bindings read', () => {
  assert.equal(hex(encodeParams(new Params([[19, Vector3(1, 2, 3)]]))), hex(unhex('01 13 15 56 0c 0000803f 00000040 00004040')));
  assert.deepEqual(readVector(allTypes().get(19)), [1, 2, 3]);
  assert.deepEqual(readVector(Vector2(0.5, -1)), [0.5, -1]);
  assert.deepEqual(readVector(Quaternion(0, 0, 0, 1)), [0, 0, 0, 1]);
  assert.equal(readVector(Custom(86, [1, 2])), undefined, 'the wrong size');
  assert.equal(readVector(Custom(1, new Uint8Array(12))), undefined, 'another code');
  assert.equal(readVector(Int32(1)), undefined);
});
