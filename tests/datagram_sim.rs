//! The datagram transport over a simulated network: seeded loss, duplication, reordering, jitter and
//! a small MTU, in simulated time. The client and the server are the real sessions and the server's
//! real stateless endpoint; only the wire is simulated.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::datagram::{parse_header, DatagramConfig, Endpoint, Incoming, RETRY_LEN};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::{EventData, OperationRequest};
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, Transport};
use sealnet::protocol::status::{PeerState, StatusCode};

const CLIENT: &str = "10.0.0.1:5000";
const SERVER: &str = "10.0.0.2:5055";

#[derive(Clone, Copy, Debug)]
struct Impairment {
    loss: f64,
    duplicate: f64,
    reorder: f64,
    delay: Duration,
    jitter: Duration,
    mtu: usize,
}

impl Impairment {
    fn clean() -> Self {
        Impairment {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            mtu: 1200,
        }
    }
}

/// xorshift64*, seeded through splitmix64 (small seeds would start poorly mixed): deterministic.
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

struct InFlight {
    to: SocketAddr,
    from: SocketAddr,
    bytes: Vec<u8>,
}

/// Two hosts and a wire between them.
struct Sim {
    start: Instant,
    now: Instant,
    rng: Rng,
    net: Impairment,
    queue: BinaryHeap<(Reverse<Instant>, u64, usize)>,
    packets: Vec<Option<InFlight>>,
    order: u64,
    client: Session,
    client_addr: SocketAddr,
    server: Option<Session>,
    endpoint: Endpoint,
    server_key: Arc<Keypair>,
    server_config: SessionConfig,
    client_events: Vec<SessionEvent>,
    server_events: Vec<SessionEvent>,
    retries_sent: usize,
    datagrams: usize,
}

fn datagram_config(mtu: usize) -> DatagramConfig {
    DatagramConfig { max_datagram: mtu, ..DatagramConfig::default() }
}

impl Sim {
    fn new(seed: u64, net: Impairment) -> Self {
        let now = Instant::now();
        let config = SessionConfig { transport: Transport::Datagram(datagram_config(net.mtu)), ..Default::default() };
        let mut client = Session::client(config.clone(), now);
        client.connect("game", "1.0", now).unwrap();
        Sim {
            start: now,
            now,
            rng: Rng::seeded(seed),
            net,
            queue: BinaryHeap::new(),
            packets: Vec::new(),
            order: 0,
            client,
            client_addr: CLIENT.parse().unwrap(),
            server: None,
            endpoint: Endpoint::new([9; 32], now),
            server_key: Arc::new(Keypair::generate().unwrap()),
            server_config: config,
            client_events: Vec::new(),
            server_events: Vec::new(),
            retries_sent: 0,
            datagrams: 0,
        }
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.datagrams += 1;
        let lost = self.rng.chance(self.net.loss);
        if std::env::var_os("SIM_TRACE").is_some() {
            let t = self.now.duration_since(self.start).as_millis();
            eprintln!(
                "{t:>6} ms {from} -> {to} kind {:x} len {} {}",
                bytes[0],
                bytes.len(),
                if lost { "LOST" } else { "" }
            );
        }
        if lost {
            return;
        }
        let copies = if self.rng.chance(self.net.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let jitter = if self.net.jitter.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rng.next() % self.net.jitter.as_micros() as u64)
            };
            let mut at = self.now + self.net.delay + jitter;
            if self.rng.chance(self.net.reorder) {
                at += self.net.delay * 2;
            }
            self.order += 1;
            self.packets.push(Some(InFlight { to, from, bytes: bytes.to_vec() }));
            self.queue.push((Reverse(at), self.order, self.packets.len() - 1));
        }
    }

    /// Sends whatever both sessions have to send now, and collects their events.
    fn flush(&mut self) {
        let server_addr: SocketAddr = SERVER.parse().unwrap();
        let mut out = Vec::new();
        while self.client.poll_datagram(self.now, &mut out) {
            // The Initial is 1200 bytes whatever the MTU setting (the path must carry that much).
            let initial = out[0] == sealnet::protocol::datagram::KIND_INITIAL;
            assert!(
                initial || out.len() <= self.net.mtu,
                "a datagram of {} bytes over the {} MTU",
                out.len(),
                self.net.mtu
            );
            let bytes = out.clone();
            self.send(self.client_addr, server_addr, &bytes);
        }
        while let Some(event) = self.client.poll_event() {
            self.client_events.push(event);
        }
        if let Some(server) = self.server.as_mut() {
            let mut pending = Vec::new();
            while let Some(event) = server.poll_event() {
                if let SessionEvent::ConnectRequest { .. } = event {
                    server.accept(self.now).unwrap();
                }
                pending.push(event);
            }
            self.server_events.extend(pending);
            let mut sends = Vec::new();
            while server.poll_datagram(self.now, &mut out) {
                assert!(out.len() <= self.net.mtu);
                sends.push((server.remote_address().unwrap(), out.clone()));
            }
            for (to, bytes) in sends {
                self.send(server_addr, to, &bytes);
            }
        }
    }

    fn deliver(&mut self, packet: InFlight) {
        let server_addr: SocketAddr = SERVER.parse().unwrap();
        let mut bytes = packet.bytes;
        if packet.to == server_addr {
            if let Some(server) = self.server.as_mut() {
                let (_, id) = parse_header(&bytes).expect("a datagram");
                if Some(id) == server.connection_id() {
                    server.receive_datagram(&mut bytes, packet.from, self.now);
                    return;
                }
            }
            let mut retry = [0u8; RETRY_LEN];
            match self.endpoint.on_unknown(&bytes, packet.from, self.now, &mut retry) {
                Incoming::Retry { len, .. } => {
                    self.retries_sent += 1;
                    assert!(len <= bytes.len(), "no amplification before the address is proven");
                    self.send(server_addr, packet.from, &retry[..len]);
                }
                Incoming::Accept { connection_id } => {
                    if self.server.is_none() {
                        let mut server = Session::datagram_server(
                            self.server_config.clone(),
                            self.server_key.clone(),
                            connection_id,
                            packet.from,
                            self.now,
                        );
                        server.receive_datagram(&mut bytes, packet.from, self.now);
                        self.server = Some(server);
                    }
                }
                Incoming::Drop(_) => {}
            }
        } else if packet.to == self.client_addr {
            self.client.receive_datagram(&mut bytes, packet.from, self.now);
        }
    }

    /// Runs the simulation until `until` (simulated), or until `done` holds.
    fn run(&mut self, limit: Duration, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.flush();
            if done(self) {
                return true;
            }
            let timers = [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(|s| s.poll_timeout()),
                self.queue.peek().map(|(Reverse(at), _, _)| *at),
            ];
            let Some(next) = timers.into_iter().flatten().min() else { return false };
            let next = next.max(self.now);
            if next > end {
                self.now = end;
                return false;
            }
            self.now = next;
            while self.queue.peek().is_some_and(|(Reverse(at), _, _)| *at <= self.now) {
                let (_, _, index) = self.queue.pop().unwrap();
                let packet = self.packets[index].take().unwrap();
                self.deliver(packet);
            }
            if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
                self.client.handle_timeout(self.now);
            }
            if let Some(server) = self.server.as_mut() {
                if server.poll_timeout().is_some_and(|at| at <= self.now) {
                    server.handle_timeout(self.now);
                }
            }
        }
    }

    fn establish(&mut self) {
        let ok = self.run(Duration::from_secs(10), |sim| sim.client.state() == PeerState::Encrypted);
        assert!(
            ok,
            "no key exchange; client events: {:?}; client {:?}; server {:?} {:?}",
            self.client_events,
            self.client.datagram_stats(),
            self.server.as_ref().map(|s| s.state()),
            self.server.as_ref().map(|s| s.datagram_stats())
        );
    }

    fn server(&mut self) -> &mut Session {
        self.server.as_mut().expect("server session")
    }
}

fn numbered(channel: u8, n: i32, payload: usize) -> Params {
    let mut params = Params::new();
    params.insert(1, Value::Int(channel as i32));
    params.insert(2, Value::Int(n));
    if payload > 0 {
        params.insert(3, Value::Bytes((0..payload).map(|i| (i * 7 + n as usize) as u8).collect()));
    }
    params
}

fn int(params: &Params, key: u8) -> i32 {
    match params.get(key) {
        Some(Value::Int(v)) => *v,
        other => panic!("key {key}: {other:?}"),
    }
}

/// The requests the server received, per channel, in arrival order.
fn requests_by_channel(events: &[SessionEvent]) -> BTreeMap<i32, Vec<i32>> {
    let mut by_channel: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for event in events {
        if let SessionEvent::OperationRequest { request, .. } = event {
            by_channel.entry(int(&request.params, 1)).or_default().push(int(&request.params, 2));
        }
    }
    by_channel
}

fn reliable_run(seed: u64, net: Impairment, count: i32, channels: u8, payload: usize) {
    let mut sim = Sim::new(seed, net);
    sim.establish();
    assert!(sim.retries_sent >= 1, "the server answers the first Initial with a Retry");
    for n in 0..count {
        for channel in 0..channels {
            let options = SendOptions { encrypt: n % 2 == 0, delivery: Delivery::Reliable, channel };
            let request = OperationRequest { op_code: 7, params: numbered(channel, n, payload) };
            sim.client.send_operation(&request, options).unwrap();
        }
        // A game sends a few messages per tick.
        if n % 8 == 7 {
            sim.run(Duration::from_millis(16), |_| false);
        }
    }
    let expected = count as usize * channels as usize;
    let ok = sim.run(Duration::from_secs(120), |sim| {
        requests_by_channel(&sim.server_events).values().map(Vec::len).sum::<usize>() >= expected
    });
    let by_channel = requests_by_channel(&sim.server_events);
    let client_stats = sim.client.datagram_stats();
    assert!(
        ok,
        "seed {seed}: {:?} of {expected} arrived; server {:?} client {:?} {:?}",
        by_channel.values().map(Vec::len).collect::<Vec<_>>(),
        sim.server().datagram_stats(),
        client_stats,
        sim.client.state()
    );
    for channel in 0..channels as i32 {
        let got = &by_channel[&channel];
        assert_eq!(got, &(0..count).collect::<Vec<_>>(), "seed {seed}: channel {channel} exactly once, in order");
    }
    assert_eq!(sim.client.state(), PeerState::Encrypted);
}

#[test]
fn reliable_messages_arrive_once_and_in_order_per_channel_under_loss_duplication_and_reordering() {
    let net = Impairment {
        loss: 0.10,
        duplicate: 0.05,
        reorder: 0.10,
        jitter: Duration::from_millis(8),
        ..Impairment::clean()
    };
    reliable_run(7, net, 300, 3, 40);
    let stats = {
        let mut sim = Sim::new(8, net);
        sim.establish();
        sim.client.datagram_stats().unwrap()
    };
    assert!(stats.datagrams_sent > 0);
}

#[test]
fn a_clean_link_delivers_everything_without_retransmission() {
    let mut sim = Sim::new(1, Impairment::clean());
    sim.establish();
    for n in 0..200 {
        let request = OperationRequest { op_code: 7, params: numbered(0, n, 100) };
        sim.client.send_operation(&request, SendOptions::RELIABLE).unwrap();
    }
    assert!(sim.run(Duration::from_secs(10), |sim| requests_by_channel(&sim.server_events)
        .get(&0)
        .is_some_and(|v| v.len() == 200)));
    let stats = sim.client.datagram_stats().unwrap();
    assert_eq!(stats.retransmissions, 0, "{stats:?}");
    assert!(stats.datagrams_sent < 200, "small messages are coalesced into datagrams: {stats:?}");
}

#[test]
fn a_fragmented_reliable_message_of_256_kib_arrives_intact_under_loss() {
    let net = Impairment { loss: 0.10, duplicate: 0.05, reorder: 0.05, ..Impairment::clean() };
    let mut sim = Sim::new(3, net);
    sim.establish();
    let blob: Vec<u8> = (0..256 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut params = Params::new();
    params.insert(1, Value::Int(0));
    params.insert(2, Value::Int(0));
    params.insert(3, Value::Bytes(blob.clone()));
    let request = OperationRequest { op_code: 9, params };
    sim.client.send_operation(&request, SendOptions::ENCRYPTED).unwrap();
    let ok = sim.run(Duration::from_secs(60), |sim| {
        sim.server_events
            .iter()
            .any(|e| matches!(e, SessionEvent::OperationRequest { request, .. } if request.op_code == 9))
    });
    assert!(ok, "stats: {:?}", sim.server().datagram_stats());
    let received = sim
        .server_events
        .iter()
        .find_map(|e| match e {
            SessionEvent::OperationRequest { request, encrypted, .. } if request.op_code == 9 => {
                assert!(*encrypted);
                Some(request.params.get(3).cloned())
            }
            _ => None,
        })
        .flatten();
    assert_eq!(received, Some(Value::Bytes(blob)));
}

#[test]
fn unreliable_sequenced_messages_never_go_backwards() {
    let net = Impairment {
        loss: 0.10,
        duplicate: 0.10,
        reorder: 0.30,
        jitter: Duration::from_millis(15),
        ..Impairment::clean()
    };
    let mut sim = Sim::new(11, net);
    sim.establish();
    for n in 0..400 {
        let options = SendOptions { delivery: Delivery::Unreliable, channel: 1, encrypt: false };
        sim.server().send_event(&EventData { code: 5, sender: 1, params: numbered(1, n, 20) }, options).unwrap();
        sim.run(Duration::from_millis(5), |_| false);
    }
    sim.run(Duration::from_secs(2), |_| false);
    let seen: Vec<i32> = sim
        .client_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Event { event, .. } if event.code == 5 => Some(int(&event.params, 2)),
            _ => None,
        })
        .collect();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "went backwards: {seen:?}");
    // 10% are lost and the 30% held back mostly arrive after a newer one: stale, and dropped.
    assert!(seen.len() > 180 && seen.len() < 360, "most but not all arrive: {}", seen.len());
    assert!(sim.client.datagram_stats().unwrap().stale > 0, "reordering made some stale");
}

#[test]
fn an_unreliable_fragmented_message_is_dropped_whole_when_a_fragment_is_lost() {
    let net = Impairment { loss: 0.2, ..Impairment::clean() };
    let mut sim = Sim::new(5, net);
    sim.establish();
    for n in 0..40 {
        let options = SendOptions { delivery: Delivery::UnreliableUnsequenced, channel: 0, encrypt: true };
        sim.server().send_event(&EventData { code: 6, sender: 1, params: numbered(0, n, 5000) }, options).unwrap();
        sim.run(Duration::from_millis(30), |_| false);
    }
    sim.run(Duration::from_secs(7), |_| false);
    let whole: Vec<&EventData> = sim
        .client_events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Event { event, .. } if event.code == 6 => Some(event),
            _ => None,
        })
        .collect();
    assert!(!whole.is_empty() && whole.len() < 40, "{} of 40", whole.len());
    for event in whole {
        assert_eq!(event.params, numbered(0, int(&event.params, 2), 5000), "a delivered message is whole");
    }
    let stats = sim.client.datagram_stats().unwrap();
    assert!(stats.expired_fragments > 0, "incomplete messages expire: {stats:?}");
}

#[test]
fn a_connection_under_30_percent_loss_stays_up_and_delivers() {
    let net = Impairment { loss: 0.30, duplicate: 0.02, reorder: 0.05, ..Impairment::clean() };
    reliable_run(21, net, 100, 2, 200);
    let mut sim = Sim::new(22, net);
    sim.establish();
    // A minute of pings only: the keepalive and its acknowledgements keep both ends up.
    sim.run(Duration::from_secs(60), |_| false);
    assert_eq!(sim.client.state(), PeerState::Encrypted, "{:?}", sim.client_events);
    assert_eq!(sim.server().state(), PeerState::Encrypted);
}

#[test]
fn a_small_mtu_is_respected() {
    let net = Impairment { mtu: 600, loss: 0.05, ..Impairment::clean() };
    reliable_run(31, net, 50, 2, 1500);
}

#[test]
fn a_dead_path_ends_the_connection_with_a_timeout() {
    let mut sim = Sim::new(41, Impairment::clean());
    sim.establish();
    sim.net.loss = 1.0;
    let request = OperationRequest { op_code: 7, params: numbered(0, 0, 10) };
    sim.client.send_operation(&request, SendOptions::RELIABLE).unwrap();
    let ok = sim.run(Duration::from_secs(60), |sim| sim.client.wants_close() || sim.client.is_closed());
    assert!(ok);
    let timeout = sim.client_events.iter().any(
        |e| matches!(e, SessionEvent::Status(info) if info.code == StatusCode::TimeoutDisconnect && info.reason == 3),
    );
    assert!(timeout, "{:?}", sim.client_events);
}

#[test]
fn a_disconnect_survives_loss() {
    let mut closed = 0;
    for seed in 100..120 {
        let mut sim = Sim::new(seed, Impairment::clean());
        sim.establish();
        sim.net.loss = 0.3;
        sim.client.disconnect(sealnet::protocol::status::DisconnectReason::ClientRequest, "bye");
        sim.run(Duration::from_secs(1), |sim| sim.server.as_ref().is_some_and(|s| s.wants_close()));
        if sim.server().wants_close() {
            closed += 1;
        }
    }
    // Three copies: all three lost has probability 0.027 per run.
    assert!(closed >= 17, "{closed} of 20 servers heard the goodbye");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn reliable_delivery_holds_for_random_schedules(
        seed in 1u64..u64::MAX,
        loss in 0.0f64..0.25,
        duplicate in 0.0f64..0.1,
        reorder in 0.0f64..0.3,
        jitter_ms in 0u64..30,
        payload in prop_oneof![Just(10usize), Just(900), Just(3000)],
    ) {
        let net = Impairment { loss, duplicate, reorder, jitter: Duration::from_millis(jitter_ms), ..Impairment::clean() };
        reliable_run(seed, net, 40, 2, payload);
    }
}
