//! The room directory on a real Redis, and matchmaking through it (docs/cluster.md §4).
//!
//! `make bench-directory` runs this under scripts/redis.sh (REDIS_URL names a throwaway Redis on
//! loopback). Every directory figure stands beside the reference measured in the same run: one
//! Redis round trip (a GET of a missing key) through the same client, so that a reader sees how many
//! round trips each operation costs on this machine whatever its speed. Matchmaking runs a master
//! and two game servers in this process on that Redis, with realtime clients: the master's answer
//! (request to the answer), and the whole switch (request to joined on the game server).

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::PeerConfig;
use sealnet::realtime::{ClientConfig, ClientEvent, ClientState, RealtimeClient};
use sealnet::rooms::RoomOptions;
use sealnet_server::auth::token::TokenKeys;
use sealnet_server::config::Role;
use sealnet_server::directory::{Directory, GameServerEntry, Heartbeat, RedisDirectory, RoomEntry};
use sealnet_server::{Config, RunningServer, Server};
use support::{percentile, with_steal};

/// How long each directory measurement runs.
const WINDOW: Duration = Duration::from_secs(2);
/// Requests in flight at once in the concurrent measurements.
const CONCURRENCY: usize = 32;

fn main() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("directory bench: REDIS_URL is not set; run `make bench-directory` (scripts/redis.sh starts Redis)");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ((), steal) = with_steal(|| runtime.block_on(run(&url)));
    println!("\nsteal time over the whole run: {steal:.1} %");
}

async fn run(url: &str) {
    let prefix = format!("bench-{}", std::process::id());
    let directory = Directory::Redis(RedisDirectory::connect(url, &prefix).await.expect("directory"));
    let client = redis::Client::open(url).unwrap();
    let mut reference = redis::aio::ConnectionManager::new(client).await.expect("redis");

    println!("room directory on Redis, one client connection; {CONCURRENCY} in flight where concurrent");
    println!("{:<48} {:>12} {:>10} {:>10} {:>12}", "operation", "ops/s", "p50", "p99", "round trips");
    let base = measure("reference: one Redis round trip (GET)", None, &mut || {
        let mut connection = reference.clone();
        async move {
            let _: Option<String> = redis::cmd("GET").arg("missing").query_async(&mut connection).await.unwrap();
        }
    })
    .await;
    let base_concurrent = measure_concurrent("reference: GET, concurrent", || {
        let mut connection = reference.clone();
        async move {
            let _: Option<String> = redis::cmd("GET").arg("missing").query_async(&mut connection).await.unwrap();
        }
    })
    .await;
    let _ = &mut reference;

    // Ten game servers with 50 rooms each, as heartbeats write them.
    let servers: Vec<GameServerEntry> = (0..10).map(server_entry).collect();
    let rooms: Vec<Vec<RoomEntry>> = servers
        .iter()
        .map(|server| (0..50).map(|r| room_entry(&server.id, &format!("{}-{r}", server.id))).collect())
        .collect();
    let ttl = Duration::from_secs(30);
    for (server, rooms) in servers.iter().zip(&rooms) {
        directory.heartbeat(&Heartbeat { server: Some(server), rooms, gone: &[] }, ttl).await.unwrap();
    }
    let mut turn = 0usize;
    measure("heartbeat of a game server with 50 rooms", Some(base), &mut || {
        turn += 1;
        let (server, rooms) = (servers[turn % 10].clone(), rooms[turn % 10].clone());
        let directory = directory.clone();
        async move {
            directory.heartbeat(&Heartbeat { server: Some(&server), rooms: &rooms, gone: &[] }, ttl).await.unwrap();
        }
    })
    .await;
    measure("room lookup (JoinRoom)", Some(base), &mut || {
        turn += 1;
        let directory = directory.clone();
        let name = format!("game-{}-{}", turn % 10, turn % 50);
        async move {
            directory.room(&name).await.unwrap().expect("listed");
        }
    })
    .await;
    measure("game servers, 10 listed (placing a new room)", Some(base), &mut || {
        let directory = directory.clone();
        async move {
            assert_eq!(directory.game_servers().await.unwrap().len(), 10);
        }
    })
    .await;
    measure("reserve a new room name (SET NX)", Some(base), &mut || {
        turn += 1;
        let directory = directory.clone();
        let entry = room_entry("game-0", &format!("new-{turn}"));
        async move {
            directory.reserve(&entry, ttl).await.unwrap();
        }
    })
    .await;
    measure("random room among 500 open ones", Some(base), &mut || {
        let directory = directory.clone();
        async move {
            directory.random_room().await.unwrap().expect("a room");
        }
    })
    .await;
    measure_concurrent("room lookup, concurrent", || {
        turn += 1;
        let directory = directory.clone();
        let name = format!("game-{}-{}", turn % 10, turn % 50);
        async move {
            directory.room(&name).await.unwrap();
        }
    })
    .await;
    println!(
        "(round trips: the operation's p50 over the reference's; concurrent reference {base_concurrent:.0} ops/s)"
    );

    matchmaking(url).await;
}

fn server_entry(index: usize) -> GameServerEntry {
    GameServerEntry {
        id: format!("game-{index}"),
        addresses: BTreeMap::from([("tcp".to_owned(), format!("10.0.0.{index}:4531"))]),
        public_key: "ab".repeat(32),
        players: 100,
        rooms: 50,
        draining: false,
    }
}

fn room_entry(server: &str, name: &str) -> RoomEntry {
    RoomEntry {
        name: name.to_owned(),
        game_server: server.to_owned(),
        players: 2,
        max_players: 8,
        open: true,
        visible: true,
        listed: Vec::new(),
    }
}

/// Runs `operation` one at a time for [`WINDOW`]; prints its rate and latency, and its p50 in units of
/// `base` (the reference's p50 in µs) when given. Returns its own p50 in µs.
async fn measure<F: std::future::Future<Output = ()>>(
    name: &str,
    base: Option<f64>,
    operation: &mut impl FnMut() -> F,
) -> f64 {
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < WINDOW {
        let began = Instant::now();
        operation().await;
        samples.push(began.elapsed());
    }
    let rate = samples.len() as f64 / start.elapsed().as_secs_f64();
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    let p50_us = p50.as_secs_f64() * 1e6;
    let round_trips = base.map_or_else(|| "1".to_owned(), |base| format!("{:.1}", p50_us / base));
    println!("{name:<48} {rate:>12.0} {:>8.0}µs {:>8.0}µs {round_trips:>12}", p50_us, p99.as_secs_f64() * 1e6);
    p50_us
}

/// Runs `operation` with [`CONCURRENCY`] in flight for [`WINDOW`]; prints and returns its rate.
async fn measure_concurrent<F: std::future::Future<Output = ()> + Send + 'static>(
    name: &str,
    mut operation: impl FnMut() -> F,
) -> f64 {
    let mut running = tokio::task::JoinSet::new();
    let start = Instant::now();
    let mut done = 0u64;
    for _ in 0..CONCURRENCY {
        running.spawn(operation());
    }
    while let Some(finished) = running.join_next().await {
        finished.unwrap();
        done += 1;
        if start.elapsed() < WINDOW {
            running.spawn(operation());
        }
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();
    println!("{name:<48} {rate:>12.0}");
    rate
}

/// A master and two game servers on the directory; realtime clients ask for rooms.
async fn matchmaking(url: &str) {
    let prefix = format!("bench-mm-{}", std::process::id());
    let directory = Directory::Redis(RedisDirectory::connect(url, &prefix).await.unwrap());
    let keys = || TokenKeys::new(vec![(1, zeroize::Zeroizing::new([9u8; 32]))]);
    let start = |role: Role| {
        let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
        config.role = role;
        config.cluster.heartbeat_ms = 200;
        config.limits.ops_per_second = 1e9;
        config.limits.ops_burst = 1e9;
        config.auth.per_address_per_second = 1e9;
        config.auth.per_address_burst = 1e9;
        config.admission.max_connections_per_address = 100_000;
        let keypair = sealnet::protocol::noise::Keypair::generate().unwrap();
        Server::new(config, keypair).with_token_keys(keys()).with_directory(directory.clone()).start()
    };
    let master = start(Role::Master).await.unwrap();
    let _games = [start(Role::Game).await.unwrap(), start(Role::Game).await.unwrap()];
    while directory.game_servers().await.unwrap().len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let master = Arc::new(master);
    let results = tokio::task::spawn_blocking(move || switches(&master, 300)).await.unwrap();
    let (mut answers, mut joins) = results;
    println!(
        "\nmatchmaking: 300 players one after another, each JoinOrCreateRoom of a new room (master + 2 game servers)"
    );
    for (name, samples) in
        [("request to the master's answer", &mut answers), ("request to joined on the game server", &mut joins)]
    {
        println!(
            "{name:<48} p50 {:>6.2} ms   p99 {:>6.2} ms",
            percentile(samples, 0.5).as_secs_f64() * 1e3,
            percentile(samples, 0.99).as_secs_f64() * 1e3
        );
    }
}

/// Logs `count` players in, then times each one's room request: to the master's answer, and to joined.
fn switches(master: &RunningServer, count: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut answers, mut joins) = (Vec::new(), Vec::new());
    for index in 0..count {
        let mut client = RealtimeClient::new(ClientConfig {
            peer: PeerConfig::default(),
            masters: vec![master.local_addr().to_string()],
            master_key: Some(master.public_key()),
            app_id: "demo".into(),
            app_version: None,
        });
        client.connect(AuthValues::new(AuthType::None)).unwrap();
        until(&mut client, |state| state == ClientState::ConnectedToMasterServer);
        let began = Instant::now();
        client.join_or_create_room(&format!("bench-room-{index}"), RoomOptions::default()).unwrap();
        until(&mut client, |state| state == ClientState::DisconnectingFromMasterServer);
        answers.push(began.elapsed());
        until(&mut client, |state| state == ClientState::Joined);
        joins.push(began.elapsed());
        client.disconnect();
    }
    (answers, joins)
}

fn until(client: &mut RealtimeClient, done: impl Fn(ClientState) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(client.state()) {
        assert!(Instant::now() < deadline, "stuck in {:?}", client.state());
        match client.service() {
            Some(ClientEvent::Failed { op, return_code, message }) => panic!("{op} failed: {return_code} {message}"),
            Some(_) => {}
            None => {
                client.wait(Duration::from_millis(5));
            }
        }
    }
}
