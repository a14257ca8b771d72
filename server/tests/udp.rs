//! The UDP transport end to end over loopback: UDP and TCP players in one room, the delivery modes,
//! hostile datagrams, spoofed connection attempts, and roaming.

mod support;

use std::time::Duration;

use sealnet::protocol::codec::Value;
use sealnet::protocol::datagram::{parse_header, KIND_DATA, KIND_INITIAL, MIN_INITIAL_LEN, RETRY_LEN};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::StatusCode;
use support::udp::UdpClient;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

fn udp_config() -> sealnet_server::Config {
    let mut config = test_config();
    config.admin.listen = "127.0.0.1:0".into();
    config
}

async fn metrics(server: &sealnet_server::RunningServer) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.admin_addr().unwrap()).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

fn udp_metric(text: &str, outcome: &str) -> u64 {
    let prefix = format!("sealnet_udp_datagrams_total{{outcome=\"{outcome}\"}} ");
    text.lines().find_map(|line| line.strip_prefix(&prefix)).map_or(0, |v| v.parse().unwrap())
}

/// The TCP client's next event, while the UDP client keeps its own connection going.
async fn tcp_event(tcp: &mut Client, udp: &mut UdpClient) -> sealnet::protocol::message::EventData {
    tokio::select! {
        (event, _) = tcp.event() => event,
        never = udp.drive() => never,
    }
}

fn data_of(event: &sealnet::protocol::message::EventData) -> Option<&Value> {
    event.params.get(DATA)
}

#[tokio::test]
async fn a_udp_player_and_a_tcp_player_share_a_room_and_exchange_events_both_ways() {
    let server = start_server(udp_config()).await;
    let udp_addr = server.udp_addr().expect("UDP is on by default");
    assert_eq!(udp_addr.port(), server.local_addr().port(), "UDP takes the TCP port number when it is free");
    let mut tcp = Client::encrypted(server.local_addr()).await;
    let mut udp = UdpClient::encrypted(udp_addr).await;
    assert_eq!(udp.session.protocol_version(), 3);
    let (tcp_actor, _) = tcp.join_and_settle("mixed").await;
    let (udp_actor, actors) = udp.join_and_settle("mixed").await;
    assert_eq!(actors, vec![tcp_actor, udp_actor]);
    let joined = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((joined.code, joined.sender), (EVENT_JOIN, udp_actor));

    udp.raise(7, Some(Value::String("from udp".into())), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((event.code, event.sender), (7, udp_actor));
    assert_eq!(data_of(&event), Some(&Value::String("from udp".into())));

    // Every delivery mode from TCP reaches the UDP player (loopback loses nothing).
    for (n, delivery) in
        [Delivery::Reliable, Delivery::ReliableUnsequenced, Delivery::Unreliable, Delivery::UnreliableUnsequenced]
            .into_iter()
            .enumerate()
    {
        let options = SendOptions { encrypt: n % 2 == 0, delivery, channel: n as u8 };
        tcp.raise(8, Some(Value::Int(n as i32)), None, options).await;
        let (event, encrypted) = udp.event().await;
        assert_eq!((event.code, event.sender, encrypted), (8, tcp_actor, n % 2 == 0), "{delivery:?}");
        assert_eq!(data_of(&event), Some(&Value::Int(n as i32)));
    }

    // A message far larger than a datagram, both ways.
    let blob = Value::Bytes((0..20_000u32).map(|i| (i % 251) as u8).collect());
    udp.raise(9, Some(blob.clone()), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((event.code, event.sender), (9, udp_actor));
    assert!(data_of(&event) == Some(&blob));
    tcp.raise(9, Some(blob.clone()), None, SendOptions::ENCRYPTED).await;
    let (event, _) = udp.event().await;
    assert_eq!(data_of(&event), Some(&blob));

    // A clean leave: the TCP player hears it.
    udp.session.disconnect(sealnet::protocol::status::DisconnectReason::ClientRequest, "bye");
    udp.until_closed().await;
    let (left, _) = tcp.event().await;
    assert_eq!((left.code, left.sender), (EVENT_LEAVE, udp_actor));
    server.shutdown().await;
}

#[tokio::test]
async fn forged_replayed_and_truncated_datagrams_are_dropped_and_counted_while_the_session_goes_on() {
    let mut config = udp_config();
    // The default byte budget, which the junk below would exhaust three times over if it counted.
    let defaults = sealnet_server::Config::default();
    config.limits.bytes_per_second = defaults.limits.bytes_per_second;
    config.limits.bytes_burst = defaults.limits.bytes_burst;
    let server = start_server(config).await;
    let udp_addr = server.udp_addr().unwrap();
    let mut udp = UdpClient::encrypted(udp_addr).await;
    udp.record = true;
    udp.barrier().await;
    let captured: Vec<Vec<u8>> =
        udp.sent.iter().filter(|d| parse_header(d).is_some_and(|(kind, _)| kind == KIND_DATA)).cloned().collect();
    assert!(!captured.is_empty());
    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for datagram in &captured {
        // Replayed from the client's own address and from elsewhere.
        udp.socket.send_to(datagram, udp_addr).await.unwrap();
        attacker.send_to(datagram, udp_addr).await.unwrap();
        // A flipped bit in the tag (a replay too: refused before any decryption), and the same frame
        // under a fresh counter (refused by its tag).
        let mut forged = datagram.clone();
        *forged.last_mut().unwrap() ^= 0x01;
        udp.socket.send_to(&forged, udp_addr).await.unwrap();
        let mut fresh = datagram.clone();
        let counter = u64::from_be_bytes(fresh[17..25].try_into().unwrap());
        fresh[17..25].copy_from_slice(&(counter + 100_000).to_be_bytes());
        udp.socket.send_to(&fresh, udp_addr).await.unwrap();
        udp.socket.send_to(&datagram[..datagram.len() - 5], udp_addr).await.unwrap();
        // Garbage after the connection id.
        let mut garbage = datagram[..9].to_vec();
        garbage.extend_from_slice(&[0x03, 0x07, 0xFF, 0x00, 0xFF, 0xFF]);
        udp.socket.send_to(&garbage, udp_addr).await.unwrap();
    }
    udp.record = false;
    // Someone who saw the connection id floods junk with it from elsewhere (8 MB, eight times the
    // client's byte burst): it must neither spend the client's budget nor get it disconnected.
    let junk = {
        let mut junk = captured[0][..9].to_vec();
        junk.resize(8000, 0x5A);
        junk
    };
    for _ in 0..1000 {
        attacker.send_to(&junk, udp_addr).await.unwrap();
    }
    // The session goes on: a round trip still works, and the server did not hang up.
    udp.barrier().await;
    udp.barrier().await;
    assert!(udp.statuses.iter().all(|s| s.code != StatusCode::Disconnect), "{:?}", udp.statuses);
    udp.session.disconnect(sealnet::protocol::status::DisconnectReason::ClientRequest, "bye");
    udp.until_closed().await;
    // The counts are added when the connection ends.
    let counted = async {
        loop {
            let text = metrics(&server).await;
            if udp_metric(&text, "frames_dropped_replay") > 0 {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let text = tokio::time::timeout(WAIT, counted).await.expect("the drops are counted");
    assert!(udp_metric(&text, "frames_dropped_replay") >= captured.len() as u64, "{text}");
    assert!(udp_metric(&text, "frames_dropped_authentication") >= 1, "{text}");
    assert!(udp_metric(&text, "frames_dropped_malformed") >= 1, "{text}");
    assert_eq!(udp_metric(&text, "dropped_throttled"), 0, "the junk did not count against the client");
    server.shutdown().await;
}

/// An Initial as a client would send it (no cookie), for connection id `id`.
fn initial(id: u64) -> Vec<u8> {
    let mut session =
        sealnet::protocol::session::Session::client(support::udp::datagram_config(), std::time::Instant::now());
    session.connect("demo", "test", std::time::Instant::now()).unwrap();
    let mut out = Vec::new();
    assert!(session.poll_datagram(std::time::Instant::now(), &mut out));
    assert_eq!(out[0], KIND_INITIAL);
    out[1..9].copy_from_slice(&id.to_be_bytes());
    out
}

#[tokio::test]
async fn connection_attempts_without_a_proven_address_cost_nothing_and_amplify_nothing() {
    let server = start_server(udp_config()).await;
    let udp_addr = server.udp_addr().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // A flood of Initials that never follow their Retry (as a spoofed source could not).
    let flood = 2_000u64;
    let mut buffer = vec![0u8; 2048];
    let mut answered = 0;
    for id in 1..=flood {
        socket.send_to(&initial(id), udp_addr).await.unwrap();
        // Drain answers as they come, so the socket buffer never drops one.
        while let Ok((len, _)) = socket.try_recv_from(&mut buffer) {
            assert_eq!(len, RETRY_LEN, "only a Retry answers an unproven Initial");
            assert!(len * 3 < MIN_INITIAL_LEN);
            answered += 1;
        }
    }
    let rest = async {
        while answered < flood {
            let (len, _) = socket.recv_from(&mut buffer).await.unwrap();
            assert_eq!(len, RETRY_LEN);
            answered += 1;
        }
    };
    tokio::time::timeout(WAIT, rest).await.expect("every Initial gets its Retry");
    assert_eq!(server.connection_count(), 0);
    assert_eq!(server.pending_count(), 0, "nothing is kept for an unproven address");

    // A short Initial gets no answer at all; one with a forged cookie gets a fresh Retry and nothing
    // else.
    let short = initial(7)[..MIN_INITIAL_LEN - 1].to_vec();
    socket.send_to(&short, udp_addr).await.unwrap();
    let mut forged = initial(8);
    let connect = forged[10..].to_vec();
    forged.truncate(9);
    forged.push(20);
    forged.extend_from_slice(&[0x5A; 20]);
    forged.extend_from_slice(&connect);
    forged.truncate(MIN_INITIAL_LEN.max(forged.len() - 20));
    socket.send_to(&forged, udp_addr).await.unwrap();
    let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer)).await.expect("a Retry").unwrap();
    assert_eq!(len, RETRY_LEN);
    let text = metrics(&server).await;
    assert_eq!(udp_metric(&text, "retry_sent"), flood + 1, "the short Initial got none");
    assert_eq!(udp_metric(&text, "retry_for_stale_cookie"), 1);
    assert_eq!(udp_metric(&text, "connection_created"), 0);
    assert!(socket.try_recv_from(&mut buffer).is_err(), "nothing more");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_changes_address_carries_on_and_a_spoofed_move_hijacks_nothing() {
    let server = start_server(udp_config()).await;
    let udp_addr = server.udp_addr().unwrap();
    let mut tcp = Client::encrypted(server.local_addr()).await;
    let mut udp = UdpClient::encrypted(udp_addr).await;
    let (tcp_actor, _) = tcp.join_and_settle("roam").await;
    let (udp_actor, _) = udp.join_and_settle("roam").await;
    let _ = tcp_event(&mut tcp, &mut udp).await;

    // An attacker who saw the connection id sends from its own address: a replay of the client's
    // datagram, and a forged one.
    udp.record = true;
    udp.raise(1, Some(Value::Int(1)), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!(data_of(&event), Some(&Value::Int(1)));
    udp.record = false;
    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for datagram in &udp.sent {
        attacker.send_to(datagram, udp_addr).await.unwrap();
        let mut forged = datagram.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x80;
        attacker.send_to(&forged, udp_addr).await.unwrap();
    }
    // The server still sends to the real client, and nothing to the attacker.
    tcp.raise(2, Some(Value::Int(2)), None, SendOptions::ENCRYPTED).await;
    let (event, _) = udp.event().await;
    assert_eq!((event.sender, data_of(&event)), (tcp_actor, Some(&Value::Int(2))));
    udp.barrier().await;
    let mut buffer = [0u8; 2048];
    assert!(attacker.try_recv_from(&mut buffer).is_err(), "the attacker's address got nothing");

    // The client moves to a new port (a NAT rebinding): its next datagram moves the path.
    let old = udp.socket.local_addr().unwrap();
    let new = udp.rebind().await;
    assert_ne!(old, new);
    udp.raise(3, Some(Value::Int(3)), SendOptions::ENCRYPTED).await;
    let event = tcp_event(&mut tcp, &mut udp).await;
    assert_eq!((event.sender, data_of(&event)), (udp_actor, Some(&Value::Int(3))));
    tcp.raise(4, Some(Value::Int(4)), None, SendOptions::ENCRYPTED).await;
    let (event, _) = udp.event().await;
    assert_eq!(data_of(&event), Some(&Value::Int(4)), "the server answers at the new address");
    for n in 5..20 {
        tcp.raise(5, Some(Value::Int(n)), None, SendOptions { delivery: Delivery::Reliable, ..SendOptions::ENCRYPTED })
            .await;
    }
    for n in 5..20 {
        let (event, _) = udp.event().await;
        assert_eq!(data_of(&event), Some(&Value::Int(n)));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_without_udp_leaves_the_port_closed() {
    let mut config = udp_config();
    config.udp.enabled = false;
    let server = start_server(config).await;
    assert_eq!(server.udp_addr(), None);
    server.shutdown().await;
}
