//! The two halves of the Noise NX handshake with fixed keys, so every input is reproducible.

use std::sync::OnceLock;

use sealnet::protocol::frame::TAG_LEN;
use sealnet::protocol::noise::{
    respond_with_ephemeral, Initiator, Keypair, NoiseError, DH_LEN, MAX_INIT_LEN, MAX_PAYLOAD, MAX_REPLY_LEN,
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
