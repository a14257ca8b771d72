/**
 * The typed values of sealnet parameters (docs/protocol.md section 4.1), one kind per wire type.
 *
 * JavaScript has one number type and no integer widths, so a value that must arrive as a `short` or a
 * `float` carries its wire type with it: `Int16(5)` and `Int32(5)` are different values and encode
 * differently. Each value is a frozen object `{ type, value }` made by the function of the same name
 * (`Int32(5)`, `Int64(5n)`, `Str("hi")`); the type of the object has that name too, so TypeScript
 * narrows on `value.type`. Decoding gives back exactly the kinds that were sent, so typed values
 * round-trip: a `UInt8(200)` from a C player arrives as a `UInt8`, not as a number that lost its type.
 *
 * Floats keep their exact bit pattern (NaN payloads included): a `Float32` or `Float64` holds its bits,
 * and its `value` is only a reading of them, because converting a NaN to a JS number may change its
 * payload.
 */

/** Wire type names, which are also the `type` tags of the value objects. */
export type ValueType = Value['type'];

export interface Null {
  readonly type: 'Null';
  readonly value: null;
}
export interface Bool {
  readonly type: 'Bool';
  readonly value: boolean;
}
/** Tag 0x03: a signed 32-bit integer (C# `int`). */
export interface Int32 {
  readonly type: 'Int32';
  readonly value: number;
}
/** Tag 0x04: a signed 64-bit integer (C# `long`); a bigint, since a number holds only 53 bits. */
export interface Int64 {
  readonly type: 'Int64';
  readonly value: bigint;
}
/** Tag 0x05: an IEEE 754 single (C# `float`). `bits` is the exact pattern sent. */
export interface Float32 {
  readonly type: 'Float32';
  readonly value: number;
  readonly bits: number;
}
/** Tag 0x06: an IEEE 754 double (C# `double`). `bits` is the exact pattern sent. */
export interface Float64 {
  readonly type: 'Float64';
  readonly value: number;
  readonly bits: bigint;
}
/** Tag 0x07: UTF-8 text (C# `string`). */
export interface Str {
  readonly type: 'Str';
  readonly value: string;
}
/** Tag 0x08: raw bytes (C# `byte[]`). */
export interface Bytes {
  readonly type: 'Bytes';
  readonly value: Uint8Array;
}
/** Tag 0x09: values of any types (C# `object[]`). */
export interface List {
  readonly type: 'List';
  readonly value: readonly Value[];
}
/** Tag 0x0A: a byte-keyed map (C# `Dictionary<byte, object>`), like the top-level parameters. */
export interface Dict {
  readonly type: 'Dict';
  readonly value: Params;
}
/** Tag 0x0B (version 2): an unsigned byte (C# `byte`). */
export interface UInt8 {
  readonly type: 'UInt8';
  readonly value: number;
}
/** Tag 0x0C (version 2): a signed 16-bit integer (C# `short`). */
export interface Int16 {
  readonly type: 'Int16';
  readonly value: number;
}
/** Tag 0x0D (version 2): `short[]`. */
export interface ShortArray {
  readonly type: 'ShortArray';
  readonly value: Int16Array;
}
/** Tag 0x0E (version 2): `int[]`. */
export interface IntArray {
  readonly type: 'IntArray';
  readonly value: Int32Array;
}
/** Tag 0x0F (version 2): `long[]`. */
export interface LongArray {
  readonly type: 'LongArray';
  readonly value: BigInt64Array;
}
/** Tag 0x10 (version 2): `float[]`; the array's buffer holds the exact bit patterns. */
export interface FloatArray {
  readonly type: 'FloatArray';
  readonly value: Float32Array;
}
/** Tag 0x11 (version 2): `double[]`; the array's buffer holds the exact bit patterns. */
export interface DoubleArray {
  readonly type: 'DoubleArray';
  readonly value: Float64Array;
}
/** Tag 0x12 (version 2): `bool[]`. */
export interface BoolArray {
  readonly type: 'BoolArray';
  readonly value: readonly boolean[];
}
/** Tag 0x13 (version 2): `string[]`. */
export interface StringArray {
  readonly type: 'StringArray';
  readonly value: readonly string[];
}
/** Tag 0x14 (version 2): a table keyed by scalars (Photon's `Hashtable`, custom properties). */
export interface Table {
  readonly type: 'Table';
  readonly value: Hashtable;
}
/** Tag 0x15 (version 2): an application type: its code and the bytes its serializer made. */
export interface Custom {
  readonly type: 'Custom';
  readonly code: number;
  readonly value: Uint8Array;
}

export type Value =
  | Null
  | Bool
  | Int32
  | Int64
  | Float32
  | Float64
  | Str
  | Bytes
  | List
  | Dict
  | UInt8
  | Int16
  | ShortArray
  | IntArray
  | LongArray
  | FloatArray
  | DoubleArray
  | BoolArray
  | StringArray
  | Table
  | Custom;

/** The value types a table key may have (docs/protocol.md section 4.4). */
export type TableKey = Int32 | Int64 | Str | UInt8 | Int16;

/** What `toValue` accepts: a typed value, or a plain JS value whose wire type it picks. */
export type ValueInput =
  | Value
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | Params
  | Hashtable
  | readonly ValueInput[]
  | { readonly [key: string]: ValueInput };

/** What a table key may be given as: a typed key, a string (Str), a number (Int32) or a bigint (Int64). */
export type TableKeyInput = TableKey | string | number | bigint;

const VALUE_TYPES: ReadonlySet<string> = new Set<ValueType>([
  'Null', 'Bool', 'Int32', 'Int64', 'Float32', 'Float64', 'Str', 'Bytes', 'List', 'Dict', 'UInt8', 'Int16',
  'ShortArray', 'IntArray', 'LongArray', 'FloatArray', 'DoubleArray', 'BoolArray', 'StringArray', 'Table', 'Custom',
]);

/** Whether `x` is one of the value objects of this module. */
export function isValue(x: unknown): x is Value {
  return typeof x === 'object' && x !== null && VALUE_TYPES.has((x as { type?: unknown }).type as string);
}

// The scratch space that turns numbers into bit patterns and back. One per module is enough: JS runs
// one piece of code at a time.
const scratch = new DataView(new ArrayBuffer(8));

function integer(kind: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${kind} needs an integer from ${min} to ${max}, not ${String(value)}`);
  }
  // -0 would read back as 0; it is the same integer, so store the one the decoder produces.
  return value === 0 ? 0 : value;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function int64(value: bigint | number): bigint {
  const big = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (big === undefined || big < INT64_MIN || big > INT64_MAX) {
    throw new RangeError(`Int64 needs an integer from -2^63 to 2^63-1 (a bigint, or a safe integer), not ${String(value)}`);
  }
  return big;
}

/** Refuses a string with a lone surrogate: it has no UTF-8 form, so it could never arrive as it was. */
export function checkText(text: string, what = 'a string'): string {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string`);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new RangeError(`${what} holds a lone surrogate at index ${i}: it has no UTF-8 form`);
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      throw new RangeError(`${what} holds a lone surrogate at index ${i}: it has no UTF-8 form`);
    }
  }
  return text;
}

function byteCode(what: string, code: number): number {
  return integer(what, code, 0, 255);
}

const NULL: Null = Object.freeze({ type: 'Null', value: null });

export function Null(): Null {
  return NULL;
}
export function Bool(value: boolean): Bool {
  if (typeof value !== 'boolean') throw new TypeError('Bool needs true or false');
  return Object.freeze({ type: 'Bool', value });
}
export function Int32(value: number): Int32 {
  return Object.freeze({ type: 'Int32', value: integer('Int32', value, -0x80000000, 0x7fffffff) });
}
export function Int64(value: bigint | number): Int64 {
  return Object.freeze({ type: 'Int64', value: int64(value) });
}
/** A float from a number, rounded to the nearest single as C# `(float)x` does. */
export function Float32(value: number): Float32 {
  if (typeof value !== 'number') throw new TypeError('Float32 needs a number');
  scratch.setFloat32(0, value);
  return Float32.fromBits(scratch.getUint32(0));
}
/** A float with exactly these 32 bits. */
Float32.fromBits = (bits: number): Float32 => {
  const exact = integer('Float32 bits', bits, 0, 0xffffffff);
  scratch.setUint32(0, exact);
  return Object.freeze({ type: 'Float32', value: scratch.getFloat32(0), bits: exact });
};
export function Float64(value: number): Float64 {
  if (typeof value !== 'number') throw new TypeError('Float64 needs a number');
  scratch.setFloat64(0, value);
  return Float64.fromBits(scratch.getBigUint64(0));
}
/** A double with exactly these 64 bits. */
Float64.fromBits = (bits: bigint): Float64 => {
  if (typeof bits !== 'bigint' || bits < 0n || bits > 0xffffffffffffffffn) {
    throw new RangeError('Float64 bits must be a bigint from 0 to 2^64-1');
  }
  scratch.setBigUint64(0, bits);
  return Object.freeze({ type: 'Float64', value: scratch.getFloat64(0), bits });
};
export function Str(value: string): Str {
  return Object.freeze({ type: 'Str', value: checkText(value) });
}
/** Bytes, copied, so later changes to the caller's array do not change what is sent. */
export function Bytes(value: Uint8Array | readonly number[]): Bytes {
  return Object.freeze({ type: 'Bytes', value: byteArray('Bytes', value) });
}
export function List(values: readonly ValueInput[]): List {
  if (!Array.isArray(values)) throw new TypeError('List needs an array of values');
  return Object.freeze({ type: 'List', value: Object.freeze(values.map(toValue)) });
}
export function Dict(params: Params | ParamsInit): Dict {
  return Object.freeze({ type: 'Dict', value: params instanceof Params ? params : new Params(params) });
}
export function UInt8(value: number): UInt8 {
  return Object.freeze({ type: 'UInt8', value: integer('UInt8', value, 0, 0xff) });
}
export function Int16(value: number): Int16 {
  return Object.freeze({ type: 'Int16', value: integer('Int16', value, -0x8000, 0x7fff) });
}
export function ShortArray(values: Int16Array | readonly number[]): ShortArray {
  const copy = values instanceof Int16Array ? values.slice() : Int16Array.from(values, (v) => integer('ShortArray element', v, -0x8000, 0x7fff));
  return Object.freeze({ type: 'ShortArray', value: copy });
}
export function IntArray(values: Int32Array | readonly number[]): IntArray {
  const copy = values instanceof Int32Array ? values.slice() : Int32Array.from(values, (v) => integer('IntArray element', v, -0x80000000, 0x7fffffff));
  return Object.freeze({ type: 'IntArray', value: copy });
}
export function LongArray(values: BigInt64Array | readonly (bigint | number)[]): LongArray {
  const copy = values instanceof BigInt64Array ? values.slice() : BigInt64Array.from(values, int64);
  return Object.freeze({ type: 'LongArray', value: copy });
}
/** Numbers are rounded to singles; a Float32Array is copied bit for bit. */
export function FloatArray(values: Float32Array | readonly number[]): FloatArray {
  const copy = values instanceof Float32Array ? copyBits(values) : Float32Array.from(values, (v) => {
    if (typeof v !== 'number') throw new TypeError('FloatArray needs numbers');
    return v;
  });
  return Object.freeze({ type: 'FloatArray', value: copy });
}
/** A Float64Array is copied bit for bit. */
export function DoubleArray(values: Float64Array | readonly number[]): DoubleArray {
  const copy = values instanceof Float64Array ? copyBits(values) : Float64Array.from(values, (v) => {
    if (typeof v !== 'number') throw new TypeError('DoubleArray needs numbers');
    return v;
  });
  return Object.freeze({ type: 'DoubleArray', value: copy });
}
export function BoolArray(values: readonly boolean[]): BoolArray {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'boolean')) throw new TypeError('BoolArray needs booleans');
  return Object.freeze({ type: 'BoolArray', value: Object.freeze(values.slice()) });
}
export function StringArray(values: readonly string[]): StringArray {
  if (!Array.isArray(values)) throw new TypeError('StringArray needs an array of strings');
  const copy = values.map((v, i) => checkText(v, `StringArray element ${i}`));
  return Object.freeze({ type: 'StringArray', value: Object.freeze(copy) });
}
export function Table(table: Hashtable | HashtableInit): Table {
  return Object.freeze({ type: 'Table', value: table instanceof Hashtable ? table : new Hashtable(table) });
}
/** An application type (Photon's `RegisterType`): its code and the bytes its serializer produced. */
export function Custom(code: number, data: Uint8Array | readonly number[]): Custom {
  return Object.freeze({ type: 'Custom', code: byteCode('Custom code', code), value: byteArray('Custom data', data) });
}

function byteArray(what: string, data: Uint8Array | readonly number[]): Uint8Array {
  if (data instanceof Uint8Array) return data.slice();
  if (!Array.isArray(data)) throw new TypeError(`${what} needs a Uint8Array or an array of byte values`);
  return Uint8Array.from(data, (v) => integer(`${what} element`, v, 0, 255));
}

/** A copy through the buffer, so NaN payloads are not touched by a conversion to number. */
function copyBits<T extends Float32Array | Float64Array>(values: T): T {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  return (values instanceof Float32Array ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer)) as T;
}

/**
 * A typed value from a plain JS one, for code that does not care about widths:
 * null/undefined → Null, boolean → Bool, an integer number in 32 bits → Int32, any other number →
 * Float64, bigint → Int64, string → Str, Uint8Array → Bytes, the typed arrays Int16Array, Int32Array,
 * BigInt64Array, Float32Array and Float64Array → the packed arrays, an array → List, Params → Dict,
 * Hashtable → Table, and a plain object → a Table keyed by its property names. Typed values pass
 * through unchanged. Use the typed constructors where the receiver expects a given type.
 */
export function toValue(input: ValueInput): Value {
  if (input === null || input === undefined) return NULL;
  if (isValue(input)) return input;
  switch (typeof input) {
    case 'boolean':
      return Bool(input);
    case 'number':
      return Number.isInteger(input) && input >= -0x80000000 && input <= 0x7fffffff ? Int32(input) : Float64(input);
    case 'bigint':
      return Int64(input);
    case 'string':
      return Str(input);
  }
  if (input instanceof Uint8Array) return Bytes(input);
  if (input instanceof Int16Array) return ShortArray(input);
  if (input instanceof Int32Array) return IntArray(input);
  if (input instanceof BigInt64Array) return LongArray(input);
  if (input instanceof Float32Array) return FloatArray(input);
  if (input instanceof Float64Array) return DoubleArray(input);
  if (input instanceof Params) return Dict(input);
  if (input instanceof Hashtable) return Table(input);
  if (Array.isArray(input)) return List(input);
  if (typeof input === 'object' && Object.getPrototypeOf(input) === Object.prototype) {
    return Table(Object.entries(input as Record<string, ValueInput>));
  }
  throw new TypeError(`no sealnet value type for ${Object.prototype.toString.call(input)}`);
}

export type ParamsInit = Iterable<readonly [number, ValueInput]> | { readonly [key: number]: ValueInput };

/**
 * Byte-keyed parameters: the top level of every operation, response and event, and the content of a
 * Dict. Keys are 0 to 255; iteration is in ascending key order, the order they are encoded in.
 */
export class Params {
  readonly #entries = new Map<number, Value>();

  constructor(init?: ParamsInit) {
    if (init === undefined) return;
    const pairs = Symbol.iterator in init ? (init as Iterable<readonly [number, ValueInput]>) : Object.entries(init).map(([k, v]) => [Number(k), v] as const);
    for (const [key, value] of pairs) this.set(key, value);
  }

  /** Sets `key` to `value` (a typed value, or a plain one `toValue` converts); returns this. */
  set(key: number, value: ValueInput): this {
    this.#entries.set(integer('a parameter key', key, 0, 255), toValue(value));
    return this;
  }
  get(key: number): Value | undefined {
    return this.#entries.get(key);
  }
  has(key: number): boolean {
    return this.#entries.has(key);
  }
  delete(key: number): boolean {
    return this.#entries.delete(key);
  }
  clear(): void {
    this.#entries.clear();
  }
  get size(): number {
    return this.#entries.size;
  }
  keys(): number[] {
    return [...this.#entries.keys()].sort((a, b) => a - b);
  }
  /** Entries in ascending key order. */
  entries(): Array<[number, Value]> {
    return this.keys().map((key) => [key, this.#entries.get(key) as Value]);
  }
  [Symbol.iterator](): Iterator<[number, Value]> {
    return this.entries()[Symbol.iterator]();
  }

  /** The value of `key` when it has the type `type`, otherwise undefined. */
  typed<T extends ValueType>(key: number, type: T): Extract<Value, { type: T }> | undefined {
    const value = this.#entries.get(key);
    return value !== undefined && value.type === type ? (value as Extract<Value, { type: T }>) : undefined;
  }
}

export type HashtableInit = Iterable<readonly [TableKeyInput, ValueInput]>;

/** Photon's key type order, which section 4.4 sorts table keys by before their values. */
const KEY_TYPE_ORDER: Record<TableKey['type'], number> = { Int32: 0, Int64: 1, Str: 2, UInt8: 3, Int16: 4 };

/** A typed table key from what `TableKeyInput` allows. */
export function toTableKey(key: TableKeyInput): TableKey {
  switch (typeof key) {
    case 'string':
      return Str(key);
    case 'number':
      return Int32(key);
    case 'bigint':
      return Int64(key);
  }
  if (isValue(key) && key.type in KEY_TYPE_ORDER) return key;
  throw new TypeError('a table key is an Int32, Int64, Str, UInt8 or Int16 (or a string, number or bigint)');
}

function keyId(key: TableKey): string {
  return `${key.type}:${String(key.value)}`;
}

const utf8 = new TextEncoder();

/** Compares two keys in the order section 4.4 recommends: by type, then by value (strings by UTF-8). */
export function compareTableKeys(a: TableKey, b: TableKey): number {
  const byType = KEY_TYPE_ORDER[a.type] - KEY_TYPE_ORDER[b.type];
  if (byType !== 0) return byType;
  if (a.type === 'Str') {
    const x = utf8.encode(a.value);
    const y = utf8.encode((b as Str).value);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
    }
    return x.length - y.length;
  }
  const x = a.value;
  const y = b.value as typeof x;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A table keyed by scalars (Photon's `Hashtable`): keys are Int32, Int64, Str, UInt8 or Int16, and keys
 * of different types are different keys (Int32(1) and UInt8(1) may both be present).
 */
export class Hashtable {
  readonly #entries = new Map<string, [TableKey, Value]>();

  constructor(init?: HashtableInit) {
    if (init === undefined) return;
    for (const [key, value] of init) this.set(key, value);
  }

  set(key: TableKeyInput, value: ValueInput): this {
    const typed = toTableKey(key);
    this.#entries.set(keyId(typed), [typed, toValue(value)]);
    return this;
  }
  get(key: TableKeyInput): Value | undefined {
    return this.#entries.get(keyId(toTableKey(key)))?.[1];
  }
  has(key: TableKeyInput): boolean {
    return this.#entries.has(keyId(toTableKey(key)));
  }
  delete(key: TableKeyInput): boolean {
    return this.#entries.delete(keyId(toTableKey(key)));
  }
  get size(): number {
    return this.#entries.size;
  }
  /** Entries in the order they are encoded in (section 4.4). */
  entries(): Array<[TableKey, Value]> {
    return [...this.#entries.values()].sort((a, b) => compareTableKeys(a[0], b[0])).map(([k, v]) => [k, v]);
  }
  [Symbol.iterator](): Iterator<[TableKey, Value]> {
    return this.entries()[Symbol.iterator]();
  }
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.every((byte, i) => byte === y[i]);
}

/** Exact equality: same types at every depth and the same content, floats compared by their bits. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'Float32':
    case 'Float64':
      return a.bits === (b as typeof a).bits;
    case 'Bytes':
    case 'ShortArray':
    case 'IntArray':
    case 'LongArray':
    case 'FloatArray':
    case 'DoubleArray':
      return sameBytes(a.value, (b as typeof a).value);
    case 'Custom':
      return a.code === (b as Custom).code && sameBytes(a.value, (b as Custom).value);
    case 'List': {
      const other = (b as List).value;
      return a.value.length === other.length && a.value.every((item, i) => valueEquals(item, other[i] as Value));
    }
    case 'BoolArray':
    case 'StringArray': {
      const other = (b as typeof a).value;
      return a.value.length === other.length && a.value.every((item, i) => item === other[i]);
    }
    case 'Dict':
      return paramsEqual(a.value, (b as Dict).value);
    case 'Table': {
      const x = a.value.entries();
      const y = (b as Table).value.entries();
      return x.length === y.length && x.every(([key, value], i) => {
        const [otherKey, otherValue] = y[i] as [TableKey, Value];
        return valueEquals(key, otherKey) && valueEquals(value, otherValue);
      });
    }
    default:
      return a.value === (b as typeof a).value;
  }
}

/** Exact equality of two parameter maps (see `valueEquals`). */
export function paramsEqual(a: Params, b: Params): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) {
    const other = b.get(key);
    if (other === undefined || !valueEquals(value, other)) return false;
  }
  return true;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A readable form that shows every type: `Int16(5)`, `Table{Str("hp"): Int32(5)}`. For logs and tests. */
export function describe(value: Value): string {
  switch (value.type) {
    case 'Null':
      return 'Null';
    case 'Int64':
      return `Int64(${value.value}n)`;
    case 'Float32':
    case 'Float64':
      return `${value.type}(${Object.is(value.value, -0) ? '-0' : String(value.value)}, bits 0x${value.bits.toString(16)})`;
    case 'Str':
      return `Str(${JSON.stringify(value.value)})`;
    case 'Bytes':
      return `Bytes(${hex(value.value)})`;
    case 'Custom':
      return `Custom(${value.code}, ${hex(value.value)})`;
    case 'List':
      return `List[${value.value.map(describe).join(', ')}]`;
    case 'Dict':
      return `Dict${describeParams(value.value)}`;
    case 'Table':
      return `Table{${value.value.entries().map(([k, v]) => `${describe(k)}: ${describe(v)}`).join(', ')}}`;
    case 'LongArray':
      return `LongArray[${Array.from(value.value, (v) => `${v}n`).join(', ')}]`;
    case 'StringArray':
      return `StringArray[${value.value.map((v) => JSON.stringify(v)).join(', ')}]`;
    case 'ShortArray':
    case 'IntArray':
    case 'FloatArray':
    case 'DoubleArray':
    case 'BoolArray':
      return `${value.type}[${Array.from(value.value as ArrayLike<number | boolean>, String).join(', ')}]`;
    default:
      return `${value.type}(${String(value.value)})`;
  }
}

/** `{1: Int32(5), 2: Str("a")}`. */
export function describeParams(params: Params): string {
  return `{${params.entries().map(([k, v]) => `${k}: ${describe(v)}`).join(', ')}}`;
}

/**
 * The type codes sealnet's bindings use for the common vector types (section 4.1): little-endian
 * IEEE-754 floats. Codes belong to the application; these match the C#, C++ and Godot bindings.
 */
export const CustomCode = Object.freeze({ Vector3: 86, Vector2: 87, Quaternion: 81 });

function floats(code: number, components: readonly number[]): Custom {
  const bytes = new Uint8Array(4 * components.length);
  const view = new DataView(bytes.buffer);
  components.forEach((component, i) => view.setFloat32(4 * i, component, true));
  return Custom(code, bytes);
}

export function Vector2(x: number, y: number): Custom {
  return floats(CustomCode.Vector2, [x, y]);
}
export function Vector3(x: number, y: number, z: number): Custom {
  return floats(CustomCode.Vector3, [x, y, z]);
}
export function Quaternion(x: number, y: number, z: number, w: number): Custom {
  return floats(CustomCode.Quaternion, [x, y, z, w]);
}

/**
 * The components of a vector type (Vector2, Vector3, Quaternion) read back from a Custom value, or
 * undefined when the value is not one of them or has the wrong size.
 */
export function readVector(value: Value | undefined): number[] | undefined {
  if (value?.type !== 'Custom') return undefined;
  const count = { [CustomCode.Vector2]: 2, [CustomCode.Vector3]: 3, [CustomCode.Quaternion]: 4 }[value.code];
  if (count === undefined || value.value.length !== 4 * count) return undefined;
  const view = new DataView(value.value.buffer, value.value.byteOffset, value.value.byteLength);
  return Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
}
