//! The AuthOnce key exchange on a stream server (TCP, docs/protocol.md section 16): a server session
//! fed the input as what a client sent, read by read as `server_session` feeds it, whose host answers
//! each `AuthOnceRequest` by admitting it with the secret the token carries (`wire::token_secret`, with
//! a salt from the input) or by refusing the token; or (one input in four) an honest AuthOnce client
//! against such a server, holding the same secret or another one, or with its token refused, followed
//! by the hosts' commands of `client_session`'s pair mode.
//!
//! Checked, besides everything `server_session` checks (well-formed output, timers, a silent client
//! dropped, a clean close): an AuthOnce request carries a token of 1 to 2048 bytes and never outlives
//! its answer (admitted: Encrypted, or closing with KeyExchangeFailed when no reply can be made;
//! refused: closing, with EncryptionFailedToEstablish and TokenRefused); a HandshakeReply is always
//! `e, s, payload` with the version byte as payload (97 bytes). In pair mode: with the same secret
//! both ends are Encrypted with the same handshake hash and the client knows the server's key; with
//! another secret the client's key exchange fails (KeyExchangeFailed, naming the secret) and the
//! server takes its clear goodbye; a refused token ends both with TokenRefused; nothing honest is
//! refused and operations arrive as sent (section 16.5).

use sealnet::auth::MAX_SERVER_TOKEN;
use sealnet::protocol::frame::{Header, MessageType, TAG_LEN};
use sealnet::protocol::noise::DH_LEN;
use sealnet::protocol::session::{AuthOnceCredentials, Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::{DisconnectReason, PeerState, StatusCode};

use crate::input::{base_time, Input};
use crate::session::{feed, Relay, Schedule};
use crate::wire::{close, frame_type, server_key, statuses, token_secret, AuthOnceAnswer, Outbound, ServerHost};

/// A HandshakeReply's body: `e`, the encrypted static key, the encrypted one-byte payload.
const REPLY_LEN: u32 = (DH_LEN + DH_LEN + TAG_LEN + 1 + TAG_LEN) as u32;

pub fn auth_once_server_session(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    if flags & 3 == 3 {
        return pair(flags, input);
    }
    let salt = input.u8();
    let mut schedule = Schedule::read(&mut input);
    let stream = input.rest();
    let config = SessionConfig {
        gate_key_exchange: flags & 4 != 0,
        max_pending_output: if flags & 0x20 != 0 { 200 } else { SessionConfig::default().max_pending_output },
        ..SessionConfig::default()
    };
    let host = ServerHost {
        refuse_key_exchange: flags & 0x40 != 0,
        echo: flags & 8 != 0,
        auth_once: if flags & 0x10 != 0 { AuthOnceAnswer::Refuse } else { AuthOnceAnswer::Admit { salt } },
        ..ServerHost::default()
    };
    let drain = (flags & 0x80 != 0).then_some(7);

    let mut now = base_time();
    let mut session = Session::server(config, server_key(), now);
    let mut outbound = Outbound::default();
    feed(&mut session, &mut schedule, stream, &mut now, |session, now| {
        let events = host.serve(session, now);
        check_answered(session, &events, host.auth_once);
        check_replies(&outbound.take(session, drain));
    });
    check_replies(&outbound.take(&mut session, None));
    assert_eq!(outbound.partial_len(), 0, "output ended inside a frame");
    close(&mut session);
}

/// An AuthOnce request among `events` was answered as the host chose, and left no session waiting.
fn check_answered(session: &Session, events: &[SessionEvent], answer: AuthOnceAnswer) {
    let Some(at) = events.iter().position(|event| matches!(event, SessionEvent::AuthOnceRequest { .. })) else {
        return;
    };
    let SessionEvent::AuthOnceRequest { token } = &events[at] else { unreachable!("found above") };
    assert!((1..=MAX_SERVER_TOKEN).contains(&token.len()), "a token of {} bytes was reported", token.len());
    assert!(
        !events[at + 1..].iter().any(|event| matches!(event, SessionEvent::AuthOnceRequest { .. })),
        "two AuthOnce requests at once: {events:?}"
    );
    let closing = session.wants_close() || session.is_closed();
    let failures: Vec<_> =
        statuses(&events[at + 1..]).filter(|info| info.code == StatusCode::EncryptionFailedToEstablish).collect();
    match answer {
        AuthOnceAnswer::Admit { .. } => {
            assert!(
                session.is_encrypted() || closing,
                "an admitted AuthOnce exchange left the session without keys: {session:?} {events:?}"
            );
            if session.is_encrypted() {
                assert!(
                    statuses(&events[at + 1..]).any(|info| info.code == StatusCode::EncryptionEstablished),
                    "keys without EncryptionEstablished: {events:?}"
                );
            }
            for info in failures {
                assert_eq!(info.reason, DisconnectReason::KeyExchangeFailed as u16, "{events:?}");
            }
        }
        AuthOnceAnswer::Refuse => {
            assert!(closing, "a refused token left the session open: {session:?}");
            assert!(!session.is_encrypted());
            for info in failures {
                assert_eq!(info.reason, DisconnectReason::TokenRefused as u16, "{events:?}");
            }
        }
    }
    assert_ne!(session.state(), PeerState::Connecting);
}

fn check_replies(frames: &[Vec<u8>]) {
    for frame in frames.iter().filter(|frame| frame_type(frame) == MessageType::HandshakeReply) {
        let (header, _) = Header::parse(frame, u32::MAX).expect("checked when taken");
        assert_eq!(header.body_len, REPLY_LEN, "a HandshakeReply of another size: {header:?}");
    }
}

/// An honest AuthOnce client against the server: the same secret, another one, or a refused token.
fn pair(flags: u8, mut input: Input<'_>) {
    let client_salt = input.u8();
    let token = input.sized();
    let token = if token.is_empty() { &b"t"[..] } else { &token[..token.len().min(MAX_SERVER_TOKEN)] };
    let answer = match (flags >> 2) & 3 {
        0 | 1 => AuthOnceAnswer::Admit { salt: client_salt },
        // A bijection of the salt in `token_secret`: another salt is another secret.
        2 => AuthOnceAnswer::Admit { salt: client_salt ^ 0x01 },
        _ => AuthOnceAnswer::Refuse,
    };
    let auto = flags & 0x10 == 0;
    let secret = token_secret(token, client_salt);
    let client_config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(token.to_vec(), &secret)),
        auto_key_exchange: auto,
        server_key_pin: (flags & 0x20 != 0).then(|| *server_key().public()),
        ..SessionConfig::default()
    };
    let server_config = SessionConfig { gate_key_exchange: flags & 0x40 != 0, ..SessionConfig::default() };
    let host = ServerHost { echo: flags & 0x80 != 0, auth_once: answer, ..ServerHost::default() };
    let mut now = base_time();
    let mut relay = Relay::new(client_config, server_config, host, now);
    relay.client.connect("fuzz-app", "1.0", now).expect("a valid connect request is sent");
    relay.pump(now, None);
    if !auto {
        assert_eq!(relay.client.state(), PeerState::Connected);
        relay.client.establish_encryption(now).expect("a connected client starts its key exchange");
        relay.pump(now, None);
    }

    let has = |list: &[sealnet::protocol::session::StatusInfo], code: StatusCode, reason: DisconnectReason| {
        list.iter().any(|info| info.code == code && info.reason == reason as u16)
    };
    let (client, server) = (&relay.client, &relay.server);
    let states = || format!("{client:?} / {server:?}: {:?} / {:?}", relay.client_statuses, relay.server_statuses);
    match answer {
        AuthOnceAnswer::Admit { salt } if salt == client_salt => {
            assert!(client.is_encrypted() && server.is_encrypted(), "the same secret did not complete: {}", states());
            assert_eq!(client.handshake_hash(), server.handshake_hash());
            assert!(client.handshake_hash().is_some());
            assert_eq!(client.remote_static_key(), Some(server_key().public()));
        }
        AuthOnceAnswer::Admit { .. } => {
            assert!(client.wants_close() && server.wants_close(), "another secret did not end it: {}", states());
            assert!(!client.is_encrypted());
            let failed = relay.client_statuses.iter().find(|info| info.code == StatusCode::EncryptionFailedToEstablish);
            assert!(
                failed
                    .is_some_and(|info| info.reason == DisconnectReason::KeyExchangeFailed as u16
                        && info.message.contains("secret")),
                "a wrong secret was not reported as such: {}",
                states()
            );
            // The server completed its side; the client's goodbye came in clear and was taken.
            assert!(has(&relay.server_statuses, StatusCode::EncryptionEstablished, DisconnectReason::None));
        }
        AuthOnceAnswer::Refuse => {
            assert!(client.wants_close() && server.wants_close(), "a refused token did not end it: {}", states());
            assert!(
                has(&relay.client_statuses, StatusCode::EncryptionFailedToEstablish, DisconnectReason::TokenRefused),
                "a refused token was not reported as such: {}",
                states()
            );
        }
    }
    relay.run(&mut input, &mut now);
    relay.finish(now);
}
