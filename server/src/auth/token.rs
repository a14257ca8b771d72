//! Server tokens (docs/auth.md §5): a player's auth context sealed under a key every server of a
//! deployment shares, so another server admits the player without asking the backend again.
//!
//! A token is opaque to clients. Opening one does the same work whichever check fails (an unknown key
//! id still decrypts under a dummy key) and every failure is the same [`InvalidToken`], so neither
//! timing nor message tells a forger how far it got.

use aes_gcm::aead::{AeadInOut, Tag};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use sealnet::auth::MAX_SERVER_TOKEN;
use sealnet::protocol::codec::{decode_params, encode_params, Key, Limits, Params, Table, Value, DEFAULT_LIMITS};
use zeroize::Zeroizing;

use super::{AuthContext, AuthValue};

const FORMAT: u8 = 1;
const HEADER_LEN: usize = 5;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Tokens issued up to this far in the future (a server whose clock runs ahead) are still taken.
const CLOCK_SKEW_MS: i64 = 60_000;

const USER_ID: u8 = 1;
const NICKNAME: u8 = 2;
const DATA: u8 = 3;
const APP_ID: u8 = 4;
const APP_VERSION: u8 = 5;
const ISSUED: u8 = 6;
const EXPIRES: u8 = 7;
const INJECTED: u8 = 8;
const ANONYMOUS: u8 = 9;
const AUTHENTICATED: u8 = 10;
const AUTH_ONCE_SECRET: u8 = 11;

/// The per-client secret an AuthOnce authentication gave (docs/auth.md §5.6): the key exchange of the
/// client's later connections mixes it in. Wiped on drop; never printed.
#[derive(Clone)]
pub struct AuthOnceSecret(Zeroizing<[u8; 32]>);

impl PartialEq for AuthOnceSecret {
    /// In constant time, though only tests compare secrets.
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl AuthOnceSecret {
    /// A fresh secret from the system random source (`None` when it fails).
    pub fn generate() -> Option<Self> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut secret[..]).ok()?;
        Some(AuthOnceSecret(secret))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for AuthOnceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthOnceSecret(hidden)")
    }
}

/// What a token says about its player.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClaims {
    pub context: AuthContext,
    pub app_id: String,
    pub app_version: String,
    /// Milliseconds since the Unix epoch.
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// Data servers and plugins put in the token to share between servers through the client.
    pub injected: Table,
    /// The player authenticated anonymously (servers that refuse anonymous players refuse the token).
    pub anonymous: bool,
    /// When the player last authenticated with the backend (or anonymously), ms since the Unix epoch:
    /// refreshed tokens keep it, so a chain of refreshes cannot outlive a re-authentication.
    pub authenticated_ms: i64,
    /// The player's AuthOnce secret, when it asked for one: carried into every refreshed token.
    pub auth_once: Option<AuthOnceSecret>,
}

/// The one answer to any token that is not valid here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken;

impl std::fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server token is not valid here or has expired; authenticate again")
    }
}

/// Why no token was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenNotIssued {
    /// The claims would make a token over [`MAX_SERVER_TOKEN`] bytes (injected data, usually).
    TooLarge { size: usize },
    /// The system random source failed (for the nonce or the key).
    Random,
}

impl std::fmt::Display for TokenNotIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenNotIssued::TooLarge { size } => {
                write!(f, "the server token would be {size} bytes; the limit is {MAX_SERVER_TOKEN} bytes")
            }
            TokenNotIssued::Random => f.write_str("the system random source failed; no token was sealed"),
        }
    }
}

/// The token keys of a deployment: the first seals, all open.
pub struct TokenKeys {
    keys: Vec<(u32, Aes256Gcm)>,
    /// False when the key could not be made from the random source: nothing is sealed or opened.
    usable: bool,
    /// Decrypts tokens under unknown key ids, so they cost what known ones do.
    dummy: Aes256Gcm,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("TokenKeys").field("ids", &ids).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// `keys` in order of preference: the first seals new tokens. Panics on an empty list (the
    /// configuration always has a key).
    pub fn new(keys: Vec<(u32, Zeroizing<[u8; 32]>)>) -> Self {
        assert!(!keys.is_empty(), "at least one token key");
        let keys = keys.into_iter().map(|(id, key)| (id, Aes256Gcm::new((&*key).into()))).collect();
        let mut dummy = Zeroizing::new([0u8; 32]);
        // A failing random source leaves a zero dummy key, which still does the same work.
        let _ = getrandom::fill(&mut dummy[..]);
        TokenKeys { keys, usable: true, dummy: Aes256Gcm::new((&*dummy).into()) }
    }

    /// A random key under id 0, for a server that shares tokens with no other.
    pub fn ephemeral() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // A zero key would make tokens forgeable: without randomness this server issues none.
        let random = getrandom::fill(&mut key[..]).is_ok();
        let mut keys = TokenKeys::new(vec![(0, key)]);
        keys.usable = random;
        keys
    }

    /// The id new tokens are sealed under.
    pub fn current_id(&self) -> u32 {
        self.keys[0].0
    }

    /// Seals `claims` under the current key.
    pub fn seal(&self, claims: &TokenClaims) -> Result<Vec<u8>, TokenNotIssued> {
        let mut payload = Zeroizing::new(Vec::new());
        encode_params(&claims_to_params(claims), &mut payload);
        let size = HEADER_LEN + NONCE_LEN + payload.len() + TAG_LEN;
        if size > MAX_SERVER_TOKEN {
            return Err(TokenNotIssued::TooLarge { size });
        }
        if !self.usable {
            return Err(TokenNotIssued::Random);
        }
        let (id, cipher) = &self.keys[0];
        let mut token = Vec::with_capacity(size);
        token.push(FORMAT);
        token.extend_from_slice(&id.to_be_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        // A repeated nonce under one key would be fatal; a token we cannot seal safely is not issued.
        getrandom::fill(&mut nonce).map_err(|_| TokenNotIssued::Random)?;
        token.extend_from_slice(&nonce);
        let start = token.len();
        token.extend_from_slice(&payload);
        let (header, rest) = token.split_at_mut(HEADER_LEN);
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(nonce), header, (&mut rest[NONCE_LEN..]).into())
            .expect("a token is far below AES-GCM's length limit");
        debug_assert_eq!(start, HEADER_LEN + NONCE_LEN);
        token.extend_from_slice(&tag);
        Ok(token)
    }

    /// Opens a token presented by a client of `app_id` at `now_ms`.
    pub fn open(&self, token: &[u8], app_id: &str, now_ms: i64) -> Result<TokenClaims, InvalidToken> {
        // The length is public (the client sent it): refusing short or long tokens early tells nothing.
        if token.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || token.len() > MAX_SERVER_TOKEN {
            return Err(InvalidToken);
        }
        let id = u32::from_be_bytes(token[1..HEADER_LEN].try_into().expect("four bytes"));
        let known = self.keys.iter().find(|(key_id, _)| *key_id == id).map(|(_, cipher)| cipher);
        let cipher = known.unwrap_or(&self.dummy);
        let (header, rest) = token.split_at(HEADER_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut payload = Zeroizing::new(ciphertext.to_vec());
        let tag = Tag::<Aes256Gcm>::try_from(tag).map_err(|_| InvalidToken)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("twelve bytes");
        let opened =
            cipher.decrypt_inout_detached(&Nonce::from(nonce), header, payload.as_mut_slice().into(), &tag).is_ok();
        let authentic = opened & known.is_some() & (header[0] == FORMAT) & self.usable;
        if !authentic {
            return Err(InvalidToken);
        }
        // Only our own servers could have sealed this payload, so its decoding and checks need not
        // be constant-time.
        let claims = decode_params(&payload, &payload_limits()).ok().and_then(|params| params_to_claims(&params));
        match claims {
            Some(claims)
                if claims.app_id == app_id
                    && claims.issued_ms <= now_ms.saturating_add(CLOCK_SKEW_MS)
                    && now_ms < claims.expires_ms =>
            {
                Ok(claims)
            }
            _ => Err(InvalidToken),
        }
    }
}

fn payload_limits() -> Limits {
    Limits { max_decoded_bytes: 64 * 1024, protocol_version: 2, ..DEFAULT_LIMITS }
}

fn claims_to_params(claims: &TokenClaims) -> Params {
    let mut params = Params::new();
    params.insert(USER_ID, claims.context.user_id.clone());
    params.insert(NICKNAME, claims.context.nickname.clone());
    params.insert(DATA, Value::Table(data_to_table(&claims.context.data)));
    params.insert(APP_ID, claims.app_id.clone());
    params.insert(APP_VERSION, claims.app_version.clone());
    params.insert(ISSUED, claims.issued_ms);
    params.insert(EXPIRES, claims.expires_ms);
    params.insert(INJECTED, Value::Table(claims.injected.clone()));
    params.insert(ANONYMOUS, claims.anonymous);
    params.insert(AUTHENTICATED, claims.authenticated_ms);
    if let Some(secret) = &claims.auth_once {
        params.insert(AUTH_ONCE_SECRET, secret.bytes().to_vec());
    }
    params
}

fn params_to_claims(params: &Params) -> Option<TokenClaims> {
    let string = |key| match params.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        _ => None,
    };
    let long = |key| match params.get(key) {
        Some(Value::Long(value)) => Some(*value),
        _ => None,
    };
    let table = |key| match params.get(key) {
        Some(Value::Table(table)) => Some(table.clone()),
        _ => None,
    };
    Some(TokenClaims {
        context: AuthContext {
            user_id: string(USER_ID)?,
            nickname: string(NICKNAME)?,
            data: table_to_data(&table(DATA)?)?,
        },
        app_id: string(APP_ID)?,
        app_version: string(APP_VERSION)?,
        issued_ms: long(ISSUED)?,
        expires_ms: long(EXPIRES)?,
        injected: table(INJECTED)?,
        anonymous: match params.get(ANONYMOUS) {
            Some(Value::Bool(anonymous)) => *anonymous,
            _ => return None,
        },
        authenticated_ms: long(AUTHENTICATED)?,
        auth_once: match params.get(AUTH_ONCE_SECRET) {
            None => None,
            Some(Value::Bytes(bytes)) => Some(AuthOnceSecret(Zeroizing::new(bytes.as_slice().try_into().ok()?))),
            Some(_) => return None,
        },
    })
}

/// The backend's data as a table, the form clients and plugins read it in.
pub fn data_to_table(data: &[(String, AuthValue)]) -> Table {
    data.iter().map(|(key, value)| (Key::from(key.as_str()), auth_value_to_value(value))).collect()
}

fn auth_value_to_value(value: &AuthValue) -> Value {
    match value {
        AuthValue::String(text) => Value::String(text.clone()),
        AuthValue::Int(number) => Value::Long(*number),
        AuthValue::Double(number) => Value::Double(*number),
        AuthValue::Bool(flag) => Value::Bool(*flag),
    }
}

fn table_to_data(table: &Table) -> Option<Vec<(String, AuthValue)>> {
    table
        .iter()
        .map(|(key, value)| {
            let Key::String(key) = key else { return None };
            let value = match value {
                Value::String(text) => AuthValue::String(text.clone()),
                Value::Long(number) => AuthValue::Int(*number),
                Value::Double(number) => AuthValue::Double(*number),
                Value::Bool(flag) => AuthValue::Bool(*flag),
                _ => return None,
            };
            Some((key.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn keys(ids: &[(u32, u8)]) -> TokenKeys {
        TokenKeys::new(ids.iter().map(|&(id, byte)| (id, Zeroizing::new([byte; 32]))).collect())
    }

    fn claims() -> TokenClaims {
        let mut injected = Table::new();
        injected.insert("matchmaking_rating", 1500i32);
        TokenClaims {
            context: AuthContext {
                user_id: "u-1".into(),
                nickname: "Ada".into(),
                data: vec![
                    ("level".into(), AuthValue::Int(7)),
                    ("region".into(), AuthValue::String("eu".into())),
                    ("vip".into(), AuthValue::Bool(true)),
                    ("ratio".into(), AuthValue::Double(0.5)),
                ],
            },
            app_id: "demo".into(),
            app_version: "1.0".into(),
            issued_ms: NOW,
            expires_ms: NOW + 3_600_000,
            injected,
            anonymous: false,
            authenticated_ms: NOW - 60_000,
            auth_once: None,
        }
    }

    fn sorted(mut claims: TokenClaims) -> TokenClaims {
        claims.context.data.sort_by(|a, b| a.0.cmp(&b.0));
        claims
    }

    #[test]
    fn a_sealed_token_opens_to_its_claims_and_hides_them() {
        let keys = keys(&[(1, 7)]);
        let token = keys.seal(&claims()).unwrap();
        assert_eq!(token[0], FORMAT);
        assert_eq!(&token[1..5], &1u32.to_be_bytes());
        assert!(!token.windows(3).any(|w| w == b"Ada"), "the payload is encrypted");
        assert_eq!(sorted(keys.open(&token, "demo", NOW + 1).unwrap()), sorted(claims()));
        assert_ne!(keys.seal(&claims()).unwrap(), token, "a fresh nonce per token");
    }

    #[test]
    fn every_bad_token_gets_the_same_refusal() {
        let keys = keys(&[(1, 7)]);
        let token = keys.seal(&claims()).unwrap();
        for index in [0, 1, 4, 5, 16, 17, token.len() / 2, token.len() - 1] {
            let mut altered = token.clone();
            altered[index] ^= 1;
            assert_eq!(keys.open(&altered, "demo", NOW), Err(InvalidToken), "byte {index} altered");
        }
        assert_eq!(keys.open(&token, "other-app", NOW), Err(InvalidToken), "wrong app");
        assert_eq!(keys.open(&token, "demo", NOW + 3_600_000), Err(InvalidToken), "expired");
        assert_eq!(keys.open(&token, "demo", NOW - 120_000), Err(InvalidToken), "issued in the future");
        assert_eq!(keys.open(&token[..20], "demo", NOW), Err(InvalidToken), "truncated");
        assert_eq!(keys.open(&[], "demo", NOW), Err(InvalidToken), "empty");
        let forged = self::keys(&[(1, 8)]).seal(&claims()).unwrap();
        assert_eq!(keys.open(&forged, "demo", NOW), Err(InvalidToken), "another key under our id");
        let unknown = self::keys(&[(9, 7)]).seal(&claims()).unwrap();
        assert_eq!(keys.open(&unknown, "demo", NOW), Err(InvalidToken), "unknown key id");
    }

    #[test]
    fn rotation_seals_under_the_new_key_and_still_opens_the_old() {
        let old = keys(&[(1, 7)]);
        let old_token = old.seal(&claims()).unwrap();
        let rotated = keys(&[(2, 9), (1, 7)]);
        assert_eq!(rotated.current_id(), 2);
        let new_token = rotated.seal(&claims()).unwrap();
        assert_eq!(&new_token[1..5], &2u32.to_be_bytes());
        assert!(rotated.open(&old_token, "demo", NOW).is_ok(), "old key during the grace period");
        assert!(rotated.open(&new_token, "demo", NOW).is_ok());
        assert_eq!(old.open(&new_token, "demo", NOW), Err(InvalidToken), "a server without the new key");
        let retired = keys(&[(2, 9)]);
        assert_eq!(retired.open(&old_token, "demo", NOW), Err(InvalidToken), "old key removed");
    }

    #[test]
    fn too_much_injected_data_is_refused_when_sealing() {
        let mut claims = claims();
        claims.injected.insert("blob", vec![0u8; MAX_SERVER_TOKEN]);
        let error = keys(&[(1, 7)]).seal(&claims).unwrap_err();
        assert!(matches!(error, TokenNotIssued::TooLarge { size } if size > MAX_SERVER_TOKEN), "{error}");
    }

    #[test]
    fn an_auth_once_secret_is_sealed_inside_and_never_shown() {
        let keys = keys(&[(1, 7)]);
        let secret = AuthOnceSecret(Zeroizing::new([0x5e; 32]));
        let claims = TokenClaims { auth_once: Some(secret.clone()), ..claims() };
        let token = keys.seal(&claims).unwrap();
        assert!(!token.windows(4).any(|w| w == [0x5e; 4]), "the secret is encrypted");
        assert_eq!(keys.open(&token, "demo", NOW).unwrap().auth_once, Some(secret));
        let shown = format!("{claims:?}");
        assert!(
            shown.contains("AuthOnceSecret(hidden)") && !shown.contains("94, 94"),
            "Debug hides the secret: {shown}"
        );
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let shown = format!("{:?}", keys(&[(3, 7)]));
        assert!(shown.contains('3') && !shown.contains("07"), "{shown}");
    }
}
