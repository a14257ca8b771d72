//! The peer's side of authentication: it sends the host's authentication values right after the key
//! exchange, follows the answer, and keeps the latest server token (from the answer, the responses to
//! JoinRoom, CreateRoom and JoinRandomRoom, and AuthEvents), so the host never has to handle tokens,
//! though it may read one.

use parking_lot::Mutex;

use crate::auth::{is_auth_response, AuthType, AuthValues, AuthValuesError, ServerToken, EVENT_AUTH};
use crate::protocol::message::{EventData, OperationRequest, OperationResponse};
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::{Session, SessionError};
use crate::protocol::status::return_code;
use crate::rooms::{OP_CREATE_ROOM, OP_JOIN_RANDOM_ROOM, OP_JOIN_ROOM};

/// Where the connection's authentication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthState {
    /// No authentication values were given for this connection, or the key exchange is not done.
    #[default]
    None,
    /// Authenticate was sent; the answer is awaited.
    Pending,
    Authenticated,
    /// Refused: the return code tells why (docs/auth.md §4.2); the message came with the response.
    Failed {
        return_code: i16,
    },
}

/// What the host can read about authentication.
#[derive(Default)]
pub(crate) struct AuthBoard {
    state: Mutex<AuthState>,
    /// Kept across connections: a token admits the player on the deployment's other servers.
    token: Mutex<Option<ServerToken>>,
}

impl AuthBoard {
    pub fn state(&self) -> AuthState {
        *self.state.lock()
    }

    pub fn token(&self) -> Option<ServerToken> {
        self.token.lock().clone()
    }

    /// A new connection starts unauthenticated (the token stays).
    pub fn reset(&self) {
        *self.state.lock() = AuthState::None;
    }

    fn set_state(&self, state: AuthState) {
        *self.state.lock() = state;
    }

    fn keep(&self, token: ServerToken) {
        *self.token.lock() = Some(token);
    }
}

/// The authentication of one connection, on the I/O thread.
pub(crate) struct Authenticator {
    request: Option<OperationRequest>,
}

impl Authenticator {
    /// Prepares the request at connect time, so values that cannot be sent are refused then. A Token
    /// authentication without a token of its own uses the one the peer kept.
    pub fn new(values: Option<&AuthValues>, board: &AuthBoard) -> Result<Self, AuthValuesError> {
        let Some(values) = values else { return Ok(Authenticator { request: None }) };
        let mut values = values.clone();
        if values.auth_type == AuthType::Token && values.token().is_empty() {
            if let Some(kept) = board.token() {
                values.set_token(&kept.bytes)?;
            }
        }
        Ok(Authenticator { request: Some(values.to_request()?) })
    }

    /// No authentication.
    pub fn none() -> Self {
        Authenticator { request: None }
    }

    /// Sends the request, once, as soon as the session is encrypted.
    pub fn on_encrypted(&mut self, session: &mut Session, board: &AuthBoard) -> Result<(), SessionError> {
        let Some(request) = self.request.take() else { return Ok(()) };
        session.send_operation(&request, SendOptions::ENCRYPTED)?;
        board.set_state(AuthState::Pending);
        Ok(())
    }

    /// Follows responses: the answer to the authentication, and fresh tokens.
    pub fn on_response(&self, response: &OperationResponse, board: &AuthBoard) {
        // Only the answer to the peer's own request moves the state: a host that sends another
        // Authenticate later gets its answer, but the connection stays authenticated.
        if is_auth_response(response) && board.state() == AuthState::Pending {
            board.set_state(match response.return_code {
                return_code::OK => AuthState::Authenticated,
                code => AuthState::Failed { return_code: code },
            });
        }
        let room_request = matches!(response.op_code, OP_JOIN_ROOM | OP_CREATE_ROOM | OP_JOIN_RANDOM_ROOM);
        if response.return_code == return_code::OK && (is_auth_response(response) || room_request) {
            if let Some(token) = ServerToken::from_params(&response.params) {
                board.keep(token);
            }
        }
    }

    /// Follows events: an AuthEvent brings a fresh token.
    pub fn on_event(&self, event: &EventData, board: &AuthBoard) {
        if event.code == EVENT_AUTH {
            if let Some(token) = ServerToken::from_params(&event.params) {
                board.keep(token);
            }
        }
    }
}
