//! The client through the C ABI, against references measured in the same run:
//!
//! 1. `peer_send_operation` of a 128-byte RaiseEvent body, plain and encrypted: nanoseconds per call
//!    and allocations per call on the calling thread, next to the core's own encode+seal of the same
//!    operation (what a host driving a session directly pays).
//! 2. Round trip of an event to oneself through an in-process server (RaiseEvent to All, wait for
//!    the event): a session driven directly on a blocking socket, against a C ABI host that waits in
//!    `peer_wait` (no sleeping, no polling). Alternating blocks, p50 and p99.
//!
//! Run with `cargo bench -p sealnet-server --bench client`.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use sealnet::ffi::*;
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::{MessageType, DEFAULT_MAX_BODY};
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::{append_frame, Sealer, SendOptions};
use sealnet::protocol::session::SessionEvent;
use sealnet::protocol::status::op_code;
use support::*;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const OK: u32 = PeerResult::Ok as u32;
/// Payload bytes that make the RaiseEvent body (op code and params) 128 bytes.
const PAYLOAD: usize = 120;

fn raise_params(group: Option<i32>) -> Params {
    let mut params = Params::new();
    params.insert(244, 1);
    params.insert(245, Value::Bytes(vec![0x5A; PAYLOAD - if group.is_some() { 3 } else { 0 }]));
    if let Some(group) = group {
        params.insert(246, group);
    }
    params
}

/// A C ABI peer, connected, encrypted and alone in `room`.
struct AbiPeer(*mut peer_t);

impl AbiPeer {
    fn connect(address: &str, room: &str) -> AbiPeer {
        let mut config = std::mem::MaybeUninit::<peer_config_t>::uninit();
        assert_eq!(peer_config_default(config.as_mut_ptr(), std::mem::size_of::<peer_config_t>() as u32), OK);
        // SAFETY: peer_config_default filled it.
        let config = unsafe { config.assume_init() };
        let mut peer = std::ptr::null_mut();
        assert_eq!(peer_create(&config, &mut peer), OK);
        let address = std::ffi::CString::new(address).unwrap();
        assert_eq!(peer_connect(peer, address.as_ptr(), c"demo".as_ptr()), OK);
        let peer = AbiPeer(peer);
        peer.wait_for(|event| {
            event.kind == PeerEventKind::Status as u32 && event.status == PEER_STATUS_ENCRYPTION_ESTABLISHED
        });
        let mut params = std::ptr::null_mut();
        assert_eq!(peer_params_new(&mut params), OK);
        assert_eq!(peer_params_put_string(params, 255, room.as_ptr().cast(), room.len()), OK);
        let options = peer_send_options_t {
            struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
            delivery_mode: 1,
            encrypt: 1,
            channel: 0,
            reserved: 0,
        };
        assert_eq!(peer_send_operation(peer.0, op_code::JOIN_ROOM, params, &options), OK);
        peer_params_free(params);
        peer.wait_for(|event| event.kind == PeerEventKind::OperationResponse as u32);
        peer.wait_for(|event| event.kind == PeerEventKind::Event as u32);
        peer
    }

    /// Waits (blocking in peer_wait) until a result matching `done` was taken.
    fn wait_for(&self, done: impl Fn(&peer_polled_event_t) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut event = std::mem::MaybeUninit::<peer_polled_event_t>::uninit();
        loop {
            if peer_poll_event(self.0, event.as_mut_ptr()) == OK {
                // SAFETY: written by peer_poll_event on success.
                if done(unsafe { event.assume_init_ref() }) {
                    return;
                }
                continue;
            }
            assert!(Instant::now() < deadline, "nothing arrived in time");
            peer_wait(self.0, 1000);
        }
    }

    /// Everything sent so far has been processed by the server (its answer to an unknown operation
    /// comes after them).
    fn barrier(&self) {
        let options = peer_send_options_t {
            struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
            delivery_mode: 1,
            encrypt: 1,
            channel: 0,
            reserved: 0,
        };
        assert_eq!(peer_send_operation(self.0, 1, std::ptr::null(), &options), OK);
        self.wait_for(|event| event.kind == PeerEventKind::OperationResponse as u32 && event.response.op_code == 1);
    }
}

impl Drop for AbiPeer {
    fn drop(&mut self) {
        peer_destroy(self.0);
    }
}

fn to_native(params: &Params) -> *mut peer_params_t {
    let mut native = std::ptr::null_mut();
    assert_eq!(peer_params_new(&mut native), OK);
    assert_eq!(peer_params_put_i32(native, 244, 1), OK);
    if let Some(Value::Bytes(bytes)) = params.get(245) {
        assert_eq!(peer_params_put_bytes(native, 245, bytes.as_ptr(), bytes.len()), OK);
    }
    if let Some(Value::Int(group)) = params.get(246) {
        assert_eq!(peer_params_put_i32(native, 246, *group), OK);
    }
    native
}

/// ns per peer_send_operation call and allocations per call.
fn abi_send_cost(peer: &AbiPeer, encrypt: bool) -> (f64, f64) {
    const BATCH: usize = 1000;
    const BATCHES: usize = 300;
    let params = to_native(&raise_params(None));
    let options = peer_send_options_t {
        struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
        delivery_mode: 1,
        encrypt: encrypt as u8,
        channel: 0,
        reserved: 0,
    };
    // Warm up: buffers reach their working size.
    for _ in 0..BATCH {
        assert_eq!(peer_send_operation(peer.0, op_code::RAISE_EVENT, params, &options), OK);
    }
    peer.barrier();
    let mut elapsed = Duration::ZERO;
    let mut allocations = 0;
    for _ in 0..BATCHES {
        let before = count_this_thread();
        let started = Instant::now();
        for _ in 0..BATCH {
            let result = peer_send_operation(peer.0, op_code::RAISE_EVENT, params, &options);
            debug_assert_eq!(result, OK);
            black_box(result);
        }
        elapsed += started.elapsed();
        allocations += allocations_so_far() - before;
        peer.barrier();
    }
    peer_params_free(params);
    let calls = (BATCH * BATCHES) as f64;
    (elapsed.as_nanos() as f64 / calls, allocations as f64 / calls)
}

/// ns to encode and seal the same operation with the core directly.
fn core_seal_cost(encrypt: bool) -> f64 {
    const CALLS: usize = 300_000;
    let params = raise_params(None);
    let mut sealer = Sealer::new(&[7; 32], u64::MAX);
    let mut out = Vec::with_capacity(64 * 1024);
    let options = SendOptions { encrypt, ..SendOptions::RELIABLE };
    let started = Instant::now();
    for _ in 0..CALLS {
        if out.len() > 60 * 1024 {
            out.clear();
        }
        append_frame(&mut out, MessageType::OperationRequest, options, Some(&mut sealer), DEFAULT_MAX_BODY, |out| {
            OperationRequest::encode_parts(op_code::RAISE_EVENT, &params, out)
        })
        .unwrap();
    }
    black_box(&out);
    started.elapsed().as_nanos() as f64 / CALLS as f64
}

/// The reference for the round trip: an event to oneself from a session driven directly.
fn round_trip(client: &mut DirectClient, params: &Params) {
    client.session.send_operation_parts(op_code::RAISE_EVENT, params, SendOptions::ENCRYPTED).unwrap();
    client.until(|event| matches!(event, SessionEvent::Event { event, .. } if event.code == 1), |_| false);
}

fn abi_round_trip(peer: &AbiPeer, params: *const peer_params_t) {
    let options = peer_send_options_t {
        struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
        delivery_mode: 1,
        encrypt: 1,
        channel: 0,
        reserved: 0,
    };
    assert_eq!(peer_send_operation(peer.0, op_code::RAISE_EVENT, params, &options), OK);
    peer.wait_for(|event| event.kind == PeerEventKind::Event as u32 && event.event.code == 1);
}

fn main() {
    // `cargo bench` passes --bench; a plain `cargo test` of benches passes nothing and wants speed.
    let quick = !std::env::args().any(|arg| arg == "--bench");
    let server = server();
    let address = server.address.to_string();
    println!(
        "client benchmarks (server in-process, 1 worker; {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let sender = AbiPeer::connect(&address, "bench-send");
    let ((plain, plain_allocs, encrypted, encrypted_allocs, core_plain, core_encrypted), steal) = with_steal(|| {
        let (plain, plain_allocs) = abi_send_cost(&sender, false);
        let (encrypted, encrypted_allocs) = abi_send_cost(&sender, true);
        (plain, plain_allocs, encrypted, encrypted_allocs, core_seal_cost(false), core_seal_cost(true))
    });
    drop(sender);
    println!();
    println!("peer_send_operation, 128-byte RaiseEvent body ({steal:.1}% steal)");
    println!("| mode | C ABI ns/call | allocations/call | core encode+seal ns | ratio |");
    println!("|---|--:|--:|--:|--:|");
    println!(
        "| plain (authenticated) | {plain:.0} | {plain_allocs:.3} | {core_plain:.0} | {:.2}x |",
        plain / core_plain
    );
    println!(
        "| encrypted | {encrypted:.0} | {encrypted_allocs:.3} | {core_encrypted:.0} | {:.2}x |",
        encrypted / core_encrypted
    );

    let blocks = if quick { 2 } else { 10 };
    let per_block = if quick { 200 } else { 2000 };
    let mut direct = DirectClient::connect(&address, "bench-rt-direct");
    let abi = AbiPeer::connect(&address, "bench-rt-abi");
    let to_all = raise_params(Some(1));
    let native = to_native(&to_all);
    let mut direct_samples = Vec::new();
    let mut abi_samples = Vec::new();
    let ((), steal) = with_steal(|| {
        for _ in 0..blocks {
            for _ in 0..per_block {
                let started = Instant::now();
                round_trip(&mut direct, &to_all);
                direct_samples.push(started.elapsed());
            }
            for _ in 0..per_block {
                let started = Instant::now();
                abi_round_trip(&abi, native);
                abi_samples.push(started.elapsed());
            }
        }
    });
    peer_params_free(native);
    let mean = |samples: &[Duration]| samples.iter().sum::<Duration>() / samples.len() as u32;
    let (dmean, amean) = (mean(&direct_samples), mean(&abi_samples));
    let (d50, d99) = (percentile(&mut direct_samples, 50.0), percentile(&mut direct_samples, 99.0));
    let (a50, a99) = (percentile(&mut abi_samples, 50.0), percentile(&mut abi_samples, 99.0));
    println!();
    println!(
        "round trip to oneself through the server, {} each, alternating blocks ({steal:.1}% steal)",
        blocks * per_block
    );
    println!("| client | mean | p50 | p99 |");
    println!("|---|--:|--:|--:|");
    println!("| session driven directly (blocking socket) | {dmean:.1?} | {d50:.1?} | {d99:.1?} |");
    println!("| C ABI host waiting in peer_wait | {amean:.1?} | {a50:.1?} | {a99:.1?} |");
    let ratio = |abi: Duration, direct: Duration| abi.as_secs_f64() / direct.as_secs_f64();
    println!("| ratio | {:.2}x | {:.2}x | {:.2}x |", ratio(amean, dmean), ratio(a50, d50), ratio(a99, d99));
}
