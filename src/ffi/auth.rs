//! `peer_auth_*`: authentication values a host sets per connect (Photon's `AuthenticationValues`),
//! and what the peer reports about authentication. Every check is the core's (`crate::auth`).

use std::ffi::c_char;

use super::boundary::{borrow, borrow_mut, byte_slice, c_str, guard_detailed, Failure};
use super::handles;
use super::result::PeerResult;
use super::types::peer_t;
use crate::auth::{AuthType, AuthValues, AuthValuesError};
use crate::peer::{AuthState, TransportKind};

/// Authentication values for peer_connect_with (`peer_connect_options_t.auth`). Opaque.
pub struct peer_auth_values_t {
    pub(crate) values: AuthValues,
}

/// Authentication type: the server asks the studio's backend (custom authentication).
pub const PEER_AUTH_CUSTOM: u32 = 0;
/// Authentication type: present a server token (AuthenticateOnce). Without a token of its own the
/// peer uses the latest one it holds.
pub const PEER_AUTH_TOKEN: u32 = 254;
/// Authentication type: anonymous, where the server allows it.
pub const PEER_AUTH_NONE: u32 = 255;

/// Authentication state: no authentication values for this connection, or not sent yet.
pub const PEER_AUTH_STATE_NONE: u32 = 0;
/// Sent right after the key exchange; the answer is awaited.
pub const PEER_AUTH_STATE_PENDING: u32 = 1;
/// The server admitted the player; the peer holds a server token (unless the server let the player in
/// without an identity while its backend was down, which the response's debug message says).
pub const PEER_AUTH_STATE_AUTHENTICATED: u32 = 2;
/// Refused; `*out_return_code` of peer_get_auth_state tells why.
pub const PEER_AUTH_STATE_FAILED: u32 = 3;

/// Longest connection token, in bytes.
pub const PEER_MAX_CONNECTION_TOKEN: u32 = 128;
const _: () = assert!(PEER_MAX_CONNECTION_TOKEN as usize == crate::auth::MAX_CONNECTION_TOKEN);

fn invalid(error: AuthValuesError) -> Failure {
    Failure::new(PeerResult::InvalidArgument, error.to_string())
}

/// Creates authentication values of `auth_type` (PEER_AUTH_*).
///
/// Ownership: on success `*out_values` owns the values; free them with peer_auth_values_free. They
/// are copied by peer_connect_with, so they may be freed or reused right after it.
/// Thread: any thread; one set of values must not be used from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_new(auth_type: u32, out_values: *mut *mut peer_auth_values_t) -> u32 {
    guard_detailed(|| {
        let auth_type = match auth_type {
            PEER_AUTH_CUSTOM => AuthType::Custom,
            PEER_AUTH_TOKEN => AuthType::Token,
            PEER_AUTH_NONE => AuthType::None,
            other => {
                let detail = format!("auth_type is {other}; use PEER_AUTH_CUSTOM, PEER_AUTH_TOKEN or PEER_AUTH_NONE");
                return Err(Failure::new(PeerResult::InvalidArgument, detail));
            }
        };
        // SAFETY: NULL-checked; the caller provides a writable pointer slot.
        let slot = unsafe { borrow_mut(out_values)? };
        *slot = Box::into_raw(Box::new(peer_auth_values_t { values: AuthValues::new(auth_type) }));
        Ok(())
    })
}

/// Frees values created by peer_auth_values_new. NULL is ignored.
///
/// Ownership: consumes `values`.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_free(values: *mut peer_auth_values_t) {
    let _ = std::panic::catch_unwind(|| {
        if !values.is_null() {
            // SAFETY: created by Box::into_raw in this module and not freed before, per the contract.
            drop(unsafe { Box::from_raw(values) });
        }
    });
}

/// Sets the connection token the game built (at most PEER_MAX_CONNECTION_TOKEN = 128 bytes: a
/// session id and a few flags). A longer token is refused with PEER_RESULT_INVALID_ARGUMENT and
/// peer_last_error gives its size and the limit; it is never truncated, and the earlier token stays.
/// `token` is read during the call only (NULL allowed when `len` is 0).
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_set_connection_token(
    values: *mut peer_auth_values_t,
    token: *const u8,
    len: usize,
) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; `len` readable bytes per the contract.
        let (values, token) = unsafe { (borrow_mut(values)?, byte_slice(token, len)?) };
        values.values.set_connection_token(token).map_err(invalid)
    })
}

/// Sets the user id the player asks for (NUL-terminated UTF-8, at most 128 bytes; "" clears it). The
/// backend decides the real one. Read during the call only.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_set_user_id(values: *mut peer_auth_values_t, user_id: *const c_char) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; a NUL-terminated string per the contract.
        let (values, user_id) = unsafe { (borrow_mut(values)?, c_str(user_id)?) };
        values.values.set_user_id(user_id).map_err(invalid)
    })
}

/// Adds (or replaces) one authentication parameter, passed to the backend as a string key/value
/// (at most 32 parameters, keys 1 to 256 bytes, values up to 256 bytes, NUL-terminated UTF-8). Read
/// during the call only.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_add_param(
    values: *mut peer_auth_values_t,
    key: *const c_char,
    value: *const c_char,
) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; NUL-terminated strings per the contract.
        let (values, key, value) = unsafe { (borrow_mut(values)?, c_str(key)?, c_str(value)?) };
        values.values.add_param(key, value).map_err(invalid)
    })
}

/// Sets the authentication data bytes passed to the backend (at most 1,024 bytes). Read during the
/// call only (NULL allowed when `len` is 0).
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_set_data(values: *mut peer_auth_values_t, data: *const u8, len: usize) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; `len` readable bytes per the contract.
        let (values, data) = unsafe { (borrow_mut(values)?, byte_slice(data, len)?) };
        values.values.set_auth_data(data).map_err(invalid)
    })
}

/// Sets the server token to present (PEER_AUTH_TOKEN), e.g. one saved from peer_get_server_token
/// before the game restarted (at most 2,048 bytes). Read during the call only.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_set_token(values: *mut peer_auth_values_t, token: *const u8, len: usize) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; `len` readable bytes per the contract.
        let (values, token) = unsafe { (borrow_mut(values)?, byte_slice(token, len)?) };
        values.values.set_token(token).map_err(invalid)
    })
}

/// AuthOnceWss: the protocol (PEER_TRANSPORT_UDP or PEER_TRANSPORT_TCP) the player will switch to
/// after authenticating over PEER_TRANSPORT_WSS. The server then answers with a per-client secret
/// beside the token, which the peer keeps to itself (it never reaches the host: the response's
/// parameters do not hold it) for a later connect with `peer_connect_options_t.auth_once` 1.
/// PEER_RESULT_INVALID_ARGUMENT for any other number. Over a connection that is neither WSS nor
/// encrypted the server refuses such an authentication.
///
/// Thread: any thread; one set of values must not be used from two threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn peer_auth_values_set_expected_protocol(values: *mut peer_auth_values_t, protocol: u32) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; live values per the contract.
        let values = unsafe { borrow_mut(values)? };
        let protocol = match TransportKind::from_number(protocol) {
            Some(kind @ (TransportKind::Udp | TransportKind::Tcp)) => kind,
            _ => {
                let detail = format!(
                    "expected protocol {protocol}: AuthOnceWss switches to PEER_TRANSPORT_UDP (0) or PEER_TRANSPORT_TCP (1)"
                );
                return Err(Failure::new(PeerResult::InvalidArgument, detail));
            }
        };
        values.values.set_expected_protocol(protocol as u8).map_err(invalid)
    })
}

/// Writes 1 to `*out_ready` when the peer holds AuthOnceWss credentials (from an authentication over
/// WSS with an expected protocol), so a UDP or TCP connect with `auth_once` 1 can use them; 0
/// otherwise. They stay, across connections of this peer, until a newer authentication replaces
/// them or a server refuses their token. The secret itself is never handed out.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_has_auth_once(peer: *const peer_t, out_ready: *mut u8) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; writable per the contract.
        let slot = unsafe { borrow_mut(out_ready)? };
        *slot = handle.peer.has_auth_once_credentials() as u8;
        Ok(())
    })
}

/// Where the connection's authentication stands: `*out_state` is a PEER_AUTH_STATE_*; for
/// PEER_AUTH_STATE_FAILED `*out_return_code` is the server's return code (32755 rejected by the
/// backend, 32753 token not valid, 32744 backend unavailable: try again, 32745 too many attempts,
/// 32767 not allowed; see docs/auth.md), otherwise 0. The message came with the operation response
/// to 230 or 231. Both out-params are written only on success.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_get_auth_state(peer: *const peer_t, out_state: *mut u32, out_return_code: *mut i16) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; writable per the contract.
        let (state_slot, code_slot) = unsafe { (borrow_mut(out_state)?, borrow_mut(out_return_code)?) };
        let (state, code) = match handle.peer.auth_state() {
            AuthState::None => (PEER_AUTH_STATE_NONE, 0),
            AuthState::Pending => (PEER_AUTH_STATE_PENDING, 0),
            AuthState::Authenticated => (PEER_AUTH_STATE_AUTHENTICATED, 0),
            AuthState::Failed { return_code } => (PEER_AUTH_STATE_FAILED, return_code),
        };
        *state_slot = state;
        *code_slot = code;
        Ok(())
    })
}

/// Copies the latest server token the peer holds (opaque bytes; kept across connections of this
/// peer) into `buffer`, its length into `*out_len` and its expiry (ms since the Unix epoch) into
/// `*out_expires_ms`. With `capacity` 0 (`buffer` may then be NULL) only the length and expiry are
/// written, to size a buffer. PEER_RESULT_NOT_FOUND when the peer holds no token;
/// PEER_RESULT_BUFFER_TOO_SMALL when `capacity` is below the length: then only `*out_len` is written,
/// with the length needed. `out_expires_ms` may be NULL.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_get_server_token(
    peer: *const peer_t,
    buffer: *mut u8,
    capacity: usize,
    out_len: *mut usize,
    out_expires_ms: *mut i64,
) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; writable per the contract.
        let len_slot = unsafe { borrow_mut(out_len)? };
        let token = handle.peer.server_token().ok_or_else(|| {
            Failure::new(PeerResult::NotFound, "the peer holds no server token (it has not authenticated)")
        })?;
        if capacity > 0 {
            if capacity < token.bytes.len() {
                *len_slot = token.bytes.len();
                let detail = format!("the server token is {} bytes; the buffer has {capacity}", token.bytes.len());
                return Err(Failure::new(PeerResult::BufferTooSmall, detail));
            }
            if buffer.is_null() {
                return Err(PeerResult::NullParameter.into());
            }
            // SAFETY: non-NULL with `capacity` writable bytes per the contract; the length fits.
            unsafe { std::ptr::copy_nonoverlapping(token.bytes.as_ptr(), buffer, token.bytes.len()) };
        }
        *len_slot = token.bytes.len();
        // SAFETY: NULL allowed; writable otherwise per the contract.
        if let Some(expires) = unsafe { out_expires_ms.as_mut() } {
            *expires = token.expires_at_ms;
        }
        Ok(())
    })
}

/// Reads the host's values for peer_connect_with.
///
/// # Safety
/// A non-NULL `values` must point to live values for the duration of the call.
pub(crate) unsafe fn values_of<'a>(values: *const peer_auth_values_t) -> Option<&'a AuthValues> {
    // SAFETY: per the caller's contract.
    unsafe { borrow(values) }.ok().map(|values| &values.values)
}
