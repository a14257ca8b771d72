//! The message body decoders. The first byte picks the message type; the rest is its body. A body that
//! decodes must re-encode to as many bytes (to the very same bytes when it has no parameters), pass the
//! message's `check`, decode again to an equal message, and be refused when cut short or extended.
//! The room protocol's requests and a master's answer, read from decoded parameters, write back to
//! themselves.

use std::fmt::Debug;

use sealnet::protocol::codec::{CodecError, Limits, DEFAULT_LIMITS};
use sealnet::protocol::message::{
    Connect, ConnectAck, Disconnect, EventData, OperationRequest, OperationResponse, Ping, Pong,
};
use sealnet::rooms::{GameServerAnswer, RoomRequest, OP_CREATE_ROOM, OP_JOIN_RANDOM_ROOM, OP_JOIN_ROOM};

/// Every message body behind one interface.
trait Body: Sized + Debug + PartialEq {
    /// Has a parameter dictionary: keys may come back sorted, and equality must be checked on the
    /// encoding (a NaN value is not equal to itself).
    const HAS_PARAMS: bool;
    /// Ends with an optional field (Connect's and ConnectAck's version range, Pong's server time): a
    /// prefix that stops where it begins is a valid shorter message, and one byte more is a truncated
    /// field rather than a trailing byte.
    const OPTIONAL_TAIL: bool;
    fn decode(body: &[u8], limits: &Limits) -> Result<Self, CodecError>;
    fn encode(&self, out: &mut Vec<u8>);
    fn check(&self, limits: &Limits) -> Result<(), CodecError>;
}

macro_rules! body {
    ($($message:ty, $has_params:expr, $optional_tail:expr, |$m:ident, $l:ident| $check:expr;)*) => {$(
        impl Body for $message {
            const HAS_PARAMS: bool = $has_params;
            const OPTIONAL_TAIL: bool = $optional_tail;
            fn decode(body: &[u8], limits: &Limits) -> Result<Self, CodecError> {
                <$message>::decode(body, limits)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                <$message>::encode(self, out)
            }
            #[allow(unused_variables)]
            fn check(&self, limits: &Limits) -> Result<(), CodecError> {
                let ($m, $l) = (self, limits);
                $check
            }
        }
    )*};
}

body! {
    Connect, false, true, |m, l| m.check();
    ConnectAck, false, true, |m, l| m.check();
    OperationRequest, true, false, |m, l| m.check(l);
    OperationResponse, true, false, |m, l| m.check(l);
    EventData, true, false, |m, l| m.check(l);
    Ping, false, false, |m, l| Ok(());
    Pong, false, true, |m, l| Ok(());
    Disconnect, false, false, |m, l| m.check();
}

pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    match selector % 8 {
        0 => round_trip::<Connect>(body),
        1 => round_trip::<ConnectAck>(body),
        2 => {
            round_trip::<OperationRequest>(body);
            room_request(body);
        }
        3 => {
            round_trip::<OperationResponse>(body);
            game_server_answer(body);
        }
        4 => round_trip::<EventData>(body),
        5 => round_trip::<Ping>(body),
        6 => round_trip::<Pong>(body),
        _ => round_trip::<Disconnect>(body),
    }
}

fn round_trip<M: Body>(body: &[u8]) {
    let limits = DEFAULT_LIMITS;
    let Ok(message) = M::decode(body, &limits) else {
        return;
    };
    let mut encoded = Vec::with_capacity(body.len());
    message.encode(&mut encoded);
    assert_eq!(encoded.len(), body.len(), "re-encoding {message:?} changed the length");
    if !M::HAS_PARAMS {
        assert_eq!(encoded, body, "re-encoding {message:?} changed the bytes");
    }
    assert_eq!(message.check(&limits), Ok(()), "check refuses the decoded {message:?}");

    let again = M::decode(&encoded, &limits).expect("a re-encoded message decodes");
    let mut twice = Vec::with_capacity(encoded.len());
    again.encode(&mut twice);
    assert_eq!(twice, encoded, "decode(encode(m)) differs from m");
    if !M::HAS_PARAMS {
        assert_eq!(again, message);
    }

    // Nothing may be missing or left over: a prefix never decodes to the same message.
    for cut in [0, encoded.len() / 2, encoded.len().saturating_sub(1)] {
        if cut < encoded.len() {
            match M::decode(&encoded[..cut], &limits) {
                Err(_) => {}
                Ok(shorter) => {
                    assert!(M::OPTIONAL_TAIL, "a {cut}-byte prefix of {message:?} decodes");
                    assert_ne!(shorter, message, "a {cut}-byte prefix of {message:?} decodes to it");
                }
            }
        }
    }
    encoded.push(0);
    let longer = M::decode(&encoded, &limits);
    if M::OPTIONAL_TAIL {
        assert!(longer.is_err(), "one byte more of {message:?} decodes");
    } else {
        assert_eq!(longer.err(), Some(CodecError::TrailingBytes { count: 1 }));
    }
}

/// The room protocol read from a request's parameters (JoinRoom, CreateRoom, JoinRandomRoom): what
/// reads must write back to itself, whatever the operation code the bytes came with.
fn room_request(body: &[u8]) {
    let Ok(request) = OperationRequest::decode(body, &DEFAULT_LIMITS) else { return };
    for op in [OP_JOIN_RANDOM_ROOM, OP_JOIN_ROOM, OP_CREATE_ROOM] {
        if let Ok(read) = RoomRequest::from_operation(op, &request.params) {
            let (written_op, written) = read.to_operation();
            assert_eq!(RoomRequest::from_operation(written_op, &written), Ok(read), "room request of operation {op}");
        }
    }
}

/// A master's answer read from a response's parameters writes back to itself.
fn game_server_answer(body: &[u8]) {
    let Ok(response) = OperationResponse::decode(body, &DEFAULT_LIMITS) else { return };
    if let Some(answer) = GameServerAnswer::from_params(&response.params) {
        let mut written = sealnet::protocol::codec::Params::new();
        answer.insert_into(&mut written);
        assert_eq!(GameServerAnswer::from_params(&written), Some(answer));
    }
}
