//! Heap allocations the server makes per relayed event and per delivery, in steady state: rooms of 3
//! and of 10 encrypted members on an in-process server, each event raised by one member and read by
//! the others; what grows with the recipients is the difference between the two. Every allocation in the process is counted, minus those of the driving
//! thread, so what is left is the server's (its shards, and an idle accept loop).
//!
//! Run with `cargo bench -p sealnet-server --bench relay_allocations`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::op_code;

/// Counts every allocation in the process, and those of each thread on its own.
struct Counting;

static ALL: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static MINE: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are an atomic and a thread-local cell.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALL.fetch_add(1, Ordering::Relaxed);
        MINE.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALL.fetch_add(1, Ordering::Relaxed);
        MINE.with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Member {
    stream: TcpStream,
    session: Session,
    buffer: Vec<u8>,
}

impl Member {
    fn flush(&mut self) {
        let pending = self.session.pending_output().len();
        if pending > 0 {
            self.stream.write_all(self.session.pending_output()).unwrap();
            self.session.consume_output(pending);
        }
    }

    /// Reads until an event arrives with `code` (and returns), or until `ready` holds.
    fn until(&mut self, code: Option<u8>, ready: impl Fn(&Session) -> bool) {
        loop {
            self.flush();
            while let Some(event) = self.session.poll_event() {
                if let (SessionEvent::Event { event, .. }, Some(code)) = (&event, code) {
                    if event.code == code {
                        return;
                    }
                }
            }
            if ready(&self.session) {
                return;
            }
            let read = self.stream.read(&mut self.buffer).unwrap();
            assert!(read > 0, "the server closed the connection");
            self.session.receive(&self.buffer[..read], Instant::now());
        }
    }
}

fn main() {
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let server = support::server();
    println!("server heap allocations in steady state, encrypted members in one room, 128-byte events:");
    println!("| members | relayed events | deliveries | allocations | per relayed event | per delivery beyond that |");
    println!("|--:|--:|--:|--:|--:|--:|");
    let mut per_event = Vec::new();
    for members in [3, 10] {
        let events = if quick { 500 } else { 20_000 };
        let allocations = measure(server.address, members, events, quick);
        per_event.push(allocations as f64 / events as f64);
        let deliveries = events * (members - 1);
        // What grows with the recipients shows as the difference between room sizes.
        let beyond = (per_event[per_event.len() - 1] - per_event[0]) / (members as f64 - 3.0).max(1.0);
        println!(
            "| {members} | {events} | {deliveries} | {allocations} | {:.2} | {beyond:.3} |",
            allocations as f64 / events as f64
        );
    }
}

/// Server allocations while `events` events are relayed in a room of `count` members.
fn measure(address: std::net::SocketAddr, count: usize, events: usize, quick: bool) -> u64 {
    let room = format!("allocations-{count}");
    let mut members: Vec<Member> = (0..count)
        .map(|_| {
            let stream = TcpStream::connect(address).unwrap();
            stream.set_nodelay(true).unwrap();
            let now = Instant::now();
            let mut session = Session::client(SessionConfig::default(), now);
            session.connect("demo", "bench", now).unwrap();
            let mut member = Member { stream, session, buffer: vec![0; 64 * 1024] };
            member.until(None, Session::is_encrypted);
            let mut params = Params::new();
            params.insert(255, room.as_str());
            member.session.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
            member.until(Some(255), |_| false);
            member
        })
        .collect();
    // Everyone has seen everyone's join before the measured part.
    for (index, member) in members.iter_mut().enumerate() {
        for _ in index + 1..count {
            member.until(Some(255), |_| false);
        }
    }
    let mut params = Params::new();
    params.insert(244, 1);
    params.insert(245, Value::Bytes(vec![0x5A; 128]));
    let relay = |members: &mut Vec<Member>, events: usize| {
        for event in 0..events {
            let sender = event % count;
            let session = &mut members[sender].session;
            session.send_operation_parts(op_code::RAISE_EVENT, &params, SendOptions::ENCRYPTED).unwrap();
            members[sender].flush();
            for (index, member) in members.iter_mut().enumerate() {
                if index != sender {
                    member.until(Some(1), |_| false);
                }
            }
        }
    };
    relay(&mut members, if quick { 200 } else { 5_000 });
    let (all, mine) = (ALL.load(Ordering::Relaxed), MINE.with(Cell::get));
    relay(&mut members, events);
    (ALL.load(Ordering::Relaxed) - all) - (MINE.with(Cell::get) - mine)
}
