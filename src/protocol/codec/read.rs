//! Decoding: a cursor over a message body, and the bounded decoder of values.

use super::budget::{Budget, ARRAY_ELEMENT_COST, ENTRY_COST, STRING_ELEMENT_COST, TABLE_ENTRY_COST};
use super::value::{Key, Params, Table, Value};
use super::write::*;
use super::{CodecError, Limits};

/// A u64 needs at most ceil(64 / 7) LEB128 groups.
const MAX_VARINT_LEN: usize = 10;
/// The cheapest array element is a bare tag, so a count above the remaining input cannot be honest.
const MIN_ELEMENT_LEN: usize = 1;
/// The cheapest map entry is a key byte plus a bare tag; a table entry is two tags and a byte.
const MIN_ENTRY_LEN: usize = 2;
const MIN_TABLE_ENTRY_LEN: usize = 3;
/// The cheapest string in a string array is its zero length.
const MIN_STRING_LEN: usize = 1;

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
        Decoder { reader: self, limits, budget: Budget::new(limits) }.params(0)
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

    /// A packed array's element count, bounded by its byte size against `max_bytes`.
    fn packed_count(&mut self, limits: &Limits, width: usize) -> Result<usize, CodecError> {
        let declared = self.varint()?;
        let bytes = declared.saturating_mul(width as u64);
        match usize::try_from(bytes) {
            Ok(len) if len <= limits.max_bytes => Ok(declared as usize),
            _ => Err(CodecError::ArrayTooLong { len: bytes, max: limits.max_bytes }),
        }
    }

    fn zigzag_i64(&mut self) -> Result<i64, CodecError> {
        Ok(unzigzag(self.varint()?))
    }
}

/// Decoding state for one top-level [`Params`]. Recursion is bounded by `limits.max_depth`, which is
/// checked before each container is entered.
struct Decoder<'r, 'a> {
    reader: &'r mut Reader<'a>,
    limits: &'r Limits,
    budget: Budget,
}

impl Decoder<'_, '_> {
    /// `depth` is the depth of the map being decoded.
    fn params(&mut self, depth: usize) -> Result<Params, CodecError> {
        let count = self.reader.count(self.limits, MIN_ENTRY_LEN)?;
        self.budget.spend_container(count, ENTRY_COST)?;
        let mut params = Params::with_capacity(count);
        for _ in 0..count {
            let key = self.reader.u8()?;
            if params.contains_key(key) {
                return Err(CodecError::DuplicateKey(key));
            }
            let value = self.value(depth + 1)?;
            params.insert_new(key, value);
        }
        Ok(params)
    }

    fn table(&mut self, depth: usize) -> Result<Table, CodecError> {
        let count = self.reader.count(self.limits, MIN_TABLE_ENTRY_LEN)?;
        self.budget.spend_container(count, TABLE_ENTRY_COST)?;
        let mut table = Table::with_capacity(count);
        for _ in 0..count {
            let key = self.key()?;
            let value = self.value(depth + 1)?;
            if !table.insert_new(key, value) {
                return Err(CodecError::DuplicateTableKey);
            }
        }
        Ok(table)
    }

    fn key(&mut self) -> Result<Key, CodecError> {
        Ok(match self.reader.u8()? {
            TAG_INT => Key::Int(self.int()?),
            TAG_LONG => Key::Long(self.reader.zigzag_i64()?),
            TAG_STRING => Key::String(self.string()?),
            TAG_BYTE => Key::Byte(self.reader.u8()?),
            TAG_SHORT => Key::Short(self.short()?),
            tag => return Err(CodecError::InvalidTableKey(tag)),
        })
    }

    fn int(&mut self) -> Result<i32, CodecError> {
        i32::try_from(self.reader.zigzag_i64()?).map_err(|_| CodecError::VarintOverflow)
    }

    fn short(&mut self) -> Result<i16, CodecError> {
        i16::try_from(self.reader.zigzag_i64()?).map_err(|_| CodecError::VarintOverflow)
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let text = self.reader.string(self.limits.max_string)?;
        self.budget.spend_bytes(text.len())?;
        Ok(text.to_owned())
    }

    fn packed<T, const W: usize>(&mut self, from: fn([u8; W]) -> T) -> Result<Vec<T>, CodecError> {
        let count = self.reader.packed_count(self.limits, W)?;
        let data = self.reader.take(count * W)?;
        self.budget.spend_bytes(count * W)?;
        Ok(data.chunks_exact(W).map(|chunk| from(chunk.try_into().expect("W bytes"))).collect())
    }

    /// `depth` is the depth this value has if it turns out to be a container.
    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        self.budget.spend_one()?;
        let tag = self.reader.u8()?;
        if tag > last_tag(self.limits.protocol_version) {
            return Err(CodecError::UnknownTag(tag));
        }
        let value = match tag {
            TAG_NULL => Value::Null,
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            TAG_INT => Value::Int(self.int()?),
            TAG_LONG => Value::Long(self.reader.zigzag_i64()?),
            TAG_FLOAT => Value::Float(f32::from_bits(u32::from_le_bytes(self.reader.array()?))),
            TAG_DOUBLE => Value::Double(f64::from_bits(u64::from_le_bytes(self.reader.array()?))),
            TAG_STRING => Value::String(self.string()?),
            TAG_BYTES => {
                let bytes = self.reader.bytes(self.limits.max_bytes)?;
                self.budget.spend_bytes(bytes.len())?;
                Value::Bytes(bytes.to_vec())
            }
            TAG_ARRAY => {
                self.limits.check_depth(depth)?;
                let count = self.reader.count(self.limits, MIN_ELEMENT_LEN)?;
                self.budget.spend_container(count, ARRAY_ELEMENT_COST)?;
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
            TAG_BYTE => Value::Byte(self.reader.u8()?),
            TAG_SHORT => Value::Short(self.short()?),
            TAG_SHORT_ARRAY => Value::ShortArray(self.packed(i16::from_le_bytes)?),
            TAG_INT_ARRAY => Value::IntArray(self.packed(i32::from_le_bytes)?),
            TAG_LONG_ARRAY => Value::LongArray(self.packed(i64::from_le_bytes)?),
            TAG_FLOAT_ARRAY => Value::FloatArray(self.packed(|b| f32::from_bits(u32::from_le_bytes(b)))?),
            TAG_DOUBLE_ARRAY => Value::DoubleArray(self.packed(|b| f64::from_bits(u64::from_le_bytes(b)))?),
            TAG_BOOL_ARRAY => {
                let declared = self.reader.varint()?;
                let bytes = declared.div_ceil(8);
                let count = match usize::try_from(bytes) {
                    Ok(len) if len <= self.limits.max_bytes => declared as usize,
                    _ => return Err(CodecError::ArrayTooLong { len: bytes, max: self.limits.max_bytes }),
                };
                let bits = self.reader.take(count.div_ceil(8))?;
                // Padding bits of the last byte must be zero, so each array has one encoding.
                if count % 8 != 0 && bits.last().is_some_and(|last| last >> (count % 8) != 0) {
                    return Err(CodecError::NonZeroPadding);
                }
                self.budget.spend_bytes(count)?;
                Value::BoolArray((0..count).map(|i| bits[i / 8] & (1 << (i % 8)) != 0).collect())
            }
            TAG_STRING_ARRAY => {
                let count = self.reader.count(self.limits, MIN_STRING_LEN)?;
                self.budget.spend_container(count, STRING_ELEMENT_COST)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.string()?);
                }
                Value::StringArray(items)
            }
            TAG_TABLE => {
                self.limits.check_depth(depth)?;
                Value::Table(self.table(depth)?)
            }
            TAG_CUSTOM => {
                let code = self.reader.u8()?;
                let data = self.reader.bytes(self.limits.max_bytes)?;
                self.budget.spend_bytes(data.len())?;
                Value::Custom { code, data: data.to_vec() }
            }
            tag => return Err(CodecError::UnknownTag(tag)),
        };
        Ok(value)
    }
}
