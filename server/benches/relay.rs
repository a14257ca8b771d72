//! `make bench-relay`: the sealnet server (encryption on) beside a plain ENet relay, run alternately
//! in one invocation on this machine, with one table of both and their ratios.
//!
//! Each configuration runs `SEALNET_BENCH_ROUNDS` times (default 2) per system, alternating which
//! goes first, over windows of `SEALNET_BENCH_SECONDS` (default 5) after a second of warm-up. Both
//! drivers are one thread, drive every client from it, and print the same lines (`enet_reference.c`
//! and `relay/driver.rs`); the server's CPU time is read from /proc at the start and end of each
//! window, and so is the machine's steal time. The ENet reference is the program `make bench-relay`
//! builds against Debian's libenet-dev, named by `SEALNET_ENET_REFERENCE`.
//!
//! Two sealnet servers are measured by default: one event loop (like the single-threaded ENet relay)
//! and one per core; `SEALNET_BENCH_WORKERS` lists others (`1,2,4`; 0 is one per core).
//!
//! `relay drive load PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS` and
//! `relay drive handshakes PORT CONCURRENCY SECONDS` run the sealnet driver alone.

#[path = "relay/driver.rs"]
mod driver;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// One measured configuration.
struct Setup {
    name: &'static str,
    /// Driver arguments after the port.
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Load { clients: u32, room_size: u32, rate: u32, window: u32 },
    Handshakes { concurrency: u32 },
}

impl Kind {
    fn args(self, port: u16, seconds: f64) -> Vec<String> {
        match self {
            Kind::Load { clients, room_size, rate, window } => {
                vec![
                    "load".into(),
                    port.to_string(),
                    clients.to_string(),
                    room_size.to_string(),
                    rate.to_string(),
                    window.to_string(),
                    seconds.to_string(),
                ]
            }
            Kind::Handshakes { concurrency } => {
                vec!["handshakes".into(), port.to_string(), concurrency.to_string(), seconds.to_string()]
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
    steal_percent: f64,
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
}

/// On-CPU time of every thread of a process so far (nanosecond resolution, from schedstat).
fn process_cpu(pid: u32) -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

/// (steal, total) jiffies of the whole machine so far.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    (fields.get(7).copied().unwrap_or(0), fields.iter().sum())
}

fn field(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// Runs a driver against the server `server_pid`, reading its CPU time when the window opens and
/// closes.
fn run_driver(mut command: Command, server_pid: u32, seconds: f64) -> Run {
    let mut child = command.stdout(Stdio::piped()).spawn().expect("the driver starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = || lines.next().and_then(Result::ok).unwrap_or_else(|| panic!("the driver stopped early"));
    let line = next_line();
    assert_eq!(line, "start", "the driver said {line:?}");
    let (cpu, jiffies, opened) = (process_cpu(server_pid), machine_jiffies(), Instant::now());
    let end = next_line();
    let (cpu_after, jiffies_after, elapsed) = (process_cpu(server_pid), machine_jiffies(), opened.elapsed());
    let check = next_line();
    let status = child.wait().expect("the driver ends");
    assert!(status.success(), "the driver failed: {status}");
    let total = (jiffies_after.1 - jiffies.1).max(1);
    let mut run = Run {
        count: if end.contains("handshakes=") { field(&end, "handshakes") } else { field(&end, "deliveries") } as u64,
        seconds: elapsed.as_secs_f64().max(seconds * 0.5),
        server_cpu: cpu_after - cpu,
        steal_percent: (jiffies_after.0 - jiffies.0) as f64 * 100.0 / total as f64,
        lost: field(&check, "lost") as u64,
        duplicates: field(&check, "duplicates") as u64,
        reordered: field(&check, "reordered") as u64,
        ..Run::default()
    };
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
    port: u16,
    _state: Option<tempfile::TempDir>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn first_line(stdout: &mut Option<ChildStdout>) -> String {
    let mut line = String::new();
    BufReader::new(stdout.as_mut().unwrap()).read_line(&mut line).expect("the server prints its address");
    line
}

fn start_enet(reference: &Path) -> ServerProcess {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(reference)
        .args(["relay", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the ENet relay starts");
    let line = first_line(&mut child.stdout);
    assert_eq!(line.trim(), "ready", "the ENet relay said {line:?}");
    ServerProcess { child, port, _state: None }
}

/// The sealnet server with limits out of the way of a load test (the defaults would rightly throttle
/// one address sending this much), and warnings only in its log.
fn start_sealnet(workers: usize) -> ServerProcess {
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("bench.toml");
    let key_file = state.path().join("server.key");
    let mut file = std::fs::File::create(&config).unwrap();
    write!(
        file,
        r#"listen = "127.0.0.1:0"
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
"#,
        key_file.display(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealnet-server"))
        .args(["--config".as_ref(), config.as_os_str()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sealnet server starts");
    let line = first_line(&mut child.stdout);
    let address: SocketAddr = line
        .trim()
        .strip_prefix("sealnet-server listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the sealnet server said {line:?}"));
    ServerProcess { child, port: address.port(), _state: Some(state) }
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
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("drive") {
        return drive(&args[1..]);
    }
    let reference: PathBuf = std::env::var_os("SEALNET_ENET_REFERENCE")
        .expect("SEALNET_ENET_REFERENCE names the ENet reference program (make bench-relay builds it)")
        .into();
    let seconds: f64 = std::env::var("SEALNET_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let rounds: usize = std::env::var("SEALNET_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let enet = start_enet(&reference);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = worker_counts(cores);
    let sealnets: Vec<ServerProcess> = workers.iter().map(|&w| start_sealnet(w)).collect();
    let this = std::env::current_exe().unwrap();
    println!("relay benchmark: {rounds} rounds of {seconds} s per system and configuration, alternating;");
    println!("{cores} cores; sealnet servers with {workers:?} event loops; both drivers one thread\n");
    // results[setup][system][round]; system 0 is ENet, then one per sealnet server.
    let mut results: Vec<Vec<Vec<Run>>> = Vec::new();
    let systems = 1 + sealnets.len();
    for setup in &SETUPS {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); systems];
        for round in 0..rounds {
            // Each round starts with the next system, so none always runs first.
            for system in (0..systems).map(|k| (k + round) % systems) {
                let run = if system == 0 {
                    let mut command = Command::new(&reference);
                    command.args(setup.kind.args(enet.port, seconds));
                    run_driver(command, enet.child.id(), seconds)
                } else {
                    let server = &sealnets[system - 1];
                    let mut command = Command::new(&this);
                    command.arg("drive").args(setup.kind.args(server.port, seconds));
                    run_driver(command, server.child.id(), seconds)
                };
                runs[system].push(run);
            }
        }
        eprintln!("done: {}", setup.name);
        results.push(runs);
    }
    print_table(&results, &workers);
}

fn drive(args: &[String]) {
    let number = |index: usize| -> f64 { args[index].parse().unwrap_or_else(|_| panic!("bad argument {index}")) };
    let address = SocketAddr::from(([127, 0, 0, 1], number(1) as u16));
    match args.first().map(String::as_str) {
        Some("load") if args.len() == 7 => {
            driver::load(address, number(2) as usize, number(3) as usize, number(4), number(5) as u64, number(6))
        }
        Some("handshakes") if args.len() == 4 => driver::handshakes(address, number(2) as usize, number(3)),
        _ => panic!(
            "usage: relay drive load PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS | handshakes PORT CONCURRENCY SECONDS"
        ),
    }
}

fn print_table(results: &[Vec<Vec<Run>>], workers: &[usize]) {
    let mut header = "| configuration | figure | ENet (plain) |".to_owned();
    let mut rule = "|---|---|---|".to_owned();
    for w in workers {
        header += &format!(" sealnet, {w} loop{} (encrypted) | / ENet |", if *w == 1 { "" } else { "s" });
        rule += "---|---|";
    }
    println!("{header}\n{rule}");
    for (setup, runs) in SETUPS.iter().zip(results) {
        let row = |figure: &str, value: &dyn Fn(&Run) -> f64, digits: usize| {
            let medians: Vec<f64> = runs.iter().map(|system| median(system.iter().map(value).collect())).collect();
            let mut line = format!("| {} | {figure} | {:.digits$} |", setup.name, medians[0]);
            for sealnet in &medians[1..] {
                let ratio = if medians[0] > 0.0 { format!("{:.2}x", sealnet / medians[0]) } else { "-".into() };
                line += &format!(" {sealnet:.digits$} | {ratio} |");
            }
            println!("{line}");
        };
        match setup.kind {
            Kind::Load { .. } => {
                row("delivered events/s", &Run::rate, 0);
                row("server CPU per delivery (µs)", &Run::cpu_per_item_us, 2);
                row("p50 latency (µs)", &|r| r.p50_us, 1);
                row("p90 latency (µs)", &|r| r.p90_us, 1);
                row("p99 latency (µs)", &|r| r.p99_us, 1);
            }
            Kind::Handshakes { .. } => {
                row("handshakes/s", &Run::rate, 0);
                row("server CPU per handshake (µs)", &Run::cpu_per_item_us, 1);
            }
        }
        let each = |figure: &str, show: &dyn Fn(&Run) -> String| {
            let mut line = format!("| {} | {figure} |", setup.name);
            for (index, system) in runs.iter().enumerate() {
                let values = system.iter().map(show).collect::<Vec<_>>().join(" ");
                line += &if index == 0 { format!(" {values} |") } else { format!(" {values} | |") };
            }
            println!("{line}");
        };
        each("lost/duplicated/reordered (each run)", &|r| format!("{}/{}/{}", r.lost, r.duplicates, r.reordered));
        each("steal % (each run)", &|r| format!("{:.1}", r.steal_percent));
    }
    println!("\nMedians of the runs. Server CPU is all threads of the server process over the measured window.");
}
