//! The clear frame header shared by every transport (TCP, UDP and WSS).
//!
//! ```text
//!  0        1        2        3        4                 8
//! +--------+--------+--------+--------+-----------------+
//! |version |  type  | flags  |channel | body length u32 |
//! +--------+--------+--------+--------+-----------------+
//! | counter u64              (iff flags & AUTHENTICATED) |
//! | sequence u32             (iff flags & SEQUENCED)     |
//! | group u32, index u16, count u16 (iff FRAGMENT)      |
//! +------------------------------------------------------+
//! | body (body length bytes, tag included)               |
//! ```
//!
//! All integers are big-endian. The whole header is the AEAD associated data, so none of it can be
//! altered once keys exist. The sequence and fragment extensions exist for the datagram transport; a
//! stream transport never sets them and refuses frames that do.

use std::fmt;

/// The version of Connect and ConnectAck frames, which negotiate the version of the rest.
pub const PROTOCOL_VERSION: u8 = 1;
/// The newest protocol version this implementation speaks: the one whose value types the codec knows.
pub use crate::protocol::codec::LATEST_VERSION;
/// The protocol version of the datagram transport (UDP): version 2 plus the datagram layout, the
/// sequence and fragment extensions, and the Ack message. Stream transports never speak it.
pub const DATAGRAM_VERSION: u8 = 3;
/// The protocol version of the secure message transport (WSS): version 2 carried one frame per
/// WebSocket message under TLS, which protects every frame, so no frame is authenticated and no key
/// exchange runs. The ENCRYPTED flag only says that the sender asked for Encrypt.
pub const SECURE_VERSION: u8 = 4;
/// The newest version a frame may carry.
const HIGHEST_FRAME_VERSION: u8 = SECURE_VERSION;
/// Bytes every header has.
pub const FIXED_HEADER_LEN: usize = 8;
/// Bytes of the explicit send counter.
pub const COUNTER_LEN: usize = 8;
/// Bytes of the per-channel sequence extension.
pub const SEQUENCE_LEN: usize = 4;
/// Bytes of the fragment extension.
pub const FRAGMENT_LEN: usize = 8;
/// Bytes of an AES-256-GCM tag.
pub const TAG_LEN: usize = 16;
/// The longest header any frame can have.
pub const MAX_HEADER_LEN: usize = FIXED_HEADER_LEN + COUNTER_LEN + SEQUENCE_LEN + FRAGMENT_LEN;
/// Default upper bound on a frame body (tag included); receivers refuse larger frames before buffering.
pub const DEFAULT_MAX_BODY: u32 = 512 * 1024;

/// Bits of the flags byte.
pub mod flags {
    /// The body is AES-256-GCM ciphertext followed by its tag. Requires [`AUTHENTICATED`], except in
    /// version 4 (WSS), where it only records that the sender asked for Encrypt (TLS protects it).
    pub const ENCRYPTED: u8 = 0x01;
    /// A counter is in the header and a tag ends the body.
    pub const AUTHENTICATED: u8 = 0x02;
    /// Two bits holding the [`Delivery`](super::Delivery) mode.
    pub const DELIVERY_MASK: u8 = 0x0C;
    pub const DELIVERY_SHIFT: u8 = 2;
    /// A per-channel sequence number follows the counter (datagram transport).
    pub const SEQUENCED: u8 = 0x10;
    /// A fragment extension follows (datagram transport).
    pub const FRAGMENT: u8 = 0x20;
    /// Must be zero in version 1; a receiver refuses frames that set them.
    pub const RESERVED: u8 = 0xC0;
}

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    Connect = 0x01,
    ConnectAck = 0x02,
    HandshakeInit = 0x03,
    HandshakeReply = 0x04,
    OperationRequest = 0x05,
    OperationResponse = 0x06,
    Event = 0x07,
    Ping = 0x08,
    Pong = 0x09,
    Disconnect = 0x0A,
    /// Acknowledges received frame counters (datagram transport, version 3, only).
    Ack = 0x0B,
    /// The key exchange bound to a secret from an earlier authentication (AuthOnce): the first
    /// message of `Noise_NXpsk2_25519_AESGCM_SHA256`, whose payload carries the server token.
    HandshakeInitPsk = 0x0C,
}

impl MessageType {
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0x01 => MessageType::Connect,
            0x02 => MessageType::ConnectAck,
            0x03 => MessageType::HandshakeInit,
            0x04 => MessageType::HandshakeReply,
            0x05 => MessageType::OperationRequest,
            0x06 => MessageType::OperationResponse,
            0x07 => MessageType::Event,
            0x08 => MessageType::Ping,
            0x09 => MessageType::Pong,
            0x0A => MessageType::Disconnect,
            0x0B => MessageType::Ack,
            0x0C => MessageType::HandshakeInitPsk,
            _ => return None,
        })
    }

    /// Messages of the key exchange itself; they are never authenticated.
    pub fn is_pre_key(self) -> bool {
        matches!(
            self,
            MessageType::Connect
                | MessageType::ConnectAck
                | MessageType::HandshakeInit
                | MessageType::HandshakeInitPsk
                | MessageType::HandshakeReply
        )
    }

    /// The client's first key-exchange message, with or without a secret.
    pub fn is_handshake_init(self) -> bool {
        matches!(self, MessageType::HandshakeInit | MessageType::HandshakeInitPsk)
    }
}

/// Delivery mode, numbered as Photon's `DeliveryMode`. Over TCP every frame is reliable and ordered;
/// the mode is still carried so a relay can honour it on a datagram leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Delivery {
    Unreliable = 0,
    #[default]
    Reliable = 1,
    UnreliableUnsequenced = 2,
    ReliableUnsequenced = 3,
}

impl Delivery {
    pub fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            0 => Delivery::Unreliable,
            1 => Delivery::Reliable,
            2 => Delivery::UnreliableUnsequenced,
            3 => Delivery::ReliableUnsequenced,
            _ => return None,
        })
    }
}

/// Position of a fragment within a larger message (datagram transport only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    pub group: u32,
    pub index: u16,
    pub count: u16,
}

/// A decoded clear header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The protocol version byte: 1 for Connect and ConnectAck, the negotiated version after them.
    pub version: u8,
    pub message_type: MessageType,
    pub encrypted: bool,
    pub delivery: Delivery,
    pub channel: u8,
    pub body_len: u32,
    /// Present exactly when the frame is authenticated.
    pub counter: Option<u64>,
    pub sequence: Option<u32>,
    pub fragment: Option<Fragment>,
}

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// More bytes are needed; not an error for a stream that is still arriving.
    Incomplete {
        needed: usize,
    },
    UnsupportedVersion(u8),
    UnknownMessageType(u8),
    ReservedFlags(u8),
    EncryptedWithoutAuthentication,
    /// A version-4 (WSS) frame with a counter: TLS protects that transport, and its frames never
    /// carry one.
    AuthenticatedOnSecureTransport,
    BodyTooLarge {
        len: u32,
        max: u32,
    },
    /// An authenticated body must hold at least the tag.
    BodyShorterThanTag(u32),
    /// Sequence or fragment extensions on a transport that does not use them.
    ExtensionNotAllowed,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Incomplete { needed } => write!(f, "frame incomplete: {needed} more bytes needed"),
            FrameError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            FrameError::UnknownMessageType(t) => write!(f, "unknown message type 0x{t:02x}"),
            FrameError::ReservedFlags(b) => write!(f, "reserved flag bits set (flags 0x{b:02x})"),
            FrameError::EncryptedWithoutAuthentication => f.write_str("encrypted flag without authenticated flag"),
            FrameError::AuthenticatedOnSecureTransport => {
                f.write_str("authenticated frame on the secure transport (version 4 frames never are)")
            }
            FrameError::BodyTooLarge { len, max } => write!(f, "frame body of {len} bytes exceeds the limit of {max}"),
            FrameError::BodyShorterThanTag(len) => write!(f, "authenticated body of {len} bytes is shorter than a tag"),
            FrameError::ExtensionNotAllowed => f.write_str("sequence/fragment extension not allowed on this transport"),
        }
    }
}

impl std::error::Error for FrameError {}

impl Header {
    /// A header for a frame carrying `body_len` bytes (tag included).
    pub fn new(message_type: MessageType, body_len: u32) -> Self {
        Header {
            version: PROTOCOL_VERSION,
            message_type,
            encrypted: false,
            delivery: Delivery::Reliable,
            channel: 0,
            body_len,
            counter: None,
            sequence: None,
            fragment: None,
        }
    }

    pub fn flags(&self) -> u8 {
        let mut bits = (self.delivery as u8) << flags::DELIVERY_SHIFT;
        if self.encrypted {
            bits |= flags::ENCRYPTED;
        }
        if self.counter.is_some() {
            bits |= flags::AUTHENTICATED;
        }
        if self.sequence.is_some() {
            bits |= flags::SEQUENCED;
        }
        if self.fragment.is_some() {
            bits |= flags::FRAGMENT;
        }
        bits
    }

    /// Encoded length of this header.
    pub fn len(&self) -> usize {
        Self::len_for_flags(self.flags())
    }

    /// Never true; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn len_for_flags(bits: u8) -> usize {
        let mut len = FIXED_HEADER_LEN;
        if bits & flags::AUTHENTICATED != 0 {
            len += COUNTER_LEN;
        }
        if bits & flags::SEQUENCED != 0 {
            len += SEQUENCE_LEN;
        }
        if bits & flags::FRAGMENT != 0 {
            len += FRAGMENT_LEN;
        }
        len
    }

    /// Writes the header into `out`, which must be exactly [`len`](Self::len) bytes.
    pub fn write(&self, out: &mut [u8]) {
        debug_assert_eq!(out.len(), self.len());
        out[0] = self.version;
        out[1] = self.message_type as u8;
        out[2] = self.flags();
        out[3] = self.channel;
        out[4..8].copy_from_slice(&self.body_len.to_be_bytes());
        let mut at = FIXED_HEADER_LEN;
        if let Some(counter) = self.counter {
            out[at..at + COUNTER_LEN].copy_from_slice(&counter.to_be_bytes());
            at += COUNTER_LEN;
        }
        if let Some(sequence) = self.sequence {
            out[at..at + SEQUENCE_LEN].copy_from_slice(&sequence.to_be_bytes());
            at += SEQUENCE_LEN;
        }
        if let Some(fragment) = self.fragment {
            out[at..at + 4].copy_from_slice(&fragment.group.to_be_bytes());
            out[at + 4..at + 6].copy_from_slice(&fragment.index.to_be_bytes());
            out[at + 6..at + 8].copy_from_slice(&fragment.count.to_be_bytes());
        }
    }

    /// Parses the header at the start of `input`. Returns the header and its encoded length; the body
    /// is not required to be present yet. Any version this implementation speaks is accepted here;
    /// whether it is the one the connection uses is the session's check.
    pub fn parse(input: &[u8], max_body: u32) -> Result<(Header, usize), FrameError> {
        if input.len() < FIXED_HEADER_LEN {
            return Err(FrameError::Incomplete { needed: FIXED_HEADER_LEN - input.len() });
        }
        let version = input[0];
        if !(PROTOCOL_VERSION..=HIGHEST_FRAME_VERSION).contains(&version) {
            return Err(FrameError::UnsupportedVersion(version));
        }
        let message_type = MessageType::from_u8(input[1]).ok_or(FrameError::UnknownMessageType(input[1]))?;
        let bits = input[2];
        if bits & flags::RESERVED != 0 {
            return Err(FrameError::ReservedFlags(bits));
        }
        let encrypted = bits & flags::ENCRYPTED != 0;
        let authenticated = bits & flags::AUTHENTICATED != 0;
        if version == SECURE_VERSION && authenticated {
            return Err(FrameError::AuthenticatedOnSecureTransport);
        }
        if encrypted && !authenticated && version != SECURE_VERSION {
            return Err(FrameError::EncryptedWithoutAuthentication);
        }
        let body_len = u32::from_be_bytes([input[4], input[5], input[6], input[7]]);
        if body_len > max_body {
            return Err(FrameError::BodyTooLarge { len: body_len, max: max_body });
        }
        if authenticated && (body_len as usize) < TAG_LEN {
            return Err(FrameError::BodyShorterThanTag(body_len));
        }
        let header_len = Self::len_for_flags(bits);
        if input.len() < header_len {
            return Err(FrameError::Incomplete { needed: header_len - input.len() });
        }
        let delivery = Delivery::from_u8((bits & flags::DELIVERY_MASK) >> flags::DELIVERY_SHIFT)
            .expect("two bits always hold a delivery mode");
        let mut at = FIXED_HEADER_LEN;
        let counter = authenticated.then(|| {
            let value = u64::from_be_bytes(input[at..at + COUNTER_LEN].try_into().expect("8 bytes"));
            at += COUNTER_LEN;
            value
        });
        let sequence = (bits & flags::SEQUENCED != 0).then(|| {
            let value = u32::from_be_bytes(input[at..at + SEQUENCE_LEN].try_into().expect("4 bytes"));
            at += SEQUENCE_LEN;
            value
        });
        let fragment = (bits & flags::FRAGMENT != 0).then(|| Fragment {
            group: u32::from_be_bytes(input[at..at + 4].try_into().expect("4 bytes")),
            index: u16::from_be_bytes([input[at + 4], input[at + 5]]),
            count: u16::from_be_bytes([input[at + 6], input[at + 7]]),
        });
        let header = Header {
            version,
            message_type,
            encrypted,
            delivery,
            channel: input[3],
            body_len,
            counter,
            sequence,
            fragment,
        };
        Ok((header, header_len))
    }
}

/// Cuts bytes holding whole frames back to back (a session's output) into one slice per frame, for a
/// transport that sends each frame as a message of its own (WSS). Stops at the first incomplete or
/// malformed frame, which a session's own output never has.
pub fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames { rest: bytes }
}

/// The iterator of [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (header, header_len) = Header::parse(self.rest, u32::MAX).ok()?;
        let len = header_len.checked_add(header.body_len as usize)?;
        if self.rest.len() < len {
            return None;
        }
        let (frame, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_header() -> impl Strategy<Value = Header> {
        (
            1u8..=10,
            any::<bool>(),
            0u8..4,
            any::<u8>(),
            0u32..DEFAULT_MAX_BODY,
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of((any::<u32>(), any::<u16>(), any::<u16>())),
        )
            .prop_map(|(t, enc, d, channel, len, counter, sequence, frag)| {
                let authenticated = counter.is_some();
                Header {
                    version: if t % 2 == 0 { 1 } else { 2 },
                    message_type: MessageType::from_u8(t).unwrap(),
                    encrypted: enc && authenticated,
                    delivery: Delivery::from_u8(d).unwrap(),
                    channel,
                    body_len: if authenticated { len.max(TAG_LEN as u32) } else { len },
                    counter,
                    sequence,
                    fragment: frag.map(|(group, index, count)| Fragment { group, index, count }),
                }
            })
    }

    proptest! {
        #[test]
        fn header_round_trips(header in arb_header()) {
            let mut buf = vec![0u8; header.len()];
            header.write(&mut buf);
            let (parsed, len) = Header::parse(&buf, DEFAULT_MAX_BODY).unwrap();
            prop_assert_eq!(parsed, header);
            prop_assert_eq!(len, buf.len());
        }

        #[test]
        fn truncated_header_is_incomplete(header in arb_header(), cut in 0usize..MAX_HEADER_LEN) {
            let mut buf = vec![0u8; header.len()];
            header.write(&mut buf);
            prop_assume!(cut < buf.len());
            let is_incomplete = matches!(Header::parse(&buf[..cut], DEFAULT_MAX_BODY), Err(FrameError::Incomplete { .. }));
            prop_assert!(is_incomplete);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Header::parse(&bytes, DEFAULT_MAX_BODY);
        }
    }

    fn sample() -> [u8; 16] {
        let mut header = Header::new(MessageType::Event, 20);
        header.counter = Some(7);
        let mut buf = [0u8; 16];
        header.write(&mut buf);
        buf
    }

    #[test]
    fn every_error_is_reachable() {
        let good = sample();
        let mut bad = good;
        bad[0] = 5;
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::UnsupportedVersion(5)));
        bad[0] = SECURE_VERSION;
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::AuthenticatedOnSecureTransport));
        bad[0] = 0;
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::UnsupportedVersion(0)));
        let mut bad = good;
        bad[1] = 0x7F;
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::UnknownMessageType(0x7F)));
        let mut bad = good;
        bad[2] |= 0x40;
        assert!(matches!(Header::parse(&bad, 1000), Err(FrameError::ReservedFlags(_))));
        let mut bad = good;
        bad[2] = flags::ENCRYPTED;
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::EncryptedWithoutAuthentication));
        assert_eq!(Header::parse(&good, 19), Err(FrameError::BodyTooLarge { len: 20, max: 19 }));
        let mut bad = good;
        bad[4..8].copy_from_slice(&15u32.to_be_bytes());
        assert_eq!(Header::parse(&bad, 1000), Err(FrameError::BodyShorterThanTag(15)));
        assert_eq!(Header::parse(&good[..10], 1000), Err(FrameError::Incomplete { needed: 6 }));
        assert_eq!(Header::parse(&good[..3], 1000), Err(FrameError::Incomplete { needed: 5 }));
    }

    #[test]
    fn the_secure_version_takes_the_encrypted_flag_without_a_counter() {
        let mut header = Header::new(MessageType::Event, 3);
        header.version = SECURE_VERSION;
        header.encrypted = true;
        let mut buf = vec![0u8; header.len()];
        header.write(&mut buf);
        assert_eq!(Header::parse(&buf, 1000), Ok((header, FIXED_HEADER_LEN)));
        buf[0] = 2;
        assert_eq!(Header::parse(&buf, 1000), Err(FrameError::EncryptedWithoutAuthentication));
    }

    #[test]
    fn frames_cuts_output_into_whole_frames() {
        let mut bytes = Vec::new();
        for (message_type, len) in [(MessageType::Ping, 8u32), (MessageType::Event, 0), (MessageType::Pong, 300)] {
            let header = Header::new(message_type, len);
            let start = bytes.len();
            bytes.resize(start + header.len(), 0);
            header.write(&mut bytes[start..]);
            bytes.resize(bytes.len() + len as usize, 7);
        }
        let lens: Vec<usize> = frames(&bytes).map(<[u8]>::len).collect();
        assert_eq!(lens, [16, 8, 308]);
        assert_eq!(frames(&bytes[..bytes.len() - 1]).count(), 2, "an incomplete frame is not cut");
    }

    #[test]
    fn delivery_numbers_match_photon() {
        assert_eq!(Delivery::Unreliable as u8, 0);
        assert_eq!(Delivery::Reliable as u8, 1);
        assert_eq!(Delivery::UnreliableUnsequenced as u8, 2);
        assert_eq!(Delivery::ReliableUnsequenced as u8, 3);
    }
}
