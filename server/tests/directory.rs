//! The room directory's conformance suite: every check runs on the memory directory and on Redis.
//!
//! The Redis half uses the server at `SEALNET_TEST_REDIS_URL` (`scripts/redis.sh` starts a throwaway
//! one), each test under a prefix of its own so that runs and tests never see each other's keys.
//! Without the variable the Redis half says so on stderr and passes; the memory half always runs, and
//! so do the checks of a Redis that is down (they need no Redis at all).
//!
//! Nothing waits by sleeping for a fixed time: expiry is awaited by polling the directory, with a
//! bound.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet_server::directory::{
    Directory, GameServerEntry, Heartbeat, MemoryDirectory, RedisDirectory, Reservation, RoomEntry, Unavailable,
};

const REDIS_URL_VAR: &str = "SEALNET_TEST_REDIS_URL";
/// Long enough that nothing expires during a test that does not wait for it.
const TTL: Duration = Duration::from_secs(30);
/// Short enough to wait for.
const SHORT_TTL: Duration = Duration::from_millis(400);
/// How long expiry may take to show.
const EXPIRY_BOUND: Duration = Duration::from_secs(3);
/// How long a call to a Redis that is down may take (the directory gives up after 1 s).
const UNAVAILABLE_BOUND: Duration = Duration::from_secs(2);
const PASSWORD: &str = "secretpw";

/// Defines each check as two tests, `memory::CHECK` and `redis::CHECK`.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::memory_directory()).await;
                }
            )*
        }

        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if let Some(directory) = super::redis_directory(stringify!($check)).await {
                        super::$check(directory).await;
                    }
                }
            )*
        }
    };
}

conformance!(
    a_heartbeat_reads_back_as_written,
    entries_expire_unless_refreshed,
    a_reservation_expires_unless_a_heartbeat_lists_the_room,
    reserving_a_taken_name_returns_the_existing_room,
    concurrent_reservations_of_one_name_reserve_it_once,
    random_matchmaking_picks_only_open_visible_rooms_with_space_on_live_servers,
    random_matchmaking_finds_a_room_in_any_bucket,
    a_heartbeat_removes_only_its_own_gone_rooms,
    a_withdrawal_removes_the_server_and_its_rooms,
    lobbies_see_the_visible_rooms_with_their_listed_properties,
);

fn memory_directory() -> Directory {
    Directory::Memory(Arc::new(MemoryDirectory::default()))
}

/// A directory on the test Redis under a fresh prefix, or None (said on stderr) without one.
async fn redis_directory(test: &str) -> Option<Directory> {
    let Ok(url) = std::env::var(REDIS_URL_VAR) else {
        eprintln!("directory: the Redis half of {test} was not run: {REDIS_URL_VAR} is not set (scripts/redis.sh sets up a Redis for it)");
        return None;
    };
    let directory = RedisDirectory::connect(&url, &unique_prefix()).await.expect("the test Redis URL is well formed");
    Some(Directory::Redis(directory))
}

fn unique_prefix() -> String {
    format!("sealnet-test-{:016x}", getrandom::u64().expect("randomness"))
}

fn server(id: &str) -> GameServerEntry {
    GameServerEntry {
        id: id.into(),
        addresses: BTreeMap::from([("tcp".to_owned(), format!("{id}.example:5055"))]),
        public_key: "ab".repeat(32),
        players: 3,
        rooms: 2,
        draining: false,
    }
}

/// A room with space that JoinRandomRoom may pick.
fn room(name: &str, game_server: &str) -> RoomEntry {
    RoomEntry {
        name: name.into(),
        game_server: game_server.into(),
        players: 1,
        max_players: 4,
        open: true,
        visible: true,
        listed: Vec::new(),
    }
}

async fn beat(
    directory: &Directory,
    server: Option<&GameServerEntry>,
    rooms: &[RoomEntry],
    gone: &[&str],
    ttl: Duration,
) {
    let gone: Vec<String> = gone.iter().map(|name| name.to_string()).collect();
    directory.heartbeat(&Heartbeat { server, rooms, gone: &gone }, ttl).await.expect("heartbeat");
}

async fn game_server_ids(directory: &Directory) -> Vec<String> {
    let mut ids: Vec<String> = directory.game_servers().await.unwrap().into_iter().map(|entry| entry.id).collect();
    ids.sort();
    ids
}

/// Asks random matchmaking many times (it starts at a random place each time): it must always
/// offer one of `allowed`, or nothing when that is empty.
async fn assert_random_picks_among(directory: &Directory, allowed: &[&str]) {
    for _ in 0..40 {
        match directory.random_room().await.unwrap() {
            None => assert!(allowed.is_empty(), "no room offered, though {allowed:?} are joinable"),
            Some(room) => assert!(allowed.contains(&room.name.as_str()), "offered {room:?}, not one of {allowed:?}"),
        }
    }
}

/// Polls `done` until it holds, failing after [`EXPIRY_BOUND`].
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + EXPIRY_BOUND;
    while !done().await {
        assert!(Instant::now() < deadline, "{what} within {EXPIRY_BOUND:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_heartbeat_reads_back_as_written(directory: Directory) {
    let (a, b) = (server("gs-a"), server("gs-b"));
    let rooms = [room("r1", "gs-a"), RoomEntry { players: 4, open: false, ..room("r2", "gs-a") }];
    beat(&directory, Some(&a), &rooms, &[], TTL).await;
    beat(&directory, Some(&b), &[], &[], TTL).await;

    let mut servers = directory.game_servers().await.unwrap();
    servers.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(servers, [a.clone(), b]);
    assert_eq!(directory.game_server("gs-a").await.unwrap(), Some(a));
    assert_eq!(directory.game_server("gs-none").await.unwrap(), None);
    assert_eq!(directory.room("r1").await.unwrap().as_ref(), Some(&rooms[0]));
    assert_eq!(directory.room("r2").await.unwrap().as_ref(), Some(&rooms[1]));
    assert_eq!(directory.room("r-none").await.unwrap(), None);

    // A later heartbeat replaces the entries.
    let busier = GameServerEntry { players: 9, draining: true, ..server("gs-a") };
    let fuller = RoomEntry { players: 3, ..room("r1", "gs-a") };
    beat(&directory, Some(&busier), std::slice::from_ref(&fuller), &[], TTL).await;
    assert_eq!(directory.game_server("gs-a").await.unwrap(), Some(busier));
    assert_eq!(directory.room("r1").await.unwrap(), Some(fuller));
}

async fn entries_expire_unless_refreshed(directory: Directory) {
    let short = server("gs-short");
    beat(&directory, Some(&short), &[room("brief", "gs-short")], &[], SHORT_TTL).await;
    beat(&directory, Some(&server("gs-long")), &[room("lasting", "gs-long")], &[], TTL).await;
    assert_eq!(directory.game_server("gs-short").await.unwrap(), Some(short));
    assert!(directory.room("brief").await.unwrap().is_some());

    eventually("the short-lived server and room expire", || async {
        directory.game_server("gs-short").await.unwrap().is_none() && directory.room("brief").await.unwrap().is_none()
    })
    .await;
    assert_eq!(game_server_ids(&directory).await, ["gs-long"]);
    assert!(directory.room("lasting").await.unwrap().is_some());
    assert_random_picks_among(&directory, &["lasting"]).await;
}

async fn a_reservation_expires_unless_a_heartbeat_lists_the_room(directory: Directory) {
    let entry = room("reserved", "gs-a");
    assert_eq!(directory.reserve(&entry, SHORT_TTL).await.unwrap(), Reservation::Reserved);
    assert_eq!(directory.room("reserved").await.unwrap(), Some(entry.clone()));
    eventually("the reservation expires", || async { directory.room("reserved").await.unwrap().is_none() }).await;
    let elsewhere = room("reserved", "gs-b");
    assert_eq!(directory.reserve(&elsewhere, TTL).await.unwrap(), Reservation::Reserved);
    assert_eq!(directory.room("reserved").await.unwrap(), Some(elsewhere));
}

async fn reserving_a_taken_name_returns_the_existing_room(directory: Directory) {
    let first = room("arena", "gs-a");
    assert_eq!(directory.reserve(&first, TTL).await.unwrap(), Reservation::Reserved);
    let second = RoomEntry { max_players: 8, ..room("arena", "gs-b") };
    assert_eq!(directory.reserve(&second, TTL).await.unwrap(), Reservation::Exists(first.clone()));
    assert_eq!(directory.room("arena").await.unwrap(), Some(first.clone()));

    // A room a heartbeat wrote is taken the same way.
    let hosted = room("hosted", "gs-c");
    beat(&directory, Some(&server("gs-c")), std::slice::from_ref(&hosted), &[], TTL).await;
    assert_eq!(directory.reserve(&room("hosted", "gs-a"), TTL).await.unwrap(), Reservation::Exists(hosted));
}

async fn concurrent_reservations_of_one_name_reserve_it_once(directory: Directory) {
    const MASTERS: usize = 8;
    for round in 0..10 {
        let name = format!("contested-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(MASTERS));
        let mut tasks = Vec::new();
        for master in 0..MASTERS {
            let (directory, barrier) = (directory.clone(), barrier.clone());
            let entry = room(&name, &format!("gs-{master}"));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                (entry.clone(), directory.reserve(&entry, TTL).await.unwrap())
            }));
        }
        let mut winners = Vec::new();
        let mut existing = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (entry, Reservation::Reserved) => winners.push(entry),
                (_, Reservation::Exists(entry)) => existing.push(entry),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: one reservation wins, not {winners:?}");
        assert!(existing.iter().all(|entry| *entry == winners[0]), "the others see the winner: {existing:?}");
        assert_eq!(directory.room(&name).await.unwrap().as_ref(), Some(&winners[0]));
    }
}

async fn random_matchmaking_picks_only_open_visible_rooms_with_space_on_live_servers(directory: Directory) {
    assert_eq!(directory.random_room().await.unwrap(), None, "an empty directory has no room");
    let live = server("gs-live");
    let not_joinable = [
        RoomEntry { open: false, ..room("closed", "gs-live") },
        RoomEntry { visible: false, ..room("hidden", "gs-live") },
        RoomEntry { players: 4, max_players: 4, ..room("full", "gs-live") },
    ];
    beat(&directory, Some(&live), &not_joinable, &[], TTL).await;
    // Rooms whose game server has no entry (it never sent one, or it expired).
    beat(&directory, None, &[room("orphan", "gs-dead")], &[], TTL).await;
    assert_eq!(directory.reserve(&room("orphan-reserved", "gs-dead"), TTL).await.unwrap(), Reservation::Reserved);
    assert_random_picks_among(&directory, &[]).await;

    let mut rooms = not_joinable.to_vec();
    rooms.push(room("joinable", "gs-live"));
    // No player limit: never full.
    rooms.push(RoomEntry { players: 500, max_players: 0, ..room("unlimited", "gs-live") });
    beat(&directory, Some(&live), &rooms, &[], TTL).await;
    assert_random_picks_among(&directory, &["joinable", "unlimited"]).await;

    // A room that fills up, closes or hides leaves random matchmaking.
    rooms[3].players = 4;
    rooms[4].open = false;
    beat(&directory, Some(&live), &rooms, &[], TTL).await;
    assert_eq!(directory.random_room().await.unwrap(), None);
    rooms[3].players = 3;
    beat(&directory, Some(&live), &rooms, &[], TTL).await;
    assert_random_picks_among(&directory, &["joinable"]).await;
}

async fn random_matchmaking_finds_a_room_in_any_bucket(directory: Directory) {
    // Many names, so that on Redis they land in every bucket; one at a time is joinable.
    let host = server("gs-a");
    let mut rooms: Vec<RoomEntry> =
        (0..48).map(|n| RoomEntry { open: false, ..room(&format!("room-{n}"), "gs-a") }).collect();
    for n in 0..rooms.len() {
        rooms[n].open = true;
        beat(&directory, Some(&host), &rooms, &[], TTL).await;
        let picked = directory.random_room().await.unwrap().map(|entry| entry.name);
        assert_eq!(picked.as_deref(), Some(rooms[n].name.as_str()));
        rooms[n].open = false;
    }
}

async fn a_heartbeat_removes_only_its_own_gone_rooms(directory: Directory) {
    let (a, b) = (server("gs-a"), server("gs-b"));
    beat(&directory, Some(&a), &[room("a1", "gs-a"), room("a2", "gs-a")], &[], TTL).await;
    beat(&directory, Some(&b), &[room("b1", "gs-b")], &[], TTL).await;

    // gs-a lists b1 too (say it hosted a room of that name once): only its own go.
    beat(&directory, Some(&a), &[room("a2", "gs-a")], &["a1", "b1", "never-was"], TTL).await;
    assert_eq!(directory.room("a1").await.unwrap(), None);
    assert!(directory.room("a2").await.unwrap().is_some());
    assert_eq!(directory.room("b1").await.unwrap(), Some(room("b1", "gs-b")));
    assert_random_picks_among(&directory, &["a2", "b1"]).await;

    // Without its own entry a heartbeat removes nothing (it cannot say whose rooms they are).
    beat(&directory, None, &[], &["a2", "b1"], TTL).await;
    assert!(directory.room("a2").await.unwrap().is_some());
    assert!(directory.room("b1").await.unwrap().is_some());
}

async fn a_withdrawal_removes_the_server_and_its_rooms(directory: Directory) {
    let (a, b) = (server("gs-a"), server("gs-b"));
    beat(&directory, Some(&a), &[room("a1", "gs-a"), room("a2", "gs-a")], &[], TTL).await;
    beat(&directory, Some(&b), &[room("b1", "gs-b")], &[], TTL).await;

    let listed: Vec<String> = ["a1", "a2", "b1"].map(String::from).to_vec();
    directory.withdraw("gs-a", &listed).await.unwrap();
    assert_eq!(directory.game_server("gs-a").await.unwrap(), None);
    assert_eq!(game_server_ids(&directory).await, ["gs-b"]);
    assert_eq!(directory.room("a1").await.unwrap(), None);
    assert_eq!(directory.room("a2").await.unwrap(), None);
    assert_eq!(directory.room("b1").await.unwrap(), Some(room("b1", "gs-b")));
    assert_random_picks_among(&directory, &["b1"]).await;
}

// ---- Redis that is down, or comes up later ------------------------------------------------------

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn url_with_password(port: u16) -> String {
    format!("redis://:{PASSWORD}@127.0.0.1:{port}/")
}

/// Calls every method once, each expected to fail with Unavailable within [`UNAVAILABLE_BOUND`]
/// and without the password in its text.
async fn assert_every_method_unavailable(directory: &Directory) {
    let entry = room("r", "gs-a");
    let server = server("gs-a");
    let gone = ["old".to_owned()];
    let beat = Heartbeat { server: Some(&server), rooms: std::slice::from_ref(&entry), gone: &gone };
    assert_unavailable("heartbeat", directory.heartbeat(&beat, TTL)).await;
    assert_unavailable("withdraw", directory.withdraw("gs-a", &gone)).await;
    assert_unavailable("game_servers", directory.game_servers()).await;
    assert_unavailable("game_server", directory.game_server("gs-a")).await;
    assert_unavailable("room", directory.room("r")).await;
    assert_unavailable("reserve", directory.reserve(&entry, TTL)).await;
    assert_unavailable("random_room", directory.random_room()).await;
}

async fn assert_unavailable<T: std::fmt::Debug>(method: &str, call: impl Future<Output = Result<T, Unavailable>>) {
    let started = Instant::now();
    let result = call.await;
    let elapsed = started.elapsed();
    let Err(err) = result else { panic!("{method} succeeded without Redis: {result:?}") };
    assert!(elapsed < UNAVAILABLE_BOUND, "{method} took {elapsed:?} to fail");
    assert!(!err.to_string().contains(PASSWORD), "{method}'s error shows the password: {err}");
    eprintln!("directory: {method} without Redis: {err} ({elapsed:?})");
}

#[tokio::test]
async fn every_method_is_unavailable_quickly_when_nothing_listens() {
    // Connecting does not need Redis to be up.
    let redis = RedisDirectory::connect(&url_with_password(closed_port()), "sealnet").await.expect("connect");
    assert_every_method_unavailable(&Directory::Redis(redis)).await;
}

#[tokio::test]
async fn every_method_is_unavailable_quickly_when_redis_never_answers() {
    // Accepts connections and reads nothing: a Redis that hangs.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let redis = RedisDirectory::connect(&url_with_password(port), "sealnet").await.expect("connect");
    assert_every_method_unavailable(&Directory::Redis(redis)).await;
}

#[tokio::test]
async fn a_malformed_url_is_refused_without_showing_the_password() {
    for url in [
        format!("redis://:{PASSWORD}@127.0.0.1:notaport/"),
        format!("http://:{PASSWORD}@127.0.0.1:6379/"),
        format!("redis://:{PASSWORD}@127.0.0.1:6379/notadb"),
        "not a url".to_owned(),
    ] {
        let Err(err) = RedisDirectory::connect(&url, "sealnet").await else { panic!("{url} was accepted") };
        let text = err.to_string();
        assert!(text.contains("malformed Redis URL"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
}

/// A redis-server of the test's own, killed when dropped.
struct OwnRedis {
    child: Child,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        OwnRedis::start_with(port, &[])
    }

    fn start_with(port: u16, options: &[&str]) -> OwnRedis {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .args(options)
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let own = OwnRedis { child, _dir: dir };
        own.wait_until_it_answers(port);
        own
    }

    fn wait_until_it_answers(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers_ping(port) {
            assert!(Instant::now() < deadline, "redis-server answers within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether Redis answers on the port (a Redis that wants a password answers too).
fn answers_ping(port: u16) -> bool {
    inline_commands(port, &["PING"]).is_some_and(|replies| replies[0] == "+PONG" || replies[0].starts_with("-NOAUTH"))
}

/// Sends commands in Redis's inline form over one connection and returns the answers, one line
/// each (enough for status replies and errors).
fn inline_commands(port: u16, commands: &[&str]) -> Option<Vec<String>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    let mut replies = Vec::new();
    for command in commands {
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut reply = Vec::new();
        let mut byte = [0];
        while byte[0] != b'\n' {
            stream.read_exact(&mut byte).ok()?;
            reply.push(byte[0]);
        }
        replies.push(String::from_utf8_lossy(&reply).trim_end().to_owned());
    }
    Some(replies)
}

/// Whether a test that starts a redis-server of its own can run. It runs with the Redis half only, so
/// that a plain `cargo test` starts no servers, even where redis-server happens to be installed.
fn own_redis_available(test: &str) -> bool {
    let why = if std::env::var_os(REDIS_URL_VAR).is_none() {
        format!("{REDIS_URL_VAR} is not set")
    } else if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
        "redis-server is not on PATH".to_owned()
    } else {
        return true;
    };
    eprintln!("directory: {test} was not run: {why}");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_directory_works_once_redis_is_up_and_again_after_it_restarts() {
    if !own_redis_available("one_directory_works_once_redis_is_up_and_again_after_it_restarts") {
        return;
    }
    let port = closed_port();
    let directory =
        Directory::Redis(RedisDirectory::connect(&format!("redis://127.0.0.1:{port}/"), "sealnet").await.unwrap());
    let a = server("gs-a");
    let beat = Heartbeat { server: Some(&a), ..Heartbeat::default() };
    assert!(directory.game_server("gs-a").await.is_err(), "no Redis yet");

    // The first call after Redis is up succeeds: the directory resends a command whose connection
    // was refused, over the connection the client starts anew.
    let redis = tokio::task::spawn_blocking(move || OwnRedis::start(port)).await.unwrap();
    directory.heartbeat(&beat, TTL).await.expect("the first call once Redis is up");
    assert_eq!(directory.game_server("gs-a").await.unwrap(), Some(a.clone()));

    // Redis restarts (empty: it keeps nothing): the broken connection is replaced the same way.
    tokio::task::spawn_blocking(move || redis.stop()).await.unwrap();
    assert!(directory.game_server("gs-a").await.is_err(), "Redis is down");
    let _redis = tokio::task::spawn_blocking(move || OwnRedis::start(port)).await.unwrap();
    assert_eq!(directory.game_server("gs-a").await.expect("the first call after the restart"), None);
    directory.heartbeat(&beat, TTL).await.unwrap();
    assert_eq!(game_server_ids(&directory).await, ["gs-a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unavailable_without_showing_it_until_redis_accepts_it() {
    if !own_redis_available("a_wrong_password_is_unavailable_without_showing_it_until_redis_accepts_it") {
        return;
    }
    let port = closed_port();
    let _redis =
        tokio::task::spawn_blocking(move || OwnRedis::start_with(port, &["--requirepass", "otherpw"])).await.unwrap();
    let directory = Directory::Redis(RedisDirectory::connect(&url_with_password(port), "sealnet").await.unwrap());
    let err = directory.game_server("gs-a").await.expect_err("the password is wrong");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    eprintln!("directory: with a wrong password: {err}");
    assert!(directory.game_server("gs-a").await.is_err(), "still wrong");

    // The operator fixes the password on Redis's side: the same directory works again.
    let fixed = inline_commands(port, &["AUTH otherpw", &format!("CONFIG SET requirepass {PASSWORD}")]);
    assert_eq!(fixed, Some(vec!["+OK".to_owned(), "+OK".to_owned()]));
    assert_eq!(directory.game_server("gs-a").await.expect("the password is right now"), None);
}

async fn lobbies_see_the_visible_rooms_with_their_listed_properties(directory: Directory) {
    let listed: sealnet::protocol::codec::Table =
        [(sealnet::protocol::codec::Key::String("map".into()), sealnet::protocol::codec::Value::Int(3))]
            .into_iter()
            .collect();
    let mut rooms = vec![
        RoomEntry { listed: RoomEntry::encode_listed(&listed), ..room("shown", "gs-a") },
        RoomEntry { visible: false, ..room("hidden", "gs-a") },
        RoomEntry { open: false, players: 4, ..room("closed-but-shown", "gs-a") },
    ];
    beat(&directory, Some(&server("gs-a")), &rooms, &[], TTL).await;
    let mut names: Vec<String> = directory.visible_rooms().await.unwrap().into_iter().map(|room| room.name).collect();
    names.sort();
    assert_eq!(names, ["closed-but-shown", "shown"]);
    let shown = directory.room("shown").await.unwrap().unwrap();
    assert_eq!(shown.listed_properties(), listed, "the listed properties survive the directory");

    // Hiding a room, or its going, takes it off the list.
    rooms[0].visible = false;
    beat(&directory, Some(&server("gs-a")), &rooms[..1], &["closed-but-shown"], TTL).await;
    assert!(directory.visible_rooms().await.unwrap().is_empty());
}
