//! What a session reports to its driver, and why a host command can fail.

use crate::protocol::codec::CodecError;
use crate::protocol::frame::Delivery;
use crate::protocol::message::{EventData, OperationRequest, OperationResponse};
use crate::protocol::status::StatusCode;

/// A status change, with the disconnect reason code (0 when none) and a readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInfo {
    pub code: StatusCode,
    pub reason: u16,
    pub message: String,
}

/// Output of a session for the layer above, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Status(StatusInfo),
    /// Server role: a client asks to connect; answer with `accept` or `refuse`.
    ConnectRequest {
        app_id: String,
        client_version: String,
        /// The protocol version the connection will speak once accepted.
        protocol_version: u8,
    },
    /// Server role, with `gate_key_exchange` set: the client started the key exchange; answer with
    /// `admit_key_exchange` or `refuse_key_exchange`.
    KeyExchangeRequest,
    /// Server role: the client started the AuthOnce key exchange with this server token; open it
    /// and answer with `admit_auth_once` (its secret) or `refuse_key_exchange`. The token proves
    /// nothing yet: only a client holding the secret completes the exchange.
    AuthOnceRequest {
        token: Vec<u8>,
    },
    /// Server role.
    OperationRequest {
        request: OperationRequest,
        encrypted: bool,
        delivery: Delivery,
        channel: u8,
    },
    /// Client role.
    OperationResponse {
        response: OperationResponse,
        encrypted: bool,
    },
    /// Client role.
    Event {
        event: EventData,
        encrypted: bool,
    },
}

/// Why a host command was refused. No variant carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The command needs a connected session.
    NotConnected,
    /// `connect` was called twice, or `accept` without a pending request.
    InvalidState(&'static str),
    /// The command belongs to the other role.
    WrongRole,
    /// Encryption was requested before the key exchange completed.
    EncryptionNotEstablished,
    /// The key exchange is running or done already.
    KeyExchangeAlreadyStarted,
    /// This operation is always encrypted, and there are no keys yet.
    MustEncrypt(u8),
    /// The parameters exceed the codec limits.
    Params(CodecError),
    /// The app id is empty or longer than 64 bytes, or the version longer than 32; says which.
    InvalidConnectRequest(String),
    /// The encoded frame would exceed the frame size limit.
    MessageTooLarge { len: usize, max: u32 },
    /// Before the key exchange, frames are limited to a few kilobytes.
    ClearMessageTooLarge { len: usize, max: u32 },
    /// The send counter reached its limit; the session is closing.
    CounterExhausted,
    /// The transport key sealed as much data as it safely may; the session is closing.
    KeyUsageExhausted,
    /// Unsent output is above its bound; the transport is not draining it.
    OutputFull,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::NotConnected => f.write_str("not connected"),
            SessionError::InvalidState(what) => write!(f, "invalid state: {what}"),
            SessionError::WrongRole => f.write_str("command not available in this role"),
            SessionError::EncryptionNotEstablished => {
                f.write_str("can't use encryption yet: establish encryption first (key exchange not completed)")
            }
            SessionError::KeyExchangeAlreadyStarted => f.write_str("key exchange already started or completed"),
            SessionError::MustEncrypt(op) => {
                write!(f, "operation {op} must be sent encrypted: establish encryption first")
            }
            SessionError::Params(error) => write!(f, "parameters refused: {error}"),
            SessionError::InvalidConnectRequest(problem) => write!(f, "invalid connect request: {problem}"),
            SessionError::MessageTooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the frame limit of {max} bytes")
            }
            SessionError::ClearMessageTooLarge { len, max } => write!(
                f,
                "message of {len} bytes exceeds the limit of {max} bytes for frames sent before the key \
                 exchange: establish encryption first"
            ),
            SessionError::CounterExhausted => f.write_str("send counter exhausted; the session is closing"),
            SessionError::KeyUsageExhausted => {
                f.write_str("the session key reached its usage limit; the session is closing (reconnect)")
            }
            SessionError::OutputFull => f.write_str("send buffer full: the connection is not draining"),
        }
    }
}

impl std::error::Error for SessionError {}
