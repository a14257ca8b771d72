//! Result codes of the C ABI and their static descriptions.

use crate::peer::PeerError;
use crate::protocol::codec::CodecError;
use crate::protocol::session::SessionError;

/// Result of every fallible `peer_*` call. Crosses the ABI as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerResult {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// The peer handle is unknown or was destroyed.
    InvalidPeer = 2,
    /// An internal error was caught at the ABI boundary; the call had no effect.
    Panic = 3,
    /// An argument is out of range or not valid UTF-8.
    InvalidArgument = 4,
    /// Encryption was requested before the key exchange completed: call peer_establish_encryption and
    /// wait for status 1048 first.
    EncryptionNotEstablished = 5,
    /// The operation is always encrypted and no keys exist yet.
    MustEncrypt = 6,
    /// The peer is not connected.
    NotConnected = 7,
    /// The peer is already connected or connecting.
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
    /// peer_poll_event: nothing is queued.
    NoEvent = 14,
    /// The parameter key is not present.
    NotFound = 15,
    /// The parameter has a different type.
    TypeMismatch = 16,
    /// The output buffer is too small; the needed length was reported.
    BufferTooSmall = 17,
    /// The call is not allowed from inside a callback of the same peer (peer_service from inside one).
    CalledFromCallback = 18,
    /// The address is not "host:port".
    InvalidAddress = 19,
    /// The operating system refused a resource (for example a thread).
    Io = 20,
    /// peer_wait: nothing arrived within the timeout.
    TimedOut = 21,
    /// A value's type needs a newer protocol version than the connection speaks (the server, or this
    /// peer's max_protocol_version, is older); peer_last_error names the type and both versions.
    NeedsProtocolVersion = 22,
    /// The realtime client is not in a state that allows the call (peer_client_state says which;
    /// peer_last_error names it).
    WrongState = 23,
}

impl PeerResult {
    pub fn describe(code: u32) -> &'static std::ffi::CStr {
        match code {
            0 => c"ok",
            1 => c"a required pointer argument was NULL",
            2 => c"invalid peer: unknown handle or already destroyed",
            3 => c"internal error caught at the API boundary",
            4 => c"invalid argument (out of range or not UTF-8)",
            5 => c"can't use encryption yet: establish encryption first (key exchange not completed)",
            6 => c"this operation must be encrypted: establish encryption first",
            7 => c"not connected",
            8 => c"already connected or connecting",
            9 => c"key exchange already started or completed",
            10 => c"parameters exceed the size, count or depth limits",
            11 => c"message exceeds the frame size limit",
            12 => c"send buffer full: the connection is not draining",
            13 => c"send counter exhausted; the connection is closing",
            14 => c"no event queued",
            15 => c"parameter key not found",
            16 => c"parameter has a different type",
            17 => c"buffer too small; the needed length was reported",
            18 => c"not allowed from inside a callback of the same peer",
            19 => c"address must be host:port",
            20 => c"operating system error",
            21 => c"timed out: nothing arrived within the timeout",
            22 => c"a value type needs a newer protocol version than the connection speaks",
            23 => c"the client is not in a state that allows this call",
            _ => c"unknown result code",
        }
    }
}

impl From<SessionError> for PeerResult {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotConnected => PeerResult::NotConnected,
            SessionError::InvalidState(_) => PeerResult::AlreadyConnected,
            SessionError::WrongRole => PeerResult::InvalidArgument,
            SessionError::EncryptionNotEstablished => PeerResult::EncryptionNotEstablished,
            SessionError::KeyExchangeAlreadyStarted => PeerResult::KeyExchangeAlreadyStarted,
            SessionError::MustEncrypt(_) => PeerResult::MustEncrypt,
            SessionError::Params(CodecError::TypeNeedsVersion { .. }) => PeerResult::NeedsProtocolVersion,
            SessionError::Params(_) => PeerResult::ParamsTooLarge,
            SessionError::InvalidConnectRequest(_) => PeerResult::InvalidArgument,
            SessionError::MessageTooLarge { .. } | SessionError::ClearMessageTooLarge { .. } => {
                PeerResult::MessageTooLarge
            }
            SessionError::CounterExhausted | SessionError::KeyUsageExhausted => PeerResult::CounterExhausted,
            SessionError::OutputFull => PeerResult::SendBufferFull,
        }
    }
}

impl From<PeerError> for PeerResult {
    fn from(error: PeerError) -> Self {
        match error {
            PeerError::AlreadyConnected => PeerResult::AlreadyConnected,
            PeerError::InvalidAddress => PeerResult::InvalidAddress,
            PeerError::Io(_) => PeerResult::Io,
            PeerError::ShutDown => PeerResult::InvalidPeer,
            PeerError::Session(error) => error.into(),
            PeerError::Auth(_) => PeerResult::InvalidArgument,
            PeerError::InvalidUrl(_) => PeerResult::InvalidAddress,
            PeerError::Options(_) => PeerResult::InvalidArgument,
        }
    }
}
