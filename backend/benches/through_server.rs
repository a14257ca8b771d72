//! Authentications per second through a sealnet server: client peers connect, run the key
//! exchange and authenticate through the server's webhook against the backend (SQLite), a fresh
//! connection each time, several at once. In the same run and on the same machine, the reference is
//! the same loop with an anonymous authentication (no webhook call), so the ratio is the webhook's
//! cost and the machine's noise cancels out. Steal time is printed beside it.
//!
//!   cargo bench -p sealnet-backend --bench through_server [-- CONCURRENCY AUTHENTICATIONS]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::{ConnectOptions, Peer, PeerConfig, PeerEvent, PinChoice};
use sealnet::protocol::status::{op_code, return_code, StatusCode};
use sealnet_backend::client::{connection_token, Connection};
use sealnet_backend::config::Config as BackendConfig;
use sealnet_backend::measure::{cpu, stats};
use sealnet_backend::session_id::SessionId;
use sealnet_server::auth::setup;
use sealnet_server::{Config, Server};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|arg| arg.parse().ok()).collect();
    let concurrency = args.first().copied().unwrap_or(32);
    let total = args.get(1).copied().unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, format!("{}\n", "5e".repeat(32))).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut backend_config = BackendConfig::for_database(dir.path().join("bench.db").to_str().unwrap()).unwrap();
    backend_config.listen = "127.0.0.1:0".parse().unwrap();
    backend_config.secret_file = Some(secret.clone());
    let backend = runtime.block_on(sealnet_backend::http::start(&backend_config)).unwrap();

    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.key_file = Some(dir.path().join("server.key"));
    config.max_connections = 10_000;
    config.auth.webhook.url = format!("http://{}/auth", backend.addr());
    config.auth.webhook.secret_file = secret;
    // One address makes every connection: the per-address budgets would be the bottleneck.
    config.auth.per_address_per_second = 1e9;
    config.auth.per_address_burst = 1e9;
    config.admission.key_exchanges_per_address_per_second = 1e9;
    config.admission.key_exchange_burst_per_address = 1e9;
    config.admission.max_connections_per_address = 10_000;
    let server = runtime.block_on(async {
        let keypair = sealnet::protocol::noise::Keypair::generate().unwrap();
        Server::new(config.clone(), keypair)
            .with_token_keys(setup::token_keys(&config).unwrap())
            .with_auth_provider(setup::webhook(&config).unwrap().unwrap())
            .start()
            .await
            .unwrap()
    });

    let sessions: Vec<SessionId> = runtime.block_on(async {
        let mut connection = Connection::open(backend.addr()).await.unwrap();
        let mut sessions = Vec::with_capacity(concurrency);
        for i in 0..concurrency {
            let body = serde_json::json!({ "device_id": format!("bench-device-{i:06}") });
            let reply = connection.post_json("/guest", &body).await.unwrap().json();
            sessions.push(SessionId::decode(reply["session"].as_str().unwrap()).unwrap());
        }
        sessions
    });

    println!("{total} authentications, {concurrency} at a time, a new connection and key exchange each");
    // Warm-up, then the two loops in alternating halves so drift in the machine's load hits both.
    run(server.local_addr(), &sessions, concurrency, AuthType::Custom);
    let mut custom = stats::Latencies::with_capacity(total);
    let mut anonymous = stats::Latencies::with_capacity(total);
    let (mut custom_time, mut anonymous_time) = (Duration::ZERO, Duration::ZERO);
    let before = cpu::CpuTimes::now();
    for _ in 0..2 {
        for (kind, latencies, time) in
            [(AuthType::Custom, &mut custom, &mut custom_time), (AuthType::None, &mut anonymous, &mut anonymous_time)]
        {
            let started = Instant::now();
            let measured = run_count(server.local_addr(), &sessions, concurrency, kind, total / 2);
            *time += started.elapsed();
            latencies.merge(measured);
        }
    }
    let after = cpu::CpuTimes::now();
    for (name, latencies, time) in
        [("through the webhook", &mut custom, custom_time), ("anonymous (reference)", &mut anonymous, anonymous_time)]
    {
        latencies.sort();
        println!(
            "{name:>22}: {:>6.0} per second; latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms; {} failed",
            latencies.ok() as f64 / time.as_secs_f64(),
            ms(latencies.quantile(0.5)),
            ms(latencies.quantile(0.95)),
            ms(latencies.quantile(0.99)),
            latencies.failed
        );
    }
    println!(
        "webhook / reference: {:.2}x the time per authentication",
        custom_time.as_secs_f64() / anonymous_time.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (before, after) {
        let (steal, busy) = before.shares_until(&after);
        println!("steal {steal:.1}% of CPU time (busy {busy:.1}%)");
    }
    runtime.block_on(server.shutdown());
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn run(server: SocketAddr, sessions: &[SessionId], concurrency: usize, kind: AuthType) {
    run_count(server, sessions, concurrency, kind, concurrency * 4);
}

/// `count` authentications by `concurrency` peers, each reconnecting after every answer.
fn run_count(
    server: SocketAddr,
    sessions: &[SessionId],
    concurrency: usize,
    kind: AuthType,
    count: usize,
) -> stats::Latencies {
    let left = Arc::new(AtomicUsize::new(count));
    let workers: Vec<_> = (0..concurrency)
        .map(|index| {
            let left = left.clone();
            let mut values = AuthValues::new(kind);
            if kind == AuthType::Custom {
                values.set_connection_token(&connection_token(&sessions[index], b";bench")).unwrap();
            }
            std::thread::spawn(move || {
                let peer = Peer::new(PeerConfig::default());
                let address = server.to_string();
                let mut latencies = stats::Latencies::with_capacity(count / concurrency + 1);
                while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                    let started = Instant::now();
                    let options = ConnectOptions {
                        address: &address,
                        app_id: "demo",
                        app_version: None,
                        pin: PinChoice::None,
                        auth: Some(&values),
                    };
                    peer.connect_with(&options).unwrap();
                    match answer(&peer) {
                        Some(code) if code == return_code::OK => latencies.record(started.elapsed()),
                        _ => latencies.failed += 1,
                    }
                    peer.disconnect();
                    until_disconnected(&peer);
                }
                latencies
            })
        })
        .collect();
    let mut all = stats::Latencies::with_capacity(count);
    for worker in workers {
        all.merge(worker.join().unwrap());
    }
    all
}

/// The return code of the authentication, or `None` if the connection ended first.
fn answer(peer: &Peer) -> Option<i16> {
    loop {
        match peer.poll_event() {
            Some(PeerEvent::OperationResponse { response, .. }) if response.op_code == op_code::AUTHENTICATE => {
                return Some(response.return_code)
            }
            Some(PeerEvent::Status(info)) if info.code == StatusCode::Disconnect => return None,
            Some(_) => {}
            None => {
                peer.wait(Duration::from_secs(5));
            }
        }
    }
}

fn until_disconnected(peer: &Peer) {
    loop {
        match peer.poll_event() {
            Some(PeerEvent::Status(info)) if info.code == StatusCode::Disconnect => return,
            Some(_) => {}
            None => {
                peer.wait(Duration::from_secs(5));
            }
        }
    }
}
