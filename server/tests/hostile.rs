//! Hostile input over real sockets. Each case sends the server something a broken or malicious client
//! would and asserts the clear outcome (the Disconnect reason it answers with), while a bystander pair
//! of clients keeps exchanging events in a room: the server stays up, and the bystanders lose nothing.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Value;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionConfig;
use sealnet::protocol::status::{DisconnectReason, StatusCode};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A frame's fixed header.
fn header(message_type: u8, flags: u8, body_len: u32) -> Vec<u8> {
    let mut frame = vec![1, message_type, flags, 0];
    frame.extend_from_slice(&body_len.to_be_bytes());
    frame
}

fn frame(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = header(message_type, 1 << 2, body.len() as u32);
    frame.extend_from_slice(body);
    frame
}

const CONNECT_DEMO: &[u8] = &[4, b'd', b'e', b'm', b'o', 0];

/// Reads what the server sends until it closes; returns the reason of its Disconnect frame (clear or
/// plain-authenticated), if it sent one.
async fn disconnect_reason(mut stream: TcpStream) -> Option<u16> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read_all).await.expect("the server closes the connection");
    let mut rest = &received[..];
    let mut reason = None;
    while rest.len() >= 8 {
        let authenticated = rest[2] & 0x02 != 0;
        let header_len = if authenticated { 16 } else { 8 };
        let body_len = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
        if rest.len() < header_len + body_len {
            break;
        }
        if rest[1] == 0x0A && rest[2] & 0x01 == 0 {
            reason = Some(u16::from_be_bytes([rest[header_len], rest[header_len + 1]]));
        }
        rest = &rest[header_len + body_len..];
    }
    reason
}

async fn raw(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

/// A raw connection whose Connect was accepted.
async fn connected_raw(addr: SocketAddr) -> TcpStream {
    let mut stream = raw(addr).await;
    stream.write_all(&frame(0x01, CONNECT_DEMO)).await.unwrap();
    let mut ack = [0u8; 11];
    stream.read_exact(&mut ack).await.unwrap();
    assert_eq!(&ack[..], &[1, 0x02, 0x04, 0, 0, 0, 0, 3, 0, 0, 0], "ConnectAck(accepted)");
    stream
}

/// Two encrypted clients raising numbered events to each other until told to stop; the task checks
/// each one arrives exactly once and in order, and returns how many went each way.
fn bystanders(addr: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<(i32, i32)> {
    tokio::spawn(async move {
        let mut a = Client::encrypted(addr).await;
        let mut b = Client::encrypted(addr).await;
        a.join_and_settle("bystanders").await;
        b.join_and_settle("bystanders").await;
        assert_eq!(a.event().await.0.code, EVENT_JOIN);
        let (mut sent_ab, mut sent_ba) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            exchange(&mut a, &mut b, &mut sent_ab).await;
            exchange(&mut b, &mut a, &mut sent_ba).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        a.barrier().await;
        b.barrier().await;
        (sent_ab, sent_ba)
    })
}

/// `from` raises event number `count`; `to` must receive exactly it.
async fn exchange(from: &mut Client, to: &mut Client, count: &mut i32) {
    from.raise(7, Some(Value::Int(*count)), None, SendOptions::ENCRYPTED).await;
    let (event, encrypted) = to.event().await;
    assert_eq!((event.code, encrypted), (7, true));
    assert_eq!(int(event.params.get(DATA)), *count, "bystander events arrive once and in order");
    *count += 1;
}

/// A client with keys, whose frames the test then corrupts.
async fn keyed(addr: SocketAddr) -> Client {
    Client::encrypted(addr).await
}

async fn expect_client_disconnected(mut client: Client, reason: DisconnectReason) {
    client.until_closed().await;
    let reasons: Vec<u16> = client.statuses.iter().map(|s| s.reason).collect();
    assert!(reasons.contains(&(reason as u16)), "expected {reason:?}; statuses {:?}", client.statuses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_with_a_reason_and_bystanders_lose_nothing() {
    let mut config = test_config();
    config.admin.listen = "127.0.0.1:0".into();
    let server = start_server(config).await;
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let pair = bystanders(addr, stop.clone());
    let violation = Some(DisconnectReason::ProtocolViolation as u16);

    // Oversized before the keys: refused on the header, before any body is sent.
    let mut stream = raw(addr).await;
    stream.write_all(&header(0x01, 1 << 2, 100_000)).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "oversized Connect");

    // Oversized after the keys: beyond the 512 KiB frame limit.
    let mut client = keyed(addr).await;
    let mut big = header(0x05, (1 << 2) | 0x03, 600_000);
    big.extend_from_slice(&client.session.next_send_counter().unwrap().to_be_bytes());
    client.write_raw(&big).await;
    expect_client_disconnected(client, DisconnectReason::ProtocolViolation).await;

    // Truncated: half a Connect, then the client goes away. Nothing to answer; nothing breaks.
    let mut stream = raw(addr).await;
    stream.write_all(&frame(0x01, CONNECT_DEMO)[..7]).await.unwrap();
    drop(stream);

    // Bad version, reserved flags, unknown message type.
    for (what, bytes) in [
        ("version 2", {
            let mut f = frame(0x01, CONNECT_DEMO);
            f[0] = 2;
            f
        }),
        ("reserved flags", {
            let mut f = frame(0x01, CONNECT_DEMO);
            f[2] |= 0x40;
            f
        }),
        ("unknown type", frame(0x7F, &[])),
    ] {
        let mut stream = raw(addr).await;
        stream.write_all(&bytes).await.unwrap();
        assert_eq!(disconnect_reason(stream).await, violation, "{what}");
    }

    // A sequence extension on TCP: refused with the header alone.
    let mut stream = connected_raw(addr).await;
    let mut sequenced = header(0x05, (1 << 2) | 0x10, 50);
    sequenced.extend_from_slice(&[0; 4]);
    stream.write_all(&sequenced).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "SEQUENCED on TCP");

    // Not sealnet at all.
    let mut stream = raw(addr).await;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: game\r\n\r\n").await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "an HTTP request");

    // Key-exchange abuse: a low-order point, an authenticated frame before keys, a second Connect.
    let mut stream = connected_raw(addr).await;
    let mut init = vec![0u8; 32];
    init.push(1);
    stream.write_all(&frame(0x03, &init)).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, Some(DisconnectReason::KeyExchangeFailed as u16), "low order");
    // ... and counted as a failed key exchange, by its reason.
    let failed = "sealnet_key_exchange_failures_total{reason=\"KeyExchangeFailed\"} ";
    metrics_until(server.admin_addr().unwrap(), |body| metric(body, failed) == Some(1)).await;
    let mut stream = connected_raw(addr).await;
    let mut early = header(0x05, (1 << 2) | 0x02, 16);
    early.extend_from_slice(&[0; 24]);
    stream.write_all(&early).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "authenticated before keys");
    let mut stream = connected_raw(addr).await;
    stream.write_all(&frame(0x01, CONNECT_DEMO)).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "second Connect");

    // Malformed bodies: a depth bomb, a malformed Disconnect.
    let mut stream = connected_raw(addr).await;
    let mut bomb = vec![226, 1, 1];
    bomb.extend_from_slice(&[0x09, 0x01].repeat(1500));
    bomb.push(0x00);
    stream.write_all(&frame(0x05, &bomb)).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "depth bomb");
    let mut stream = connected_raw(addr).await;
    stream.write_all(&frame(0x0A, &[0, 1, 9])).await.unwrap();
    assert_eq!(disconnect_reason(stream).await, violation, "malformed Disconnect");

    // A room name that is not UTF-8, encrypted: the codec refuses the whole frame.
    let mut client = keyed(addr).await;
    client.session.send_encoded_operation(&[226, 1, 255, 0x07, 2, 0xC3, 0x28], SendOptions::ENCRYPTED).unwrap();
    client.flush().await;
    expect_client_disconnected(client, DisconnectReason::ProtocolViolation).await;

    // A bit flipped in an authenticated frame.
    let mut client = keyed(addr).await;
    client.session.send_operation_parts(1, &Default::default(), SendOptions::RELIABLE).unwrap();
    let mut sealed = client.session.pending_output().to_vec();
    client.session.consume_output(sealed.len());
    let last = sealed.len() - 1;
    sealed[last] ^= 0x01;
    client.write_raw(&sealed).await;
    expect_client_disconnected(client, DisconnectReason::AuthenticationFailed).await;

    // A replayed frame.
    let mut client = keyed(addr).await;
    client.session.send_operation_parts(1, &Default::default(), SendOptions::RELIABLE).unwrap();
    let sealed = client.session.pending_output().to_vec();
    client.flush().await;
    let (response, _) = client.response(1).await;
    assert_eq!(response.op_code, 1);
    client.write_raw(&sealed).await;
    expect_client_disconnected(client, DisconnectReason::Replay).await;

    stop.store(true, Ordering::Relaxed);
    let (ab, ba) = tokio::time::timeout(WAIT, pair).await.expect("bystanders finish").expect("bystanders ok");
    assert!(ab > 0 && ba > 0, "the bystanders kept talking: {ab} and {ba} events");
    // Every hostile connection was closed and gave back its place.
    let deadline = Instant::now() + WAIT;
    while server.connection_count() + server.pending_count() > 2 {
        assert!(Instant::now() < deadline, "{} connections left", server.connection_count());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("hostile input: bystanders exchanged {ab} + {ba} events meanwhile");
}

/// Opens a TCP connection from a given loopback source address that never sends anything.
async fn silent_socket(from: [u8; 4], to: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((from, 0))).ok()?;
    tokio::time::timeout(WAIT, socket.connect(to)).await.ok()?.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_cannot_lock_players_out() {
    const SILENT: usize = 2000;
    const HONEST: usize = 200;
    raise_open_file_limit();
    let mut config = test_config();
    // The admission settings stay at their defaults: this is what a server gets out of the box.
    config.max_connections = 1000;
    let server = start_server(config).await;
    let addr = server.local_addr();

    // 2000 sockets from eight other loopback addresses, opened as fast as the kernel accepts them.
    let mut silent = Vec::with_capacity(SILENT);
    let opening: Vec<_> =
        (0..SILENT).map(|n| tokio::spawn(silent_socket([127, 0, 0, 2 + (n % 8) as u8], addr))).collect();
    for task in opening {
        if let Some(stream) = task.await.unwrap() {
            silent.push(stream);
        }
    }
    assert_eq!(silent.len(), SILENT, "every silent socket was accepted by the kernel");
    assert!(server.pending_count() <= 1024, "the pending pool stays bounded: {}", server.pending_count());

    // 200 honest players, 20 at a time, from 127.0.0.1: each gets in and completes the key exchange.
    let started = Instant::now();
    let mut players = Vec::with_capacity(HONEST);
    for _ in 0..HONEST / 20 {
        let batch: Vec<_> = (0..20).map(|_| tokio::spawn(Client::encrypted(addr))).collect();
        for task in batch {
            players.push(task.await.expect("an honest client got in"));
        }
    }
    let took = started.elapsed();
    assert_eq!(server.connection_count(), HONEST, "only players past Connect count against max_connections");
    println!("slowloris: {SILENT} silent sockets, {HONEST} players encrypted in {took:.2?}");
    drop(silent);
}

fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_throttled_then_disconnected_and_its_recipient_keeps_up() {
    let mut config = test_config();
    config.limits.bytes_per_second = 256.0 * 1024.0;
    config.limits.bytes_burst = 1024.0 * 1024.0;
    config.limits.ops_per_second = 200.0;
    config.limits.ops_burst = 400.0;
    config.limits.flood_window_ms = 1000;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let pair = bystanders(addr, stop.clone());

    let mut flooder = Client::encrypted(addr).await;
    let mut recipient = Client::encrypted(addr).await;
    let (flooder_actor, _) = flooder.join_and_settle("flood").await;
    recipient.join_and_settle("flood").await;
    assert_eq!(flooder.event().await.0.code, EVENT_JOIN);

    // 3,000 events of 30 KB (90 MB) as fast as the socket takes them.
    let data = Value::Bytes(vec![0x42; 30 * 1024]);
    let flood = tokio::spawn(async move {
        let started = Instant::now();
        let mut sent = 0;
        while sent < 3000 && !flooder.session.wants_close() && !flooder.session.is_closed() {
            let mut params = sealnet::protocol::codec::Params::new();
            params.insert(CODE, 1);
            params.insert(DATA, data.clone());
            if flooder.session.send_operation_parts(253, &params, SendOptions::ENCRYPTED).is_err() {
                break;
            }
            flooder.flush().await;
            sent += 1;
        }
        flooder.until_closed().await;
        (flooder, sent, started.elapsed())
    });

    // The recipient reads normally: everything relayed arrives, until the flooder's Leave.
    let mut received = 0;
    loop {
        let (event, _) = recipient.event().await;
        if event.code == EVENT_LEAVE {
            assert_eq!(int(event.params.get(ACTOR_NR)), flooder_actor);
            break;
        }
        assert_eq!(event.code, 1);
        received += 1;
    }
    let (flooder, sent, took) = tokio::time::timeout(WAIT, flood).await.expect("the flood ends").unwrap();
    let reasons: Vec<u16> = flooder.statuses.iter().map(|s| s.reason).collect();
    assert!(reasons.contains(&(DisconnectReason::RateLimited as u16)), "flooder statuses {:?}", flooder.statuses);
    recipient.barrier().await;
    assert!(!recipient.session.is_closed(), "the recipient stayed connected");
    assert!(received <= sent, "{received} of {sent}");
    stop.store(true, Ordering::Relaxed);
    let (ab, ba) = tokio::time::timeout(WAIT, pair).await.expect("bystanders finish").expect("bystanders ok");
    println!(
        "flood: {sent} events sent in {took:.2?} before the disconnect, {received} relayed; bystanders {ab} + {ba}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_exchanges_beyond_the_budget_wait_then_are_refused() {
    let mut config = test_config();
    config.admission.key_exchanges_per_address_per_second = 5.0;
    config.admission.key_exchange_burst_per_address = 5.0;
    config.admission.key_exchange_max_wait_ms = 300;
    let server = start_server(config).await;
    let addr = server.local_addr();

    let attempts: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(async move {
                let mut client = Client::start(addr, "demo", SessionConfig::default()).await;
                client.until_closed_or(StatusCode::EncryptionEstablished).await;
                client
            })
        })
        .collect();
    let mut established = 0;
    let mut refused = 0;
    for task in attempts {
        let client = task.await.unwrap();
        if client.session.is_encrypted() {
            established += 1;
        } else {
            let reasons: Vec<u16> = client.statuses.iter().map(|s| s.reason).collect();
            assert!(reasons.contains(&(DisconnectReason::RateLimited as u16)), "{:?}", client.statuses);
            refused += 1;
        }
    }
    // 5 at once, then 5 a second for up to 300 ms: 6 or 7 get through, the rest are told why.
    assert!((5..=8).contains(&established), "{established} established");
    assert_eq!(established + refused, 20);
    println!("key exchange budget: {established} established, {refused} refused");
}
