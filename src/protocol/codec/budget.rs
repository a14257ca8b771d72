//! What a decode may build: the count of values and the decoded size, charged before allocating, and
//! the same checks applied to in-memory values before they are sent.

use super::value::{Key, Params, Table, Value};
use super::write::len_u64;
use super::{CodecError, Limits};

/// What a value costs in the decoded size, wherever it sits: an array element, a map value.
pub const VALUE_COST: usize = 32;
/// What a map entry's key adds to its value's cost.
pub const KEY_COST: usize = 8;
pub(super) const ENTRY_COST: usize = VALUE_COST + KEY_COST;
pub(super) const ARRAY_ELEMENT_COST: usize = VALUE_COST;
/// A table entry: its key and its value, each a value slot.
pub(super) const TABLE_ENTRY_COST: usize = 2 * VALUE_COST;
/// A string in a string array: the string itself, without a value slot.
pub(super) const STRING_ELEMENT_COST: usize = 24;

/// Counts values and decoded bytes across a whole decode or check: per-container limits alone still
/// let nested containers multiply into millions of small allocations.
pub(super) struct Budget {
    values: usize,
    max_values: usize,
    bytes: usize,
    max_bytes: usize,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Budget { values: 0, max_values: limits.max_total_values, bytes: 0, max_bytes: limits.max_decoded_bytes }
    }

    pub fn spend_one(&mut self) -> Result<(), CodecError> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(CodecError::TooManyValues { max: self.max_values });
        }
        Ok(())
    }

    /// Charges decoded bytes; called before the memory they stand for is allocated.
    pub fn spend_bytes(&mut self, bytes: usize) -> Result<(), CodecError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(CodecError::DecodedTooLarge { max: self.max_bytes });
        }
        Ok(())
    }

    /// A container of `count` entries, each costing `cost`.
    pub fn spend_container(&mut self, count: usize, cost: usize) -> Result<(), CodecError> {
        self.spend_bytes(count.saturating_mul(cost))
    }
}

/// The decoded size of `params`, as the decoder charges it against [`Limits::max_decoded_bytes`]
/// (docs/protocol.md, section 4.5, defines it). It approximates the memory the parameters occupy, so
/// hosts can bound what they queue by it.
pub fn decoded_size(params: &Params) -> usize {
    params.iter().map(|(_, value)| ENTRY_COST + inner_size(value)).sum()
}

/// What a value costs beyond its own slot.
fn inner_size(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Bytes(bytes) => bytes.len(),
        Value::Custom { data, .. } => data.len(),
        Value::Array(items) => items.iter().map(|item| ARRAY_ELEMENT_COST + inner_size(item)).sum(),
        Value::Map(params) => decoded_size(params),
        Value::ShortArray(items) => items.len() * 2,
        Value::IntArray(items) => items.len() * 4,
        Value::FloatArray(items) => items.len() * 4,
        Value::LongArray(items) => items.len() * 8,
        Value::DoubleArray(items) => items.len() * 8,
        Value::BoolArray(items) => items.len(),
        Value::StringArray(items) => items.iter().map(|item| STRING_ELEMENT_COST + item.len()).sum(),
        Value::Table(table) => {
            table.iter().map(|(key, value)| TABLE_ENTRY_COST + key_size(key) + inner_size(value)).sum()
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Long(_) | Value::Float(_) | Value::Double(_) => 0,
        Value::Byte(_) | Value::Short(_) => 0,
    }
}

fn key_size(key: &Key) -> usize {
    match key {
        Key::String(text) => text.len(),
        _ => 0,
    }
}

/// Walks in-memory parameters in wire order, applying the decoder's checks in the decoder's order, so
/// a sender is refused exactly what a receiver with the same limits would refuse.
pub(super) struct LimitCheck<'l> {
    pub limits: &'l Limits,
    pub budget: Budget,
}

impl LimitCheck<'_> {
    pub fn params(&mut self, params: &Params, depth: usize) -> Result<(), CodecError> {
        self.limits.check_entries(len_u64(params.len()))?;
        self.budget.spend_container(params.len(), ENTRY_COST)?;
        params.iter().try_for_each(|(_, value)| self.value(value, depth + 1))
    }

    fn string(&mut self, text: &str) -> Result<(), CodecError> {
        if text.len() > self.limits.max_string {
            return Err(CodecError::StringTooLong { len: len_u64(text.len()), max: self.limits.max_string });
        }
        self.budget.spend_bytes(text.len())
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), CodecError> {
        if bytes.len() > self.limits.max_bytes {
            return Err(CodecError::BytesTooLong { len: len_u64(bytes.len()), max: self.limits.max_bytes });
        }
        self.budget.spend_bytes(bytes.len())
    }

    fn packed(&mut self, wire_bytes: usize, memory: usize) -> Result<(), CodecError> {
        if wire_bytes > self.limits.max_bytes {
            return Err(CodecError::ArrayTooLong { len: len_u64(wire_bytes), max: self.limits.max_bytes });
        }
        self.budget.spend_bytes(memory)
    }

    pub fn value(&mut self, value: &Value, depth: usize) -> Result<(), CodecError> {
        self.budget.spend_one()?;
        let version = self.limits.protocol_version;
        if value.min_version() > version {
            return Err(CodecError::TypeNeedsVersion { what: value.type_name(), needs: value.min_version(), version });
        }
        match value {
            Value::String(text) => self.string(text),
            Value::Bytes(bytes) => self.bytes(bytes),
            Value::Custom { data, .. } => self.bytes(data),
            Value::Array(items) => {
                self.limits.check_depth(depth)?;
                self.limits.check_entries(len_u64(items.len()))?;
                self.budget.spend_container(items.len(), ARRAY_ELEMENT_COST)?;
                items.iter().try_for_each(|item| self.value(item, depth + 1))
            }
            Value::Map(params) => {
                self.limits.check_depth(depth)?;
                self.params(params, depth)
            }
            Value::ShortArray(items) => self.packed(items.len() * 2, items.len() * 2),
            Value::IntArray(items) => self.packed(items.len() * 4, items.len() * 4),
            Value::FloatArray(items) => self.packed(items.len() * 4, items.len() * 4),
            Value::LongArray(items) => self.packed(items.len() * 8, items.len() * 8),
            Value::DoubleArray(items) => self.packed(items.len() * 8, items.len() * 8),
            Value::BoolArray(items) => self.packed(items.len().div_ceil(8), items.len()),
            Value::StringArray(items) => {
                self.limits.check_entries(len_u64(items.len()))?;
                self.budget.spend_container(items.len(), STRING_ELEMENT_COST)?;
                items.iter().try_for_each(|item| self.string(item))
            }
            Value::Table(table) => {
                self.limits.check_depth(depth)?;
                self.table(table, depth)
            }
            _ => Ok(()),
        }
    }

    fn table(&mut self, table: &Table, depth: usize) -> Result<(), CodecError> {
        self.limits.check_entries(len_u64(table.len()))?;
        self.budget.spend_container(table.len(), TABLE_ENTRY_COST)?;
        table.iter().try_for_each(|(key, value)| {
            if let Key::String(text) = key {
                self.string(text)?;
            }
            self.value(value, depth + 1)
        })
    }
}
