//! A real, lossy network link between two Linux network namespaces, for integration tests of UDP
//! transports.
//!
//! Include it with `#[path = "support/netns.rs"] mod netns;`. It uses only `std`, `libc` and the `ip`
//! (iproute2) command; it needs root.
//!
//! [`Link::create`] makes two fresh namespaces, `sn-<pid>-<n>-a` (side A, the client, 10.201.X.1/24) and
//! `sn-<pid>-<n>-b` (side B, the server, 10.201.X.2/24), joined by a veth pair (`veth-a` in A, `veth-b` in B).
//! Dropping the [`Link`] (also while a test unwinds from a panic) stops the relay threads and deletes both
//! namespaces, which removes the veth pair.
//!
//! The [`Impairment`] applies to UDP in both directions, in one of two modes:
//! - `"netem"`: a `tc ... netem` qdisc on both veth ends. The client sends straight to the server's address.
//!   Everything on the link is impaired (UDP, TCP, ICMP), and [`Link::stats`] returns `None`.
//! - `"user-space relay"`, when the kernel has no `sch_netem` (or with [`Link::create_relay`]): a UDP forwarder
//!   in B, listening on 10.201.X.2:<relay port>, that forwards each client's datagrams to the server
//!   (10.201.X.2:<server port>) from one upstream socket per client source address, and the server's replies
//!   back to that client from the relay's listening socket. It applies seeded loss, duplication, reordering
//!   and delay with jitter, and counts what it did ([`Link::stats`]).
//!
//! Either way the client must send to [`Link::client_target`], and the server must bind 10.201.X.2 or
//! 0.0.0.0 in B (not 127.0.0.1: the client cannot reach that in netem mode, nor the relay in relay mode).
//!
//! Semantics of the relay's impairment, per datagram and direction, decided by a seeded generator (one per
//! direction, so one client's sequence of decisions is the same on every run):
//! - `loss`: the datagram is dropped.
//! - `duplicate`: it is sent twice, back to back.
//! - `reorder`: it is held back and released right behind the next datagram of the same client and
//!   direction (if none comes within [`HOLD_WINDOW`] after its release time, it goes out alone, not
//!   counted as reordered).
//! - `delay` ± uniform `jitter`: the release time. Unlike netem, jitter never reorders: release times are
//!   kept in arrival order within one client and direction, so `reorder` is the only source of reordering
//!   and [`DirectionStats::reordered`] counts exactly the datagrams that were overtaken.
//!
//! The relay's threads stop within about 50 ms of the [`Link`]'s drop, and by themselves after
//! [`RELAY_LIFETIME`] (see [`Link::set_relay_lifetime`]), so a leaked link cannot forward forever.
#![allow(dead_code)]

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long relay threads may run at most, from the relay's creation; then they stop by themselves.
pub const RELAY_LIFETIME: Duration = Duration::from_secs(30);
/// How long a datagram held back for reordering waits, after its release time, for one to overtake it.
pub const HOLD_WINDOW: Duration = Duration::from_millis(50);
/// Read timeout of every relay socket, and the longest any relay thread waits before checking for shutdown.
const TICK: Duration = Duration::from_millis(50);
/// The longest the link's set-up probe waits for a datagram to cross the veth pair.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Socket buffers of the relay's sockets (and of sockets passed to [`grow_buffers`]).
const BUFFER_BYTES: libc::c_int = 4 << 20;
/// Clients (source addresses) one relay serves at most; datagrams from further ones are dropped.
const MAX_FLOWS: usize = 256;
const VETH_A: &str = "veth-a";
const VETH_B: &str = "veth-b";

static LINK_COUNTER: AtomicU32 = AtomicU32::new(0);

/// What the link does to UDP datagrams, in both directions. Probabilities are in 0..=1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a (not dropped) datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back behind the next one.
    pub reorder: f64,
    /// Added to every datagram's delivery.
    pub delay: Duration,
    /// The delay varies uniformly by up to this much either way (clamped at zero).
    pub jitter: Duration,
    /// Seeds the relay's decisions (netem has its own randomness).
    pub seed: u64,
}

impl Impairment {
    /// A perfect link.
    pub const fn none() -> Impairment {
        Impairment { loss: 0.0, duplicate: 0.0, reorder: 0.0, delay: Duration::ZERO, jitter: Duration::ZERO, seed: 0 }
    }

    fn check(&self) {
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate), ("reorder", self.reorder)] {
            assert!((0.0..=1.0).contains(&p), "Impairment::{name} must be a probability in 0..=1, not {p}");
        }
    }

    fn netem_args(&self) -> Vec<String> {
        let percent = |p: f64| format!("{:.4}%", p * 100.0);
        let mut args = vec!["loss".to_string(), percent(self.loss), "duplicate".to_string(), percent(self.duplicate)];
        args.push("delay".to_string());
        args.push(format!("{}us", self.delay.as_micros()));
        if !self.jitter.is_zero() {
            args.push(format!("{}us", self.jitter.as_micros()));
        }
        if self.reorder > 0.0 {
            args.push("reorder".to_string());
            args.push(percent(self.reorder));
        }
        args
    }
}

/// Why a test cannot have a link here (not root, no `ip`, namespaces not allowed). The test should print it
/// and return without failing.
#[derive(Clone, Debug)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "network namespace test skipped: {}", self.0)
    }
}

/// What the relay did in one direction. `delivered` counts datagrams sent on, duplicates included; once the
/// relay is idle (see [`Link::wait_idle`]), `delivered == seen - dropped + duplicated - send_errors`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    pub seen: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub delivered: u64,
    pub send_errors: u64,
}

impl DirectionStats {
    fn add(&mut self, other: &DirectionStats) {
        self.seen += other.seen;
        self.dropped += other.dropped;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.delivered += other.delivered;
        self.send_errors += other.send_errors;
    }
}

/// The relay's counts, summed over all its clients and server ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// From side A (clients) to the server in B.
    pub client_to_server: DirectionStats,
    /// From the server in B back to the clients.
    pub server_to_client: DirectionStats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Netem,
    Relay,
}

/// Two network namespaces joined by a veth pair, impaired as asked. See the module's documentation.
pub struct Link {
    ns_a: String,
    ns_b: String,
    subnet: u8,
    impairment: Impairment,
    mode: Mode,
    netem_error: Option<String>,
    relay_lifetime: Duration,
    /// Namespaces made so far, deleted on drop.
    created: Vec<String>,
    shutdown: Arc<AtomicBool>,
    relays: Mutex<Vec<Arc<Relay>>>,
}

impl Link {
    /// A link impaired by netem where the kernel has it, else by the user-space relay.
    pub fn create(impairment: Impairment) -> Result<Link, Skip> {
        Link::build(impairment, false)
    }

    /// A link impaired by the user-space relay even where netem exists, for what only the relay does:
    /// [`Link::stats`] and [`Link::rebind_all`].
    pub fn create_relay(impairment: Impairment) -> Result<Link, Skip> {
        Link::build(impairment, true)
    }

    /// [`Link::create`], printing the reason and returning `None` when the test must be skipped.
    pub fn create_or_skip(impairment: Impairment) -> Option<Link> {
        Link::create(impairment).map_err(|skip| eprintln!("{skip}")).ok()
    }

    /// [`Link::create_relay`], printing the reason and returning `None` when the test must be skipped.
    pub fn create_relay_or_skip(impairment: Impairment) -> Option<Link> {
        Link::create_relay(impairment).map_err(|skip| eprintln!("{skip}")).ok()
    }

    fn build(impairment: Impairment, force_relay: bool) -> Result<Link, Skip> {
        impairment.check();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(Skip("creating network namespaces needs root (run the tests as root)".into()));
        }
        if let Err(e) = Command::new("ip").arg("-V").output() {
            return Err(Skip(format!("the `ip` command (iproute2) cannot be run: {e}")));
        }
        let n = LINK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let mut link = Link {
            ns_a: format!("sn-{pid}-{n}-a"),
            ns_b: format!("sn-{pid}-{n}-b"),
            subnet: (n % 254 + 1) as u8,
            impairment,
            mode: Mode::Relay,
            netem_error: None,
            relay_lifetime: RELAY_LIFETIME,
            created: Vec::new(),
            shutdown: Arc::new(AtomicBool::new(false)),
            relays: Mutex::new(Vec::new()),
        };
        // From here on, dropping `link` deletes whatever was made.
        for ns in [link.ns_a.clone(), link.ns_b.clone()] {
            add_namespace(&ns).map_err(|e| Skip(format!("cannot create network namespace {ns}: {e}")))?;
            link.created.push(ns);
        }
        for ns in [&link.ns_a, &link.ns_b] {
            enter_in_thread(ns).map_err(|e| Skip(format!("cannot enter network namespace {ns} (setns): {e}")))?;
        }
        link.wire().map_err(|e| Skip(format!("cannot set up the veth pair: {e}")))?;
        if let Err(e) = link.probe() {
            panic!("the veth pair between {} and {} carries no UDP: {e}", link.ns_a, link.ns_b);
        }
        if force_relay {
            link.netem_error = Some("user-space relay requested".into());
        } else {
            match link.add_netem() {
                Ok(()) => link.mode = Mode::Netem,
                Err(e) => link.netem_error = Some(e),
            }
        }
        Ok(link)
    }

    fn mac(&self, side: u8) -> String {
        format!("02:53:4e:{:02x}:00:{side:02x}", self.subnet)
    }

    /// The veth pair, addresses, links up, and static neighbour entries (so netem cannot lose ARP).
    fn wire(&self) -> Result<(), String> {
        let (a, b) = (self.ns_a.as_str(), self.ns_b.as_str());
        let (mac_a, mac_b) = (self.mac(1), self.mac(2));
        let cidr = |ip: Ipv4Addr| format!("{ip}/24");
        let (cidr_a, cidr_b) = (cidr(self.client_ip()), cidr(self.server_ip()));
        let (ip_a, ip_b) = (self.client_ip().to_string(), self.server_ip().to_string());
        let commands: [&[&str]; 9] = [
            &[
                "link", "add", "name", VETH_A, "netns", a, "address", &mac_a, "type", "veth", "peer", "name", VETH_B,
                "netns", b, "address", &mac_b,
            ],
            &["-n", a, "addr", "add", &cidr_a, "dev", VETH_A],
            &["-n", b, "addr", "add", &cidr_b, "dev", VETH_B],
            &["-n", a, "link", "set", "lo", "up"],
            &["-n", b, "link", "set", "lo", "up"],
            &["-n", a, "link", "set", VETH_A, "up"],
            &["-n", b, "link", "set", VETH_B, "up"],
            &["-n", a, "neigh", "replace", &ip_b, "lladdr", &mac_b, "dev", VETH_A, "nud", "permanent"],
            &["-n", b, "neigh", "replace", &ip_a, "lladdr", &mac_a, "dev", VETH_B, "nud", "permanent"],
        ];
        for args in commands {
            run("ip", args)?;
        }
        Ok(())
    }

    /// Waits until a datagram crosses from A to B and one comes back: the veth's qdiscs are attached
    /// asynchronously after "link up", and drop traffic until then.
    fn probe(&self) -> Result<(), String> {
        let server_ip = self.server_ip();
        let client_ip = self.client_ip();
        let (tx, rx) = mpsc::channel();
        let echo = self.run_in_b(move || -> io::Result<()> {
            let socket = UdpSocket::bind((server_ip, 0))?;
            socket.set_read_timeout(Some(PROBE_TIMEOUT))?;
            let _ = tx.send(socket.local_addr()?);
            let mut buf = [0u8; 16];
            loop {
                let (n, from) = socket.recv_from(&mut buf)?;
                if &buf[..n] == b"done" {
                    return Ok(());
                }
                let _ = socket.send_to(&buf[..n], from);
            }
        });
        let Ok(echo_addr) = rx.recv_timeout(PROBE_TIMEOUT) else {
            return Err(format!("the probe's echo socket in B failed: {:?}", echo.join()));
        };
        let client = self.run_in_a(move || -> io::Result<()> {
            let socket = UdpSocket::bind((client_ip, 0))?;
            socket.set_read_timeout(Some(Duration::from_millis(10)))?;
            let start = Instant::now();
            let mut buf = [0u8; 16];
            while start.elapsed() < PROBE_TIMEOUT {
                // Sends fail while the qdisc is not attached yet.
                let _ = socket.send_to(b"probe", echo_addr);
                if socket.recv_from(&mut buf).is_ok() {
                    socket.send_to(b"done", echo_addr)?;
                    return Ok(());
                }
            }
            Err(io::Error::new(io::ErrorKind::TimedOut, "no reply to the probe"))
        });
        let client = client.join().map_err(|_| "the probe's client thread panicked".to_string())?;
        let echo = echo.join().map_err(|_| "the probe's echo thread panicked".to_string())?;
        client.map_err(|e| format!("client side: {e}"))?;
        echo.map_err(|e| format!("server side: {e}"))
    }

    fn add_netem(&self) -> Result<(), String> {
        let netem = self.impairment.netem_args();
        let add = |ns: &str, dev: &str| {
            let mut args = vec!["netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem"];
            args.extend(netem.iter().map(String::as_str));
            run("ip", &args)
        };
        add(&self.ns_a, VETH_A)?;
        if let Err(e) = add(&self.ns_b, VETH_B) {
            let _ = run("ip", &["netns", "exec", &self.ns_a, "tc", "qdisc", "del", "dev", VETH_A, "root"]);
            return Err(e);
        }
        Ok(())
    }

    /// `"netem"` or `"user-space relay"`.
    pub fn mode(&self) -> &'static str {
        match self.mode {
            Mode::Netem => "netem",
            Mode::Relay => "user-space relay",
        }
    }

    /// Whether the user-space relay impairs the link (so [`Link::stats`] and [`Link::rebind_all`] work).
    pub fn is_relay(&self) -> bool {
        self.mode == Mode::Relay
    }

    /// Why netem is not in use, in relay mode (e.g. "Specified qdisc kind is unknown").
    pub fn netem_error(&self) -> Option<&str> {
        self.netem_error.as_deref()
    }

    /// One line for the test's output: the mode, the namespaces and the impairment.
    pub fn describe(&self) -> String {
        let why = self.netem_error.as_deref().map(|e| format!(" (netem: {e})")).unwrap_or_default();
        format!("link {} <-> {} in mode {}{why}, {:?}", self.ns_a, self.ns_b, self.mode(), self.impairment)
    }

    pub fn impairment(&self) -> Impairment {
        self.impairment
    }

    /// Side A's namespace (`ip netns` name).
    pub fn ns_a(&self) -> &str {
        &self.ns_a
    }

    /// Side B's namespace (`ip netns` name).
    pub fn ns_b(&self) -> &str {
        &self.ns_b
    }

    /// Side A's address, 10.201.X.1.
    pub fn client_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 201, self.subnet, 1)
    }

    /// Side B's address, 10.201.X.2: what the server binds (or 0.0.0.0).
    pub fn server_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 201, self.subnet, 2)
    }

    /// Changes how long relays started from now on may run (default [`RELAY_LIFETIME`]).
    pub fn set_relay_lifetime(&mut self, lifetime: Duration) {
        self.relay_lifetime = lifetime;
    }

    /// Where a client in A must send to reach a server listening on `server_port` in B: the server itself in
    /// netem mode; the relay (started on the first call for that port) in relay mode.
    pub fn client_target(&self, server_port: u16) -> SocketAddr {
        let target = SocketAddr::from((self.server_ip(), server_port));
        if self.mode == Mode::Netem {
            return target;
        }
        let mut relays = lock(&self.relays);
        if let Some(relay) = relays.iter().find(|relay| relay.target == target) {
            return relay.front_addr;
        }
        let (index, bind_ip, impairment) = (relays.len(), self.server_ip(), self.impairment);
        let (shutdown, deadline) = (self.shutdown.clone(), Instant::now() + self.relay_lifetime);
        let relay = self
            .run_in_b(move || Relay::start(index, bind_ip, target, impairment, shutdown, deadline))
            .join()
            .expect("the relay's start-up thread panicked")
            .unwrap_or_else(|e| panic!("cannot start the relay in {} for {target}: {e}", self.ns_b));
        let addr = relay.front_addr;
        relays.push(relay);
        addr
    }

    /// Simulates NAT rebinding of every client seen so far: the relay opens new upstream sockets, so from now
    /// on (including datagrams already queued) the server sees a new source address for each client, and
    /// replies sent to the old address are lost. The client sees no change. Returns how many clients moved.
    /// Panics in netem mode: use [`Link::create_relay`] for tests of rebinding.
    pub fn rebind_all(&self) -> usize {
        self.rebind(None)
    }

    /// [`Link::rebind_all`] for one client (its address in A as the relay sees it). Returns whether the relay
    /// knew that client.
    pub fn rebind_client(&self, client: SocketAddr) -> bool {
        self.rebind(Some(client)) > 0
    }

    fn rebind(&self, only: Option<SocketAddr>) -> usize {
        assert!(self.is_relay(), "rebinding needs the user-space relay: create the link with Link::create_relay");
        let relays = lock(&self.relays).clone();
        self.run_in_b(move || relays.iter().map(|relay| relay.rebind(only)).sum::<io::Result<usize>>())
            .join()
            .expect("the rebinding thread panicked")
            .unwrap_or_else(|e| panic!("cannot open new upstream sockets: {e}"))
    }

    /// The relay's counts so far; `None` in netem mode.
    pub fn stats(&self) -> Option<LinkStats> {
        if !self.is_relay() {
            return None;
        }
        let mut stats = LinkStats::default();
        for relay in lock(&self.relays).iter() {
            let state = relay.lock();
            stats.client_to_server.add(&state.stats[Dir::ToServer as usize]);
            stats.server_to_client.add(&state.stats[Dir::ToClient as usize]);
        }
        Some(stats)
    }

    /// Waits until the relay holds no datagram (queued, delayed or held back), up to `timeout`. Returns
    /// whether it became idle; always true in netem mode.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if lock(&self.relays).iter().all(|relay| relay.lock().is_idle()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs `f` on a new thread inside side A's namespace (threads it spawns stay there).
    pub fn run_in_a<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(&self.ns_a, f)
    }

    /// Runs `f` on a new thread inside side B's namespace (threads it spawns stay there).
    pub fn run_in_b<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_in(&self.ns_b, f)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        let relays = std::mem::take(&mut *lock(&self.relays));
        for relay in relays {
            relay.stop();
        }
        for ns in self.created.iter().rev() {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                eprintln!("netns: cannot delete network namespace {ns}: {e}");
            }
        }
    }
}

/// Raises a socket's send and receive buffers to 4 MiB (beyond the sysctl limits: we are root), so bursts
/// in a test are not dropped by the kernel where no impairment counts them. Best effort.
pub fn grow_buffers(socket: &UdpSocket) {
    let fd = socket.as_raw_fd();
    for (forced, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)] {
        let value = BUFFER_BYTES;
        let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let ptr = &value as *const libc::c_int as *const libc::c_void;
        // SAFETY: fd is an open socket owned by `socket`; ptr points at a c_int of `size` bytes.
        unsafe {
            if libc::setsockopt(fd, libc::SOL_SOCKET, forced, ptr, size) != 0 {
                libc::setsockopt(fd, libc::SOL_SOCKET, plain, ptr, size);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let line = format!("{program} {}", args.join(" "));
    let output = Command::new(program).args(args).output().map_err(|e| format!("`{line}` cannot start: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("`{line}` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()))
    }
}

fn add_namespace(ns: &str) -> Result<(), String> {
    match run("ip", &["netns", "add", ns]) {
        // A namespace of this name can only be left over from a dead process that had our pid.
        Err(e) if e.contains("File exists") => {
            run("ip", &["netns", "del", ns])?;
            run("ip", &["netns", "add", ns]).map(drop)
        }
        other => other.map(drop),
    }
}

/// Moves the calling thread into the network namespace `ns` (made by `ip netns add`).
fn enter(ns: &str) -> io::Result<()> {
    let file = File::open(format!("/var/run/netns/{ns}"))?;
    // SAFETY: the fd is open for the duration of the call; setns only affects the calling thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn enter_in_thread(ns: &str) -> io::Result<()> {
    let ns = ns.to_string();
    thread::spawn(move || enter(&ns)).join().unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
}

fn spawn_in<F, T>(ns: &str, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let ns = ns.to_string();
    thread::Builder::new()
        .name(format!("netns {ns}"))
        .spawn(move || {
            enter(&ns).unwrap_or_else(|e| panic!("cannot enter network namespace {ns}: {e}"));
            f()
        })
        .expect("cannot spawn a thread")
}

/// SplitMix64: small, seeded, good enough for impairment decisions.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    ToServer = 0,
    ToClient = 1,
}

struct Packet {
    client: SocketAddr,
    dir: Dir,
    data: Vec<u8>,
    copies: u8,
}

enum Job {
    Send(Packet),
    /// Release the datagram held back in this lane if it is still the one with this id.
    Flush {
        client: SocketAddr,
        dir: Dir,
        id: u64,
    },
}

/// A heap entry: the earliest time first, then the first scheduled.
#[derive(PartialEq, Eq)]
struct Due {
    at: Instant,
    id: u64,
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> CmpOrdering {
        (other.at, other.id).cmp(&(self.at, self.id))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Due>,
    jobs: HashMap<u64, Job>,
    next_id: u64,
}

impl Queue {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn push_with(&mut self, at: Instant, id: u64, job: Job) {
        self.heap.push(Due { at, id });
        self.jobs.insert(id, job);
    }

    fn push(&mut self, at: Instant, job: Job) {
        let id = self.id();
        self.push_with(at, id, job);
    }

    fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|due| due.at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<Job> {
        if self.next_at()? > now {
            return None;
        }
        let due = self.heap.pop()?;
        self.jobs.remove(&due.id)
    }
}

struct Held {
    id: u64,
    packet: Packet,
}

/// One client's traffic in one direction.
struct Lane {
    last_release: Instant,
    held: Option<Held>,
}

struct Upstream {
    socket: UdpSocket,
    alive: AtomicBool,
}

impl Upstream {
    fn open(bind_ip: Ipv4Addr, target: SocketAddr) -> io::Result<Arc<Upstream>> {
        let socket = UdpSocket::bind((bind_ip, 0))?;
        socket.connect(target)?;
        configure(&socket)?;
        Ok(Arc::new(Upstream { socket, alive: AtomicBool::new(true) }))
    }
}

struct Flow {
    upstream: Arc<Upstream>,
    lanes: [Lane; 2],
}

struct RelayState {
    flows: HashMap<SocketAddr, Flow>,
    queue: Queue,
    rng: [Rng; 2],
    stats: [DirectionStats; 2],
}

impl RelayState {
    fn is_idle(&self) -> bool {
        self.queue.heap.is_empty() && self.flows.values().all(|flow| flow.lanes.iter().all(|lane| lane.held.is_none()))
    }
}

struct Relay {
    front: UdpSocket,
    front_addr: SocketAddr,
    bind_ip: Ipv4Addr,
    target: SocketAddr,
    impairment: Impairment,
    shutdown: Arc<AtomicBool>,
    deadline: Instant,
    expired: AtomicBool,
    state: Mutex<RelayState>,
    wake: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn configure(socket: &UdpSocket) -> io::Result<()> {
    socket.set_read_timeout(Some(TICK))?;
    socket.set_write_timeout(Some(TICK))?;
    grow_buffers(socket);
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

impl Relay {
    /// Binds the relay's front socket and starts its threads; must run inside namespace B.
    fn start(
        index: usize,
        bind_ip: Ipv4Addr,
        target: SocketAddr,
        impairment: Impairment,
        shutdown: Arc<AtomicBool>,
        deadline: Instant,
    ) -> io::Result<Arc<Relay>> {
        let front = UdpSocket::bind((bind_ip, 0))?;
        configure(&front)?;
        let seed = |dir: u64| Rng(impairment.seed ^ (index as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407) ^ dir);
        let relay = Arc::new(Relay {
            front_addr: front.local_addr()?,
            front,
            bind_ip,
            target,
            impairment,
            shutdown,
            deadline,
            expired: AtomicBool::new(false),
            state: Mutex::new(RelayState {
                flows: HashMap::new(),
                queue: Queue::default(),
                rng: [seed(0x5EA1_0001), seed(0x5EA1_0002)],
                stats: [DirectionStats::default(); 2],
            }),
            wake: Condvar::new(),
            threads: Mutex::new(Vec::new()),
        });
        let front = relay.clone();
        relay.spawn("relay front", move || front.front_loop())?;
        let scheduler = relay.clone();
        relay.spawn("relay sched", move || scheduler.scheduler_loop())?;
        Ok(relay)
    }

    fn spawn(&self, name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let handle = thread::Builder::new().name(name.to_string()).spawn(f)?;
        lock(&self.threads).push(handle);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, RelayState> {
        lock(&self.state)
    }

    fn running(&self) -> bool {
        if self.shutdown.load(Ordering::SeqCst) {
            return false;
        }
        if Instant::now() >= self.deadline {
            if !self.expired.swap(true, Ordering::SeqCst) {
                eprintln!("netns: the relay for {} reached its lifetime and stops forwarding", self.target);
            }
            return false;
        }
        true
    }

    /// Joins every thread (the link's shutdown flag is already set).
    fn stop(&self) {
        self.wake.notify_all();
        loop {
            let threads = std::mem::take(&mut *lock(&self.threads));
            if threads.is_empty() {
                return;
            }
            for thread in threads {
                let _ = thread.join();
            }
        }
    }

    fn front_loop(self: Arc<Self>) {
        let mut buf = vec![0u8; 65536];
        while self.running() {
            match self.front.recv_from(&mut buf) {
                Ok((n, from)) => self.from_client(from, &buf[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => {
                    eprintln!("netns relay: receiving from clients: {e}");
                    thread::sleep(TICK);
                }
            }
        }
    }

    fn from_client(self: &Arc<Self>, client: SocketAddr, data: &[u8]) {
        let mut state = self.lock();
        if !state.flows.contains_key(&client) {
            if state.flows.len() >= MAX_FLOWS {
                return;
            }
            let upstream = match self.open_upstream(client) {
                Ok(upstream) => upstream,
                Err(e) => {
                    eprintln!("netns relay: cannot open an upstream socket for {client}: {e}");
                    return;
                }
            };
            let lane = || Lane { last_release: Instant::now(), held: None };
            state.flows.insert(client, Flow { upstream, lanes: [lane(), lane()] });
        }
        self.ingress(&mut state, Dir::ToServer, client, data);
    }

    /// A new upstream socket toward the target for `client`, with its reader thread.
    fn open_upstream(self: &Arc<Self>, client: SocketAddr) -> io::Result<Arc<Upstream>> {
        let upstream = Upstream::open(self.bind_ip, self.target)?;
        let (relay, reader) = (self.clone(), upstream.clone());
        self.spawn("relay upstream", move || relay.upstream_loop(reader, client))?;
        Ok(upstream)
    }

    fn upstream_loop(self: Arc<Self>, upstream: Arc<Upstream>, client: SocketAddr) {
        let mut buf = vec![0u8; 65536];
        while self.running() && upstream.alive.load(Ordering::SeqCst) {
            match upstream.socket.recv(&mut buf) {
                // After a rebinding the old mapping is gone: what still arrives there is lost.
                Ok(n) if upstream.alive.load(Ordering::SeqCst) => {
                    let mut state = self.lock();
                    self.ingress(&mut state, Dir::ToClient, client, &buf[..n]);
                }
                Ok(_) => {}
                // ECONNREFUSED: the server's port is closed (an ICMP error on the connected socket).
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    eprintln!("netns relay: receiving from {}: {e}", self.target);
                    thread::sleep(TICK);
                }
            }
        }
    }

    /// Applies the impairment to one datagram and schedules what is left of it.
    fn ingress(&self, state: &mut RelayState, dir: Dir, client: SocketAddr, data: &[u8]) {
        let imp = &self.impairment;
        let d = dir as usize;
        state.stats[d].seen += 1;
        // Always four draws per datagram, so each decision depends only on the datagram's position.
        let rng = &mut state.rng[d];
        let (u_loss, u_dup, u_jitter, u_reorder) = (rng.unit(), rng.unit(), rng.unit(), rng.unit());
        if u_loss < imp.loss {
            state.stats[d].dropped += 1;
            return;
        }
        let copies = if u_dup < imp.duplicate {
            state.stats[d].duplicated += 1;
            2
        } else {
            1
        };
        let jitter = imp.jitter.as_secs_f64() * (2.0 * u_jitter - 1.0);
        let delay = Duration::from_secs_f64((imp.delay.as_secs_f64() + jitter).max(0.0));
        let Some(flow) = state.flows.get_mut(&client) else { return };
        let lane = &mut flow.lanes[d];
        let release = (Instant::now() + delay).max(lane.last_release);
        let packet = Packet { client, dir, data: data.to_vec(), copies };
        let queue = &mut state.queue;
        if let Some(held) = lane.held.take() {
            lane.last_release = release;
            queue.push(release, Job::Send(packet));
            queue.push(release, Job::Send(held.packet));
            state.stats[d].reordered += 1;
        } else if u_reorder < imp.reorder {
            let id = queue.id();
            lane.held = Some(Held { id, packet });
            queue.push_with(release + HOLD_WINDOW, id, Job::Flush { client, dir, id });
        } else {
            lane.last_release = release;
            queue.push(release, Job::Send(packet));
        }
        self.wake.notify_one();
    }

    fn scheduler_loop(self: Arc<Self>) {
        let mut state = self.lock();
        loop {
            if !self.running() {
                return;
            }
            let now = Instant::now();
            while let Some(job) = state.queue.pop_due(now) {
                let packet = match job {
                    Job::Send(packet) => packet,
                    Job::Flush { client, dir, id } => {
                        let Some(lane) = state.flows.get_mut(&client).map(|flow| &mut flow.lanes[dir as usize]) else {
                            continue;
                        };
                        if lane.held.as_ref().is_none_or(|held| held.id != id) {
                            continue;
                        }
                        lane.last_release = lane.last_release.max(now);
                        lane.held.take().expect("checked above").packet
                    }
                };
                self.send(&mut state, packet);
            }
            let wait = state.queue.next_at().map_or(TICK, |at| at.saturating_duration_since(Instant::now()).min(TICK));
            if !wait.is_zero() {
                state = self.wake.wait_timeout(state, wait).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
            }
        }
    }

    /// Sends a due datagram (under the lock: local sends take microseconds, and rebinding cannot race).
    fn send(&self, state: &mut RelayState, packet: Packet) {
        let d = packet.dir as usize;
        let upstream = match packet.dir {
            Dir::ToServer => match state.flows.get(&packet.client) {
                Some(flow) => Some(flow.upstream.clone()),
                None => return,
            },
            Dir::ToClient => None,
        };
        for _ in 0..packet.copies {
            let sent = match &upstream {
                Some(upstream) => upstream.socket.send(&packet.data),
                None => self.front.send_to(&packet.data, packet.client),
            };
            match sent {
                Ok(_) => state.stats[d].delivered += 1,
                Err(_) => state.stats[d].send_errors += 1,
            }
        }
    }

    /// New upstream sockets for every client (or only `only`); must run inside namespace B.
    fn rebind(self: &Arc<Self>, only: Option<SocketAddr>) -> io::Result<usize> {
        let mut state = self.lock();
        let clients: Vec<SocketAddr> = state.flows.keys().copied().filter(|c| only.is_none_or(|o| o == *c)).collect();
        for client in &clients {
            let upstream = self.open_upstream(*client)?;
            let flow = state.flows.get_mut(client).expect("listed above");
            let old = std::mem::replace(&mut flow.upstream, upstream);
            old.alive.store(false, Ordering::SeqCst);
        }
        Ok(clients.len())
    }
}
