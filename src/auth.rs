//! Authentication as it rides on operations (docs/auth.md §4): the values a client authenticates
//! with, how they become an Authenticate or AuthenticateOnce request, and what a successful answer
//! carries. Client and server both use these, so the encoding exists once.

use crate::protocol::codec::{Key, Params, Table, Value};
use crate::protocol::message::{OperationRequest, OperationResponse};
use crate::protocol::status::op_code;

/// Longest connection token, in bytes: the game's session id plus a few flags.
pub const MAX_CONNECTION_TOKEN: usize = 128;
/// Longest user id, in bytes.
pub const MAX_USER_ID: usize = 128;
/// Most authentication parameters.
pub const MAX_AUTH_PARAMS: usize = 32;
/// Longest key or value of an authentication parameter, in bytes.
pub const MAX_AUTH_PARAM_TEXT: usize = 256;
/// Longest authentication data, in bytes.
pub const MAX_AUTH_DATA: usize = 1024;
/// Longest server token, in bytes.
pub const MAX_SERVER_TOKEN: usize = 2048;

/// Parameter: the client's authentication type (Byte).
pub const PARAM_AUTH_TYPE: u8 = 217;
/// Parameter: authentication parameters (Table of String → String).
pub const PARAM_AUTH_PARAMS: u8 = 216;
/// Parameter: authentication data (ByteArray).
pub const PARAM_AUTH_DATA: u8 = 214;
/// Parameter: user id (String).
pub const PARAM_USER_ID: u8 = 225;
/// Parameter: the server token (ByteArray).
pub const PARAM_TOKEN: u8 = 221;
/// Parameter: the connection token (ByteArray).
pub const PARAM_CONNECTION_TOKEN: u8 = 199;
/// Parameter: when the server token expires (Long, ms since the Unix epoch).
pub const PARAM_TOKEN_EXPIRES: u8 = 198;
/// Parameter: nickname (String).
pub const PARAM_NICKNAME: u8 = 202;
/// Parameter: the backend's data for the player (Table of String → scalar).
pub const PARAM_DATA: u8 = 245;
/// Parameter: the transport an AuthOnce client switches to after authenticating over WSS (Byte:
/// Photon's ConnectionProtocol, 0 UDP or 1 TCP). With it, the answer carries an AuthOnce secret.
pub const PARAM_EXPECTED_PROTOCOL: u8 = 195;
/// Parameter: the AuthOnce secret (ByteArray of 32), in an Authenticate answer over WSS only.
pub const PARAM_AUTH_ONCE_SECRET: u8 = 192;
/// Length of an AuthOnce secret.
pub const AUTH_ONCE_SECRET_LEN: usize = 32;
/// Event: a fresh server token (221, 198).
pub const EVENT_AUTH: u8 = 223;

/// How a client authenticates (Photon's `CustomAuthenticationType` numbers where they exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Checked by the studio's backend through the server's webhook.
    Custom,
    /// Anonymous, where the server allows it.
    None,
    /// A server token from an earlier authentication (AuthenticateOnce).
    Token,
}

impl AuthType {
    /// The wire value of parameter 217 (Token has none: it is a different operation).
    fn wire(self) -> u8 {
        match self {
            AuthType::Custom => 0,
            AuthType::None | AuthType::Token => 255,
        }
    }
}

/// Why authentication values were refused, locally or by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthValuesError {
    ConnectionTokenTooLong {
        size: usize,
    },
    UserIdTooLong {
        size: usize,
    },
    TooManyParams,
    ParamTooLong {
        size: usize,
    },
    AuthDataTooLong {
        size: usize,
    },
    ServerTokenTooLong {
        size: usize,
    },
    /// A Token authentication without a token.
    MissingToken,
    /// Authentication values need the automatic key exchange: the peer sends them when it completes.
    NeedsAutomaticKeyExchange,
    /// A parameter is absent or of the wrong type (server side).
    Malformed {
        param: u8,
        expected: &'static str,
    },
}

impl std::fmt::Display for AuthValuesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthValuesError::ConnectionTokenTooLong { size } => write!(
                f,
                "the connection token is {size} bytes; the limit is {MAX_CONNECTION_TOKEN} bytes (it is never truncated)"
            ),
            AuthValuesError::UserIdTooLong { size } => {
                write!(f, "the user id is {size} bytes; the limit is {MAX_USER_ID} bytes")
            }
            AuthValuesError::TooManyParams => write!(f, "more than {MAX_AUTH_PARAMS} authentication parameters"),
            AuthValuesError::ParamTooLong { size } => write!(
                f,
                "an authentication parameter of {size} bytes; keys and values are limited to {MAX_AUTH_PARAM_TEXT} bytes"
            ),
            AuthValuesError::AuthDataTooLong { size } => {
                write!(f, "the authentication data is {size} bytes; the limit is {MAX_AUTH_DATA} bytes")
            }
            AuthValuesError::ServerTokenTooLong { size } => {
                write!(f, "the server token is {size} bytes; the limit is {MAX_SERVER_TOKEN} bytes")
            }
            AuthValuesError::MissingToken => f.write_str("token authentication needs a server token"),
            AuthValuesError::NeedsAutomaticKeyExchange => f.write_str(
                "authentication values need the automatic key exchange (auto_key_exchange): they are sent when it completes",
            ),
            AuthValuesError::Malformed { param, expected } => write!(f, "parameter {param} must be {expected}"),
        }
    }
}

impl std::error::Error for AuthValuesError {}

/// What a client authenticates with (Photon's `AuthenticationValues`). Every setter checks its limit,
/// so values that exist are values the server accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthValues {
    pub auth_type: AuthType,
    connection_token: Vec<u8>,
    user_id: Option<String>,
    params: Vec<(String, String)>,
    auth_data: Option<Vec<u8>>,
    token: Vec<u8>,
    expected_protocol: Option<u8>,
}

impl std::fmt::Debug for AuthValues {
    /// Tokens and auth data are credentials: only their sizes are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthValues")
            .field("auth_type", &self.auth_type)
            .field("connection_token_len", &self.connection_token.len())
            .field("user_id", &self.user_id)
            .field("params", &self.params.len())
            .field("auth_data_len", &self.auth_data.as_ref().map(Vec::len))
            .field("token_len", &self.token.len())
            .field("expected_protocol", &self.expected_protocol)
            .finish()
    }
}

impl AuthValues {
    pub fn new(auth_type: AuthType) -> Self {
        AuthValues {
            auth_type,
            connection_token: Vec::new(),
            user_id: None,
            params: Vec::new(),
            auth_data: None,
            token: Vec::new(),
            expected_protocol: None,
        }
    }

    /// Asks for an AuthOnce secret for later connections over `protocol` (0 UDP, 1 TCP): the
    /// authentication must then run over WSS (docs/auth.md §5.6).
    pub fn set_expected_protocol(&mut self, protocol: u8) -> Result<(), AuthValuesError> {
        if protocol > 1 {
            return Err(AuthValuesError::Malformed { param: PARAM_EXPECTED_PROTOCOL, expected: "0 (UDP) or 1 (TCP)" });
        }
        self.expected_protocol = Some(protocol);
        Ok(())
    }

    /// The transport an AuthOnce secret was asked for, if one was.
    pub fn expected_protocol(&self) -> Option<u8> {
        self.expected_protocol
    }

    pub fn set_connection_token(&mut self, token: &[u8]) -> Result<(), AuthValuesError> {
        if token.len() > MAX_CONNECTION_TOKEN {
            return Err(AuthValuesError::ConnectionTokenTooLong { size: token.len() });
        }
        self.connection_token = token.to_vec();
        Ok(())
    }

    pub fn set_user_id(&mut self, user_id: &str) -> Result<(), AuthValuesError> {
        if user_id.len() > MAX_USER_ID {
            return Err(AuthValuesError::UserIdTooLong { size: user_id.len() });
        }
        self.user_id = (!user_id.is_empty()).then(|| user_id.to_owned());
        Ok(())
    }

    /// Adds or replaces one parameter.
    pub fn add_param(&mut self, key: &str, value: &str) -> Result<(), AuthValuesError> {
        let size = key.len().max(value.len());
        if size > MAX_AUTH_PARAM_TEXT || key.is_empty() {
            return Err(AuthValuesError::ParamTooLong { size });
        }
        if let Some(entry) = self.params.iter_mut().find(|(k, _)| k == key) {
            entry.1 = value.to_owned();
            return Ok(());
        }
        if self.params.len() == MAX_AUTH_PARAMS {
            return Err(AuthValuesError::TooManyParams);
        }
        self.params.push((key.to_owned(), value.to_owned()));
        Ok(())
    }

    pub fn set_auth_data(&mut self, data: &[u8]) -> Result<(), AuthValuesError> {
        if data.len() > MAX_AUTH_DATA {
            return Err(AuthValuesError::AuthDataTooLong { size: data.len() });
        }
        self.auth_data = Some(data.to_vec());
        Ok(())
    }

    /// The server token to present (Token authentication), or to fall back on.
    pub fn set_token(&mut self, token: &[u8]) -> Result<(), AuthValuesError> {
        if token.len() > MAX_SERVER_TOKEN {
            return Err(AuthValuesError::ServerTokenTooLong { size: token.len() });
        }
        self.token = token.to_vec();
        Ok(())
    }

    pub fn connection_token(&self) -> &[u8] {
        &self.connection_token
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    pub fn auth_data(&self) -> Option<&[u8]> {
        self.auth_data.as_deref()
    }

    pub fn token(&self) -> &[u8] {
        &self.token
    }

    /// The request that authenticates with these values: AuthenticateOnce for a token, Authenticate
    /// otherwise.
    pub fn to_request(&self) -> Result<OperationRequest, AuthValuesError> {
        let mut params = Params::new();
        if self.auth_type == AuthType::Token {
            if self.token.is_empty() {
                return Err(AuthValuesError::MissingToken);
            }
            params.insert(PARAM_TOKEN, self.token.clone());
            if let Some(protocol) = self.expected_protocol {
                params.insert(PARAM_EXPECTED_PROTOCOL, protocol);
            }
            return Ok(OperationRequest { op_code: op_code::AUTHENTICATE_ONCE, params });
        }
        if let Some(protocol) = self.expected_protocol {
            params.insert(PARAM_EXPECTED_PROTOCOL, protocol);
        }
        params.insert(PARAM_AUTH_TYPE, self.auth_type.wire());
        if !self.connection_token.is_empty() {
            params.insert(PARAM_CONNECTION_TOKEN, self.connection_token.clone());
        }
        if let Some(user_id) = &self.user_id {
            params.insert(PARAM_USER_ID, user_id.clone());
        }
        if !self.params.is_empty() {
            let table: Table =
                self.params.iter().map(|(k, v)| (Key::from(k.as_str()), Value::String(v.clone()))).collect();
            params.insert(PARAM_AUTH_PARAMS, Value::Table(table));
        }
        if let Some(data) = &self.auth_data {
            params.insert(PARAM_AUTH_DATA, data.clone());
        }
        Ok(OperationRequest { op_code: op_code::AUTHENTICATE, params })
    }

    /// The values a request carries, checked against the same limits (server side).
    pub fn from_request(request: &OperationRequest) -> Result<AuthValues, AuthValuesError> {
        let mut values = Self::values_from_request(request)?;
        match request.params.get(PARAM_EXPECTED_PROTOCOL) {
            None => {}
            Some(Value::Byte(protocol)) => values.set_expected_protocol(*protocol)?,
            Some(_) => {
                let expected = "a Byte: 0 (UDP) or 1 (TCP)";
                return Err(AuthValuesError::Malformed { param: PARAM_EXPECTED_PROTOCOL, expected });
            }
        }
        Ok(values)
    }

    fn values_from_request(request: &OperationRequest) -> Result<AuthValues, AuthValuesError> {
        let params = &request.params;
        // A server token admits the player whichever of the two operations carries it.
        if request.op_code == op_code::AUTHENTICATE_ONCE || params.get(PARAM_TOKEN).is_some() {
            let mut values = AuthValues::new(AuthType::Token);
            match params.get(PARAM_TOKEN) {
                Some(Value::Bytes(token)) if !token.is_empty() => values.set_token(token)?,
                _ => return Err(AuthValuesError::Malformed { param: PARAM_TOKEN, expected: "a non-empty ByteArray" }),
            }
            return Ok(values);
        }
        let auth_type = match params.get(PARAM_AUTH_TYPE) {
            Some(Value::Byte(0)) => AuthType::Custom,
            Some(Value::Byte(255)) => AuthType::None,
            _ => {
                let expected = "a Byte: 0 (custom) or 255 (none)";
                return Err(AuthValuesError::Malformed { param: PARAM_AUTH_TYPE, expected });
            }
        };
        let mut values = AuthValues::new(auth_type);
        match params.get(PARAM_CONNECTION_TOKEN) {
            None => {}
            Some(Value::Bytes(token)) => values.set_connection_token(token)?,
            Some(_) => {
                let expected = "a ByteArray";
                return Err(AuthValuesError::Malformed { param: PARAM_CONNECTION_TOKEN, expected });
            }
        }
        match params.get(PARAM_USER_ID) {
            None => {}
            Some(Value::String(user_id)) => values.set_user_id(user_id)?,
            Some(_) => return Err(AuthValuesError::Malformed { param: PARAM_USER_ID, expected: "a String" }),
        }
        match params.get(PARAM_AUTH_PARAMS) {
            None => {}
            Some(Value::Table(table)) => {
                for (key, value) in table.iter() {
                    let (Key::String(key), Value::String(value)) = (key, value) else {
                        let expected = "a Table of String to String";
                        return Err(AuthValuesError::Malformed { param: PARAM_AUTH_PARAMS, expected });
                    };
                    values.add_param(key, value)?;
                }
            }
            Some(_) => {
                let expected = "a Table of String to String";
                return Err(AuthValuesError::Malformed { param: PARAM_AUTH_PARAMS, expected });
            }
        }
        match params.get(PARAM_AUTH_DATA) {
            None => {}
            Some(Value::Bytes(data)) => values.set_auth_data(data)?,
            Some(_) => return Err(AuthValuesError::Malformed { param: PARAM_AUTH_DATA, expected: "a ByteArray" }),
        }
        Ok(values)
    }
}

/// A server token and when it expires, as an Authenticate or JoinRoom response or an AuthEvent carries
/// them.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerToken {
    pub bytes: Vec<u8>,
    /// Milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for ServerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerToken")
            .field("len", &self.bytes.len())
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

impl ServerToken {
    /// Puts the token into response or event parameters.
    pub fn insert_into(&self, params: &mut Params) {
        params.insert(PARAM_TOKEN, self.bytes.clone());
        params.insert(PARAM_TOKEN_EXPIRES, self.expires_at_ms);
    }

    /// The token in response or event parameters, when they carry a well-formed one.
    pub fn from_params(params: &Params) -> Option<ServerToken> {
        match (params.get(PARAM_TOKEN), params.get(PARAM_TOKEN_EXPIRES)) {
            (Some(Value::Bytes(bytes)), Some(Value::Long(expires))) if bytes.len() <= MAX_SERVER_TOKEN => {
                Some(ServerToken { bytes: bytes.clone(), expires_at_ms: *expires })
            }
            _ => None,
        }
    }
}

/// Takes the AuthOnce secret out of an Authenticate answer, so that only the SDK keeps it.
pub fn take_auth_once_secret(params: &mut Params) -> Option<zeroize::Zeroizing<[u8; AUTH_ONCE_SECRET_LEN]>> {
    match params.remove(PARAM_AUTH_ONCE_SECRET) {
        Some(Value::Bytes(mut bytes)) => {
            let secret = <[u8; AUTH_ONCE_SECRET_LEN]>::try_from(bytes.as_slice()).ok().map(zeroize::Zeroizing::new);
            zeroize::Zeroize::zeroize(&mut bytes);
            secret
        }
        _ => None,
    }
}

/// Whether a response is the answer to an authentication.
pub fn is_auth_response(response: &OperationResponse) -> bool {
    matches!(response.op_code, op_code::AUTHENTICATE | op_code::AUTHENTICATE_ONCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_129_byte_connection_token_is_refused_with_its_size_and_the_limit() {
        let mut values = AuthValues::new(AuthType::Custom);
        assert!(values.set_connection_token(&[7; 128]).is_ok());
        let error = values.set_connection_token(&[7; 129]).unwrap_err();
        assert_eq!(error, AuthValuesError::ConnectionTokenTooLong { size: 129 });
        let text = error.to_string();
        assert!(text.contains("129") && text.contains("128"), "{text}");
        assert_eq!(values.connection_token().len(), 128, "the earlier token stays");
    }

    #[test]
    fn values_survive_the_request_both_ways() {
        let mut values = AuthValues::new(AuthType::Custom);
        values.set_connection_token(b"0123456789abcdef-mode=duel").unwrap();
        values.set_user_id("player-1").unwrap();
        values.add_param("lobby", "eu").unwrap();
        values.add_param("build", "42").unwrap();
        values.set_auth_data(&[1, 2, 3]).unwrap();
        let request = values.to_request().unwrap();
        assert_eq!(request.op_code, op_code::AUTHENTICATE);
        let back = AuthValues::from_request(&request).unwrap();
        assert_eq!(back.connection_token(), values.connection_token());
        assert_eq!(back.user_id(), Some("player-1"));
        assert_eq!(back.auth_data(), Some(&[1u8, 2, 3][..]));
        let mut params = back.params().to_vec();
        params.sort();
        assert_eq!(params, vec![("build".into(), "42".into()), ("lobby".into(), "eu".into())]);

        let mut with_token = Params::new();
        with_token.insert(PARAM_TOKEN, vec![5u8; 40]);
        let authenticate = OperationRequest { op_code: op_code::AUTHENTICATE, params: with_token };
        let parsed = AuthValues::from_request(&authenticate).unwrap();
        assert_eq!((parsed.auth_type, parsed.token()), (AuthType::Token, &[5u8; 40][..]), "Authenticate with a token");

        let mut token = AuthValues::new(AuthType::Token);
        assert_eq!(token.to_request().unwrap_err(), AuthValuesError::MissingToken);
        token.set_token(&[9; 40]).unwrap();
        let request = token.to_request().unwrap();
        assert_eq!(request.op_code, op_code::AUTHENTICATE_ONCE);
        assert_eq!(AuthValues::from_request(&request).unwrap().token(), &[9; 40]);
    }

    #[test]
    fn a_server_refuses_an_oversized_token_it_did_not_build() {
        let mut params = Params::new();
        params.insert(PARAM_AUTH_TYPE, 0u8);
        params.insert(PARAM_CONNECTION_TOKEN, vec![1u8; 129]);
        let request = OperationRequest { op_code: op_code::AUTHENTICATE, params };
        assert_eq!(
            AuthValues::from_request(&request).unwrap_err(),
            AuthValuesError::ConnectionTokenTooLong { size: 129 }
        );
    }

    #[test]
    fn debug_output_never_shows_credentials() {
        let mut values = AuthValues::new(AuthType::Custom);
        values.set_connection_token(b"SECRETSESSION").unwrap();
        values.set_token(b"SEALEDTOKEN").unwrap();
        let shown = format!("{values:?} {:?}", ServerToken { bytes: b"SEALEDTOKEN".to_vec(), expires_at_ms: 1 });
        assert!(!shown.contains("SECRET") && !shown.contains("SEALED"), "{shown}");
    }
}
