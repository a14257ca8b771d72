//! AuthOnce over real sockets (docs/protocol.md section 16): a player authenticates once and receives a
//! secret beside its token, then connects over UDP or TCP with the key exchange bound to that secret and
//! plays without authenticating again; and every way to misuse the token is refused: no secret, a wrong
//! secret, someone else's token, an expired token, a replayed first handshake message.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sealnet::auth::{take_auth_once_secret, AuthType, AuthValues, ServerToken, PARAM_AUTH_ONCE_SECRET, PARAM_NICKNAME};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::MessageType;
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{AuthOnceCredentials, Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::{op_code, return_code, DisconnectReason, StatusCode};
use sealnet_server::auth::token::TokenKeys;
use sealnet_server::auth::{AuthContext, AuthProvider, AuthRequest, ProviderFuture, WebhookOutcome};
use sealnet_server::{Config, RunningServer, Server};
use support::udp::{datagram_config, UdpClient};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

const START_MS: i64 = 1_800_000_000_000;
const HOUR_MS: i64 = 3_600_000;

/// Accepts any connection token "NAME" as the player NAME.
struct Backend;

impl AuthProvider for Backend {
    fn name(&self) -> &str {
        "names"
    }

    fn authenticate(&self, request: AuthRequest) -> ProviderFuture {
        let name = String::from_utf8_lossy(&request.connection_token).into_owned();
        Box::pin(async move {
            WebhookOutcome::Accepted(AuthContext { user_id: format!("user-{name}"), nickname: name, data: Vec::new() })
        })
    }
}

struct Deployment {
    server: RunningServer,
    clock: Arc<AtomicI64>,
}

/// A server that admits nobody unauthenticated, with a fixed token key and a clock the test moves.
async fn deployment() -> Deployment {
    let mut config: Config = test_config();
    config.auth.allow_anonymous = false;
    let clock = Arc::new(AtomicI64::new(START_MS));
    let time = clock.clone();
    let server = start_built(config, move |server: Server| {
        server
            .with_auth_provider(Arc::new(Backend))
            .with_token_keys(TokenKeys::new(vec![(1, Zeroizing::new([4; 32]))]))
            .with_clock(Arc::new(move || time.load(Ordering::SeqCst)))
    })
    .await;
    Deployment { server, clock }
}

/// Authenticates `name` over an encrypted TCP connection, asking for an AuthOnce secret for UDP when
/// `ask` is set: the token, and the secret when one came.
async fn log_in(addr: std::net::SocketAddr, name: &str, ask: bool) -> (ServerToken, Option<Zeroizing<[u8; 32]>>) {
    let mut client = Client::encrypted(addr).await;
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(name.as_bytes()).unwrap();
    if ask {
        values.set_expected_protocol(0).unwrap();
    }
    client.send(op_code::AUTHENTICATE, values.to_request().unwrap().params, SendOptions::ENCRYPTED).await;
    let (mut response, encrypted) = client.response(op_code::AUTHENTICATE).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    assert!(encrypted, "a secret only ever travels protected");
    let token = ServerToken::from_params(&response.params).expect("a token");
    let secret = take_auth_once_secret(&mut response.params);
    assert!(response.params.get(PARAM_AUTH_ONCE_SECRET).is_none());
    (token, secret)
}

fn auth_once_udp(token: &ServerToken, secret: &[u8; 32]) -> SessionConfig {
    SessionConfig { auth_once: Some(AuthOnceCredentials::new(token.bytes.clone(), secret)), ..datagram_config() }
}

async fn udp_player(deployment: &Deployment, config: SessionConfig) -> UdpClient {
    let udp = deployment.server.udp_addr().expect("UDP enabled");
    UdpClient::start_from("127.0.0.1:0".parse().unwrap(), udp, config).await
}

#[tokio::test]
async fn a_player_authenticated_once_connects_over_udp_and_tcp_and_plays_without_authenticating_again() {
    let deployment = deployment().await;
    let addr = deployment.server.local_addr();
    let (token, secret) = log_in(addr, "Ada", true).await;
    let secret = secret.expect("a secret for the player who asked");

    let mut ada = udp_player(&deployment, auth_once_udp(&token, &secret)).await;
    ada.status(StatusCode::EncryptionEstablished).await;
    // No Authenticate: this server refuses rooms to unauthenticated players, and admits Ada.
    let (actor, _) = ada.join("auth-once").await;
    assert_eq!(actor, 1);

    // The same credentials over TCP; the other player sees Ada's nickname from the token.
    let config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(token.bytes.clone(), &secret)),
        ..SessionConfig::default()
    };
    let mut tcp = Client::start(addr, "demo", config).await;
    tcp.status(StatusCode::EncryptionEstablished).await;
    let (actor, actors) = tcp.join("auth-once").await;
    assert_eq!((actor, actors), (2, vec![1, 2]));
    let (join, _) = ada.event().await;
    assert_eq!(join.code, EVENT_JOIN);
    assert_eq!(join.params.get(PARAM_NICKNAME), Some(&Value::String("Ada".into())));
}

#[tokio::test]
async fn a_secret_is_given_only_to_who_asks_and_a_token_without_one_is_refused() {
    let deployment = deployment().await;
    let (token, secret) = log_in(deployment.server.local_addr(), "Bob", false).await;
    assert!(secret.is_none(), "no secret unasked");
    let mut bob = udp_player(&deployment, auth_once_udp(&token, &[9; 32])).await;
    let failed = bob.status(StatusCode::EncryptionFailedToEstablish).await;
    assert_eq!(failed.reason, DisconnectReason::TokenRefused as u16);
    assert!(failed.message.contains("AuthenticationTicketExpired"), "{}", failed.message);
    bob.until_closed().await;
}

#[tokio::test]
async fn a_wrong_secret_or_someone_elses_token_gets_nowhere() {
    let deployment = deployment().await;
    let addr = deployment.server.local_addr();
    let (ada_token, ada_secret) = log_in(addr, "Ada", true).await;
    let (_, eve_secret) = log_in(addr, "Eve", true).await;
    let mut wrong = *ada_secret.unwrap();
    wrong[0] ^= 1;
    for (what, secret) in [("a wrong secret", wrong), ("Eve's own secret with Ada's token", *eve_secret.unwrap())] {
        let mut eve = udp_player(&deployment, auth_once_udp(&ada_token, &secret)).await;
        let failed = eve.status(StatusCode::EncryptionFailedToEstablish).await;
        assert!(failed.message.contains("does not hold this client's secret"), "{what}: {}", failed.message);
        eve.until_closed().await;
        assert!(!eve.session.is_encrypted(), "{what}");
    }
    // Nobody got in as Ada: a room she never joined is empty of her.
    let (token, secret) = log_in(addr, "Cy", true).await;
    let mut cy = udp_player(&deployment, auth_once_udp(&token, &secret.unwrap())).await;
    cy.status(StatusCode::EncryptionEstablished).await;
    assert_eq!(cy.join("ada-never-came").await, (1, vec![1]));
}

#[tokio::test]
async fn an_expired_token_is_refused_as_authentication_ticket_expired() {
    let deployment = deployment().await;
    let (token, secret) = log_in(deployment.server.local_addr(), "Dee", true).await;
    deployment.clock.store(START_MS + HOUR_MS + 1, Ordering::SeqCst);
    let mut dee = udp_player(&deployment, auth_once_udp(&token, &secret.unwrap())).await;
    let failed = dee.status(StatusCode::EncryptionFailedToEstablish).await;
    assert_eq!(failed.reason, DisconnectReason::TokenRefused as u16);
    assert!(failed.message.contains("AuthenticationTicketExpired") && failed.message.contains("32753"));
}

/// Drives a client session over a raw TCP stream until `done`, returning every byte it wrote.
async fn drive(stream: &mut TcpStream, session: &mut Session, done: impl Fn(&SessionEvent) -> bool) -> Vec<u8> {
    let mut written = Vec::new();
    let mut buffer = vec![0; 65_536];
    loop {
        let mut out = Vec::new();
        session.take_output(&mut out);
        stream.write_all(&out).await.unwrap();
        written.extend_from_slice(&out);
        while let Some(event) = session.poll_event() {
            if done(&event) {
                return written;
            }
        }
        let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.expect("the server answers").unwrap();
        assert!(read > 0, "the server closed the connection");
        session.receive(&buffer[..read], Instant::now());
    }
}

#[tokio::test]
async fn a_replayed_first_handshake_message_and_the_frames_after_it_get_an_attacker_nothing() {
    let deployment = deployment().await;
    let addr = deployment.server.local_addr();
    let (token, secret) = log_in(addr, "Ada", true).await;
    let secret = secret.unwrap();

    // Ada connects over TCP and joins a room: an eavesdropper records every byte she sends.
    let config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(token.bytes.clone(), &secret)),
        ..SessionConfig::default()
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut ada = Session::client(config, Instant::now());
    ada.connect("demo", "test", Instant::now()).unwrap();
    let mut recorded = drive(
        &mut stream,
        &mut ada,
        |event| matches!(event, SessionEvent::Status(info) if info.code == StatusCode::EncryptionEstablished),
    )
    .await;
    let mut params = Params::new();
    params.insert(ROOM_NAME, "replayed");
    ada.send_operation(&OperationRequest { op_code: op_code::JOIN_ROOM, params }, SendOptions::ENCRYPTED).unwrap();
    recorded
        .extend(drive(&mut stream, &mut ada, |event| matches!(event, SessionEvent::OperationResponse { .. })).await);
    let frames: Vec<&[u8]> = sealnet::protocol::frame::frames(&recorded).collect();
    assert_eq!(frames[1][1], MessageType::HandshakeInitPsk as u8, "the recording holds the first message");

    // The attacker replays it on a connection of its own, each message once the server answered the
    // one before, as Ada did. The server answers the key exchange (it cannot tell), but the replayed
    // join is sealed under Ada's keys, not this connection's: the connection ends, nothing joins.
    let mut attacker = TcpStream::connect(addr).await.unwrap();
    for (sent, answer) in [(frames[0], MessageType::ConnectAck), (frames[1], MessageType::HandshakeReply)] {
        attacker.write_all(sent).await.unwrap();
        let mut seen = vec![0; 4096];
        let read = tokio::time::timeout(WAIT, attacker.read(&mut seen)).await.expect("an answer").unwrap();
        assert_eq!(seen[..read].get(1), Some(&(answer as u8)), "answered with {answer:?}");
    }
    for frame in &frames[2..] {
        attacker.write_all(frame).await.unwrap();
    }
    let mut seen = Vec::new();
    // Reset or closed: either way the server ends it within the wait.
    let _ = tokio::time::timeout(WAIT, attacker.read_to_end(&mut seen)).await.expect("the server ends the connection");
    let types: Vec<u8> = sealnet::protocol::frame::frames(&seen).map(|frame| frame[1]).collect();
    assert_eq!(types, [MessageType::Disconnect as u8], "only a goodbye, sealed under keys the attacker lacks");
    let (token, secret) = log_in(addr, "Cy", true).await;
    let config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(token.bytes.clone(), &secret.unwrap())),
        ..SessionConfig::default()
    };
    let mut cy = Client::start(addr, "demo", config).await;
    cy.status(StatusCode::EncryptionEstablished).await;
    assert_eq!(cy.join("replayed").await, (2, vec![1, 2]), "only Ada and Cy are in the room");
}

#[tokio::test]
async fn a_token_bound_to_a_secret_admits_nobody_alone() {
    let deployment = deployment().await;
    let addr = deployment.server.local_addr();
    // The AuthOnce exchange shows the token to anyone on the path: alone, it must be worthless.
    let (token, _) = log_in(addr, "Ada", true).await;
    for ask_for_a_secret in [false, true] {
        let mut thief = Client::encrypted(addr).await;
        let mut values = AuthValues::new(AuthType::Token);
        values.set_token(&token.bytes).unwrap();
        if ask_for_a_secret {
            values.set_expected_protocol(0).unwrap();
        }
        let request = values.to_request().unwrap();
        thief.send(request.op_code, request.params, SendOptions::ENCRYPTED).await;
        let (response, _) = thief.response(request.op_code).await;
        assert_eq!(response.return_code, return_code::AUTHENTICATION_TICKET_EXPIRED, "{response:?}");
        assert!(response.params.get(PARAM_AUTH_ONCE_SECRET).is_none());
    }
    // A token without a secret still works alone, as before.
    let (plain, _) = log_in(addr, "Bob", false).await;
    let mut bob = Client::encrypted(addr).await;
    let mut values = AuthValues::new(AuthType::Token);
    values.set_token(&plain.bytes).unwrap();
    let request = values.to_request().unwrap();
    bob.send(request.op_code, request.params, SendOptions::ENCRYPTED).await;
    assert_eq!(bob.response(request.op_code).await.0.return_code, return_code::OK);
}

#[tokio::test]
async fn clear_operations_sent_behind_the_first_message_run_as_nobody() {
    let deployment = deployment().await;
    let addr = deployment.server.local_addr();
    let (token, _) = log_in(addr, "Ada", true).await;
    let (cy_token, cy_secret) = log_in(addr, "Cy", true).await;
    let cy_config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(cy_token.bytes.clone(), &cy_secret.unwrap())),
        ..SessionConfig::default()
    };
    let mut cy = Client::start(addr, "demo", cy_config.clone()).await;
    cy.status(StatusCode::EncryptionEstablished).await;
    assert_eq!(cy.join("behind").await, (1, vec![1]));

    // Ada's token (seen on the path) with a guessed secret, and a clear JoinRoom right behind the
    // first message, before the server answered it.
    let config = SessionConfig {
        auth_once: Some(AuthOnceCredentials::new(token.bytes.clone(), &[0; 32])),
        ..SessionConfig::default()
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut attacker = Session::client(config, Instant::now());
    attacker.connect("demo", "test", Instant::now()).unwrap();
    let mut connect = Vec::new();
    attacker.take_output(&mut connect);
    stream.write_all(&connect).await.unwrap();
    let mut ack = vec![0; 4096];
    let read = tokio::time::timeout(WAIT, stream.read(&mut ack)).await.expect("a ConnectAck").unwrap();
    attacker.receive(&ack[..read], Instant::now());
    let mut burst = Vec::new();
    attacker.take_output(&mut burst);
    assert_eq!(burst[1], MessageType::HandshakeInitPsk as u8);
    let mut params = Params::new();
    params.insert(ROOM_NAME, "behind");
    let mut join = Vec::new();
    OperationRequest { op_code: op_code::JOIN_ROOM, params }.encode(&mut join);
    burst.extend_from_slice(&[2, MessageType::OperationRequest as u8, 0x04, 0]);
    burst.extend_from_slice(&(join.len() as u32).to_be_bytes());
    burst.extend_from_slice(&join);
    // One write: the server reads both frames at once, before it has answered the first.
    stream.write_all(&burst).await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await.expect("the server ends the connection");
    // Refused at once, before any reply: a goodbye in clear naming the violation.
    let frames: Vec<&[u8]> = sealnet::protocol::frame::frames(&rest).collect();
    assert_eq!(frames.len(), 1, "only a Disconnect: {:?}", frames.iter().map(|f| f[1]).collect::<Vec<_>>());
    let (header, header_len) =
        sealnet::protocol::frame::Header::parse(frames[0], sealnet::protocol::frame::DEFAULT_MAX_BODY).unwrap();
    assert_eq!((header.message_type, header.counter), (MessageType::Disconnect, None));
    let notice = sealnet::protocol::message::Disconnect::decode(&frames[0][header_len..], &Default::default()).unwrap();
    assert_eq!(notice.reason, DisconnectReason::ProtocolViolation as u16, "{}", notice.message);

    // Nobody joined as Ada: the next player is actor 2.
    let mut dee = Client::start(addr, "demo", {
        let (token, secret) = log_in(addr, "Dee", true).await;
        SessionConfig {
            auth_once: Some(AuthOnceCredentials::new(token.bytes, &secret.unwrap())),
            ..SessionConfig::default()
        }
    })
    .await;
    dee.status(StatusCode::EncryptionEstablished).await;
    assert_eq!(dee.join("behind").await, (2, vec![1, 2]));
}
