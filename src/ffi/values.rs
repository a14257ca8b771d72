//! Every value type through one C structure, `peer_value_t`, and the two containers besides the
//! byte-keyed dictionary: arrays (`peer_array_t`) and scalar-keyed tables (`peer_table_t`).
//!
//! Values are read as borrowed views (nothing is copied, containers point into the dictionary) and
//! written as copies. Every write checks the value against the codec's limits at once, so a host
//! learns which limit it broke when it builds the value, not only when it sends it.

use std::ffi::c_void;
use std::ptr;

use super::boundary::{borrow, borrow_mut, byte_slice, guard, guard_detailed, Failure};
use super::params::{peer_params_t, value_type, PeerValueType};
use super::result::PeerResult;
use crate::protocol::codec::{check_value, CodecError, Key, Table, Value, DEFAULT_LIMITS};

/// One value of any type. Which fields mean something depends on `type`:
///
/// - PEER_VALUE_TYPE_NULL: none.
/// - BOOL (0 or 1), BYTE, SHORT, INT, LONG: `integer`.
/// - FLOAT: `float32`. DOUBLE: `float64`. (Bit patterns are kept exactly, NaN payloads included.)
/// - STRING (UTF-8, not NUL-terminated), BYTES: `data` and `len` (bytes).
/// - CUSTOM: `custom_code` (the application's type code) and `data`/`len` (the serialized bytes).
/// - SHORT_ARRAY, INT_ARRAY, LONG_ARRAY, FLOAT_ARRAY, DOUBLE_ARRAY: `data` points at `len` elements
///   of int16_t, int32_t, int64_t, float or double. BOOL_ARRAY: `len` bytes of 0 or 1.
/// - ARRAY (values of any type) and STRING_ARRAY: `array`, with `len` elements; read them with
///   peer_array_get.
/// - MAP: `map` (a byte-keyed dictionary, read with peer_params_*). TABLE: `table`.
///
/// Read (peer_params_get, peer_array_get, peer_table_get): every pointer borrows from the container
/// read from, valid while it lives and is not modified; never free them. Written (peer_params_put,
/// peer_array_push, peer_table_put): everything is copied, the caller keeps what it passed.
///
/// Layout: fixed, unlike the structures with a `struct_size`. `type` says which fields hold the
/// value, and a later value type will use these same fields (a number, data and length, or a
/// container), so a host never meets a field it was not compiled with.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_value_t {
    /// PEER_VALUE_TYPE_*.
    pub r#type: u32,
    /// PEER_VALUE_TYPE_CUSTOM: the type code.
    pub custom_code: u8,
    pub integer: i64,
    pub float32: f32,
    pub float64: f64,
    pub data: *const c_void,
    pub len: usize,
    pub map: *const peer_params_t,
    pub array: *const peer_array_t,
    pub table: *const peer_table_t,
}

impl peer_value_t {
    fn empty(kind: PeerValueType) -> Self {
        peer_value_t {
            r#type: kind as u32,
            custom_code: 0,
            integer: 0,
            float32: 0.0,
            float64: 0.0,
            data: ptr::null(),
            len: 0,
            map: ptr::null(),
            array: ptr::null(),
            table: ptr::null(),
        }
    }
}

/// An array: of values of any type (Photon's `object[]`), or of strings (`string[]`). Opaque.
#[repr(transparent)]
pub struct peer_array_t(Value);

/// A table keyed by scalars: int, long, string, byte or short (Photon's Hashtable). Opaque.
#[repr(transparent)]
pub struct peer_table_t(Table);

impl peer_array_t {
    fn from_value(value: &Value) -> &peer_array_t {
        // SAFETY: peer_array_t is repr(transparent) over Value.
        unsafe { &*(value as *const Value).cast::<peer_array_t>() }
    }
}

impl peer_table_t {
    fn from_table(table: &Table) -> &peer_table_t {
        // SAFETY: peer_table_t is repr(transparent) over Table.
        unsafe { &*(table as *const Table).cast::<peer_table_t>() }
    }

    /// The table behind a host's pointer; `None` for NULL.
    ///
    /// # Safety
    /// `table` is NULL or a live table, not modified while the borrow lasts.
    pub(crate) unsafe fn borrowed<'a>(table: *const peer_table_t) -> Option<&'a Table> {
        // SAFETY: per this function's contract.
        unsafe { table.as_ref() }.map(|table| &table.0)
    }

    /// A copy of `table` the host owns, to free with peer_table_free.
    pub(crate) fn handed_out(table: Table) -> *mut peer_table_t {
        Box::into_raw(Box::new(peer_table_t(table)))
    }
}

impl peer_params_t {
    fn from_params(params: &crate::protocol::codec::Params) -> &peer_params_t {
        // SAFETY: peer_params_t is repr(transparent) over Params.
        unsafe { &*(params as *const crate::protocol::codec::Params).cast::<peer_params_t>() }
    }
}

fn slice_view<T>(items: &[T], kind: PeerValueType) -> peer_value_t {
    peer_value_t { data: items.as_ptr().cast(), len: items.len(), ..peer_value_t::empty(kind) }
}

/// A borrowed view of `value`.
pub(crate) fn view(value: &Value) -> peer_value_t {
    let kind = value_type(value);
    let scalar = |integer: i64| peer_value_t { integer, ..peer_value_t::empty(kind) };
    match value {
        Value::Null => peer_value_t::empty(kind),
        Value::Bool(v) => scalar(i64::from(*v)),
        Value::Byte(v) => scalar(i64::from(*v)),
        Value::Short(v) => scalar(i64::from(*v)),
        Value::Int(v) => scalar(i64::from(*v)),
        Value::Long(v) => scalar(*v),
        Value::Float(v) => peer_value_t { float32: *v, ..peer_value_t::empty(kind) },
        Value::Double(v) => peer_value_t { float64: *v, ..peer_value_t::empty(kind) },
        Value::String(text) => slice_view(text.as_bytes(), kind),
        Value::Bytes(bytes) => slice_view(bytes, kind),
        Value::Custom { code, data } => peer_value_t { custom_code: *code, ..slice_view(data, kind) },
        Value::ShortArray(items) => slice_view(items, kind),
        Value::IntArray(items) => slice_view(items, kind),
        Value::LongArray(items) => slice_view(items, kind),
        Value::FloatArray(items) => slice_view(items, kind),
        Value::DoubleArray(items) => slice_view(items, kind),
        // bool is one byte holding 0 or 1.
        Value::BoolArray(items) => slice_view(items, kind),
        Value::Array(items) => {
            peer_value_t { array: peer_array_t::from_value(value), len: items.len(), ..peer_value_t::empty(kind) }
        }
        Value::StringArray(items) => {
            peer_value_t { array: peer_array_t::from_value(value), len: items.len(), ..peer_value_t::empty(kind) }
        }
        Value::Map(params) => peer_value_t { map: peer_params_t::from_params(params), ..peer_value_t::empty(kind) },
        Value::Table(table) => peer_value_t { table: peer_table_t::from_table(table), ..peer_value_t::empty(kind) },
    }
}

fn type_of(raw: u32) -> Result<PeerValueType, Failure> {
    use PeerValueType::*;
    [
        Null,
        Bool,
        Int,
        Long,
        Float,
        Double,
        String,
        Bytes,
        Array,
        Map,
        Byte,
        Short,
        ShortArray,
        IntArray,
        LongArray,
        FloatArray,
        DoubleArray,
        BoolArray,
        StringArray,
        Table,
        Custom,
    ]
    .into_iter()
    .find(|kind| *kind as u32 == raw)
    .ok_or_else(|| Failure::new(PeerResult::InvalidArgument, format!("value type {raw} is not a PEER_VALUE_TYPE_*")))
}

fn ranged<T: TryFrom<i64>>(integer: i64, what: &str) -> Result<T, Failure> {
    T::try_from(integer)
        .map_err(|_| Failure::new(PeerResult::InvalidArgument, format!("integer {integer} does not fit a {what}")))
}

/// Copies `len` numbers of type `T` from `data` (NULL allowed when `len` is 0). The host's array
/// need not be aligned for `T` (packet buffers often are not), so it is copied byte for byte.
///
/// # Safety
/// A non-NULL `data` must point to `len * size_of::<T>()` readable bytes, and `T` must be a plain
/// number type (every bit pattern valid).
unsafe fn numbers<T: Copy>(data: *const c_void, len: usize) -> Result<Vec<T>, Failure> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if data.is_null() {
        return Err(PeerResult::NullParameter.into());
    }
    let mut out = Vec::<T>::with_capacity(len);
    // SAFETY: `len * size_of::<T>()` readable bytes per the caller's contract (the length was
    // bounded by the caller, so the product does not overflow), written into capacity for `len`
    // values of a type for which any bytes are a valid value.
    unsafe {
        std::ptr::copy_nonoverlapping(data.cast::<u8>(), out.as_mut_ptr().cast::<u8>(), len * std::mem::size_of::<T>());
        out.set_len(len);
    }
    Ok(out)
}

/// Refuses a length beyond the codec's limits before anything is read or allocated for it, so a
/// wrong `len` (an unfilled peer_value_t, say) is an error naming the limit, not a huge copy.
fn check_len(kind: PeerValueType, len: usize) -> Result<(), Failure> {
    let limits = &DEFAULT_LIMITS;
    let too_long = |error: CodecError| Err(Failure::new(PeerResult::ParamsTooLarge, error.to_string()));
    let packed = |width: usize| {
        let bytes = len.saturating_mul(width);
        if bytes > limits.max_bytes {
            return too_long(CodecError::ArrayTooLong { len: bytes as u64, max: limits.max_bytes });
        }
        Ok(())
    };
    match kind {
        PeerValueType::String if len > limits.max_string => {
            too_long(CodecError::StringTooLong { len: len as u64, max: limits.max_string })
        }
        PeerValueType::Bytes | PeerValueType::Custom if len > limits.max_bytes => {
            too_long(CodecError::BytesTooLong { len: len as u64, max: limits.max_bytes })
        }
        PeerValueType::ShortArray => packed(2),
        PeerValueType::IntArray | PeerValueType::FloatArray => packed(4),
        PeerValueType::LongArray | PeerValueType::DoubleArray => packed(8),
        PeerValueType::BoolArray if len.div_ceil(8) > limits.max_bytes => {
            too_long(CodecError::ArrayTooLong { len: len.div_ceil(8) as u64, max: limits.max_bytes })
        }
        _ => Ok(()),
    }
}

/// Copies the value a host described into an owned [`Value`].
///
/// # Safety
/// The pointers in `view` must be valid as described at [`peer_value_t`].
pub(crate) unsafe fn owned(view: &peer_value_t) -> Result<Value, Failure> {
    let kind = type_of(view.r#type)?;
    check_len(kind, view.len)?;
    // SAFETY (for every unsafe block below): the pointers are valid per the contract, and lengths
    // are within the limits.
    Ok(match kind {
        PeerValueType::Null => Value::Null,
        PeerValueType::Bool => Value::Bool(view.integer != 0),
        PeerValueType::Byte => Value::Byte(ranged(view.integer, "byte")?),
        PeerValueType::Short => Value::Short(ranged(view.integer, "short")?),
        PeerValueType::Int => Value::Int(ranged(view.integer, "32-bit int")?),
        PeerValueType::Long => Value::Long(view.integer),
        PeerValueType::Float => Value::Float(view.float32),
        PeerValueType::Double => Value::Double(view.float64),
        PeerValueType::String => {
            let bytes = unsafe { byte_slice(view.data.cast(), view.len)? };
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Failure::new(PeerResult::InvalidArgument, "the string is not valid UTF-8"))?;
            Value::String(text.to_owned())
        }
        PeerValueType::Bytes => Value::Bytes(unsafe { byte_slice(view.data.cast(), view.len)? }.to_vec()),
        PeerValueType::Custom => {
            Value::Custom { code: view.custom_code, data: unsafe { byte_slice(view.data.cast(), view.len)? }.to_vec() }
        }
        PeerValueType::ShortArray => Value::ShortArray(unsafe { numbers::<i16>(view.data, view.len)? }),
        PeerValueType::IntArray => Value::IntArray(unsafe { numbers::<i32>(view.data, view.len)? }),
        PeerValueType::LongArray => Value::LongArray(unsafe { numbers::<i64>(view.data, view.len)? }),
        PeerValueType::FloatArray => Value::FloatArray(unsafe { numbers::<f32>(view.data, view.len)? }),
        PeerValueType::DoubleArray => Value::DoubleArray(unsafe { numbers::<f64>(view.data, view.len)? }),
        PeerValueType::BoolArray => {
            Value::BoolArray(unsafe { numbers::<u8>(view.data, view.len)? }.iter().map(|b| *b != 0).collect())
        }
        PeerValueType::Array | PeerValueType::StringArray => {
            let array = unsafe { borrow(view.array)? };
            if value_type(&array.0) != kind {
                let detail = format!("the array holds {}s, not what type {} says", array.0.type_name(), view.r#type);
                return Err(Failure::new(PeerResult::TypeMismatch, detail));
            }
            array.0.clone()
        }
        PeerValueType::Map => Value::Map(unsafe { borrow(view.map)? }.params.clone()),
        PeerValueType::Table => Value::Table(unsafe { borrow(view.table)? }.0.clone()),
    })
}

/// Refuses a value that could never be sent, naming the limit (a value put directly in a message
/// is at depth 1).
pub(crate) fn checked(value: Value) -> Result<Value, Failure> {
    check_value(&value, 1, &DEFAULT_LIMITS)
        .map_err(|error| Failure::new(PeerResult::ParamsTooLarge, error.to_string()))?;
    Ok(value)
}

fn write_view(out: *mut peer_value_t, value: &Value) -> Result<(), PeerResult> {
    // SAFETY: NULL-checked; writable per the contract.
    *unsafe { borrow_mut(out)? } = view(value);
    Ok(())
}

/// Sets `key` to `value` (any type; see peer_value_t), copied (a dictionary may be put into itself:
/// the copy is of its contents before the call). A value beyond the codec's limits (a string over
/// 64 KiB, a container nested too deep, ...) is refused at once with PEER_RESULT_PARAMS_TOO_LARGE,
/// and peer_last_error names the limit. A dictionary does not know the connection it will be sent
/// on, so a version-2 type is accepted here and refused by peer_send_operation on a version-1
/// connection (PEER_RESULT_NEEDS_PROTOCOL_VERSION).
///
/// Thread: the thread that owns the dictionary.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put(params: *mut peer_params_t, key: u8, value: *const peer_value_t) -> u32 {
    guard_detailed(|| {
        // The value is copied out before the target is borrowed mutably, so a value that points at
        // the target itself (a dictionary put into itself) is a copy of it, never an aliased borrow.
        // SAFETY: NULL-checked; the value's pointers are valid per the contract.
        let value = checked(unsafe { owned(borrow(value)?)? })?;
        // SAFETY: NULL-checked; a live dictionary per the contract.
        let params = unsafe { borrow_mut(params)? };
        params.params.insert(key, value);
        Ok(())
    })
}

/// Reads `key`'s value into `*out_value` (a borrowed view; see peer_value_t). PEER_RESULT_NOT_FOUND
/// when the key is absent.
///
/// Thread: any thread holding the dictionary (reading is not synchronised with writers).
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get(params: *const peer_params_t, key: u8, out_value: *mut peer_value_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a live dictionary per the contract.
        let params = unsafe { borrow(params)? };
        let value = params.params.get(key).ok_or(PeerResult::NotFound)?;
        write_view(out_value, value)
    })
}

/// Creates an empty array. `element_type` is PEER_VALUE_TYPE_ARRAY for values of any type (sent as
/// an array; Photon's `object[]`) or PEER_VALUE_TYPE_STRING_ARRAY for strings only (`string[]`).
///
/// Ownership: on success `*out_array` owns a new array; free it with peer_array_free.
/// Thread: any thread; an array must not be used from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn peer_array_new(element_type: u32, out_array: *mut *mut peer_array_t) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; a writable slot per the contract.
        let out = unsafe { borrow_mut(out_array)? };
        let value = match type_of(element_type)? {
            PeerValueType::Array => Value::Array(Vec::new()),
            PeerValueType::StringArray => Value::StringArray(Vec::new()),
            _ => {
                let detail = "an array holds PEER_VALUE_TYPE_ARRAY (any values) or PEER_VALUE_TYPE_STRING_ARRAY";
                return Err(Failure::new(PeerResult::InvalidArgument, detail));
            }
        };
        *out = Box::into_raw(Box::new(peer_array_t(value)));
        Ok(())
    })
}

/// Frees an array created by peer_array_new. NULL is ignored. Never free the borrowed arrays of
/// peer_value_t views.
#[unsafe(no_mangle)]
pub extern "C" fn peer_array_free(array: *mut peer_array_t) {
    let _ = std::panic::catch_unwind(|| {
        if !array.is_null() {
            // SAFETY: created by Box::into_raw in peer_array_new and not freed before, per the contract.
            drop(unsafe { Box::from_raw(array) });
        }
    });
}

/// Appends a copy of `value`. A string array takes only strings (else PEER_RESULT_TYPE_MISMATCH). The
/// value's limits are checked as by peer_params_put, and so is the array's length.
///
/// Thread: the thread that owns the array.
#[unsafe(no_mangle)]
pub extern "C" fn peer_array_push(array: *mut peer_array_t, value: *const peer_value_t) -> u32 {
    guard_detailed(|| {
        // Copied before the target is borrowed mutably, as in peer_params_put.
        // SAFETY: NULL-checked; the value's pointers are valid per the contract.
        let value = checked(unsafe { owned(borrow(value)?)? })?;
        // SAFETY: NULL-checked; a live array per the contract.
        let array = unsafe { borrow_mut(array)? };
        let len = match &mut array.0 {
            Value::Array(items) => {
                items.push(value);
                items.len()
            }
            Value::StringArray(items) => {
                let Value::String(text) = value else {
                    let detail = format!("a string array takes strings, not a {}", value.type_name());
                    return Err(Failure::new(PeerResult::TypeMismatch, detail));
                };
                items.push(text);
                items.len()
            }
            _ => return Err(PeerResult::InvalidArgument.into()),
        };
        if len > DEFAULT_LIMITS.max_entries {
            let detail = format!("an array may hold {} elements", DEFAULT_LIMITS.max_entries);
            let _ = match &mut array.0 {
                Value::Array(items) => items.pop().map(|_| ()),
                Value::StringArray(items) => items.pop().map(|_| ()),
                _ => None,
            };
            return Err(Failure::new(PeerResult::ParamsTooLarge, detail));
        }
        Ok(())
    })
}

/// Writes the number of elements to `*out_count`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_array_count(array: *const peer_array_t, out_count: *mut usize) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (array, out) = unsafe { (borrow(array)?, borrow_mut(out_count)?) };
        *out = match &array.0 {
            Value::Array(items) => items.len(),
            Value::StringArray(items) => items.len(),
            _ => 0,
        };
        Ok(())
    })
}

/// Reads the element at `index` into `*out_value` (a borrowed view; an element of a string array is
/// a PEER_VALUE_TYPE_STRING). PEER_RESULT_NOT_FOUND past the end.
#[unsafe(no_mangle)]
pub extern "C" fn peer_array_get(array: *const peer_array_t, index: usize, out_value: *mut peer_value_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a live array per the contract.
        let array = unsafe { borrow(array)? };
        // SAFETY: NULL-checked; writable per the contract.
        let out = unsafe { borrow_mut(out_value)? };
        *out = match &array.0 {
            Value::Array(items) => view(items.get(index).ok_or(PeerResult::NotFound)?),
            Value::StringArray(items) => {
                slice_view(items.get(index).ok_or(PeerResult::NotFound)?.as_bytes(), PeerValueType::String)
            }
            _ => return Err(PeerResult::InvalidArgument),
        };
        Ok(())
    })
}

/// Creates an empty table (keys: int, long, string, byte or short values).
///
/// Ownership: on success `*out_table` owns a new table; free it with peer_table_free.
/// Thread: any thread; a table must not be used from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_new(out_table: *mut *mut peer_table_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a writable slot per the contract.
        *unsafe { borrow_mut(out_table)? } = peer_table_t::handed_out(Table::new());
        Ok(())
    })
}

/// Frees a table created by peer_table_new. NULL is ignored. Never free the borrowed tables of
/// peer_value_t views.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_free(table: *mut peer_table_t) {
    let _ = std::panic::catch_unwind(|| {
        if !table.is_null() {
            // SAFETY: created by Box::into_raw in peer_table_new and not freed before, per the contract.
            drop(unsafe { Box::from_raw(table) });
        }
    });
}

/// The key a host described, refused unless it is of a key type.
///
/// # Safety
/// As for [`owned`].
unsafe fn key_of(key: &peer_value_t) -> Result<Key, Failure> {
    // SAFETY: per the caller's contract.
    let value = unsafe { owned(key)? };
    Key::from_value(&value).ok_or_else(|| {
        let detail = format!("a table key is an int, long, string, byte or short, not a {}", value.type_name());
        Failure::new(PeerResult::TypeMismatch, detail)
    })
}

/// Sets `key` (an int, long, string, byte or short value) to a copy of `value`, replacing any value
/// it had. A key of another type gives PEER_RESULT_TYPE_MISMATCH; limits are checked as by
/// peer_params_put.
///
/// Thread: the thread that owns the table.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_put(
    table: *mut peer_table_t,
    key: *const peer_value_t,
    value: *const peer_value_t,
) -> u32 {
    guard_detailed(|| {
        // Copied before the target is borrowed mutably, as in peer_params_put.
        // SAFETY: NULL-checked; the pointers inside are valid per the contract.
        let (key, value) = unsafe { (key_of(borrow(key)?)?, checked(owned(borrow(value)?)?)?) };
        // SAFETY: NULL-checked; a live table per the contract.
        let table = unsafe { borrow_mut(table)? };
        if let Key::String(text) = &key {
            checked(Value::String(text.clone()))?;
        }
        if table.0.get(&key).is_none() && table.0.len() >= DEFAULT_LIMITS.max_entries {
            let detail = format!("a table may hold {} entries", DEFAULT_LIMITS.max_entries);
            return Err(Failure::new(PeerResult::ParamsTooLarge, detail));
        }
        table.0.insert(key, value);
        Ok(())
    })
}

/// Writes the number of entries to `*out_count`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_count(table: *const peer_table_t, out_count: *mut usize) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (table, out) = unsafe { (borrow(table)?, borrow_mut(out_count)?) };
        *out = table.0.len();
        Ok(())
    })
}

/// Reads the value of `key` into `*out_value` (a borrowed view). PEER_RESULT_NOT_FOUND when absent.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_get(
    table: *const peer_table_t,
    key: *const peer_value_t,
    out_value: *mut peer_value_t,
) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked pointers, valid per the contract.
        let (table, key) = unsafe { (borrow(table)?, borrow(key)?) };
        // SAFETY: the key's pointers are valid per the contract.
        let key = unsafe { key_of(key)? };
        let value = table.0.get(&key).ok_or(PeerResult::NotFound)?;
        Ok(write_view(out_value, value)?)
    })
}

/// Reads the entry at `index` (in key order) into `*out_key` and `*out_value` (borrowed views), so
/// hosts can iterate. PEER_RESULT_NOT_FOUND past the end.
#[unsafe(no_mangle)]
pub extern "C" fn peer_table_entry_at(
    table: *const peer_table_t,
    index: usize,
    out_key: *mut peer_value_t,
    out_value: *mut peer_value_t,
) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (table, out_key, out_value) = unsafe { (borrow(table)?, borrow_mut(out_key)?, borrow_mut(out_value)?) };
        let (key, value) = table.0.entry_at(index).ok_or(PeerResult::NotFound)?;
        *out_key = match key {
            Key::String(text) => slice_view(text.as_bytes(), PeerValueType::String),
            Key::Int(v) => peer_value_t { integer: i64::from(*v), ..peer_value_t::empty(PeerValueType::Int) },
            Key::Long(v) => peer_value_t { integer: *v, ..peer_value_t::empty(PeerValueType::Long) },
            Key::Byte(v) => peer_value_t { integer: i64::from(*v), ..peer_value_t::empty(PeerValueType::Byte) },
            Key::Short(v) => peer_value_t { integer: i64::from(*v), ..peer_value_t::empty(PeerValueType::Short) },
        };
        *out_value = view(value);
        Ok(())
    })
}
