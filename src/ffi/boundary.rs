//! The panic boundary and pointer checks every exported function goes through.

use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::result::PeerResult;
use crate::peer::PeerError;
use crate::protocol::session::SessionError;

thread_local! {
    /// Why the last failed call on this thread failed, for peer_last_error.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failed call: its result code and, when the code alone does not say it, what exactly was wrong
/// (which parameter, which limit).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(super) result: PeerResult,
    pub(super) detail: Option<String>,
}

impl Failure {
    pub fn new(result: PeerResult, detail: impl Into<String>) -> Self {
        Failure { result, detail: Some(detail.into()) }
    }
}

impl From<PeerResult> for Failure {
    fn from(result: PeerResult) -> Self {
        Failure { result, detail: None }
    }
}

impl From<PeerError> for Failure {
    fn from(error: PeerError) -> Self {
        let detail = error.to_string();
        Failure { result: error.into(), detail: Some(detail) }
    }
}

impl From<SessionError> for Failure {
    fn from(error: SessionError) -> Self {
        PeerError::Session(error).into()
    }
}

fn remember(text: &str) {
    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// Runs `body` so that no panic crosses into the host, and converts its outcome to a result code. A
/// failure is remembered for peer_last_error.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), PeerResult>) -> u32 {
    guard_detailed(|| body().map_err(Failure::from))
}

/// As [`guard`], for calls whose failures carry detail (which parameter, which limit).
pub(crate) fn guard_detailed(body: impl FnOnce() -> Result<(), Failure>) -> u32 {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return PeerResult::Ok as u32,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::from(PeerResult::Panic),
    };
    match &failure.detail {
        Some(detail) => remember(detail),
        None => remember(PeerResult::describe(failure.result as u32).to_str().unwrap_or_default()),
    }
    failure.result as u32
}

/// The text peer_last_error hands out; valid until the next failure on this thread.
pub(crate) fn last_error() -> *const std::ffi::c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
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
