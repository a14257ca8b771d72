/**
 * Values shared by the unit tests and the browser test: the 21 values of tests/cross/README.md (every
 * binding sends and checks the same ones), and values at the edges of each type.
 */

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
  Vector3,
} from '../src/index.js';

/** tests/cross/README.md, "The data": parameter 245 of the cross-binding event. */
export function allTypes(): Params {
  return new Params([
    [1, UInt8(200)],
    [2, Int16(-12345)],
    [3, Int32(-100000)],
    [4, Int64(1099511627776n)],
    [5, Float32(1.5)],
    [6, Float64(-2.25)],
    [7, Bool(true)],
    [8, Str('héllo wörld')],
    [9, Bytes([0, 1, 254, 255])],
    [10, ShortArray([-1, 2, 300])],
    [11, IntArray([7, -8, 9000000])],
    [12, LongArray([-1n, 4294967296n])],
    [13, FloatArray([0.5, -1.25])],
    [14, DoubleArray([3.5, -0.125])],
    [15, BoolArray([true, false, true])],
    [16, StringArray(['a', 'β', ''])],
    [17, List([Int32(1), Str('two'), Null(), Bool(false)])],
    [18, Table(new Hashtable([[Str('name'), Str('Ann')], [Str('score'), Int32(10)], [Int32(7), Float64(0.25)]]))],
    [19, Vector3(1, 2, 3)],
    [20, Dict(new Params([[1, Int32(5)]]))],
    [21, Null()],
  ]);
}

/** A Dict nested `depth` levels deep (the innermost holds Int32(depth)). */
export function nested(depth: number): Dict {
  let inner = Dict(new Params([[0, Int32(depth)]]));
  for (let level = 1; level < depth; level++) inner = Dict(new Params([[0, inner]]));
  return inner;
}

/**
 * Values at the edges of every type: extremes, zero lengths, signed zeros, NaN payloads, text outside
 * the BMP and a leading byte-order mark, every table key type, and a Dict nested `nesting` levels
 * deep: 8 reaches the depth limit at the top level; inside an event's data (itself at depth 1), 7 does.
 */
export function edgeValues(nesting = 8): Params {
  const bigTable = new Hashtable([
    [Int32(-1), Str('int')],
    [Int64(-1n), Str('long')],
    [Str(''), Str('empty string key')],
    [Str('é'), Null()],
    [UInt8(0), Str('byte')],
    [UInt8(255), Bool(true)],
    [Int16(-32768), Str('short')],
    [Int32(1), List([])],
  ]);
  return new Params([
    [0, Null()],
    [1, Bool(false)],
    [2, Int32(-2147483648)],
    [3, Int32(2147483647)],
    [4, Int64(-(1n << 63n))],
    [5, Int64((1n << 63n) - 1n)],
    [6, Float32(-0)],
    [7, Float32.fromBits(0x7fc00001)], // a quiet NaN with a payload
    [8, Float32.fromBits(0x7f800000)], // +infinity
    [9, Float32.fromBits(0x00000001)], // the smallest subnormal
    [10, Float64(-0)],
    [11, Float64.fromBits(0x7ff8000000000123n)],
    [12, Float64(Number.MIN_VALUE)],
    [13, Float64(Number.MAX_VALUE)],
    [14, Str('')],
    [15, Str('\u{feff}BOM, 𝄞 clef, 日本語, \u0000 nul')],
    [16, Bytes([])],
    [17, UInt8(0)],
    [18, UInt8(255)],
    [19, Int16(-32768)],
    [20, Int16(32767)],
    [21, ShortArray([])],
    [22, ShortArray([-32768, 32767, 0])],
    [23, IntArray([-2147483648, 2147483647])],
    [24, LongArray([-(1n << 63n), (1n << 63n) - 1n, 0n])],
    [25, FloatArray(new Float32Array(new Uint32Array([0x7fc00001, 0x80000000, 0x3f800000]).buffer))],
    [26, DoubleArray(new Float64Array(new BigUint64Array([0x7ff8000000000123n, 0x8000000000000000n]).buffer))],
    [27, BoolArray([])],
    [28, BoolArray([true, true, true, true, true, true, true, true, false])],
    [29, StringArray([])],
    [30, StringArray(['', '𝄞', 'x'.repeat(300)])],
    [31, Table(new Hashtable())],
    [32, Table(bigTable)],
    [33, Custom(0, [])],
    [34, Custom(255, [1, 2, 3])],
    [35, List([List([]), Dict(new Params()), Table(new Hashtable()), Int16(1), UInt8(2)])],
    [36, nested(nesting)],
    [37, Dict(new Params())],
    [38, Bytes(Uint8Array.from({ length: 1000 }, (_, i) => i % 256))],
    [255, Str('the last key')],
  ]);
}
