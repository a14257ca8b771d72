//! The `Noise_NX_25519_AESGCM_SHA256` handshake (Noise revision 34), sans-IO, and its pre-shared-key
//! variant `Noise_NXpsk2_25519_AESGCM_SHA256` for AuthOnce (docs/protocol.md section 16).
//!
//! ```text
//! NX:                    NXpsk2:
//!   -> e                   -> e
//!   <- e, ee, s, es        <- e, ee, s, es, psk
//! ```
//! The initiator (client) learns and authenticates the responder's static key; the responder (server)
//! learns nothing static about the client. In NXpsk2 both also mix in a 32-byte secret at the end of the
//! second message, so the transport keys need the secret as well as both ephemeral keys: forward
//! secret, and bound to the secret. DH is X25519 from x25519-dalek; every DH output is checked for the
//! all-zero value a low-order point produces, and such a handshake is refused.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use super::aead::Cipher;
use super::frame::TAG_LEN;

/// The exact protocol name; it is hashed into the initial state, so both sides must agree byte for byte.
pub const PROTOCOL_NAME: &[u8] = b"Noise_NX_25519_AESGCM_SHA256";
/// The protocol name of the variant bound to a pre-shared secret (exactly 32 bytes, the hash length).
pub const PSK_PROTOCOL_NAME: &[u8] = b"Noise_NXpsk2_25519_AESGCM_SHA256";
/// Length of the pre-shared secret.
pub const PSK_LEN: usize = 32;
/// X25519 public key length.
pub const DH_LEN: usize = 32;
/// Largest handshake payload either side accepts.
pub const MAX_PAYLOAD: usize = 256;
/// Largest first message: `e` plus a clear payload.
pub const MAX_INIT_LEN: usize = DH_LEN + MAX_PAYLOAD;
/// Largest payload of an NXpsk2 first message: the version byte and a server token.
pub const MAX_PSK_INIT_PAYLOAD: usize = 1 + crate::auth::MAX_SERVER_TOKEN;
/// Largest NXpsk2 first message: `e` plus the payload, encrypted under a key derived from `e`.
pub const MAX_PSK_INIT_LEN: usize = DH_LEN + MAX_PSK_INIT_PAYLOAD + TAG_LEN;
/// Largest second message: `e`, encrypted `s`, encrypted payload.
pub const MAX_REPLY_LEN: usize = DH_LEN + DH_LEN + TAG_LEN + MAX_PAYLOAD + TAG_LEN;

/// Why a handshake failed. Carries no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoiseError {
    /// The message is shorter than its fixed parts or longer than the limit.
    BadLength,
    /// A DH produced the all-zero output: the peer sent a low-order point.
    LowOrderPoint,
    /// A tag in the handshake did not verify.
    Decrypt,
    /// The server's static key differs from the pinned key.
    PinMismatch,
    /// The operating system's random source failed.
    Random,
}

impl std::fmt::Display for NoiseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoiseError::BadLength => "handshake message has an invalid length",
            NoiseError::LowOrderPoint => "handshake refused a low-order public key",
            NoiseError::Decrypt => "handshake message failed authentication",
            NoiseError::PinMismatch => "server static key does not match the pinned key",
            NoiseError::Random => "random number generator failed",
        })
    }
}

impl std::error::Error for NoiseError {}

/// An X25519 key pair. The secret is wiped on drop and never printed.
pub struct Keypair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl Keypair {
    pub fn generate() -> Result<Self, NoiseError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        #[cfg(test)]
        if testing::RANDOM_FAILS.get() {
            return Err(NoiseError::Random);
        }
        getrandom::fill(bytes.as_mut()).map_err(|_| NoiseError::Random)?;
        Ok(Self::from_secret_bytes(*bytes))
    }

    pub fn from_secret_bytes(mut bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        bytes.zeroize();
        let public = PublicKey::from(&secret).to_bytes();
        Keypair { secret, public }
    }

    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// The secret scalar, for persisting a server key file. Wrapped so the copy is wiped too.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    fn dh(&self, their_public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, NoiseError> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*their_public));
        if !shared.was_contributory() {
            return Err(NoiseError::LowOrderPoint);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keypair").field("public", &hex(&self.public)).finish_non_exhaustive()
    }
}

/// Lower-case hex, for public keys and hashes only.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The two transport keys produced by Split(). Wiped on drop; never printed.
pub struct SplitKeys {
    pub send: Zeroizing<[u8; 32]>,
    pub receive: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SplitKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SplitKeys(hidden)")
    }
}

/// What a completed handshake yields.
#[derive(Debug)]
pub struct Completed {
    pub keys: SplitKeys,
    /// The handshake hash `h`: a public transcript digest both sides share (for channel binding).
    pub handshake_hash: [u8; 32],
    /// The server's static key (initiator side only).
    pub remote_static: Option<[u8; 32]>,
    /// The peer's handshake payload.
    pub remote_payload: Vec<u8>,
}

/// Which handshake pattern runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Nx,
    NxPsk2,
}

impl Pattern {
    fn name(self) -> &'static [u8] {
        match self {
            Pattern::Nx => PROTOCOL_NAME,
            Pattern::NxPsk2 => PSK_PROTOCOL_NAME,
        }
    }
}

/// A pre-shared secret; wiped on drop and never printed.
pub type Psk = Zeroizing<[u8; PSK_LEN]>;

/// Noise's SymmetricState with its embedded CipherState.
struct SymmetricState {
    chaining_key: Zeroizing<[u8; 32]>,
    hash: [u8; 32],
    cipher: Option<Cipher>,
    nonce: u64,
}

impl SymmetricState {
    fn initialize(pattern: Pattern, prologue: &[u8]) -> Self {
        // Both names are at most 32 bytes, the hash length, so they are zero-padded rather than hashed.
        let name = pattern.name();
        let mut hash = [0u8; 32];
        hash[..name.len()].copy_from_slice(name);
        let mut state = SymmetricState { chaining_key: Zeroizing::new(hash), hash, cipher: None, nonce: 0 };
        state.mix_hash(prologue);
        state
    }

    fn mix_hash(&mut self, data: &[u8]) {
        let mut hasher = Sha256::new();
        hasher.update(self.hash);
        hasher.update(data);
        self.hash = hasher.finalize().into();
    }

    /// Noise's HKDF(ck, ikm, 2) is exactly HKDF-SHA256 with salt = ck, empty info, 64 bytes out.
    fn hkdf2(&self, input_key_material: &[u8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        let mut output = Zeroizing::new([0u8; 64]);
        Hkdf::<Sha256>::new(Some(self.chaining_key.as_ref()), input_key_material)
            .expand(&[], output.as_mut())
            .expect("64 bytes is within HKDF-SHA256's output limit");
        let mut first = Zeroizing::new([0u8; 32]);
        let mut second = Zeroizing::new([0u8; 32]);
        first.copy_from_slice(&output[..32]);
        second.copy_from_slice(&output[32..]);
        (first, second)
    }

    /// MixKeyAndHash (the `psk` token): HKDF(ck, ikm, 3) is HKDF-SHA256 with 96 bytes out.
    fn mix_key_and_hash(&mut self, input_key_material: &[u8]) {
        let mut output = Zeroizing::new([0u8; 96]);
        Hkdf::<Sha256>::new(Some(self.chaining_key.as_ref()), input_key_material)
            .expand(&[], output.as_mut())
            .expect("96 bytes is within HKDF-SHA256's output limit");
        self.chaining_key.copy_from_slice(&output[..32]);
        let hash_input: [u8; 32] = output[32..64].try_into().expect("32 bytes");
        self.mix_hash(&hash_input);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&output[64..]);
        self.cipher = Some(Cipher::new(&key));
        self.nonce = 0;
    }

    fn mix_key(&mut self, input_key_material: &[u8]) {
        let (chaining_key, key) = self.hkdf2(input_key_material);
        self.chaining_key = chaining_key;
        self.cipher = Some(Cipher::new(&key));
        self.nonce = 0;
    }

    fn encrypt_and_hash(&mut self, plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        match &self.cipher {
            Some(cipher) => {
                cipher.seal_append(self.nonce, &self.hash, plaintext, out);
                self.nonce += 1;
            }
            None => out.extend_from_slice(plaintext),
        }
        let written = out[start..].to_vec();
        self.mix_hash(&written);
    }

    fn decrypt_and_hash(&mut self, data: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let plaintext = match &self.cipher {
            Some(cipher) => {
                let plaintext = cipher.open_to_vec(self.nonce, &self.hash, data).map_err(|_| NoiseError::Decrypt)?;
                self.nonce += 1;
                plaintext
            }
            None => data.to_vec(),
        };
        self.mix_hash(data);
        Ok(plaintext)
    }

    /// Split(): the first key encrypts initiator→responder, the second responder→initiator.
    fn split(self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>, [u8; 32]) {
        let (initiator_to_responder, responder_to_initiator) = self.hkdf2(&[]);
        (initiator_to_responder, responder_to_initiator, self.hash)
    }
}

/// The client side after it has written `-> e`.
pub struct Initiator {
    state: SymmetricState,
    ephemeral: Keypair,
    /// NXpsk2: the secret mixed in at the end of the reply.
    psk: Option<Psk>,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Initiator(awaiting reply)")
    }
}

impl Initiator {
    /// Writes the first handshake message (`e` and a clear payload) to `out`.
    pub fn start(prologue: &[u8], payload: &[u8], out: &mut Vec<u8>) -> Result<Self, NoiseError> {
        Self::start_with_ephemeral(Keypair::generate()?, prologue, payload, out)
    }

    /// As [`start`](Self::start) with a caller-chosen ephemeral key (tests and test vectors).
    pub fn start_with_ephemeral(
        ephemeral: Keypair,
        prologue: &[u8],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Self, NoiseError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(NoiseError::BadLength);
        }
        let mut state = SymmetricState::initialize(Pattern::Nx, prologue);
        out.extend_from_slice(ephemeral.public());
        state.mix_hash(ephemeral.public());
        state.encrypt_and_hash(payload, out);
        Ok(Initiator { state, ephemeral, psk: None })
    }

    /// Writes the first NXpsk2 message (`e` and a payload, encrypted under a key derived from `e`
    /// alone, so anyone may read it) to `out`; the reply is accepted only from a server that mixed
    /// in the same `psk`.
    pub fn start_psk(
        prologue: &[u8],
        payload: &[u8],
        psk: &[u8; PSK_LEN],
        out: &mut Vec<u8>,
    ) -> Result<Self, NoiseError> {
        Self::start_psk_with_ephemeral(Keypair::generate()?, prologue, payload, psk, out)
    }

    /// As [`start_psk`](Self::start_psk) with a caller-chosen ephemeral key (tests and test vectors).
    pub fn start_psk_with_ephemeral(
        ephemeral: Keypair,
        prologue: &[u8],
        payload: &[u8],
        psk: &[u8; PSK_LEN],
        out: &mut Vec<u8>,
    ) -> Result<Self, NoiseError> {
        if payload.len() > MAX_PSK_INIT_PAYLOAD {
            return Err(NoiseError::BadLength);
        }
        let mut state = SymmetricState::initialize(Pattern::NxPsk2, prologue);
        out.extend_from_slice(ephemeral.public());
        state.mix_hash(ephemeral.public());
        // In a psk handshake every `e` is also mixed into the key.
        state.mix_key(ephemeral.public());
        state.encrypt_and_hash(payload, out);
        Ok(Initiator { state, ephemeral, psk: Some(Zeroizing::new(*psk)) })
    }

    /// The handshake is NXpsk2, bound to a secret.
    pub fn is_psk(&self) -> bool {
        self.psk.is_some()
    }

    /// Reads `<- e, ee, s, es` and completes the handshake. With `pin`, the server's static key must
    /// equal it.
    pub fn finish(mut self, message: &[u8], pin: Option<&[u8; 32]>) -> Result<Completed, NoiseError> {
        if message.len() < DH_LEN + DH_LEN + TAG_LEN + TAG_LEN || message.len() > MAX_REPLY_LEN {
            return Err(NoiseError::BadLength);
        }
        let remote_ephemeral: [u8; 32] = message[..DH_LEN].try_into().expect("32 bytes");
        self.state.mix_hash(&remote_ephemeral);
        if self.psk.is_some() {
            self.state.mix_key(&remote_ephemeral);
        }
        self.state.mix_key(self.ephemeral.dh(&remote_ephemeral)?.as_ref());
        let static_end = DH_LEN + DH_LEN + TAG_LEN;
        let remote_static: [u8; 32] =
            self.state.decrypt_and_hash(&message[DH_LEN..static_end])?.try_into().map_err(|_| NoiseError::BadLength)?;
        self.state.mix_key(self.ephemeral.dh(&remote_static)?.as_ref());
        if let Some(psk) = &self.psk {
            self.state.mix_key_and_hash(psk.as_ref());
        }
        let remote_payload = self.state.decrypt_and_hash(&message[static_end..])?;
        if let Some(pinned) = pin {
            if !constant_time_eq(pinned, &remote_static) {
                return Err(NoiseError::PinMismatch);
            }
        }
        let (send, receive, handshake_hash) = self.state.split();
        Ok(Completed {
            keys: SplitKeys { send, receive },
            handshake_hash,
            remote_static: Some(remote_static),
            remote_payload,
        })
    }
}

/// The server side: reads `-> e`, writes `<- e, ee, s, es`, and is then complete.
pub fn respond(
    static_key: &Keypair,
    prologue: &[u8],
    message: &[u8],
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<Completed, NoiseError> {
    respond_with_ephemeral(static_key, Keypair::generate()?, prologue, message, payload, out)
}

/// As [`respond`] with a caller-chosen ephemeral key (tests and test vectors).
pub fn respond_with_ephemeral(
    static_key: &Keypair,
    ephemeral: Keypair,
    prologue: &[u8],
    message: &[u8],
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<Completed, NoiseError> {
    if message.len() < DH_LEN || message.len() > MAX_INIT_LEN {
        return Err(NoiseError::BadLength);
    }
    let mut state = SymmetricState::initialize(Pattern::Nx, prologue);
    let remote_ephemeral: [u8; 32] = message[..DH_LEN].try_into().expect("32 bytes");
    state.mix_hash(&remote_ephemeral);
    let remote_payload = state.decrypt_and_hash(&message[DH_LEN..])?;
    let read = Responder { state, remote_ephemeral, remote_payload, psk: false };
    read.reply(static_key, ephemeral, None, payload, out)
}

/// The server side of NXpsk2 after reading `-> e`: the client's payload (which names the secret, as a
/// server token) is known, and the reply waits for the secret.
pub struct Responder {
    state: SymmetricState,
    remote_ephemeral: [u8; 32],
    remote_payload: Vec<u8>,
    psk: bool,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder(awaiting the secret)")
    }
}

impl Responder {
    /// Reads the first NXpsk2 message. Its payload is encrypted under a key derived from `e` alone:
    /// reading it proves nothing about the sender.
    pub fn read_psk(prologue: &[u8], message: &[u8]) -> Result<Self, NoiseError> {
        if message.len() < DH_LEN + TAG_LEN || message.len() > MAX_PSK_INIT_LEN {
            return Err(NoiseError::BadLength);
        }
        let mut state = SymmetricState::initialize(Pattern::NxPsk2, prologue);
        let remote_ephemeral: [u8; 32] = message[..DH_LEN].try_into().expect("32 bytes");
        state.mix_hash(&remote_ephemeral);
        state.mix_key(&remote_ephemeral);
        let remote_payload = state.decrypt_and_hash(&message[DH_LEN..])?;
        Ok(Responder { state, remote_ephemeral, remote_payload, psk: true })
    }

    /// The client's payload.
    pub fn remote_payload(&self) -> &[u8] {
        &self.remote_payload
    }

    /// Writes `<- e, ee, s, es, psk` with the secret and completes the handshake.
    pub fn finish_psk(
        self,
        static_key: &Keypair,
        psk: &[u8; PSK_LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Completed, NoiseError> {
        self.reply(static_key, Keypair::generate()?, Some(psk), payload, out)
    }

    /// As [`finish_psk`](Self::finish_psk) with a caller-chosen ephemeral key (tests and vectors).
    pub fn finish_psk_with_ephemeral(
        self,
        static_key: &Keypair,
        ephemeral: Keypair,
        psk: &[u8; PSK_LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Completed, NoiseError> {
        self.reply(static_key, ephemeral, Some(psk), payload, out)
    }

    fn reply(
        self,
        static_key: &Keypair,
        ephemeral: Keypair,
        psk: Option<&[u8; PSK_LEN]>,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Completed, NoiseError> {
        if payload.len() > MAX_PAYLOAD || psk.is_some() != self.psk {
            return Err(NoiseError::BadLength);
        }
        let Responder { mut state, remote_ephemeral, remote_payload, .. } = self;
        let start = out.len();
        out.extend_from_slice(ephemeral.public());
        state.mix_hash(ephemeral.public());
        if psk.is_some() {
            state.mix_key(ephemeral.public());
        }
        let result = (|| {
            state.mix_key(ephemeral.dh(&remote_ephemeral)?.as_ref());
            state.encrypt_and_hash(static_key.public(), out);
            state.mix_key(static_key.dh(&remote_ephemeral)?.as_ref());
            if let Some(psk) = psk {
                state.mix_key_and_hash(psk);
            }
            state.encrypt_and_hash(payload, out);
            Ok(())
        })();
        if let Err(error) = result {
            out.truncate(start);
            return Err(error);
        }
        let (receive, send, handshake_hash) = state.split();
        Ok(Completed { keys: SplitKeys { send, receive }, handshake_hash, remote_static: None, remote_payload })
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Failure injection for tests of what happens when the system's random source fails.
#[cfg(test)]
pub(crate) mod testing {
    thread_local! {
        pub(crate) static RANDOM_FAILS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROLOGUE: &[u8] = b"test prologue";

    fn handshake(pin: Option<&[u8; 32]>) -> (Result<Completed, NoiseError>, Completed, Keypair) {
        let server = Keypair::generate().unwrap();
        let mut first = Vec::new();
        let initiator = Initiator::start(PROLOGUE, b"hello", &mut first).unwrap();
        let mut second = Vec::new();
        let responder = respond(&server, PROLOGUE, &first, b"welcome", &mut second).unwrap();
        (initiator.finish(&second, pin), responder, server)
    }

    #[test]
    fn both_sides_derive_mirrored_keys() {
        let (client, server_side, server) = handshake(None);
        let client = client.unwrap();
        assert_eq!(*client.keys.send, *server_side.keys.receive);
        assert_eq!(*client.keys.receive, *server_side.keys.send);
        assert_ne!(*client.keys.send, *client.keys.receive);
        assert_eq!(client.handshake_hash, server_side.handshake_hash);
        assert_eq!(client.remote_static, Some(*server.public()));
        assert_eq!(client.remote_payload, b"welcome");
        assert_eq!(server_side.remote_payload, b"hello");
    }

    #[test]
    fn correct_pin_is_accepted_and_wrong_pin_refused() {
        let server = Keypair::generate().unwrap();
        let mut first = Vec::new();
        let initiator = Initiator::start(PROLOGUE, b"", &mut first).unwrap();
        let mut second = Vec::new();
        respond(&server, PROLOGUE, &first, b"", &mut second).unwrap();
        assert!(initiator.finish(&second, Some(server.public())).is_ok());

        let (client, _, _) = handshake(Some(&[7u8; 32]));
        assert_eq!(client.unwrap_err(), NoiseError::PinMismatch);
    }

    #[test]
    fn different_prologues_fail() {
        let server = Keypair::generate().unwrap();
        let mut first = Vec::new();
        let initiator = Initiator::start(b"one", b"", &mut first).unwrap();
        let mut second = Vec::new();
        respond(&server, b"two", &first, b"", &mut second).unwrap();
        assert_eq!(initiator.finish(&second, None).unwrap_err(), NoiseError::Decrypt);
    }

    /// Points of small order on Curve25519 (and their non-canonical twins): X25519 with any of them
    /// gives the all-zero output.
    pub(crate) fn low_order_points() -> Vec<[u8; 32]> {
        let mut points = vec![[0u8; 32], {
            let mut p = [0u8; 32];
            p[0] = 1;
            p
        }];
        let order8: [u8; 32] = [
            0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
            0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
        ];
        points.push(order8);
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        points.push(p_minus_1);
        points
    }

    #[test]
    fn responder_rejects_low_order_ephemeral() {
        let server = Keypair::generate().unwrap();
        for point in low_order_points() {
            let mut out = Vec::new();
            let err = respond(&server, PROLOGUE, &point, b"", &mut out).unwrap_err();
            assert_eq!(err, NoiseError::LowOrderPoint, "point {}", hex(&point));
            assert!(out.is_empty(), "nothing may be written for a refused handshake");
        }
    }

    #[test]
    fn initiator_rejects_low_order_ephemeral_in_reply() {
        for point in low_order_points() {
            let mut first = Vec::new();
            let initiator = Initiator::start(PROLOGUE, b"", &mut first).unwrap();
            let mut reply = point.to_vec();
            reply.extend_from_slice(&[0u8; DH_LEN + TAG_LEN + TAG_LEN]);
            assert_eq!(initiator.finish(&reply, None).unwrap_err(), NoiseError::LowOrderPoint);
        }
    }

    #[test]
    fn tampered_reply_fails() {
        let server = Keypair::generate().unwrap();
        let mut first = Vec::new();
        let initiator = Initiator::start(PROLOGUE, b"", &mut first).unwrap();
        let mut second = Vec::new();
        respond(&server, PROLOGUE, &first, b"payload", &mut second).unwrap();
        second[40] ^= 1;
        assert_eq!(initiator.finish(&second, None).unwrap_err(), NoiseError::Decrypt);
    }

    #[test]
    fn bad_lengths_are_refused() {
        let server = Keypair::generate().unwrap();
        assert_eq!(respond(&server, PROLOGUE, &[1u8; 31], b"", &mut Vec::new()).unwrap_err(), NoiseError::BadLength);
        let huge = vec![9u8; MAX_INIT_LEN + 1];
        assert_eq!(respond(&server, PROLOGUE, &huge, b"", &mut Vec::new()).unwrap_err(), NoiseError::BadLength);
        let initiator = Initiator::start(PROLOGUE, b"", &mut Vec::new()).unwrap();
        assert_eq!(initiator.finish(&[0u8; 95], None).unwrap_err(), NoiseError::BadLength);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let pair = Keypair::from_secret_bytes([0x42; 32]);
        let text = format!("{pair:?}");
        assert!(!text.contains(&hex(&pair.secret_bytes()[..])));
        let (client, _, _) = handshake(None);
        let client = client.unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains(&hex(&client.keys.send[..])));
        assert!(!text.contains(&format!("{:?}", &client.keys.send[..4])));
    }
}
