//! `peer_params_*`: build and read operation parameters through the one Rust codec, so no binding ever
//! encodes parameters itself.

use std::ffi::c_char;

use super::boundary::{borrow, borrow_mut, byte_slice, guard};
use super::result::PeerResult;
use crate::protocol::codec::{Params, Value};

/// A parameter dictionary keyed by a byte (Photon's operation dictionary). Opaque.
#[repr(transparent)]
pub struct peer_params_t {
    pub(crate) params: Params,
}

/// Value types (peer_params_type, peer_value_t). Types 10 and above need protocol version 2 on the
/// connection they are sent on.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerValueType {
    Null = 0,
    Bool = 1,
    Int = 2,
    Long = 3,
    Float = 4,
    Double = 5,
    String = 6,
    Bytes = 7,
    Array = 8,
    Map = 9,
    Byte = 10,
    Short = 11,
    ShortArray = 12,
    IntArray = 13,
    LongArray = 14,
    FloatArray = 15,
    DoubleArray = 16,
    BoolArray = 17,
    StringArray = 18,
    Table = 19,
    Custom = 20,
}

pub(crate) fn value_type(value: &Value) -> PeerValueType {
    match value {
        Value::Null => PeerValueType::Null,
        Value::Bool(_) => PeerValueType::Bool,
        Value::Int(_) => PeerValueType::Int,
        Value::Long(_) => PeerValueType::Long,
        Value::Float(_) => PeerValueType::Float,
        Value::Double(_) => PeerValueType::Double,
        Value::String(_) => PeerValueType::String,
        Value::Bytes(_) => PeerValueType::Bytes,
        Value::Array(_) => PeerValueType::Array,
        Value::Map(_) => PeerValueType::Map,
        Value::Byte(_) => PeerValueType::Byte,
        Value::Short(_) => PeerValueType::Short,
        Value::ShortArray(_) => PeerValueType::ShortArray,
        Value::IntArray(_) => PeerValueType::IntArray,
        Value::LongArray(_) => PeerValueType::LongArray,
        Value::FloatArray(_) => PeerValueType::FloatArray,
        Value::DoubleArray(_) => PeerValueType::DoubleArray,
        Value::BoolArray(_) => PeerValueType::BoolArray,
        Value::StringArray(_) => PeerValueType::StringArray,
        Value::Table(_) => PeerValueType::Table,
        Value::Custom { .. } => PeerValueType::Custom,
    }
}

/// Creates an empty parameter dictionary.
///
/// Ownership: on success `*out_params` owns a new dictionary; free it with `peer_params_free`.
/// Thread: any thread; a dictionary must not be used from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_new(out_params: *mut *mut peer_params_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; the caller provides a writable pointer slot.
        let slot = unsafe { borrow_mut(out_params)? };
        *slot = Box::into_raw(Box::new(peer_params_t { params: Params::new() }));
        Ok(())
    })
}

/// Frees a dictionary created by `peer_params_new` or `peer_params_get_params`. NULL is ignored.
///
/// Ownership: consumes `params`; it must not be used afterwards. Never free the borrowed `params`
/// pointers handed to callbacks or polled events.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_free(params: *mut peer_params_t) {
    let _ = std::panic::catch_unwind(|| {
        if !params.is_null() {
            // SAFETY: created by Box::into_raw in this module and not freed before, per the contract.
            drop(unsafe { Box::from_raw(params) });
        }
    });
}

/// Copies a dictionary: on success `*out_params` owns a new, independent dictionary the caller frees
/// with `peer_params_free`. `params` may be any dictionary, including a borrowed one from a callback.
///
/// Thread: any thread holding `params`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_clone(params: *const peer_params_t, out_params: *mut *mut peer_params_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out) = unsafe { (borrow(params)?, borrow_mut(out_params)?) };
        *out = Box::into_raw(Box::new(peer_params_t { params: params.params.clone() }));
        Ok(())
    })
}

/// Removes `key`; PEER_RESULT_NOT_FOUND when it is absent.
///
/// Thread: the thread that owns the dictionary.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_remove(params: *mut peer_params_t, key: u8) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a live dictionary per the contract.
        let params = unsafe { borrow_mut(params)? };
        params.params.remove(key).map(|_| ()).ok_or(PeerResult::NotFound)
    })
}

/// Removes every entry.
///
/// Thread: the thread that owns the dictionary.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_clear(params: *mut peer_params_t) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a live dictionary per the contract.
        unsafe { borrow_mut(params)? }.params = Params::new();
        Ok(())
    })
}

fn put(params: *mut peer_params_t, key: u8, value: impl FnOnce() -> Result<Value, PeerResult>) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked; a live dictionary per the contract.
        let params = unsafe { borrow_mut(params)? };
        params.params.insert(key, value()?);
        Ok(())
    })
}

/// Sets `key` to null, replacing any previous value. Thread: the dictionary's owner.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_null(params: *mut peer_params_t, key: u8) -> u32 {
    put(params, key, || Ok(Value::Null))
}

/// Sets `key` to a boolean (0 = false, anything else = true).
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_bool(params: *mut peer_params_t, key: u8, value: u8) -> u32 {
    put(params, key, || Ok(Value::Bool(value != 0)))
}

/// Sets `key` to a 32-bit integer.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_i32(params: *mut peer_params_t, key: u8, value: i32) -> u32 {
    put(params, key, || Ok(Value::Int(value)))
}

/// Sets `key` to a 64-bit integer.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_i64(params: *mut peer_params_t, key: u8, value: i64) -> u32 {
    put(params, key, || Ok(Value::Long(value)))
}

/// Sets `key` to a 32-bit float.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_f32(params: *mut peer_params_t, key: u8, value: f32) -> u32 {
    put(params, key, || Ok(Value::Float(value)))
}

/// Sets `key` to a 64-bit float.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_f64(params: *mut peer_params_t, key: u8, value: f64) -> u32 {
    put(params, key, || Ok(Value::Double(value)))
}

/// Sets `key` to a UTF-8 string of `len` bytes (no terminator needed). The bytes are copied.
/// Returns PEER_RESULT_INVALID_ARGUMENT when they are not UTF-8.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_string(params: *mut peer_params_t, key: u8, utf8: *const c_char, len: usize) -> u32 {
    put(params, key, || {
        // SAFETY: `len` readable bytes per the contract.
        let bytes = unsafe { byte_slice(utf8.cast(), len)? };
        let text = std::str::from_utf8(bytes).map_err(|_| PeerResult::InvalidArgument)?;
        Ok(Value::String(text.to_owned()))
    })
}

/// Sets `key` to a byte array of `len` bytes. The bytes are copied.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_bytes(params: *mut peer_params_t, key: u8, data: *const u8, len: usize) -> u32 {
    put(params, key, || {
        // SAFETY: `len` readable bytes per the contract.
        Ok(Value::Bytes(unsafe { byte_slice(data, len)? }.to_vec()))
    })
}

/// Sets `key` to an array of 32-bit integers. The values are copied.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_i32_array(
    params: *mut peer_params_t,
    key: u8,
    values: *const i32,
    count: usize,
) -> u32 {
    put(params, key, || {
        if count > 0 && values.is_null() {
            return Err(PeerResult::NullParameter);
        }
        let values = if count == 0 {
            &[][..]
        } else {
            // SAFETY: non-NULL with `count` readable values per the contract.
            unsafe { std::slice::from_raw_parts(values, count) }
        };
        Ok(Value::Array(values.iter().map(|v| Value::Int(*v)).collect()))
    })
}

/// Sets `key` to a nested dictionary, copied from `nested` (which stays owned by the caller).
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_put_params(params: *mut peer_params_t, key: u8, nested: *const peer_params_t) -> u32 {
    put(params, key, || {
        // SAFETY: NULL-checked; a live dictionary per the contract.
        Ok(Value::Map(unsafe { borrow(nested)? }.params.clone()))
    })
}

/// Writes the number of entries to `*out_count`.
///
/// Thread: any thread holding the dictionary (reading is not synchronised with writers).
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_count(params: *const peer_params_t, out_count: *mut usize) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out) = unsafe { (borrow(params)?, borrow_mut(out_count)?) };
        *out = params.params.len();
        Ok(())
    })
}

/// Writes the key of the entry at `index` (ascending key order) to `*out_key`, so hosts can iterate.
/// Returns PEER_RESULT_NOT_FOUND when `index` is past the end.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_key_at(params: *const peer_params_t, index: usize, out_key: *mut u8) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out) = unsafe { (borrow(params)?, borrow_mut(out_key)?) };
        *out = params.params.entry_at(index).map(|(key, _)| key).ok_or(PeerResult::NotFound)?;
        Ok(())
    })
}

/// Writes the type of `key`'s value (PEER_VALUE_TYPE_*) to `*out_type`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_type(params: *const peer_params_t, key: u8, out_type: *mut u32) -> u32 {
    read(params, key, out_type, |value| Ok(value_type(value) as u32))
}

fn read<T>(
    params: *const peer_params_t,
    key: u8,
    out: *mut T,
    convert: impl FnOnce(&Value) -> Result<T, PeerResult>,
) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out) = unsafe { (borrow(params)?, borrow_mut(out)?) };
        let value = params.params.get(key).ok_or(PeerResult::NotFound)?;
        *out = convert(value)?;
        Ok(())
    })
}

/// Reads a boolean as 0 or 1.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_bool(params: *const peer_params_t, key: u8, out_value: *mut u8) -> u32 {
    read(params, key, out_value, |value| match value {
        Value::Bool(b) => Ok(*b as u8),
        _ => Err(PeerResult::TypeMismatch),
    })
}

/// Reads a 32-bit integer.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_i32(params: *const peer_params_t, key: u8, out_value: *mut i32) -> u32 {
    read(params, key, out_value, |value| match value {
        Value::Int(v) => Ok(*v),
        _ => Err(PeerResult::TypeMismatch),
    })
}

/// Reads a 64-bit integer; a 32-bit integer value is widened.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_i64(params: *const peer_params_t, key: u8, out_value: *mut i64) -> u32 {
    read(params, key, out_value, |value| match value {
        Value::Long(v) => Ok(*v),
        Value::Int(v) => Ok(i64::from(*v)),
        _ => Err(PeerResult::TypeMismatch),
    })
}

/// Reads a 32-bit float.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_f32(params: *const peer_params_t, key: u8, out_value: *mut f32) -> u32 {
    read(params, key, out_value, |value| match value {
        Value::Float(v) => Ok(*v),
        _ => Err(PeerResult::TypeMismatch),
    })
}

/// Reads a 64-bit float; a 32-bit float value is widened.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_f64(params: *const peer_params_t, key: u8, out_value: *mut f64) -> u32 {
    read(params, key, out_value, |value| match value {
        Value::Double(v) => Ok(*v),
        Value::Float(v) => Ok(f64::from(*v)),
        _ => Err(PeerResult::TypeMismatch),
    })
}

fn borrowed_slice(
    params: *const peer_params_t,
    key: u8,
    out_data: *mut *const u8,
    out_len: *mut usize,
    pick: impl FnOnce(&Value) -> Option<&[u8]>,
) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out_data, out_len) = unsafe { (borrow(params)?, borrow_mut(out_data)?, borrow_mut(out_len)?) };
        let value = params.params.get(key).ok_or(PeerResult::NotFound)?;
        let bytes = pick(value).ok_or(PeerResult::TypeMismatch)?;
        *out_data = bytes.as_ptr();
        *out_len = bytes.len();
        Ok(())
    })
}

/// Borrows a string value: `*out_utf8` points at `*out_len` UTF-8 bytes, NOT NUL-terminated.
///
/// Lifetime: valid while `params` lives and is not modified; copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_string(
    params: *const peer_params_t,
    key: u8,
    out_utf8: *mut *const c_char,
    out_len: *mut usize,
) -> u32 {
    borrowed_slice(params, key, out_utf8.cast(), out_len, |value| match value {
        Value::String(text) => Some(text.as_bytes()),
        _ => None,
    })
}

/// Borrows a byte-array value. Lifetime: valid while `params` lives and is not modified.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_bytes(
    params: *const peer_params_t,
    key: u8,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> u32 {
    borrowed_slice(params, key, out_data, out_len, |value| match value {
        Value::Bytes(bytes) => Some(bytes.as_slice()),
        _ => None,
    })
}

/// Copies an array of 32-bit integers (a packed int array, or an array whose elements are all ints)
/// into `buffer` (capacity `capacity` values) and writes the count to `*out_count`. With too small a buffer, returns PEER_RESULT_BUFFER_TOO_SMALL and writes only the
/// needed count. Any non-integer element gives PEER_RESULT_TYPE_MISMATCH.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_i32_array(
    params: *const peer_params_t,
    key: u8,
    buffer: *mut i32,
    capacity: usize,
    out_count: *mut usize,
) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out_count) = unsafe { (borrow(params)?, borrow_mut(out_count)?) };
        let values: Vec<i32> = match params.params.get(key).ok_or(PeerResult::NotFound)? {
            Value::IntArray(items) => items.clone(),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::Int(v) => Ok(*v),
                    _ => Err(PeerResult::TypeMismatch),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(PeerResult::TypeMismatch),
        };
        if values.len() > capacity {
            *out_count = values.len();
            return Err(PeerResult::BufferTooSmall);
        }
        if !values.is_empty() {
            if buffer.is_null() {
                return Err(PeerResult::NullParameter);
            }
            // SAFETY: non-NULL with room for `capacity >= values.len()` values per the contract.
            unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), buffer, values.len()) };
        }
        *out_count = values.len();
        Ok(())
    })
}

/// Copies a nested dictionary out: on success `*out_params` owns a new dictionary the caller frees
/// with `peer_params_free`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_params_get_params(
    params: *const peer_params_t,
    key: u8,
    out_params: *mut *mut peer_params_t,
) -> u32 {
    guard(|| {
        // SAFETY: NULL-checked pointers per the contract.
        let (params, out) = unsafe { (borrow(params)?, borrow_mut(out_params)?) };
        let Value::Map(nested) = params.params.get(key).ok_or(PeerResult::NotFound)? else {
            return Err(PeerResult::TypeMismatch);
        };
        *out = Box::into_raw(Box::new(peer_params_t { params: nested.clone() }));
        Ok(())
    })
}
