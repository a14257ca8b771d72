//! The directory on Redis (or Valkey), shared by the processes of a deployment.
//!
//! # Keys
//!
//! Every key starts with a prefix (`sealnet` unless configured), so that several deployments can
//! share one Redis:
//!
//! | Key                    | Type       | Holds                                                   |
//! |------------------------|------------|---------------------------------------------------------|
//! | `{prefix}:server:{id}` | string     | a game server's entry (JSON), expiring with its ttl     |
//! | `{prefix}:servers`     | sorted set | the ids of the game servers, scored by expiry           |
//! | `{prefix}:room:{name}` | string     | a room's entry (JSON), expiring with its ttl            |
//! | `{prefix}:open:{b}`    | sorted set | the rooms JoinRandomRoom may pick, by name, scored by expiry |
//!
//! A heartbeat writes the entries with `SET … PX ttl` and the index members with `ZADD` (a room that
//! is not joinable at random leaves its bucket with `ZREM`); a reservation is `SET … NX PX ttl`.
//! Scores are expiry times in milliseconds since the Unix epoch, by the writer's clock. A room's
//! bucket `b` (0 to 15) is the FNV-1a hash of its name modulo 16.
//!
//! The string keys are the truth: an entry is alive while its key exists, and Redis expires it by its
//! own clock. The sorted sets are indexes of names that can be listed without scanning the keyspace;
//! a reader drops the members whose score has passed and then reads each entry's own key, so a stale
//! member (a game server's clock ahead of the reader's, a room that went away between two heartbeats)
//! never makes a dead entry look alive; at worst a live one is missing from a listing until the next
//! heartbeat adds it again. (So the clocks of the processes must agree to well within the ttl.)
//!
//! JoinRandomRoom reads the live names of all 16 buckets at once (the first 32 of each), then, from a
//! random bucket on, reads those rooms' entries and takes the first that is joinable at random and
//! whose game server's entry exists.
//!
//! # Redis Cluster
//!
//! Every command touches exactly one key: no transactions, no multi-key commands, no scripts, and
//! pipelines are not used (a pipeline over several keys would need them in one slot). Independent
//! commands are sent concurrently instead, over the one multiplexed connection. So the keys may be
//! spread over the slots of a cluster and no hash tags are needed. Each index key sits in one slot,
//! which is fine: the 16 buckets spread the random-matchmaking index over up to 16 slots, the index
//! holds names only (the entries live in their own keys), and the server list is one small set per
//! deployment.
//!
//! Without transactions two updates can interleave. Where it matters it is noted below; the worst
//! case is always that an entry is missing until the next heartbeat writes it again.
//!
//! # Connection
//!
//! [`RedisDirectory::connect`] checks the URL and returns without reaching Redis: the connection is
//! made on first use, and made again after it fails, by the client's `ConnectionManager`. A process
//! that starts before Redis is up, or outlives a Redis restart, gets [`Unavailable`] in the meantime
//! and works as soon as Redis answers again; so does one whose password Redis refused, once Redis
//! accepts it. Every call gives up after [`OPERATION_TIMEOUT`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, FromRedisValue, RedisError};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::{GameServerEntry, Heartbeat, Reservation, RoomEntry, Unavailable};

/// How long a whole directory call may take before it fails with [`Unavailable`]: matchmaking
/// answers a client instead of waiting on a Redis that does not answer.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one attempt to connect may take, and one command's answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// The buckets of the random-matchmaking index.
const OPEN_BUCKETS: u32 = 16;
/// How many names `random_room` reads from a bucket at a time.
const OPEN_BATCH: usize = 32;

#[derive(Clone)]
pub struct RedisDirectory {
    /// Shared by the clones, and so is its one multiplexed connection.
    connection: Arc<Connection>,
    prefix: Arc<str>,
}

/// Whether a command may be sent again after its connection failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Its effect is the same when it runs twice: resend it also when the connection was lost after
    /// it was sent.
    Idempotent,
    /// Resend it only when the connection was refused (so the command was never sent).
    IfNotSent,
}

impl RedisDirectory {
    /// A directory on the Redis at `url` (`redis://[user][:password@]host[:port][/db]`), its keys
    /// under `prefix`. Fails only when the URL is malformed; see the module's "Connection".
    ///
    /// Async although it does not wait for anything: the manager needs to be made on a Tokio runtime.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisDirectory, Unavailable> {
        let client = redis::Client::open(url).map_err(|err| Unavailable(malformed_url(&err)))?;
        let connection = Connection::new(client)
            .map_err(|err| Unavailable(format!("cannot set up the Redis client: {}", describe(&err))))?;
        Ok(RedisDirectory { connection: Arc::new(connection), prefix: prefix.into() })
    }

    pub async fn heartbeat(&self, beat: &Heartbeat<'_>, ttl: Duration) -> Result<(), Unavailable> {
        bounded(async {
            let ttl_ms = ttl_millis(ttl);
            let expiry = now_millis().saturating_add(ttl_ms);
            // The rooms are written before `gone` is applied, as in memory: a name in both ends up
            // removed.
            let server = beat.server.cloned();
            let writes = beat.rooms.iter().cloned().map(Write::Room).chain(server.map(Write::Server));
            let this = self.clone();
            concurrently(writes, move |write| {
                let this = this.clone();
                async move { this.write(write, ttl_ms, expiry).await }
            })
            .await?;
            if let Some(server) = beat.server {
                self.remove_rooms_of(&server.id, beat.gone).await?;
            }
            Ok(())
        })
        .await
    }

    pub async fn withdraw(&self, server_id: &str, rooms: &[String]) -> Result<(), Unavailable> {
        bounded(async {
            let key = self.server_key(server_id);
            self.query::<()>(redis::cmd("DEL").arg(&key), Resend::Idempotent).await?;
            let servers = self.servers_key();
            self.query::<()>(redis::cmd("ZREM").arg(&servers).arg(server_id), Resend::Idempotent).await?;
            self.remove_rooms_of(server_id, rooms).await
        })
        .await
    }

    pub async fn game_servers(&self) -> Result<Vec<GameServerEntry>, Unavailable> {
        bounded(async {
            let ids = self.live_members(&self.servers_key(), None).await?;
            let this = self.clone();
            let entries = concurrently(ids, move |id| {
                let this = this.clone();
                async move { this.get_json::<GameServerEntry>(&this.server_key(&id)).await }
            })
            .await?;
            // A missing key is a game server that expired after the listing was read.
            Ok(entries.into_iter().flatten().collect())
        })
        .await
    }

    pub async fn game_server(&self, id: &str) -> Result<Option<GameServerEntry>, Unavailable> {
        bounded(self.get_json(&self.server_key(id))).await
    }

    pub async fn room(&self, name: &str) -> Result<Option<RoomEntry>, Unavailable> {
        bounded(self.get_json(&self.room_key(name))).await
    }

    pub async fn reserve(&self, entry: &RoomEntry, ttl: Duration) -> Result<Reservation, Unavailable> {
        bounded(async {
            let key = self.room_key(&entry.name);
            let json = to_json(entry);
            let ttl_ms = ttl_millis(ttl);
            // SET NX is the atomic part. When it finds the name taken, the entry is read back; if the
            // entry expired in between, the name is free again and one more try settles it.
            for _ in 0..2 {
                let set = redis::cmd("SET").arg(&key).arg(&json).arg("NX").arg("PX").arg(ttl_ms).clone();
                // Not resent after a lost connection: a second SET NX would find our own first one
                // and answer Exists.
                if self.query::<bool>(&set, Resend::IfNotSent).await? {
                    // Listed for random matchmaking like a room from a heartbeat (the memory directory
                    // offers reserved rooms too). The name is reserved either way: failing here would
                    // have the master retry into its own reservation; the heartbeat lists it later.
                    if let Err(err) = self.index(entry, now_millis().saturating_add(ttl_ms)).await {
                        tracing::warn!(room = %entry.name, %err, "a reserved room is not listed for random matchmaking");
                    }
                    return Ok(Reservation::Reserved);
                }
                if let Some(existing) = self.get_json::<RoomEntry>(&key).await? {
                    return Ok(Reservation::Exists(existing));
                }
            }
            Err(Unavailable("the room's entry kept expiring while it was reserved".into()))
        })
        .await
    }

    pub async fn visible_rooms(&self) -> Result<Vec<RoomEntry>, Unavailable> {
        bounded(async {
            let names = self.live_members(&self.visible_key(), None).await?;
            let this = self.clone();
            let entries = concurrently(names, move |name| {
                let this = this.clone();
                async move { this.get_json::<RoomEntry>(&this.room_key(&name)).await }
            })
            .await?;
            // A missing key is a room that expired after the listing was read.
            Ok(entries.into_iter().flatten().filter(|room| room.visible).collect())
        })
        .await
    }

    pub async fn random_room(&self) -> Result<Option<RoomEntry>, Unavailable> {
        bounded(async {
            // The live names of all buckets are read at once: one round trip's wait, not one per
            // bucket, which is what a directory with few open rooms would otherwise cost.
            let this = self.clone();
            let mut buckets = concurrently(0..OPEN_BUCKETS, move |bucket| {
                let this = this.clone();
                async move { this.live_members(&this.open_key(bucket), Some(OPEN_BATCH)).await }
            })
            .await?;
            // Then from a random bucket on, so that matchmaking spreads over the rooms.
            let start = random_u32() as usize % buckets.len();
            buckets.rotate_left(start);
            // Whether each game server met so far is alive, so that a server's rooms cost one lookup.
            let mut alive = HashMap::new();
            for names in buckets {
                if let Some(room) = self.first_joinable(names, &mut alive).await? {
                    return Ok(Some(room));
                }
            }
            Ok(None)
        })
        .await
    }
}

/// One key a heartbeat writes.
enum Write {
    Server(GameServerEntry),
    Room(RoomEntry),
}

impl RedisDirectory {
    fn server_key(&self, id: &str) -> String {
        format!("{}:server:{id}", self.prefix)
    }

    fn servers_key(&self) -> String {
        format!("{}:servers", self.prefix)
    }

    /// A room's key. Braces and percent signs in the name are percent-encoded, so that no name acts
    /// as a Redis Cluster hash tag (which would let clients gather rooms in one slot).
    fn room_key(&self, name: &str) -> String {
        let mut key = format!("{}:room:", self.prefix);
        for c in name.chars() {
            match c {
                '{' => key.push_str("%7B"),
                '}' => key.push_str("%7D"),
                '%' => key.push_str("%25"),
                c => key.push(c),
            }
        }
        key
    }

    /// The visible rooms, for lobbies: a sorted set of expiry times.
    fn visible_key(&self) -> String {
        format!("{}:visible", self.prefix)
    }

    fn open_key(&self, bucket: u32) -> String {
        format!("{}:open:{bucket}", self.prefix)
    }

    fn open_key_of(&self, name: &str) -> String {
        self.open_key(fnv1a(name.as_bytes()) % OPEN_BUCKETS)
    }

    /// Sends one command, and sends it once more when its connection failed in a way `resend`
    /// allows: by then the manager has started a new connection, so a Redis that came back (or a
    /// connection that broke while idle) costs no failed call.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd, resend: Resend) -> Result<T, Unavailable> {
        let (generation, mut manager) = self.connection.manager();
        let result = match cmd.query_async(&mut manager).await {
            Err(err) if may_resend(&err, resend) => cmd.query_async(&mut manager).await,
            result => result,
        };
        // Not resent: the password is as wrong as it was a moment ago; the next call tries anew.
        if result.as_ref().is_err_and(|err| err.kind() == ErrorKind::AuthenticationFailed) {
            self.connection.replace(generation);
        }
        result.map_err(|err| Unavailable(describe(&err)))
    }

    /// The entry under `key`, if there is one.
    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Unavailable> {
        let json: Option<String> = self.query(redis::cmd("GET").arg(key), Resend::Idempotent).await?;
        json.map(|json| {
            serde_json::from_str(&json)
                .map_err(|_| Unavailable(format!("the entry under {key} is not what this version writes")))
        })
        .transpose()
    }

    /// Writes one entry of a heartbeat and its index member.
    async fn write(&self, write: Write, ttl_ms: u64, expiry: u64) -> Result<(), Unavailable> {
        let (key, json) = match &write {
            Write::Server(server) => (self.server_key(&server.id), to_json(server)),
            Write::Room(room) => (self.room_key(&room.name), to_json(room)),
        };
        self.query::<()>(redis::cmd("SET").arg(&key).arg(&json).arg("PX").arg(ttl_ms), Resend::Idempotent).await?;
        match &write {
            Write::Server(server) => {
                let zadd = redis::cmd("ZADD").arg(self.servers_key()).arg(expiry).arg(&server.id).clone();
                self.query(&zadd, Resend::Idempotent).await
            }
            Write::Room(room) => self.index(room, expiry).await,
        }
    }

    /// Lists the room for random matchmaking until `expiry`, or unlists it when it is not joinable;
    /// and for lobbies while it is visible.
    async fn index(&self, room: &RoomEntry, expiry: u64) -> Result<(), Unavailable> {
        let listing = |key: String, listed: bool| {
            if listed {
                redis::cmd("ZADD").arg(key).arg(expiry).arg(&room.name).clone()
            } else {
                redis::cmd("ZREM").arg(key).arg(&room.name).clone()
            }
        };
        self.query::<()>(&listing(self.open_key_of(&room.name), room.joinable_at_random()), Resend::Idempotent).await?;
        self.query(&listing(self.visible_key(), room.visible), Resend::Idempotent).await
    }

    /// Removes those of the rooms that still belong to `server_id`.
    async fn remove_rooms_of(&self, server_id: &str, names: &[String]) -> Result<(), Unavailable> {
        let this = self.clone();
        let server_id: Arc<str> = server_id.into();
        concurrently(names.to_vec(), move |name| {
            let this = this.clone();
            let server_id = server_id.clone();
            async move { this.remove_room_of(&server_id, &name).await }
        })
        .await
        .map(drop)
    }

    /// Removes the room if it still belongs to `server_id`: the name may have expired and been
    /// reserved for another game server since this one hosted it.
    ///
    /// The read and the delete are two commands, so a reservation that lands between them is lost
    /// (its master sees the room disappear, and the name can be reserved again). That takes a room
    /// that expired and was reserved again within one round trip; a one-key script would close the
    /// gap, at the cost of scripts that managed Redis services may restrict.
    async fn remove_room_of(&self, server_id: &str, name: &str) -> Result<(), Unavailable> {
        let key = self.room_key(name);
        match self.get_json::<RoomEntry>(&key).await? {
            Some(room) if room.game_server != server_id => return Ok(()),
            Some(_) => self.query::<()>(redis::cmd("DEL").arg(&key), Resend::Idempotent).await?,
            // Gone already: its index member, if any, can go too.
            None => {}
        }
        let zrem = redis::cmd("ZREM").arg(self.open_key_of(name)).arg(name).clone();
        self.query::<()>(&zrem, Resend::Idempotent).await?;
        let zrem = redis::cmd("ZREM").arg(self.visible_key()).arg(name).clone();
        self.query(&zrem, Resend::Idempotent).await
    }

    /// The members of a sorted set of expiry times that have not expired (at most `limit`), after
    /// dropping those that have.
    async fn live_members(&self, key: &str, limit: Option<usize>) -> Result<Vec<String>, Unavailable> {
        let now = now_millis();
        // An entry is alive while its expiry is after now, as in memory.
        self.query::<()>(redis::cmd("ZREMRANGEBYSCORE").arg(key).arg("-inf").arg(now), Resend::Idempotent).await?;
        let mut range = redis::cmd("ZRANGEBYSCORE");
        range.arg(key).arg(format!("({now}")).arg("+inf");
        if let Some(limit) = limit {
            range.arg("LIMIT").arg(0).arg(limit);
        }
        self.query(&range, Resend::Idempotent).await
    }

    /// The first of the named rooms (a bucket's) that JoinRandomRoom may pick and whose game server
    /// is alive.
    ///
    /// A bucket gives only its first [`OPEN_BATCH`] names: heartbeats keep rooms that are not
    /// joinable out of the index, so the first joinable one is almost always among them.
    async fn first_joinable(
        &self,
        names: Vec<String>,
        alive: &mut HashMap<String, bool>,
    ) -> Result<Option<RoomEntry>, Unavailable> {
        let this = self.clone();
        let rooms = concurrently(names, move |name| {
            let this = this.clone();
            async move { this.get_json::<RoomEntry>(&this.room_key(&name)).await }
        })
        .await?;
        for room in rooms.into_iter().flatten().filter(RoomEntry::joinable_at_random) {
            if let Some(&known) = alive.get(&room.game_server) {
                if known {
                    return Ok(Some(room));
                }
                continue;
            }
            // A draining server's listener is closed: its rooms take nobody new.
            let server = self.get_json::<GameServerEntry>(&self.server_key(&room.game_server)).await?;
            let usable = server.is_some_and(|server| !server.draining);
            alive.insert(room.game_server.clone(), usable);
            if usable {
                return Ok(Some(room));
            }
        }
        Ok(None)
    }
}

/// The client's connection manager, and a new one when the current one has given up.
///
/// The manager reconnects after I/O errors only. When connecting fails otherwise (Redis refused the
/// password), it keeps answering with that error and never tries again; a new manager does, so the
/// directory works again once Redis accepts the password, without restarting the process.
struct Connection {
    client: redis::Client,
    /// The manager and its generation, counted up with each replacement.
    current: Mutex<(u64, ConnectionManager)>,
}

impl Connection {
    fn new(client: redis::Client) -> Result<Connection, RedisError> {
        let manager = new_manager(&client)?;
        Ok(Connection { client, current: Mutex::new((0, manager)) })
    }

    fn manager(&self) -> (u64, ConnectionManager) {
        self.current.lock().clone()
    }

    /// Replaces the manager of `generation`, unless a concurrent call did already.
    fn replace(&self, generation: u64) {
        let mut current = self.current.lock();
        if current.0 == generation {
            if let Ok(manager) = new_manager(&self.client) {
                *current = (generation + 1, manager);
            }
        }
    }
}

/// A manager that connects on first use.
fn new_manager(client: &redis::Client) -> Result<ConnectionManager, RedisError> {
    // No retries inside the manager: a caller's attempt fails fast when Redis is down, and the
    // manager starts a new connection attempt after each failure, which the next call (or this
    // call's one resend) uses.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(0);
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}

/// Runs `task` for every item at once (the multiplexed connection pipelines their commands) and
/// returns the results in the items' order, or the first error.
async fn concurrently<I, T, F, Fut>(items: impl IntoIterator<Item = I>, task: F) -> Result<Vec<T>, Unavailable>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, Unavailable>> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let future = task(item);
        tasks.spawn(async move { (index, future.await) });
    }
    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None).take(tasks.len()).collect();
    // Returning early drops the set, which cancels the tasks still running.
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.map_err(|_| Unavailable("a directory request task failed".into()))?;
        results[index] = Some(result?);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Runs a whole directory call under [`OPERATION_TIMEOUT`].
async fn bounded<T>(call: impl Future<Output = Result<T, Unavailable>>) -> Result<T, Unavailable> {
    tokio::time::timeout(OPERATION_TIMEOUT, call).await.unwrap_or_else(|_| {
        Err(Unavailable(format!("Redis did not answer within {} ms", OPERATION_TIMEOUT.as_millis())))
    })
}

fn may_resend(err: &RedisError, resend: Resend) -> bool {
    err.is_connection_refusal() || (resend == Resend::Idempotent && err.is_connection_dropped())
}

/// What went wrong, in words that never include the URL (which may hold a password).
fn describe(err: &RedisError) -> String {
    if err.is_connection_refusal() {
        "connection refused".into()
    } else if err.is_timeout() {
        "timed out".into()
    } else if err.kind() == ErrorKind::Io {
        // I/O errors come from the operating system or the client's own fixed texts (a lost
        // connection, a host name that does not resolve); none repeats the URL.
        format!("I/O error: {err}")
    } else if let Some(code) = err.code() {
        // A server error by its code only (NOAUTH, WRONGPASS, READONLY, …), not the server's text.
        format!("{} ({code})", err.category())
    } else {
        err.category().into()
    }
}

/// Why the URL was refused. The client's texts for a malformed URL are fixed strings naming the part
/// that is wrong, never the URL itself.
fn malformed_url(err: &RedisError) -> String {
    match err.kind() {
        ErrorKind::InvalidClientConfig => format!("malformed Redis URL: {err}"),
        _ => format!("malformed Redis URL ({})", describe(err)),
    }
}

fn to_json(entry: &impl serde::Serialize) -> String {
    // Strings, numbers, booleans and string maps always serialize.
    serde_json::to_string(entry).expect("directory entries serialize to JSON")
}

/// The ttl in whole milliseconds, at least one (Redis refuses `PX 0`).
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Milliseconds since the Unix epoch, the scores of the index sets.
fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// Where `random_room` starts: a random bucket, or one chosen by the clock if there is no randomness.
fn random_u32() -> u32 {
    getrandom::u32()
        .unwrap_or_else(|_| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.subsec_nanos()))
}

/// The 32-bit FNV-1a hash: stable across processes and versions, unlike the standard library's.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }
}
