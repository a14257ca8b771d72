//! The client peer (`sealnet::peer::Peer`, what the C ABI and the Godot extension drive) against an
//! in-process server: name resolution and connection attempts, waiting for results, and how often the
//! host wakes the I/O thread.

mod support;

use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sealnet::peer::{Peer, PeerConfig, PeerEvent, Resolver, WaitOutcome};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, PeerState, StatusCode};
use support::{start_server, test_config, WAIT};

/// A server on its own runtime, alive while this value is.
struct Running {
    address: SocketAddr,
    _server: sealnet_server::RunningServer,
    _runtime: tokio::runtime::Runtime,
}

fn server() -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = runtime.block_on(start_server(test_config()));
    Running { address: server.local_addr(), _server: server, _runtime: runtime }
}

fn peer_with(resolver: Resolver) -> Peer {
    Peer::new(PeerConfig { resolver, ..PeerConfig::default() })
}

/// Waits (without polling) for a status, returning every status seen on the way.
fn wait_status(peer: &Peer, code: StatusCode) -> Vec<StatusCode> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match peer.poll_event() {
            Some(PeerEvent::Status(info)) => {
                seen.push(info.code);
                if info.code == code {
                    return seen;
                }
            }
            Some(_) => {}
            None => {
                peer.wait(Duration::from_millis(100));
            }
        }
    }
    panic!("no {code:?} in time; statuses {seen:?}");
}

#[test]
fn every_resolved_address_is_tried_until_one_connects() {
    let server = server();
    let port = server.address.port();
    // As "localhost" often resolves: IPv6 loopback first, where nothing listens, then IPv4.
    let resolver = Resolver::new(move |host, _| {
        assert_eq!(host, "game.test");
        Ok(vec![SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port)), SocketAddr::from(([127, 0, 0, 1], port))])
    });
    let peer = peer_with(resolver);
    peer.connect(&format!("game.test:{port}"), "demo").unwrap();
    let seen = wait_status(&peer, StatusCode::EncryptionEstablished);
    assert_eq!(seen, [StatusCode::Connect, StatusCode::EncryptionEstablished]);
    peer.shutdown();
}

#[test]
fn every_failed_address_is_reported() {
    let resolver = Resolver::new(|_, _| Ok(vec!["127.0.0.1:9".parse().unwrap(), "127.0.0.1:7".parse().unwrap()]));
    let peer = peer_with(resolver);
    peer.connect("nowhere.test:9", "demo").unwrap();
    let mut failure = None;
    let deadline = Instant::now() + WAIT;
    while failure.is_none() && Instant::now() < deadline {
        match peer.poll_event() {
            Some(PeerEvent::Status(info)) if info.code == StatusCode::ExceptionOnConnect => failure = Some(info),
            Some(_) => {}
            None => {
                peer.wait(Duration::from_millis(100));
            }
        }
    }
    let failure = failure.expect("ExceptionOnConnect");
    assert!(failure.message.contains("127.0.0.1:9") && failure.message.contains("127.0.0.1:7"), "{}", failure.message);
}

#[test]
fn a_resolver_error_is_a_dns_status() {
    let peer = peer_with(Resolver::new(|host, _| Err(io::Error::other(format!("{host} is unknown")))));
    peer.connect("missing.test:1", "demo").unwrap();
    let seen = wait_status(&peer, StatusCode::Disconnect);
    assert!(seen.contains(&StatusCode::DnsExceptionOnConnect), "{seen:?}");
}

#[test]
fn teardown_never_waits_for_name_resolution() {
    let (release, blocked) = mpsc::channel::<()>();
    let blocked = Arc::new(Mutex::new(blocked));
    let resolver = Resolver::new(move |_, _| {
        // A resolver stuck for as long as the test wants (a real one can take its timeout, 30 s).
        let _ = blocked.lock().unwrap().recv_timeout(WAIT);
        Err(io::Error::other("released"))
    });
    let peer = peer_with(resolver);
    peer.connect("slow.test:1", "demo").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let started = Instant::now();
    peer.shutdown();
    let took = started.elapsed();
    drop(release);
    assert!(took < Duration::from_millis(500), "shutdown waited {took:?} for the resolver");
    assert_eq!(peer.state(), PeerState::Disconnected);
    let mut statuses = Vec::new();
    while let Some(event) = peer.poll_event() {
        if let PeerEvent::Status(info) = event {
            statuses.push(info.code);
        }
    }
    assert_eq!(statuses.last(), Some(&StatusCode::Disconnect), "{statuses:?}");
}

#[test]
fn a_host_can_wait_for_results_instead_of_polling() {
    let server = server();
    let peer = Peer::new(PeerConfig::default());
    assert_eq!(peer.wait(Duration::from_secs(5)), WaitOutcome::NotConnected, "nothing can arrive");
    peer.connect(&server.address.to_string(), "demo").unwrap();
    wait_status(&peer, StatusCode::EncryptionEstablished);
    while peer.poll_event().is_some() {}
    let started = Instant::now();
    assert_eq!(peer.wait(Duration::from_millis(30)), WaitOutcome::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(30));

    // A result that arrives while the host waits ends the wait.
    let mut params = Params::new();
    params.insert(255, "waiting-room");
    peer.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
    assert_eq!(peer.wait(WAIT), WaitOutcome::Ready);
    assert!(matches!(peer.poll_event(), Some(PeerEvent::OperationResponse { .. })));

    peer.disconnect();
    wait_status(&peer, StatusCode::Disconnect);
    assert_eq!(peer.wait(WAIT), WaitOutcome::NotConnected);
}

#[test]
fn a_burst_of_sends_shares_wakeups_of_the_io_thread() {
    const SENDS: u64 = 5_000;
    let server = server();
    let peer = Peer::new(PeerConfig::default());
    peer.connect(&server.address.to_string(), "demo").unwrap();
    wait_status(&peer, StatusCode::EncryptionEstablished);
    let mut join = Params::new();
    join.insert(255, "burst-room");
    peer.send_operation_parts(op_code::JOIN_ROOM, &join, SendOptions::ENCRYPTED).unwrap();
    let before = peer.io_wakeups();
    let mut raise = Params::new();
    raise.insert(244, 1);
    raise.insert(245, Value::Bytes(vec![7; 100]));
    for _ in 0..SENDS {
        // Others (the default receivers) is nobody here, so the server relays nothing back.
        while peer.send_operation_parts(op_code::RAISE_EVENT, &raise, SendOptions::ENCRYPTED).is_err() {
            std::thread::yield_now();
        }
    }
    let wakeups = peer.io_wakeups() - before;
    println!("{SENDS} sends woke the I/O thread {wakeups} times");
    assert!(wakeups < SENDS / 4, "{wakeups} wake-ups for {SENDS} sends");
    // Everything was sent: an unknown operation after the burst is answered (in order, after it).
    peer.send_operation_parts(1, &Params::new(), SendOptions::ENCRYPTED).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match peer.poll_event() {
            Some(PeerEvent::OperationResponse { response, .. }) if response.op_code == 1 => break,
            Some(PeerEvent::Status(info)) => panic!("unexpected status {info:?}"),
            _ => assert_eq!(peer.wait(deadline.saturating_duration_since(Instant::now())), WaitOutcome::Ready),
        }
    }
    peer.shutdown();
}

#[test]
fn operations_sent_just_before_a_disconnect_are_all_delivered() {
    let server = server();
    let address = server.address.to_string();
    let receiver = Peer::new(PeerConfig::default());
    let sender = Peer::new(PeerConfig::default());
    let mut join = Params::new();
    join.insert(255, "last-words");
    for peer in [&receiver, &sender] {
        peer.connect(&address, "demo").unwrap();
        wait_status(peer, StatusCode::EncryptionEstablished);
        peer.send_operation_parts(op_code::JOIN_ROOM, &join, SendOptions::ENCRYPTED).unwrap();
        // The response, then our own Join event.
        for _ in 0..2 {
            assert_eq!(peer.wait(WAIT), WaitOutcome::Ready);
            peer.poll_event();
        }
    }
    const LINES: i32 = 200;
    for n in 0..LINES {
        let mut raise = Params::new();
        raise.insert(244, 1);
        raise.insert(245, n);
        sender.send_operation_parts(op_code::RAISE_EVENT, &raise, SendOptions::ENCRYPTED).unwrap();
    }
    sender.disconnect();
    let mut received = Vec::new();
    let deadline = Instant::now() + WAIT;
    while received.len() < LINES as usize {
        assert!(Instant::now() < deadline, "only {} of {LINES} arrived", received.len());
        match receiver.poll_event() {
            Some(PeerEvent::Event { event, .. }) if event.code == 1 => {
                let Some(Value::Int(n)) = event.params.get(245) else { panic!("{event:?}") };
                received.push(*n);
            }
            Some(_) => {}
            None => {
                receiver.wait(Duration::from_millis(100));
            }
        }
    }
    assert_eq!(received, (0..LINES).collect::<Vec<_>>(), "every operation before the disconnect, in order");
    let statuses = wait_status(&sender, StatusCode::Disconnect);
    assert!(!statuses.contains(&StatusCode::SendError), "{statuses:?}");
}

#[test]
fn a_reconnect_reports_nothing_of_the_last_connection_and_a_shut_down_peer_stays_down() {
    let server = server();
    let peer = Peer::new(PeerConfig::default());
    assert_eq!(peer.stats().protocol_version, 0, "nothing accepted yet");
    peer.connect(&server.address.to_string(), "demo").unwrap();
    wait_status(&peer, StatusCode::EncryptionEstablished);
    assert_eq!(peer.stats().protocol_version, 2);
    peer.disconnect();
    wait_status(&peer, StatusCode::Disconnect);
    // A reconnect to where nothing listens is never accepted: its stats start from nothing.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    peer.connect(&closed.to_string(), "demo").unwrap();
    let (stats, server_time) = peer.stats_and_server_time();
    assert_eq!((stats.protocol_version, stats.bytes_received, stats.rtt, server_time), (0, 0, None, None));
    wait_status(&peer, StatusCode::Disconnect);

    peer.shutdown();
    let refused = peer.connect(&server.address.to_string(), "demo").unwrap_err();
    assert_eq!(refused.to_string(), "the peer was shut down (destroyed); create a new one");
}
