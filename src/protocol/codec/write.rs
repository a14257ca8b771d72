//! Encoding values, and the exact length of an encoding.

use super::value::{Key, Params, Table, Value};

pub(super) const TAG_NULL: u8 = 0x00;
pub(super) const TAG_FALSE: u8 = 0x01;
pub(super) const TAG_TRUE: u8 = 0x02;
pub(super) const TAG_INT: u8 = 0x03;
pub(super) const TAG_LONG: u8 = 0x04;
pub(super) const TAG_FLOAT: u8 = 0x05;
pub(super) const TAG_DOUBLE: u8 = 0x06;
pub(super) const TAG_STRING: u8 = 0x07;
pub(super) const TAG_BYTES: u8 = 0x08;
pub(super) const TAG_ARRAY: u8 = 0x09;
pub(super) const TAG_MAP: u8 = 0x0A;
// Version 2.
pub(super) const TAG_BYTE: u8 = 0x0B;
pub(super) const TAG_SHORT: u8 = 0x0C;
pub(super) const TAG_SHORT_ARRAY: u8 = 0x0D;
pub(super) const TAG_INT_ARRAY: u8 = 0x0E;
pub(super) const TAG_LONG_ARRAY: u8 = 0x0F;
pub(super) const TAG_FLOAT_ARRAY: u8 = 0x10;
pub(super) const TAG_DOUBLE_ARRAY: u8 = 0x11;
pub(super) const TAG_BOOL_ARRAY: u8 = 0x12;
pub(super) const TAG_STRING_ARRAY: u8 = 0x13;
pub(super) const TAG_TABLE: u8 = 0x14;
pub(super) const TAG_CUSTOM: u8 = 0x15;

/// The highest tag of each protocol version.
pub(super) fn last_tag(version: u8) -> u8 {
    if version >= 2 {
        TAG_CUSTOM
    } else {
        TAG_MAP
    }
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

pub(super) fn varint_len(value: u64) -> usize {
    let significant_bits = 64 - (value | 1).leading_zeros() as usize;
    significant_bits.div_ceil(7)
}

pub(super) fn len_u64(len: usize) -> u64 {
    // usize is at most 64 bits on every target Rust supports.
    len as u64
}

/// Zigzag keeps small negative numbers short: -1 becomes 1 instead of ten 0xFF groups.
pub(super) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(super) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends `params` in wire form.
pub(super) fn params(params: &Params, out: &mut Vec<u8>) {
    put_varint(out, len_u64(params.len()));
    for (key, value) in params.iter() {
        out.push(key);
        self::value(value, out);
    }
}

fn packed<T: Copy, const W: usize>(tag: u8, items: &[T], bytes: fn(T) -> [u8; W], out: &mut Vec<u8>) {
    out.push(tag);
    put_varint(out, len_u64(items.len()));
    out.reserve(items.len() * W);
    for item in items {
        out.extend_from_slice(&bytes(*item));
    }
}

pub(super) fn value(value: &Value, out: &mut Vec<u8>) {
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
                self::value(item, out);
            }
        }
        Value::Map(map) => {
            out.push(TAG_MAP);
            params(map, out);
        }
        Value::Byte(v) => {
            out.push(TAG_BYTE);
            out.push(*v);
        }
        Value::Short(v) => {
            out.push(TAG_SHORT);
            put_varint(out, zigzag(i64::from(*v)));
        }
        Value::ShortArray(items) => packed(TAG_SHORT_ARRAY, items, i16::to_le_bytes, out),
        Value::IntArray(items) => packed(TAG_INT_ARRAY, items, i32::to_le_bytes, out),
        Value::LongArray(items) => packed(TAG_LONG_ARRAY, items, i64::to_le_bytes, out),
        Value::FloatArray(items) => packed(TAG_FLOAT_ARRAY, items, |v: f32| v.to_bits().to_le_bytes(), out),
        Value::DoubleArray(items) => packed(TAG_DOUBLE_ARRAY, items, |v: f64| v.to_bits().to_le_bytes(), out),
        Value::BoolArray(items) => {
            out.push(TAG_BOOL_ARRAY);
            put_varint(out, len_u64(items.len()));
            for chunk in items.chunks(8) {
                out.push(chunk.iter().enumerate().fold(0u8, |bits, (i, set)| bits | (u8::from(*set) << i)));
            }
        }
        Value::StringArray(items) => {
            out.push(TAG_STRING_ARRAY);
            put_varint(out, len_u64(items.len()));
            for item in items {
                put_string(out, item);
            }
        }
        Value::Table(entries) => table(entries, out),
        Value::Custom { code, data } => {
            out.push(TAG_CUSTOM);
            out.push(*code);
            put_bytes(out, data);
        }
    }
}

fn table(table: &Table, out: &mut Vec<u8>) {
    out.push(TAG_TABLE);
    put_varint(out, len_u64(table.len()));
    for (key, value) in table.iter() {
        self::key(key, out);
        self::value(value, out);
    }
}

fn key(key: &Key, out: &mut Vec<u8>) {
    match key {
        Key::Int(v) => value(&Value::Int(*v), out),
        Key::Long(v) => value(&Value::Long(*v), out),
        Key::String(v) => {
            out.push(TAG_STRING);
            put_string(out, v);
        }
        Key::Byte(v) => value(&Value::Byte(*v), out),
        Key::Short(v) => value(&Value::Short(*v), out),
    }
}

/// The bytes [`params`] appends.
pub(super) fn params_len(params: &Params) -> usize {
    varint_len(len_u64(params.len())) + params.iter().map(|(_, value)| 1 + value_len(value)).sum::<usize>()
}

fn sized(len: usize) -> usize {
    varint_len(len_u64(len)) + len
}

/// Payload size plus the tag byte.
pub(super) fn value_len(value: &Value) -> usize {
    1 + match value {
        Value::Null | Value::Bool(_) => 0,
        Value::Int(v) => varint_len(zigzag(i64::from(*v))),
        Value::Long(v) => varint_len(zigzag(*v)),
        Value::Float(_) => 4,
        Value::Double(_) => 8,
        Value::String(text) => sized(text.len()),
        Value::Bytes(bytes) => sized(bytes.len()),
        Value::Array(items) => varint_len(len_u64(items.len())) + items.iter().map(value_len).sum::<usize>(),
        Value::Map(map) => params_len(map),
        Value::Byte(_) => 1,
        Value::Short(v) => varint_len(zigzag(i64::from(*v))),
        Value::ShortArray(items) => varint_len(len_u64(items.len())) + items.len() * 2,
        Value::IntArray(items) => varint_len(len_u64(items.len())) + items.len() * 4,
        Value::LongArray(items) => varint_len(len_u64(items.len())) + items.len() * 8,
        Value::FloatArray(items) => varint_len(len_u64(items.len())) + items.len() * 4,
        Value::DoubleArray(items) => varint_len(len_u64(items.len())) + items.len() * 8,
        Value::BoolArray(items) => varint_len(len_u64(items.len())) + items.len().div_ceil(8),
        Value::StringArray(items) => {
            varint_len(len_u64(items.len())) + items.iter().map(|s| sized(s.len())).sum::<usize>()
        }
        Value::Table(entries) => {
            varint_len(len_u64(entries.len()))
                + entries.iter().map(|(key, value)| key_len(key) + value_len(value)).sum::<usize>()
        }
        Value::Custom { data, .. } => 1 + sized(data.len()),
    }
}

fn key_len(key: &Key) -> usize {
    1 + match key {
        Key::Int(v) => varint_len(zigzag(i64::from(*v))),
        Key::Long(v) => varint_len(zigzag(*v)),
        Key::String(text) => sized(text.len()),
        Key::Byte(_) => 1,
        Key::Short(v) => varint_len(zigzag(i64::from(*v))),
    }
}
