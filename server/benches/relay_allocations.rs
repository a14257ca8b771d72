//! Heap allocations the server makes per relayed event and per delivery, in steady state: rooms of 3
//! and of 10 encrypted members on an in-process server, each event raised by one member and read by
//! the others; what grows with the recipients is the difference between the two. Every allocation in the process is counted, minus those of the driving
//! thread, so what is left is the server's (its shards, and an idle accept loop).
//!
//! Run with `cargo bench -p sealnet-server --bench relay_allocations`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionEvent;
use sealnet::protocol::status::op_code;
use support::DirectClient;

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
    let is_event =
        |code: u8| move |event: &SessionEvent| matches!(event, SessionEvent::Event { event, .. } if event.code == code);
    let mut members: Vec<DirectClient> =
        (0..count).map(|_| DirectClient::connect(&address.to_string(), &room)).collect();
    // Everyone has seen everyone's join before the measured part.
    for (index, member) in members.iter_mut().enumerate() {
        for _ in index + 1..count {
            member.until(is_event(255), |_| false);
        }
    }
    let mut params = Params::new();
    params.insert(244, 1);
    params.insert(245, Value::Bytes(vec![0x5A; 128]));
    let relay = |members: &mut Vec<DirectClient>, events: usize| {
        for event in 0..events {
            let sender = event % count;
            let session = &mut members[sender].session;
            session.send_operation_parts(op_code::RAISE_EVENT, &params, SendOptions::ENCRYPTED).unwrap();
            members[sender].flush();
            for (index, member) in members.iter_mut().enumerate() {
                if index != sender {
                    member.until(is_event(1), |_| false);
                }
            }
        }
    };
    relay(&mut members, if quick { 200 } else { 5_000 });
    let (all, mine) = (ALL.load(Ordering::Relaxed), MINE.with(Cell::get));
    relay(&mut members, events);
    (ALL.load(Ordering::Relaxed) - all) - (MINE.with(Cell::get) - mine)
}
