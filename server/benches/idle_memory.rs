//! Server heap per idle encrypted connection: 1,000 clients connect, complete the key exchange and
//! join a room, then stay idle; the heap live on the server's threads is measured before and after.
//!
//! The clients are sessions driven on blocking sockets from this thread, which is not counted: only
//! allocations made (and freed) on the server's runtime threads are.
//!
//! Run with `cargo bench -p sealnet-server --bench idle_memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Params;
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::op_code;
use sealnet_server::{Config, Server};

struct ServerHeap;

thread_local! {
    static SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

static LIVE: AtomicIsize = AtomicIsize::new(0);

fn on_server_thread() -> bool {
    SERVER_THREAD.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for ServerHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on_server_thread() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if on_server_thread() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if on_server_thread() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: ServerHeap = ServerHeap;

/// One idle client: encrypted and in a room.
fn connect(address: &str, room: &str) -> (TcpStream, Session) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    let now = Instant::now();
    let mut session = Session::client(SessionConfig::default(), now);
    session.connect("demo", "idle", now).unwrap();
    let mut buffer = [0u8; 4096];
    let mut joined = false;
    loop {
        if session.is_encrypted() && !joined {
            let mut params = Params::new();
            params.insert(255, room);
            session.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
            joined = true;
        }
        let output = session.pending_output().len();
        if output > 0 {
            stream.write_all(session.pending_output()).unwrap();
            session.consume_output(output);
        }
        while let Some(event) = session.poll_event() {
            if let SessionEvent::Event { .. } = event {
                return (stream, session);
            }
        }
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "server closed");
        session.receive(&buffer[..read], Instant::now());
    }
}

fn main() {
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let clients = if quick { 50 } else { 1000 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| SERVER_THREAD.with(|flag| flag.set(true)))
        .enable_all()
        .build()
        .unwrap();
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    // Idle means idle: no pings come, so the disconnect timeout must not end them meanwhile.
    config.disconnect_timeout_ms = 600_000;
    config.limits.max_room_size = 10;
    // All clients come from one address, faster than a real deployment's players would.
    config.max_connections = 2 * clients;
    config.admission.max_connections_per_address = 2 * clients;
    config.admission.key_exchanges_per_address_per_second = 1e6;
    config.admission.key_exchange_burst_per_address = 1e6;
    let server = runtime.block_on(async { Server::new(config, Keypair::generate().unwrap()).start().await.unwrap() });
    let address = server.local_addr().to_string();
    // One connection first, so lazily created server state (thread-local buffers, timers) is in the
    // baseline and not charged to the first of the measured connections.
    let warm = connect(&address, "warm-up");
    std::thread::sleep(Duration::from_millis(100));
    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut idle = Vec::with_capacity(clients);
    for n in 0..clients {
        idle.push(connect(&address, &format!("room-{}", n / 10)));
    }
    let took = started.elapsed();
    assert_eq!(server.connection_count(), clients + 1);
    // Let every connection task reach its idle wait.
    std::thread::sleep(Duration::from_millis(500));
    let after = LIVE.load(Ordering::Relaxed);
    let per_connection = (after - before) as f64 / clients as f64;
    println!("idle memory: {clients} encrypted connections in rooms of 10, set up in {took:.2?}");
    println!("| server heap before | after | per idle encrypted connection |");
    println!("|--:|--:|--:|");
    println!(
        "| {} KiB | {} KiB | {:.0} bytes ({:.2} KiB) |",
        before / 1024,
        after / 1024,
        per_connection,
        per_connection / 1024.0
    );
    drop(idle);
    drop(warm);
    runtime.block_on(server.shutdown());
}
