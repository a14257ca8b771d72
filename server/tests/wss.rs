//! The WSS transport end to end over loopback: WSS, TCP and UDP players in one room, the relay rule
//! for encrypted events, authentication without the Encrypt bit, hostile input at every layer (TLS,
//! the upgrade, WebSocket, sealnet) while another WSS player carries on, plain WebSocket only where
//! allowed, and the certificate from PEM files or made at start, whose printed fingerprint is the
//! one served.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sealnet::auth::{AuthType, AuthValues, ServerToken};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::{frames, Header, MessageType, SECURE_VERSION};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, StatusInfo, Transport};
use sealnet::protocol::status::{op_code, return_code, DisconnectReason, StatusCode};
use sealnet_server::{Config, RunningServer, WssInfo};
use sha2::{Digest, Sha256};
use support::udp::UdpClient;
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

const BIN: &str = env!("CARGO_BIN_EXE_sealnet-server");

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

fn secure_config() -> SessionConfig {
    SessionConfig { transport: Transport::Secure, ..SessionConfig::default() }
}

fn wss_config() -> Config {
    let mut config = test_config();
    config.admin.listen = "127.0.0.1:0".into();
    config
}

/// Accepts the server's certificate when its SHA-256 is the pinned one, and records what it saw; the
/// handshake's signatures are still checked.
#[derive(Debug)]
struct Pinned {
    sha256: Option<[u8; 32]>,
    seen: Mutex<Option<[u8; 32]>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let sha256: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        *self.seen.lock().unwrap() = Some(sha256);
        match self.sha256 {
            Some(pin) if pin != sha256 => Err(rustls::Error::General("certificate fingerprint mismatch".into())),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pinned_connector(sha256: Option<[u8; 32]>) -> (TlsConnector, Arc<Pinned>) {
    let pinned = Arc::new(Pinned { sha256, seen: Mutex::new(None), provider: provider() });
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(pinned.clone())
        .with_no_client_auth();
    (TlsConnector::from(Arc::new(config)), pinned)
}

/// TLS to the WSS listener, pinning the certificate the server announced.
async fn tls(info: &WssInfo) -> tokio_rustls::client::TlsStream<TcpStream> {
    let (connector, _) = pinned_connector(info.certificate_sha256);
    let tcp = TcpStream::connect(info.address).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(WAIT, connector.connect(name, tcp)).await.expect("TLS in time").expect("TLS handshake")
}

/// The WebSocket upgrade over TLS (or over plain TCP for a ws:// URL).
async fn websocket(info: &WssInfo, path: &str) -> WebSocketStream<Box<dyn Io>> {
    let stream: Box<dyn Io> = match info.certificate_sha256 {
        Some(_) => Box::new(tls(info).await),
        None => Box::new(TcpStream::connect(info.address).await.unwrap()),
    };
    let url = format!("ws://localhost:{}{path}", info.address.port());
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("upgrade in time")
        .expect("WebSocket upgrade");
    ws
}

/// A WSS test client: a client-role `Session` in secure mode, one frame per binary message.
struct WssClient {
    session: Session,
    ws: WebSocketStream<Box<dyn Io>>,
    inbox: std::collections::VecDeque<SessionEvent>,
    statuses: Vec<StatusInfo>,
    status_inbox: std::collections::VecDeque<StatusInfo>,
    /// The server's WebSocket close, once it came.
    close: Option<Option<CloseFrame>>,
}

impl WssClient {
    /// Upgrades and sends Connect; does not wait for the answer.
    async fn start(info: &WssInfo) -> WssClient {
        let ws = websocket(info, "/").await;
        let now = Instant::now();
        let mut session = Session::client(secure_config(), now);
        session.connect("demo", "test", now).expect("connect queued");
        let mut client = WssClient {
            session,
            ws,
            inbox: Default::default(),
            statuses: Vec::new(),
            status_inbox: Default::default(),
            close: None,
        };
        client.write().await;
        client
    }

    /// Connects and waits until the connection counts as encrypted (at once over WSS).
    async fn connected(info: &WssInfo) -> WssClient {
        let mut client = Self::start(info).await;
        client.status(StatusCode::EncryptionEstablished).await;
        assert!(client.session.is_encrypted());
        client
    }

    /// Sends each frame of the session's output as a binary message of its own.
    async fn write(&mut self) {
        if self.session.pending_output().is_empty() {
            return;
        }
        let mut output = Vec::new();
        self.session.take_output(&mut output);
        for frame in frames(&output) {
            if self.ws.feed(Message::Binary(Bytes::copy_from_slice(frame))).await.is_err() {
                return;
            }
        }
        let _ = self.ws.flush().await;
    }

    async fn pump(&mut self) {
        self.write().await;
        if self.session.wants_close() {
            let _ = self.ws.close(None).await;
            self.session.transport_closed(None);
            self.collect();
            return;
        }
        assert!(!self.session.is_closed(), "the connection is closed; nothing more will arrive");
        let timer = self.session.poll_timeout();
        tokio::select! {
            message = self.ws.next() => match message {
                Some(Ok(Message::Binary(data))) => self.session.receive_message(&data, Instant::now()),
                Some(Ok(Message::Close(frame))) => {
                    self.close = Some(frame);
                    // The answer to the server's close.
                    let _ = self.ws.flush().await;
                    self.session.transport_closed(None);
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    self.session.transport_closed(Some((StatusCode::ExceptionOnReceive, &error.to_string())))
                }
                None => self.session.transport_closed(None),
            },
            _ = sleep_until(timer) => self.session.handle_timeout(Instant::now()),
        }
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::Status(status) => {
                    self.statuses.push(status.clone());
                    self.status_inbox.push_back(status);
                }
                other => self.inbox.push_back(other),
            }
        }
    }

    async fn next(&mut self) -> SessionEvent {
        let next = async {
            loop {
                if let Some(event) = self.inbox.pop_front() {
                    return event;
                }
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, next).await.expect("an event in time")
    }

    async fn status(&mut self, code: StatusCode) -> StatusInfo {
        let found = async {
            loop {
                while let Some(status) = self.status_inbox.pop_front() {
                    if status.code == code {
                        return status;
                    }
                }
                self.pump().await;
            }
        };
        match tokio::time::timeout(WAIT, found).await {
            Ok(status) => status,
            Err(_) => panic!("no {code:?} status in time; statuses so far: {:?}", self.statuses),
        }
    }

    /// Drives the connection until it is closed, keeping what arrives.
    async fn until_closed(&mut self) {
        let closed = async {
            while !self.session.is_closed() {
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, closed).await.expect("the connection closes in time");
    }

    async fn send(&mut self, op: u8, params: Params, options: SendOptions) {
        self.session.send_operation(&OperationRequest { op_code: op, params }, options).expect("operation queued");
        self.write().await;
    }

    async fn response(&mut self, op: u8) -> (OperationResponse, bool) {
        match self.next().await {
            SessionEvent::OperationResponse { response, encrypted } if response.op_code == op => (response, encrypted),
            other => panic!("expected a response to operation {op}, got {other:?}"),
        }
    }

    async fn event(&mut self) -> (EventData, bool) {
        match self.next().await {
            SessionEvent::Event { event, encrypted } => (event, encrypted),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    async fn join(&mut self, room: &str) -> (i32, Vec<i32>) {
        let mut params = Params::new();
        params.insert(ROOM_NAME, room);
        self.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
        let (response, _) = self.response(op_code::JOIN_ROOM).await;
        assert_eq!(response.return_code, 0, "join refused: {:?}", response.debug_message);
        (int(response.params.get(ACTOR_NR)), ints(response.params.get(ACTOR_LIST)))
    }

    async fn join_and_settle(&mut self, room: &str) -> (i32, Vec<i32>) {
        let joined = self.join(room).await;
        let (event, _) = self.event().await;
        assert_eq!((event.code, event.sender), (EVENT_JOIN, joined.0));
        joined
    }

    async fn raise(&mut self, code: i32, data: Option<Value>, options: SendOptions) {
        let mut params = Params::new();
        params.insert(CODE, code);
        if let Some(data) = data {
            params.insert(DATA, data);
        }
        self.send(op_code::RAISE_EVENT, params, options).await;
    }

    /// Sends a raw WebSocket message, bypassing the session.
    async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// Drives the connection until the server closed it, its WebSocket close included; returns the
    /// reason of its Disconnect.
    async fn disconnect_reason(&mut self) -> (u16, String) {
        self.until_closed().await;
        let closed = async {
            while self.close.is_none() {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => self.close = Some(frame),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        };
        tokio::time::timeout(WAIT, closed).await.expect("the WebSocket closes in time");
        let status = self
            .statuses
            .iter()
            .find(|status| status.code == StatusCode::DisconnectByServerLogic)
            .unwrap_or_else(|| panic!("no Disconnect from the server; statuses: {:?}", self.statuses));
        (status.reason, status.message.clone())
    }
}

fn text(value: &str) -> Option<Value> {
    Some(Value::String(value.into()))
}

fn data(event: &EventData) -> Option<&Value> {
    event.params.get(DATA)
}

/// A frame header as bytes, version 4.
fn secure_frame(message_type: MessageType, flags_body: impl FnOnce(&mut Header), body: &[u8]) -> Vec<u8> {
    let mut header = Header::new(message_type, body.len() as u32);
    header.version = SECURE_VERSION;
    flags_body(&mut header);
    let mut frame = vec![0u8; header.len()];
    header.write(&mut frame);
    frame.extend_from_slice(body);
    frame
}

/// The TCP client's next event while the UDP client keeps its connection going.
async fn tcp_event(tcp: &mut Client, udp: &mut UdpClient) -> EventData {
    tokio::select! {
        (event, _) = tcp.event() => event,
        never = udp.drive() => never,
    }
}

/// The WSS client's next event while the UDP client keeps its connection going.
async fn wss_event(wss: &mut WssClient, udp: &mut UdpClient) -> (EventData, bool) {
    tokio::select! {
        event = wss.event() => event,
        never = udp.drive() => never,
    }
}

fn wss_metric(text: &str, family: &str, label: &str) -> u64 {
    let prefix = format!("{family}{{{label}}} ");
    text.lines().find_map(|line| line.strip_prefix(&prefix)).map_or(0, |value| value.parse().unwrap())
}

/// Scrapes until every `(family, label)` has its count (a connection is counted once its socket is
/// gone, which the client may see first).
async fn metrics_reach(server: &RunningServer, expected: &[(&str, &str, u64)]) {
    metrics_until(server.admin_addr().unwrap(), |text| {
        expected.iter().all(|(family, label, count)| wss_metric(text, family, label) == *count)
    })
    .await;
}

#[tokio::test]
async fn wss_tcp_and_udp_players_share_a_room_and_exchange_events_every_way() {
    let server = start_server(wss_config()).await;
    let info = server.wss().expect("WSS is on by default").clone();
    assert!(info.self_signed && info.certificate_sha256.is_some());
    assert_eq!(info.url, format!("wss://{}/", info.address));
    assert_ne!(info.address.port(), server.local_addr().port());

    let mut wss = WssClient::connected(&info).await;
    assert_eq!(wss.session.protocol_version(), SECURE_VERSION);
    let established = wss.statuses.iter().find(|s| s.code == StatusCode::EncryptionEstablished).unwrap();
    assert_eq!(established.message, "TLS protects the connection (WSS); no key exchange runs");
    assert_eq!(
        wss.statuses.iter().map(|s| s.code).collect::<Vec<_>>(),
        [StatusCode::Connect, StatusCode::EncryptionEstablished]
    );
    let mut tcp = Client::encrypted(server.local_addr()).await;
    let mut udp = UdpClient::encrypted(server.udp_addr().unwrap()).await;

    let (wss_actor, _) = wss.join_and_settle("mixed").await;
    let (tcp_actor, _) = tcp.join_and_settle("mixed").await;
    let (joined, _) = wss.event().await;
    assert_eq!((joined.code, joined.sender), (EVENT_JOIN, tcp_actor));
    let (udp_actor, actors) = udp.join_and_settle("mixed").await;
    assert_eq!(actors, vec![wss_actor, tcp_actor, udp_actor]);
    let (joined, _) = wss_event(&mut wss, &mut udp).await;
    assert_eq!((joined.code, joined.sender), (EVENT_JOIN, udp_actor));
    let joined = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((joined.code, joined.sender), (EVENT_JOIN, udp_actor));

    // From WSS, encrypted, to both.
    wss.raise(7, text("from wss"), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((event.code, event.sender, data(&event)), (7, wss_actor, text("from wss").as_ref()));
    let (event, encrypted) = udp.event().await;
    assert_eq!((event.code, event.sender, encrypted), (7, wss_actor, true));

    // From TCP and from UDP to WSS, encrypted and not (the UDP player's copies are looked at last).
    tcp.raise(8, text("from tcp"), None, SendOptions::ENCRYPTED).await;
    let (event, encrypted) = wss_event(&mut wss, &mut udp).await;
    assert_eq!((event.code, event.sender, encrypted), (8, tcp_actor, true));
    assert_eq!(data(&event), text("from tcp").as_ref());
    tcp.raise(9, text("plain from tcp"), None, SendOptions::RELIABLE).await;
    let (event, encrypted) = wss_event(&mut wss, &mut udp).await;
    assert_eq!((event.code, event.sender, encrypted), (9, tcp_actor, false));
    udp.raise(10, text("from udp"), SendOptions::ENCRYPTED).await;
    let (event, encrypted) = wss_event(&mut wss, &mut udp).await;
    assert_eq!((event.code, event.sender, encrypted), (10, udp_actor, true));
    assert_eq!(data(&event), text("from udp").as_ref());
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((event.code, event.sender), (10, udp_actor));

    // A message larger than a TLS record and the WebSocket read buffer (within the event data limit),
    // both ways.
    let blob = Value::Bytes((0..30_000u32).map(|i| (i % 251) as u8).collect());
    wss.raise(11, Some(blob.clone()), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!(event.code, 11, "{event:?}");
    assert!(data(&event) == Some(&blob));
    tcp.raise(12, Some(blob.clone()), None, SendOptions::ENCRYPTED).await;
    let (event, _) = wss_event(&mut wss, &mut udp).await;
    assert!(event.code == 12 && data(&event) == Some(&blob));
    for code in [8, 9, 11, 12] {
        let (event, _) = udp.event().await;
        assert_eq!(event.code, code);
    }

    // A clean leave: the others hear it.
    wss.session.disconnect(DisconnectReason::ClientRequest, "bye");
    wss.until_closed().await;
    let left = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((left.code, left.sender), (EVENT_LEAVE, wss_actor));

    // TLS stands in for the key exchange: only the TCP and UDP players' count.
    metrics_reach(
        &server,
        &[
            ("sealnet_wss_connections_total", "outcome=\"accepted\"", 1),
            ("sealnet_wss_connections_total", "outcome=\"established\"", 1),
            ("sealnet_key_exchanges_total", "outcome=\"established\"", 2),
        ],
    )
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn wss_players_move_to_their_rooms_shards_and_go_on() {
    let mut config = wss_config();
    // More shards than one: most joins below move the joiner to the room's shard, TLS and all.
    config.workers = 4;
    let server = start_server(config).await;
    let info = server.wss().unwrap().clone();
    for room in 0..8 {
        let name = format!("room-{room}");
        let mut wss = WssClient::connected(&info).await;
        let mut tcp = Client::encrypted(server.local_addr()).await;
        let (wss_actor, _) = wss.join_and_settle(&name).await;
        let (tcp_actor, _) = tcp.join_and_settle(&name).await;
        let (joined, _) = wss.event().await;
        assert_eq!(joined.sender, tcp_actor);
        wss.raise(1, text("there"), SendOptions::ENCRYPTED).await;
        let (event, _) = tcp.event().await;
        assert_eq!((event.code, event.sender), (1, wss_actor));
        tcp.raise(2, text("back"), None, SendOptions::ENCRYPTED).await;
        let (event, _) = wss.event().await;
        assert_eq!((event.code, event.sender), (2, tcp_actor));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_event_raised_encrypted_over_wss_reaches_encrypted_players_only_and_clear_events_reach_wss() {
    let server = start_server(wss_config()).await;
    let info = server.wss().unwrap().clone();
    let mut wss = WssClient::connected(&info).await;
    let mut keyed = Client::encrypted(server.local_addr()).await;
    let mut clear = Client::plain(server.local_addr()).await;
    let (wss_actor, _) = wss.join_and_settle("rule").await;
    let (keyed_actor, _) = keyed.join_and_settle("rule").await;
    let (clear_actor, _) = clear.join_and_settle("rule").await;
    for _ in 0..2 {
        wss.event().await;
    }
    keyed.event().await;

    wss.raise(1, text("secret"), SendOptions::ENCRYPTED).await;
    // The sender hears that the clear player was left out.
    let (response, _) = wss.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.params.get(SKIPPED), Some(&Value::Int(1)), "{response:?}");
    assert!(response.debug_message.as_deref().is_some_and(|m| m.contains("no encryption keys")), "{response:?}");
    wss.raise(2, text("public"), SendOptions::RELIABLE).await;
    let (event, encrypted) = keyed.event().await;
    assert_eq!((event.code, event.sender, encrypted), (1, wss_actor, true));
    assert_eq!(data(&event), text("secret").as_ref());
    let (event, encrypted) = keyed.event().await;
    assert_eq!((event.code, encrypted), (2, false));
    // In order from one sender: the public event is the clear player's first, so the secret one was
    // never queued for it.
    let (event, encrypted) = clear.event().await;
    assert_eq!((event.code, event.sender, encrypted), (2, wss_actor, false));

    clear.raise(3, text("from the clear player"), None, SendOptions::RELIABLE).await;
    let (event, encrypted) = wss.event().await;
    assert_eq!((event.code, event.sender, encrypted), (3, clear_actor, false));
    keyed.raise(4, text("from the keyed player"), None, SendOptions::ENCRYPTED).await;
    let (event, encrypted) = wss.event().await;
    assert_eq!((event.code, event.sender, encrypted), (4, keyed_actor, true));
    clear.barrier().await;
    assert!(clear.try_next().is_none(), "the clear player got nothing encrypted");
    server.shutdown().await;
}

#[tokio::test]
async fn must_encrypt_authentication_works_over_wss_without_the_encrypt_bit() {
    let server = start_server(wss_config()).await;
    let info = server.wss().unwrap().clone();
    let mut wss = WssClient::connected(&info).await;
    let params = AuthValues::new(AuthType::None).to_request().unwrap().params;
    // RELIABLE: the Encrypt option is off; TLS satisfies the must-encrypt rule.
    wss.send(op_code::AUTHENTICATE, params, SendOptions::RELIABLE).await;
    let (response, _) = wss.response(op_code::AUTHENTICATE).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    let token = ServerToken::from_params(&response.params).expect("a token over TLS");
    // The token authenticates again, over WSS, with AuthenticateOnce and no Encrypt either.
    let mut again = WssClient::connected(&info).await;
    let mut values = AuthValues::new(AuthType::Token);
    values.set_token(&token.bytes).unwrap();
    again.send(op_code::AUTHENTICATE_ONCE, values.to_request().unwrap().params, SendOptions::RELIABLE).await;
    let (response, _) = again.response(op_code::AUTHENTICATE_ONCE).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    server.shutdown().await;
}

/// A WSS pair in a room that exchanges an event each way; panics if either is lost.
struct Bystanders {
    a: WssClient,
    b: WssClient,
    round: i32,
}

impl Bystanders {
    async fn new(info: &WssInfo) -> Bystanders {
        let mut a = WssClient::connected(info).await;
        let mut b = WssClient::connected(info).await;
        a.join_and_settle("calm").await;
        b.join_and_settle("calm").await;
        a.event().await;
        Bystanders { a, b, round: 0 }
    }

    async fn carry_on(&mut self) {
        self.round += 1;
        self.a.raise(100, Some(Value::Int(self.round)), SendOptions::ENCRYPTED).await;
        let (event, _) = self.b.event().await;
        assert_eq!((event.code, data(&event)), (100, Some(&Value::Int(self.round))));
        self.b.raise(101, Some(Value::Int(self.round)), SendOptions::RELIABLE).await;
        let (event, _) = self.a.event().await;
        assert_eq!((event.code, data(&event)), (101, Some(&Value::Int(self.round))));
    }
}

#[tokio::test]
async fn hostile_websocket_messages_are_disconnected_with_a_reason_while_others_carry_on() {
    let server = start_server(wss_config()).await;
    let info = server.wss().unwrap().clone();
    let mut calm = Bystanders::new(&info).await;
    let violation = DisconnectReason::ProtocolViolation as u16;

    // A text message.
    let mut client = WssClient::connected(&info).await;
    client.send_raw(Message::Text("hello".into())).await;
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("text WebSocket message"), "{message}");
    let close = client.close.clone().flatten().expect("a WebSocket close");
    assert_eq!(close.code, CloseCode::Unsupported);
    calm.carry_on().await;

    // Two frames in one binary message (two Connects, as a client's session would write them).
    let mut client = WssClient::connected(&info).await;
    let mut maker = Session::client(secure_config(), Instant::now());
    maker.connect("demo", "test", Instant::now()).unwrap();
    let mut two = Vec::new();
    maker.take_output(&mut two);
    let connect_len = two.len();
    two.extend_from_within(..connect_len);
    client.send_raw(Message::Binary(two.into())).await;
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("exactly one whole frame"), "{message}");
    calm.carry_on().await;

    // Half a frame.
    let mut client = WssClient::connected(&info).await;
    let event = secure_frame(MessageType::OperationRequest, |_| {}, &[0u8; 40]);
    client.send_raw(Message::Binary(event[..event.len() / 2].to_vec().into())).await;
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("exactly one whole frame"), "{message}");
    calm.carry_on().await;

    // A key exchange, which never runs over TLS.
    let mut client = WssClient::connected(&info).await;
    client.send_raw(Message::Binary(secure_frame(MessageType::HandshakeInit, |_| {}, &[7u8; 32]).into())).await;
    let (reason, _) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    calm.carry_on().await;

    // An AUTHENTICATED frame (a counter in the header), which version 4 never has.
    let mut client = WssClient::connected(&info).await;
    let authenticated = secure_frame(MessageType::OperationRequest, |header| header.counter = Some(0), &[0u8; 16]);
    assert_eq!(authenticated[2] & 0x02, 0x02, "the AUTHENTICATED flag is set");
    client.send_raw(Message::Binary(authenticated.into())).await;
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("authenticated"), "{message}");
    calm.carry_on().await;

    // A message larger than the largest frame.
    let mut client = WssClient::connected(&info).await;
    client.send_raw(Message::Binary(vec![0u8; 600 * 1024].into())).await;
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("larger than the largest"), "{message}");
    assert_eq!(client.close.clone().flatten().map(|close| close.code), Some(CloseCode::Size));
    calm.carry_on().await;

    // A frame against RFC 6455: unmasked, from a client.
    let mut client = WssClient::connected(&info).await;
    client.ws.get_mut().write_all(&[0x82, 0x01, 0x00]).await.unwrap();
    let (reason, message) = client.disconnect_reason().await;
    assert_eq!(reason, violation);
    assert!(message.contains("RFC 6455"), "{message}");
    assert_eq!(client.close.clone().flatten().map(|close| close.code), Some(CloseCode::Protocol));
    calm.carry_on().await;

    let family = "sealnet_wss_messages_refused_total";
    let expected = [
        (family, "reason=\"text\"", 1),
        (family, "reason=\"too_large\"", 1),
        (family, "reason=\"websocket_protocol\"", 1),
    ];
    metrics_reach(&server, &expected).await;
    server.shutdown().await;
}

/// Reads until the server closes; what it sent.
async fn read_to_close(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut received)).await.expect("the server closes in time");
    received
}

#[tokio::test]
async fn broken_handshakes_are_refused_with_a_reason_or_timed_out_while_others_carry_on() {
    let mut config = wss_config();
    config.wss.handshake_timeout_ms = 300;
    let server = start_server(config).await;
    let info = server.wss().unwrap().clone();
    let mut calm = Bystanders::new(&info).await;

    // Garbage where the upgrade request belongs: answered 400, with what is wrong.
    let mut stream = tls(&info).await;
    stream.write_all(b"GARBAGE\r\n\r\n").await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.contains("not a WebSocket upgrade request"), "{answer}");
    calm.carry_on().await;

    // A request without the upgrade: 400 naming the missing header.
    let mut stream = tls(&info).await;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.to_lowercase().contains("upgrade"), "{answer}");

    // Headers that never end: cut at 8 KiB.
    let mut stream = tls(&info).await;
    let mut long = b"GET / HTTP/1.1\r\n".to_vec();
    long.extend_from_slice(b"X-Filler: ");
    long.resize(long.len() + 9000, b'a');
    let _ = stream.write_all(&long).await;
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(answer.contains("longer than 8192 bytes"), "{answer}");
    calm.carry_on().await;

    // Not TLS at all (plain HTTP to the WSS port): refused by TLS.
    let mut stream = TcpStream::connect(info.address).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    read_to_close(&mut stream).await;

    // A TLS handshake that never comes: closed when the handshake time is up.
    let started = Instant::now();
    let mut silent = TcpStream::connect(info.address).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(250), "closed by the timeout, not at once");
    // One that starts and stalls after its first bytes.
    let mut slow = TcpStream::connect(info.address).await.unwrap();
    slow.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap();
    read_to_close(&mut slow).await;
    calm.carry_on().await;

    let family = "sealnet_wss_connections_total";
    let expected = [
        (family, "outcome=\"accepted\"", 8),
        (family, "outcome=\"established\"", 2),
        (family, "outcome=\"upgrade_failed\"", 3),
        (family, "outcome=\"tls_failed\"", 1),
        (family, "outcome=\"handshake_timeout\"", 2),
    ];
    metrics_reach(&server, &expected).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_configured_path_is_the_only_one_served() {
    let mut config = wss_config();
    config.wss.path = "/sealnet".into();
    let server = start_server(config).await;
    let info = server.wss().unwrap().clone();
    assert!(info.url.ends_with("/sealnet"), "{}", info.url);
    let mut stream = tls(&info).await;
    let request = "GET /other HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains("use /sealnet"), "{answer}");
    // The configured path works.
    let ws = websocket(&info, "/sealnet").await;
    drop(ws);
    server.shutdown().await;
}

#[tokio::test]
async fn plain_websocket_serves_on_loopback_and_is_refused_elsewhere_unless_allowed() {
    let mut config = wss_config();
    config.wss.tls = false;
    let server = start_server(config).await;
    let info = server.wss().unwrap().clone();
    assert!(info.url.starts_with("ws://127.0.0.1:"), "{}", info.url);
    assert_eq!(info.certificate_sha256, None);
    let mut ws = WssClient::connected(&info).await;
    let mut tcp = Client::plain(server.local_addr()).await;
    let (ws_actor, _) = ws.join_and_settle("plain").await;
    tcp.join_and_settle("plain").await;
    ws.event().await;
    ws.raise(5, text("over ws"), SendOptions::RELIABLE).await;
    let (event, _) = tcp.event().await;
    assert_eq!((event.code, event.sender), (5, ws_actor));
    server.shutdown().await;

    let refused = Config::from_toml("listen = \"0.0.0.0:4530\"\n[wss]\ntls = false\n", "test").unwrap_err().to_string();
    assert!(refused.contains("not a loopback address") && refused.contains("allow_plain_ws"), "{refused}");
    let refused = Config::from_toml("[wss]\ntls = false\nlisten = \"192.0.2.1:9090\"\n", "test");
    assert!(refused.is_err());
    let allowed = Config::from_toml("listen = \"0.0.0.0:4530\"\n[wss]\ntls = false\nallow_plain_ws = true\n", "test");
    assert!(allowed.is_ok(), "{allowed:?}");
    assert!(Config::from_toml("listen = \"0.0.0.0:4530\"\n", "test").is_ok(), "WSS with TLS anywhere");

    // The binary refuses to start, saying why.
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--key-file"])
        .arg(dir.path().join("server.key"))
        .env("SEALNET_CONFIG_WSS__TLS", "false")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plain ws://") && stderr.contains("allow_plain_ws"), "{stderr}");
}

/// A running server process, killed when dropped.
struct Process {
    child: Child,
    wss_line: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `environment` and reads its four start-up lines; the fourth names WSS.
fn spawn(dir: &std::path::Path, environment: &[(&str, &std::ffi::OsStr)]) -> Process {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--key-file"])
        .arg(dir.join("server.key"))
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut line = || lines.next().expect("a start-up line").unwrap();
    let (first, _key, third, fourth) = (line(), line(), line(), line());
    assert!(first.starts_with("sealnet-server listening on 127.0.0.1:"), "{first}");
    assert!(third.starts_with("sealnet-server listening on UDP "), "{third}");
    Process { child, wss_line: fourth }
}

/// The URL and fingerprint of a start-up line `sealnet-server listening on WSS URL (certificate sha256 HEX...)`.
fn parse_wss_line(line: &str) -> (String, String, bool) {
    let rest = line.strip_prefix("sealnet-server listening on WSS ").unwrap_or_else(|| panic!("{line}"));
    let (url, rest) = rest.split_once(' ').unwrap();
    let hex = rest.strip_prefix("(certificate sha256 ").unwrap();
    let hex: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
    (url.to_owned(), hex, line.ends_with(", self-signed for development)"))
}

fn info_from(url: &str, hex: &str) -> WssInfo {
    let address: SocketAddr = url.trim_start_matches("wss://").trim_end_matches('/').parse().unwrap();
    let mut sha256 = [0u8; 32];
    for (index, byte) in sha256.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * index..2 * index + 2], 16).unwrap();
    }
    WssInfo { address, url: url.to_owned(), certificate_sha256: Some(sha256), self_signed: false }
}

#[tokio::test]
async fn the_printed_fingerprint_of_the_development_certificate_is_the_one_served() {
    let dir = tempfile::tempdir().unwrap();
    let process = spawn(dir.path(), &[]);
    let (url, hex, self_signed) = parse_wss_line(&process.wss_line);
    assert!(self_signed, "{}", process.wss_line);
    assert_eq!(hex.len(), 64);
    // Any certificate, recorded: its fingerprint is the one printed.
    let info = info_from(&url, &hex);
    let (connector, seen) = pinned_connector(None);
    let tcp = TcpStream::connect(info.address).await.unwrap();
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    assert_eq!(seen.seen.lock().unwrap().as_ref(), info.certificate_sha256.as_ref());
    // And a session runs over it.
    let mut client = WssClient::connected(&info).await;
    client.barrier_wss().await;
    // Nothing but the server's own keys was written: the development key stays in memory.
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["server.key", "token.key"]);
}

impl WssClient {
    /// A round trip: an unknown operation, answered after everything sent before it.
    async fn barrier_wss(&mut self) {
        self.send(1, Params::new(), SendOptions::RELIABLE).await;
        let (response, _) = self.response(1).await;
        assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    }
}

#[tokio::test]
async fn certificate_and_key_files_are_loaded_and_their_fingerprint_printed() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let certificate = params.self_signed(&key).unwrap();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, certificate.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let environment = [
        ("SEALNET_CONFIG_WSS__CERT_FILE", cert_file.as_os_str()),
        ("SEALNET_CONFIG_WSS__KEY_FILE", key_file.as_os_str()),
    ];
    let process = spawn(dir.path(), &environment);
    let (url, hex, self_signed) = parse_wss_line(&process.wss_line);
    assert!(!self_signed, "{}", process.wss_line);
    let expected: [u8; 32] = Sha256::digest(certificate.der().as_ref()).into();
    assert_eq!(hex, sealnet::protocol::noise::hex(&expected));

    // A client that trusts this certificate as its root, and checks the name, connects.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let info = info_from(&url, &hex);
    let tcp = TcpStream::connect(info.address).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("localhost").unwrap(), tcp).await;
    let tls = tls.expect("the certificate from the file is served");
    let (ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{}/", info.address.port()), tls)
        .await
        .expect("upgrade");
    drop(ws);
    drop(process);

    // A key that others may read is refused, saying how to fix it.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--key-file"])
        .arg(dir.path().join("server.key"))
        .envs(environment.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("wss.key_file") && stderr.contains("chmod o-rwx"), "{stderr}");
    // A certificate that is not the key's is refused too.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key_file, other.serialize_pem()).unwrap();
    let output = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--key-file"])
        .arg(dir.path().join("server.key"))
        .envs(environment.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("wss.cert_file and wss.key_file"), "{stderr}");
}

#[tokio::test]
async fn shutdown_says_goodbye_to_wss_players() {
    let server = start_server(wss_config()).await;
    let info = server.wss().unwrap().clone();
    let mut wss = WssClient::connected(&info).await;
    wss.join_and_settle("bye").await;
    let stop = tokio::spawn(server.shutdown());
    let (reason, _) = wss.disconnect_reason().await;
    assert_eq!(reason, DisconnectReason::ServerShutdown as u16);
    assert_eq!(wss.close.clone().flatten().map(|close| close.code), Some(CloseCode::Normal));
    stop.await.unwrap();
}

/// What `scripts/capture-check.sh` looks for in its loopback capture: none of it may show, since TLS
/// covers everything over WSS, the upgrade request and the events sent without Encrypt included.
const CAPTURE_MARKERS: [&str; 3] =
    ["wss marker sent without Encrypt", "wss marker sent with Encrypt", "capture-room-over-wss"];

#[tokio::test]
#[ignore = "run by scripts/capture-check.sh against the server it records (SEALNET_SERVER_WSS_URL)"]
async fn a_wss_session_for_the_loopback_capture() {
    let url = std::env::var("SEALNET_SERVER_WSS_URL").expect("SEALNET_SERVER_WSS_URL (scripts/with-server.sh)");
    let fingerprint = std::env::var("SEALNET_SERVER_WSS_FINGERPRINT").expect("SEALNET_SERVER_WSS_FINGERPRINT");
    let info = info_from(&url, &fingerprint);
    let mut a = WssClient::connected(&info).await;
    let mut b = WssClient::connected(&info).await;
    let [plain, encrypted, room] = CAPTURE_MARKERS;
    a.join_and_settle(room).await;
    b.join_and_settle(room).await;
    a.event().await;
    a.raise(1, text(plain), SendOptions::RELIABLE).await;
    let (event, _) = b.event().await;
    assert_eq!(data(&event), text(plain).as_ref());
    b.raise(2, text(encrypted), SendOptions::ENCRYPTED).await;
    let (event, _) = a.event().await;
    assert_eq!(data(&event), text(encrypted).as_ref());
    for client in [&mut a, &mut b] {
        client.session.disconnect(DisconnectReason::ClientRequest, "capture done");
        client.until_closed().await;
    }
}
