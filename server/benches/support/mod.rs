//! What the benchmarks share: an in-process server, percentiles, steal time, and an allocation
//! counter per thread.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Params;
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::op_code;
use sealnet_server::{Config, RunningServer, Server};

/// Counts allocations made by the threads that opted in (see [`count_this_thread`]).
pub struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are thread-local cells.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

/// Starts counting this thread's allocations; returns the count so far.
pub fn count_this_thread() -> u64 {
    COUNTING.with(|counting| counting.set(true));
    ALLOCATIONS.with(Cell::get)
}

pub fn allocations_so_far() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// A server on a runtime of its own (one worker), with no rate limits, alive while this value is.
pub struct Running {
    pub address: SocketAddr,
    pub public_key: [u8; 32],
    _server: RunningServer,
    _runtime: tokio::runtime::Runtime,
}

pub fn server() -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.limits.ops_per_second = 1e12;
    config.limits.ops_burst = 1e12;
    config.limits.bytes_per_second = 1e15;
    config.limits.bytes_burst = 1e15;
    let server = runtime
        .block_on(async { Server::new(config, Keypair::generate().unwrap()).start().await.expect("server starts") });
    Running { address: server.local_addr(), public_key: server.public_key(), _server: server, _runtime: runtime }
}

/// The p-th percentile (0..=100) of `samples`, which it sorts.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * p / 100.0).round() as usize;
    samples[index]
}

/// Steal time (jiffies) of the whole machine so far, from /proc/stat; 0 where unreadable.
pub fn steal_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or_default();
    cpu.split_whitespace().nth(8).and_then(|field| field.parse().ok()).unwrap_or(0)
}

/// All jiffies of the whole machine so far.
pub fn total_jiffies() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = stat.lines().next().unwrap_or_default();
    cpu.split_whitespace().skip(1).filter_map(|field| field.parse::<u64>().ok()).sum()
}

/// Runs `body` and reports the share of CPU time stolen by the hypervisor meanwhile.
pub fn with_steal<T>(body: impl FnOnce() -> T) -> (T, f64) {
    let (steal, total) = (steal_jiffies(), total_jiffies());
    let result = body();
    let (steal, total) = (steal_jiffies() - steal, total_jiffies() - total);
    (result, if total == 0 { 0.0 } else { steal as f64 / total as f64 * 100.0 })
}

/// A session driven directly on a blocking socket, connected, encrypted and in a room.
pub struct DirectClient {
    pub stream: TcpStream,
    pub session: Session,
    buffer: Vec<u8>,
}

impl DirectClient {
    /// Connects, completes the key exchange, joins `room` and waits for its own Join event.
    pub fn connect(address: &str, room: &str) -> DirectClient {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        let now = Instant::now();
        let mut session = Session::client(SessionConfig::default(), now);
        session.connect("demo", "bench", now).unwrap();
        let mut client = DirectClient { stream, session, buffer: vec![0; 64 * 1024] };
        client.until(|_| false, |session| session.is_encrypted());
        let mut params = Params::new();
        params.insert(255, room);
        client.session.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
        client.until(|event| matches!(event, SessionEvent::Event { .. }), |_| false);
        client
    }

    /// Writes what the session has.
    pub fn flush(&mut self) {
        let output = self.session.pending_output().len();
        if output > 0 {
            self.stream.write_all(self.session.pending_output()).unwrap();
            self.session.consume_output(output);
        }
    }

    /// Writes, then reads until an event matches `done` or the session satisfies `ready`.
    pub fn until(&mut self, done: impl Fn(&SessionEvent) -> bool, ready: impl Fn(&Session) -> bool) {
        loop {
            self.flush();
            while let Some(event) = self.session.poll_event() {
                if done(&event) {
                    return;
                }
            }
            if ready(&self.session) {
                return;
            }
            let read = self.stream.read(&mut self.buffer).unwrap();
            assert!(read > 0, "server closed");
            self.session.receive(&self.buffer[..read], Instant::now());
        }
    }
}
