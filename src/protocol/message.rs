//! Bodies of the protocol messages, as they read once any decryption is done.
//!
//! Fixed-width integers are big-endian; strings are a varint byte length followed by UTF-8 and have a
//! per-field maximum, so a peer cannot make the other side buffer more text than the field needs.
//! Every `decode` must consume the whole body: trailing data is refused rather than ignored, so a
//! body has one meaning and nothing can ride along unnoticed.
//!
//! `encode` never fails. Messages built from untrusted or user-supplied text should pass their
//! `check` first, which refuses exactly what the receiving `decode` would refuse.

use super::codec::{check_params, encode_params, put_string, CodecError, Limits, Params, Reader};

pub const MAX_APP_ID: usize = 64;
pub const MAX_CLIENT_VERSION: usize = 32;
pub const MAX_REASON_TEXT: usize = 256;
pub const MAX_DEBUG_MESSAGE: usize = 1024;

/// The protocol versions one end speaks, lowest and highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub min: u8,
    pub max: u8,
}

impl Versions {
    /// What a version-1 client, which sends no range, speaks.
    pub const V1: Versions = Versions { min: 1, max: 1 };

    /// The version two ends share, the highest both speak.
    pub fn common(self, other: Versions) -> Option<u8> {
        let chosen = self.max.min(other.max);
        (chosen >= self.min.max(other.min)).then_some(chosen)
    }
}

/// The client's first request: which application it wants, which build it runs, and (from version 2
/// on) which protocol versions it speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// 1..=[`MAX_APP_ID`] bytes; an empty id is refused with [`CodecError::EmptyAppId`].
    pub app_id: String,
    /// At most [`MAX_CLIENT_VERSION`] bytes.
    pub client_version: String,
    /// `None` from a version-1 client, which speaks version 1 only.
    pub versions: Option<Versions>,
}

/// The server's answer to [`Connect`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectAck {
    /// [`ConnectAck::ACCEPTED`], or why the connection was refused.
    pub reason: u16,
    /// At most [`MAX_REASON_TEXT`] bytes.
    pub message: String,
    /// Present exactly when the Connect carried versions: the server's range and the version chosen
    /// (0 when the connection is refused).
    pub versions: Option<(Versions, u8)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationRequest {
    pub op_code: u8,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperationResponse {
    pub op_code: u8,
    pub return_code: i16,
    /// At most [`MAX_DEBUG_MESSAGE`] bytes. The wire has no separate "absent" marker, so
    /// `Some(String::new())` is sent as, and received as, `None`.
    pub debug_message: Option<String>,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventData {
    pub code: u8,
    pub sender: i32,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pong {
    pub echo_ms: u64,
    /// Version 2: the server's clock when it answered, in milliseconds (server to client only).
    pub server_time_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Disconnect {
    pub reason: u16,
    /// At most [`MAX_REASON_TEXT`] bytes.
    pub message: String,
}

/// Runs `read` over `body` and insists it used every byte.
fn decode_whole<'a, T>(
    body: &'a [u8],
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let mut reader = Reader::new(body);
    let message = read(&mut reader)?;
    reader.finish()?;
    Ok(message)
}

fn check_text(text: &str, max: usize) -> Result<(), CodecError> {
    if text.len() > max {
        return Err(CodecError::StringTooLong { len: text.len() as u64, max });
    }
    Ok(())
}

/// Reads a version range, when the body has one left.
fn versions(reader: &mut Reader<'_>) -> Result<Option<Versions>, CodecError> {
    if reader.remaining() == 0 {
        return Ok(None);
    }
    Ok(Some(Versions { min: reader.u8()?, max: reader.u8()? }))
}

impl Connect {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_string(out, &self.app_id);
        put_string(out, &self.client_version);
        if let Some(versions) = self.versions {
            out.extend_from_slice(&[versions.min, versions.max]);
        }
    }

    /// `limits` is unused: the body has no parameters. It is taken for symmetry with other messages.
    pub fn decode(body: &[u8], _limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            let app_id = reader.string(MAX_APP_ID)?;
            if app_id.is_empty() {
                return Err(CodecError::EmptyAppId);
            }
            let client_version = reader.string(MAX_CLIENT_VERSION)?.to_owned();
            Ok(Self { app_id: app_id.to_owned(), client_version, versions: versions(reader)? })
        })
    }

    pub fn check(&self) -> Result<(), CodecError> {
        check_text(&self.app_id, MAX_APP_ID)?;
        if self.app_id.is_empty() {
            return Err(CodecError::EmptyAppId);
        }
        check_text(&self.client_version, MAX_CLIENT_VERSION)
    }
}

impl ConnectAck {
    pub const ACCEPTED: u16 = 0;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.reason.to_be_bytes());
        put_string(out, &self.message);
        if let Some((versions, chosen)) = self.versions {
            out.extend_from_slice(&[versions.min, versions.max, chosen]);
        }
    }

    /// `limits` is unused: the body has no parameters. It is taken for symmetry with other messages.
    pub fn decode(body: &[u8], _limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            let reason = reader.u16_be()?;
            let message = reader.string(MAX_REASON_TEXT)?.to_owned();
            let versions = match versions(reader)? {
                Some(range) => Some((range, reader.u8()?)),
                None => None,
            };
            Ok(Self { reason, message, versions })
        })
    }

    pub fn check(&self) -> Result<(), CodecError> {
        check_text(&self.message, MAX_REASON_TEXT)
    }
}

impl OperationRequest {
    pub fn encode(&self, out: &mut Vec<u8>) {
        Self::encode_parts(self.op_code, &self.params, out);
    }

    /// Encodes a request from borrowed parts, so a sender holding its parameters elsewhere does not
    /// have to copy them into an `OperationRequest` first.
    pub fn encode_parts(op_code: u8, params: &Params, out: &mut Vec<u8>) {
        out.push(op_code);
        encode_params(params, out);
    }

    pub fn decode(body: &[u8], limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| Ok(Self { op_code: reader.u8()?, params: reader.params(limits)? }))
    }

    pub fn check(&self, limits: &Limits) -> Result<(), CodecError> {
        check_params(&self.params, limits)
    }
}

impl OperationResponse {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.op_code);
        out.extend_from_slice(&self.return_code.to_be_bytes());
        put_string(out, self.debug_message.as_deref().unwrap_or_default());
        encode_params(&self.params, out);
    }

    pub fn decode(body: &[u8], limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            Ok(Self {
                op_code: reader.u8()?,
                return_code: reader.i16_be()?,
                debug_message: Some(reader.string(MAX_DEBUG_MESSAGE)?)
                    .filter(|text| !text.is_empty())
                    .map(str::to_owned),
                params: reader.params(limits)?,
            })
        })
    }

    pub fn check(&self, limits: &Limits) -> Result<(), CodecError> {
        check_text(self.debug_message.as_deref().unwrap_or_default(), MAX_DEBUG_MESSAGE)?;
        check_params(&self.params, limits)
    }
}

impl EventData {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.extend_from_slice(&self.sender.to_be_bytes());
        encode_params(&self.params, out);
    }

    pub fn decode(body: &[u8], limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            Ok(Self { code: reader.u8()?, sender: reader.i32_be()?, params: reader.params(limits)? })
        })
    }

    pub fn check(&self, limits: &Limits) -> Result<(), CodecError> {
        check_params(&self.params, limits)
    }
}

impl Ping {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
    }

    /// `limits` is unused: the body has no parameters. It is taken for symmetry with other messages.
    pub fn decode(body: &[u8], _limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| Ok(Self { timestamp_ms: reader.u64_be()? }))
    }
}

impl Pong {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.echo_ms.to_be_bytes());
        if let Some(server_time_ms) = self.server_time_ms {
            out.extend_from_slice(&server_time_ms.to_be_bytes());
        }
    }

    /// `limits` is unused: the body has no parameters. It is taken for symmetry with other messages.
    pub fn decode(body: &[u8], _limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            let echo_ms = reader.u64_be()?;
            let server_time_ms = if reader.remaining() == 0 { None } else { Some(reader.u64_be()?) };
            Ok(Self { echo_ms, server_time_ms })
        })
    }
}

impl Disconnect {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.reason.to_be_bytes());
        put_string(out, &self.message);
    }

    /// `limits` is unused: the body has no parameters. It is taken for symmetry with other messages.
    pub fn decode(body: &[u8], _limits: &Limits) -> Result<Self, CodecError> {
        decode_whole(body, |reader| {
            Ok(Self { reason: reader.u16_be()?, message: reader.string(MAX_REASON_TEXT)?.to_owned() })
        })
    }

    pub fn check(&self) -> Result<(), CodecError> {
        check_text(&self.message, MAX_REASON_TEXT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{params, same_params};
    use crate::protocol::codec::{Value, DEFAULT_LIMITS};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Every message type behind one interface, so each property below runs for all of them.
    trait Body: Sized + std::fmt::Debug {
        fn encode_to(&self, out: &mut Vec<u8>);
        fn decode_from(body: &[u8]) -> Result<Self, CodecError>;
        /// Equality with floats compared by bit pattern.
        fn same(&self, other: &Self) -> bool;
        /// Ends with an optional field (Connect's and ConnectAck's version range, Pong's server
        /// time), so a prefix that stops where it begins is a shorter valid message.
        const OPTIONAL_TAIL: bool;
    }

    macro_rules! body {
        ($($message:ty, $tail:expr => |$a:ident, $b:ident| $same:expr;)*) => {$(
            impl Body for $message {
                const OPTIONAL_TAIL: bool = $tail;
                fn encode_to(&self, out: &mut Vec<u8>) {
                    self.encode(out)
                }
                fn decode_from(body: &[u8]) -> Result<Self, CodecError> {
                    Self::decode(body, &DEFAULT_LIMITS)
                }
                fn same(&self, other: &Self) -> bool {
                    let ($a, $b) = (self, other);
                    $same
                }
            }
        )*};
    }

    body! {
        Connect, true => |a, b| a == b;
        ConnectAck, true => |a, b| a == b;
        OperationRequest, false => |a, b| a.op_code == b.op_code && same_params(&a.params, &b.params);
        OperationResponse, false => |a, b| {
            (a.op_code, a.return_code, &a.debug_message) == (b.op_code, b.return_code, &b.debug_message)
                && same_params(&a.params, &b.params)
        };
        EventData, false => |a, b| (a.code, a.sender) == (b.code, b.sender) && same_params(&a.params, &b.params);
        Ping, false => |a, b| a == b;
        Pong, true => |a, b| a == b;
        Disconnect, false => |a, b| a == b;
    }

    fn encoded(message: &impl Body) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode_to(&mut out);
        out
    }

    /// Round trip, then every strict prefix and one extra byte must be refused. For a message with an
    /// optional trailing field (a version range, a server time), a prefix that ends where the field
    /// begins is the message without it, so it may decode, but never to the same message, and one
    /// byte more is a truncated field rather than a trailing byte.
    fn assert_wire_exact<M: Body>(message: &M) -> Result<(), TestCaseError> {
        let bytes = encoded(message);
        let decoded = M::decode_from(&bytes);
        prop_assert!(matches!(&decoded, Ok(d) if d.same(message)), "{:?} decoded as {:?}", message, decoded);
        for len in 0..bytes.len() {
            let shorter = M::decode_from(&bytes[..len]);
            if M::OPTIONAL_TAIL {
                prop_assert!(
                    !matches!(&shorter, Ok(d) if d.same(message)),
                    "prefix of {} decoded as {:?}",
                    len,
                    shorter
                );
            } else {
                prop_assert!(shorter.is_err(), "prefix of {} decoded as {:?}", len, shorter);
            }
        }
        let mut longer = bytes;
        longer.push(0);
        if M::OPTIONAL_TAIL {
            prop_assert!(M::decode_from(&longer).is_err());
        } else {
            prop_assert_eq!(M::decode_from(&longer).err(), Some(CodecError::TrailingBytes { count: 1 }));
        }
        Ok(())
    }

    fn versions() -> impl Strategy<Value = Versions> {
        (any::<u8>(), any::<u8>()).prop_map(|(min, max)| Versions { min, max })
    }

    fn connect() -> impl Strategy<Value = Connect> {
        ("[a-z0-9.-]{1,64}", "\\PC{0,8}", proptest::option::of(versions()))
            .prop_map(|(app_id, client_version, versions)| Connect { app_id, client_version, versions })
    }

    fn connect_ack() -> impl Strategy<Value = ConnectAck> {
        (any::<u16>(), "\\PC{0,64}", proptest::option::of((versions(), any::<u8>())))
            .prop_map(|(reason, message, versions)| ConnectAck { reason, message, versions })
    }

    fn operation_request() -> impl Strategy<Value = OperationRequest> {
        (any::<u8>(), params()).prop_map(|(op_code, params)| OperationRequest { op_code, params })
    }

    fn operation_response() -> impl Strategy<Value = OperationResponse> {
        (any::<u8>(), any::<i16>(), proptest::option::of("\\PC{1,64}"), params()).prop_map(
            |(op_code, return_code, debug_message, params)| OperationResponse {
                op_code,
                return_code,
                debug_message,
                params,
            },
        )
    }

    fn event_data() -> impl Strategy<Value = EventData> {
        (any::<u8>(), any::<i32>(), params()).prop_map(|(code, sender, params)| EventData { code, sender, params })
    }

    fn disconnect() -> impl Strategy<Value = Disconnect> {
        (any::<u16>(), "\\PC{0,64}").prop_map(|(reason, message)| Disconnect { reason, message })
    }

    fn decode_all(body: &[u8]) {
        let _ = Connect::decode_from(body);
        let _ = ConnectAck::decode_from(body);
        let _ = OperationRequest::decode_from(body);
        let _ = OperationResponse::decode_from(body);
        let _ = EventData::decode_from(body);
        let _ = Ping::decode_from(body);
        let _ = Pong::decode_from(body);
        let _ = Disconnect::decode_from(body);
    }

    proptest! {
        #[test]
        fn connect_round_trips(message in connect()) {
            prop_assert_eq!(message.check(), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn connect_ack_round_trips(message in connect_ack()) {
            prop_assert_eq!(message.check(), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn operation_request_round_trips(message in operation_request()) {
            prop_assert_eq!(message.check(&DEFAULT_LIMITS), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn operation_response_round_trips(message in operation_response()) {
            prop_assert_eq!(message.check(&DEFAULT_LIMITS), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn event_data_round_trips(message in event_data()) {
            prop_assert_eq!(message.check(&DEFAULT_LIMITS), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn ping_and_pong_round_trip(timestamp_ms in any::<u64>(), server_time_ms in proptest::option::of(any::<u64>())) {
            assert_wire_exact(&Ping { timestamp_ms })?;
            assert_wire_exact(&Pong { echo_ms: timestamp_ms, server_time_ms })?;
        }

        #[test]
        fn disconnect_round_trips(message in disconnect()) {
            prop_assert_eq!(message.check(), Ok(()));
            assert_wire_exact(&message)?;
        }

        #[test]
        fn connect_check_agrees_with_decode(app_id in "[a-z]{0,70}", client_version in "[a-z]{0,40}") {
            let message = Connect { app_id, client_version, versions: None };
            let decoded = Connect::decode_from(&encoded(&message)).map(|_| ());
            prop_assert_eq!(message.check(), decoded);
        }

        #[test]
        fn random_bodies_never_panic(body in vec(any::<u8>(), 0..256)) {
            decode_all(&body);
        }
    }

    #[test]
    fn bodies_match_the_documented_layout() {
        let connect = Connect { app_id: "game".into(), client_version: "1.0".into(), versions: None };
        assert_eq!(encoded(&connect), b"\x04game\x031.0");
        let versions = Some(Versions { min: 1, max: 2 });
        assert_eq!(encoded(&Connect { versions, ..connect }), b"\x04game\x031.0\x01\x02");

        let ack = ConnectAck { reason: 0x0102, message: "hi".into(), versions: None };
        assert_eq!(encoded(&ack), b"\x01\x02\x02hi");
        let versions = Some((Versions { min: 1, max: 2 }, 2));
        assert_eq!(encoded(&ConnectAck { versions, ..ack }), b"\x01\x02\x02hi\x01\x02\x02");

        let mut params = Params::new();
        params.insert(1, -1);
        let request = OperationRequest { op_code: 7, params: params.clone() };
        assert_eq!(encoded(&request), [7, 1, 1, 0x03, 0x01]);

        let response =
            OperationResponse { op_code: 7, return_code: -2, debug_message: Some("no".into()), params: params.clone() };
        assert_eq!(encoded(&response), [7, 0xFF, 0xFE, 2, b'n', b'o', 1, 1, 0x03, 0x01]);

        let event = EventData { code: 3, sender: -2, params };
        assert_eq!(encoded(&event), [3, 0xFF, 0xFF, 0xFF, 0xFE, 1, 1, 0x03, 0x01]);

        let ping = Ping { timestamp_ms: 0x0102_0304_0506_0708 };
        assert_eq!(encoded(&ping), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(encoded(&Pong { echo_ms: 9, server_time_ms: None }), [0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(
            encoded(&Pong { echo_ms: 9, server_time_ms: Some(1) }),
            [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1]
        );

        let disconnect = Disconnect { reason: 4, message: String::new() };
        assert_eq!(encoded(&disconnect), [0, 4, 0]);
    }

    #[test]
    fn empty_app_id_is_refused() {
        let message = Connect { app_id: String::new(), client_version: "1".into(), versions: None };
        assert_eq!(message.check(), Err(CodecError::EmptyAppId));
        assert_eq!(Connect::decode_from(&encoded(&message)), Err(CodecError::EmptyAppId));
    }

    #[test]
    fn oversized_text_fields_are_refused_on_both_sides() {
        let connect = Connect { app_id: "a".repeat(MAX_APP_ID + 1), client_version: String::new(), versions: None };
        let too_long_app_id = CodecError::StringTooLong { len: 65, max: MAX_APP_ID };
        assert_eq!(connect.check(), Err(too_long_app_id));
        assert_eq!(Connect::decode_from(&encoded(&connect)), Err(too_long_app_id));

        let version =
            Connect { app_id: "a".into(), client_version: "v".repeat(MAX_CLIENT_VERSION + 1), versions: None };
        assert!(version.check().is_err());
        assert!(Connect::decode_from(&encoded(&version)).is_err());

        let ack = ConnectAck { reason: 1, message: "m".repeat(MAX_REASON_TEXT + 1), versions: None };
        assert!(ack.check().is_err());
        assert!(ConnectAck::decode_from(&encoded(&ack)).is_err());

        let disconnect = Disconnect { reason: 1, message: "m".repeat(MAX_REASON_TEXT + 1) };
        assert!(disconnect.check().is_err());
        assert!(Disconnect::decode_from(&encoded(&disconnect)).is_err());

        let response = OperationResponse {
            op_code: 1,
            return_code: 0,
            debug_message: Some("d".repeat(MAX_DEBUG_MESSAGE + 1)),
            params: Params::new(),
        };
        let too_long_debug = CodecError::StringTooLong { len: MAX_DEBUG_MESSAGE as u64 + 1, max: MAX_DEBUG_MESSAGE };
        assert_eq!(response.check(&DEFAULT_LIMITS), Err(too_long_debug));
        assert_eq!(OperationResponse::decode_from(&encoded(&response)), Err(too_long_debug));
    }

    #[test]
    fn fields_at_their_maximum_length_are_accepted() {
        let connect =
            Connect { app_id: "a".repeat(MAX_APP_ID), client_version: "v".repeat(MAX_CLIENT_VERSION), versions: None };
        assert_eq!(connect.check(), Ok(()));
        assert_eq!(Connect::decode_from(&encoded(&connect)), Ok(connect));
    }

    #[test]
    fn empty_debug_message_reads_back_as_none() {
        let with_empty =
            OperationResponse { op_code: 1, return_code: 0, debug_message: Some(String::new()), params: Params::new() };
        let without = OperationResponse { debug_message: None, ..with_empty.clone() };
        assert_eq!(encoded(&with_empty), encoded(&without));
        assert_eq!(OperationResponse::decode_from(&encoded(&with_empty)), Ok(without));
    }

    #[test]
    fn params_limits_apply_inside_messages() {
        let mut params = Params::new();
        params.insert(0, Value::Array(vec![Value::Null; 5]));
        let request = OperationRequest { op_code: 1, params };
        let tight = Limits { max_entries: 4, ..DEFAULT_LIMITS };
        let expected = Err(CodecError::TooManyEntries { count: 5, max: 4 });
        assert_eq!(request.check(&tight), expected);
        assert_eq!(OperationRequest::decode(&encoded(&request), &tight).map(|_| ()), expected);
    }

    #[test]
    fn invalid_utf8_in_text_fields_is_refused() {
        assert_eq!(Disconnect::decode_from(&[0, 1, 2, 0xC3, 0x28]), Err(CodecError::InvalidUtf8));
    }
}
