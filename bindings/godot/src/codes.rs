//! Engine-free numbers and checks of the `SealnetPeer` node: error codes returned to GDScript, the
//! payloads of its signals, checks of the integer arguments GDScript passes, and the server key pin.
//!
//! Everything here is plain Rust so that `cargo test` covers it without a Godot binary.

use std::fmt;

use sealnet::peer::{CertificateCheck, PeerError, PeerEvent, TransportKind};
use sealnet::protocol::codec::{CodecError, Params};
use sealnet::protocol::frame::{Delivery, LATEST_VERSION, PROTOCOL_VERSION};
use sealnet::protocol::message::{EventData, OperationResponse};
use sealnet::protocol::session::{SessionError, StatusInfo};
use sealnet::protocol::status::{DisconnectReason, PeerState, StatusCode};
use sealnet::realtime::ClientError;

use crate::value::{params_to_gd, ConvertError, GdValue};

/// What the node's methods return to GDScript: 0 on success. The numbers are those of the C ABI's
/// `PeerResult`, so one table documents every binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum ErrorCode {
    /// Success.
    Ok = 0,
    /// An argument is out of range, or a value cannot be converted (see the error printed with it).
    InvalidArgument = 4,
    /// Encryption was asked for before the key exchange completed.
    EncryptionNotEstablished = 5,
    /// The operation is always encrypted and there are no keys yet.
    MustEncrypt = 6,
    /// There is no connection.
    NotConnected = 7,
    /// A connection is active or starting; disconnect first.
    AlreadyConnected = 8,
    /// The key exchange is running or done already.
    KeyExchangeAlreadyStarted = 9,
    /// The parameters exceed the codec limits (size, count or depth).
    ParamsTooLarge = 10,
    /// The encoded message exceeds the frame size limit.
    MessageTooLarge = 11,
    /// The send buffer is full: the connection is not draining.
    SendBufferFull = 12,
    /// The send counter is exhausted; the connection is closing.
    CounterExhausted = 13,
    /// The address is not "host:port".
    InvalidAddress = 19,
    /// The operating system refused a resource (a thread).
    Io = 20,
    /// A value's type needs a newer protocol version than the connection speaks (the server, or the
    /// `max_protocol_version` property, is older); the printed message names the value and the versions.
    NeedsProtocolVersion = 22,
    /// The realtime client is not in a state that allows the call (`get_state()` says which; the
    /// printed message names it).
    WrongState = 23,
}

impl ErrorCode {
    /// Every code, in number order.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::Ok,
        ErrorCode::InvalidArgument,
        ErrorCode::EncryptionNotEstablished,
        ErrorCode::MustEncrypt,
        ErrorCode::NotConnected,
        ErrorCode::AlreadyConnected,
        ErrorCode::KeyExchangeAlreadyStarted,
        ErrorCode::ParamsTooLarge,
        ErrorCode::MessageTooLarge,
        ErrorCode::SendBufferFull,
        ErrorCode::CounterExhausted,
        ErrorCode::InvalidAddress,
        ErrorCode::Io,
        ErrorCode::NeedsProtocolVersion,
        ErrorCode::WrongState,
    ];

    /// The number GDScript receives.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The code for a number, if it is one.
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|error| error.code() == code)
    }

    /// What the code means, for `error_text()`.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::Ok => "ok",
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::EncryptionNotEstablished => {
                "encryption is not established yet: wait for status 1048 (EncryptionEstablished)"
            }
            ErrorCode::MustEncrypt => "this operation must be encrypted: wait for status 1048 (EncryptionEstablished)",
            ErrorCode::NotConnected => "not connected",
            ErrorCode::AlreadyConnected => "already connected or connecting; disconnect first",
            ErrorCode::KeyExchangeAlreadyStarted => "the key exchange is running or done already",
            ErrorCode::ParamsTooLarge => "parameters exceed the size, count or depth limits",
            ErrorCode::MessageTooLarge => "message exceeds the frame size limit",
            ErrorCode::SendBufferFull => "send buffer full: the connection is not draining",
            ErrorCode::CounterExhausted => "send counter exhausted; the connection is closing",
            ErrorCode::InvalidAddress => "address must be host:port",
            ErrorCode::Io => "operating system error",
            ErrorCode::NeedsProtocolVersion => {
                "a value type needs a newer protocol version than the connection speaks (see max_protocol_version)"
            }
            ErrorCode::WrongState => "not possible in the realtime client's current state (see get_state())",
        }
    }
}

impl From<SessionError> for ErrorCode {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotConnected => ErrorCode::NotConnected,
            SessionError::InvalidState(_) => ErrorCode::AlreadyConnected,
            SessionError::WrongRole | SessionError::InvalidConnectRequest(_) => ErrorCode::InvalidArgument,
            SessionError::EncryptionNotEstablished => ErrorCode::EncryptionNotEstablished,
            SessionError::KeyExchangeAlreadyStarted => ErrorCode::KeyExchangeAlreadyStarted,
            SessionError::MustEncrypt(_) => ErrorCode::MustEncrypt,
            SessionError::Params(CodecError::TypeNeedsVersion { .. }) => ErrorCode::NeedsProtocolVersion,
            SessionError::Params(_) => ErrorCode::ParamsTooLarge,
            SessionError::MessageTooLarge { .. } | SessionError::ClearMessageTooLarge { .. } => {
                ErrorCode::MessageTooLarge
            }
            SessionError::CounterExhausted | SessionError::KeyUsageExhausted => ErrorCode::CounterExhausted,
            SessionError::OutputFull => ErrorCode::SendBufferFull,
            // A refusal added to sealnet later: the printed message still says what it is.
            _ => ErrorCode::InvalidArgument,
        }
    }
}

impl From<PeerError> for ErrorCode {
    fn from(error: PeerError) -> Self {
        match error {
            PeerError::AlreadyConnected => ErrorCode::AlreadyConnected,
            PeerError::InvalidAddress => ErrorCode::InvalidAddress,
            PeerError::Io(_) => ErrorCode::Io,
            // The C ABI's INVALID_PEER (a destroyed handle). The node never reaches it: every connection
            // gets a new peer, and a shut-down one is dropped. Were it reached, there is no connection.
            PeerError::ShutDown => ErrorCode::NotConnected,
            PeerError::Session(error) => error.into(),
            // Authentication values that cannot be sent (a token authentication without any token).
            PeerError::Auth(_) => ErrorCode::InvalidArgument,
            // A WSS address that is not a wss:// URL the peer takes.
            PeerError::InvalidUrl(_) => ErrorCode::InvalidAddress,
            // A CA file that cannot be read, a Noise pin over WSS, auth_once without credentials.
            PeerError::Options(_) => ErrorCode::InvalidArgument,
        }
    }
}

impl From<&ConvertError> for ErrorCode {
    fn from(_: &ConvertError) -> Self {
        ErrorCode::InvalidArgument
    }
}

/// A refused call: the code GDScript receives and the message printed with `push_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The number returned to GDScript.
    pub code: ErrorCode,
    /// The reason, printed with `push_error`.
    pub message: String,
}

impl Failure {
    /// A refusal with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    /// An argument refused: [`ErrorCode::InvalidArgument`] with `message`.
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Failure::new(ErrorCode::InvalidArgument, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (error {})", self.message, self.code.code())
    }
}

impl From<PeerError> for Failure {
    fn from(error: PeerError) -> Self {
        let message = error.to_string();
        Failure::new(error.into(), message)
    }
}

impl From<ClientError> for Failure {
    /// As the C ABI maps it: a request that does not fit the state is `WrongState`, no master address
    /// an invalid argument.
    fn from(error: ClientError) -> Self {
        let message = error.to_string();
        let code = match error {
            ClientError::NotNow(_) => ErrorCode::WrongState,
            ClientError::NoMaster => ErrorCode::InvalidArgument,
            ClientError::Peer(error) => error.into(),
        };
        Failure::new(code, message)
    }
}

impl From<ConvertError> for Failure {
    fn from(error: ConvertError) -> Self {
        Failure::new((&error).into(), error.to_string())
    }
}

/// Every status a peer reports, numbered as Photon's `StatusCode`.
pub const ALL_STATUS_CODES: [StatusCode; 16] = [
    StatusCode::SecurityExceptionOnConnect,
    StatusCode::ExceptionOnConnect,
    StatusCode::Connect,
    StatusCode::Disconnect,
    StatusCode::Exception,
    StatusCode::SendError,
    StatusCode::ExceptionOnReceive,
    StatusCode::TimeoutDisconnect,
    StatusCode::DisconnectByServerTimeout,
    StatusCode::DisconnectByServerUserLimit,
    StatusCode::DisconnectByServerLogic,
    StatusCode::DisconnectByServerReasonUnknown,
    StatusCode::EncryptionEstablished,
    StatusCode::EncryptionFailedToEstablish,
    StatusCode::ServerAddressInvalid,
    StatusCode::DnsExceptionOnConnect,
];

/// The status for a number GDScript holds, if it is one.
pub fn status_from_code(code: i64) -> Option<StatusCode> {
    ALL_STATUS_CODES.into_iter().find(|status| *status as i64 == code)
}

/// The name of a status number ("Connect", "EncryptionEstablished", ...), or "" when it is none.
pub fn status_name(code: i64) -> &'static str {
    status_from_code(code).map_or("", StatusCode::name)
}

/// The number GDScript receives for a peer state (`get_state()`).
pub fn state_code(state: PeerState) -> i64 {
    state as i64
}

/// The name of a peer state number, or "" when it is none.
pub fn state_name(code: i64) -> &'static str {
    match code {
        0 => "Disconnected",
        1 => "Connecting",
        3 => "Connected",
        4 => "Disconnecting",
        5 => "EstablishingEncryption",
        6 => "Encrypted",
        _ => "",
    }
}

/// The text of a disconnect reason number, or "" when it is none.
pub fn reason_text(reason: i64) -> &'static str {
    u16::try_from(reason).ok().and_then(DisconnectReason::from_u16).map_or("", DisconnectReason::describe)
}

/// Arguments of `status_changed(code)` and `status_detail(code, reason, message)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSignal {
    /// The status number (Photon's `StatusCode`).
    pub code: i64,
    /// A disconnect reason number (0 when the status has none).
    pub reason: i64,
    /// What happened, in words ("" when there is nothing to add).
    pub message: String,
}

/// Arguments of `event_received(code, data, sender, was_encrypted)`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSignal {
    /// The event code.
    pub code: i64,
    /// The event's parameters, as the dictionary's entries.
    pub data: Vec<(GdValue, GdValue)>,
    /// The actor number of the sender (0 for the server).
    pub sender: i64,
    /// Whether the event arrived encrypted.
    pub was_encrypted: bool,
}

/// Arguments of `operation_response(op_code, return_code, data)` and, when the server sent one,
/// `operation_debug_message(op_code, return_code, message)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSignal {
    /// The operation answered.
    pub op_code: i64,
    /// 0 for success.
    pub return_code: i64,
    /// The response's parameters, as the dictionary's entries.
    pub data: Vec<(GdValue, GdValue)>,
    /// The server's explanation, when it gave one.
    pub debug_message: Option<String>,
    /// Whether the response arrived encrypted.
    pub was_encrypted: bool,
}

/// What one queued peer result is emitted as.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `status_changed` and `status_detail`.
    Status(StatusSignal),
    /// `event_received`.
    Event(EventSignal),
    /// `operation_response`, and `operation_debug_message` when there is a message.
    Response(ResponseSignal),
}

/// The arguments of the status signals for a status the peer reported.
pub fn status_signal(info: &StatusInfo) -> StatusSignal {
    StatusSignal { code: info.code as i64, reason: i64::from(info.reason), message: info.message.clone() }
}

fn entries(params: &Params) -> Vec<(GdValue, GdValue)> {
    params_to_gd(params)
}

/// The arguments of `event_received` for a room event.
pub fn event_signal(event: &EventData, encrypted: bool) -> EventSignal {
    EventSignal {
        code: i64::from(event.code),
        data: entries(&event.params),
        sender: i64::from(event.sender),
        was_encrypted: encrypted,
    }
}

/// The arguments of `operation_response` (and `operation_debug_message`) for a response.
pub fn response_signal(response: &OperationResponse, encrypted: bool) -> ResponseSignal {
    ResponseSignal {
        op_code: i64::from(response.op_code),
        return_code: i64::from(response.return_code),
        data: entries(&response.params),
        debug_message: response.debug_message.clone().filter(|message| !message.is_empty()),
        was_encrypted: encrypted,
    }
}

/// Maps one queued peer result to the signal it is emitted as.
pub fn signal_for(event: &PeerEvent) -> Signal {
    match event {
        PeerEvent::Status(info) => Signal::Status(status_signal(info)),
        PeerEvent::Event { event, encrypted } => Signal::Event(event_signal(event, *encrypted)),
        PeerEvent::OperationResponse { response, encrypted } => Signal::Response(response_signal(response, *encrypted)),
    }
}

/// The states of `SealnetRealtimeClient` (Photon's ClientState numbers, as the C ABI's
/// `PEER_CLIENT_STATE_*`).
pub mod client_state {
    use sealnet::realtime::ClientState;

    /// Every state, in number order, with its name.
    pub const ALL: [(ClientState, &str); 13] = [
        (ClientState::PeerCreated, "PeerCreated"),
        (ClientState::Authenticating, "Authenticating"),
        (ClientState::DisconnectingFromMasterServer, "DisconnectingFromMasterServer"),
        (ClientState::ConnectingToGameServer, "ConnectingToGameServer"),
        (ClientState::ConnectedToGameServer, "ConnectedToGameServer"),
        (ClientState::Joining, "Joining"),
        (ClientState::Joined, "Joined"),
        (ClientState::Leaving, "Leaving"),
        (ClientState::DisconnectingFromGameServer, "DisconnectingFromGameServer"),
        (ClientState::ConnectingToMasterServer, "ConnectingToMasterServer"),
        (ClientState::Disconnecting, "Disconnecting"),
        (ClientState::Disconnected, "Disconnected"),
        (ClientState::ConnectedToMasterServer, "ConnectedToMasterServer"),
    ];

    pub const PEER_CREATED: i64 = ClientState::PeerCreated as i64;
    pub const AUTHENTICATING: i64 = ClientState::Authenticating as i64;
    pub const DISCONNECTING_FROM_MASTER_SERVER: i64 = ClientState::DisconnectingFromMasterServer as i64;
    pub const CONNECTING_TO_GAME_SERVER: i64 = ClientState::ConnectingToGameServer as i64;
    pub const CONNECTED_TO_GAME_SERVER: i64 = ClientState::ConnectedToGameServer as i64;
    pub const JOINING: i64 = ClientState::Joining as i64;
    pub const JOINED: i64 = ClientState::Joined as i64;
    pub const LEAVING: i64 = ClientState::Leaving as i64;
    pub const DISCONNECTING_FROM_GAME_SERVER: i64 = ClientState::DisconnectingFromGameServer as i64;
    pub const CONNECTING_TO_MASTER_SERVER: i64 = ClientState::ConnectingToMasterServer as i64;
    pub const DISCONNECTING: i64 = ClientState::Disconnecting as i64;
    pub const DISCONNECTED: i64 = ClientState::Disconnected as i64;
    pub const CONNECTED_TO_MASTER_SERVER: i64 = ClientState::ConnectedToMasterServer as i64;

    /// The number GDScript receives for a state.
    pub fn code(state: ClientState) -> i64 {
        state as i64
    }

    /// The name of a state number ("Joined", ...), or "" when it is none.
    pub fn name(code: i64) -> &'static str {
        ALL.iter().find(|(state, _)| *state as i64 == code).map_or("", |(_, name)| name)
    }
}

/// Matchmaking (docs/cluster.md, docs/protocol.md section 13): the operations the realtime client
/// sends and the return codes its `failed` signal carries (Photon's numbers).
pub mod matchmaking {
    pub use sealnet::protocol::status::return_code::{
        DIRECTORY_UNAVAILABLE, GAME_CLOSED, GAME_DOES_NOT_EXIST, GAME_FULL, GAME_ID_ALREADY_EXISTS,
        INTERNAL_SERVER_ERROR, JOIN_FAILED_FOUND_INACTIVE_JOINER, JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
        NO_RANDOM_MATCH_FOUND, SERVER_FULL,
    };
    pub use sealnet::rooms::{OP_CREATE_ROOM, OP_JOIN_LOBBY, OP_JOIN_RANDOM_ROOM, OP_LEAVE_LOBBY};
}

/// Operation codes and parameter keys of the reference server's rooms (Photon's numbering).
pub mod room {
    pub use sealnet::protocol::status::return_code::PROPERTIES_CONFLICT;
    pub use sealnet::rooms::{
        ACTOR_LIST, ACTOR_NR, CACHE_ADD, CACHE_NONE, CACHE_REMOVE, CACHE_REMOVE_OF_ACTORS_LEFT, CODE, DATA,
        EVENT_GAME_LIST, EVENT_GAME_LIST_UPDATE, EVENT_JOIN, EVENT_LEAVE, EVENT_PROPERTIES_CHANGED, MASTER_CLIENT_ID,
        MAX_ROOM_NAME, OP_CHANGE_GROUPS, OP_JOIN_ROOM, OP_LEAVE_ROOM, OP_RAISE_EVENT, OP_SET_PROPERTIES,
        PLAYER_PROP_IS_INACTIVE, PLAYER_PROP_NICKNAME, PLAYER_PROP_USER_ID, PROPERTIES, PROP_EMPTY_ROOM_TTL,
        PROP_IS_OPEN, PROP_IS_VISIBLE, PROP_MASTER_CLIENT_ID, PROP_MAX_PLAYERS, PROP_PLAYER_COUNT, PROP_PLAYER_TTL,
        RECEIVER_GROUP, ROOM_NAME, TARGET_ACTOR,
    };
    /// What `raise_event_with`'s `cache` takes, in number order.
    pub const CACHE_OPTIONS: [u8; 4] = [CACHE_NONE, CACHE_ADD, CACHE_REMOVE, CACHE_REMOVE_OF_ACTORS_LEFT];
    /// Highest event code a client may raise; 200 and up belong to the server.
    pub const MAX_CLIENT_EVENT_CODE: i64 = sealnet::rooms::MAX_CLIENT_EVENT_CODE as i64;
    /// Receiver groups: every member but the sender, every member, the lowest actor number.
    pub const RECEIVERS_OTHERS: i64 = sealnet::rooms::RECEIVERS_OTHERS as i64;
    /// Every member, the sender included.
    pub const RECEIVERS_ALL: i64 = sealnet::rooms::RECEIVERS_ALL as i64;
    /// The member with the lowest actor number.
    pub const RECEIVERS_MASTER_CLIENT: i64 = sealnet::rooms::RECEIVERS_MASTER_CLIENT as i64;
}

/// Authentication (docs/auth.md): the numbers of `set_auth_values`, `get_auth_state()` and of the
/// responses to Authenticate and AuthenticateOnce. Types and states are numbered as the C ABI's
/// `PEER_AUTH_*` and `PEER_AUTH_STATE_*`, so one table documents every binding.
pub mod auth {
    use sealnet::peer::AuthState;

    pub use sealnet::auth::{MAX_CONNECTION_TOKEN, PARAM_NICKNAME, PARAM_TOKEN, PARAM_TOKEN_EXPIRES, PARAM_USER_ID};
    pub use sealnet::protocol::status::op_code::{
        AUTHENTICATE as OP_AUTHENTICATE, AUTHENTICATE_ONCE as OP_AUTHENTICATE_ONCE,
    };
    pub use sealnet::protocol::status::return_code::{
        AUTHENTICATION_TICKET_EXPIRED, CUSTOM_AUTHENTICATION_FAILED, EXTERNAL_HTTP_CALL_FAILED, HTTP_LIMIT_REACHED,
        INVALID_AUTHENTICATION,
    };

    /// `auth_type`: the server asks the studio's backend about the connection token.
    pub const TYPE_CUSTOM: i64 = 0;
    /// `auth_type`: present a server token (AuthenticateOnce), `token` or else the latest one held.
    pub const TYPE_TOKEN: i64 = 254;
    /// `auth_type`: anonymous, where the server allows it (the default).
    pub const TYPE_NONE: i64 = 255;

    /// No authentication values for this connection, or the key exchange is not done.
    pub const STATE_NONE: i64 = 0;
    /// Sent right after the key exchange; the answer is awaited.
    pub const STATE_PENDING: i64 = 1;
    /// The server admitted the player.
    pub const STATE_AUTHENTICATED: i64 = 2;
    /// Refused: the return code says why.
    pub const STATE_FAILED: i64 = 3;

    /// The state number and, for a refusal, the server's return code (0 otherwise).
    pub fn state_code(state: AuthState) -> (i64, i64) {
        match state {
            AuthState::None => (STATE_NONE, 0),
            AuthState::Pending => (STATE_PENDING, 0),
            AuthState::Authenticated => (STATE_AUTHENTICATED, 0),
            AuthState::Failed { return_code } => (STATE_FAILED, i64::from(return_code)),
        }
    }
}

/// Checks an integer that must fit in one byte (op codes, channels).
pub fn byte_arg(what: &str, value: i64) -> Result<u8, Failure> {
    u8::try_from(value).map_err(|_| Failure::argument(format!("{what} must be from 0 to 255, not {value}")))
}

/// Checks a delivery mode number: 0 Unreliable, 1 Reliable, 2 UnreliableUnsequenced, 3 ReliableUnsequenced.
pub fn delivery_arg(value: i64) -> Result<Delivery, Failure> {
    u8::try_from(value).ok().and_then(Delivery::from_u8).ok_or_else(|| {
        Failure::argument(format!(
            "delivery_mode must be 0 (Unreliable), 1 (Reliable), 2 (UnreliableUnsequenced) or 3 \
             (ReliableUnsequenced), not {value}"
        ))
    })
}

/// Checks the event code of `raise_event`.
pub fn event_code_arg(value: i64) -> Result<i32, Failure> {
    if (0..=room::MAX_CLIENT_EVENT_CODE).contains(&value) {
        return Ok(value as i32);
    }
    Err(Failure::argument(format!(
        "event code must be from 0 to {} (higher codes belong to the server), not {value}",
        room::MAX_CLIENT_EVENT_CODE
    )))
}

/// Checks the receiver group of `raise_event`.
pub fn receivers_arg(value: i64) -> Result<i32, Failure> {
    if (room::RECEIVERS_OTHERS..=room::RECEIVERS_MASTER_CLIENT).contains(&value) {
        return Ok(value as i32);
    }
    Err(Failure::argument(format!("receivers must be 0 (Others), 1 (All) or 2 (MasterClient), not {value}")))
}

/// Checks a room name: 1 to 256 bytes of UTF-8.
pub fn room_name_arg(name: &str) -> Result<(), Failure> {
    if name.is_empty() || name.len() > room::MAX_ROOM_NAME {
        return Err(Failure::argument(format!(
            "room name must be 1 to {} bytes, not {}",
            room::MAX_ROOM_NAME,
            name.len()
        )));
    }
    Ok(())
}

/// Checks the disconnect timeout property (milliseconds, at least 1).
pub fn timeout_arg(value: i64) -> Result<std::time::Duration, Failure> {
    millis_arg("disconnect_timeout_ms", value)
}

/// Checks a duration property in milliseconds (at least 1), named `what` in the error.
pub fn millis_arg(what: &str, value: i64) -> Result<std::time::Duration, Failure> {
    match u64::try_from(value) {
        Ok(ms) if ms > 0 => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(Failure::argument(format!("{what} must be at least 1, not {value}"))),
    }
}

/// Checks the `transport` property: a Photon `ConnectionProtocol` number this build has.
pub fn transport_arg(value: i64) -> Result<TransportKind, Failure> {
    u32::try_from(value).ok().and_then(TransportKind::from_number).ok_or_else(|| {
        Failure::argument(format!(
            "transport must be TRANSPORT_UDP (0), TRANSPORT_TCP (1) or TRANSPORT_WSS (5), not {value} (plain \
             WebSocket, 4, is not offered)"
        ))
    })
}

/// Checks the `certificate_fingerprint` and `ca_file` properties: at most one of them, the
/// fingerprint as 64 hex digits (separators allowed, as for a key).
pub fn certificate_arg(fingerprint: &str, ca_file: &str) -> Result<CertificateCheck, Failure> {
    let pinned = parse_hex32(fingerprint).ok_or_else(|| {
        Failure::argument("certificate_fingerprint must be empty or 64 hex digits (the sha256 the server prints)")
    })?;
    match (pinned, ca_file.is_empty()) {
        (None, true) => Ok(CertificateCheck::SystemRoots),
        (Some(fingerprint), true) => Ok(CertificateCheck::Fingerprint(fingerprint)),
        (None, false) => Ok(CertificateCheck::CaFile(ca_file.into())),
        (Some(_), false) => Err(Failure::argument(
            "certificate_fingerprint and ca_file are both set; a connection checks one or the other",
        )),
    }
}

/// Checks the `max_protocol_version` property: a version this build speaks.
pub fn protocol_version_arg(value: i64) -> Result<u8, Failure> {
    let (min, max) = (PROTOCOL_VERSION, LATEST_VERSION);
    match u8::try_from(value) {
        Ok(version) if (min..=max).contains(&version) => Ok(version),
        _ => Err(Failure::argument(format!("max_protocol_version must be from {min} to {max}, not {value}"))),
    }
}

/// Parses the `server_key_pin` property: empty for no pin, else 64 hex digits (either case; spaces,
/// colons and a trailing newline around or between the digits are ignored, so a pasted key works).
pub fn parse_key_pin(text: &str) -> Result<Option<[u8; 32]>, Failure> {
    parse_hex32(text)
        .ok_or_else(|| Failure::argument("server_key_pin must be empty or 64 hex digits (the server's public key)"))
}

/// 32 bytes written as 64 hex digits (spaces, tabs, line ends and colons ignored); `Some(None)` for
/// none at all, `None` for anything else.
fn parse_hex32(text: &str) -> Option<Option<[u8; 32]>> {
    let digits: Vec<u8> = text.bytes().filter(|byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b':')).collect();
    if digits.is_empty() {
        return Some(None);
    }
    if digits.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
    }
    Some(Some(key))
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Formats a key as lower-case hex, the form `server_key_pin` and the server's logs use; "" for none.
pub fn format_key(key: Option<[u8; 32]>) -> String {
    key.map_or_else(String::new, |key| sealnet::protocol::noise::hex(&key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealnet::ffi::PeerResult;
    use sealnet::protocol::codec::Value;
    use sealnet::protocol::message::{EventData, OperationResponse};

    #[test]
    fn error_codes_match_the_c_abi_numbers() {
        let pairs = [
            (ErrorCode::Ok, PeerResult::Ok),
            (ErrorCode::InvalidArgument, PeerResult::InvalidArgument),
            (ErrorCode::EncryptionNotEstablished, PeerResult::EncryptionNotEstablished),
            (ErrorCode::MustEncrypt, PeerResult::MustEncrypt),
            (ErrorCode::NotConnected, PeerResult::NotConnected),
            (ErrorCode::AlreadyConnected, PeerResult::AlreadyConnected),
            (ErrorCode::KeyExchangeAlreadyStarted, PeerResult::KeyExchangeAlreadyStarted),
            (ErrorCode::ParamsTooLarge, PeerResult::ParamsTooLarge),
            (ErrorCode::MessageTooLarge, PeerResult::MessageTooLarge),
            (ErrorCode::SendBufferFull, PeerResult::SendBufferFull),
            (ErrorCode::CounterExhausted, PeerResult::CounterExhausted),
            (ErrorCode::InvalidAddress, PeerResult::InvalidAddress),
            (ErrorCode::Io, PeerResult::Io),
            (ErrorCode::NeedsProtocolVersion, PeerResult::NeedsProtocolVersion),
            (ErrorCode::WrongState, PeerResult::WrongState),
        ];
        assert_eq!(pairs.len(), ErrorCode::ALL.len());
        for (ours, abi) in pairs {
            assert_eq!(ours.code(), abi as u32 as i64, "{ours:?}");
            assert_eq!(ErrorCode::from_code(ours.code()), Some(ours));
            assert!(!ours.describe().is_empty());
        }
        assert_eq!(ErrorCode::from_code(1), None);
    }

    #[test]
    fn peer_errors_map_like_the_c_abi() {
        let errors = [
            PeerError::AlreadyConnected,
            PeerError::InvalidAddress,
            PeerError::Io("no threads".into()),
            PeerError::Session(SessionError::NotConnected),
            PeerError::Session(SessionError::InvalidState("twice")),
            PeerError::Session(SessionError::WrongRole),
            PeerError::Session(SessionError::EncryptionNotEstablished),
            PeerError::Session(SessionError::KeyExchangeAlreadyStarted),
            PeerError::Session(SessionError::MustEncrypt(230)),
            PeerError::Session(SessionError::Params(CodecError::DepthExceeded { max: 8 })),
            PeerError::Session(SessionError::Params(CodecError::TypeNeedsVersion {
                what: "byte",
                needs: 2,
                version: 1,
            })),
            PeerError::Session(SessionError::Params(CodecError::ArrayTooLong { len: 9, max: 8 })),
            PeerError::Session(SessionError::InvalidConnectRequest("app id".into())),
            PeerError::Session(SessionError::MessageTooLarge { len: 10, max: 5 }),
            PeerError::Session(SessionError::CounterExhausted),
            PeerError::Session(SessionError::OutputFull),
            PeerError::Auth(sealnet::auth::AuthValuesError::MissingToken),
        ];
        for error in errors {
            let ours = ErrorCode::from(error.clone());
            let abi = PeerResult::from(error.clone());
            assert_eq!(ours.code(), abi as u32 as i64, "{error:?}");
            let failure = Failure::from(error.clone());
            assert_eq!(failure.code, ours);
            assert_eq!(failure.message, error.to_string());
        }
    }

    #[test]
    fn realtime_client_errors_map_like_the_c_abi() {
        use sealnet::realtime::ClientState;
        let not_now = Failure::from(ClientError::NotNow(ClientState::Joining));
        assert_eq!((not_now.code, not_now.code.code()), (ErrorCode::WrongState, 23));
        assert!(not_now.message.contains("Joining"), "{}", not_now.message);
        let no_master = Failure::from(ClientError::NoMaster);
        assert_eq!(no_master.code, ErrorCode::InvalidArgument);
        assert_eq!(no_master.message, ClientError::NoMaster.to_string());
        let peer = Failure::from(ClientError::Peer(PeerError::InvalidAddress));
        assert_eq!(peer.code, ErrorCode::InvalidAddress);
    }

    #[test]
    fn client_states_are_photons_numbers_and_the_c_abis() {
        use sealnet::ffi::client::*;
        use sealnet::realtime::ClientState;
        let expected = [
            (ClientState::PeerCreated, 0, PEER_CLIENT_STATE_PEER_CREATED, client_state::PEER_CREATED),
            (ClientState::Authenticating, 1, PEER_CLIENT_STATE_AUTHENTICATING, client_state::AUTHENTICATING),
            (
                ClientState::DisconnectingFromMasterServer,
                4,
                PEER_CLIENT_STATE_DISCONNECTING_FROM_MASTER_SERVER,
                client_state::DISCONNECTING_FROM_MASTER_SERVER,
            ),
            (
                ClientState::ConnectingToGameServer,
                5,
                PEER_CLIENT_STATE_CONNECTING_TO_GAME_SERVER,
                client_state::CONNECTING_TO_GAME_SERVER,
            ),
            (
                ClientState::ConnectedToGameServer,
                6,
                PEER_CLIENT_STATE_CONNECTED_TO_GAME_SERVER,
                client_state::CONNECTED_TO_GAME_SERVER,
            ),
            (ClientState::Joining, 7, PEER_CLIENT_STATE_JOINING, client_state::JOINING),
            (ClientState::Joined, 8, PEER_CLIENT_STATE_JOINED, client_state::JOINED),
            (ClientState::Leaving, 9, PEER_CLIENT_STATE_LEAVING, client_state::LEAVING),
            (
                ClientState::DisconnectingFromGameServer,
                10,
                PEER_CLIENT_STATE_DISCONNECTING_FROM_GAME_SERVER,
                client_state::DISCONNECTING_FROM_GAME_SERVER,
            ),
            (
                ClientState::ConnectingToMasterServer,
                11,
                PEER_CLIENT_STATE_CONNECTING_TO_MASTER_SERVER,
                client_state::CONNECTING_TO_MASTER_SERVER,
            ),
            (ClientState::Disconnecting, 12, PEER_CLIENT_STATE_DISCONNECTING, client_state::DISCONNECTING),
            (ClientState::Disconnected, 13, PEER_CLIENT_STATE_DISCONNECTED, client_state::DISCONNECTED),
            (
                ClientState::ConnectedToMasterServer,
                14,
                PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER,
                client_state::CONNECTED_TO_MASTER_SERVER,
            ),
        ];
        assert_eq!(expected.len(), client_state::ALL.len());
        for ((state, number, abi, constant), (listed, name)) in expected.into_iter().zip(client_state::ALL) {
            assert_eq!(state, listed);
            assert_eq!((client_state::code(state), i64::from(abi), constant), (number, number, number), "{state:?}");
            assert_eq!(name, format!("{state:?}"));
            assert_eq!(client_state::name(number), name);
        }
        for missing in [2, 3, 15, -1] {
            assert_eq!(client_state::name(missing), "");
        }
    }

    #[test]
    fn matchmaking_return_codes_are_the_sdks_and_photons() {
        use sealnet::ffi::constants::*;
        let codes = [
            (matchmaking::DIRECTORY_UNAVAILABLE, -13, PEER_RETURN_CODE_DIRECTORY_UNAVAILABLE),
            (matchmaking::GAME_ID_ALREADY_EXISTS, 32766, PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS),
            (matchmaking::GAME_FULL, 32765, PEER_RETURN_CODE_GAME_FULL),
            (matchmaking::GAME_CLOSED, 32764, PEER_RETURN_CODE_GAME_CLOSED),
            (matchmaking::SERVER_FULL, 32762, PEER_RETURN_CODE_SERVER_FULL),
            (matchmaking::NO_RANDOM_MATCH_FOUND, 32760, PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND),
            (matchmaking::GAME_DOES_NOT_EXIST, 32758, PEER_RETURN_CODE_GAME_DOES_NOT_EXIST),
        ];
        for (ours, photon, abi) in codes {
            assert_eq!((ours, abi), (photon, photon));
        }
        assert_eq!(matchmaking::OP_CREATE_ROOM, sealnet::protocol::status::op_code::CREATE_ROOM);
        assert_eq!(matchmaking::OP_JOIN_RANDOM_ROOM, sealnet::protocol::status::op_code::JOIN_RANDOM_ROOM);
        assert_eq!((matchmaking::OP_CREATE_ROOM, matchmaking::OP_JOIN_RANDOM_ROOM), (227, 225));
    }

    #[test]
    fn room_codes_are_photons_and_the_c_abis() {
        use sealnet::ffi::constants::*;
        use sealnet::protocol::status::op_code;
        let return_codes = [
            (room::PROPERTIES_CONFLICT, -14, PEER_RETURN_CODE_PROPERTIES_CONFLICT),
            (matchmaking::JOIN_FAILED_FOUND_INACTIVE_JOINER, 32749, PEER_RETURN_CODE_JOIN_FAILED_FOUND_INACTIVE_JOINER),
            (
                matchmaking::JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
                32748,
                PEER_RETURN_CODE_JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
            ),
        ];
        for (ours, photon, abi) in return_codes {
            assert_eq!((ours, abi), (photon, photon));
        }
        let receivers = [
            (room::RECEIVERS_OTHERS, PEER_RECEIVERS_OTHERS),
            (room::RECEIVERS_ALL, PEER_RECEIVERS_ALL),
            (room::RECEIVERS_MASTER_CLIENT, PEER_RECEIVERS_MASTER_CLIENT),
        ];
        for (ours, abi) in receivers {
            assert_eq!(ours, i64::from(abi));
        }
        let abi_caches = [
            PEER_EVENT_CACHE_NONE,
            PEER_EVENT_CACHE_ADD,
            PEER_EVENT_CACHE_REMOVE,
            PEER_EVENT_CACHE_REMOVE_OF_ACTORS_LEFT,
        ];
        assert_eq!(room::CACHE_OPTIONS, abi_caches);
        assert_eq!(room::CACHE_OPTIONS, [0, 4, 6, 7]);
        let bytes = [
            (room::EVENT_JOIN, PEER_EVENT_CODE_JOIN),
            (room::EVENT_LEAVE, PEER_EVENT_CODE_LEAVE),
            (room::EVENT_PROPERTIES_CHANGED, PEER_EVENT_CODE_PROPERTIES_CHANGED),
            (room::PROP_MAX_PLAYERS, PEER_ROOM_PROP_MAX_PLAYERS),
            (room::PROP_IS_VISIBLE, PEER_ROOM_PROP_IS_VISIBLE),
            (room::PROP_IS_OPEN, PEER_ROOM_PROP_IS_OPEN),
            (room::PROP_PLAYER_COUNT, PEER_ROOM_PROP_PLAYER_COUNT),
            (room::PROP_MASTER_CLIENT_ID, PEER_ROOM_PROP_MASTER_CLIENT_ID),
            (room::PROP_PLAYER_TTL, PEER_ROOM_PROP_PLAYER_TTL),
            (room::PROP_EMPTY_ROOM_TTL, PEER_ROOM_PROP_EMPTY_ROOM_TTL),
            (room::PLAYER_PROP_NICKNAME, PEER_PLAYER_PROP_NICKNAME),
            (room::PLAYER_PROP_IS_INACTIVE, PEER_PLAYER_PROP_IS_INACTIVE),
            (room::PLAYER_PROP_USER_ID, PEER_PLAYER_PROP_USER_ID),
        ];
        for (ours, abi) in bytes {
            assert_eq!(ours, abi);
        }
        let ops = [
            (room::OP_SET_PROPERTIES, op_code::SET_PROPERTIES, 252),
            (room::OP_CHANGE_GROUPS, op_code::CHANGE_GROUPS, 248),
            (matchmaking::OP_JOIN_LOBBY, op_code::JOIN_LOBBY, 229),
            (matchmaking::OP_LEAVE_LOBBY, op_code::LEAVE_LOBBY, 228),
        ];
        for (ours, protocol, photon) in ops {
            assert_eq!((ours, protocol), (photon, photon));
        }
    }

    #[test]
    fn a_shut_down_peer_is_not_connected_here_as_godot_has_no_invalid_peer_code() {
        // The C ABI says INVALID_PEER (2), a code for destroyed handles, which GDScript never holds.
        assert_eq!(PeerResult::from(PeerError::ShutDown), PeerResult::InvalidPeer);
        let failure = Failure::from(PeerError::ShutDown);
        assert_eq!(failure.code, ErrorCode::NotConnected);
        assert_eq!(failure.message, PeerError::ShutDown.to_string());
    }

    #[test]
    fn conversion_errors_are_invalid_arguments_with_the_reason() {
        let error = ConvertError::KeyOutOfRange { path: Vec::new(), key: 256 };
        let failure = Failure::from(error.clone());
        assert_eq!(failure.code, ErrorCode::InvalidArgument);
        assert_eq!(failure.message, error.to_string());
        assert!(failure.to_string().ends_with("(error 4)"), "{failure}");
    }

    #[test]
    fn every_status_code_has_a_name_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for status in ALL_STATUS_CODES {
            let code = status as i64;
            assert!(seen.insert(code), "duplicate {code}");
            assert_eq!(status_from_code(code), Some(status));
            assert_eq!(status_name(code), status.name());
        }
        assert_eq!(status_name(1024), "Connect");
        assert_eq!(status_name(1048), "EncryptionEstablished");
        assert_eq!(status_name(0), "");
        assert_eq!(status_name(-1), "");
        assert_eq!(status_from_code(1027), None);
    }

    #[test]
    fn state_numbers_are_photons_and_named() {
        let states = [
            (PeerState::Disconnected, 0, "Disconnected"),
            (PeerState::Connecting, 1, "Connecting"),
            (PeerState::Connected, 3, "Connected"),
            (PeerState::Disconnecting, 4, "Disconnecting"),
            (PeerState::EstablishingEncryption, 5, "EstablishingEncryption"),
            (PeerState::Encrypted, 6, "Encrypted"),
        ];
        for (state, code, name) in states {
            assert_eq!(state_code(state), code);
            assert_eq!(state_name(code), name);
        }
        assert_eq!(state_name(2), "");
    }

    #[test]
    fn reason_texts_come_from_the_protocol() {
        assert_eq!(reason_text(3), DisconnectReason::Timeout.describe());
        assert_eq!(reason_text(13), "the server is full");
        assert_eq!(reason_text(-1), "");
        assert_eq!(reason_text(70_000), "");
        assert_eq!(reason_text(999), "");
    }

    #[test]
    fn status_events_become_status_signals() {
        let info = StatusInfo {
            code: StatusCode::DisconnectByServerUserLimit,
            reason: DisconnectReason::ServerFull as u16,
            message: "full".into(),
        };
        assert_eq!(
            signal_for(&PeerEvent::Status(info)),
            Signal::Status(StatusSignal { code: 1042, reason: 13, message: "full".into() })
        );
    }

    #[test]
    fn events_become_event_signals_with_data_and_encryption_mark() {
        let mut params = Params::new();
        params.insert(room::DATA, Value::String("hi".into()));
        params.insert(room::ACTOR_NR, Value::Int(3));
        for encrypted in [false, true] {
            let event = EventData { code: 7, sender: 3, params: params.clone() };
            let signal = signal_for(&PeerEvent::Event { event, encrypted });
            assert_eq!(
                signal,
                Signal::Event(EventSignal {
                    code: 7,
                    data: vec![(GdValue::Int(245), GdValue::String("hi".into())), (GdValue::Int(254), GdValue::Int(3))],
                    sender: 3,
                    was_encrypted: encrypted,
                })
            );
        }
    }

    #[test]
    fn responses_become_response_signals_and_keep_their_debug_message() {
        let response = OperationResponse {
            op_code: room::OP_RAISE_EVENT,
            return_code: -3,
            debug_message: Some("join a room before raising events".into()),
            params: Params::new(),
        };
        let signal = signal_for(&PeerEvent::OperationResponse { response: response.clone(), encrypted: true });
        assert_eq!(
            signal,
            Signal::Response(ResponseSignal {
                op_code: 253,
                return_code: -3,
                data: Vec::new(),
                debug_message: Some("join a room before raising events".into()),
                was_encrypted: true,
            })
        );
        // An empty message is the wire's "none".
        let quiet = OperationResponse { debug_message: Some(String::new()), return_code: 0, ..response };
        match signal_for(&PeerEvent::OperationResponse { response: quiet, encrypted: false }) {
            Signal::Response(signal) => assert_eq!(signal.debug_message, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn byte_arguments_are_range_checked() {
        assert_eq!(byte_arg("op_code", 0).unwrap(), 0);
        assert_eq!(byte_arg("op_code", 255).unwrap(), 255);
        for bad in [-1, 256, i64::MAX] {
            let failure = byte_arg("channel", bad).unwrap_err();
            assert_eq!(failure.code, ErrorCode::InvalidArgument);
            assert!(failure.message.starts_with("channel must be"), "{}", failure.message);
        }
    }

    #[test]
    fn delivery_modes_are_photons() {
        assert_eq!(delivery_arg(0).unwrap(), Delivery::Unreliable);
        assert_eq!(delivery_arg(1).unwrap(), Delivery::Reliable);
        assert_eq!(delivery_arg(2).unwrap(), Delivery::UnreliableUnsequenced);
        assert_eq!(delivery_arg(3).unwrap(), Delivery::ReliableUnsequenced);
        for bad in [-1, 4, 256 + 1] {
            assert_eq!(delivery_arg(bad).unwrap_err().code, ErrorCode::InvalidArgument);
        }
    }

    #[test]
    fn event_codes_and_receivers_follow_the_server_rules() {
        assert_eq!(event_code_arg(0).unwrap(), 0);
        assert_eq!(event_code_arg(199).unwrap(), 199);
        assert!(event_code_arg(200).is_err());
        assert!(event_code_arg(-1).is_err());
        assert_eq!(receivers_arg(0).unwrap(), 0);
        assert_eq!(receivers_arg(2).unwrap(), 2);
        assert!(receivers_arg(3).is_err());
        assert!(receivers_arg(-1).is_err());
    }

    #[test]
    fn room_names_are_length_checked_in_bytes() {
        assert!(room_name_arg("lobby").is_ok());
        assert!(room_name_arg(&"x".repeat(256)).is_ok());
        assert!(room_name_arg("").is_err());
        assert!(room_name_arg(&"x".repeat(257)).is_err());
        // 86 three-byte characters are 258 bytes.
        assert!(room_name_arg(&"€".repeat(86)).is_err());
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(timeout_arg(10_000).unwrap(), std::time::Duration::from_secs(10));
        assert_eq!(timeout_arg(1).unwrap(), std::time::Duration::from_millis(1));
        assert!(timeout_arg(0).is_err());
        assert!(timeout_arg(-5).is_err());
        let failure = millis_arg("ping_interval_ms", 0).unwrap_err();
        assert_eq!(failure.message, "ping_interval_ms must be at least 1, not 0");
    }

    #[test]
    fn protocol_versions_are_those_this_build_speaks() {
        assert_eq!(protocol_version_arg(1).unwrap(), 1);
        assert_eq!(protocol_version_arg(2).unwrap(), 2);
        assert_eq!(LATEST_VERSION, 2);
        for bad in [0, 3, -1, 258] {
            let failure = protocol_version_arg(bad).unwrap_err();
            assert_eq!(failure.code, ErrorCode::InvalidArgument);
            assert_eq!(failure.message, format!("max_protocol_version must be from 1 to 2, not {bad}"));
        }
    }

    #[test]
    fn key_pins_parse_from_hex() {
        assert_eq!(parse_key_pin("").unwrap(), None);
        assert_eq!(parse_key_pin("  \n").unwrap(), None);
        let key: [u8; 32] = std::array::from_fn(|index| (index as u8) * 8 + 1);
        let lower = format_key(Some(key));
        assert_eq!(lower.len(), 64);
        assert_eq!(parse_key_pin(&lower).unwrap(), Some(key));
        assert_eq!(parse_key_pin(&lower.to_uppercase()).unwrap(), Some(key));
        assert_eq!(parse_key_pin(&format!(" {lower}\n")).unwrap(), Some(key));
        let with_colons: Vec<String> = key.iter().map(|byte| format!("{byte:02X}")).collect();
        assert_eq!(parse_key_pin(&with_colons.join(":")).unwrap(), Some(key));
    }

    #[test]
    fn bad_key_pins_are_refused() {
        let good = "ab".repeat(32);
        for bad in [&good[..62], &format!("{good}ab"), &format!("{}zz", &good[..62]), "0x1234"] {
            let failure = parse_key_pin(bad).unwrap_err();
            assert_eq!(failure.code, ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn keys_format_as_lower_hex() {
        assert_eq!(format_key(None), "");
        assert_eq!(format_key(Some([0xAB; 32])), "ab".repeat(32));
    }

    #[test]
    fn room_codes_match_the_protocol_op_codes() {
        use sealnet::protocol::status::op_code;
        assert_eq!(room::OP_JOIN_ROOM, op_code::JOIN_ROOM);
        assert_eq!(room::OP_LEAVE_ROOM, op_code::LEAVE_ROOM);
        assert_eq!(room::OP_RAISE_EVENT, op_code::RAISE_EVENT);
    }
}
