//! Numbers shared with hosts: status codes (Photon's `StatusCode` numbering, so SDK users and the C ABI
//! can pass them straight through), disconnect reasons on the wire, peer states and return codes.

/// Connection status reported to the host, numbered as Photon's `StatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum StatusCode {
    SecurityExceptionOnConnect = 1022,
    ExceptionOnConnect = 1023,
    Connect = 1024,
    Disconnect = 1025,
    Exception = 1026,
    SendError = 1030,
    ExceptionOnReceive = 1039,
    TimeoutDisconnect = 1040,
    DisconnectByServerTimeout = 1041,
    DisconnectByServerUserLimit = 1042,
    DisconnectByServerLogic = 1043,
    DisconnectByServerReasonUnknown = 1044,
    EncryptionEstablished = 1048,
    EncryptionFailedToEstablish = 1049,
    ServerAddressInvalid = 1050,
    DnsExceptionOnConnect = 1051,
}

impl StatusCode {
    /// The name as a C string, so the C ABI hands it out without a second table.
    pub fn c_name(self) -> &'static std::ffi::CStr {
        match self {
            StatusCode::SecurityExceptionOnConnect => c"SecurityExceptionOnConnect",
            StatusCode::ExceptionOnConnect => c"ExceptionOnConnect",
            StatusCode::Connect => c"Connect",
            StatusCode::Disconnect => c"Disconnect",
            StatusCode::Exception => c"Exception",
            StatusCode::SendError => c"SendError",
            StatusCode::ExceptionOnReceive => c"ExceptionOnReceive",
            StatusCode::TimeoutDisconnect => c"TimeoutDisconnect",
            StatusCode::DisconnectByServerTimeout => c"DisconnectByServerTimeout",
            StatusCode::DisconnectByServerUserLimit => c"DisconnectByServerUserLimit",
            StatusCode::DisconnectByServerLogic => c"DisconnectByServerLogic",
            StatusCode::DisconnectByServerReasonUnknown => c"DisconnectByServerReasonUnknown",
            StatusCode::EncryptionEstablished => c"EncryptionEstablished",
            StatusCode::EncryptionFailedToEstablish => c"EncryptionFailedToEstablish",
            StatusCode::ServerAddressInvalid => c"ServerAddressInvalid",
            StatusCode::DnsExceptionOnConnect => c"DnsExceptionOnConnect",
        }
    }

    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("status names are ASCII")
    }

    pub fn from_u32(value: u32) -> Option<Self> {
        use StatusCode::*;
        [
            SecurityExceptionOnConnect,
            ExceptionOnConnect,
            Connect,
            Disconnect,
            Exception,
            SendError,
            ExceptionOnReceive,
            TimeoutDisconnect,
            DisconnectByServerTimeout,
            DisconnectByServerUserLimit,
            DisconnectByServerLogic,
            DisconnectByServerReasonUnknown,
            EncryptionEstablished,
            EncryptionFailedToEstablish,
            ServerAddressInvalid,
            DnsExceptionOnConnect,
        ]
        .into_iter()
        .find(|code| *code as u32 == value)
    }
}

/// Why a connection ended; carried in Disconnect and refused ConnectAck frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum DisconnectReason {
    /// Not a disconnect: a ConnectAck with this value accepts the connection.
    None = 0,
    ClientRequest = 1,
    ServerShutdown = 2,
    Timeout = 3,
    ProtocolViolation = 4,
    AuthenticationFailed = 5,
    Replay = 6,
    UnknownAppId = 7,
    VersionMismatch = 8,
    KeyExchangeFailed = 9,
    CounterExhausted = 10,
    SlowConsumer = 11,
    ServerLogic = 12,
    ServerFull = 13,
    /// The peer sent more than it is allowed to (operations, bytes or key exchanges per second).
    RateLimited = 14,
    /// The server token of an AuthOnce key exchange is not valid here, or has expired
    /// (AuthenticationTicketExpired): authenticate again.
    TokenRefused = 15,
}

impl DisconnectReason {
    pub fn from_u16(value: u16) -> Option<Self> {
        use DisconnectReason::*;
        Some(match value {
            0 => None,
            1 => ClientRequest,
            2 => ServerShutdown,
            3 => Timeout,
            4 => ProtocolViolation,
            5 => AuthenticationFailed,
            6 => Replay,
            7 => UnknownAppId,
            8 => VersionMismatch,
            9 => KeyExchangeFailed,
            10 => CounterExhausted,
            11 => SlowConsumer,
            12 => ServerLogic,
            13 => ServerFull,
            14 => RateLimited,
            15 => TokenRefused,
            _ => return Option::None,
        })
    }

    pub fn describe(self) -> &'static str {
        use DisconnectReason::*;
        match self {
            None => "no reason",
            ClientRequest => "the client disconnected",
            ServerShutdown => "the server is shutting down",
            Timeout => "no traffic within the disconnect timeout",
            ProtocolViolation => "malformed or unexpected frame",
            AuthenticationFailed => "a frame failed authentication",
            Replay => "a frame was replayed",
            UnknownAppId => "unknown app id",
            VersionMismatch => "unsupported protocol version",
            KeyExchangeFailed => "key exchange failed",
            CounterExhausted => "frame counter exhausted",
            SlowConsumer => "the peer did not keep up with its traffic",
            ServerLogic => "disconnected by server logic",
            ServerFull => "the server is full",
            RateLimited => "sent more than the server allows",
            TokenRefused => {
                "the server token is not valid here or has expired (AuthenticationTicketExpired); authenticate again"
            }
        }
    }

    /// The status a client reports when the server sends this reason.
    pub fn status_when_sent_by_server(code: u16) -> StatusCode {
        match Self::from_u16(code) {
            Some(DisconnectReason::Timeout) => StatusCode::DisconnectByServerTimeout,
            Some(DisconnectReason::ServerFull) => StatusCode::DisconnectByServerUserLimit,
            Some(DisconnectReason::None) | Option::None => StatusCode::DisconnectByServerReasonUnknown,
            Some(_) => StatusCode::DisconnectByServerLogic,
        }
    }
}

/// A session's state. 0, 1, 3 and 4 are Photon's `PeerStateValue` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum PeerState {
    Disconnected = 0,
    Connecting = 1,
    Connected = 3,
    Disconnecting = 4,
    /// Connected, with the key exchange under way.
    EstablishingEncryption = 5,
    /// Connected with transport keys: every frame is authenticated, encryption is per operation.
    Encrypted = 6,
}

impl PeerState {
    pub fn from_u8(value: u8) -> Option<Self> {
        use PeerState::*;
        [Disconnected, Connecting, Connected, Disconnecting, EstablishingEncryption, Encrypted]
            .into_iter()
            .find(|state| *state as u8 == value)
    }
}

/// Return codes of operation responses used by the protocol core itself (Photon's numbering where one
/// exists).
pub mod return_code {
    pub const OK: i16 = 0;
    pub const INTERNAL_SERVER_ERROR: i16 = -1;
    pub const INVALID_OPERATION: i16 = -2;
    pub const OPERATION_NOT_ALLOWED_IN_CURRENT_STATE: i16 = -3;
    /// Authentication values were refused (or cannot be checked).
    pub const INVALID_AUTHENTICATION: i16 = 32767;
    /// A must-encrypt operation arrived without encryption.
    pub const MUST_ENCRYPT: i16 = -10;
    /// A server plugin refused the operation.
    pub const PLUGIN_REJECTED: i16 = -11;
    /// The server cannot take the request now (its output budget is used up); try again.
    pub const SERVER_BUSY: i16 = -12;
    /// The room directory is unreachable: matchmaking cannot answer now; try again.
    pub const DIRECTORY_UNAVAILABLE: i16 = -13;
    /// SetProperties with expected values that do not match the current ones: nothing was changed.
    pub const PROPERTIES_CONFLICT: i16 = -14;
    /// A join of a room where this user left an inactive player: rejoin it (Photon's
    /// JoinFailedFoundInactiveJoiner).
    pub const JOIN_FAILED_FOUND_INACTIVE_JOINER: i16 = 32749;
    /// A rejoin of a room where this user has no inactive player (Photon's
    /// JoinFailedWithRejoinerNotFound).
    pub const JOIN_FAILED_WITH_REJOINER_NOT_FOUND: i16 = 32748;
    /// CreateRoom of a room that exists (Photon's GameIdAlreadyExists).
    pub const GAME_ID_ALREADY_EXISTS: i16 = 32766;
    /// The room is full (Photon's GameFull).
    pub const GAME_FULL: i16 = 32765;
    /// The room is closed to new players (Photon's GameClosed).
    pub const GAME_CLOSED: i16 = 32764;
    /// No game server can take a new room (Photon's ServerFull).
    pub const SERVER_FULL: i16 = 32762;
    /// JoinRandomRoom found no open, visible room with space (Photon's NoRandomMatchFound).
    pub const NO_RANDOM_MATCH_FOUND: i16 = 32760;
    /// JoinRoom of a room that does not exist (Photon's GameDoesNotExist).
    pub const GAME_DOES_NOT_EXIST: i16 = 32758;
    /// The authentication backend rejected the player (docs/auth.md §4.2).
    pub const CUSTOM_AUTHENTICATION_FAILED: i16 = 32755;
    /// The server token is not valid here or has expired: authenticate again.
    pub const AUTHENTICATION_TICKET_EXPIRED: i16 = 32753;
    /// Too many authentication attempts; try again later.
    pub const HTTP_LIMIT_REACHED: i16 = 32745;
    /// The authentication backend is unavailable or answered wrongly; try again.
    pub const EXTERNAL_HTTP_CALL_FAILED: i16 = 32744;
}

/// Photon's op codes for operations with a protocol-level meaning.
pub mod op_code {
    pub const AUTHENTICATE: u8 = 230;
    pub const AUTHENTICATE_ONCE: u8 = 231;
    pub const JOIN_ROOM: u8 = crate::rooms::OP_JOIN_ROOM;
    pub const CREATE_ROOM: u8 = crate::rooms::OP_CREATE_ROOM;
    pub const JOIN_RANDOM_ROOM: u8 = crate::rooms::OP_JOIN_RANDOM_ROOM;
    pub const LEAVE_ROOM: u8 = crate::rooms::OP_LEAVE_ROOM;
    pub const RAISE_EVENT: u8 = crate::rooms::OP_RAISE_EVENT;
    pub const CHANGE_GROUPS: u8 = crate::rooms::OP_CHANGE_GROUPS;
    pub const SET_PROPERTIES: u8 = crate::rooms::OP_SET_PROPERTIES;
    pub const JOIN_LOBBY: u8 = crate::rooms::OP_JOIN_LOBBY;
    pub const LEAVE_LOBBY: u8 = crate::rooms::OP_LEAVE_LOBBY;
}
