//! Plain C structures and callback types of the ABI.

use std::ffi::{c_char, c_void};

use super::params::peer_params_t;

/// A peer. Opaque: the pointer is a handle, checked on every call, so a destroyed peer gives
/// PEER_RESULT_INVALID_PEER instead of undefined behaviour.
pub struct peer_t {
    _private: (),
}

/// Detail of a status change.
#[repr(C)]
pub struct peer_status_info_t {
    /// Disconnect reason (PEER_DISCONNECT_REASON_*), 0 when none.
    pub reason: u16,
    /// Readable detail, NUL-terminated UTF-8. Never contains key material.
    /// Lifetime: valid until the callback returns (or until the next peer_poll_event/peer_service/
    /// peer_destroy for polled events); copy it to keep it.
    pub message: *const c_char,
}

/// An operation response from the server.
#[repr(C)]
pub struct peer_operation_response_t {
    pub op_code: u8,
    /// 1 when the response arrived encrypted.
    pub encrypted: u8,
    /// 0 is success; negative values are errors (see PEER_RETURN_CODE_*).
    pub return_code: i16,
    /// NUL-terminated UTF-8, or NULL when the server sent none. Same lifetime as `peer_status_info_t`.
    pub debug_message: *const c_char,
    /// Parameters, borrowed with the same lifetime. Never free them.
    pub params: *const peer_params_t,
}

/// An event relayed by the server.
#[repr(C)]
pub struct peer_event_t {
    pub code: u8,
    /// 1 when the event arrived encrypted, 0 when it was plain (authenticated after the key exchange).
    pub encrypted: u8,
    /// Actor number of the player that raised it (0 for the server).
    pub sender: i32,
    /// Parameters, borrowed until the callback returns. Never free them.
    pub params: *const peer_params_t,
}

/// Status callback: `status` is a PEER_STATUS_* code (Photon's StatusCode numbers).
/// Runs only inside peer_service, on the thread that called it.
pub type peer_status_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: u32, info: *const peer_status_info_t)>;

/// Operation-response callback. Runs only inside peer_service, on the thread that called it.
pub type peer_operation_response_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, response: *const peer_operation_response_t)>;

/// Event callback. Runs only inside peer_service, on the thread that called it.
pub type peer_event_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const peer_event_t)>;

/// Settings for peer_create. Fill it with peer_config_default, then change what you need.
#[repr(C)]
pub struct peer_config_t {
    /// May be NULL. Called with `user_data` as first argument.
    pub on_status: peer_status_callback,
    /// May be NULL.
    pub on_operation_response: peer_operation_response_callback,
    /// May be NULL.
    pub on_event: peer_event_callback,
    /// Passed back unchanged to every callback; sealnet never dereferences it.
    pub user_data: *mut c_void,
    /// With nothing received for this long the connection is lost (status 1040). Default 10000;
    /// 1 to 86400000 (one day), else peer_create returns PEER_RESULT_INVALID_ARGUMENT.
    pub disconnect_timeout_ms: u32,
    /// Ping interval of the I/O thread. Default 1000; 1 to 86400000.
    pub ping_interval_ms: u32,
    /// 1 (default): run the key exchange right after connecting. 0: call peer_establish_encryption.
    pub auto_key_exchange: u8,
    /// 1: the server must present `server_public_key` in the key exchange, else status 1049.
    pub pin_server_key: u8,
    /// The pinned server static key (printed by sealnet-server at start-up).
    pub server_public_key: [u8; 32],
    /// Results held for the host before the peer disconnects with an error. Default 65536.
    pub max_queued_events: u32,
}

/// How an operation is sent.
#[repr(C)]
pub struct peer_send_options_t {
    /// PEER_DELIVERY_MODE_* (Photon's DeliveryMode numbers). Over TCP everything is reliable.
    pub delivery_mode: u8,
    /// 1: encrypt the operation (needs a completed key exchange).
    pub encrypt: u8,
    /// Channel number (carried for the datagram transport).
    pub channel: u8,
}

/// A result taken with peer_poll_event. Only the member matching `kind` is meaningful.
#[repr(C)]
pub struct peer_polled_event_t {
    /// PEER_EVENT_KIND_*.
    pub kind: u32,
    /// For PEER_EVENT_KIND_STATUS: the status code.
    pub status: u32,
    pub status_info: peer_status_info_t,
    pub response: peer_operation_response_t,
    pub event: peer_event_t,
}

/// What a polled event holds.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEventKind {
    Status = 1,
    OperationResponse = 2,
    Event = 3,
}
