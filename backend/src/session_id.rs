//! Session ids: 16 random bytes, shown to games as 22 characters of base64url without padding.
//!
//! A session id is a bearer credential for its lifetime, so its `Debug` form and [`SessionId::short`]
//! show only a prefix, which is what goes into logs and the admin listing.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The size of a session id, and so the prefix of a connection token this backend reads.
pub const SESSION_ID_LEN: usize = 16;

/// The length of a session id's encoded form.
pub const ENCODED_LEN: usize = 22;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// A fresh id from the operating system's random source (128 bits: unguessable, never reused).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; SESSION_ID_LEN];
        getrandom::fill(&mut bytes)?;
        Ok(SessionId(bytes))
    }

    pub fn from_bytes(bytes: [u8; SESSION_ID_LEN]) -> Self {
        SessionId(bytes)
    }

    /// The session id a connection token starts with; `None` for a token shorter than an id. The bytes
    /// after it are the game's own (flags, a lobby code, a nonce) and are not looked at.
    pub fn from_token(token: &[u8]) -> Option<Self> {
        token.get(..SESSION_ID_LEN)?.try_into().ok().map(SessionId)
    }

    pub fn as_bytes(&self) -> &[u8; SESSION_ID_LEN] {
        &self.0
    }

    /// The 22-character form games receive.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses the 22-character form; anything else (padding, standard base64's `+` and `/`) is `None`.
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() != ENCODED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        bytes.try_into().ok().map(SessionId)
    }

    /// The first six characters of the encoded form: enough to tell sessions apart in a log or a
    /// listing, far too few to use one.
    pub fn short(&self) -> String {
        let mut text = self.encode();
        text.truncate(6);
        text
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_form_is_22_url_safe_characters() {
        let id = SessionId::from_bytes([0xfb; SESSION_ID_LEN]);
        let text = id.encode();
        assert_eq!(text.len(), ENCODED_LEN);
        assert!(text.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(SessionId::decode(&text), Some(id));
        assert_eq!(SessionId::decode(&format!("{text}==")), None);
        assert_eq!(SessionId::decode(&text.replace('-', "+")), None);
    }

    #[test]
    fn token_prefix_is_the_id_and_the_rest_is_ignored() {
        let mut token = vec![7u8; SESSION_ID_LEN];
        assert_eq!(SessionId::from_token(&token), Some(SessionId::from_bytes([7; SESSION_ID_LEN])));
        token.extend_from_slice(b"mode=ranked;lobby=X1");
        assert_eq!(SessionId::from_token(&token), Some(SessionId::from_bytes([7; SESSION_ID_LEN])));
        assert_eq!(SessionId::from_token(&token[..SESSION_ID_LEN - 1]), None);
        assert_eq!(SessionId::from_token(b""), None);
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SessionId::generate().unwrap();
        assert!(!format!("{id:?}").contains(&id.encode()));
    }
}
