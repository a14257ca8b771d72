//! The room directory: which game servers are alive (their addresses, public key, load, whether they
//! drain) and which rooms each one hosts, shared by the masters and game servers of a deployment
//! (docs/cluster.md).
//!
//! Game servers write their own entry and their rooms with a heartbeat; everything expires unless
//! refreshed, so a game server that dies drops out of the directory within one expiry. Masters read
//! it to place rooms and reserve a room name for a game server before sending a client there.
//!
//! A server of role "all" needs none: its rooms are its directory. Masters and game servers in one
//! process (an embedder's, or the tests') can share the in-memory one; a deployment of several
//! processes points them at one Redis (or Valkey) server.

mod memory;
mod redis;

use std::collections::BTreeMap;
use std::time::Duration;

use sealnet::protocol::codec::{decode_params, encode_params, Limits, Params, Table, Value};

pub use memory::MemoryDirectory;
pub use redis::RedisDirectory;

/// A game server as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GameServerEntry {
    /// Unique within the deployment (configured, or made up at start).
    pub id: String,
    /// Where clients reach it, by transport name ("tcp" → "host:port").
    pub addresses: BTreeMap<String, String>,
    /// Its static X25519 public key, 64 hex digits: clients pin it when they switch there.
    pub public_key: String,
    /// Players in its rooms.
    pub players: u32,
    /// Rooms it hosts.
    pub rooms: u32,
    /// Draining (shutting down): it takes no new rooms.
    pub draining: bool,
}

/// A room as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoomEntry {
    pub name: String,
    /// The id of the game server that hosts (or will host) it.
    pub game_server: String,
    pub players: u32,
    /// Most players (0: the game server's own limit).
    pub max_players: u32,
    /// Others may join (Photon's IsOpen).
    pub open: bool,
    /// Listed for random matchmaking and in lobbies (Photon's IsVisible).
    pub visible: bool,
    /// The properties lobbies list, encoded as parameter 0 of a parameter list (docs/protocol.md
    /// section 4), so that every value type survives the JSON; empty without any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<u8>,
}

impl RoomEntry {
    /// Encodes the properties lobbies list for [`RoomEntry::listed`].
    pub fn encode_listed(properties: &Table) -> Vec<u8> {
        if properties.is_empty() {
            return Vec::new();
        }
        let mut params = Params::new();
        params.insert(0, Value::Table(properties.clone()));
        let mut out = Vec::new();
        encode_params(&params, &mut out);
        out
    }

    /// The properties lobbies list; none when they do not decode (within the codec's bounds).
    pub fn listed_properties(&self) -> Table {
        if self.listed.is_empty() {
            return Table::new();
        }
        match decode_params(&self.listed, &Limits::default()).map(|mut params| params.remove(0)) {
            Ok(Some(Value::Table(table))) => table,
            _ => Table::new(),
        }
    }

    /// Whether JoinRandomRoom may pick it.
    pub fn joinable_at_random(&self) -> bool {
        self.open && self.visible && (self.max_players == 0 || self.players < self.max_players)
    }
}

/// The directory could not be reached or answered wrongly; matchmaking waits until it is back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "room directory unavailable: {}", self.0)
    }
}

impl std::error::Error for Unavailable {}

/// What reserving a room name did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The name was free and now points at the chosen game server.
    Reserved,
    /// The room exists already: here is its entry.
    Exists(RoomEntry),
}

/// One game server's heartbeat: its entry, its rooms now, and the rooms it no longer hosts.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat<'a> {
    pub server: Option<&'a GameServerEntry>,
    pub rooms: &'a [RoomEntry],
    pub gone: &'a [String],
}

/// The directory of a deployment: in memory or on Redis.
#[derive(Clone)]
pub enum Directory {
    Memory(std::sync::Arc<MemoryDirectory>),
    Redis(RedisDirectory),
}

impl Directory {
    /// Writes a game server's entry and rooms, each to expire after `ttl` unless written again, and
    /// removes the rooms it no longer hosts (only where the entry is still its own).
    pub async fn heartbeat(&self, beat: &Heartbeat<'_>, ttl: Duration) -> Result<(), Unavailable> {
        match self {
            Directory::Memory(directory) => {
                directory.heartbeat(beat, ttl);
                Ok(())
            }
            Directory::Redis(directory) => directory.heartbeat(beat, ttl).await,
        }
    }

    /// Removes a game server that stops, and its rooms.
    pub async fn withdraw(&self, server_id: &str, rooms: &[String]) -> Result<(), Unavailable> {
        match self {
            Directory::Memory(directory) => {
                directory.withdraw(server_id, rooms);
                Ok(())
            }
            Directory::Redis(directory) => directory.withdraw(server_id, rooms).await,
        }
    }

    /// The live game servers, in no particular order.
    pub async fn game_servers(&self) -> Result<Vec<GameServerEntry>, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.game_servers()),
            Directory::Redis(directory) => directory.game_servers().await,
        }
    }

    /// A live game server by id.
    pub async fn game_server(&self, id: &str) -> Result<Option<GameServerEntry>, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.game_server(id)),
            Directory::Redis(directory) => directory.game_server(id).await,
        }
    }

    /// A room by name.
    pub async fn room(&self, name: &str) -> Result<Option<RoomEntry>, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.room(name)),
            Directory::Redis(directory) => directory.room(name).await,
        }
    }

    /// Points the room's name at its game server unless the room exists, atomically: two masters
    /// creating the same room send both players to one game server. The reservation expires after
    /// `ttl` unless the game server's heartbeat lists the room by then.
    pub async fn reserve(&self, entry: &RoomEntry, ttl: Duration) -> Result<Reservation, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.reserve(entry, ttl)),
            Directory::Redis(directory) => directory.reserve(entry, ttl).await,
        }
    }

    /// The visible rooms of live game servers or not (a lobby lists what the directory holds).
    pub async fn visible_rooms(&self) -> Result<Vec<RoomEntry>, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.visible_rooms()),
            Directory::Redis(directory) => directory.visible_rooms().await,
        }
    }

    /// A room JoinRandomRoom may pick (open, visible, not full), if there is one.
    pub async fn random_room(&self) -> Result<Option<RoomEntry>, Unavailable> {
        match self {
            Directory::Memory(directory) => Ok(directory.random_room()),
            Directory::Redis(directory) => directory.random_room().await,
        }
    }
}
