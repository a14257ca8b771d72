//! The peer's side of authentication: it sends the host's authentication values right after the key
//! exchange, follows the answer, and keeps the latest server token (from the answer, the responses to
//! JoinRoom, CreateRoom and JoinRandomRoom, and AuthEvents), so the host never has to handle tokens,
//! though it may read one.
//!
//! AuthOnceWss (docs/protocol.md): an authentication over WSS that named the protocol the client
//! will switch to is answered with a per-client secret beside the token. The peer takes the secret
//! out of the response before the host sees it, keeps it (wiped when replaced or dropped) with the
//! token it came with, and a later UDP or TCP connect with `auth_once` hands both to the session,
//! whose key exchange then authenticates the connection.

use parking_lot::Mutex;

use crate::auth::{
    is_auth_response, take_auth_once_secret, AuthType, AuthValues, AuthValuesError, ServerToken, EVENT_AUTH,
};
use crate::protocol::message::{EventData, OperationRequest, OperationResponse};
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::{AuthOnceCredentials, Session, SessionError};
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
    /// The AuthOnceWss secret and the token sealed with it (from one Authenticate answer), kept
    /// across connections until replaced; the secret is wiped when dropped.
    auth_once: Mutex<Option<AuthOnceCredentials>>,
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

    /// A fresh token for the player whose AuthOnceWss credentials these are: the server seals the
    /// same secret into every token it refreshes, so the credentials take the fresh token and keep
    /// working past the first token's lifetime.
    fn refresh_auth_once(&self, token: &ServerToken) {
        let mut credentials = self.auth_once.lock();
        if let Some(current) = credentials.as_ref() {
            *credentials = Some(current.with_token(token.bytes.clone()));
        }
    }

    /// Whether the peer holds AuthOnceWss credentials for a UDP or TCP connect.
    pub fn has_auth_once(&self) -> bool {
        self.auth_once.lock().is_some()
    }

    /// The credentials for a connect's key exchange, if the peer holds some.
    pub fn auth_once_credentials(&self) -> Option<AuthOnceCredentials> {
        self.auth_once.lock().clone()
    }

    /// Replaces the credentials (a host moving them from another peer).
    pub fn set_auth_once(&self, credentials: Option<AuthOnceCredentials>) {
        *self.auth_once.lock() = credentials;
    }

    /// Forgets the credentials (the server refused their token: they cannot work again).
    fn forget_auth_once(&self) {
        self.set_auth_once(None);
    }
}

/// The authentication of one connection, on the I/O thread.
pub(crate) struct Authenticator {
    request: Option<OperationRequest>,
    /// The key exchange carries AuthOnceWss credentials: its completion authenticates.
    auth_once: bool,
    /// Whether TLS protects the connection (WSS): an AuthOnceWss secret is only taken from a
    /// response that travelled under TLS or encrypted.
    secure_transport: bool,
    /// This connection's player is the one the AuthOnceWss credentials belong to (they were given
    /// here, or its key exchange used them): its fresh tokens refresh the credentials.
    credentials_player: std::cell::Cell<bool>,
}

impl Authenticator {
    /// Prepares the request at connect time, so values that cannot be sent are refused then. A Token
    /// authentication without a token of its own uses the one the peer kept.
    pub fn new(values: Option<&AuthValues>, board: &AuthBoard) -> Result<Self, AuthValuesError> {
        let mut authenticator = Authenticator::none();
        let Some(values) = values else { return Ok(authenticator) };
        let mut values = values.clone();
        if values.auth_type == AuthType::Token && values.token().is_empty() {
            if let Some(kept) = board.token() {
                values.set_token(&kept.bytes)?;
            }
        }
        authenticator.request = Some(values.to_request()?);
        Ok(authenticator)
    }

    /// No authentication.
    pub fn none() -> Self {
        Authenticator { request: None, auth_once: false, secure_transport: false, credentials_player: false.into() }
    }

    /// The connection's key exchange presents AuthOnceWss credentials.
    pub fn with_auth_once(mut self) -> Self {
        self.auth_once = true;
        self.credentials_player.set(true);
        self
    }

    /// The connection runs over TLS (WSS).
    pub fn over_secure_transport(mut self) -> Self {
        self.secure_transport = true;
        self
    }

    /// Sends the request, once, as soon as the session is encrypted. With AuthOnceWss the completed
    /// key exchange itself authenticated the connection (the server accepted the token and the
    /// secret), so there is nothing to send.
    pub fn on_encrypted(&mut self, session: &mut Session, board: &AuthBoard) -> Result<(), SessionError> {
        if std::mem::take(&mut self.auth_once) {
            board.set_state(AuthState::Authenticated);
        }
        let Some(request) = self.request.take() else { return Ok(()) };
        session.send_operation(&request, SendOptions::ENCRYPTED)?;
        board.set_state(AuthState::Pending);
        Ok(())
    }

    /// The server refused the AuthOnceWss token of this connection's key exchange (invalid or
    /// expired): the authentication failed as an expired ticket does, and the credentials are
    /// forgotten, since the same token cannot succeed later.
    pub fn on_token_refused(&mut self, board: &AuthBoard) {
        if std::mem::take(&mut self.auth_once) {
            board.set_state(AuthState::Failed { return_code: return_code::AUTHENTICATION_TICKET_EXPIRED });
            board.forget_auth_once();
        }
    }

    /// Follows responses: the answer to the authentication, fresh tokens, and the AuthOnceWss
    /// secret, which it removes from the response (the host never sees it).
    pub fn on_response(&self, response: &mut OperationResponse, encrypted: bool, board: &AuthBoard) {
        if is_auth_response(response) {
            self.take_auth_once_secret(response, encrypted, board);
        }
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
                self.keep(token, board);
            }
        }
    }

    fn keep(&self, token: ServerToken, board: &AuthBoard) {
        if self.credentials_player.get() {
            board.refresh_auth_once(&token);
        }
        board.keep(token);
    }

    /// Takes parameter 192 out of an answer to Authenticate. Kept only from a successful answer that
    /// TLS or the session's encryption protected, with the token of the same answer: a secret that
    /// travelled in clear (a server at fault) is dropped, never used.
    fn take_auth_once_secret(&self, response: &mut OperationResponse, encrypted: bool, board: &AuthBoard) {
        // Removed (and its bytes wiped) whatever happens next: the host never sees a secret.
        let secret = take_auth_once_secret(&mut response.params);
        if response.return_code != return_code::OK {
            return;
        }
        let Some(secret) = secret else {
            // A new authentication without a secret (another player, say): the old credentials
            // would connect as someone this peer no longer is.
            board.forget_auth_once();
            self.credentials_player.set(false);
            return;
        };
        if !(self.secure_transport || encrypted) {
            return;
        }
        if let Some(token) = ServerToken::from_params(&response.params) {
            *board.auth_once.lock() = Some(AuthOnceCredentials::new(token.bytes, &secret));
            self.credentials_player.set(true);
        }
    }

    /// Follows events: an AuthEvent brings a fresh token.
    pub fn on_event(&self, event: &EventData, board: &AuthBoard) {
        if event.code == EVENT_AUTH {
            if let Some(token) = ServerToken::from_params(&event.params) {
                self.keep(token, board);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PARAM_AUTH_ONCE_SECRET;
    use crate::protocol::codec::Params;
    use crate::protocol::status::op_code;

    fn answer(token: &[u8], secret: Option<[u8; 32]>) -> OperationResponse {
        let mut params = Params::new();
        ServerToken { bytes: token.to_vec(), expires_at_ms: 1 }.insert_into(&mut params);
        if let Some(secret) = secret {
            params.insert(PARAM_AUTH_ONCE_SECRET, secret.to_vec());
        }
        OperationResponse { op_code: op_code::AUTHENTICATE, return_code: return_code::OK, debug_message: None, params }
    }

    #[test]
    fn the_secret_is_taken_out_and_fresh_tokens_of_its_player_refresh_the_credentials() {
        let board = AuthBoard::default();
        let wss = Authenticator::none().over_secure_transport();
        let mut first = answer(b"first", Some([7; 32]));
        wss.on_response(&mut first, false, &board);
        assert!(first.params.get(PARAM_AUTH_ONCE_SECRET).is_none(), "the host never sees the secret");
        assert_eq!(board.auth_once_credentials().unwrap().token(), b"first");

        // On the AuthOnce connection, an AuthEvent's fresh token replaces the one in the credentials.
        let udp = Authenticator::none().with_auth_once();
        let mut params = Params::new();
        ServerToken { bytes: b"fresh".to_vec(), expires_at_ms: 2 }.insert_into(&mut params);
        udp.on_event(&EventData { code: EVENT_AUTH, sender: 0, params }, &board);
        let credentials = board.auth_once_credentials().unwrap();
        assert_eq!((credentials.token(), credentials.secret()), (&b"fresh"[..], &[7; 32]));
    }

    #[test]
    fn a_later_authentication_without_a_secret_forgets_the_credentials() {
        let board = AuthBoard::default();
        let wss = Authenticator::none().over_secure_transport();
        wss.on_response(&mut answer(b"ada", Some([7; 32])), false, &board);
        assert!(board.has_auth_once());
        // Someone else logs in on this peer: the old credentials would connect as Ada.
        wss.on_response(&mut answer(b"bob", None), true, &board);
        assert!(!board.has_auth_once());
        // And a secret that came in clear is never kept.
        Authenticator::none().on_response(&mut answer(b"eve", Some([9; 32])), false, &board);
        assert!(!board.has_auth_once());
    }
}
