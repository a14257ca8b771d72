//! The panic boundary and pointer checks every exported function goes through.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::result::PeerResult;

/// Runs `body` so that no panic crosses into the host, and converts its outcome to a result code.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), PeerResult>) -> u32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => PeerResult::Ok as u32,
        Ok(Err(result)) => result as u32,
        Err(_) => PeerResult::Panic as u32,
    }
}

/// Borrows a caller pointer, refusing NULL.
///
/// # Safety
/// A non-NULL `pointer` must point to a valid `T` for the duration of the call.
pub(crate) unsafe fn borrow<'a, T>(pointer: *const T) -> Result<&'a T, PeerResult> {
    // SAFETY: the caller promises validity of non-NULL pointers.
    unsafe { pointer.as_ref() }.ok_or(PeerResult::NullParameter)
}

/// Mutable variant of [`borrow`].
///
/// # Safety
/// A non-NULL `pointer` must point to a valid, exclusively borrowed `T` for the duration of the call.
pub(crate) unsafe fn borrow_mut<'a, T>(pointer: *mut T) -> Result<&'a mut T, PeerResult> {
    // SAFETY: the caller promises validity and exclusivity of non-NULL pointers.
    unsafe { pointer.as_mut() }.ok_or(PeerResult::NullParameter)
}

/// Reads a NUL-terminated UTF-8 string.
///
/// # Safety
/// A non-NULL `text` must point to a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn c_str<'a>(text: *const std::ffi::c_char) -> Result<&'a str, PeerResult> {
    if text.is_null() {
        return Err(PeerResult::NullParameter);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { std::ffi::CStr::from_ptr(text) }.to_str().map_err(|_| PeerResult::InvalidArgument)
}

/// Reads `len` bytes; NULL is allowed only when `len` is 0.
///
/// # Safety
/// A non-NULL `data` must point to `len` readable bytes for the duration of the call.
pub(crate) unsafe fn byte_slice<'a>(data: *const u8, len: usize) -> Result<&'a [u8], PeerResult> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(PeerResult::NullParameter);
    }
    // SAFETY: non-NULL with `len` readable bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}
