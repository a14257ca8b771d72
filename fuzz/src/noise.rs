//! The two halves of the Noise NX handshake, and the responder of its AuthOnce variant NXpsk2, with
//! fixed keys, so every input is reproducible.

use std::sync::OnceLock;

use sealnet::protocol::frame::TAG_LEN;
use sealnet::protocol::noise::{
    respond_with_ephemeral, Initiator, Keypair, NoiseError, Responder, DH_LEN, MAX_INIT_LEN, MAX_PAYLOAD,
    MAX_PSK_INIT_LEN, MAX_PSK_INIT_PAYLOAD, MAX_REPLY_LEN, PSK_PROTOCOL_NAME,
};

use crate::input::Input;

pub const PROLOGUE: &[u8] = b"sealnet fuzz prologue";
/// The responder's (server's) static secret; also the server key of the session targets.
pub const RESPONDER_STATIC: [u8; 32] = [0x51; 32];
pub(crate) const RESPONDER_EPHEMERAL: [u8; 32] = [0x52; 32];
pub(crate) const INITIATOR_EPHEMERAL: [u8; 32] = [0x53; 32];
/// The handshake payload the sessions send: the protocol version.
pub(crate) const PAYLOAD: &[u8] = &[1];

/// The responder's static key pair, made once per process.
pub fn static_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| Keypair::from_secret_bytes(RESPONDER_STATIC))
}

/// The ephemeral keys are taken by value, so each run makes its own (one X25519 base-point multiply).
fn ephemeral(secret: [u8; 32]) -> Keypair {
    Keypair::from_secret_bytes(secret)
}

/// `-> e` from the input, answered with `<- e, ee, s, es`.
pub fn responder(data: &[u8]) {
    let mut out = Vec::new();
    let result =
        respond_with_ephemeral(static_key(), ephemeral(RESPONDER_EPHEMERAL), PROLOGUE, data, PAYLOAD, &mut out);
    let length_ok = (DH_LEN..=MAX_INIT_LEN).contains(&data.len());
    match result {
        Ok(completed) => {
            assert!(length_ok, "accepted a {}-byte first message", data.len());
            assert_eq!(out.len(), DH_LEN + DH_LEN + TAG_LEN + PAYLOAD.len() + TAG_LEN);
            assert_eq!(completed.remote_payload, data[DH_LEN..]);
            assert_eq!(completed.remote_static, None);
            assert_ne!(*completed.keys.send, *completed.keys.receive);
        }
        Err(NoiseError::BadLength) => {
            assert!(!length_ok, "refused a {}-byte first message for its length", data.len());
            assert!(out.is_empty());
        }
        Err(NoiseError::LowOrderPoint) => {
            assert!(length_ok);
            assert!(out.is_empty(), "a failed response left output behind");
        }
        Err(other) => panic!("the responder failed with {other:?}"),
    }
}

/// An initiator with a fixed ephemeral key reads a reply. The first byte picks the pin (none, the
/// responder's real key, or a wrong one) and the reply: the rest of the input as it is, or a real
/// responder's reply carrying a payload from the input, with one bit flipped or none.
pub fn initiator(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let right_pin = *static_key().public();
    let wrong_pin = [7u8; 32];
    let pin = match mode & 3 {
        0 | 1 => None,
        2 => Some(&right_pin),
        _ => Some(&wrong_pin),
    };
    let mut first = Vec::new();
    let initiator = Initiator::start_with_ephemeral(ephemeral(INITIATOR_EPHEMERAL), PROLOGUE, PAYLOAD, &mut first)
        .expect("a one-byte payload is accepted");

    if mode & 4 == 0 {
        let reply = input.rest();
        let length_ok = (DH_LEN + DH_LEN + TAG_LEN + TAG_LEN..=MAX_REPLY_LEN).contains(&reply.len());
        match initiator.finish(reply, pin) {
            Ok(completed) => {
                // Needs two forged tags; if it happens, the result must at least be consistent.
                assert!(length_ok);
                let remote = completed.remote_static.expect("the initiator learns the server's key");
                assert!(pin.is_none_or(|pin| *pin == remote));
            }
            Err(NoiseError::BadLength) => assert!(!length_ok, "refused a {}-byte reply for its length", reply.len()),
            Err(NoiseError::LowOrderPoint | NoiseError::Decrypt | NoiseError::PinMismatch) => assert!(length_ok),
            Err(other) => panic!("the initiator failed with {other:?}"),
        }
        return;
    }

    let flip = input.u16();
    let payload = input.rest();
    let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
    let mut reply = Vec::new();
    let responder =
        respond_with_ephemeral(static_key(), ephemeral(RESPONDER_EPHEMERAL), PROLOGUE, &first, payload, &mut reply)
            .expect("the responder accepts the initiator's own first message");
    assert_eq!(reply.len(), DH_LEN + DH_LEN + TAG_LEN + payload.len() + TAG_LEN);
    let flipped = flip & 0x8000 != 0;
    if flipped {
        let at = usize::from(flip & 0x7fff) / 8 % reply.len();
        reply[at] ^= 1 << (flip % 8);
    }
    match (initiator.finish(&reply, pin), flipped) {
        (Ok(completed), false) => {
            assert!(pin.is_none_or(|pin| *pin == right_pin), "a wrong pin was accepted");
            assert_eq!(*completed.keys.send, *responder.keys.receive);
            assert_eq!(*completed.keys.receive, *responder.keys.send);
            assert_eq!(completed.handshake_hash, responder.handshake_hash);
            assert_eq!(completed.remote_static, Some(right_pin));
            assert_eq!(completed.remote_payload, payload);
            assert_eq!(responder.remote_payload, PAYLOAD);
        }
        (Err(NoiseError::PinMismatch), false) => assert_eq!(pin, Some(&wrong_pin), "the right pin was refused"),
        (Err(error), false) => panic!("an honest reply was refused: {error:?}"),
        (Ok(_), true) => panic!("a reply with a flipped bit (flip {flip:#06x}) was accepted"),
        (Err(NoiseError::Decrypt | NoiseError::LowOrderPoint), true) => {}
        (Err(error), true) => panic!("a reply with a flipped bit failed with {error:?}"),
    }
}

/// Points of small order on Curve25519 and non-canonical encodings of them: X25519 with any of them
/// gives the all-zero output, which a handshake must refuse (section 6.6).
pub const LOW_ORDER_POINTS: [[u8; 32]; 7] = {
    let mut points = [[0u8; 32]; 7];
    points[1][0] = 1;
    points[2] = [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
        0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ];
    points[3] = [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44,
        0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ];
    // p - 1, p and p + 1 (p = 2^255 - 19).
    let mut at = 4;
    while at < 7 {
        let mut index = 0;
        while index < 32 {
            points[at][index] = 0xff;
            index += 1;
        }
        points[at][0] = 0xec + (at as u8 - 4);
        points[at][31] = 0x7f;
        at += 1;
    }
    points
};

/// Exactly 32 bytes from the input, zero-padded.
fn array32(input: &mut Input<'_>) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes = input.bytes(32);
    out[..bytes.len()].copy_from_slice(bytes);
    out
}

/// The first NXpsk2 message built from section 16.3 with the hash, HKDF and AEAD primitives alone
/// (none of `noise.rs`), for any `e`, low-order points included:
/// `h = ck = name; MixHash(prologue); MixHash(e); MixKey(e); EncryptAndHash(payload)`.
pub fn reference_psk_first_message(prologue: &[u8], e: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    use hkdf::Hkdf;
    use sealnet::protocol::aead::Cipher;
    use sha2::{Digest, Sha256};

    let mut hash = [0u8; 32];
    hash.copy_from_slice(PSK_PROTOCOL_NAME);
    let chaining_key = hash;
    let mix_hash = |hash: [u8; 32], data: &[u8]| -> [u8; 32] {
        Sha256::new().chain_update(hash).chain_update(data).finalize().into()
    };
    let hash = mix_hash(mix_hash(hash, prologue), e);
    let mut output = [0u8; 64];
    Hkdf::<Sha256>::new(Some(&chaining_key), e).expand(&[], &mut output).expect("64 bytes of HKDF-SHA256");
    let key: [u8; 32] = output[32..].try_into().expect("32 bytes");
    let mut message = e.to_vec();
    Cipher::new(&key).seal_append(0, &hash, payload, &mut message);
    message
}

/// The AuthOnce responder (`Noise_NXpsk2`, section 16). The first byte picks a mode:
///
/// - 0, 1: `Responder::read_psk` on the rest of the input after a 32-byte secret; when it reads,
///   `finish_psk` with that secret. Errors only for the documented reasons; what it reads is the
///   message's payload; a reply has the right length and nothing is written on error.
/// - 2: a round trip: a real `Initiator::start_psk_with_ephemeral` with an input-chosen ephemeral key,
///   secret, payload and reply payload, `read_psk`, `finish_psk_with_ephemeral` with the same secret or
///   one with a bit flipped, or a bit flipped in either message. The same secret completes with
///   mirrored keys, the same handshake hash, the server's static key and both payloads; a different
///   one fails at `finish` with `Decrypt`; a flipped message fails (read: Decrypt; reply: Decrypt or a
///   low-order point); a wrong pin fails with `PinMismatch`.
/// - 3: message 1 built independently from the spec ([`reference_psk_first_message`]) for an
///   input-chosen `e`, a low-order point now and then: identical to the initiator's own for a real key,
///   always read, and its reply refused with `LowOrderPoint` (nothing written) exactly for a low-order
///   `e`.
pub fn psk_responder(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    match mode % 4 {
        0 | 1 => psk_read_raw(input),
        2 => psk_round_trip(mode, input),
        _ => psk_reference(input),
    }
}

fn psk_read_raw(mut input: Input<'_>) {
    let psk = array32(&mut input);
    let message = input.rest();
    let length_ok = (DH_LEN + TAG_LEN..=MAX_PSK_INIT_LEN).contains(&message.len());
    let responder = match Responder::read_psk(PROLOGUE, message) {
        Ok(responder) => responder,
        Err(NoiseError::BadLength) => {
            return assert!(!length_ok, "refused a {}-byte message for its length", message.len())
        }
        Err(NoiseError::Decrypt) => return assert!(length_ok, "read a {}-byte message", message.len()),
        Err(other) => panic!("read_psk failed with {other:?}"),
    };
    assert!(length_ok, "read a {}-byte first message", message.len());
    assert_eq!(responder.remote_payload().len(), message.len() - DH_LEN - TAG_LEN);
    let payload = responder.remote_payload().to_vec();
    let low_order = LOW_ORDER_POINTS.iter().any(|point| message[..DH_LEN] == point[..]);
    let mut out = vec![0xa5];
    match responder.finish_psk(static_key(), &psk, PAYLOAD, &mut out) {
        Ok(completed) => {
            assert!(!low_order, "a low-order ephemeral key was answered");
            assert_eq!(out.len(), 1 + DH_LEN + DH_LEN + TAG_LEN + PAYLOAD.len() + TAG_LEN);
            assert_eq!(completed.remote_payload, payload);
            assert_eq!(completed.remote_static, None);
            assert_ne!(*completed.keys.send, *completed.keys.receive);
        }
        Err(NoiseError::LowOrderPoint) => assert_eq!(out, [0xa5], "a refused reply left output behind"),
        Err(other) => panic!("finish_psk failed with {other:?}"),
    }
}

fn psk_round_trip(mode: u8, mut input: Input<'_>) {
    let tamper = input.u8();
    let flip = input.u16();
    let ephemeral_secret = array32(&mut input);
    let psk = array32(&mut input);
    let payload = input.sized();
    let payload = &payload[..payload.len().min(MAX_PSK_INIT_PAYLOAD)];
    let reply_payload = input.rest();
    let reply_payload = &reply_payload[..reply_payload.len().min(MAX_PAYLOAD)];
    let right_pin = *static_key().public();
    let wrong_pin = [7u8; 32];
    let pin = match (mode >> 2) % 4 {
        0 | 1 => None,
        2 => Some(&right_pin),
        _ => Some(&wrong_pin),
    };

    let mut first = Vec::new();
    let initiator =
        Initiator::start_psk_with_ephemeral(ephemeral(ephemeral_secret), PROLOGUE, payload, &psk, &mut first)
            .expect("a payload within the limit is accepted");
    assert!(initiator.is_psk());
    assert_eq!(first.len(), DH_LEN + payload.len() + TAG_LEN);
    let bit = |len: usize| (usize::from(flip) / 8 % len, 1u8 << (flip % 8));
    if tamper % 4 == 2 {
        let (at, mask) = bit(first.len());
        first[at] ^= mask;
        match Responder::read_psk(PROLOGUE, &first) {
            Err(NoiseError::Decrypt) => {}
            other => {
                panic!("a first message with a flipped bit was read: {:?}", other.map(|r| r.remote_payload().to_vec()))
            }
        }
        return;
    }
    let responder = Responder::read_psk(PROLOGUE, &first).expect("an honest first message is read");
    assert_eq!(responder.remote_payload(), payload, "the payload arrived altered");
    let mut server_psk = psk;
    let other_psk = tamper % 4 == 1;
    if other_psk {
        server_psk[usize::from(flip) / 8 % 32] ^= 1 << (flip % 8);
    }
    let mut reply = Vec::new();
    let responder_side = responder
        .finish_psk_with_ephemeral(static_key(), ephemeral(RESPONDER_EPHEMERAL), &server_psk, reply_payload, &mut reply)
        .expect("an honest first message is answered");
    assert_eq!(reply.len(), DH_LEN + DH_LEN + TAG_LEN + reply_payload.len() + TAG_LEN);
    assert_eq!(responder_side.remote_payload, payload);
    let flipped = tamper % 4 == 3;
    if flipped {
        let (at, mask) = bit(reply.len());
        reply[at] ^= mask;
    }
    match (initiator.finish(&reply, pin), other_psk || flipped) {
        (Ok(completed), false) => {
            assert!(pin.is_none_or(|pin| *pin == right_pin), "a wrong pin was accepted");
            assert_eq!(*completed.keys.send, *responder_side.keys.receive);
            assert_eq!(*completed.keys.receive, *responder_side.keys.send);
            assert_ne!(*completed.keys.send, *completed.keys.receive);
            assert_eq!(completed.handshake_hash, responder_side.handshake_hash);
            assert_eq!(completed.remote_static, Some(right_pin));
            assert_eq!(completed.remote_payload, reply_payload);
        }
        (Err(NoiseError::PinMismatch), false) => assert_eq!(pin, Some(&wrong_pin), "the right pin was refused"),
        (Err(error), false) => panic!("an honest AuthOnce reply was refused: {error:?}"),
        (Ok(_), true) => panic!("a reply under another secret or with a flipped bit was accepted"),
        // The secret is mixed in before the payload's tag, which fails first.
        (Err(NoiseError::Decrypt), true) => {}
        (Err(NoiseError::LowOrderPoint), true) if flipped => {}
        (Err(error), true) => panic!("a reply under another secret or with a flipped bit failed with {error:?}"),
    }
}

fn psk_reference(mut input: Input<'_>) {
    let which = input.u8();
    let secret = array32(&mut input);
    let psk = array32(&mut input);
    let payload = input.sized();
    let payload = &payload[..payload.len().min(MAX_PSK_INIT_PAYLOAD)];
    let reply_payload = input.rest();
    let reply_payload = &reply_payload[..reply_payload.len().min(MAX_PAYLOAD)];
    let low_order = which & 1 != 0;
    let e = if low_order {
        LOW_ORDER_POINTS[usize::from(which >> 1) % LOW_ORDER_POINTS.len()]
    } else {
        *ephemeral(secret).public()
    };
    let message = reference_psk_first_message(PROLOGUE, &e, payload);
    if !low_order {
        let mut ours = Vec::new();
        Initiator::start_psk_with_ephemeral(ephemeral(secret), PROLOGUE, payload, &psk, &mut ours)
            .expect("a payload within the limit is accepted");
        assert_eq!(ours, message, "the initiator's first message differs from section 16.3");
    }
    let responder =
        Responder::read_psk(PROLOGUE, &message).expect("a first message built as section 16.3 says is read");
    assert_eq!(responder.remote_payload(), payload);
    let mut out = vec![0x5a];
    match responder.finish_psk_with_ephemeral(
        static_key(),
        ephemeral(RESPONDER_EPHEMERAL),
        &psk,
        reply_payload,
        &mut out,
    ) {
        Ok(completed) => {
            assert!(!low_order, "a low-order ephemeral key was answered");
            assert_eq!(out.len(), 1 + DH_LEN + DH_LEN + TAG_LEN + reply_payload.len() + TAG_LEN);
            assert_eq!(completed.remote_payload, payload);
        }
        Err(NoiseError::LowOrderPoint) => {
            assert!(low_order, "a real ephemeral key was refused as low-order");
            assert_eq!(out, [0x5a], "a refused reply left output behind");
        }
        Err(other) => panic!("finish_psk failed with {other:?}"),
    }
}
