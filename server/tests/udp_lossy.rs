//! The UDP transport over a real lossy link: the server in one network namespace, the players in
//! another, joined by a veth pair, with loss, duplication, reordering and delay on the UDP path
//! (`tc netem` where the kernel has it, else a user-space relay; see support/netns.rs). Skipped, with
//! a message, where namespaces cannot be made (not root).

#[path = "support/netns.rs"]
mod netns;
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use netns::{Impairment, Link};
use sealnet::protocol::codec::Value;
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::sealing::SendOptions;
use support::udp::{datagram_config, UdpClient};
use support::*;

const EVENTS: i32 = 200;

/// Starts a server in namespace B on its veth address; returns its TCP and UDP addresses and a stop.
fn server_in_b(link: &Link) -> (SocketAddr, SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (ready, addresses) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ip = link.server_ip();
    link.run_in_b(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            let mut config = test_config();
            config.listen = SocketAddr::new(ip.into(), 0);
            let server = start_server(config).await;
            ready.send((server.local_addr(), server.udp_addr().unwrap())).unwrap();
            let _ = stopped.await;
            server.shutdown().await;
        });
    });
    let (tcp, udp) = addresses.recv_timeout(WAIT).expect("the server starts in namespace B");
    (tcp, udp, stop)
}

fn number(event: &sealnet::protocol::message::EventData) -> i32 {
    int(event.params.get(DATA))
}

#[test]
fn reliable_events_cross_a_lossy_link_exactly_once_and_in_order_both_ways() {
    let impairment = Impairment {
        loss: 0.05,
        duplicate: 0.02,
        reorder: 0.05,
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(2),
        seed: 11,
    };
    let Some(link) = Link::create_or_skip(impairment) else { return };
    println!("lossy link: {}", link.describe());
    let (tcp_addr, udp_addr, stop) = server_in_b(&link);
    let target = link.client_target(udp_addr.port());
    let local = SocketAddr::new(link.client_ip().into(), 0);
    let players = link.run_in_a(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            // The TCP player crosses the veth unimpaired (the relay carries only UDP); the UDP player
            // goes through the impairment.
            let mut tcp = Client::encrypted(tcp_addr).await;
            let mut udp = UdpClient::start_from(local, target, datagram_config()).await;
            udp.status(sealnet::protocol::status::StatusCode::EncryptionEstablished).await;
            let (tcp_actor, _) = tcp.join_and_settle("lossy").await;
            let (udp_actor, _) = udp.join_and_settle("lossy").await;
            tokio::select! { _ = tcp.event() => {}, never = udp.drive() => never }

            // UDP to TCP: reliable, ordered, some encrypted; a large one in the middle.
            for n in 0..EVENTS {
                let options = SendOptions { encrypt: n % 3 == 0, delivery: Delivery::Reliable, channel: 1 };
                udp.raise(10, Some(Value::Int(n)), options).await;
                if n == EVENTS / 2 {
                    let blob = Value::Bytes((0..30_000u32).map(|i| (i % 253) as u8).collect());
                    udp.raise(11, Some(blob), SendOptions::ENCRYPTED).await;
                }
            }
            let mut seen = Vec::new();
            let mut blob_seen = false;
            while seen.len() < EVENTS as usize {
                let event = tokio::select! { (event, _) = tcp.event() => event, never = udp.drive() => never };
                assert_eq!(event.sender, udp_actor);
                match event.code {
                    10 => seen.push(number(&event)),
                    // Channel 0: ordered on its own, independently of channel 1.
                    11 => blob_seen = true,
                    other => panic!("unexpected event {other}"),
                }
            }
            assert_eq!(seen, (0..EVENTS).collect::<Vec<_>>(), "every event once, in order");
            if !blob_seen {
                let event = tokio::select! { (event, _) = tcp.event() => event, never = udp.drive() => never };
                assert_eq!(event.code, 11);
            }

            // TCP to UDP: reliable ordered, and unreliable sequenced on another channel.
            for n in 0..EVENTS {
                let reliable = SendOptions { encrypt: true, delivery: Delivery::Reliable, channel: 0 };
                tcp.raise(20, Some(Value::Int(n)), None, reliable).await;
                let unreliable = SendOptions { encrypt: false, delivery: Delivery::Unreliable, channel: 2 };
                tcp.raise(21, Some(Value::Int(n)), None, unreliable).await;
            }
            let (mut reliable, mut unreliable) = (Vec::new(), Vec::new());
            while reliable.len() < EVENTS as usize {
                let (event, _) = udp.event().await;
                assert_eq!(event.sender, tcp_actor);
                match event.code {
                    20 => reliable.push(number(&event)),
                    21 => unreliable.push(number(&event)),
                    other => panic!("unexpected event {other}"),
                }
            }
            assert_eq!(reliable, (0..EVENTS).collect::<Vec<_>>());
            // Unreliable events wait behind reliable ones at the sender: take them until the last one,
            // or until the link has been quiet for two seconds (the rest were lost on the way).
            while unreliable.last() != Some(&(EVENTS - 1)) {
                match tokio::time::timeout(Duration::from_secs(2), udp.event()).await {
                    Ok((event, _)) if event.code == 21 => unreliable.push(number(&event)),
                    Ok((event, _)) => panic!("unexpected event {}", event.code),
                    Err(_) => break,
                }
            }
            assert!(unreliable.windows(2).all(|w| w[0] < w[1]), "unreliable sequenced never goes backwards");
            let stats = udp.session.datagram_stats().unwrap();
            println!("UDP player: {stats:?}");
            (stats, unreliable.len())
        })
    });
    let (stats, unreliable) = players.join().expect("the players finish");
    assert!(stats.retransmissions > 0, "the link lost something, and it was sent again: {stats:?}");
    assert!(unreliable > 0);
    if let Some(link_stats) = link.stats() {
        println!("relay: {link_stats:?}");
        assert!(link_stats.client_to_server.dropped > 0 && link_stats.server_to_client.dropped > 0);
        assert!(link_stats.client_to_server.duplicated + link_stats.server_to_client.duplicated > 0);
    }
    let _ = stop.send(());
}
