//! Session settings.

use std::time::Duration;

use std::time::Instant;

use zeroize::Zeroizing;

use crate::protocol::codec::Limits;
use crate::protocol::datagram::DatagramConfig;
use crate::protocol::frame::{DEFAULT_MAX_BODY, LATEST_VERSION, PROTOCOL_VERSION};
use crate::protocol::message::Versions;
use crate::protocol::sealing::DEFAULT_KEY_USAGE_LIMIT;
use crate::protocol::status::op_code;

/// A set of operation codes (one bit per code).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct OpCodeSet([u64; 4]);

impl OpCodeSet {
    pub const fn empty() -> Self {
        OpCodeSet([0; 4])
    }

    pub const fn with(mut self, code: u8) -> Self {
        self.0[(code / 64) as usize] |= 1 << (code % 64);
        self
    }

    pub fn insert(&mut self, code: u8) {
        *self = self.with(code);
    }

    pub fn contains(&self, code: u8) -> bool {
        self.0[(code / 64) as usize] & (1 << (code % 64)) != 0
    }
}

impl std::fmt::Debug for OpCodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries((0..=255u8).filter(|c| self.contains(*c))).finish()
    }
}

/// Operations that must always travel encrypted: authentication values, as in Photon.
pub const DEFAULT_MUST_ENCRYPT: OpCodeSet =
    OpCodeSet::empty().with(op_code::AUTHENTICATE).with(op_code::AUTHENTICATE_ONCE);

/// Default bound on the body of a frame sent or received before the transport keys exist. The
/// key-exchange messages need a few hundred bytes; anything larger before the keys is refused, so a
/// peer that has proven nothing cannot make the other side buffer much.
pub const DEFAULT_MAX_CLEAR_BODY: u32 = 4096;

/// Longest any timer of a session may be set to. Larger settings are clamped, so no deadline can
/// overflow the clock.
pub const MAX_TIMER: Duration = Duration::from_secs(24 * 60 * 60);

/// What carries the session's frames.
#[derive(Debug, Clone, Default)]
pub enum Transport {
    /// A byte stream (TCP): frames back to back, in order, never lost.
    #[default]
    Stream,
    /// Datagrams (UDP, protocol version 3): the session's link acknowledges, orders and retransmits
    /// by delivery mode, and the driver uses `receive_datagram` and `poll_datagram`.
    Datagram(DatagramConfig),
    /// Messages on a channel that TLS already protects (WSS, protocol version 4): one frame per
    /// message, no key exchange and no per-frame AEAD. The driver hands each message to
    /// `receive_message` and sends each frame of the output (cut by `frame::frames`) as a message.
    Secure,
}

/// What a client keeps from an authentication that gave it a secret (AuthOnce): the server token,
/// which names the secret to the server, and the secret itself, which the key exchange mixes in.
#[derive(Clone)]
pub struct AuthOnceCredentials {
    token: Vec<u8>,
    secret: Zeroizing<[u8; 32]>,
}

impl AuthOnceCredentials {
    /// Copies `secret`; the caller wipes its own copy.
    pub fn new(token: Vec<u8>, secret: &[u8; 32]) -> Self {
        AuthOnceCredentials { token, secret: Zeroizing::new(*secret) }
    }

    pub fn token(&self) -> &[u8] {
        &self.token
    }

    /// The same secret with a fresh token (servers seal the secret into every token they refresh).
    pub fn with_token(&self, token: Vec<u8>) -> Self {
        AuthOnceCredentials { token, secret: self.secret.clone() }
    }

    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }
}

impl std::fmt::Debug for AuthOnceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthOnceCredentials").field("token_len", &self.token.len()).finish_non_exhaustive()
    }
}

/// Settings of one session. The defaults follow Photon's (10 s disconnect timeout, 1 s ping).
#[derive(Clone)]
pub struct SessionConfig {
    /// With no frame received for this long, the connection is considered lost.
    pub disconnect_timeout: Duration,
    /// Client: ConnectAck must arrive this long after Connect was sent. Server: a Connect must
    /// arrive, and be answered, this long after the transport was accepted.
    pub connect_timeout: Duration,
    /// How often a client pings while connected.
    pub ping_interval: Duration,
    /// Client: run the key exchange as soon as the connection is accepted.
    pub auto_key_exchange: bool,
    /// Client: the server static key that must be presented in the key exchange.
    pub server_key_pin: Option<[u8; 32]>,
    /// Operations refused without encryption, by sender and receiver.
    pub must_encrypt: OpCodeSet,
    /// Bounds of the parameter decoder.
    pub limits: Limits,
    /// Largest frame body accepted or sent (tag included).
    pub max_frame_body: u32,
    /// Largest frame body accepted or sent before the transport keys exist in that direction.
    pub max_clear_body: u32,
    /// AES blocks one transport key may process before the session ends (see
    /// [`DEFAULT_KEY_USAGE_LIMIT`]). Lowering it only serves tests of the limit.
    pub key_usage_limit: u64,
    /// Server: report each HandshakeInit as [`SessionEvent::KeyExchangeRequest`] and wait for
    /// [`Session::admit_key_exchange`] before doing its DH work, so the driver can rate-limit it.
    ///
    /// [`SessionEvent::KeyExchangeRequest`]: super::SessionEvent::KeyExchangeRequest
    /// [`Session::admit_key_exchange`]: super::Session::admit_key_exchange
    pub gate_key_exchange: bool,
    /// The protocol versions this end speaks. A client offers them in Connect (one that speaks only
    /// version 1 sends a version-1 Connect); a server chooses the highest it shares with the client.
    pub versions: Versions,
    /// Server: the start of the clock its pongs report (version 2), shared by every session of the
    /// server so clients see one server time. `None`: the session's own start.
    pub server_epoch: Option<Instant>,
    /// First send counter that may not be used. Lowering it only serves tests of the limit.
    pub counter_limit: u64,
    /// Bytes of unsent output above which sends are refused instead of buffered.
    pub max_pending_output: usize,
    /// Client: frames queued while the key exchange runs.
    pub max_queued_during_key_exchange: usize,
    /// Stream (TCP), datagram (UDP) or secure message (WSS) framing.
    pub transport: Transport,
    /// Client: run the key exchange bound to these credentials (`Noise_NXpsk2`), which authenticates
    /// the client as the token says once it completes. Not for the secure transport, which has no
    /// key exchange.
    pub auth_once: Option<AuthOnceCredentials>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            disconnect_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(1),
            auto_key_exchange: true,
            server_key_pin: None,
            must_encrypt: DEFAULT_MUST_ENCRYPT,
            limits: Limits::default(),
            max_frame_body: DEFAULT_MAX_BODY,
            max_clear_body: DEFAULT_MAX_CLEAR_BODY,
            key_usage_limit: DEFAULT_KEY_USAGE_LIMIT,
            gate_key_exchange: false,
            versions: Versions { min: PROTOCOL_VERSION, max: LATEST_VERSION },
            server_epoch: None,
            counter_limit: u64::MAX,
            max_pending_output: 8 * 1024 * 1024,
            max_queued_during_key_exchange: 1024,
            transport: Transport::Stream,
            auth_once: None,
        }
    }
}

impl SessionConfig {
    /// The same settings with every timer clamped to [`MAX_TIMER`].
    pub(crate) fn clamped(mut self) -> Self {
        for timer in [&mut self.disconnect_timeout, &mut self.connect_timeout, &mut self.ping_interval] {
            *timer = (*timer).min(MAX_TIMER);
        }
        self
    }

    /// The largest frame body allowed in a direction with (`keys`) or without transport keys.
    pub fn max_body(&self, keys: bool) -> u32 {
        if keys {
            self.max_frame_body
        } else {
            self.max_clear_body.min(self.max_frame_body)
        }
    }
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("disconnect_timeout", &self.disconnect_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("auto_key_exchange", &self.auto_key_exchange)
            .field("server_key_pinned", &self.server_key_pin.is_some())
            .field("must_encrypt", &self.must_encrypt)
            .field("max_frame_body", &self.max_frame_body)
            .field("max_clear_body", &self.max_clear_body)
            .field("versions", &self.versions)
            .field("transport", &self.transport)
            .field("auth_once", &self.auth_once)
            .finish_non_exhaustive()
    }
}
