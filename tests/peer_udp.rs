//! The client peer (`sealnet::peer::Peer`, what the C ABI and the bindings drive) over UDP, against a
//! small server on loopback built from the core alone: a std socket, the stateless [`Endpoint`] that
//! answers the first Initial with a Retry, and a [`Session::datagram_server`] per connection.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sealnet::peer::{ConnectOptions, Peer, PeerConfig, PeerEvent, PinChoice, TransportKind};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::datagram::{parse_header, DatagramConfig, Endpoint, Incoming, RETRY_LEN};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::{EventData, OperationResponse};
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, StatusInfo, Transport};
use sealnet::protocol::status::{DisconnectReason, PeerState, StatusCode};

/// Longest any step may take before the test fails instead of hanging.
const WAIT: Duration = Duration::from_secs(20);
/// The server answers every operation with this event too.
const ECHO_EVENT: u8 = 9;

/// An operation the server received, as its session reported it.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    op_code: u8,
    encrypted: bool,
    delivery: Delivery,
    channel: u8,
}

/// What the server saw of one connection, sent when the connection ends.
#[derive(Debug, Default)]
struct Seen {
    requests: Vec<Received>,
    statuses: Vec<StatusInfo>,
    retries_sent: usize,
}

/// A one-connection UDP server on its own thread; stops when dropped.
struct Server {
    address: SocketAddr,
    key: [u8; 32],
    ended: mpsc::Receiver<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = socket.local_addr().unwrap();
        let keypair = Arc::new(Keypair::generate().unwrap());
        let key = *keypair.public();
        let (report, ended) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || serve(socket, keypair, &stop, report))
        };
        Server { address, key, ended, stop, thread: Some(thread) }
    }

    /// What the server saw, once its connection ended.
    fn wait_end(&self) -> Seen {
        self.ended.recv_timeout(WAIT).expect("the server's connection did not end")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn datagram_config() -> SessionConfig {
    SessionConfig { transport: Transport::Datagram(DatagramConfig::default()), ..SessionConfig::default() }
}

/// The server loop: the endpoint for datagrams of unknown connections, the session for its own.
fn serve(socket: UdpSocket, keypair: Arc<Keypair>, stop: &AtomicBool, report: mpsc::Sender<Seen>) {
    let endpoint = Endpoint::random(Instant::now()).unwrap();
    let mut session: Option<Session> = None;
    let mut seen = Seen::default();
    let mut incoming = vec![0u8; 64 * 1024];
    let mut outgoing = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let next = session.as_ref().and_then(Session::poll_timeout).map(|at| at.saturating_duration_since(now));
        let wait = next.unwrap_or(Duration::from_millis(20)).clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut incoming) {
            Ok((len, from)) => {
                let now = Instant::now();
                let datagram = &mut incoming[..len];
                let id = parse_header(datagram).map(|(_, id)| id);
                match session.as_mut() {
                    Some(known) if known.connection_id() == id => {
                        known.receive_datagram(datagram, from, now);
                    }
                    _ => {
                        let mut retry = [0u8; RETRY_LEN];
                        match endpoint.on_unknown(datagram, from, now, &mut retry) {
                            Incoming::Retry { len, .. } => {
                                seen.retries_sent += 1;
                                socket.send_to(&retry[..len], from).unwrap();
                            }
                            Incoming::Accept { connection_id } if session.is_none() => {
                                let config = datagram_config();
                                let mut fresh =
                                    Session::datagram_server(config, keypair.clone(), connection_id, from, now);
                                fresh.receive_datagram(datagram, from, now);
                                session = Some(fresh);
                            }
                            _ => {}
                        }
                    }
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("server receive: {error}"),
        }
        let Some(live) = session.as_mut() else { continue };
        let now = Instant::now();
        if live.poll_timeout().is_some_and(|at| at <= now) {
            live.handle_timeout(now);
        }
        answer(live, &mut seen, now);
        while live.poll_datagram(now, &mut outgoing) {
            let _ = socket.send_to(&outgoing, live.remote_address().expect("a server knows its client"));
        }
        if live.wants_close() || live.is_closed() {
            live.transport_closed(None);
            answer(live, &mut seen, now);
            session = None;
            let _ = report.send(std::mem::take(&mut seen));
        }
    }
}

/// Accepts the connection and answers each operation with a response echoing its parameters and an
/// event, both sealed as the request was.
fn answer(session: &mut Session, seen: &mut Seen, now: Instant) {
    while let Some(event) = session.poll_event() {
        match event {
            SessionEvent::ConnectRequest { .. } => session.accept(now).unwrap(),
            SessionEvent::OperationRequest { request, encrypted, delivery, channel } => {
                seen.requests.push(Received { op_code: request.op_code, encrypted, delivery, channel });
                let options = SendOptions { encrypt: encrypted, ..SendOptions::RELIABLE };
                let response = OperationResponse {
                    op_code: request.op_code,
                    return_code: 0,
                    debug_message: None,
                    params: request.params.clone(),
                };
                session.send_response(&response, options).unwrap();
                let event = EventData { code: ECHO_EVENT, sender: 1, params: request.params };
                session.send_event(&event, options).unwrap();
            }
            SessionEvent::Status(info) => seen.statuses.push(info),
            _ => {}
        }
    }
}

/// Waits (without polling) for the next result, failing the test after [`WAIT`].
fn next_event(peer: &Peer) -> PeerEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(event) = peer.poll_event() {
            return event;
        }
        assert!(Instant::now() < deadline, "no result within {WAIT:?}; state {:?}", peer.state());
        peer.wait(Duration::from_millis(100));
    }
}

/// Every status up to and including `code`.
fn statuses_until(peer: &Peer, code: StatusCode) -> Vec<StatusInfo> {
    let mut statuses = Vec::new();
    loop {
        match next_event(peer) {
            PeerEvent::Status(info) => {
                let done = info.code == code;
                statuses.push(info);
                if done {
                    return statuses;
                }
            }
            other => panic!("{other:?} while waiting for {code:?}; statuses {statuses:?}"),
        }
    }
}

fn codes(statuses: &[StatusInfo]) -> Vec<StatusCode> {
    statuses.iter().map(|info| info.code).collect()
}

fn numbered(n: i32) -> Params {
    Params::from_iter([(1u8, Value::Int(n)), (2, Value::String(format!("message {n}")))])
}

#[test]
fn a_peer_connects_over_udp_sends_operations_receives_events_and_disconnects() {
    let server = Server::start();
    let peer = Peer::new(PeerConfig::default());
    let address = server.address.to_string();
    let options = ConnectOptions {
        address: &address,
        app_id: "demo",
        app_version: None,
        pin: PinChoice::Key(server.key),
        auth: None,
    };
    peer.connect_over(TransportKind::Udp, &options).unwrap();
    let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
    assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished]);
    assert_eq!(peer.state(), PeerState::Encrypted);
    assert_eq!(peer.server_public_key(), Some(server.key), "the pinned key was presented");
    assert_eq!(peer.stats().protocol_version, 3, "UDP connections speak version 3");

    // One encrypted reliable operation on channel 2, one authenticated (not encrypted) reliable
    // unsequenced one on channel 1: each arrives as sent, answered with a response and an event.
    let sends = [
        (7u8, SendOptions { encrypt: true, delivery: Delivery::Reliable, channel: 2 }),
        (8u8, SendOptions { encrypt: false, delivery: Delivery::ReliableUnsequenced, channel: 1 }),
    ];
    for (op_code, options) in sends {
        peer.send_operation_parts(op_code, &numbered(op_code.into()), options).unwrap();
        match next_event(&peer) {
            PeerEvent::OperationResponse { response, encrypted } => {
                assert_eq!((response.op_code, response.return_code), (op_code, 0));
                assert_eq!(response.params, numbered(op_code.into()));
                assert_eq!(encrypted, options.encrypt);
            }
            other => panic!("expected the response to {op_code}, got {other:?}"),
        }
        match next_event(&peer) {
            PeerEvent::Event { event, encrypted } => {
                assert_eq!(event.code, ECHO_EVENT);
                assert_eq!(event.params, numbered(op_code.into()));
                assert_eq!(encrypted, options.encrypt);
            }
            other => panic!("expected the event after {op_code}, got {other:?}"),
        }
    }
    let stats = peer.stats();
    assert!(stats.bytes_sent > 0 && stats.bytes_received > 0 && stats.frames_received >= 4, "{stats:?}");

    peer.disconnect();
    let ended = statuses_until(&peer, StatusCode::Disconnect);
    assert_eq!(codes(&ended), [StatusCode::Disconnect], "a clean disconnect: {ended:?}");
    assert_eq!(ended[0].reason, DisconnectReason::ClientRequest as u16);
    assert_eq!(peer.state(), PeerState::Disconnected);

    let seen = server.wait_end();
    assert!(seen.retries_sent >= 1, "the first Initial was answered with a Retry");
    let expected = [
        Received { op_code: 7, encrypted: true, delivery: Delivery::Reliable, channel: 2 },
        Received { op_code: 8, encrypted: false, delivery: Delivery::ReliableUnsequenced, channel: 1 },
    ];
    assert_eq!(seen.requests, expected);
    let goodbye = seen.statuses.iter().find(|info| info.code == StatusCode::Disconnect).expect("server Disconnect");
    assert_eq!(goodbye.reason, DisconnectReason::ClientRequest as u16, "the server got the client's Disconnect");
    peer.shutdown();
}

#[test]
fn one_peer_connects_over_udp_again_after_a_disconnect() {
    let server = Server::start();
    let peer = Peer::new(PeerConfig::default());
    let address = server.address.to_string();
    let options =
        ConnectOptions { address: &address, app_id: "demo", app_version: None, pin: PinChoice::None, auth: None };
    for round in 0..2 {
        peer.connect_over(TransportKind::Udp, &options).unwrap();
        let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
        assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished], "round {round}");
        peer.disconnect();
        statuses_until(&peer, StatusCode::Disconnect);
        let seen = server.wait_end();
        assert!(seen.statuses.iter().any(|info| info.code == StatusCode::Disconnect), "round {round}: {seen:?}");
    }
    peer.shutdown();
}

#[test]
fn a_udp_connect_where_nothing_listens_ends_with_a_timeout() {
    // A port that was free a moment ago: nothing answers there (loopback answers with ICMP port
    // unreachable, which must not end the attempt early).
    let address = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let mut config = PeerConfig::default();
    config.session.connect_timeout = Duration::from_millis(800);
    let peer = Peer::new(config);
    let options =
        ConnectOptions { address: &address, app_id: "demo", app_version: None, pin: PinChoice::None, auth: None };
    let started = Instant::now();
    peer.connect_over(TransportKind::Udp, &options).unwrap();
    let statuses = statuses_until(&peer, StatusCode::Disconnect);
    let took = started.elapsed();
    assert_eq!(codes(&statuses), [StatusCode::TimeoutDisconnect, StatusCode::Disconnect], "{statuses:?}");
    let timeout = &statuses[0];
    assert_eq!(timeout.reason, DisconnectReason::Timeout as u16);
    assert!(timeout.message.contains("connect timed out"), "{}", timeout.message);
    if cfg!(target_os = "linux") {
        assert!(timeout.message.contains("refused"), "the ICMP answers are reported: {}", timeout.message);
    }
    assert!(took >= Duration::from_millis(700), "the refusals did not end the attempt early: {took:?}");
    assert!(took < Duration::from_secs(5), "the connect timeout applies: {took:?}");
    assert_eq!(peer.state(), PeerState::Disconnected);
    let shutdown = Instant::now();
    peer.shutdown();
    assert!(shutdown.elapsed() < Duration::from_secs(1), "nothing hangs");
}

#[test]
fn shutdown_during_a_udp_connect_returns_at_once() {
    let address = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let peer = Peer::new(PeerConfig::default());
    let options =
        ConnectOptions { address: &address, app_id: "demo", app_version: None, pin: PinChoice::None, auth: None };
    peer.connect_over(TransportKind::Udp, &options).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    peer.shutdown();
    assert!(started.elapsed() < Duration::from_secs(1), "shutdown took {:?}", started.elapsed());
    let mut statuses = Vec::new();
    while let Some(event) = peer.poll_event() {
        if let PeerEvent::Status(info) = event {
            statuses.push(info.code);
        }
    }
    assert_eq!(statuses.last(), Some(&StatusCode::Disconnect), "{statuses:?}");
}
