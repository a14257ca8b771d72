//! A deployment of separate processes: a master and game servers (the real `sealnet-server` binary)
//! sharing a directory on a real Redis server, with players that use the realtime client and follow
//! the master's answers to the game servers by themselves.
//!
//! These need `redis-server`: `make cluster-test` installs it (scripts/redis.sh) and runs them. Each
//! test starts its own Redis on a private port, so it can stop and restart it.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::PeerConfig;
use sealnet::protocol::codec::Value;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{return_code, StatusCode};
use sealnet::realtime::{ClientConfig, ClientEvent, ClientState, RealtimeClient};
use sealnet::rooms::RoomOptions;
use sealnet_server::directory::{Directory, GameServerEntry, RedisDirectory};

const BIN: &str = env!("CARGO_BIN_EXE_sealnet-server");
/// The longest any one wait may take.
const WAIT: Duration = Duration::from_secs(30);
const NEEDS_REDIS: &str = "needs redis-server: run `make cluster-test`";

/// A child process killed when the test ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A throwaway Redis server on a private port, without persistence.
struct Redis {
    port: u16,
    dir: PathBuf,
    process: Option<Process>,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let mut redis = Redis { port: free_port(), dir: dir.to_owned(), process: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(NEEDS_REDIS);
        self.process = Some(Process(child));
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        self.process = None;
    }
}

/// A server process and what it printed at start.
struct Server {
    process: Process,
    address: String,
    public_key: [u8; 32],
}

impl Server {
    fn kill(self) {
        drop(self.process);
    }

    fn signal(&self, name: &str) {
        let status =
            Command::new("kill").arg(format!("-{name}")).arg(self.process.0.id().to_string()).status().unwrap();
        assert!(status.success());
    }
}

/// One deployment's settings: a Redis, a shared token key, and the directory's timing.
struct Deployment {
    dir: tempfile::TempDir,
    redis: Redis,
    token_lifetime_s: u64,
    next: u32,
}

impl Deployment {
    fn new() -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let redis = Redis::start(dir.path());
        Deployment { dir, redis, token_lifetime_s: 3600, next: 0 }
    }

    fn start(&mut self, role: &str, extra: &[(&str, String)]) -> Server {
        self.next += 1;
        let key_file = self.dir.path().join(format!("server-{}.key", self.next));
        let token_key = self.dir.path().join("token.key");
        let lifetime = self.token_lifetime_s.to_string();
        let mut environment: Vec<(&str, String)> = vec![
            ("SEALNET_CONFIG_CLUSTER__REDIS_URL", self.redis.url()),
            ("SEALNET_CONFIG_CLUSTER__HEARTBEAT_MS", "100".into()),
            ("SEALNET_CONFIG_CLUSTER__EXPIRY_MS", "600".into()),
            ("SEALNET_CONFIG_AUTH__TOKEN_KEYS", format!("[{{ id = 1, file = {:?} }}]", token_key.to_str().unwrap())),
            ("SEALNET_CONFIG_AUTH__TOKEN_LIFETIME_S", lifetime.clone()),
            ("SEALNET_CONFIG_AUTH__REAUTHENTICATE_AFTER_S", lifetime),
            ("SEALNET_CONFIG_WORKERS", "1".into()),
            ("SEALNET_CONFIG_LIMITS__OPS_PER_SECOND", "100000".into()),
            ("SEALNET_CONFIG_LIMITS__OPS_BURST", "100000".into()),
            ("SEALNET_CONFIG_ADMISSION__MAX_CONNECTIONS_PER_ADDRESS", "1000".into()),
            ("SEALNET_CONFIG_AUTH__PER_ADDRESS_PER_SECOND", "100000".into()),
            ("SEALNET_CONFIG_AUTH__PER_ADDRESS_BURST", "100000".into()),
        ];
        environment.extend(extra.iter().cloned());
        let mut child = Command::new(BIN)
            .args(["--role", role, "--listen", "127.0.0.1:0", "--key-file"])
            .arg(&key_file)
            .envs(environment)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the listening line").unwrap();
        let second = lines.next().expect("the public key line").unwrap();
        let address = first.strip_prefix("sealnet-server listening on ").expect(&first).to_owned();
        let key = second.strip_prefix("sealnet-server public key: ").expect(&second);
        let public_key = sealnet_server::keyfile::parse_hex_key(key).expect("a key");
        Server { process: Process(child), address, public_key }
    }

    fn master(&mut self) -> Server {
        self.start("master", &[])
    }

    fn game(&mut self) -> Server {
        self.start("game", &[])
    }

    fn directory(&self) -> Directory {
        let runtime = runtime();
        let url = self.redis.url();
        Directory::Redis(runtime.block_on(RedisDirectory::connect(&url, "sealnet")).expect("directory"))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The live game servers, once `count` of them are registered.
fn wait_for_game_servers(directory: &Directory, count: usize) -> Vec<GameServerEntry> {
    let runtime = runtime();
    let deadline = Instant::now() + WAIT;
    loop {
        let servers = runtime.block_on(directory.game_servers()).unwrap_or_default();
        if servers.len() == count {
            return servers;
        }
        assert!(Instant::now() < deadline, "{} game servers registered, waiting for {count}", servers.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The room's entry, once `ready` holds for it.
fn wait_for_room(directory: &Directory, name: &str, ready: impl Fn(&sealnet_server::directory::RoomEntry) -> bool) {
    let runtime = runtime();
    let deadline = Instant::now() + WAIT;
    while !runtime.block_on(directory.room(name)).unwrap().is_some_and(|room| ready(&room)) {
        assert!(Instant::now() < deadline, "room {name} in the directory");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A player: the realtime client and everything it reported.
struct Player {
    client: RealtimeClient,
    seen: Vec<ClientEvent>,
}

impl Player {
    fn new(master: &Server) -> Player {
        Player::with_masters(vec![master.address.clone()], master.public_key)
    }

    fn with_masters(masters: Vec<String>, master_key: [u8; 32]) -> Player {
        let config = ClientConfig {
            peer: PeerConfig::default(),
            masters,
            master_key: Some(master_key),
            app_id: "demo".into(),
            app_version: None,
        };
        Player { client: RealtimeClient::new(config), seen: Vec::new() }
    }

    fn login(&mut self) {
        self.client.connect(AuthValues::new(AuthType::None)).unwrap();
    }

    /// Takes what the client has; returns whether anything came.
    fn service(&mut self) -> bool {
        let mut any = false;
        while let Some(event) = self.client.service() {
            self.seen.push(event);
            any = true;
        }
        any
    }

    fn state(&self) -> ClientState {
        self.client.state()
    }

    fn failures(&self) -> Vec<(u8, i16)> {
        self.seen
            .iter()
            .filter_map(|event| match event {
                ClientEvent::Failed { op, return_code, .. } => Some((*op, *return_code)),
                _ => None,
            })
            .collect()
    }

    fn events_with_code(&self, code: u8) -> usize {
        self.seen.iter().filter(|event| matches!(event, ClientEvent::Event { event, .. } if event.code == code)).count()
    }

    fn statuses(&self) -> Vec<StatusCode> {
        self.seen
            .iter()
            .filter_map(|event| match event {
                ClientEvent::Status(status) => Some(status.code),
                _ => None,
            })
            .collect()
    }
}

/// Services every player until `done` holds for all of them (bounded by [`WAIT`]).
fn drive(players: &mut [Player], what: &str, done: impl Fn(&Player) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut any = false;
        for player in players.iter_mut() {
            any |= player.service();
        }
        if players.iter().all(&done) {
            return;
        }
        if Instant::now() > deadline {
            let states: HashMap<String, usize> = players.iter().fold(HashMap::new(), |mut counts, player| {
                *counts.entry(format!("{:?}", player.state())).or_default() += 1;
                counts
            });
            let failures: Vec<_> = players.iter().flat_map(Player::failures).take(5).collect();
            panic!("waiting for {what}: states {states:?}, failures {failures:?}");
        }
        if !any {
            players[0].client.wait(Duration::from_millis(2));
        }
    }
}

fn drive_one(player: &mut Player, what: &str, done: impl Fn(&Player) -> bool) {
    drive(std::slice::from_mut(player), what, done);
}

fn connected_to_master(player: &Player) -> bool {
    player.state() == ClientState::ConnectedToMasterServer
}

fn joined(player: &Player) -> bool {
    player.state() == ClientState::Joined
}

fn logged_in(master: &Server) -> Player {
    let mut player = Player::new(master);
    player.login();
    drive_one(&mut player, "login", connected_to_master);
    player
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn two_hundred_players_find_their_rooms_on_two_game_servers_and_play() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let games = [deployment.game(), deployment.game()];
    let directory = deployment.directory();
    wait_for_game_servers(&directory, 2);

    let mut players: Vec<Player> = (0..200).map(|_| Player::new(&master)).collect();
    for player in &mut players {
        player.login();
    }
    drive(&mut players, "200 logins", connected_to_master);
    let login_tokens: Vec<Vec<u8>> = players.iter().map(|player| player.client.token().unwrap().bytes).collect();
    for (index, player) in players.iter_mut().enumerate() {
        player.client.join_or_create_room(&format!("room-{}", index % 40), RoomOptions::default()).unwrap();
    }
    drive(&mut players, "200 joins", joined);

    // Every player is on the game server the directory names for its room, with that server's key.
    let runtime = runtime();
    let key_of: HashMap<[u8; 32], &str> = games.iter().map(|game| (game.public_key, game.address.as_str())).collect();
    let servers: HashMap<String, GameServerEntry> =
        wait_for_game_servers(&directory, 2).into_iter().map(|server| (server.id.clone(), server)).collect();
    let mut rooms_per_server: HashMap<String, HashSet<String>> = HashMap::new();
    for player in &players {
        let room = player.client.room().unwrap().to_owned();
        let entry = runtime.block_on(directory.room(&room)).unwrap().expect("the room is in the directory");
        let server = &servers[&entry.game_server];
        let key = player.client.peer().server_public_key().unwrap();
        assert_eq!(sealnet::protocol::noise::hex(&key), server.public_key, "{room} is on {}", entry.game_server);
        assert_eq!(key_of[&key], server.addresses["tcp"]);
        rooms_per_server.entry(entry.game_server.clone()).or_default().insert(room);
    }
    let spread: Vec<usize> = rooms_per_server.values().map(HashSet::len).collect();
    assert_eq!(spread.len(), 2, "rooms on both game servers: {spread:?}");
    assert_eq!(spread.iter().sum::<usize>(), 40);
    assert!(spread.iter().all(|&rooms| rooms >= 10), "rooms spread over both game servers: {spread:?}");

    // The switch refreshed every token: the master's answer carried a new one, and so did the join.
    for (player, login) in players.iter().zip(&login_tokens) {
        assert_ne!(&player.client.token().unwrap().bytes, login, "a fresh token after the switch");
    }

    // Events flow in every room: the first player of each raises one, the four others get it.
    for player in players.iter_mut().take(40) {
        player.client.raise_event(7, Value::Int(1), SendOptions::ENCRYPTED).unwrap();
    }
    drive(&mut players[40..], "events in every room", |player| player.events_with_code(7) >= 1);
    for player in players.iter_mut().take(40) {
        player.service();
    }
    for (index, player) in players.iter().enumerate() {
        let expected = if index < 40 { 0 } else { 1 };
        assert_eq!(player.events_with_code(7), expected, "player {index}");
    }

    // Leaving takes players back to the master with their tokens.
    for player in players.iter_mut().take(10) {
        player.client.leave_room().unwrap();
    }
    drive(&mut players[..10], "back at the master", connected_to_master);
    assert!(players[..10].iter().all(|player| player.failures().is_empty()));
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn matchmaking_errors_have_photons_codes_and_logins_fail_over_to_the_next_master() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let _game = deployment.game();
    let directory = deployment.directory();
    wait_for_game_servers(&directory, 1);

    // The first master of the list is down: the login goes to the next one.
    let dead = format!("127.0.0.1:{}", free_port());
    let mut player = Player::with_masters(vec![dead, master.address.clone()], master.public_key);
    player.login();
    drive_one(&mut player, "login through the second master", connected_to_master);

    let expect_failure = |player: &mut Player, code: i16| {
        let before = player.failures().len();
        drive_one(player, "the refusal", |player| player.failures().len() > before && connected_to_master(player));
        assert_eq!(player.failures().last().unwrap().1, code);
    };
    player.client.join_room("nowhere").unwrap();
    expect_failure(&mut player, return_code::GAME_DOES_NOT_EXIST);
    player.client.join_random_room().unwrap();
    expect_failure(&mut player, return_code::NO_RANDOM_MATCH_FOUND);

    let mut owner = logged_in(&master);
    owner.client.create_room(Some("taken"), RoomOptions { max_players: 1, ..RoomOptions::default() }).unwrap();
    drive_one(&mut owner, "the owner joins", joined);
    player.client.create_room(Some("taken"), RoomOptions::default()).unwrap();
    expect_failure(&mut player, return_code::GAME_ID_ALREADY_EXISTS);
    // Full: refused by the master once the heartbeat counted the owner, or by the game server before.
    player.client.join_room("taken").unwrap();
    expect_failure(&mut player, return_code::GAME_FULL);

    let mut closer = logged_in(&master);
    closer.client.create_room(Some("closed"), RoomOptions { is_open: false, ..RoomOptions::default() }).unwrap();
    drive_one(&mut closer, "the creator of a closed room is in it", joined);
    player.client.join_room("closed").unwrap();
    expect_failure(&mut player, return_code::GAME_CLOSED);
    // Neither a full nor a closed room is found at random (once a heartbeat has counted the owner of
    // the full one: until then the game server refuses with GameFull); an open one is.
    wait_for_room(&directory, "taken", |room| room.players == 1);
    player.client.join_random_room().unwrap();
    expect_failure(&mut player, return_code::NO_RANDOM_MATCH_FOUND);
    let mut host = logged_in(&master);
    host.client.create_room(None, RoomOptions::default()).unwrap();
    drive_one(&mut host, "a room named by the master", joined);
    player.client.join_random_room().unwrap();
    drive_one(&mut player, "a random join", joined);
    assert_eq!(player.client.room(), host.client.room());
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn a_killed_game_server_drops_out_and_new_rooms_go_to_the_other() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let mut games = vec![deployment.game(), deployment.game()];
    let directory = deployment.directory();
    wait_for_game_servers(&directory, 2);

    let mut players: Vec<Player> = (0..4).map(|_| logged_in(&master)).collect();
    for (index, player) in players.iter_mut().enumerate() {
        player.client.join_or_create_room(&format!("before-{index}"), RoomOptions::default()).unwrap();
    }
    drive(&mut players, "joins", joined);
    let victim_key = games[0].public_key;
    let on_victim: Vec<usize> =
        (0..4).filter(|&i| players[i].client.peer().server_public_key() == Some(victim_key)).collect();
    assert!(!on_victim.is_empty(), "rooms went to both game servers");
    games.remove(0).kill();

    // Its players learn at once that their connection is gone.
    let mut stranded: Vec<Player> = Vec::new();
    for index in on_victim.iter().rev() {
        stranded.push(players.remove(*index));
    }
    drive(&mut stranded, "the disconnect", |player| player.state() == ClientState::Disconnected);
    assert!(stranded.iter().all(|player| player.statuses().contains(&StatusCode::Disconnect)));

    // The directory drops it at expiry; new rooms go to the other; the master kept serving.
    let survivors = wait_for_game_servers(&directory, 1);
    assert_eq!(survivors[0].public_key, sealnet::protocol::noise::hex(&games[0].public_key));
    let mut late: Vec<Player> = (0..6).map(|_| logged_in(&master)).collect();
    for (index, player) in late.iter_mut().enumerate() {
        player.client.join_or_create_room(&format!("after-{index}"), RoomOptions::default()).unwrap();
    }
    drive(&mut late, "joins after the kill", joined);
    assert!(late.iter().all(|player| player.client.peer().server_public_key() == Some(games[0].public_key)));
    // A room of the dead server is gone with it: joining it creates it anew on the live one.
    stranded[0].login();
    drive_one(&mut stranded[0], "a new login", connected_to_master);
    let name = format!("before-{}", on_victim[on_victim.len() - 1]);
    stranded[0].client.join_room(&name).unwrap();
    drive_one(&mut stranded[0], "the refusal", |player| !player.failures().is_empty());
    assert_eq!(stranded[0].failures()[0].1, return_code::GAME_DOES_NOT_EXIST);
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn a_draining_game_server_takes_no_new_rooms() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let games = [deployment.game(), deployment.game()];
    let directory = deployment.directory();
    wait_for_game_servers(&directory, 2);
    // A player on each: a draining server with players on it stays up (the drain waits for them).
    let mut early: Vec<Player> = (0..2).map(|_| logged_in(&master)).collect();
    for (index, player) in early.iter_mut().enumerate() {
        player.client.join_or_create_room(&format!("early-{index}"), RoomOptions::default()).unwrap();
    }
    drive(&mut early, "joins", joined);
    let on_first = early.iter().filter(|p| p.client.peer().server_public_key() == Some(games[0].public_key)).count();
    assert_eq!(on_first, 1, "one room on each game server");
    games[0].signal("TERM");
    let deadline = Instant::now() + WAIT;
    while !wait_for_game_servers(&directory, 2).iter().any(|server| server.draining) {
        assert!(Instant::now() < deadline, "the draining server says so in the directory");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut players: Vec<Player> = (0..6).map(|_| logged_in(&master)).collect();
    for (index, player) in players.iter_mut().enumerate() {
        player.client.join_or_create_room(&format!("room-{index}"), RoomOptions::default()).unwrap();
    }
    drive(&mut players, "joins", joined);
    assert!(players.iter().all(|player| player.client.peer().server_public_key() == Some(games[1].public_key)));
    // Its existing room takes nobody new either (its listener is closed).
    let draining_room = early.iter().find(|p| p.client.peer().server_public_key() == Some(games[0].public_key));
    let name = draining_room.unwrap().client.room().unwrap().to_owned();
    let mut late = logged_in(&master);
    late.client.join_room(&name).unwrap();
    drive_one(&mut late, "the refusal", |player| !player.failures().is_empty() && connected_to_master(player));
    assert_eq!(late.failures()[0].1, return_code::GAME_CLOSED);
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn an_expired_token_sends_the_idle_player_back_to_log_in() {
    let mut deployment = Deployment::new();
    deployment.token_lifetime_s = 2;
    let master = deployment.master();
    let _game = deployment.game();
    wait_for_game_servers(&deployment.directory(), 1);
    let mut player = logged_in(&master);
    player.client.join_or_create_room("idle", RoomOptions::default()).unwrap();
    drive_one(&mut player, "join", joined);
    let expires = player.client.token().unwrap().expires_at_ms;
    // Idle in the room until the token has expired (time itself is what this test waits for).
    let now_ms = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    while now_ms() <= expires + 100 {
        std::thread::sleep(Duration::from_millis(100));
        player.service();
    }
    player.client.leave_room().unwrap();
    drive_one(&mut player, "back to the master, refused", |player| player.state() == ClientState::Disconnected);
    assert_eq!(
        player.failures(),
        vec![(sealnet::protocol::status::op_code::AUTHENTICATE_ONCE, return_code::AUTHENTICATION_TICKET_EXPIRED)]
    );
    // The host logs in again and carries on.
    player.login();
    drive_one(&mut player, "a new login", connected_to_master);
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn a_server_whose_key_is_not_the_one_the_master_gave_is_never_joined() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let directory = deployment.directory();
    // A game server entry whose key is not that of the server at its address (here the master's own
    // address): the client pins the key the master hands out, and the server there cannot prove it.
    let forged = GameServerEntry {
        id: "forged".into(),
        addresses: [("tcp".to_owned(), master.address.clone())].into(),
        public_key: "ab".repeat(32),
        players: 0,
        rooms: 0,
        draining: false,
    };
    let beat = sealnet_server::directory::Heartbeat { server: Some(&forged), rooms: &[], gone: &[] };
    runtime().block_on(directory.heartbeat(&beat, Duration::from_secs(60))).unwrap();
    let mut player = logged_in(&master);
    player.client.join_or_create_room("lure", RoomOptions::default()).unwrap();
    drive_one(&mut player, "the refused switch, back at the master", |player| {
        !player.failures().is_empty() && connected_to_master(player)
    });
    // The key exchange fails on the pin: no operation, no token, goes to that server; the client
    // reports it and goes back to the master.
    assert!(player.statuses().contains(&StatusCode::EncryptionFailedToEstablish), "{:?}", player.statuses());
    let established = player.statuses().iter().filter(|code| **code == StatusCode::EncryptionEstablished).count();
    assert_eq!(established, 2, "keys with the master only, twice");
    assert_eq!(
        player.failures(),
        vec![(sealnet::protocol::status::op_code::JOIN_ROOM, return_code::INTERNAL_SERVER_ERROR)]
    );
    assert!(!player.seen.iter().any(|event| matches!(event, ClientEvent::Joined { .. })));
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn without_redis_matchmaking_refuses_clearly_rooms_go_on_and_it_recovers() {
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let _game = deployment.game();
    wait_for_game_servers(&deployment.directory(), 1);
    let mut players = [logged_in(&master), logged_in(&master), logged_in(&master)];
    for player in players.iter_mut().take(2) {
        player.client.join_or_create_room("kept", RoomOptions::default()).unwrap();
    }
    drive(&mut players[..2], "joins", joined);

    deployment.redis.stop();
    players[2].client.join_or_create_room("new", RoomOptions::default()).unwrap();
    drive_one(&mut players[2], "the refusal", |player| !player.failures().is_empty() && connected_to_master(player));
    assert_eq!(players[2].failures()[0].1, return_code::DIRECTORY_UNAVAILABLE);
    // The room goes on without the directory.
    players[0].client.raise_event(3, Value::Int(1), SendOptions::ENCRYPTED).unwrap();
    drive_one(&mut players[1], "an event during the outage", |player| player.events_with_code(3) == 1);

    deployment.redis.restart();
    let deadline = Instant::now() + WAIT;
    loop {
        players[2].client.join_or_create_room("new", RoomOptions::default()).unwrap();
        let before = players[2].failures().len();
        drive_one(&mut players[2], "an answer", |player| joined(player) || player.failures().len() > before);
        if joined(&players[2]) {
            break;
        }
        // Until the game server's next heartbeat the new Redis knows no game server.
        let code = players[2].failures().last().unwrap().1;
        assert!(matches!(code, return_code::DIRECTORY_UNAVAILABLE | return_code::SERVER_FULL), "{code}");
        assert!(Instant::now() < deadline, "matchmaking recovers once Redis is back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn when_a_master_dies_players_in_rooms_play_on_and_logins_go_to_the_other_master() {
    let mut deployment = Deployment::new();
    let first = deployment.master();
    let second = deployment.master();
    let _game = deployment.game();
    wait_for_game_servers(&deployment.directory(), 1);
    let mut players = [logged_in(&first), logged_in(&first)];
    for player in players.iter_mut() {
        player.client.join_or_create_room("on", RoomOptions::default()).unwrap();
    }
    drive(&mut players, "joins", joined);
    let (first_address, first_key) = (first.address.clone(), first.public_key);
    first.kill();

    players[0].client.raise_event(4, Value::Int(1), SendOptions::ENCRYPTED).unwrap();
    drive_one(&mut players[1], "an event after the master died", |player| player.events_with_code(4) == 1);
    assert!(players.iter().all(joined), "still in the room");
    // These two masters have keys of their own (a deployment may give its masters one key file, so
    // that clients pin one key): this client pins the second's, which the failover reaches.
    assert_ne!(first_key, second.public_key);
    let mut late = Player::with_masters(vec![first_address, second.address.clone()], second.public_key);
    late.login();
    drive_one(&mut late, "a login through the second master", connected_to_master);
    late.client.join_room("on").unwrap();
    drive_one(&mut late, "a join of the room", joined);
}

/// A TCP relay in front of a game server, whose newest connection a test can cut: the game server
/// advertises the relay's address, so clients reach it (and come back to it) through the relay.
struct CuttableRelay {
    listener: TcpListener,
    connections: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl CuttableRelay {
    fn bind() -> CuttableRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        CuttableRelay { listener, connections: Default::default() }
    }

    fn address(&self) -> String {
        self.listener.local_addr().unwrap().to_string()
    }

    /// Relays every connection to `upstream` from now on, on threads of its own.
    fn relay_to(&self, upstream: &str) {
        let listener = self.listener.try_clone().unwrap();
        let (upstream, connections) = (upstream.to_owned(), self.connections.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(&upstream) else { continue };
                connections.lock().unwrap().push(client.try_clone().unwrap());
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
    }

    /// Ends the newest connection, as a lost network would for that player.
    fn cut_newest(&self) {
        let newest = self.connections.lock().unwrap().pop().expect("a relayed connection");
        newest.shutdown(std::net::Shutdown::Both).unwrap();
    }
}

#[test]
#[ignore = "needs redis-server: make cluster-test"]
fn a_player_cut_off_on_a_game_server_rejoins_by_itself_with_its_actor_number() {
    use sealnet::rooms::{JoinMode, RoomRequest, RoomSettings, EVENT_JOIN};
    let mut deployment = Deployment::new();
    let master = deployment.master();
    let relay = CuttableRelay::bind();
    let game = deployment.start("game", &[("SEALNET_CONFIG_CLUSTER__PUBLIC_ADDRESS", relay.address())]);
    relay.relay_to(&game.address);
    wait_for_game_servers(&deployment.directory(), 1);

    let mut host = logged_in(&master);
    let mut request = RoomRequest::new(Some("comeback".into()), Some(JoinMode::CreateIfNotExists), Default::default());
    request.extra = RoomSettings { player_ttl_ms: 30_000, ..RoomSettings::default() }.to_extra();
    host.client.request_room(request).unwrap();
    drive_one(&mut host, "the host in the room", joined);
    let mut player = logged_in(&master);
    player.client.join_room("comeback").unwrap();
    drive_one(&mut player, "the player in the room", joined);
    let actor = player.client.actor();
    assert_eq!(actor, Some(2));

    let (player_mark, host_mark) = (player.seen.len(), host.seen.len());
    relay.cut_newest();
    let rejoined = |player: &Player| {
        joined(player)
            && player.seen[player_mark..]
                .iter()
                .any(|event| matches!(event, ClientEvent::Joined { rejoined: true, .. }))
    };
    drive_one(&mut player, "the player back in the room by itself", rejoined);
    assert_eq!(player.client.actor(), actor, "the same actor number");
    // Straight back to the game server, as its token allows, not through the master.
    let states: Vec<ClientState> = player.seen[player_mark..]
        .iter()
        .filter_map(|event| match event {
            ClientEvent::StateChanged(state) => Some(*state),
            _ => None,
        })
        .collect();
    assert!(states.contains(&ClientState::ConnectingToGameServer), "{states:?}");
    assert!(!states.contains(&ClientState::ConnectingToMasterServer), "{states:?}");
    drive_one(&mut host, "the host sees the player come back", |host| {
        host.seen[host_mark..].iter().any(
            |event| matches!(event, ClientEvent::Event { event, .. } if event.code == EVENT_JOIN && event.sender == 2),
        )
    });
    let view = host.client.room_view().expect("the host is in the room");
    assert!(!view.players[&2].is_inactive(), "active again in the host's view");
}
