//! Writing and opening whole frames under the transport keys.
//!
//! After Split() every frame is authenticated: it carries the sender's next counter in its header and
//! ends with an AES-256-GCM tag whose associated data is the clear header. An encrypted frame's body is
//! ciphertext; a plain one stays readable, and its tag is GCM over an empty plaintext with the header
//! and the body as associated data, so nothing in it can be changed either.
//!
//! Both directions work in place on the caller's buffer, so sealing and opening allocate nothing.

use super::aead::{AuthenticationFailed, Cipher};
use super::frame::{Delivery, Header, MessageType, PROTOCOL_VERSION, SECURE_VERSION, TAG_LEN};
use super::replay::{ReplayError, ReplayWindow};

/// How one frame is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Encrypt the body. Requires transport keys.
    pub encrypt: bool,
    pub delivery: Delivery,
    pub channel: u8,
}

impl SendOptions {
    pub const RELIABLE: SendOptions = SendOptions { encrypt: false, delivery: Delivery::Reliable, channel: 0 };
    pub const ENCRYPTED: SendOptions = SendOptions { encrypt: true, delivery: Delivery::Reliable, channel: 0 };
}

/// AES blocks one key may process before the session must end: 2^33 blocks (128 GiB), the budget
/// that keeps AES-GCM's confidentiality advantage below 2^-57 (QUIC's margin: its 2^23 packets of
/// 2^10 blocks). A game session of small frames never comes near it.
pub const DEFAULT_KEY_USAGE_LIMIT: u64 = 1 << 33;

/// The sending half of the transport keys.
pub struct Sealer {
    cipher: Cipher,
    next_counter: u64,
    counter_limit: u64,
    /// AES blocks this key has sealed (each frame's associated data and body, and its tag block).
    blocks_used: u64,
    block_limit: u64,
}

/// The receiving half of the transport keys.
pub struct Opener {
    cipher: Cipher,
    window: ReplayWindow,
    in_order: bool,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("next_counter", &self.next_counter).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener").field("window", &self.window).finish_non_exhaustive()
    }
}

/// Why a frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// Encryption was requested without transport keys.
    NoKeys,
    /// The counter reached its limit; the session must end (counters are never reused).
    CounterExhausted,
    /// The key sealed as much data as it safely may; the session must end.
    KeyUsageExhausted,
    /// The body would exceed the frame size limit.
    TooLarge { len: usize, max: u32 },
}

/// Why a received frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// A frame without counter and tag arrived after the key exchange.
    MissingAuthentication,
    /// A frame with counter and tag arrived before any keys existed.
    UnexpectedAuthentication,
    Replay(ReplayError),
    /// On a stream transport, a frame skipped ahead of the next expected counter.
    OutOfOrder {
        expected: u64,
        got: u64,
    },
    Authentication(AuthenticationFailed),
}

impl Sealer {
    /// `counter_limit` is the first counter ordinary frames may not use (at most 2^64-1, which Noise
    /// reserves). One counter beyond it stays available for the closing Disconnect frame.
    pub fn new(key: &[u8; 32], counter_limit: u64) -> Self {
        Sealer {
            cipher: Cipher::new(key),
            next_counter: 0,
            counter_limit: counter_limit.min(u64::MAX - 1),
            blocks_used: 0,
            block_limit: DEFAULT_KEY_USAGE_LIMIT,
        }
    }

    /// Lowers (or raises) how many AES blocks the key may process; used by tests of the limit.
    pub fn with_key_usage_limit(mut self, blocks: u64) -> Self {
        self.block_limit = blocks;
        self
    }

    /// Charges a frame of `len` bytes (header and body) against the key's budget.
    fn charge(&mut self, len: usize) -> Result<(), SealError> {
        let blocks = (len as u64).div_ceil(16) + 1;
        let used = self.blocks_used.saturating_add(blocks);
        if used > self.block_limit {
            return Err(SealError::KeyUsageExhausted);
        }
        self.blocks_used = used;
        Ok(())
    }

    /// Lets exactly one more frame through after the limits: the Disconnect that ends the session.
    pub fn allow_final_frame(&mut self) {
        if self.next_counter >= self.counter_limit && self.counter_limit < u64::MAX {
            self.counter_limit += 1;
        }
        self.block_limit = u64::MAX;
    }

    pub fn next_counter(&self) -> u64 {
        self.next_counter
    }

    fn take_counter(&mut self) -> Result<u64, SealError> {
        if self.next_counter >= self.counter_limit {
            return Err(SealError::CounterExhausted);
        }
        let counter = self.next_counter;
        self.next_counter += 1;
        Ok(counter)
    }

    /// Starts the counter elsewhere than zero: used by tests near the limit.
    pub fn with_next_counter(mut self, next: u64) -> Self {
        self.next_counter = next;
        self
    }
}

impl Opener {
    /// An opener for a datagram transport: frames may arrive out of order within the replay window.
    pub fn new(key: &[u8; 32]) -> Self {
        Opener { cipher: Cipher::new(key), window: ReplayWindow::new(), in_order: false }
    }

    /// An opener for a stream transport (TCP), which never drops or reorders: every frame must carry
    /// exactly the next counter, so a frame removed or swapped in transit is detected too.
    pub fn in_order(key: &[u8; 32]) -> Self {
        Opener { in_order: true, ..Self::new(key) }
    }

    /// True once a frame opened: the peer has shown it holds the keys.
    pub fn has_opened(&self) -> bool {
        self.window.newest().is_some()
    }

    /// The largest counter opened so far.
    pub fn newest(&self) -> Option<u64> {
        self.window.newest()
    }

    fn expected_counter(&self) -> u64 {
        self.window.newest().map_or(0, |newest| newest + 1)
    }
}

/// Appends one complete frame of protocol version 1 to `out` (the version of Connect and ConnectAck,
/// and of a version-1 connection; use [`append_versioned_frame`] on any other). `write_body` appends
/// the plaintext body. On error `out` is left as it was.
pub fn append_frame(
    out: &mut Vec<u8>,
    message_type: MessageType,
    options: SendOptions,
    sealer: Option<&mut Sealer>,
    max_body: u32,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Result<(), SealError> {
    append_versioned_frame(out, PROTOCOL_VERSION, message_type, options, sealer, max_body, write_body)
}

/// As [`append_frame`], with the header's protocol version byte given.
pub fn append_versioned_frame(
    out: &mut Vec<u8>,
    version: u8,
    message_type: MessageType,
    options: SendOptions,
    sealer: Option<&mut Sealer>,
    max_body: u32,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Result<(), SealError> {
    let mut header = Header::new(message_type, 0);
    header.version = version;
    header.delivery = options.delivery;
    header.channel = options.channel;
    header.encrypted = options.encrypt;
    append_header_frame(out, header, sealer, max_body, write_body)
}

/// Appends one complete frame with the header given (its version, type, flags, channel and
/// extensions; the body length and counter are filled in here). `write_body` appends the plaintext
/// body. On error `out` is left as it was.
pub fn append_header_frame(
    out: &mut Vec<u8>,
    mut header: Header,
    sealer: Option<&mut Sealer>,
    max_body: u32,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Result<(), SealError> {
    // Over the secure transport (version 4) TLS carries out the Encrypt option; the flag stays to
    // tell the relay that the sender asked for it.
    if header.encrypted && sealer.is_none() && header.version != SECURE_VERSION {
        return Err(SealError::NoKeys);
    }
    // A placeholder counter so the header length is right; the real one is taken once the size is known.
    header.counter = sealer.as_ref().map(|_| 0);
    let header_len = header.len();
    let start = out.len();
    out.resize(start + header_len, 0);
    write_body(out);
    let tag_len = if sealer.is_some() { TAG_LEN } else { 0 };
    let body_len = out.len() - start - header_len + tag_len;
    if body_len > max_body as usize {
        out.truncate(start);
        return Err(SealError::TooLarge { len: body_len, max: max_body });
    }
    header.body_len = body_len as u32;
    let Some(sealer) = sealer else {
        header.write(&mut out[start..start + header_len]);
        return Ok(());
    };
    // The budget is charged before a counter is taken: on TCP a counter left unused would make the
    // next frame arrive out of order.
    let counter = match sealer.charge(out.len() - start).and_then(|()| sealer.take_counter()) {
        Ok(counter) => counter,
        Err(error) => {
            out.truncate(start);
            return Err(error);
        }
    };
    header.counter = Some(counter);
    header.write(&mut out[start..start + header_len]);
    let tag = if header.encrypted {
        let (head, body) = out[start..].split_at_mut(header_len);
        sealer.cipher.seal_in_place(counter, head, body)
    } else {
        sealer.cipher.seal_in_place(counter, &out[start..], &mut [])
    };
    out.extend_from_slice(&tag);
    Ok(())
}

/// Verifies (and if needed decrypts, in place) one whole frame whose header was already parsed.
/// Returns the plaintext body. The replay window moves only when the tag verified.
pub fn open_frame<'a>(
    frame: &'a mut [u8],
    header: &Header,
    header_len: usize,
    opener: Option<&mut Opener>,
) -> Result<&'a [u8], OpenError> {
    let (counter, opener) = match (header.counter, opener) {
        (None, None) => return Ok(&frame[header_len..]),
        (None, Some(_)) => return Err(OpenError::MissingAuthentication),
        (Some(_), None) => return Err(OpenError::UnexpectedAuthentication),
        (Some(counter), Some(opener)) => (counter, opener),
    };
    opener.window.check(counter).map_err(OpenError::Replay)?;
    if opener.in_order && counter != opener.expected_counter() {
        return Err(OpenError::OutOfOrder { expected: opener.expected_counter(), got: counter });
    }
    let body_end = frame.len() - TAG_LEN;
    let (authenticated, tag) = frame.split_at_mut(body_end);
    if header.encrypted {
        let (head, body) = authenticated.split_at_mut(header_len);
        opener.cipher.open_in_place(counter, head, body, tag).map_err(OpenError::Authentication)?;
    } else {
        opener.cipher.open_in_place(counter, authenticated, &mut [], tag).map_err(OpenError::Authentication)?;
    }
    opener.window.commit(counter);
    Ok(&frame[header_len..body_end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::DEFAULT_MAX_BODY;

    const KEY: [u8; 32] = [0x11; 32];

    fn seal(message: &[u8], encrypt: bool, sealer: &mut Sealer) -> Vec<u8> {
        let mut out = Vec::new();
        let options = SendOptions { encrypt, ..SendOptions::RELIABLE };
        append_frame(&mut out, MessageType::Event, options, Some(sealer), DEFAULT_MAX_BODY, |b| {
            b.extend_from_slice(message)
        })
        .unwrap();
        out
    }

    fn open(frame: &mut [u8], opener: &mut Opener) -> Result<Vec<u8>, OpenError> {
        let (header, header_len) = Header::parse(frame, DEFAULT_MAX_BODY).expect("header parses");
        open_frame(frame, &header, header_len, Some(opener)).map(|b| b.to_vec())
    }

    #[test]
    fn encrypted_and_plain_frames_open() {
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let mut opener = Opener::new(&KEY);
        let mut encrypted = seal(b"secret move", true, &mut sealer);
        assert!(!encrypted.windows(11).any(|w| w == b"secret move"), "ciphertext must hide the text");
        let mut plain = seal(b"public chat", false, &mut sealer);
        assert!(plain.windows(11).any(|w| w == b"public chat"), "plain body stays readable");
        assert_eq!(open(&mut encrypted, &mut opener).unwrap(), b"secret move");
        assert_eq!(open(&mut plain, &mut opener).unwrap(), b"public chat");
    }

    #[test]
    fn every_bit_flip_is_rejected() {
        for encrypt in [true, false] {
            let mut sealer = Sealer::new(&KEY, u64::MAX);
            let frame = seal(b"attack at dawn", encrypt, &mut sealer);
            for bit in 0..frame.len() * 8 {
                let mut tampered = frame.clone();
                tampered[bit / 8] ^= 1 << (bit % 8);
                let mut opener = Opener::new(&KEY);
                let accepted = match Header::parse(&tampered, DEFAULT_MAX_BODY) {
                    Ok((header, header_len)) if header_len + header.body_len as usize == tampered.len() => {
                        open_frame(&mut tampered, &header, header_len, Some(&mut opener)).is_ok()
                    }
                    // A flip that changes the length or flags no longer parses as this frame at all.
                    _ => false,
                };
                assert!(!accepted, "flip of bit {bit} accepted (encrypt={encrypt})");
            }
        }
    }

    #[test]
    fn replayed_frame_is_rejected_before_decryption() {
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let mut opener = Opener::new(&KEY);
        let frame = seal(b"once", true, &mut sealer);
        assert!(open(&mut frame.clone(), &mut opener).is_ok());
        assert_eq!(open(&mut frame.clone(), &mut opener), Err(OpenError::Replay(ReplayError::Duplicate)));
    }

    #[test]
    fn forged_frame_does_not_move_the_window() {
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let mut opener = Opener::new(&KEY);
        let frame = seal(b"real", true, &mut sealer);
        let mut forged = frame.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x80;
        assert!(matches!(open(&mut forged, &mut opener), Err(OpenError::Authentication(_))));
        assert_eq!(open(&mut frame.clone(), &mut opener).unwrap(), b"real");
    }

    #[test]
    fn stream_opener_refuses_gaps_and_reordering() {
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let frames: Vec<Vec<u8>> = (0..3).map(|_| seal(b"x", true, &mut sealer)).collect();
        let mut opener = Opener::in_order(&KEY);
        assert!(open(&mut frames[0].clone(), &mut opener).is_ok());
        assert_eq!(open(&mut frames[2].clone(), &mut opener), Err(OpenError::OutOfOrder { expected: 1, got: 2 }));
        assert!(open(&mut frames[1].clone(), &mut opener).is_ok());
        assert!(open(&mut frames[2].clone(), &mut opener).is_ok());
        // The datagram opener accepts the same gap.
        let mut opener = Opener::new(&KEY);
        assert!(open(&mut frames[2].clone(), &mut opener).is_ok());
        assert!(open(&mut frames[0].clone(), &mut opener).is_ok());
    }

    #[test]
    fn wrong_key_fails() {
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let mut opener = Opener::new(&[0x22; 32]);
        let mut frame = seal(b"x", false, &mut sealer);
        assert!(matches!(open(&mut frame, &mut opener), Err(OpenError::Authentication(_))));
    }

    #[test]
    fn counter_limit_is_enforced_and_counters_never_repeat() {
        let mut sealer = Sealer::new(&KEY, u64::MAX).with_next_counter(u64::MAX - 3);
        let mut opener = Opener::new(&KEY);
        let mut a = seal(b"a", true, &mut sealer);
        let mut b = seal(b"b", true, &mut sealer);
        assert_eq!(sealer.next_counter(), u64::MAX - 1);
        let mut out = Vec::new();
        let err =
            append_frame(&mut out, MessageType::Event, SendOptions::ENCRYPTED, Some(&mut sealer), 1000, |b| b.push(1));
        assert_eq!(err, Err(SealError::CounterExhausted));
        assert!(out.is_empty());
        assert_eq!(open(&mut a, &mut opener).unwrap(), b"a");
        assert_eq!(open(&mut b, &mut opener).unwrap(), b"b");
        // The closing frame may use the last counter; 2^64-1 is reserved and never reached.
        sealer.allow_final_frame();
        let mut last = seal(b"bye", false, &mut sealer);
        assert_eq!(open(&mut last, &mut opener).unwrap(), b"bye");
        sealer.allow_final_frame();
        let err = append_frame(&mut out, MessageType::Event, SendOptions::RELIABLE, Some(&mut sealer), 1000, |_| {});
        assert_eq!(err, Err(SealError::CounterExhausted));
    }

    #[test]
    fn authentication_state_must_match_keys() {
        let mut out = Vec::new();
        append_frame(&mut out, MessageType::Ping, SendOptions::RELIABLE, None, 1000, |b| b.push(1)).unwrap();
        let (header, header_len) = Header::parse(&out, 1000).unwrap();
        let mut opener = Opener::new(&KEY);
        assert_eq!(
            open_frame(&mut out.clone(), &header, header_len, Some(&mut opener)),
            Err(OpenError::MissingAuthentication)
        );
        let mut sealer = Sealer::new(&KEY, u64::MAX);
        let mut sealed = seal(b"x", false, &mut sealer);
        let (header, header_len) = Header::parse(&sealed, 1000).unwrap();
        assert_eq!(open_frame(&mut sealed, &header, header_len, None), Err(OpenError::UnexpectedAuthentication));
    }

    #[test]
    fn oversized_body_and_missing_keys_are_refused() {
        let mut out = vec![9u8];
        let err = append_frame(&mut out, MessageType::Event, SendOptions::RELIABLE, None, 10, |b| {
            b.extend_from_slice(&[0; 11])
        });
        assert_eq!(err, Err(SealError::TooLarge { len: 11, max: 10 }));
        assert_eq!(out, vec![9u8]);
        let err = append_frame(&mut out, MessageType::Event, SendOptions::ENCRYPTED, None, 10, |_| {});
        assert_eq!(err, Err(SealError::NoKeys));
    }
}
