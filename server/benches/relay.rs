//! `make bench-relay`: the sealnet server over TCP and over UDP (encrypted, and only authenticated)
//! beside a plain ENet relay, run alternately in one invocation on this machine, with one table of
//! all of them and their ratios to ENet; then the UDP server beside ENet over a lossy link between
//! two network namespaces.
//!
//! Each configuration runs `SEALNET_BENCH_ROUNDS` times (default 2) per system, alternating which
//! goes first, over windows of `SEALNET_BENCH_SECONDS` (default 3, so that the whole grid of both
//! parts stays within about five minutes on two vCPUs) after a second of warm-up. Both
//! drivers are one thread, drive every client from it, and print the same lines (`enet_reference.c`
//! and `relay/driver.rs`); the server's CPU time (and the driver's) is read from /proc at the start
//! and end of each window, and so is the machine's steal time and what other processes took. The
//! ENet reference is the program `make bench-relay` builds against Debian's libenet-dev, named by
//! `SEALNET_ENET_REFERENCE`.
//!
//! Sealnet servers are measured with one event loop (like the single-threaded ENet relay) and one
//! per core; `SEALNET_BENCH_WORKERS` lists others (`1,2,4`; 0 is one per core). Each server speaks
//! TCP and UDP on the same port number; its UDP listener reads on the accepting thread and hands each
//! datagram to the shard that runs its connection.
//!
//! The lossy link (`server/tests/support/netns.rs`): the servers (sealnet, first worker count of the
//! list, and the ENet relay) run in namespace B, the drivers in namespace A, with 5% loss and 20 ms
//! of delay each way on UDP; sealnet's events there are encrypted (netem where the kernel has it, otherwise the harness's user-space relay
//! in B, whose CPU time is reported). Where namespaces cannot be made (not root, no `ip`), the
//! reason is printed and that part skipped.
//!
//! `SEALNET_BENCH_ONLY=loopback` or `=lossy` runs one part; any other value runs the configurations
//! whose names contain it. `SEALNET_BENCH_SERVER_LOG` replaces the servers' `RUST_LOG` (`warn`), and
//! `SEALNET_BENCH_LINK_STATS=1` has the sealnet driver print its UDP links' counters on stderr.
//!
//! `relay drive load [HOST:]PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS [tcp|udp|udp-plain]` and
//! `relay drive handshakes [HOST:]PORT CONCURRENCY SECONDS [tcp|udp]` run the sealnet driver alone.

#[path = "relay/driver.rs"]
mod driver;
#[path = "../tests/support/netns.rs"]
mod netns;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use driver::Wire;

/// One measured configuration.
struct Setup {
    name: &'static str,
    /// Driver arguments after the target.
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Load { clients: u32, room_size: u32, rate: u32, window: u32 },
    Handshakes { concurrency: u32 },
}

impl Kind {
    fn args(self, target: &str, seconds: f64) -> Vec<String> {
        match self {
            Kind::Load { clients, room_size, rate, window } => {
                vec![
                    "load".into(),
                    target.into(),
                    clients.to_string(),
                    room_size.to_string(),
                    rate.to_string(),
                    window.to_string(),
                    seconds.to_string(),
                ]
            }
            Kind::Handshakes { concurrency } => {
                vec!["handshakes".into(), target.into(), concurrency.to_string(), seconds.to_string()]
            }
        }
    }
}

const SETUPS: [Setup; 4] = [
    Setup {
        name: "100 clients, rooms of 10, max rate (window 4)",
        kind: Kind::Load { clients: 100, room_size: 10, rate: 0, window: 4 },
    },
    Setup {
        name: "100 clients, rooms of 10, 20 events/s each",
        kind: Kind::Load { clients: 100, room_size: 10, rate: 20, window: 0 },
    },
    Setup {
        name: "2 clients, one room, 1000 events/s each",
        kind: Kind::Load { clients: 2, room_size: 2, rate: 1000, window: 0 },
    },
    Setup { name: "handshakes, 16 at a time", kind: Kind::Handshakes { concurrency: 16 } },
];

/// The lossy link's configurations: a closed loop (its goodput is what loss recovery allows), a room
/// at a game's rate (its tail latency is what recovery costs), and the two-client stream of the
/// loopback table (more than a loss-limited congestion window carries at this round trip).
const LOSSY_SETUPS: [Setup; 3] = [
    Setup {
        name: "lossy: 10 clients, one room, max rate (window 4)",
        kind: Kind::Load { clients: 10, room_size: 10, rate: 0, window: 4 },
    },
    Setup {
        name: "lossy: 10 clients, one room, 20 events/s each",
        kind: Kind::Load { clients: 10, room_size: 10, rate: 20, window: 0 },
    },
    Setup {
        name: "lossy: 2 clients, one room, 1000 events/s each",
        kind: Kind::Load { clients: 2, room_size: 2, rate: 1000, window: 0 },
    },
];

/// 5% loss and 20 ms of delay, each way.
const LOSSY_LINK: netns::Impairment = netns::Impairment {
    loss: 0.05,
    duplicate: 0.0,
    reorder: 0.0,
    delay: Duration::from_millis(20),
    jitter: Duration::ZERO,
    seed: 0x5EA1_BE7C,
};

/// What one run of a driver measured.
#[derive(Debug, Default, Clone)]
struct Run {
    /// Deliveries (or handshakes) in the window.
    count: u64,
    seconds: f64,
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    /// Server CPU time in the window.
    server_cpu: Duration,
    driver_cpu: Duration,
    /// The lossy link's user-space relay (threads of this process), when there is one.
    relay_cpu: Duration,
    steal_percent: f64,
    /// CPU the rest of the machine used meanwhile (builds, other jobs), in % of all cores.
    other_percent: f64,
    lost: u64,
    duplicates: u64,
    reordered: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.count as f64 / self.seconds
    }

    fn cpu_per_item_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.count.max(1) as f64
    }

    fn server_core_percent(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 100.0 / self.seconds
    }

    fn driver_core_percent(&self) -> f64 {
        self.driver_cpu.as_secs_f64() * 100.0 / self.seconds
    }

    fn relay_core_percent(&self) -> f64 {
        self.relay_cpu.as_secs_f64() * 100.0 / self.seconds
    }
}

/// On-CPU time so far (nanosecond resolution, from schedstat) of the threads of a process, or of
/// those whose name starts with `named`.
fn threads_cpu(pid: &str, named: Option<&str>) -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Some(prefix) = named {
                let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                if !name.starts_with(prefix) {
                    continue;
                }
            }
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

fn process_cpu(pid: u32) -> Duration {
    threads_cpu(&pid.to_string(), None)
}

/// The netns harness's relay threads in this process.
fn relay_cpu() -> Duration {
    threads_cpu("self", Some("relay"))
}

/// Jiffies of the whole machine so far.
#[derive(Clone, Copy)]
struct Jiffies {
    steal: u64,
    /// Neither idle, nor waiting for I/O, nor stolen.
    busy: u64,
    total: u64,
}

fn machine_jiffies() -> Jiffies {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let at = |index: usize| fields.get(index).copied().unwrap_or(0);
    let total: u64 = fields.iter().take(8).sum();
    Jiffies { steal: at(7), busy: total - at(3) - at(4) - at(7), total }
}

fn field(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// Runs a driver against the server `server_pid`, reading its CPU time (and the driver's, and the
/// machine's) when the window opens and closes.
fn run_driver(mut command: Command, server_pid: u32, seconds: f64, cores: usize) -> Run {
    let mut child = command.stdout(Stdio::piped()).spawn().expect("the driver starts");
    let driver_pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = || lines.next().and_then(Result::ok).unwrap_or_else(|| panic!("the driver stopped early"));
    let line = next_line();
    assert_eq!(line, "start", "the driver said {line:?}");
    let reading = || (process_cpu(server_pid), process_cpu(driver_pid), relay_cpu(), machine_jiffies(), Instant::now());
    let (server, driver, relay, jiffies, opened) = reading();
    let end = next_line();
    let (server_after, driver_after, relay_after, jiffies_after, closed) = reading();
    let check = next_line();
    let status = child.wait().expect("the driver ends");
    assert!(status.success(), "the driver failed: {status}");
    let total = (jiffies_after.total - jiffies.total).max(1) as f64;
    let elapsed = closed - opened;
    let mut run = Run {
        count: if end.contains("handshakes=") { field(&end, "handshakes") } else { field(&end, "deliveries") } as u64,
        seconds: elapsed.as_secs_f64().max(seconds * 0.5),
        server_cpu: server_after - server,
        driver_cpu: driver_after - driver,
        relay_cpu: relay_after - relay,
        steal_percent: (jiffies_after.steal - jiffies.steal) as f64 * 100.0 / total,
        lost: field(&check, "lost") as u64,
        duplicates: field(&check, "duplicates") as u64,
        reordered: field(&check, "reordered") as u64,
        ..Run::default()
    };
    let busy = (jiffies_after.busy - jiffies.busy) as f64 * 100.0 / total;
    let ours = (run.server_cpu + run.driver_cpu + run.relay_cpu).as_secs_f64() * 100.0
        / (elapsed.as_secs_f64().max(1e-3) * cores as f64);
    run.other_percent = (busy - ours).max(0.0);
    if end.contains("p50_us=") {
        run.p50_us = field(&end, "p50_us");
        run.p90_us = field(&end, "p90_us");
        run.p99_us = field(&end, "p99_us");
    }
    run
}

/// A server process, stopped on drop.
struct ServerProcess {
    child: Child,
    /// TCP (sealnet) or UDP (ENet).
    port: u16,
    /// Sealnet's UDP port.
    udp_port: u16,
    _state: Option<tempfile::TempDir>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Reads the server's first `count` lines (its stdout stays open, unread, after them).
fn first_lines(child: &mut Child, count: usize) -> Vec<String> {
    let mut reader = BufReader::new(child.stdout.as_mut().unwrap());
    (0..count)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).expect("the server prints its address");
            line.trim().to_owned()
        })
        .collect()
}

/// `program` run in the network namespace `netns`, or here.
fn command_in(netns: Option<&str>, program: &Path) -> Command {
    match netns {
        Some(ns) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", ns]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn start_enet(reference: &Path, netns: Option<&str>, port: u16) -> ServerProcess {
    let mut child = command_in(netns, reference)
        .args(["relay", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the ENet relay starts");
    let line = first_lines(&mut child, 1).remove(0);
    assert_eq!(line, "ready", "the ENet relay said {line:?}");
    ServerProcess { child, port, udp_port: port, _state: None }
}

/// The sealnet server with limits out of the way of a load test (the defaults would rightly throttle
/// one address sending this much), and warnings only in its log.
fn start_sealnet(workers: usize, netns: Option<&str>, listen: &str) -> ServerProcess {
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("bench.toml");
    let key_file = state.path().join("server.key");
    let mut file = std::fs::File::create(&config).unwrap();
    write!(
        file,
        r#"listen = "{listen}"
app_ids = ["bench"]
key_file = "{}"
max_connections = 100000
workers = {workers}
[admission]
max_pending = 10000
max_pending_per_address = 10000
max_connections_per_address = 100000
key_exchanges_per_second = 1e9
key_exchange_burst = 1e9
key_exchanges_per_address_per_second = 1e9
key_exchange_burst_per_address = 1e9
[limits]
ops_per_second = 1e12
ops_burst = 1e12
bytes_per_second = 1e15
bytes_burst = 1e15
[udp]
enabled = true
"#,
        key_file.display(),
    )
    .unwrap();
    let mut child = command_in(netns, Path::new(env!("CARGO_BIN_EXE_sealnet-server")))
        .args(["--config".as_ref(), config.as_os_str()])
        .env("RUST_LOG", std::env::var("SEALNET_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sealnet server starts");
    let lines = first_lines(&mut child, 3);
    let address = |line: &str, prefix: &str| -> SocketAddr {
        line.strip_prefix(prefix)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("the sealnet server said {lines:?}"))
    };
    let tcp = address(&lines[0], "sealnet-server listening on ");
    let udp = address(&lines[2], "sealnet-server listening on UDP ");
    ServerProcess { child, port: tcp.port(), udp_port: udp.port(), _state: Some(state) }
}

/// The sealnet servers to measure, by event loops: `SEALNET_BENCH_WORKERS` (a comma-separated list;
/// 0 is one per core), by default one loop (like the single-threaded ENet relay) and one per core.
fn worker_counts(cores: usize) -> Vec<usize> {
    let listed = std::env::var("SEALNET_BENCH_WORKERS").unwrap_or_else(|_| "1,0".into());
    let mut counts: Vec<usize> = listed
        .split(',')
        .map(|w| w.trim().parse::<usize>().expect("SEALNET_BENCH_WORKERS lists numbers"))
        .map(|w| if w == 0 { cores } else { w })
        .collect();
    counts.dedup();
    counts
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.is_empty() {
        f64::NAN
    } else if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// One column of a table: ENet, or a sealnet server over one transport.
#[derive(Clone, Copy)]
enum System {
    Enet,
    Sealnet { server: usize, wire: Wire },
}

impl System {
    fn label(self, workers: &[usize]) -> String {
        match self {
            System::Enet => "ENet (plain)".into(),
            System::Sealnet { server, wire } => {
                let w = workers[server];
                let loops = format!("{w} loop{}", if w == 1 { "" } else { "s" });
                match wire {
                    Wire::Tcp => format!("sealnet TCP, {loops} (encrypted)"),
                    Wire::Udp { encrypt: true } => format!("sealnet UDP, {loops} (encrypted)"),
                    Wire::Udp { encrypt: false } => format!("sealnet UDP, {loops} (plain)"),
                }
            }
        }
    }

    /// Whether the system runs `kind`: a handshake is the same encrypted or not.
    fn runs(self, kind: Kind) -> bool {
        !matches!((self, kind), (System::Sealnet { wire: Wire::Udp { encrypt: false }, .. }, Kind::Handshakes { .. }))
    }
}

/// Where the drivers run and find the servers.
struct Place<'a> {
    /// The drivers' namespace, if not this one.
    netns: Option<&'a str>,
    enet: &'a ServerProcess,
    enet_target: String,
    sealnets: &'a [ServerProcess],
    /// Per sealnet server: its TCP and UDP targets.
    sealnet_targets: Vec<(String, String)>,
}

/// Runs every setup on every system, `rounds` times, each round starting with the next system.
/// Returns results[setup][system][round].
fn measure(
    setups: &[&Setup],
    systems: &[System],
    place: &Place,
    reference: &Path,
    (rounds, seconds, cores): (usize, f64, usize),
) -> Vec<Vec<Vec<Run>>> {
    let this = std::env::current_exe().unwrap();
    let mut results = Vec::new();
    for setup in setups {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); systems.len()];
        for round in 0..rounds {
            for index in (0..systems.len()).map(|k| (k + round) % systems.len()) {
                let system = systems[index];
                if !system.runs(setup.kind) {
                    continue;
                }
                let run = match system {
                    System::Enet => {
                        let mut command = command_in(place.netns, reference);
                        command.args(setup.kind.args(&place.enet_target, seconds));
                        run_driver(command, place.enet.child.id(), seconds, cores)
                    }
                    System::Sealnet { server, wire } => {
                        let (tcp, udp) = &place.sealnet_targets[server];
                        let target = if wire == Wire::Tcp { tcp } else { udp };
                        let mut command = command_in(place.netns, &this);
                        command.arg("drive").args(setup.kind.args(target, seconds)).arg(wire.name());
                        run_driver(command, place.sealnets[server].child.id(), seconds, cores)
                    }
                };
                runs[index].push(run);
            }
        }
        eprintln!("done: {}", setup.name);
        results.push(runs);
    }
    results
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("drive") {
        return drive(&args[1..]);
    }
    let reference: PathBuf = std::env::var_os("SEALNET_ENET_REFERENCE")
        .expect("SEALNET_ENET_REFERENCE names the ENet reference program (make bench-relay builds it)")
        .into();
    let seconds: f64 = std::env::var("SEALNET_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let rounds: usize = std::env::var("SEALNET_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let only = std::env::var("SEALNET_BENCH_ONLY").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = worker_counts(cores);
    println!("relay benchmark: {rounds} rounds of {seconds} s per system and configuration, alternating;");
    println!("{cores} cores; sealnet servers with {workers:?} event loops; every driver one thread\n");
    let settings = (rounds, seconds, cores);
    let chosen = |part: &str, setups: &'static [Setup]| -> Vec<&'static Setup> {
        setups.iter().filter(|s| only.is_empty() || only == part || s.name.contains(only.as_str())).collect()
    };
    let started = Instant::now();
    let loopback_setups = chosen("loopback", &SETUPS);
    if !loopback_setups.is_empty() && only != "lossy" {
        loopback(&loopback_setups, &reference, &workers, settings);
    }
    let loopback_took = started.elapsed();
    let lossy_setups = chosen("lossy", &LOSSY_SETUPS);
    if !lossy_setups.is_empty() && only != "loopback" {
        lossy(&lossy_setups, &reference, &workers, settings);
    }
    println!(
        "\nTook {:.0} s: loopback {:.0} s, lossy link {:.0} s.",
        started.elapsed().as_secs_f64(),
        loopback_took.as_secs_f64(),
        (started.elapsed() - loopback_took).as_secs_f64()
    );
}

/// Every system on loopback.
fn loopback(setups: &[&Setup], reference: &Path, workers: &[usize], settings: (usize, f64, usize)) {
    let enet_port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let enet = start_enet(reference, None, enet_port);
    let sealnets: Vec<ServerProcess> = workers.iter().map(|&w| start_sealnet(w, None, "127.0.0.1:0")).collect();
    let mut systems = vec![System::Enet];
    for wire in [Wire::Tcp, Wire::Udp { encrypt: true }, Wire::Udp { encrypt: false }] {
        systems.extend((0..sealnets.len()).map(|server| System::Sealnet { server, wire }));
    }
    let place = Place {
        netns: None,
        enet: &enet,
        enet_target: enet.port.to_string(),
        sealnets: &sealnets,
        sealnet_targets: sealnets.iter().map(|s| (s.port.to_string(), s.udp_port.to_string())).collect(),
    };
    let results = measure(setups, &systems, &place, reference, settings);
    println!("Loopback:\n");
    print_table(setups, &results, &systems, workers, false);
    println!();
}

/// ENet and the sealnet UDP server across the lossy link.
fn lossy(setups: &[&Setup], reference: &Path, workers: &[usize], settings: (usize, f64, usize)) {
    let mut link = match netns::Link::create(LOSSY_LINK) {
        Ok(link) => link,
        Err(skip) => {
            println!("Lossy link: skipped: {skip}");
            return;
        }
    };
    let (rounds, seconds, _) = settings;
    // The relay's threads stop by themselves after their lifetime; this one outlasts every run.
    let runs = (rounds * setups.len() * 2) as f64;
    link.set_relay_lifetime(Duration::from_secs_f64(120.0 + runs * (seconds + 15.0)));
    let enet_port = link
        .run_in_b(|| std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.local_addr()).map(|a| a.port()))
        .join()
        .unwrap()
        .expect("a free UDP port in namespace B");
    let enet = start_enet(reference, Some(link.ns_b()), enet_port);
    let sealnet = vec![start_sealnet(workers[0], Some(link.ns_b()), "0.0.0.0:0")];
    let enet_target = link.client_target(enet.port).to_string();
    let udp_target = link.client_target(sealnet[0].udp_port).to_string();
    println!("Lossy link: {}", link.describe());
    println!("(ENet relay and sealnet server in {}, drivers in {})\n", link.ns_b(), link.ns_a());
    let systems = [System::Enet, System::Sealnet { server: 0, wire: Wire::Udp { encrypt: true } }];
    let place = Place {
        netns: Some(link.ns_a()),
        enet: &enet,
        enet_target,
        sealnets: &sealnet,
        sealnet_targets: vec![(String::new(), udp_target)],
    };
    let results = measure(setups, &systems, &place, reference, settings);
    print_table(setups, &results, &systems, &workers[..1], link.is_relay());
    if let Some(stats) = link.stats() {
        let (up, down) = (stats.client_to_server, stats.server_to_client);
        println!(
            "\nLink relay, all runs: to the servers {} datagrams, {} dropped ({:.1}%); to the clients {}, {} dropped \
             ({:.1}%); send errors {}",
            up.seen,
            up.dropped,
            up.dropped as f64 * 100.0 / up.seen.max(1) as f64,
            down.seen,
            down.dropped,
            down.dropped as f64 * 100.0 / down.seen.max(1) as f64,
            up.send_errors + down.send_errors
        );
    }
    // The servers stop before the link (and its namespaces) goes.
    drop(sealnet);
    drop(enet);
}

fn drive(args: &[String]) {
    let number = |index: usize| -> f64 { args[index].parse().unwrap_or_else(|_| panic!("bad argument {index}")) };
    let usage = "usage: relay drive load [HOST:]PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS [tcp|udp|udp-plain] | \
                 handshakes [HOST:]PORT CONCURRENCY SECONDS [tcp|udp]";
    let address = match args.get(1) {
        Some(target) if target.contains(':') => target.to_socket_addrs().ok().and_then(|mut a| a.next()),
        Some(port) => port.parse::<u16>().ok().map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
        None => None,
    }
    .unwrap_or_else(|| panic!("{usage}"));
    let wire = |index: usize| match args.get(index) {
        Some(name) => Wire::parse(name).unwrap_or_else(|| panic!("{usage}")),
        None => Wire::Tcp,
    };
    match args.first().map(String::as_str) {
        Some("load") if (7..=8).contains(&args.len()) => driver::load(
            address,
            wire(7),
            number(2) as usize,
            number(3) as usize,
            number(4),
            number(5) as u64,
            number(6),
        ),
        Some("handshakes") if (4..=5).contains(&args.len()) => {
            driver::handshakes(address, wire(4), number(2) as usize, number(3))
        }
        _ => panic!("{usage}"),
    }
}

fn print_table(setups: &[&Setup], results: &[Vec<Vec<Run>>], systems: &[System], workers: &[usize], relay: bool) {
    let mut header = format!("| configuration | figure | {} |", System::Enet.label(workers));
    let mut rule = "|---|---|---|".to_owned();
    for system in &systems[1..] {
        header += &format!(" {} | / ENet |", system.label(workers));
        rule += "---|---|";
    }
    println!("{header}\n{rule}");
    for (setup, runs) in setups.iter().zip(results) {
        let row = |figure: &str, value: &dyn Fn(&Run) -> f64, digits: usize, ratio: bool| {
            let medians: Vec<f64> = runs.iter().map(|system| median(system.iter().map(value).collect())).collect();
            let mut line = format!("| {} | {figure} | {:.digits$} |", setup.name, medians[0]);
            for other in &medians[1..] {
                if other.is_nan() {
                    line += " (as encrypted) | |";
                    continue;
                }
                let ratio =
                    if ratio && medians[0] > 0.0 { format!("{:.2}x", other / medians[0]) } else { String::new() };
                line += &format!(" {other:.digits$} | {ratio} |");
            }
            println!("{line}");
        };
        match setup.kind {
            Kind::Load { .. } => {
                row("delivered events/s", &Run::rate, 0, true);
                row("server CPU per delivery (µs)", &Run::cpu_per_item_us, 2, true);
                row("p50 latency (µs)", &|r| r.p50_us, 1, true);
                row("p90 latency (µs)", &|r| r.p90_us, 1, true);
                row("p99 latency (µs)", &|r| r.p99_us, 1, true);
            }
            Kind::Handshakes { .. } => {
                row("handshakes/s", &Run::rate, 0, true);
                row("server CPU per handshake (µs)", &Run::cpu_per_item_us, 1, true);
            }
        }
        row("server CPU (% of a core)", &Run::server_core_percent, 0, false);
        row("driver CPU (% of a core)", &Run::driver_core_percent, 0, false);
        if relay {
            row("link relay CPU (% of a core)", &Run::relay_core_percent, 0, false);
        }
        let each = |figure: &str, show: &dyn Fn(&Run) -> String| {
            let mut line = format!("| {} | {figure} |", setup.name);
            for (index, system) in runs.iter().enumerate() {
                let values = system.iter().map(show).collect::<Vec<_>>().join(" ");
                let values = if values.is_empty() { "-".into() } else { values };
                line += &if index == 0 { format!(" {values} |") } else { format!(" {values} | |") };
            }
            println!("{line}");
        };
        each("lost/duplicated/reordered (each run)", &|r| format!("{}/{}/{}", r.lost, r.duplicates, r.reordered));
        each("steal % (each run)", &|r| format!("{:.1}", r.steal_percent));
        each("other processes, % of machine (each run)", &|r| format!("{:.0}", r.other_percent));
    }
    println!(
        "\nMedians of the runs. Server CPU is all threads of the server process over the measured window; \
         \"other processes\" is what the rest of the machine used meanwhile."
    );
}
