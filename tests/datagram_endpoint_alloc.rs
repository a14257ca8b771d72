//! A flood of connection attempts costs the server no memory: the stateless endpoint answers each
//! Initial without a valid cookie with a Retry, and drops malformed ones, without allocating.
//! (Its own test binary, since it counts every allocation of the process.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use sealnet::protocol::datagram::{DatagramConfig, Endpoint, Incoming, RETRY_LEN};
use sealnet::protocol::session::{Session, SessionConfig, Transport};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn answering_a_flood_of_initials_allocates_nothing() {
    let now = Instant::now();
    let config = SessionConfig { transport: Transport::Datagram(DatagramConfig::default()), ..Default::default() };
    let mut client = Session::client(config, now);
    client.connect("demo", "1", now).unwrap();
    let mut initial = Vec::new();
    assert!(client.poll_datagram(now, &mut initial));
    let endpoint = Endpoint::new([3; 32], now);
    let mut retry = [0u8; RETRY_LEN];
    let mut short = initial.clone();
    short.truncate(600);
    let mut forged_cookie = initial.clone();
    forged_cookie[9] = 20;

    COUNTING.store(true, Ordering::Relaxed);
    let mut retries = 0;
    for n in 0..10_000u32 {
        // Every attempt from another (spoofed) address and with another connection id.
        let from = SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40_000));
        initial[1..9].copy_from_slice(&(u64::from(n) + 1).to_be_bytes());
        if let Incoming::Retry { .. } = endpoint.on_unknown(&initial, from, now, &mut retry) {
            retries += 1;
        }
        let _ = endpoint.on_unknown(&short, from, now, &mut retry);
        let _ = endpoint.on_unknown(&forged_cookie, from, now, &mut retry);
        let _ = endpoint.on_unknown(&initial[..5], from, now, &mut retry);
    }
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(retries, 10_000);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 0, "the endpoint allocated for unproven addresses");
}
