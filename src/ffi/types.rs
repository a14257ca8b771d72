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

/// Settings for peer_create. Fill it with `peer_config_default(&config, sizeof config)`, then change
/// what you need.
///
/// Growth (the same for every structure that starts with `struct_size`): fields are only ever added
/// at the end, and the layout has no padding (`reserved` bytes stand where the compiler would put
/// it), so every byte means something. `struct_size` tells the library which fields the host was
/// compiled with: a host built against an older header (a smaller struct) gets the defaults for the
/// fields it lacks; a host built against a newer header runs on an older library as long as it
/// leaves the fields that library does not know at zero, and is refused with a message otherwise.
/// Reserved bytes must be zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_config_t {
    /// sizeof(peer_config_t) as the host compiled it; peer_config_default sets it.
    pub struct_size: u32,
    /// With nothing received for this long the connection is lost (status 1040). Default 10000;
    /// 1 to 86400000 (one day), else peer_create returns PEER_RESULT_INVALID_ARGUMENT.
    pub disconnect_timeout_ms: u32,
    /// May be NULL. Called with `user_data` as first argument.
    pub on_status: peer_status_callback,
    /// May be NULL.
    pub on_operation_response: peer_operation_response_callback,
    /// May be NULL.
    pub on_event: peer_event_callback,
    /// Passed back unchanged to every callback; sealnet never dereferences it.
    pub user_data: *mut c_void,
    /// Ping interval of the I/O thread. Default 1000; 1 to 86400000.
    pub ping_interval_ms: u32,
    /// Results held for the host before the peer disconnects with an error. Default 65536.
    pub max_queued_events: u32,
    /// 1 (default): run the key exchange right after connecting. 0: call peer_establish_encryption
    /// (TCP only: over UDP the key exchange always runs at once).
    pub auto_key_exchange: u8,
    /// 1: the server must present `server_public_key` in the key exchange, else status 1049.
    pub pin_server_key: u8,
    /// The pinned server static key (printed by sealnet-server at start-up).
    pub server_public_key: [u8; 32],
    /// The highest protocol version to offer. 0 (default) means PEER_PROTOCOL_VERSION_LATEST; 1 makes
    /// the peer a version-1 client (no version-2 value types, no server time), for servers that
    /// speak only version 1. TCP connections only: UDP connections speak version 3.
    pub max_protocol_version: u8,
    /// Must be zero.
    pub reserved: [u8; 5],
    // The first layout ends here (88 bytes on 64-bit platforms): a host without the fields below
    // gets their defaults.
    /// Decoded bytes of results held for the host before the peer disconnects with an error. 0
    /// (default) means 33554432 (32 MiB).
    pub max_queued_bytes: u64,
}

/// How an operation is sent. Fill it with `peer_send_options_default(&options, sizeof options)`, or
/// as `{ sizeof(peer_send_options_t), mode, encrypt, channel, 0 }`. Grows like peer_config_t.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_send_options_t {
    /// sizeof(peer_send_options_t) as the host compiled it.
    pub struct_size: u32,
    /// PEER_DELIVERY_MODE_* (Photon's DeliveryMode numbers). Over TCP everything is reliable; over
    /// UDP the mode applies.
    pub delivery_mode: u8,
    /// 1: encrypt the operation (needs a completed key exchange).
    pub encrypt: u8,
    /// Channel number: over UDP each channel keeps its own order (carried, without effect, over TCP).
    pub channel: u8,
    /// Must be zero.
    pub reserved: u8,
}

/// What one connection uses, for peer_connect_with. Fill it with
/// `peer_connect_options_default(&options, sizeof options)`, then set at least `address` and
/// `app_id`. Grows like peer_config_t.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_connect_options_t {
    /// sizeof(peer_connect_options_t) as the host compiled it.
    pub struct_size: u32,
    /// PEER_TRANSPORT_* (Photon's ConnectionProtocol numbers: Udp 0, Tcp 1, WebSocketSecure 5).
    /// Default PEER_TRANSPORT_TCP. PEER_TRANSPORT_UDP connects over UDP with protocol version 3
    /// (whatever max_protocol_version says), where the delivery mode and channel of each operation
    /// apply and the key exchange runs at once (whatever auto_key_exchange says). PEER_TRANSPORT_WSS
    /// connects over WebSocket and TLS with protocol version 4 (see PEER_TRANSPORT_WSS). Plain
    /// WebSocket (4) is not offered (PEER_RESULT_INVALID_ARGUMENT).
    pub transport: u32,
    /// "host:port" (NUL-terminated UTF-8), resolved on a thread of its own; for PEER_TRANSPORT_WSS a
    /// `wss://host[:port][/path]` URL (port 443 by default; no user name, password or fragment;
    /// `ws://` refused), else PEER_RESULT_INVALID_ADDRESS with peer_last_error saying why. Borrowed
    /// for the call.
    pub address: *const c_char,
    /// The application id, 1 to 64 bytes of NUL-terminated UTF-8. Borrowed for the call.
    pub app_id: *const c_char,
    /// The game's version, at most 32 bytes, sent in Connect; NULL (default) sends the library's.
    pub app_version: *const c_char,
    /// PEER_PIN_*: PEER_PIN_AS_CONFIGURED (default) uses the config of peer_create; PEER_PIN_KEY pins
    /// `server_public_key` for this connection; PEER_PIN_NONE connects without a pin. Over WSS no key
    /// exchange runs, so a pin cannot be checked: a WSS connect with one (given here or configured)
    /// is refused with PEER_RESULT_INVALID_ARGUMENT; use PEER_PIN_NONE and `pin_certificate`.
    pub pin: u8,
    /// The key for PEER_PIN_KEY.
    pub server_public_key: [u8; 32],
    /// Must be zero. (3 bytes on 32-bit platforms would leave padding, so there are 7 on all.)
    pub reserved: [u8; 7],
    // The first layout (0.2) ends here: 72 bytes on 64-bit platforms, 60 on 32-bit.
    /// Authentication values (peer_auth_values_new), sent right after the key exchange, which must
    /// be automatic; NULL (default): none. Borrowed for the call (the peer keeps a copy). Added in 0.3.
    pub auth: *const super::auth::peer_auth_values_t,
    // The 0.3 layout ends here: 80 bytes on 64-bit platforms, 64 on 32-bit. The fields below came
    // with WSS; a host without them gets the system trust store and no auth_once.
    /// PEER_TRANSPORT_WSS: a PEM file of the CA certificates the server's certificate must chain to
    /// (for the URL's host name), instead of the system's trust store; NULL (default): the system's
    /// trust store. Read during the call (the peer keeps the certificates): a file that cannot be
    /// read or holds no certificate gives PEER_RESULT_INVALID_ARGUMENT. Other transports do not use
    /// it, but an empty path, or one set together with `pin_certificate`, is refused on any transport.
    pub ca_file: *const c_char,
    /// PEER_TRANSPORT_WSS with `pin_certificate` 1: the SHA-256 of the server certificate's DER
    /// encoding (sealnet-server prints it at start-up). Ignored otherwise.
    pub certificate_fingerprint: [u8; 32],
    /// 1: accept exactly the certificate of `certificate_fingerprint` (its issuer, names and validity
    /// are not checked; the server must still prove it holds the certificate's key). A mismatch gives
    /// status 1022 SecurityExceptionOnConnect naming the fingerprint presented, then 1025. 0 (default):
    /// check the chain. Setting it together with `ca_file` gives PEER_RESULT_INVALID_ARGUMENT.
    pub pin_certificate: u8,
    /// 1: UDP or TCP only: present the AuthOnceWss credentials (the secret and token the peer took
    /// from an earlier PEER_TRANSPORT_WSS authentication that set an expected protocol, see
    /// peer_auth_values_set_expected_protocol) in the key exchange, which then authenticates the
    /// connection: no Authenticate is sent, and `auth` must be NULL. PEER_RESULT_INVALID_ARGUMENT
    /// when the peer holds no credentials (peer_has_auth_once says), over WSS, or with `auth`.
    /// 0 (default): no.
    pub auth_once: u8,
    /// Must be zero.
    pub reserved_2: [u8; 6],
}

/// What peer_get_stats reports. Grows like peer_config_t: the library writes the fields the host's
/// `struct_size` has room for.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_stats_t {
    /// sizeof(peer_stats_t) as the host compiled it.
    pub struct_size: u32,
    /// The protocol version the connection speaks; 0 until a connection is accepted.
    pub protocol_version: u32,
    /// Smoothed round-trip time in milliseconds, from the I/O thread's pings; valid when `rtt_known`.
    pub rtt_ms: u32,
    /// How much the round-trip time varies (mean deviation), in milliseconds.
    pub rtt_variance_ms: u32,
    /// 1 once a pong arrived.
    pub rtt_known: u8,
    /// 1 once the server's clock is known (protocol version 2).
    pub server_time_known: u8,
    /// Zero.
    pub reserved: [u8; 6],
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub frames_sent: u64,
    pub frames_received: u64,
    /// The server's clock now, in milliseconds: the same for every client of the server (Photon's
    /// ServerTimeInMilliSeconds); valid when `server_time_known`.
    pub server_time_ms: u64,
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

// The growable structures have no padding: their size is the sum of their fields, on 32-bit and
// 64-bit platforms alike (see peer_config_t on growth).
const POINTER: usize = std::mem::size_of::<usize>();
const _: () = assert!(std::mem::size_of::<peer_config_t>() == 4 + 4 + 4 * POINTER + 4 + 4 + 1 + 1 + 32 + 1 + 5 + 8);
const _: () = assert!(std::mem::size_of::<peer_send_options_t>() == 4 + 1 + 1 + 1 + 1);
const _: () = assert!(
    std::mem::size_of::<peer_connect_options_t>() == 4 + 4 + 4 * POINTER + 1 + 32 + 7 + POINTER + 32 + 1 + 1 + 6
);
const _: () = assert!(std::mem::size_of::<peer_stats_t>() == 4 * 4 + 1 + 1 + 6 + 5 * 8);
