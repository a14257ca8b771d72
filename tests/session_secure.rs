//! The secure message transport (WSS, version 4) and the AuthOnce key exchange (NXpsk2), with client
//! and server sessions wired together in memory: one frame per message on WSS, the token and secret
//! binding of AuthOnce, and every way an AuthOnce exchange must fail.

use std::sync::Arc;
use std::time::Instant;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::{self, Header, MessageType, DEFAULT_MAX_BODY, SECURE_VERSION};
use sealnet::protocol::message::{EventData, OperationRequest};
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{
    AuthOnceCredentials, Session, SessionConfig, SessionError, SessionEvent, StatusInfo, Transport,
};
use sealnet::protocol::status::{op_code, DisconnectReason, PeerState, StatusCode};

fn secure() -> SessionConfig {
    SessionConfig { transport: Transport::Secure, ..SessionConfig::default() }
}

fn statuses(events: &[SessionEvent]) -> Vec<StatusInfo> {
    events
        .iter()
        .filter_map(|event| match event {
            SessionEvent::Status(info) => Some(info.clone()),
            _ => None,
        })
        .collect()
}

/// Moves every frame of `from`'s output to `to`, one message per frame on the secure transport.
fn deliver(from: &mut Session, to: &mut Session, now: Instant) -> usize {
    let mut bytes = Vec::new();
    from.take_output(&mut bytes);
    if to.is_secure_transport() {
        let mut count = 0;
        for frame in frame::frames(&bytes) {
            to.receive_message(frame, now);
            count += 1;
        }
        count
    } else {
        to.receive(&bytes, now);
        usize::from(!bytes.is_empty())
    }
}

struct Pair {
    client: Session,
    server: Session,
    now: Instant,
    client_events: Vec<SessionEvent>,
    server_events: Vec<SessionEvent>,
    /// The secret the server admits an AuthOnce exchange with; `None` refuses the token.
    secret: Option<[u8; 32]>,
}

impl Pair {
    fn new(client: SessionConfig, server: SessionConfig) -> Self {
        let now = Instant::now();
        let key = Arc::new(Keypair::generate().unwrap());
        Pair {
            client: Session::client(client, now),
            server: Session::server(server, key, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            secret: None,
        }
    }

    fn pump(&mut self) {
        for _ in 0..50 {
            let mut moved = deliver(&mut self.client, &mut self.server, self.now) > 0;
            while let Some(event) = self.server.poll_event() {
                moved = true;
                match &event {
                    SessionEvent::ConnectRequest { .. } => self.server.accept(self.now).unwrap(),
                    SessionEvent::AuthOnceRequest { .. } => match self.secret {
                        Some(secret) => self.server.admit_auth_once(&secret).unwrap(),
                        None => self.server.refuse_key_exchange(DisconnectReason::TokenRefused, "expired").unwrap(),
                    },
                    _ => {}
                }
                self.server_events.push(event);
            }
            moved |= deliver(&mut self.server, &mut self.client, self.now) > 0;
            while let Some(event) = self.client.poll_event() {
                moved = true;
                self.client_events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("the sessions never went quiet");
    }
}

#[test]
fn a_secure_connection_is_encrypted_by_tls_at_once_and_carries_the_encrypt_bit_without_a_counter() {
    let mut pair = Pair::new(secure(), secure());
    pair.client.connect("app", "1.0", pair.now).unwrap();
    pair.pump();
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert!(pair.client.is_encrypted() && pair.server.is_encrypted());
    assert_eq!(pair.client.negotiated_version(), Some(SECURE_VERSION));
    let codes: Vec<_> = statuses(&pair.client_events).iter().map(|s| s.code).collect();
    assert_eq!(codes, [StatusCode::Connect, StatusCode::EncryptionEstablished]);
    assert!(statuses(&pair.client_events)[1].message.contains("TLS"));
    assert!(pair.client.remote_static_key().is_none() && pair.client.handshake_hash().is_none());
    // establish_encryption is a no-op that succeeds.
    assert_eq!(pair.client.establish_encryption(pair.now), Ok(()));

    let mut params = Params::new();
    params.insert(1, "secret words");
    let options = SendOptions { encrypt: true, ..SendOptions::RELIABLE };
    pair.client.send_operation(&OperationRequest { op_code: 253, params: params.clone() }, options).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    let (header, header_len) = Header::parse(&bytes, DEFAULT_MAX_BODY).unwrap();
    assert_eq!((header.version, header.encrypted, header.counter), (SECURE_VERSION, true, None));
    assert_eq!(header_len + header.body_len as usize, bytes.len(), "one frame, no tag");
    pair.server.receive_message(&bytes, pair.now);
    match pair.server.poll_event() {
        Some(SessionEvent::OperationRequest { request, encrypted: true, .. }) => assert_eq!(request.params, params),
        other => panic!("expected the request, got {other:?}"),
    }
    // The server relays an encrypted event to this client as such.
    let event = EventData { code: 7, sender: 1, params };
    pair.server.send_event(&event, options).unwrap();
    pair.pump();
    assert!(pair.client_events.iter().any(|e| matches!(e, SessionEvent::Event { encrypted: true, .. })));
}

#[test]
fn must_encrypt_operations_are_satisfied_by_tls_and_large_frames_pass_after_acceptance() {
    let mut pair = Pair::new(secure(), secure());
    pair.client.connect("app", "1.0", pair.now).unwrap();
    pair.pump();
    // Sent without the bit (a browser client may not set it): TLS satisfies the rule.
    let mut params = Params::new();
    params.insert(217, Value::Byte(255));
    params.insert(1, vec![7u8; 64 * 1024]);
    let request = OperationRequest { op_code: op_code::AUTHENTICATE, params };
    // Built by hand: the session would set the bit itself.
    let mut bytes = Vec::new();
    let mut body = Vec::new();
    request.encode(&mut body);
    let mut header = Header::new(MessageType::OperationRequest, body.len() as u32);
    header.version = SECURE_VERSION;
    bytes.resize(header.len(), 0);
    header.write(&mut bytes);
    bytes.extend_from_slice(&body);
    pair.server.receive_message(&bytes, pair.now);
    match pair.server.poll_event() {
        Some(SessionEvent::OperationRequest { request, encrypted: false, .. }) => {
            assert_eq!(request.op_code, op_code::AUTHENTICATE)
        }
        other => panic!("expected the Authenticate, got {other:?}"),
    }
}

fn connected_secure_pair() -> Pair {
    let mut pair = Pair::new(secure(), secure());
    pair.client.connect("app", "1.0", pair.now).unwrap();
    pair.pump();
    assert!(pair.server.is_encrypted());
    pair
}

fn disconnect_reason(server: &mut Session) -> (u16, String) {
    let mut bytes = Vec::new();
    server.take_output(&mut bytes);
    let last = frame::frames(&bytes).last().expect("a Disconnect");
    let (header, header_len) = Header::parse(last, DEFAULT_MAX_BODY).unwrap();
    assert_eq!(header.message_type, MessageType::Disconnect);
    let notice = sealnet::protocol::message::Disconnect::decode(&last[header_len..], &Default::default()).unwrap();
    (notice.reason, notice.message)
}

#[test]
fn a_message_must_hold_exactly_one_whole_frame() {
    let mut frame_bytes = Vec::new();
    {
        let mut client = Session::client(secure(), Instant::now());
        client.connect("app", "1.0", Instant::now()).unwrap();
        client.take_output(&mut frame_bytes);
    }
    // Two frames in one message, and half a frame, each end the connection with a reason.
    for message in [[frame_bytes.clone(), frame_bytes.clone()].concat(), frame_bytes[..frame_bytes.len() - 3].to_vec()]
    {
        let mut server = Session::server(secure(), Arc::new(Keypair::generate().unwrap()), Instant::now());
        server.receive_message(&message, Instant::now());
        assert!(server.wants_close());
        let (reason, text) = disconnect_reason(&mut server);
        assert_eq!(reason, DisconnectReason::ProtocolViolation as u16);
        assert!(text.contains("exactly one whole frame"), "{text}");
    }
}

#[test]
fn no_key_exchange_and_no_authenticated_frame_runs_over_the_secure_transport() {
    let mut pair = connected_secure_pair();
    let mut header = Header::new(MessageType::HandshakeInit, 32);
    header.version = SECURE_VERSION;
    let mut bytes = vec![0u8; header.len()];
    header.write(&mut bytes);
    bytes.extend_from_slice(&[9u8; 32]);
    pair.server.receive_message(&bytes, pair.now);
    assert!(pair.server.wants_close());
    let (reason, text) = disconnect_reason(&mut pair.server);
    assert_eq!(reason, DisconnectReason::ProtocolViolation as u16);
    assert!(text.contains("no key exchange runs over WSS"), "{text}");

    let mut pair = connected_secure_pair();
    let mut header = Header::new(MessageType::OperationRequest, 16);
    header.version = SECURE_VERSION;
    header.counter = Some(0);
    let mut bytes = vec![0u8; header.len()];
    header.write(&mut bytes);
    bytes.extend_from_slice(&[0u8; 16]);
    pair.server.receive_message(&bytes, pair.now);
    let (reason, text) = disconnect_reason(&mut pair.server);
    assert_eq!(reason, DisconnectReason::ProtocolViolation as u16);
    assert!(text.contains("authenticated frame on the secure transport"), "{text}");
}

#[test]
fn a_noise_pin_or_auth_once_credentials_cannot_be_used_over_wss() {
    let now = Instant::now();
    let pinned = SessionConfig { server_key_pin: Some([1; 32]), ..secure() };
    let error = Session::client(pinned, now).connect("app", "1", now).unwrap_err();
    assert!(
        matches!(&error, SessionError::InvalidConnectRequest(text) if text.contains("pin the server's certificate"))
    );
    let once = SessionConfig { auth_once: Some(AuthOnceCredentials::new(vec![1; 40], &[2; 32])), ..secure() };
    assert!(Session::client(once, now).connect("app", "1", now).is_err());
}

#[test]
fn a_stream_client_offering_versions_1_to_2_is_refused_by_a_secure_server() {
    let mut pair = Pair::new(SessionConfig::default(), secure());
    pair.client.connect("app", "1", pair.now).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    pair.server.receive_message(&bytes, pair.now);
    pair.pump();
    let refused = statuses(&pair.client_events);
    assert!(refused.iter().any(|s| s.reason == DisconnectReason::VersionMismatch as u16), "{refused:?}");
}

// ---- AuthOnce ----

const TOKEN: &[u8] = b"a sealed server token, opaque to the client";

fn auth_once(secret: [u8; 32]) -> SessionConfig {
    SessionConfig { auth_once: Some(AuthOnceCredentials::new(TOKEN.to_vec(), &secret)), ..SessionConfig::default() }
}

#[test]
fn the_auth_once_exchange_carries_the_token_and_completes_with_the_same_secret() {
    let mut pair = Pair::new(auth_once([5; 32]), SessionConfig::default());
    pair.secret = Some([5; 32]);
    pair.client.connect("app", "1", pair.now).unwrap();
    pair.pump();
    assert_eq!(pair.client.state(), PeerState::Encrypted);
    assert!(pair.server.is_encrypted());
    let tokens: Vec<_> = pair
        .server_events
        .iter()
        .filter_map(|event| match event {
            SessionEvent::AuthOnceRequest { token } => Some(token.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, [TOKEN.to_vec()]);
    pair.client
        .send_operation(&OperationRequest { op_code: 253, params: Params::new() }, SendOptions::RELIABLE)
        .unwrap();
    pair.pump();
    assert!(pair.server_events.iter().any(|e| matches!(e, SessionEvent::OperationRequest { .. })));
}

#[test]
fn a_wrong_secret_fails_the_exchange_on_the_client_with_a_clear_message() {
    let mut pair = Pair::new(auth_once([5; 32]), SessionConfig::default());
    // The token names another secret (someone else's token, or a wrong secret: the same to the server).
    pair.secret = Some([6; 32]);
    pair.client.connect("app", "1", pair.now).unwrap();
    pair.pump();
    let failed = statuses(&pair.client_events);
    let failure = failed.iter().find(|s| s.code == StatusCode::EncryptionFailedToEstablish).expect("a failure");
    assert!(failure.message.contains("does not hold this client's secret"), "{}", failure.message);
    assert!(!pair.client.is_encrypted());
    // The server never opens a frame of this client: its goodbye comes in clear.
    assert!(!pair.server_events.iter().any(|e| matches!(e, SessionEvent::OperationRequest { .. })));
}

#[test]
fn a_refused_token_tells_the_client_why() {
    let mut pair = Pair::new(auth_once([5; 32]), SessionConfig::default());
    pair.client.connect("app", "1", pair.now).unwrap();
    pair.pump();
    let failed = statuses(&pair.client_events);
    assert!(
        failed
            .iter()
            .any(|s| s.code == StatusCode::EncryptionFailedToEstablish
                && s.reason == DisconnectReason::TokenRefused as u16),
        "{failed:?}"
    );
}

#[test]
fn a_replayed_first_message_gets_an_answer_nobody_can_use() {
    // The victim's exchange, recorded.
    let mut victim = Pair::new(auth_once([5; 32]), SessionConfig::default());
    victim.secret = Some([5; 32]);
    victim.client.connect("app", "1", victim.now).unwrap();
    let mut connect = Vec::new();
    victim.client.take_output(&mut connect);
    victim.server.receive(&connect, victim.now);
    while let Some(event) = victim.server.poll_event() {
        if let SessionEvent::ConnectRequest { .. } = event {
            victim.server.accept(victim.now).unwrap();
        }
    }
    let mut ack = Vec::new();
    victim.server.take_output(&mut ack);
    victim.client.receive(&ack, victim.now);
    let mut init = Vec::new();
    victim.client.take_output(&mut init);
    assert_eq!(Header::parse(&init, DEFAULT_MAX_BODY).unwrap().0.message_type, MessageType::HandshakeInitPsk);

    // An attacker replays Connect and the HandshakeInitPsk to a fresh server session. The prologue
    // binds the ConnectAck, which differs from the victim's only if the server's does: even when the
    // server admits the token, the attacker has neither the secret nor the victim's ephemeral key.
    let now = Instant::now();
    let mut server = Session::server(SessionConfig::default(), Arc::new(Keypair::generate().unwrap()), now);
    server.receive(&connect, now);
    while let Some(event) = server.poll_event() {
        if let SessionEvent::ConnectRequest { .. } = event {
            server.accept(now).unwrap();
        }
    }
    server.receive(&init, now);
    let mut admitted = false;
    while let Some(event) = server.poll_event() {
        if let SessionEvent::AuthOnceRequest { .. } = event {
            server.admit_auth_once(&[5; 32]).unwrap();
            admitted = true;
        }
    }
    assert!(admitted && server.is_encrypted(), "the server cannot tell a replay from the first message");
    // Anything the attacker sends now is refused: a clear operation, or one sealed under a guess.
    let mut forged = Vec::new();
    let mut header = Header::new(MessageType::OperationRequest, 2);
    header.version = 2;
    forged.resize(header.len(), 0);
    header.write(&mut forged);
    forged.extend_from_slice(&[253, 0]);
    server.receive(&forged, now);
    assert!(server.wants_close(), "a clear frame after the keys ends the attacker's connection");
    assert!(
        !std::iter::from_fn(|| server.poll_event()).any(|e| matches!(e, SessionEvent::OperationRequest { .. })),
        "no operation of the attacker is ever taken"
    );
}

#[test]
fn a_stream_session_never_speaks_the_versions_of_other_transports() {
    let now = Instant::now();
    let wide =
        SessionConfig { versions: sealnet::protocol::message::Versions { min: 1, max: 4 }, ..SessionConfig::default() };
    let mut pair = Pair::new(wide.clone(), wide);
    pair.client.connect("app", "1", now).unwrap();
    pair.pump();
    assert_eq!(pair.client.negotiated_version(), Some(2), "TCP stops at version 2");
}

#[test]
fn frames_behind_a_first_key_exchange_message_end_the_connection() {
    let mut pair = Pair::new(auth_once([5; 32]), SessionConfig::default());
    pair.client.connect("app", "1", pair.now).unwrap();
    let mut bytes = Vec::new();
    pair.client.take_output(&mut bytes);
    pair.server.receive(&bytes, pair.now);
    while let Some(SessionEvent::ConnectRequest { .. }) = pair.server.poll_event() {
        pair.server.accept(pair.now).unwrap();
    }
    let mut ack = Vec::new();
    pair.server.take_output(&mut ack);
    pair.client.receive(&ack, pair.now);
    let mut burst = Vec::new();
    pair.client.take_output(&mut burst);
    // A Ping in clear right behind the HandshakeInitPsk, before the server answered it.
    let mut ping = Header::new(MessageType::Ping, 8);
    ping.version = 2;
    let start = burst.len();
    burst.resize(start + ping.len(), 0);
    ping.write(&mut burst[start..]);
    burst.extend_from_slice(&[0; 8]);
    pair.server.receive(&burst, pair.now);
    assert!(pair.server.wants_close(), "the connection ends; nothing waits for the driver's answer");
    assert_eq!(
        pair.server.admit_auth_once(&[5; 32]),
        Err(SessionError::InvalidState("no AuthOnce key exchange is waiting"))
    );
}
