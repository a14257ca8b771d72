//! Per-operation cost of sealnet's frame path against raw AES-256-GCM (the same cipher crate) and ring,
//! measured in the same run, plus the cost of a full Noise NX handshake.
//!
//! Run with `cargo bench --bench protocol`; a comparison table is printed at the end.

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::{Header, MessageType, DEFAULT_MAX_BODY};
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::noise::{self, Initiator, Keypair};
use sealnet::protocol::sealing::{append_frame, open_frame, Opener, Sealer, SendOptions};

const SIZES: [usize; 4] = [64, 256, 1024, 16 * 1024];
const KEY: [u8; 32] = [0x42; 32];

fn operation(payload: usize) -> OperationRequest {
    let mut params = Params::new();
    params.insert(245, Value::Bytes(vec![0xAB; payload]));
    OperationRequest { op_code: 253, params }
}

fn nonce_bytes(counter: u64) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    bytes
}

fn bench_operations(c: &mut Criterion) {
    let mut group = c.benchmark_group("op");
    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let request = operation(size);

        group.bench_with_input(BenchmarkId::new("sealnet", size), &request, |b, request| {
            let mut sealer = Sealer::new(&KEY, u64::MAX);
            let mut opener = Opener::new(&KEY);
            let mut frame = Vec::with_capacity(size + 64);
            b.iter(|| {
                frame.clear();
                append_frame(
                    &mut frame,
                    MessageType::OperationRequest,
                    SendOptions::ENCRYPTED,
                    Some(&mut sealer),
                    DEFAULT_MAX_BODY,
                    |out| request.encode(out),
                )
                .unwrap();
                let (header, header_len) = Header::parse(&frame, DEFAULT_MAX_BODY).unwrap();
                let body = open_frame(&mut frame, &header, header_len, Some(&mut opener)).unwrap();
                black_box(body.len())
            })
        });

        // The same plaintext length the frame carries, sealed and opened with nothing else around it.
        let mut body = Vec::new();
        request.encode(&mut body);
        let header = [0u8; 16];

        group.bench_with_input(BenchmarkId::new("aes-gcm", size), &body, |b, body| {
            let cipher = Aes256Gcm::new(&KEY.into());
            let mut buffer = body.clone();
            let mut counter = 0u64;
            b.iter(|| {
                counter += 1;
                let nonce = nonce_bytes(counter).into();
                let tag = cipher.encrypt_inout_detached(&nonce, &header, buffer.as_mut_slice().into()).unwrap();
                cipher.decrypt_inout_detached(&nonce, &header, buffer.as_mut_slice().into(), &tag).unwrap();
                black_box(buffer.len())
            })
        });

        group.bench_with_input(BenchmarkId::new("ring", size), &body, |b, body| {
            let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
            let mut buffer = body.clone();
            let mut counter = 0u64;
            b.iter(|| {
                counter += 1;
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce_bytes(counter)),
                        Aad::from(&header),
                        &mut buffer,
                    )
                    .unwrap();
                key.open_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce_bytes(counter)),
                    Aad::from(&header),
                    tag,
                    &mut buffer,
                    0..,
                )
                .unwrap();
                black_box(buffer.len())
            })
        });
    }
    group.finish();
}

fn full_handshake(server: &Keypair) -> usize {
    let mut first = Vec::with_capacity(64);
    let initiator = Initiator::start(b"bench", &[1], &mut first).unwrap();
    let mut second = Vec::with_capacity(160);
    let responder = noise::respond(server, b"bench", &first, &[1], &mut second).unwrap();
    let completed = initiator.finish(&second, Some(server.public())).unwrap();
    black_box(responder.handshake_hash[0] as usize + completed.handshake_hash[0] as usize)
}

/// The X25519 work an NX handshake cannot avoid, done with x25519-dalek alone: two ephemeral key
/// generations and four DH (ee and es on each side).
fn dh_floor(server_public: &x25519_dalek::PublicKey, server: &x25519_dalek::StaticSecret) -> u8 {
    use x25519_dalek::{PublicKey, StaticSecret};
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    let client_e = StaticSecret::from(seed);
    let client_e_public = PublicKey::from(&client_e);
    seed[0] ^= 1;
    let server_e = StaticSecret::from(seed);
    let server_e_public = PublicKey::from(&server_e);
    let ee_client = client_e.diffie_hellman(&server_e_public);
    let es_client = client_e.diffie_hellman(server_public);
    let ee_server = server_e.diffie_hellman(&client_e_public);
    let es_server = server.diffie_hellman(&client_e_public);
    black_box(ee_client.as_bytes()[0] ^ es_client.as_bytes()[0] ^ ee_server.as_bytes()[0] ^ es_server.as_bytes()[0])
}

fn bench_handshake(c: &mut Criterion) {
    let server = Keypair::generate().unwrap();
    c.bench_function("handshake/both-sides", |b| b.iter(|| full_handshake(&server)));
}

fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Reads criterion's mean estimate (nanoseconds) for one benchmark.
fn mean_ns(path: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(format!("{dir}/criterion/{path}/new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

fn print_table() {
    println!();
    println!("| payload | sealnet encode+seal+open | raw aes-gcm seal+open | ring seal+open | sealnet / aes-gcm | sealnet / ring |");
    println!("|--------:|-------------------------:|----------------------:|---------------:|------------------:|---------------:|");
    for size in SIZES {
        let ours = mean_ns(&format!("op/sealnet/{size}"));
        let raw = mean_ns(&format!("op/aes-gcm/{size}"));
        let ring = mean_ns(&format!("op/ring/{size}"));
        if let (Some(ours), Some(raw), Some(ring)) = (ours, raw, ring) {
            println!(
                "| {size:>7} | {ours:>21.0} ns | {raw:>18.0} ns | {ring:>11.0} ns | {:>16.2}x | {:>13.2}x |",
                ours / raw,
                ours / ring
            );
        }
    }
    let server = Keypair::generate().unwrap();
    let rounds = 500;
    let start = process_cpu_time();
    for _ in 0..rounds {
        full_handshake(&server);
    }
    let cpu = (process_cpu_time() - start) / rounds;
    let static_secret = x25519_dalek::StaticSecret::from([0x24; 32]);
    let static_public = x25519_dalek::PublicKey::from(&static_secret);
    let start = process_cpu_time();
    for _ in 0..rounds {
        dh_floor(&static_public, &static_secret);
    }
    let floor = (process_cpu_time() - start) / rounds;
    println!();
    println!("handshake (both sides, CPU time): {:.1} us per handshake over {rounds} rounds", cpu.as_secs_f64() * 1e6);
    println!(
        "x25519-dalek floor (2 keygen + 4 DH, CPU time): {:.1} us; handshake / floor = {:.2}x",
        floor.as_secs_f64() * 1e6,
        cpu.as_secs_f64() / floor.as_secs_f64()
    );
    if let Some(wall) = mean_ns("handshake/both-sides") {
        println!("handshake (both sides, criterion mean): {:.1} us", wall / 1000.0);
    }
    println!("targets: sealnet/aes-gcm <= 1.20x at 256 B; handshake <= 250 us CPU");
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_operations(&mut criterion);
    bench_handshake(&mut criterion);
    criterion.final_summary();
    print_table();
}
