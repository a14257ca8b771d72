//! Tests of the network namespace harness (tests/support/netns.rs) itself, with plain UDP sockets: an echo
//! server in namespace B, a client in namespace A. They are skipped (pass, printing why) where network
//! namespaces cannot be made, e.g. when not run as root.

#[path = "support/netns.rs"]
mod netns;

use std::collections::HashSet;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use netns::{DirectionStats, Impairment, Link};

/// Datagrams each burst test sends.
const COUNT: u32 = 2000;
/// The client sends this many datagrams, then pauses [`PAUSE`]: about one second for [`COUNT`].
const BATCH: u32 = 10;
const PAUSE: Duration = Duration::from_millis(5);
/// The client stops listening when nothing arrived for this long after its last send.
const QUIET: Duration = Duration::from_millis(400);
/// No test thread runs longer than this.
const LIMIT: Duration = Duration::from_secs(8);
const TICK: Duration = Duration::from_millis(50);

fn payload(seq: u32) -> [u8; 32] {
    let mut data = [0xA5u8; 32];
    data[..4].copy_from_slice(&seq.to_be_bytes());
    data
}

fn seq_of(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[..4].try_into().expect("a datagram of at least 4 bytes"))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

struct EchoLog {
    /// Each datagram's sequence number and source address, in arrival order.
    received: Vec<(u32, SocketAddr)>,
    /// Echoes sent successfully.
    echoed: u64,
}

/// A UDP echo server in namespace B, bound to B's address on a free port.
struct EchoServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<EchoLog>,
}

impl EchoServer {
    fn start(link: &Link) -> EchoServer {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let ip = link.server_ip();
        let thread = link.run_in_b(move || {
            let socket = UdpSocket::bind((ip, 0)).expect("bind the echo server in B");
            netns::grow_buffers(&socket);
            socket.set_read_timeout(Some(TICK)).unwrap();
            tx.send(socket.local_addr().unwrap().port()).unwrap();
            let mut log = EchoLog { received: Vec::new(), echoed: 0 };
            let mut buf = [0u8; 1500];
            let deadline = Instant::now() + LIMIT * 2;
            while !stopped.load(Ordering::SeqCst) && Instant::now() < deadline {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        log.received.push((seq_of(&buf[..n]), from));
                        if socket.send_to(&buf[..n], from).is_ok() {
                            log.echoed += 1;
                        }
                    }
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => panic!("echo server: {e}"),
                }
            }
            log
        });
        let port = rx.recv_timeout(Duration::from_secs(5)).expect("the echo server starts");
        EchoServer { port, stop, thread }
    }

    fn finish(self) -> EchoLog {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the echo server thread")
    }
}

/// Sends [`COUNT`] numbered datagrams from namespace A to `target` and returns the sequence numbers of the
/// echoes in arrival order.
fn burst(link: &Link, target: SocketAddr) -> Vec<u32> {
    let ip = link.client_ip();
    link.run_in_a(move || {
        let socket = UdpSocket::bind((ip, 0)).expect("bind the client in A");
        netns::grow_buffers(&socket);
        socket.set_read_timeout(Some(TICK)).unwrap();
        let sender = socket.try_clone().unwrap();
        let sending = thread::spawn(move || {
            for seq in 0..COUNT {
                sender.send_to(&payload(seq), target).expect("send");
                if seq % BATCH == BATCH - 1 {
                    thread::sleep(PAUSE);
                }
            }
        });
        let start = Instant::now();
        let mut arrivals = Vec::new();
        let mut last = Instant::now();
        let mut buf = [0u8; 1500];
        while start.elapsed() < LIMIT {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    assert_eq!(from, target, "echoes come from the address the client sent to");
                    arrivals.push(seq_of(&buf[..n]));
                    last = Instant::now();
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => panic!("client: {e}"),
            }
            if sending.is_finished() && last.elapsed() > QUIET {
                break;
            }
        }
        sending.join().expect("the sending thread");
        arrivals
    })
    .join()
    .expect("the client thread")
}

struct Arrivals {
    total: usize,
    unique: usize,
    duplicates: usize,
    /// First arrivals of a number lower than one that arrived before.
    out_of_order: usize,
}

fn analyse(arrivals: &[u32]) -> Arrivals {
    let mut seen = HashSet::new();
    let (mut duplicates, mut out_of_order, mut highest) = (0, 0, None);
    for &seq in arrivals {
        if !seen.insert(seq) {
            duplicates += 1;
            continue;
        }
        if highest.is_some_and(|highest| seq < highest) {
            out_of_order += 1;
        }
        highest = highest.max(Some(seq));
    }
    Arrivals { total: arrivals.len(), unique: seen.len(), duplicates, out_of_order }
}

fn fraction(part: u64, whole: u64) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// The relay's books balance, and it did roughly what it was asked to.
fn check_direction(name: &str, dir: &DirectionStats, imp: &Impairment) {
    assert_eq!(dir.send_errors, 0, "{name}: {dir:?}");
    assert_eq!(dir.delivered, dir.seen - dir.dropped + dir.duplicated, "{name}: {dir:?}");
    let survived = dir.seen - dir.dropped;
    let within = |value: f64, expected: f64| (value - expected).abs() <= 0.03;
    assert!(within(fraction(dir.dropped, dir.seen), imp.loss), "{name}: loss off target: {dir:?}");
    assert!(within(fraction(dir.duplicated, survived), imp.duplicate), "{name}: duplication off target: {dir:?}");
    assert!(within(fraction(dir.reordered, survived), imp.reorder), "{name}: reordering off target: {dir:?}");
}

#[test]
fn impaired_link_loses_duplicates_and_reorders_in_both_directions() {
    let impairment = Impairment {
        loss: 0.10,
        duplicate: 0.05,
        reorder: 0.05,
        delay: Duration::from_millis(5),
        jitter: Duration::ZERO,
        seed: 42,
    };
    let Some(link) = Link::create_or_skip(impairment) else { return };
    println!("{}", link.describe());
    let echo = EchoServer::start(&link);
    let target = link.client_target(echo.port);
    let arrivals = burst(&link, target);
    assert!(link.wait_idle(Duration::from_secs(2)), "the relay drains");
    let log = echo.finish();
    let seen = analyse(&arrivals);

    // A number comes back if it survives the way there (loss l), and one of its one or two copies (duplicate
    // d) survives the way back. Every copy that reaches the server is echoed, and each echo may be
    // duplicated too.
    let (l, d) = (impairment.loss, impairment.duplicate);
    let expected_unique = (1.0 - l) * ((1.0 - d) * (1.0 - l) + d * (1.0 - l * l));
    let expected_total = ((1.0 - l) * (1.0 + d)).powi(2);
    let n = f64::from(COUNT);
    println!(
        "sent {COUNT}, server received {}, echoes received {} (expected ~{:.0}), distinct {} (expected ~{:.0}), \
         duplicates {}, out of order {}",
        log.received.len(),
        seen.total,
        expected_total * n,
        seen.unique,
        expected_unique * n,
        seen.duplicates,
        seen.out_of_order
    );
    let unique = seen.unique as f64 / n;
    assert!((0.72..=0.90).contains(&unique), "distinct echoes {unique:.3} of sent, expected ~{expected_unique:.3}");
    let total = seen.total as f64 / n;
    assert!((0.80..=0.97).contains(&total), "echoes {total:.3} of sent, expected ~{expected_total:.3}");
    assert!(seen.duplicates >= 1, "no duplicate arrived");
    assert!(seen.out_of_order >= 1, "nothing arrived out of order");

    if let Some(stats) = link.stats() {
        println!("relay stats: {stats:?}");
        let (up, down) = (&stats.client_to_server, &stats.server_to_client);
        assert_eq!(up.seen, u64::from(COUNT), "the relay saw every datagram the client sent");
        assert_eq!(log.received.len() as u64, up.delivered, "the server received what the relay delivered");
        assert_eq!(down.seen, log.echoed, "the relay saw every echo the server sent");
        assert_eq!(seen.total as u64, down.delivered, "the client received what the relay delivered");
        check_direction("client to server", up, &impairment);
        check_direction("server to client", down, &impairment);
        assert!(
            seen.out_of_order as u64 <= up.reordered + down.reordered,
            "only datagrams the relay held back arrive out of order"
        );
    }
}

#[test]
fn clean_link_delivers_every_datagram_once_and_in_order() {
    let Some(link) = Link::create_or_skip(Impairment::none()) else { return };
    println!("{}", link.describe());
    let echo = EchoServer::start(&link);
    let arrivals = burst(&link, link.client_target(echo.port));
    let log = echo.finish();
    println!("sent {COUNT}, server received {}, echoes received {}", log.received.len(), arrivals.len());
    assert_eq!(log.received.len(), COUNT as usize);
    assert_eq!(arrivals, (0..COUNT).collect::<Vec<_>>(), "every echo arrives once, in order");
    if let Some(stats) = link.stats() {
        println!("relay stats: {stats:?}");
        let clean = |seen| DirectionStats { seen, delivered: seen, ..DirectionStats::default() };
        assert_eq!(stats.client_to_server, clean(u64::from(COUNT)));
        assert_eq!(stats.server_to_client, clean(u64::from(COUNT)));
    }
}

/// Ping-pong of `seqs` over `socket` (made in A), each echo awaited.
fn ping(link: &Link, socket: UdpSocket, target: SocketAddr, seqs: std::ops::Range<u32>) -> UdpSocket {
    link.run_in_a(move || {
        socket.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 1500];
        for seq in seqs {
            socket.send_to(&payload(seq), target).expect("send");
            let (n, from) = socket.recv_from(&mut buf).expect("the echo arrives");
            assert_eq!((seq_of(&buf[..n]), from), (seq, target));
        }
        socket
    })
    .join()
    .expect("the client thread")
}

#[test]
fn rebind_all_gives_the_server_a_new_source_address() {
    let Some(link) = Link::create_relay_or_skip(Impairment::none()) else { return };
    println!("{}", link.describe());
    let echo = EchoServer::start(&link);
    let target = link.client_target(echo.port);
    let ip = link.client_ip();
    let socket = link.run_in_a(move || UdpSocket::bind((ip, 0)).expect("bind the client in A")).join().unwrap();
    let socket = ping(&link, socket, target, 0..20);
    assert_eq!(link.rebind_all(), 1, "one client to rebind");
    ping(&link, socket, target, 20..40);
    let log = echo.finish();

    assert_eq!(log.received.len(), 40);
    let before: HashSet<SocketAddr> = log.received[..20].iter().map(|&(_, from)| from).collect();
    let after: HashSet<SocketAddr> = log.received[20..].iter().map(|&(_, from)| from).collect();
    println!("the server saw the client as {before:?}, then as {after:?}");
    assert_eq!(before.len(), 1);
    assert_eq!(after.len(), 1);
    assert_ne!(before, after, "after rebind_all the server sees a new source address");
    assert!(before.iter().chain(&after).all(|from| from.ip() == link.server_ip()));
}
