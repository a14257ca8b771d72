//! Typed operation parameters and their wire encoding.
//!
//! Operations, responses and events carry a small dictionary of typed values keyed by one byte, so a
//! game can add fields without a schema change and both ends stay cheap to implement. A value is a
//! one-byte tag followed by its payload:
//!
//! ```text
//! 0x00 null      0x01 false        0x02 true
//! 0x03 i32       (zigzag varint)   0x04 i64   (zigzag varint)
//! 0x05 f32       (4 bytes LE)      0x06 f64   (8 bytes LE)
//! 0x07 string    (varint length, UTF-8)
//! 0x08 bytes     (varint length, raw)
//! 0x09 array     (varint count, values)
//! 0x0A map       (varint count, count x (key u8, value)); the encoder writes keys ascending
//! ```
//!
//! A top-level [`Params`] is a map payload without its tag. The decoder is the first code to interpret
//! bytes a peer chose, so it checks every declared length against [`Limits`] and against the input that
//! is actually left before it allocates, and it bounds nesting so neither recursion nor the size of the
//! result can be driven by a few hostile bytes.

use std::fmt;

const TAG_NULL: u8 = 0x00;
const TAG_FALSE: u8 = 0x01;
const TAG_TRUE: u8 = 0x02;
const TAG_INT: u8 = 0x03;
const TAG_LONG: u8 = 0x04;
const TAG_FLOAT: u8 = 0x05;
const TAG_DOUBLE: u8 = 0x06;
const TAG_STRING: u8 = 0x07;
const TAG_BYTES: u8 = 0x08;
const TAG_ARRAY: u8 = 0x09;
const TAG_MAP: u8 = 0x0A;

/// A u64 needs at most ceil(64 / 7) LEB128 groups.
const MAX_VARINT_LEN: usize = 10;
/// The cheapest array element is a bare tag, so a count above the remaining input cannot be honest.
const MIN_ELEMENT_LEN: usize = 1;
/// The cheapest map entry is a key byte plus a bare tag.
const MIN_ENTRY_LEN: usize = 2;

/// One typed parameter value.
///
/// Floats keep their exact bit pattern across the wire (NaN payloads included), which is why equality
/// on values holding NaN is not reflexive: compare `to_bits()` when that matters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Params),
}

macro_rules! value_from {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Value {
            fn from(value: $source) -> Self {
                Value::$variant(value)
            }
        }
    )*};
}

value_from!(
    bool => Bool,
    i32 => Int,
    i64 => Long,
    f32 => Float,
    f64 => Double,
    String => String,
    Vec<u8> => Bytes,
    Vec<Value> => Array,
    Params => Map,
);

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Bytes(value.to_vec())
    }
}

/// The parameters of one operation, response or event, keyed by a byte.
///
/// Kept ordered so that equal parameters always encode to identical bytes. A sorted vector rather
/// than a tree: messages hold a handful of keys, and a vector's memory is exactly what the decoder
/// charges for it (see [`Limits::max_decoded_bytes`]).
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Params(Vec<(u8, Value)>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: u8) -> Result<usize, usize> {
        self.0.binary_search_by_key(&key, |(k, _)| *k)
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: u8, value: impl Into<Value>) -> Option<Value> {
        let value = value.into();
        match self.position(key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: u8) -> Option<&Value> {
        self.position(key).ok().map(|at| &self.0[at].1)
    }

    pub fn remove(&mut self, key: u8) -> Option<Value> {
        self.position(key).ok().map(|at| self.0.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in ascending key order, the order they are encoded in.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &Value)> + '_ {
        self.0.iter().map(|(key, value)| (*key, value))
    }
}

impl FromIterator<(u8, Value)> for Params {
    /// A key that appears more than once keeps its last value.
    fn from_iter<I: IntoIterator<Item = (u8, Value)>>(entries: I) -> Self {
        let mut params = Params::new();
        for (key, value) in entries {
            params.insert(key, value);
        }
        params
    }
}

/// Bounds on what one decode may produce.
///
/// Each bound caps memory or work an untrusted peer can cause with a small input. `max_depth` also
/// bounds native stack use, because decoding, checking, encoding and dropping values all recurse once
/// per nesting level; keep it small (tens, not thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest container allowed; a container directly inside the top-level params is at depth 1.
    pub max_depth: usize,
    /// Most entries in any one map or array, the top-level params included.
    pub max_entries: usize,
    /// Longest string, in bytes.
    pub max_string: usize,
    /// Longest byte array.
    pub max_bytes: usize,
    /// Most values in one decode, at every depth together; stops payloads that are wide rather than deep.
    pub max_total_values: usize,
    /// Largest decoded size of one message (see [`decoded_size`]): the memory a decode may build,
    /// charged before each allocation, so a small frame cannot unfold into a large in-memory value.
    pub max_decoded_bytes: usize,
}

pub const DEFAULT_LIMITS: Limits = Limits {
    max_depth: 8,
    max_entries: 4096,
    max_string: 64 * 1024,
    max_bytes: 256 * 1024,
    max_total_values: 65_536,
    max_decoded_bytes: 2 * 1024 * 1024,
};

/// What a value costs in the decoded size, wherever it sits (an array element, a map value).
pub const VALUE_COST: usize = 32;
/// What a map entry's key adds to its value's cost.
pub const KEY_COST: usize = 8;
const ENTRY_COST: usize = VALUE_COST + KEY_COST;

impl Default for Limits {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

impl Limits {
    fn check_depth(&self, depth: usize) -> Result<(), CodecError> {
        if depth > self.max_depth {
            return Err(CodecError::DepthExceeded { max: self.max_depth });
        }
        Ok(())
    }

    fn check_entries(&self, count: u64) -> Result<usize, CodecError> {
        let max = self.max_entries;
        usize::try_from(count).ok().filter(|&count| count <= max).ok_or(CodecError::TooManyEntries { count, max })
    }
}

/// Why bytes could not be decoded, or why in-memory parameters may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ended, or declared more content than it has left.
    Truncated,
    /// A varint does not fit in 64 bits, or an i32 value does not fit in 32.
    VarintOverflow,
    UnknownTag(u8),
    InvalidUtf8,
    StringTooLong {
        len: u64,
        max: usize,
    },
    BytesTooLong {
        len: u64,
        max: usize,
    },
    TooManyEntries {
        count: u64,
        max: usize,
    },
    DepthExceeded {
        max: usize,
    },
    TooManyValues {
        max: usize,
    },
    /// The decoded message would exceed [`Limits::max_decoded_bytes`].
    DecodedTooLarge {
        max: usize,
    },
    DuplicateKey(u8),
    TrailingBytes {
        count: usize,
    },
    /// A varint with redundant zero groups; refused so each number has exactly one encoding.
    NonCanonicalVarint,
    /// A connect request without an application id; kept apart from length errors so the server can
    /// tell a misconfigured client from an oversized one.
    EmptyAppId,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Truncated => f.write_str("input truncated"),
            CodecError::VarintOverflow => f.write_str("varint overflows its integer type"),
            CodecError::UnknownTag(tag) => write!(f, "unknown value tag {tag:#04x}"),
            CodecError::InvalidUtf8 => f.write_str("string is not valid utf-8"),
            CodecError::StringTooLong { len, max } => {
                write!(f, "string of {len} bytes exceeds the limit of {max}")
            }
            CodecError::BytesTooLong { len, max } => {
                write!(f, "byte array of {len} bytes exceeds the limit of {max}")
            }
            CodecError::TooManyEntries { count, max } => {
                write!(f, "{count} entries exceed the limit of {max}")
            }
            CodecError::DepthExceeded { max } => {
                write!(f, "nesting exceeds the maximum depth of {max}")
            }
            CodecError::TooManyValues { max } => {
                write!(f, "more than {max} values in one message")
            }
            CodecError::DecodedTooLarge { max } => {
                write!(f, "message would take more than {max} bytes once decoded")
            }
            CodecError::DuplicateKey(key) => write!(f, "duplicate map key {key}"),
            CodecError::TrailingBytes { count } => write!(f, "{count} unread trailing bytes"),
            CodecError::NonCanonicalVarint => f.write_str("non-canonical varint encoding"),
            CodecError::EmptyAppId => f.write_str("empty app id"),
        }
    }
}

impl std::error::Error for CodecError {}

/// Appends `params` in wire form.
///
/// Encoding recurses once per nesting level of the in-memory value; run [`check_params`] first on
/// parameters that did not come from [`decode_params`].
pub fn encode_params(params: &Params, out: &mut Vec<u8>) {
    put_varint(out, len_u64(params.len()));
    for (key, value) in params.iter() {
        out.push(key);
        encode_value(value, out);
    }
}

/// The bytes one value takes on the wire, its tag included.
pub fn encoded_value_len(value: &Value) -> usize {
    value_len(value)
}

/// The exact number of bytes [`encode_params`] appends, so callers can reserve once.
pub fn encoded_len(params: &Params) -> usize {
    varint_len(len_u64(params.len())) + params.iter().map(|(_, value)| 1 + value_len(value)).sum::<usize>()
}

/// Decodes parameters that must fill `input` exactly, so nothing can be smuggled after them.
pub fn decode_params(input: &[u8], limits: &Limits) -> Result<Params, CodecError> {
    let mut reader = Reader::new(input);
    let params = reader.params(limits)?;
    reader.finish()?;
    Ok(params)
}

/// Refuses in-memory parameters that a receiver with the same `limits` would refuse, with the same
/// error the receiver would report, so a sender learns of the problem before anything is sent.
pub fn check_params(params: &Params, limits: &Limits) -> Result<(), CodecError> {
    LimitCheck { limits, budget: ValueBudget::new(limits) }.params(params, 0)
}

/// The decoded size of `params`, as the decoder charges it against [`Limits::max_decoded_bytes`]:
/// [`VALUE_COST`] per value (each array element and map value), [`KEY_COST`] more per map entry (the
/// top level included), plus the length of every string and byte array. It approximates the memory
/// the parameters occupy, so hosts can bound what they queue by it.
pub fn decoded_size(params: &Params) -> usize {
    fn value_size(value: &Value) -> usize {
        VALUE_COST
            + match value {
                Value::String(text) => text.len(),
                Value::Bytes(bytes) => bytes.len(),
                Value::Array(items) => items.iter().map(value_size).sum(),
                Value::Map(params) => decoded_size(params),
                _ => 0,
            }
    }
    params.iter().map(|(_, value)| KEY_COST + value_size(value)).sum()
}

/// Appends `value` as unsigned LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a varint byte length and the UTF-8 bytes of `text`.
pub fn put_string(out: &mut Vec<u8>, text: &str) {
    put_bytes(out, text.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, len_u64(bytes.len()));
    out.extend_from_slice(bytes);
}

fn varint_len(value: u64) -> usize {
    let significant_bits = 64 - (value | 1).leading_zeros() as usize;
    significant_bits.div_ceil(7)
}

fn len_u64(len: usize) -> u64 {
    // usize is at most 64 bits on every target Rust supports.
    len as u64
}

/// Zigzag keeps small negative numbers short: -1 becomes 1 instead of ten 0xFF groups.
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Int(v) => {
            out.push(TAG_INT);
            put_varint(out, zigzag(i64::from(*v)));
        }
        Value::Long(v) => {
            out.push(TAG_LONG);
            put_varint(out, zigzag(*v));
        }
        Value::Float(v) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Value::Double(v) => {
            out.push(TAG_DOUBLE);
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Value::String(text) => {
            out.push(TAG_STRING);
            put_string(out, text);
        }
        Value::Bytes(bytes) => {
            out.push(TAG_BYTES);
            put_bytes(out, bytes);
        }
        Value::Array(items) => {
            out.push(TAG_ARRAY);
            put_varint(out, len_u64(items.len()));
            for item in items {
                encode_value(item, out);
            }
        }
        Value::Map(params) => {
            out.push(TAG_MAP);
            encode_params(params, out);
        }
    }
}

/// Payload size plus the tag byte.
fn value_len(value: &Value) -> usize {
    let sized = |len: usize| varint_len(len_u64(len)) + len;
    1 + match value {
        Value::Null | Value::Bool(_) => 0,
        Value::Int(v) => varint_len(zigzag(i64::from(*v))),
        Value::Long(v) => varint_len(zigzag(*v)),
        Value::Float(_) => 4,
        Value::Double(_) => 8,
        Value::String(text) => sized(text.len()),
        Value::Bytes(bytes) => sized(bytes.len()),
        Value::Array(items) => varint_len(len_u64(items.len())) + items.iter().map(value_len).sum::<usize>(),
        Value::Map(params) => encoded_len(params),
    }
}

/// Counts values and decoded bytes across a whole decode or check: per-container limits alone still
/// let nested containers multiply into millions of small allocations.
struct ValueBudget {
    values: usize,
    max_values: usize,
    bytes: usize,
    max_bytes: usize,
}

impl ValueBudget {
    fn new(limits: &Limits) -> Self {
        Self { values: 0, max_values: limits.max_total_values, bytes: 0, max_bytes: limits.max_decoded_bytes }
    }

    fn spend_one(&mut self) -> Result<(), CodecError> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(CodecError::TooManyValues { max: self.max_values });
        }
        Ok(())
    }

    /// Charges decoded bytes; called before the memory they stand for is allocated.
    fn spend_bytes(&mut self, bytes: usize) -> Result<(), CodecError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(CodecError::DecodedTooLarge { max: self.max_bytes });
        }
        Ok(())
    }

    /// A container of `count` entries, each costing `cost`.
    fn spend_container(&mut self, count: usize, cost: usize) -> Result<(), CodecError> {
        self.spend_bytes(count.saturating_mul(cost))
    }
}

/// A cursor over a message body. Every read either yields what was asked for or fails without
/// allocating; none of them panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Succeeds only if everything was read, so a body cannot carry hidden extra data.
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.rest.len() {
            0 => Ok(()),
            count => Err(CodecError::TrailingBytes { count }),
        }
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16_be(&mut self) -> Result<u16, CodecError> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn i16_be(&mut self) -> Result<i16, CodecError> {
        self.array().map(i16::from_be_bytes)
    }

    pub fn u32_be(&mut self) -> Result<u32, CodecError> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn i32_be(&mut self) -> Result<i32, CodecError> {
        self.array().map(i32::from_be_bytes)
    }

    pub fn u64_be(&mut self) -> Result<u64, CodecError> {
        self.array().map(u64::from_be_bytes)
    }

    /// Unsigned LEB128, refusing anything but the one shortest encoding of a u64.
    pub fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for group in 0..MAX_VARINT_LEN {
            let byte = self.u8()?;
            // The tenth group holds only bit 63; anything more would be lost.
            if group == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(CodecError::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * group);
            if byte & 0x80 == 0 {
                if byte == 0 && group > 0 {
                    return Err(CodecError::NonCanonicalVarint);
                }
                return Ok(value);
            }
        }
        Err(CodecError::VarintOverflow)
    }

    /// A varint-length-prefixed UTF-8 string of at most `max` bytes, borrowed from the input.
    pub fn string(&mut self, max: usize) -> Result<&'a str, CodecError> {
        let bytes = self.length_prefixed(max, |len, max| CodecError::StringTooLong { len, max })?;
        std::str::from_utf8(bytes).map_err(|_| CodecError::InvalidUtf8)
    }

    /// A varint-length-prefixed byte array of at most `max` bytes, borrowed from the input.
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8], CodecError> {
        self.length_prefixed(max, |len, max| CodecError::BytesTooLong { len, max })
    }

    /// Top-level parameters; the caller decides whether more data may follow.
    pub fn params(&mut self, limits: &Limits) -> Result<Params, CodecError> {
        Decoder { reader: self, limits, budget: ValueBudget::new(limits) }.params(0)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        let (taken, rest) = self.rest.split_at_checked(len).ok_or(CodecError::Truncated)?;
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// The limit is checked before the input length so an absurd declared length is reported as
    /// such regardless of how much data happens to follow.
    fn length_prefixed(&mut self, max: usize, too_long: fn(u64, usize) -> CodecError) -> Result<&'a [u8], CodecError> {
        let declared = self.varint()?;
        match usize::try_from(declared) {
            Ok(len) if len <= max => self.take(len),
            _ => Err(too_long(declared, max)),
        }
    }

    /// A container's element count, refused unless the remaining input could hold that many
    /// elements: only then is it safe to reserve space for them.
    fn count(&mut self, limits: &Limits, min_element_len: usize) -> Result<usize, CodecError> {
        let count = limits.check_entries(self.varint()?)?;
        if count.saturating_mul(min_element_len) > self.remaining() {
            return Err(CodecError::Truncated);
        }
        Ok(count)
    }
}

/// Decoding state for one top-level [`Params`]. Recursion is bounded by `limits.max_depth`, which is
/// checked before each container is entered.
struct Decoder<'r, 'a> {
    reader: &'r mut Reader<'a>,
    limits: &'r Limits,
    budget: ValueBudget,
}

impl Decoder<'_, '_> {
    /// `depth` is the depth of the map being decoded.
    fn params(&mut self, depth: usize) -> Result<Params, CodecError> {
        let count = self.reader.count(self.limits, MIN_ENTRY_LEN)?;
        self.budget.spend_container(count, ENTRY_COST)?;
        let mut params = Params(Vec::with_capacity(count));
        for _ in 0..count {
            let key = self.reader.u8()?;
            let Err(at) = params.position(key) else {
                return Err(CodecError::DuplicateKey(key));
            };
            let value = self.value(depth + 1)?;
            params.0.insert(at, (key, value));
        }
        Ok(params)
    }

    /// `depth` is the depth this value has if it turns out to be a container.
    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        self.budget.spend_one()?;
        let value = match self.reader.u8()? {
            TAG_NULL => Value::Null,
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            TAG_INT => {
                let wide = unzigzag(self.reader.varint()?);
                Value::Int(i32::try_from(wide).map_err(|_| CodecError::VarintOverflow)?)
            }
            TAG_LONG => Value::Long(unzigzag(self.reader.varint()?)),
            TAG_FLOAT => Value::Float(f32::from_bits(u32::from_le_bytes(self.reader.array()?))),
            TAG_DOUBLE => Value::Double(f64::from_bits(u64::from_le_bytes(self.reader.array()?))),
            TAG_STRING => {
                let text = self.reader.string(self.limits.max_string)?;
                self.budget.spend_bytes(text.len())?;
                Value::String(text.to_owned())
            }
            TAG_BYTES => {
                let bytes = self.reader.bytes(self.limits.max_bytes)?;
                self.budget.spend_bytes(bytes.len())?;
                Value::Bytes(bytes.to_vec())
            }
            TAG_ARRAY => {
                self.limits.check_depth(depth)?;
                let count = self.reader.count(self.limits, MIN_ELEMENT_LEN)?;
                self.budget.spend_container(count, VALUE_COST)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            TAG_MAP => {
                self.limits.check_depth(depth)?;
                Value::Map(self.params(depth)?)
            }
            tag => return Err(CodecError::UnknownTag(tag)),
        };
        Ok(value)
    }
}

/// Walks in-memory parameters in wire order, applying the decoder's checks in the decoder's order.
struct LimitCheck<'l> {
    limits: &'l Limits,
    budget: ValueBudget,
}

impl LimitCheck<'_> {
    fn params(&mut self, params: &Params, depth: usize) -> Result<(), CodecError> {
        self.limits.check_entries(len_u64(params.len()))?;
        self.budget.spend_container(params.len(), ENTRY_COST)?;
        params.iter().try_for_each(|(_, value)| self.value(value, depth + 1))
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), CodecError> {
        self.budget.spend_one()?;
        match value {
            Value::String(text) if text.len() > self.limits.max_string => {
                Err(CodecError::StringTooLong { len: len_u64(text.len()), max: self.limits.max_string })
            }
            Value::String(text) => self.budget.spend_bytes(text.len()),
            Value::Bytes(bytes) if bytes.len() > self.limits.max_bytes => {
                Err(CodecError::BytesTooLong { len: len_u64(bytes.len()), max: self.limits.max_bytes })
            }
            Value::Bytes(bytes) => self.budget.spend_bytes(bytes.len()),
            Value::Array(items) => {
                self.limits.check_depth(depth)?;
                self.limits.check_entries(len_u64(items.len()))?;
                self.budget.spend_container(items.len(), VALUE_COST)?;
                items.iter().try_for_each(|item| self.value(item, depth + 1))
            }
            Value::Map(params) => {
                self.limits.check_depth(depth)?;
                self.params(params, depth)
            }
            _ => Ok(()),
        }
    }
}

/// Strategies and comparisons shared by the codec and message tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Params, Value};
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::Int),
            any::<i64>().prop_map(Value::Long),
            // Raw bit patterns, so NaNs with payloads and signalling NaNs are covered too.
            any::<u32>().prop_map(|bits| Value::Float(f32::from_bits(bits))),
            any::<u64>().prop_map(|bits| Value::Double(f64::from_bits(bits))),
            ".{0,12}".prop_map(Value::String),
            vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
        ]
    }

    /// Values nested at most four containers deep.
    pub(crate) fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                btree_map(any::<u8>(), inner, 0..6)
                    .prop_map(|entries| Value::Map(Params(entries.into_iter().collect()))),
            ]
        })
    }

    pub(crate) fn params() -> impl Strategy<Value = Params> {
        btree_map(any::<u8>(), value(), 0..8).prop_map(|entries| Params(entries.into_iter().collect()))
    }

    /// Equality that compares floats by bit pattern, so NaN equals itself.
    pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y)),
            (Value::Map(x), Value::Map(y)) => same_params(x, y),
            _ => a == b,
        }
    }

    pub(crate) fn same_params(a: &Params, b: &Params) -> bool {
        a.len() == b.len() && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{params, same_params, value};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn encode(params: &Params) -> Vec<u8> {
        let mut out = Vec::new();
        encode_params(params, &mut out);
        out
    }

    fn single(value: impl Into<Value>) -> Params {
        Params::from_iter([(0u8, value.into())])
    }

    /// Top-level params holding, under key 0, `levels` arrays nested inside each other.
    fn nested_arrays(levels: usize) -> Params {
        let mut value = Value::Null;
        for _ in 0..levels {
            value = Value::Array(vec![value]);
        }
        single(value)
    }

    fn varint_bytes(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        out
    }

    /// One top-level entry (key 0) whose value is `value_bytes`.
    fn one_entry(value_bytes: &[u8]) -> Vec<u8> {
        [&[0x01, 0x00], value_bytes].concat()
    }

    #[test]
    fn encodes_every_type_as_specified() {
        let params = Params::from_iter([
            (0u8, Value::Null),
            (1, false.into()),
            (2, true.into()),
            (3, (-1i32).into()),
            (4, 300i64.into()),
            (5, 1.0f32.into()),
            (6, (-2.0f64).into()),
            (7, "hé".into()),
            (8, vec![0xABu8].into()),
            (9, vec![Value::Int(1)].into()),
            (10, single(Value::Null).into()),
        ]);
        let expected: Vec<u8> = [
            &[0x0B][..],
            &[0, 0x00],
            &[1, 0x01],
            &[2, 0x02],
            &[3, 0x03, 0x01],
            &[4, 0x04, 0xD8, 0x04],
            &[5, 0x05, 0x00, 0x00, 0x80, 0x3F],
            &[6, 0x06, 0, 0, 0, 0, 0, 0, 0, 0xC0],
            &[7, 0x07, 0x03, b'h', 0xC3, 0xA9],
            &[8, 0x08, 0x01, 0xAB],
            &[9, 0x09, 0x01, 0x03, 0x02],
            &[10, 0x0A, 0x01, 0x00, 0x00],
        ]
        .concat();
        assert_eq!(encode(&params), expected);
        assert_eq!(encoded_len(&params), expected.len());
        assert_eq!(decode_params(&expected, &DEFAULT_LIMITS), Ok(params));
    }

    #[test]
    fn encoder_writes_keys_ascending_whatever_the_insertion_order() {
        let mut params = Params::new();
        params.insert(9, 1);
        params.insert(2, 2);
        params.insert(5, 3);
        assert_eq!(encode(&params), [3, 2, 0x03, 0x04, 5, 0x03, 0x06, 9, 0x03, 0x02]);
    }

    #[test]
    fn varints_use_their_shortest_form() {
        assert_eq!(varint_bytes(0), [0x00]);
        assert_eq!(varint_bytes(127), [0x7F]);
        assert_eq!(varint_bytes(128), [0x80, 0x01]);
        assert_eq!(varint_bytes(u64::MAX), [&[0xFF; 9][..], &[0x01]].concat());
        assert_eq!(Reader::new(&varint_bytes(u64::MAX)).varint(), Ok(u64::MAX));
    }

    #[test]
    fn integer_extremes_round_trip() {
        for int in [i32::MIN, -1, 0, 1, i32::MAX] {
            let params = single(int);
            assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Ok(params));
        }
        for long in [i64::MIN, -1, 0, 1, i64::MAX] {
            let params = single(long);
            assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Ok(params));
        }
    }

    #[test]
    fn nan_payloads_survive_bit_for_bit() {
        let float_bits = 0x7FA0_0001u32; // signalling NaN with a payload
        let double_bits = 0xFFF8_0000_DEAD_BEEFu64;
        let params =
            Params::from_iter([(0u8, f32::from_bits(float_bits).into()), (1, f64::from_bits(double_bits).into())]);
        let decoded = decode_params(&encode(&params), &DEFAULT_LIMITS).unwrap();
        match (decoded.get(0), decoded.get(1)) {
            (Some(Value::Float(f)), Some(Value::Double(d))) => {
                assert_eq!(f.to_bits(), float_bits);
                assert_eq!(d.to_bits(), double_bits);
            }
            other => panic!("unexpected values {other:?}"),
        }
    }

    #[test]
    fn params_accessors() {
        let mut params = Params::new();
        assert!(params.is_empty());
        assert_eq!(params.insert(1, "a"), None);
        assert_eq!(params.insert(1, 7i64), Some(Value::String("a".into())));
        params.insert(0, &b"xy"[..]);
        assert_eq!(params.len(), 2);
        assert_eq!(params.get(1), Some(&Value::Long(7)));
        let keys: Vec<u8> = params.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, [0, 1]);
        assert_eq!(params.remove(0), Some(Value::Bytes(b"xy".to_vec())));
        assert_eq!(params.get(0), None);
    }

    #[test]
    fn malformed_inputs_fail_with_the_matching_error() {
        let small_budget = Limits { max_total_values: 3, ..DEFAULT_LIMITS };
        let len_2_pow_40 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        let cases: Vec<(&str, Vec<u8>, Limits, CodecError)> = vec![
            ("empty input", vec![], DEFAULT_LIMITS, CodecError::Truncated),
            ("entry without value", vec![0x01, 0x07], DEFAULT_LIMITS, CodecError::Truncated),
            (
                "string shorter than declared",
                one_entry(&[0x07, 0x05, b'a', b'b']),
                DEFAULT_LIMITS,
                CodecError::Truncated,
            ),
            ("half a double", one_entry(&[0x06, 0, 0, 0, 0]), DEFAULT_LIMITS, CodecError::Truncated),
            ("eleven-byte varint", [&[0xFF; 10][..], &[0x01]].concat(), DEFAULT_LIMITS, CodecError::VarintOverflow),
            (
                "tenth varint byte above one",
                [&[0xFF; 9][..], &[0x02]].concat(),
                DEFAULT_LIMITS,
                CodecError::VarintOverflow,
            ),
            (
                "int beyond 32 bits",
                one_entry(&[0x03, 0x80, 0x80, 0x80, 0x80, 0x10]),
                DEFAULT_LIMITS,
                CodecError::VarintOverflow,
            ),
            ("unknown tag", one_entry(&[0x0B]), DEFAULT_LIMITS, CodecError::UnknownTag(0x0B)),
            ("invalid utf-8", one_entry(&[0x07, 0x02, 0xC3, 0x28]), DEFAULT_LIMITS, CodecError::InvalidUtf8),
            (
                "string declaring 2^40 bytes",
                one_entry(&[&[0x07][..], &len_2_pow_40].concat()),
                DEFAULT_LIMITS,
                CodecError::StringTooLong { len: 1 << 40, max: 64 * 1024 },
            ),
            (
                "bytes declaring 2^40 bytes",
                one_entry(&[&[0x08][..], &len_2_pow_40].concat()),
                DEFAULT_LIMITS,
                CodecError::BytesTooLong { len: 1 << 40, max: 256 * 1024 },
            ),
            (
                "top level with 5000 entries",
                varint_bytes(5000),
                DEFAULT_LIMITS,
                CodecError::TooManyEntries { count: 5000, max: 4096 },
            ),
            (
                "array declaring 2^40 elements",
                one_entry(&[&[0x09][..], &len_2_pow_40].concat()),
                DEFAULT_LIMITS,
                CodecError::TooManyEntries { count: 1 << 40, max: 4096 },
            ),
            ("nine nested arrays", encode(&nested_arrays(9)), DEFAULT_LIMITS, CodecError::DepthExceeded { max: 8 }),
            (
                "four values over a budget of three",
                vec![4, 0, 0x00, 1, 0x00, 2, 0x00, 3, 0x00],
                small_budget,
                CodecError::TooManyValues { max: 3 },
            ),
            (
                "200 one-entry maps over a 4 KiB decoded budget",
                one_entry(&[&[0x09][..], &varint_bytes(200), &[0x0A, 0x01, 0x00, 0x00].repeat(200)].concat()),
                Limits { max_decoded_bytes: 4096, ..DEFAULT_LIMITS },
                CodecError::DecodedTooLarge { max: 4096 },
            ),
            ("duplicate key", vec![2, 5, 0x00, 5, 0x01], DEFAULT_LIMITS, CodecError::DuplicateKey(5)),
            (
                "duplicate key in nested map",
                one_entry(&[0x0A, 2, 9, 0x00, 9, 0x00]),
                DEFAULT_LIMITS,
                CodecError::DuplicateKey(9),
            ),
            ("trailing bytes", vec![0x00, 0xAA, 0xBB], DEFAULT_LIMITS, CodecError::TrailingBytes { count: 2 }),
            ("padded count", vec![0x80, 0x00], DEFAULT_LIMITS, CodecError::NonCanonicalVarint),
            (
                "padded string length",
                one_entry(&[0x07, 0x81, 0x00, b'a']),
                DEFAULT_LIMITS,
                CodecError::NonCanonicalVarint,
            ),
        ];

        let mut reached = Vec::new();
        for (name, input, limits, expected) in &cases {
            assert_eq!(decode_params(input, limits), Err(*expected), "{name}");
            reached.push(*expected);
        }
        // Fails to compile when a variant is added, and fails at run time if one has no case above.
        let all_variants_reached = reached.iter().fold([false; 13], |mut seen, error| {
            let index = match error {
                CodecError::Truncated => 0,
                CodecError::VarintOverflow => 1,
                CodecError::UnknownTag(_) => 2,
                CodecError::InvalidUtf8 => 3,
                CodecError::StringTooLong { .. } => 4,
                CodecError::BytesTooLong { .. } => 5,
                CodecError::TooManyEntries { .. } => 6,
                CodecError::DepthExceeded { .. } => 7,
                CodecError::TooManyValues { .. } => 8,
                CodecError::DuplicateKey(_) => 9,
                CodecError::TrailingBytes { .. } => 10,
                CodecError::NonCanonicalVarint => 11,
                CodecError::DecodedTooLarge { .. } => 12,
                // Only message bodies can produce this one; see message::tests.
                CodecError::EmptyAppId => return seen,
            };
            seen[index] = true;
            seen
        });
        assert_eq!(all_variants_reached, [true; 13]);
    }

    #[test]
    fn declared_sizes_beyond_the_input_fail_before_allocating() {
        // With the limits out of the way, only the remaining-input check stands between these
        // declared sizes and a multi-terabyte allocation.
        let unlimited =
            Limits { max_entries: usize::MAX, max_string: usize::MAX, max_bytes: usize::MAX, ..DEFAULT_LIMITS };
        let len_2_pow_40 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
        for tag in [0x07, 0x08, 0x09, 0x0A] {
            let input = one_entry(&[&[tag][..], &len_2_pow_40, &[0x00; 16]].concat());
            assert_eq!(decode_params(&input, &unlimited), Err(CodecError::Truncated));
        }
        // A map entry needs two bytes, so 1000 entries cannot fit in 1500.
        let input = one_entry(&[&[0x0A][..], &varint_bytes(1000), &[0x00; 1500]].concat());
        assert_eq!(decode_params(&input, &DEFAULT_LIMITS), Err(CodecError::Truncated));
        assert_eq!(decode_params(&varint_bytes(1u64 << 40), &unlimited), Err(CodecError::Truncated));
    }

    #[test]
    fn depth_bombs_stop_at_the_limit_without_exhausting_the_stack() {
        let arrays = one_entry(&[[0x09, 0x01].repeat(10_000), vec![0x00]].concat());
        let maps = one_entry(&[[0x0A, 0x01, 0x00].repeat(10_000), vec![0x00]].concat());
        for input in [arrays, maps] {
            assert_eq!(decode_params(&input, &DEFAULT_LIMITS), Err(CodecError::DepthExceeded { max: 8 }));
        }
    }

    #[test]
    fn depth_limit_is_inclusive() {
        let deepest_allowed = nested_arrays(DEFAULT_LIMITS.max_depth);
        let bytes = encode(&deepest_allowed);
        assert_eq!(decode_params(&bytes, &DEFAULT_LIMITS), Ok(deepest_allowed));

        let flat_only = Limits { max_depth: 0, ..DEFAULT_LIMITS };
        assert_eq!(decode_params(&bytes, &flat_only), Err(CodecError::DepthExceeded { max: 0 }));
        assert_eq!(decode_params(&[1, 0, 0x00], &flat_only), Ok(single(Value::Null)));
    }

    #[test]
    fn breadth_bomb_hits_the_total_value_limit() {
        // 4096 arrays of 16 nulls: every container is within max_entries, but 1 + 4096 * 17 values
        // exceed the default total of 65536.
        let inner = [&[0x09, 16][..], &[0x00; 16]].concat();
        let input = one_entry(&[&[0x09][..], &varint_bytes(4096), &inner.repeat(4096)].concat());
        let unbounded_size = Limits { max_decoded_bytes: usize::MAX, ..DEFAULT_LIMITS };
        assert_eq!(decode_params(&input, &unbounded_size), Err(CodecError::TooManyValues { max: 65_536 }));
        let roomy = Limits { max_total_values: 1 + 4096 * 17, ..unbounded_size };
        assert!(decode_params(&input, &roomy).is_ok());
    }

    #[test]
    fn check_params_refuses_what_a_receiver_would_refuse() {
        let cases = [
            (nested_arrays(9), CodecError::DepthExceeded { max: 8 }),
            (single("x".repeat(64 * 1024 + 1)), CodecError::StringTooLong { len: 64 * 1024 + 1, max: 64 * 1024 }),
            (single(vec![0u8; 256 * 1024 + 1]), CodecError::BytesTooLong { len: 256 * 1024 + 1, max: 256 * 1024 }),
            (single(vec![Value::Null; 4097]), CodecError::TooManyEntries { count: 4097, max: 4096 }),
            (single(vec![Value::Array(vec![Value::Null; 4000]); 17]), CodecError::DecodedTooLarge { max: 2 << 20 }),
        ];
        for (params, expected) in cases {
            assert_eq!(check_params(&params, &DEFAULT_LIMITS), Err(expected));
            assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Err(expected));
        }
        assert_eq!(check_params(&nested_arrays(8), &DEFAULT_LIMITS), Ok(()));
    }

    #[test]
    fn reader_reads_big_endian_fields_and_bounded_strings() {
        let input = [
            &[0x7F, 0x01, 0x02, 0xFF, 0xFE][..],
            &[0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF],
            &[0, 0, 0, 0, 0, 0, 0x01, 0x02],
            &[0x02, b'o', b'k', 0x01, 0x09],
        ]
        .concat();
        let mut reader = Reader::new(&input);
        assert_eq!(reader.u8(), Ok(0x7F));
        assert_eq!(reader.u16_be(), Ok(0x0102));
        assert_eq!(reader.i16_be(), Ok(-2));
        assert_eq!(reader.u32_be(), Ok(256));
        assert_eq!(reader.i32_be(), Ok(-1));
        assert_eq!(reader.u64_be(), Ok(0x0102));
        assert_eq!(reader.clone().string(1), Err(CodecError::StringTooLong { len: 2, max: 1 }));
        assert_eq!(reader.string(2), Ok("ok"));
        assert_eq!(reader.remaining(), 2);
        assert_eq!(reader.finish(), Err(CodecError::TrailingBytes { count: 2 }));
        assert_eq!(reader.bytes(1), Ok(&[0x09][..]));
        assert_eq!(reader.finish(), Ok(()));
        assert_eq!(reader.u8(), Err(CodecError::Truncated));
        assert_eq!(reader.u64_be(), Err(CodecError::Truncated));
    }

    #[test]
    fn errors_display_in_plain_words() {
        assert_eq!(CodecError::Truncated.to_string(), "input truncated");
        assert_eq!(CodecError::UnknownTag(0x0B).to_string(), "unknown value tag 0x0b");
        assert_eq!(
            CodecError::StringTooLong { len: 9, max: 4 }.to_string(),
            "string of 9 bytes exceeds the limit of 4"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(CodecError::DuplicateKey(3));
        assert_eq!(boxed.to_string(), "duplicate map key 3");
    }

    #[test]
    fn the_decoded_size_is_charged_before_allocating_and_matches_decoded_size() {
        // Arrays of one-entry maps unfold to many times their wire size; the budget refuses them as
        // soon as the charge passes it, whatever the other limits allow.
        let maps = [0x0A, 0x01, 0x00, 0x00].repeat(4000);
        let input = one_entry(&[&[0x09][..], &varint_bytes(4000), &maps].concat());
        let generous = Limits { max_decoded_bytes: usize::MAX, ..DEFAULT_LIMITS };
        let decoded = decode_params(&input, &generous).unwrap();
        let size = decoded_size(&decoded);
        assert_eq!(size, ENTRY_COST + 4000 * (VALUE_COST + ENTRY_COST));
        assert_eq!(decode_params(&input, &Limits { max_decoded_bytes: size, ..DEFAULT_LIMITS }), Ok(decoded));
        let tight = Limits { max_decoded_bytes: size - 1, ..DEFAULT_LIMITS };
        assert_eq!(decode_params(&input, &tight), Err(CodecError::DecodedTooLarge { max: size - 1 }));
    }

    #[test]
    fn the_cost_model_covers_the_real_memory_of_values() {
        assert!(std::mem::size_of::<Value>() <= VALUE_COST);
        assert!(std::mem::size_of::<(u8, Value)>() <= ENTRY_COST);
    }

    fn small_limits() -> impl Strategy<Value = Limits> {
        (0usize..5, 0usize..8, 0usize..10, 0usize..10, 0usize..40, 0usize..2000).prop_map(
            |(max_depth, max_entries, max_string, max_bytes, max_total_values, max_decoded_bytes)| Limits {
                max_depth,
                max_entries,
                max_string,
                max_bytes,
                max_total_values,
                max_decoded_bytes,
            },
        )
    }

    proptest! {
        #[test]
        fn params_round_trip(params in params()) {
            let bytes = encode(&params);
            prop_assert_eq!(encoded_len(&params), bytes.len());
            let decoded = decode_params(&bytes, &DEFAULT_LIMITS).unwrap();
            prop_assert!(same_params(&decoded, &params), "{:?} != {:?}", decoded, params);
        }

        #[test]
        fn single_values_round_trip(value in value()) {
            let params = single(value);
            let bytes = encode(&params);
            prop_assert_eq!(encoded_len(&params), bytes.len());
            let decoded = decode_params(&bytes, &DEFAULT_LIMITS).unwrap();
            prop_assert!(same_params(&decoded, &params));
        }

        #[test]
        fn decoded_size_is_exactly_what_the_decoder_charges(params in params()) {
            let bytes = encode(&params);
            let size = decoded_size(&params);
            let exact = Limits { max_decoded_bytes: size, ..DEFAULT_LIMITS };
            prop_assert!(decode_params(&bytes, &exact).is_ok());
            if size > 0 {
                let short = Limits { max_decoded_bytes: size - 1, ..DEFAULT_LIMITS };
                prop_assert_eq!(decode_params(&bytes, &short), Err(CodecError::DecodedTooLarge { max: size - 1 }));
            }
        }

        #[test]
        fn varints_round_trip(number in any::<u64>()) {
            let bytes = varint_bytes(number);
            prop_assert_eq!(bytes.len(), varint_len(number));
            let mut reader = Reader::new(&bytes);
            prop_assert_eq!(reader.varint(), Ok(number));
            prop_assert_eq!(reader.finish(), Ok(()));
        }

        #[test]
        fn check_params_agrees_with_the_decoder(params in params(), limits in small_limits()) {
            let decoded = decode_params(&encode(&params), &limits).map(|_| ());
            prop_assert_eq!(check_params(&params, &limits), decoded);
        }

        #[test]
        fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            if let Ok(params) = decode_params(&bytes, &DEFAULT_LIMITS) {
                // Everything but map key order is canonical, so the size must match exactly.
                prop_assert_eq!(encoded_len(&params), bytes.len());
            }
        }

        #[test]
        fn corrupted_encodings_never_panic(
            params in params(),
            position in any::<prop::sample::Index>(),
            replacement in any::<u8>(),
        ) {
            let mut bytes = encode(&params);
            let at = position.index(bytes.len());
            bytes[at] = replacement;
            let _ = decode_params(&bytes, &DEFAULT_LIMITS);
        }

        #[test]
        fn every_truncation_fails(params in params()) {
            let bytes = encode(&params);
            for len in 0..bytes.len() {
                prop_assert!(decode_params(&bytes[..len], &DEFAULT_LIMITS).is_err(), "accepted {} of {} bytes", len, bytes.len());
            }
        }
    }
}
