//! A client and a server session wired together in memory, with simulated time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Limits, Params, Value};
use sealnet::protocol::message::Versions;
use sealnet::protocol::message::{Connect, Disconnect, OperationRequest, OperationResponse};
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{OpCodeSet, Session, SessionConfig, SessionError, SessionEvent, StatusInfo};
use sealnet::protocol::status::{return_code, DisconnectReason, PeerState, StatusCode};

struct Pair {
    client: Session,
    server: Session,
    now: Instant,
    server_key: Arc<Keypair>,
    client_events: Vec<SessionEvent>,
    server_events: Vec<SessionEvent>,
    /// Echo every operation back as a response, encrypted as it came.
    echo: bool,
}

impl Pair {
    fn new(client_config: SessionConfig) -> Self {
        let now = Instant::now();
        let server_key = Arc::new(Keypair::generate().unwrap());
        Pair {
            client: Session::client(client_config, now),
            server: Session::server(SessionConfig::default(), server_key.clone(), now),
            now,
            server_key,
            client_events: Vec::new(),
            server_events: Vec::new(),
            echo: true,
        }
    }

    fn connected(client_config: SessionConfig) -> Self {
        let mut pair = Pair::new(client_config);
        pair.client.connect("test-app", "1.0", pair.now).unwrap();
        pair.pump();
        pair
    }

    /// Moves bytes both ways until both sides are quiet, answering the server's events.
    fn pump(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            let mut bytes = Vec::new();
            self.client.take_output(&mut bytes);
            if !bytes.is_empty() {
                moved = true;
                self.server.receive(&bytes, self.now);
            }
            while let Some(event) = self.server.poll_event() {
                moved = true;
                self.serve(&event);
                self.server_events.push(event);
            }
            let mut bytes = Vec::new();
            self.server.take_output(&mut bytes);
            if !bytes.is_empty() {
                moved = true;
                self.client.receive(&bytes, self.now);
            }
            while let Some(event) = self.client.poll_event() {
                moved = true;
                self.client_events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("sessions never went quiet");
    }

    fn serve(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::ConnectRequest { app_id, .. } if app_id == "test-app" => {
                self.server.accept(self.now).unwrap()
            }
            SessionEvent::ConnectRequest { .. } => {
                self.server.refuse(DisconnectReason::UnknownAppId, "unknown app id").unwrap()
            }
            SessionEvent::OperationRequest { request, encrypted, .. } if self.echo => {
                let response = OperationResponse {
                    op_code: request.op_code,
                    return_code: 0,
                    debug_message: None,
                    params: request.params.clone(),
                };
                let options = SendOptions { encrypt: *encrypted, ..SendOptions::RELIABLE };
                // The server may already be closing (replay and tamper tests).
                let _ = self.server.send_response(&response, options);
            }
            _ => {}
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    fn client_statuses(&self) -> Vec<StatusCode> {
        statuses(&self.client_events).into_iter().map(|s| s.code).collect()
    }

    fn server_statuses(&self) -> Vec<StatusInfo> {
        statuses(&self.server_events)
    }

    /// The transports close, as a driver would after `wants_close`.
    fn close_transports(&mut self) {
        self.pump();
        if self.client.wants_close() || self.server.wants_close() {
            self.client.transport_closed(None);
            self.server.transport_closed(None);
        }
        while let Some(event) = self.client.poll_event() {
            self.client_events.push(event);
        }
        while let Some(event) = self.server.poll_event() {
            self.server_events.push(event);
        }
    }
}

fn statuses(events: &[SessionEvent]) -> Vec<StatusInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Status(info) => Some(info.clone()),
            _ => None,
        })
        .collect()
}

fn op(op_code: u8, n: i64) -> OperationRequest {
    let mut params = Params::new();
    params.insert(1, Value::Long(n));
    params.insert(2, Value::String(format!("payload {n}")));
    OperationRequest { op_code, params }
}

fn manual_exchange() -> SessionConfig {
    SessionConfig { auto_key_exchange: false, ..SessionConfig::default() }
}

#[test]
fn connect_and_automatic_key_exchange() {
    let pair = Pair::connected(SessionConfig::default());
    assert_eq!(pair.client_statuses(), vec![StatusCode::Connect, StatusCode::EncryptionEstablished]);
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert!(pair.server.is_encrypted());
    assert_eq!(pair.client.remote_static_key(), Some(pair.server_key.public()));
    assert_eq!(pair.client.handshake_hash(), pair.server.handshake_hash());
}

#[test]
fn manual_key_exchange_when_the_host_asks() {
    let mut pair = Pair::connected(manual_exchange());
    assert_eq!(pair.client_statuses(), vec![StatusCode::Connect]);
    assert_eq!(pair.client.state(), PeerState::Connected);
    pair.client.establish_encryption(pair.now).unwrap();
    assert_eq!(pair.client.state(), PeerState::EstablishingEncryption);
    pair.pump();
    assert_eq!(pair.client_statuses(), vec![StatusCode::Connect, StatusCode::EncryptionEstablished]);
    assert_eq!(pair.client.establish_encryption(pair.now), Err(SessionError::KeyExchangeAlreadyStarted));
}

#[test]
fn ten_thousand_operations_mixing_encrypted_and_plain() {
    let mut pair = Pair::connected(SessionConfig::default());
    for n in 0..10_000i64 {
        let options = SendOptions { encrypt: n % 3 != 0, ..SendOptions::RELIABLE };
        pair.client.send_operation(&op(10, n), options).unwrap();
        if n % 500 == 0 {
            pair.pump();
        }
    }
    pair.pump();
    let requests: Vec<(i64, bool)> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::OperationRequest { request, encrypted, .. } => match request.params.get(1) {
                Some(Value::Long(n)) => Some((*n, *encrypted)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 10_000);
    for (index, (n, encrypted)) in requests.iter().enumerate() {
        assert_eq!(*n, index as i64, "in order");
        assert_eq!(*encrypted, n % 3 != 0, "encryption flag of op {n}");
    }
    let responses: Vec<(i64, bool)> = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::OperationResponse { response, encrypted } => match response.params.get(1) {
                Some(Value::Long(n)) => Some((*n, *encrypted)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(responses.len(), 10_000);
    assert!(responses.iter().enumerate().all(|(i, (n, enc))| *n == i as i64 && *enc == (n % 3 != 0)));
    assert_eq!(pair.client.state(), PeerState::Encrypted);
}

#[test]
fn operations_sent_during_the_key_exchange_go_out_authenticated_afterwards() {
    let mut pair = Pair::new(SessionConfig::default());
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    // Deliver Connect, get ConnectAck back, but hold the handshake reply.
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    pair.server.receive(&bytes, pair.now);
    let event = pair.server.poll_event().unwrap();
    pair.serve(&event);
    let mut bytes = Vec::new();
    pair.server.take_output(&mut bytes);
    pair.client.receive(&bytes, pair.now);
    assert_eq!(pair.client.state(), PeerState::EstablishingEncryption);
    pair.client.send_operation(&op(11, 1), SendOptions::RELIABLE).unwrap();
    assert_eq!(
        pair.client.send_operation(&op(11, 2), SendOptions::ENCRYPTED),
        Err(SessionError::EncryptionNotEstablished)
    );
    pair.pump();
    let got: Vec<bool> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::OperationRequest { encrypted, .. } => Some(*encrypted),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![false]);
    assert!(pair.server.is_encrypted());
}

#[test]
fn encrypt_before_the_exchange_is_refused_with_a_distinct_error() {
    let mut pair = Pair::connected(manual_exchange());
    let err = pair.client.send_operation(&op(10, 1), SendOptions::ENCRYPTED).unwrap_err();
    assert_eq!(err, SessionError::EncryptionNotEstablished);
    assert!(err.to_string().contains("establish encryption first"));
    pair.client.send_operation(&op(10, 1), SendOptions::RELIABLE).unwrap();
}

#[test]
fn must_encrypt_operation_refused_by_sender_without_keys() {
    let mut pair = Pair::connected(manual_exchange());
    let err = pair.client.send_operation(&op(230, 1), SendOptions::RELIABLE).unwrap_err();
    assert_eq!(err, SessionError::MustEncrypt(230));
    assert!(pair.client.pending_output().is_empty(), "nothing was sent");
    pair.client.establish_encryption(pair.now).unwrap();
    pair.pump();
    // With keys, the operation is encrypted even though the options did not ask for it.
    pair.client.send_operation(&op(230, 2), SendOptions::RELIABLE).unwrap();
    pair.pump();
    assert!(pair.server_events.iter().any(|e| matches!(e,
        SessionEvent::OperationRequest { request, encrypted: true, .. } if request.op_code == 230)));
}

#[test]
fn must_encrypt_operation_rejected_by_receiver_when_unencrypted() {
    let lax = SessionConfig { must_encrypt: OpCodeSet::empty(), ..SessionConfig::default() };
    let mut pair = Pair::connected(lax);
    pair.client.send_operation(&op(230, 1), SendOptions::RELIABLE).unwrap();
    pair.pump();
    assert!(!pair.server_events.iter().any(|e| matches!(e, SessionEvent::OperationRequest { .. })));
    let refused = pair.client_events.iter().find_map(|e| match e {
        SessionEvent::OperationResponse { response, .. } => Some(response.clone()),
        _ => None,
    });
    let refused = refused.expect("the server answers");
    assert_eq!(refused.op_code, 230);
    assert_eq!(refused.return_code, return_code::MUST_ENCRYPT);
    assert!(refused.debug_message.unwrap().contains("must be sent encrypted"));
}

#[test]
fn pings_keep_an_idle_connection_alive() {
    let mut pair = Pair::connected(SessionConfig::default());
    for _ in 0..60 {
        pair.advance(Duration::from_millis(500));
        pair.pump();
    }
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert!(pair.client.rtt().is_some());
}

#[test]
fn silent_server_leads_to_timeout_status() {
    let mut pair = Pair::connected(SessionConfig::default());
    // The server stops answering: nothing is delivered any more.
    let mut elapsed = Duration::ZERO;
    while pair.client.state() != PeerState::Disconnecting {
        pair.now += Duration::from_millis(250);
        elapsed += Duration::from_millis(250);
        pair.client.handle_timeout(pair.now);
        let mut discard = Vec::new();
        pair.client.take_output(&mut discard);
        assert!(elapsed <= Duration::from_secs(11), "no timeout after {elapsed:?}");
    }
    assert!(elapsed >= Duration::from_secs(10));
    pair.client.transport_closed(None);
    while let Some(event) = pair.client.poll_event() {
        pair.client_events.push(event);
    }
    assert_eq!(
        pair.client_statuses(),
        vec![
            StatusCode::Connect,
            StatusCode::EncryptionEstablished,
            StatusCode::TimeoutDisconnect,
            StatusCode::Disconnect
        ]
    );
}

#[test]
fn unanswered_connect_times_out() {
    let now = Instant::now();
    let mut client = Session::client(SessionConfig::default(), now);
    client.connect("test-app", "1.0", now).unwrap();
    assert_eq!(client.poll_timeout(), Some(now + Duration::from_secs(10)));
    client.handle_timeout(now + Duration::from_secs(10));
    assert!(client.wants_close());
    assert!(matches!(client.poll_event(), Some(SessionEvent::Status(s)) if s.code == StatusCode::TimeoutDisconnect));
}

#[test]
fn unknown_app_id_is_refused_with_a_reason() {
    let mut pair = Pair::new(SessionConfig::default());
    pair.client.connect("other-app", "1.0", pair.now).unwrap();
    pair.close_transports();
    let statuses = statuses(&pair.client_events);
    assert_eq!(statuses[0].code, StatusCode::DisconnectByServerLogic);
    assert_eq!(statuses[0].reason, DisconnectReason::UnknownAppId as u16);
    assert_eq!(statuses.last().unwrap().code, StatusCode::Disconnect);
}

#[test]
fn pin_mismatch_fails_the_exchange() {
    let config = SessionConfig { server_key_pin: Some([9u8; 32]), ..SessionConfig::default() };
    let mut pair = Pair::connected(config);
    pair.close_transports();
    let statuses = statuses(&pair.client_events);
    assert_eq!(statuses[0].code, StatusCode::Connect);
    assert_eq!(statuses[1].code, StatusCode::EncryptionFailedToEstablish);
    assert!(statuses[1].message.contains("pinned"));
    assert_eq!(statuses.last().unwrap().code, StatusCode::Disconnect);
    assert!(!pair.client.is_encrypted());
    // The client's Disconnect is in clear (it has no keys), and reaches the server as a Disconnect
    // with its reason, not as a protocol violation.
    assert!(pair.server.is_closed());
    let server = pair.server_statuses();
    assert!(!server.iter().any(|s| s.code == StatusCode::ExceptionOnReceive), "{server:?}");
    assert_eq!(server.last().map(|s| s.reason), Some(DisconnectReason::KeyExchangeFailed as u16));
}

#[test]
fn a_clear_disconnect_is_accepted_only_before_the_clients_first_authenticated_frame() {
    // The client gives up while its HandshakeInit is in flight.
    let mut pair = Pair::new(SessionConfig::default());
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    pair.server.receive(&bytes, pair.now);
    while let Some(event) = pair.server.poll_event() {
        pair.serve(&event);
        pair.server_events.push(event);
    }
    let mut ack = Vec::new();
    pair.server.take_output(&mut ack);
    pair.client.receive(&ack, pair.now); // the client answers with HandshakeInit
    let mut init = Vec::new();
    pair.client.take_output(&mut init);
    pair.server.receive(&init, pair.now); // the server installs keys; its reply stays in flight
    assert!(pair.server.is_encrypted());
    pair.client.disconnect(DisconnectReason::ClientRequest, "quit");
    let mut goodbye = Vec::new();
    pair.client.take_output(&mut goodbye);
    pair.server.receive(&goodbye, pair.now);
    pair.close_transports();
    let server = pair.server_statuses();
    assert!(!server.iter().any(|s| s.code == StatusCode::ExceptionOnReceive), "{server:?}");
    assert_eq!(
        server.last().map(|s| (s.reason, s.message.as_str())),
        Some((DisconnectReason::ClientRequest as u16, "quit"))
    );

    // Once the client has sent an authenticated frame, a clear Disconnect is an injection.
    let mut pair = Pair::connected(SessionConfig::default());
    pair.client.send_operation(&op(10, 1), SendOptions::RELIABLE).unwrap();
    pair.pump();
    let disconnect = sealnet::protocol::message::Disconnect { reason: 1, message: String::new() };
    let mut body = Vec::new();
    disconnect.encode(&mut body);
    let mut frame = header(&pair.server, 0x0A, 0x04, body.len() as u32);
    frame.extend_from_slice(&body);
    pair.server.receive(&frame, pair.now);
    pair.close_transports();
    assert!(violation_message(&pair.server_events).contains("unauthenticated frame after the key exchange"));
}

#[test]
fn correct_pin_succeeds() {
    let mut pair = Pair::new(SessionConfig::default());
    let config = SessionConfig { server_key_pin: Some(*pair.server_key.public()), ..SessionConfig::default() };
    pair.client = Session::client(config, pair.now);
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.pump();
    assert_eq!(pair.client_statuses(), vec![StatusCode::Connect, StatusCode::EncryptionEstablished]);
}

/// Flips one bit of an authenticated client frame in flight: the server must disconnect that client
/// with a reason, and the client must learn it.
#[test]
fn tampered_frame_disconnects_with_a_reason() {
    for encrypt in [true, false] {
        let mut pair = Pair::connected(SessionConfig::default());
        pair.client.send_operation(&op(10, 1), SendOptions { encrypt, ..SendOptions::RELIABLE }).unwrap();
        let mut bytes = Vec::new();
        pair.client.take_output(&mut bytes);
        let last = bytes.len() - 20;
        bytes[last] ^= 0x04;
        pair.server.receive(&bytes, pair.now);
        pair.close_transports();
        assert!(!pair.server_events.iter().any(|e| matches!(e, SessionEvent::OperationRequest { .. })));
        let server_status = pair.server_statuses();
        assert!(server_status.iter().any(|s| s.reason == DisconnectReason::AuthenticationFailed as u16));
        let client_status = statuses(&pair.client_events);
        assert!(client_status.iter().any(|s| s.code == StatusCode::DisconnectByServerLogic
            && s.reason == DisconnectReason::AuthenticationFailed as u16));
    }
}

#[test]
fn replayed_frame_disconnects() {
    let mut pair = Pair::connected(SessionConfig::default());
    pair.client.send_operation(&op(10, 1), SendOptions::ENCRYPTED).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    pair.server.receive(&bytes, pair.now);
    pair.server.receive(&bytes, pair.now);
    pair.close_transports();
    let delivered = pair.server_events.iter().filter(|e| matches!(e, SessionEvent::OperationRequest { .. })).count();
    assert_eq!(delivered, 1);
    assert!(pair.server_statuses().iter().any(|s| s.reason == DisconnectReason::Replay as u16));
}

#[test]
fn unauthenticated_frame_after_exchange_is_refused() {
    let mut pair = Pair::connected(manual_exchange());
    // Capture a plain operation frame before keys exist, then replay it after the exchange.
    pair.client.send_operation(&op(10, 1), SendOptions::RELIABLE).unwrap();
    let mut plain = Vec::new();
    pair.client.take_output(&mut plain);
    pair.server.receive(&plain, pair.now);
    pair.client.establish_encryption(pair.now).unwrap();
    pair.pump();
    pair.server.receive(&plain, pair.now);
    assert!(pair.server.wants_close());
    pair.close_transports();
    let last = pair.server_statuses();
    assert!(last
        .iter()
        .any(|s| s.reason == DisconnectReason::ProtocolViolation as u16 && s.message.contains("unauthenticated")));
}

#[test]
fn counter_limit_ends_the_session_instead_of_reusing_a_nonce() {
    let config = SessionConfig { counter_limit: 5, ..SessionConfig::default() };
    let mut pair = Pair::connected(config);
    pair.echo = false;
    for n in 0..5 {
        pair.client.send_operation(&op(10, n), SendOptions::ENCRYPTED).unwrap();
    }
    assert_eq!(pair.client.send_operation(&op(10, 5), SendOptions::ENCRYPTED), Err(SessionError::CounterExhausted));
    assert!(pair.client.wants_close());
    pair.close_transports();
    let delivered = pair.server_events.iter().filter(|e| matches!(e, SessionEvent::OperationRequest { .. })).count();
    assert_eq!(delivered, 5);
    assert!(pair.server_statuses().iter().any(|s| s.reason == DisconnectReason::CounterExhausted as u16));
}

#[test]
fn garbage_input_disconnects_with_protocol_violation() {
    let mut pair = Pair::connected(SessionConfig::default());
    pair.server.receive(&[1, 0x7F, 0, 0, 0, 0, 0, 0], pair.now);
    pair.close_transports();
    let server_status = pair.server_statuses();
    assert!(server_status
        .iter()
        .any(|s| s.code == StatusCode::ExceptionOnReceive && s.reason == DisconnectReason::ProtocolViolation as u16));
    let client = statuses(&pair.client_events);
    assert!(client.iter().any(|s| s.code == StatusCode::DisconnectByServerLogic));
}

#[test]
fn low_order_ephemeral_key_is_refused_by_the_server() {
    let mut pair = Pair::new(manual_exchange());
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.pump();
    let mut frame = vec![pair.server.protocol_version(), 0x03, 1 << 2, 0, 0, 0, 0, 33];
    frame.extend_from_slice(&[0u8; 32]);
    frame.push(1);
    pair.server.receive(&frame, pair.now);
    assert!(pair.server.wants_close());
    assert!(!pair.server.is_encrypted());
    pair.close_transports();
    let server_status = pair.server_statuses();
    assert!(server_status.iter().any(|s| s.code == StatusCode::EncryptionFailedToEstablish));
    assert!(server_status.iter().any(|s| s.message.contains("low-order")));
}

#[test]
fn frames_split_at_every_byte_boundary_reassemble() {
    let mut pair = Pair::connected(SessionConfig::default());
    pair.echo = false;
    pair.client.send_operation(&op(10, 1), SendOptions::ENCRYPTED).unwrap();
    pair.client.send_operation(&op(10, 2), SendOptions::RELIABLE).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    for byte in bytes.chunks(1) {
        pair.server.receive(byte, pair.now);
    }
    while let Some(event) = pair.server.poll_event() {
        pair.server_events.push(event);
    }
    let delivered = pair.server_events.iter().filter(|e| matches!(e, SessionEvent::OperationRequest { .. })).count();
    assert_eq!(delivered, 2);
}

#[test]
fn oversized_params_are_refused_before_sending() {
    let mut pair = Pair::connected(SessionConfig::default());
    let mut params = Params::new();
    params.insert(1, Value::Bytes(vec![0; 300 * 1024]));
    let err = pair.client.send_operation(&OperationRequest { op_code: 1, params }, SendOptions::RELIABLE).unwrap_err();
    assert!(matches!(err, SessionError::Params(_)), "{err:?}");
    let mut params = Params::new();
    for key in 0..3u8 {
        params.insert(key, Value::Bytes(vec![0; 200 * 1024]));
    }
    let err = pair.client.send_operation(&OperationRequest { op_code: 1, params }, SendOptions::RELIABLE).unwrap_err();
    assert!(matches!(err, SessionError::MessageTooLarge { .. }), "{err:?}");
    assert!(pair.client.pending_output().is_empty());
}

#[test]
fn client_disconnect_reaches_the_server() {
    let mut pair = Pair::connected(SessionConfig::default());
    pair.client.disconnect(DisconnectReason::ClientRequest, "bye");
    assert_eq!(pair.client.state(), PeerState::Disconnecting);
    pair.close_transports();
    assert_eq!(pair.client.state(), PeerState::Disconnected);
    assert_eq!(*pair.client_statuses().last().unwrap(), StatusCode::Disconnect);
    assert!(pair.server.is_closed());
}

#[test]
fn debug_output_never_shows_keys() {
    let pair = Pair::connected(SessionConfig::default());
    let text = format!("{:?} {:?} {:?}", pair.client, pair.server, pair.server_key);
    assert!(!text.contains(&sealnet::protocol::noise::hex(&pair.server_key.secret_bytes()[..])));
}

mod malformed_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bytes, before or after the key exchange, never panic a session: they either wait
        /// for more input or close the connection with a reason.
        #[test]
        fn sessions_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                            after_exchange in any::<bool>(),
                                            to_client in any::<bool>()) {
            let mut pair = if after_exchange {
                Pair::connected(SessionConfig::default())
            } else {
                Pair::new(SessionConfig::default())
            };
            if to_client {
                pair.client.receive(&bytes, pair.now);
            } else {
                pair.server.receive(&bytes, pair.now);
            }
            pair.advance(Duration::from_secs(1));
            while pair.client.poll_event().is_some() || pair.server.poll_event().is_some() {}
        }

        /// Valid-looking headers with random bodies exercise the body decoders behind the frame layer.
        #[test]
        fn random_bodies_behind_valid_headers(message_type in 1u8..=10, body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut pair = Pair::new(SessionConfig::default());
            let mut frame = vec![1, message_type, 1 << 2, 0];
            frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
            frame.extend_from_slice(&body);
            pair.server.receive(&frame, pair.now);
            pair.client.connect("test-app", "1.0", pair.now).unwrap();
            pair.client.receive(&frame, pair.now);
            while pair.client.poll_event().is_some() || pair.server.poll_event().is_some() {}
        }
    }
}

#[test]
fn ping_before_the_connection_is_accepted_is_a_violation() {
    let mut pair = Pair::new(SessionConfig::default());
    let mut frame = vec![1, 0x08, 1 << 2, 0, 0, 0, 0, 8];
    frame.extend_from_slice(&42u64.to_be_bytes());
    pair.server.receive(&frame, pair.now);
    assert!(pair.server.wants_close());
    assert!(statuses(&pair.server_events_after_poll())
        .iter()
        .any(|s| s.reason == DisconnectReason::ProtocolViolation as u16));
}

impl Pair {
    fn server_events_after_poll(&mut self) -> Vec<SessionEvent> {
        std::iter::from_fn(|| self.server.poll_event()).collect()
    }
}

/// A fixed header of the protocol version `session` speaks.
fn header(session: &Session, message_type: u8, flags: u8, body_len: u32) -> Vec<u8> {
    let mut frame = vec![session.protocol_version(), message_type, flags, 0];
    frame.extend_from_slice(&body_len.to_be_bytes());
    frame
}

fn violation_message(events: &[SessionEvent]) -> String {
    statuses(events)
        .into_iter()
        .find(|s| s.code == StatusCode::ExceptionOnReceive)
        .map(|s| s.message)
        .unwrap_or_else(|| panic!("no ExceptionOnReceive in {events:?}"))
}

#[test]
fn frames_before_the_key_exchange_are_limited_to_a_few_kilobytes() {
    // The receiver refuses the header alone: none of the 5000 bytes is ever buffered.
    let mut pair = Pair::connected(manual_exchange());
    let oversized = header(&pair.server, 0x05, 1 << 2, 5000);
    pair.server.receive(&oversized, pair.now);
    assert!(pair.server.wants_close());
    let message = violation_message(&pair.server_events_after_poll());
    assert!(message.contains("exceeds the limit of 4096 for frames before the key exchange"), "{message}");

    // The sender refuses to send one, with an error that says what to do.
    let mut pair = Pair::connected(manual_exchange());
    let mut params = Params::new();
    params.insert(1, Value::Bytes(vec![0; 5000]));
    let error = pair.client.send_operation_parts(10, &params, SendOptions::RELIABLE).unwrap_err();
    assert!(matches!(error, SessionError::ClearMessageTooLarge { max: 4096, .. }), "{error:?}");
    assert!(error.to_string().contains("establish encryption first"), "{error}");

    // With keys, large frames are fine.
    let mut pair = Pair::connected(SessionConfig::default());
    pair.client.send_operation_parts(10, &params, SendOptions::RELIABLE).unwrap();
    pair.pump();
    assert!(pair.client_events.iter().any(|e| matches!(e, SessionEvent::OperationResponse { .. })));
}

#[test]
fn a_sequenced_or_fragment_frame_on_tcp_is_refused_as_soon_as_its_header_arrives() {
    for flag in [0x10, 0x20] {
        let mut pair = Pair::connected(manual_exchange());
        let mut frame = header(&pair.server, 0x05, (1 << 2) | flag, 100);
        frame.extend_from_slice(&[0; 12]); // the extension; the 100-byte body never comes
        pair.server.receive(&frame, pair.now);
        assert!(pair.server.wants_close(), "flag {flag:#x}");
        assert!(violation_message(&pair.server_events_after_poll()).contains("extension not allowed"));
    }
}

#[test]
fn a_peer_that_does_not_speak_sealnet_is_named_as_such() {
    let mut client = Session::client(SessionConfig::default(), Instant::now());
    client.connect("test-app", "1.0", Instant::now()).unwrap();
    client.receive(b"HTTP/1.1 400 Bad Request\r\n\r\n", Instant::now());
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    let message = violation_message(&events);
    assert_eq!(message, "the server does not speak the sealnet protocol (it answered like an HTTP server)");

    let mut pair = Pair::new(SessionConfig::default());
    pair.server.receive(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", pair.now);
    let message = violation_message(&pair.server_events_after_poll());
    assert_eq!(message, "the client does not speak the sealnet protocol (it sent TLS)");
}

#[test]
fn frames_queued_during_the_key_exchange_count_against_the_output_bound() {
    let config = SessionConfig { max_pending_output: 10_000, ..manual_exchange() };
    let mut pair = Pair::connected(config);
    pair.client.establish_encryption(pair.now).unwrap();
    let mut params = Params::new();
    params.insert(1, Value::Bytes(vec![0; 1000]));
    let mut queued = 0;
    while pair.client.send_operation_parts(10, &params, SendOptions::RELIABLE).is_ok() {
        queued += 1;
        assert!(queued < 100, "the queue grew past the output bound");
    }
    assert!((9..=11).contains(&queued), "{queued} frames of 1 KB were queued under a 10 KB bound");
}

#[test]
fn huge_timer_settings_never_overflow_the_clock() {
    let huge = SessionConfig {
        disconnect_timeout: Duration::MAX,
        connect_timeout: Duration::MAX,
        ping_interval: Duration::MAX,
        ..SessionConfig::default()
    };
    let mut pair = Pair::new(huge.clone());
    pair.server = Session::server(huge, pair.server_key.clone(), pair.now);
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.pump();
    pair.advance(Duration::from_secs(3600));
    assert!(pair.client.poll_timeout().is_some() && pair.server.poll_timeout().is_some());
    assert_eq!(pair.client.state(), PeerState::Encrypted);
}

#[test]
fn the_key_usage_limit_ends_the_session_with_a_reason() {
    // 64 AES blocks: a handful of small frames.
    let config = SessionConfig { key_usage_limit: 64, ..SessionConfig::default() };
    let mut pair = Pair::connected(config);
    pair.echo = false;
    let mut sent = 0;
    let error = loop {
        match pair.client.send_operation(&op(10, sent), SendOptions::ENCRYPTED) {
            Ok(()) => sent += 1,
            Err(error) => break error,
        }
        assert!(sent < 64, "the limit never applied");
    };
    assert_eq!(error, SessionError::KeyUsageExhausted);
    assert!(sent >= 2, "{sent} frames");
    pair.close_transports();
    let delivered = pair.server_events.iter().filter(|e| matches!(e, SessionEvent::OperationRequest { .. })).count();
    assert_eq!(delivered as i64, sent, "every frame sent before the limit arrived, in order");
    let ended = pair.server_statuses().into_iter().find(|s| s.code == StatusCode::Disconnect).unwrap();
    assert_eq!(ended.reason, DisconnectReason::CounterExhausted as u16);
    assert!(ended.message.contains("key usage limit"), "{}", ended.message);
}

#[test]
fn a_malformed_disconnect_is_answered_like_any_malformed_frame() {
    let mut pair = Pair::connected(manual_exchange());
    // A Disconnect whose message is declared longer than the body holds.
    let mut frame = header(&pair.server, 0x0A, 1 << 2, 3);
    frame.extend_from_slice(&[0, 1, 9]);
    pair.server.receive(&frame, pair.now);
    let server = pair.server_events_after_poll();
    assert!(violation_message(&server).contains("malformed"));
    pair.pump();
    let client = statuses(&pair.client_events);
    assert!(
        client
            .iter()
            .any(|s| s.code == StatusCode::DisconnectByServerLogic
                && s.reason == DisconnectReason::ProtocolViolation as u16),
        "the client is told why: {client:?}"
    );
}

#[test]
fn a_gated_key_exchange_waits_for_the_driver() {
    let mut pair = Pair::new(SessionConfig::default());
    pair.server = Session::server(
        SessionConfig { gate_key_exchange: true, ..SessionConfig::default() },
        pair.server_key.clone(),
        pair.now,
    );
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.pump();
    assert!(pair.server_events.contains(&SessionEvent::KeyExchangeRequest));
    assert_eq!(pair.client.state(), PeerState::EstablishingEncryption, "no reply until admitted");
    pair.server.admit_key_exchange().unwrap();
    pair.pump();
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert!(pair.server.is_encrypted());

    // Refused: the client hears that the key exchange failed, and why.
    let mut pair = Pair::new(SessionConfig::default());
    pair.server = Session::server(
        SessionConfig { gate_key_exchange: true, ..SessionConfig::default() },
        pair.server_key.clone(),
        pair.now,
    );
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.pump();
    pair.server.refuse_key_exchange(DisconnectReason::RateLimited, "too many key exchanges").unwrap();
    pair.close_transports();
    let client = statuses(&pair.client_events);
    assert!(
        client
            .iter()
            .any(|s| s.code == StatusCode::EncryptionFailedToEstablish
                && s.reason == DisconnectReason::RateLimited as u16)
    );
}

fn with_versions(min: u8, max: u8) -> SessionConfig {
    SessionConfig { versions: Versions { min, max }, ..SessionConfig::default() }
}

#[test]
fn both_ends_negotiate_the_highest_version_they_share() {
    let mut pair = Pair::connected(SessionConfig::default());
    assert_eq!((pair.client.protocol_version(), pair.server.protocol_version()), (2, 2));
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert_eq!(pair.client.stats().protocol_version, 2);
    // A version-2 type goes through.
    pair.client
        .send_operation(
            &OperationRequest { op_code: 10, params: Params::from_iter([(1, Value::Byte(7))]) },
            SendOptions::ENCRYPTED,
        )
        .unwrap();
    pair.pump();
    assert!(pair.client_events.iter().any(|e| matches!(e, SessionEvent::OperationResponse { response, .. } if response.params.get(1) == Some(&Value::Byte(7)))));

    // A client that offers versions up to 9 gets 2.
    let mut pair = Pair::connected(with_versions(1, 9));
    assert_eq!(pair.client.protocol_version(), 2);
    pair.pump();
}

#[test]
fn a_version_1_client_gets_a_version_1_connection() {
    let mut pair = Pair::new(with_versions(1, 1));
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    // Exactly a version-1 Connect: no version range after the strings.
    let mut connect = Vec::new();
    pair.client.take_output(&mut connect);
    assert_eq!(connect, [&[1, 0x01, 0x04, 0, 0, 0, 0, 13][..], &[8], b"test-app", &[3], b"1.0"].concat());
    pair.server.receive(&connect, pair.now);
    pair.pump();
    assert_eq!((pair.client.protocol_version(), pair.server.protocol_version()), (1, 1));
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    let byte = Params::from_iter([(1, Value::Byte(7))]);
    let error = pair.client.send_operation_parts(10, &byte, SendOptions::ENCRYPTED).unwrap_err();
    assert!(error.to_string().contains("needs protocol version 2; this connection speaks version 1"), "{error}");
    // The server holds to version 1 as well.
    let event = sealnet::protocol::message::EventData { code: 1, sender: 0, params: byte };
    assert!(pair.server.send_event(&event, SendOptions::ENCRYPTED).is_err());
}

#[test]
fn a_client_from_the_future_is_refused_with_both_ranges() {
    let mut pair = Pair::new(with_versions(3, 5));
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    pair.close_transports();
    let client = statuses(&pair.client_events);
    let refused = client.iter().find(|s| s.code == StatusCode::DisconnectByServerLogic).expect("refused");
    assert_eq!(refused.reason, DisconnectReason::VersionMismatch as u16);
    assert_eq!(
        refused.message,
        "the server speaks protocol versions 1 to 2; this client speaks 3 to 5: update the older one"
    );
    assert!(
        !pair.server_events.iter().any(|e| matches!(e, SessionEvent::ConnectRequest { .. })),
        "the application is not asked"
    );
    let server = pair.server_statuses();
    assert!(server.iter().any(|s| s.reason == DisconnectReason::VersionMismatch as u16));
}

#[test]
fn a_downgraded_connect_ack_does_not_complete_the_key_exchange() {
    let mut pair = Pair::new(SessionConfig::default());
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    let mut connect = Vec::new();
    pair.client.take_output(&mut connect);
    pair.server.receive(&connect, pair.now);
    while let Some(event) = pair.server.poll_event() {
        pair.serve(&event);
    }
    let mut ack = Vec::new();
    pair.server.take_output(&mut ack);
    // Someone on the path changes the chosen version from 2 to 1 (the ack's last byte).
    let last = ack.len() - 1;
    assert_eq!(ack[last], 2);
    ack[last] = 1;
    pair.client.receive(&ack, pair.now);
    pair.pump();
    assert_ne!(pair.client.state(), PeerState::Encrypted);
    assert!(!pair.server.is_encrypted());
}

#[test]
fn version_2_pongs_carry_the_server_clock() {
    let mut pair = Pair::connected(SessionConfig::default());
    assert_eq!(pair.client.server_time_ms(pair.now), None);
    // The first ping is due as soon as the key exchange is done, not a ping interval later.
    assert_eq!(pair.client.poll_timeout(), Some(pair.now));
    pair.advance(Duration::ZERO);
    pair.pump();
    assert!(pair.client.server_time_ms(pair.now).is_some() && pair.client.stats().rtt.is_some());
    pair.advance(Duration::from_millis(1500));
    pair.pump();
    let server_time = pair.client.server_time_ms(pair.now).expect("a pong arrived");
    assert!((1000..=1600).contains(&server_time), "{server_time}");
    let stats = pair.client.stats();
    assert!(stats.rtt.is_some() && stats.frames_sent > 2 && stats.bytes_received > 100, "{stats:?}");

    let mut pair = Pair::connected(with_versions(1, 1));
    pair.advance(Duration::from_millis(1500));
    pair.pump();
    assert_eq!(pair.client.server_time_ms(pair.now), None, "version 1 has no server clock");
    assert!(pair.client.stats().rtt.is_some());
}

#[test]
fn a_server_that_speaks_only_version_1_refuses_a_range_and_the_client_says_why() {
    // A server built before version 2 refuses a Connect with a range as malformed (trailing bytes).
    let mut pair = Pair::new(SessionConfig::default());
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    let mut connect = Vec::new();
    pair.client.take_output(&mut connect);
    let body_start = 8;
    let old_server_view = &connect[body_start..connect.len() - 2];
    assert!(Connect::decode(old_server_view, &Limits::default()).is_ok(), "the range is exactly two bytes more");
    // The old server's answer, in clear with version byte 1.
    let notice =
        Disconnect { reason: DisconnectReason::ProtocolViolation as u16, message: "2 unread trailing bytes".into() };
    let mut body = Vec::new();
    notice.encode(&mut body);
    let mut frame = header(&pair.server, 0x0A, 0x04, body.len() as u32);
    frame.extend_from_slice(&body);
    pair.client.receive(&frame, pair.now);
    pair.close_transports();
    let refused = statuses(&pair.client_events)
        .into_iter()
        .find(|s| s.code == StatusCode::DisconnectByServerLogic)
        .expect("refused");
    assert!(
        refused.message.contains("speaks only protocol version 1 (offer version 1 only to reach it)"),
        "{}",
        refused.message
    );
    assert!(refused.message.ends_with("it said: 2 unread trailing bytes"), "{}", refused.message);
}

#[test]
fn a_debug_message_over_its_limit_is_refused_by_the_sender_not_the_client() {
    let mut pair = Pair::connected(SessionConfig::default());
    let response = OperationResponse {
        op_code: 1,
        return_code: 0,
        debug_message: Some("x".repeat(sealnet::protocol::message::MAX_DEBUG_MESSAGE + 1)),
        params: Params::new(),
    };
    let error = pair.server.send_response(&response, SendOptions::ENCRYPTED).unwrap_err();
    assert!(error.to_string().contains("exceeds the limit of 1024"), "{error}");
    pair.pump();
    assert_eq!(pair.client.state(), PeerState::Encrypted, "the client never saw it");
}

/// The server's answer to a fresh client's Connect, taken off the wire (not delivered).
fn connect_ack_in_flight(pair: &mut Pair) -> Vec<u8> {
    pair.client.connect("test-app", "1.0", pair.now).unwrap();
    let mut connect = Vec::new();
    pair.client.take_output(&mut connect);
    pair.server.receive(&connect, pair.now);
    while let Some(event) = pair.server.poll_event() {
        pair.serve(&event);
        pair.server_events.push(event);
    }
    let mut ack = Vec::new();
    pair.server.take_output(&mut ack);
    ack
}

#[test]
fn a_connect_ack_stripped_of_its_versions_or_choosing_lower_is_refused_at_once() {
    // Without a key exchange nothing else would notice: the client refuses on the ConnectAck.
    let manual = || SessionConfig { auto_key_exchange: false, ..SessionConfig::default() };
    let mut pair = Pair::new(manual());
    let mut ack = connect_ack_in_flight(&mut pair);
    ack.truncate(ack.len() - 3);
    let body_len = (ack.len() - 8) as u32;
    ack[4..8].copy_from_slice(&body_len.to_be_bytes());
    pair.client.receive(&ack, pair.now);
    pair.close_transports();
    assert!(violation_message(&pair.client_events).contains("accepted a version range without naming a version"));
    assert_ne!(pair.client.state(), PeerState::Connected);

    let mut pair = Pair::new(manual());
    let mut ack = connect_ack_in_flight(&mut pair);
    *ack.last_mut().unwrap() = 1; // both speak 2, yet 1 "chosen"
    pair.client.receive(&ack, pair.now);
    pair.close_transports();
    let message = violation_message(&pair.client_events);
    assert!(message.contains("the server chose protocol version 1 from its versions 1 to 2"), "{message}");
}

#[test]
fn a_client_that_leaves_while_the_accepting_connect_ack_is_in_flight_says_so_in_version_1() {
    let mut pair = Pair::new(SessionConfig::default());
    let _ack = connect_ack_in_flight(&mut pair);
    assert_eq!(pair.server.protocol_version(), 2, "the server has switched");
    pair.client.disconnect(DisconnectReason::ClientRequest, "changed my mind");
    let mut goodbye = Vec::new();
    pair.client.take_output(&mut goodbye);
    assert_eq!(goodbye[0], 1, "the client has not switched");
    pair.server.receive(&goodbye, pair.now);
    pair.close_transports();
    let server = pair.server_statuses();
    assert!(!server.iter().any(|s| s.code == StatusCode::ExceptionOnReceive), "{server:?}");
    assert_eq!(server.last().map(|s| s.reason), Some(DisconnectReason::ClientRequest as u16));
}
