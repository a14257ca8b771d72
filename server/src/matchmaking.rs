//! Matchmaking at a master (docs/cluster.md): JoinRoom, CreateRoom and JoinRandomRoom find or place the
//! room on a game server through the directory, and the answer sends the client there with the game
//! server's address, its static public key and a fresh token.
//!
//! The directory call runs on its own task, like an authentication call: while it runs the connection
//! reads nothing more from its client, so what the client sent after it is handled after it, in order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Params;
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::rooms::{GameServerAnswer, JoinMode, RoomOptions, RoomRequest};
use tokio::task::JoinHandle;

use crate::connection::Connection;
use crate::directory::{Directory, GameServerEntry, Reservation, RoomEntry, Unavailable};
use crate::ops::{error, respond};
use crate::rooms::JoinError;

/// How long one matchmaking request may take, directory round trips included.
const BUDGET: Duration = Duration::from_secs(2);
/// Matchmaking requests per second one connection may send, and their burst: a player asks for a
/// room now and then, and each request may reserve one in the directory.
pub(crate) const REQUESTS_PER_SECOND: f64 = 2.0;
pub(crate) const REQUEST_BURST: f64 = 10.0;

/// A matchmaking request whose directory work is in flight.
pub(crate) struct PendingMatch {
    pub(crate) call: JoinHandle<Result<Placement, Refusal>>,
    op: u8,
    options: SendOptions,
}

impl Drop for PendingMatch {
    /// A connection that goes away stops waiting for the directory.
    fn drop(&mut self) {
        self.call.abort();
    }
}

/// Where matchmaking sends a player: the answer, and what its room ticket grants (see `ticket`).
#[derive(Debug)]
pub(crate) struct Placement {
    answer: GameServerAnswer,
    game_server: String,
    options: RoomOptions,
}

/// A matchmaking request that cannot be served, with its return code and message.
#[derive(Debug)]
pub(crate) struct Refusal(i16, String);

impl From<Unavailable> for Refusal {
    fn from(problem: Unavailable) -> Self {
        tracing::warn!(%problem, "matchmaking refused: directory unavailable");
        Refusal(
            return_code::DIRECTORY_UNAVAILABLE,
            "matchmaking is unavailable (room directory unreachable); try again".into(),
        )
    }
}

impl JoinError {
    fn refusal(self, room: &str) -> Refusal {
        let (code, message) = self.answer(room);
        Refusal(code, message)
    }
}

/// Rooms this master placed on each game server recently, so that a burst of new rooms spreads out
/// before the servers' heartbeats report their new load.
#[derive(Default)]
pub(crate) struct Placements {
    recent: parking_lot::Mutex<HashMap<String, Vec<Instant>>>,
}

impl Placements {
    /// The least loaded game server that is not draining, counted as placed there.
    fn choose(&self, servers: Vec<GameServerEntry>, window: Duration) -> Option<GameServerEntry> {
        let now = Instant::now();
        let mut recent = self.recent.lock();
        recent.retain(|_, times| {
            times.retain(|at| now.saturating_duration_since(*at) < window);
            !times.is_empty()
        });
        let load = |server: &GameServerEntry| {
            let placed = recent.get(&server.id).map_or(0, Vec::len) as u64;
            u64::from(server.players) + u64::from(server.rooms) + placed
        };
        let chosen = servers
            .into_iter()
            .filter(|server| !server.draining)
            .min_by(|a, b| load(a).cmp(&load(b)).then_with(|| a.id.cmp(&b.id)))?;
        recent.entry(chosen.id.clone()).or_default().push(now);
        Some(chosen)
    }
}

/// Starts serving a room request at a master.
pub(crate) fn start(conn: &mut Connection, op: u8, request: RoomRequest, options: SendOptions) {
    if conn.auth.context().is_none() {
        let message = "authenticate first: game servers admit players by the token matchmaking gives";
        return respond(conn, error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into()), options);
    }
    if !conn.peer.is_encrypted() {
        let message = "matchmaking needs encryption: its answer carries a game server's key and a token";
        return respond(conn, error(op, return_code::MUST_ENCRYPT, message.into()), options);
    }
    if conn.room_request_limit.reserve(Duration::ZERO, Instant::now()).is_none() {
        let message = format!("more than {REQUEST_BURST} room requests at once; try again shortly");
        return respond(conn, error(op, return_code::SERVER_BUSY, message), options);
    }
    let Some(directory) = conn.shared.directory.clone() else {
        return respond(conn, error(op, return_code::INTERNAL_SERVER_ERROR, "no room directory".into()), options);
    };
    let shared = conn.shared.clone();
    // On the server's own runtime, not this shard's: the directory's connection lives where it is
    // first used, and must not depend on one shard's thread.
    let call = conn.shared.runtime.spawn(async move {
        let window = Duration::from_millis(2 * shared.config.cluster.heartbeat_ms);
        let reservation_ttl = Duration::from_millis(shared.config.cluster.expiry_ms);
        let find = find(&directory, &shared.placements, request, window, reservation_ttl);
        tokio::time::timeout(BUDGET, find)
            .await
            .unwrap_or_else(|_| Err(Unavailable(format!("no answer within {} ms", BUDGET.as_millis())).into()))
    });
    // The answer carries a token and a key to pin: it always goes encrypted.
    let options = SendOptions { encrypt: true, ..options };
    conn.matchmaking = Some(PendingMatch { call, op, options });
}

/// Answers the request [`start`] started, with the game server and a fresh token.
pub(crate) fn complete(conn: &mut Connection, outcome: Result<Result<Placement, Refusal>, tokio::task::JoinError>) {
    let Some(pending) = conn.matchmaking.take() else { return };
    let (op, options) = (pending.op, pending.options);
    let outcome = outcome.unwrap_or_else(|problem| {
        tracing::warn!(connection = conn.id, %problem, "matchmaking task failed");
        Err(Refusal(return_code::INTERNAL_SERVER_ERROR, "matchmaking failed; see the server log".into()))
    });
    let response = match outcome {
        Ok(Placement { answer, game_server, options }) => {
            let mut params = Params::new();
            answer.insert_into(&mut params);
            if let crate::authenticate::AuthState::Authenticated(authenticated) = &mut conn.auth {
                crate::ticket::grant(&mut authenticated.injected, &answer.room, &game_server, options);
            }
            match crate::authenticate::fresh_token(conn) {
                Some(token) => {
                    token.insert_into(&mut params);
                    tracing::info!(connection = conn.id, room = %answer.room, game_server = %answer.address, "sent to a game server");
                    OperationResponse { op_code: op, return_code: return_code::OK, debug_message: None, params }
                }
                None => error(op, return_code::INTERNAL_SERVER_ERROR, "the server could not issue a token".into()),
            }
        }
        Err(Refusal(code, message)) => error(op, code, message),
    };
    respond(conn, response, options);
}

/// Finds or places the room and the game server it is on.
async fn find(
    directory: &Directory,
    placements: &Placements,
    request: RoomRequest,
    window: Duration,
    reservation_ttl: Duration,
) -> Result<Placement, Refusal> {
    let entry = match (request.mode, request.name) {
        (None, _) => directory
            .random_room()
            .await?
            .ok_or_else(|| Refusal(return_code::NO_RANDOM_MATCH_FOUND, "no open room with space to join".into()))?,
        (Some(JoinMode::JoinOnly), Some(name)) => {
            let entry = directory.room(&name).await?;
            entry.ok_or_else(|| JoinError::Missing.refusal(&name))?
        }
        // A rejoin may return to a closed or full room: its game server decides.
        (Some(JoinMode::JoinOrRejoin | JoinMode::RejoinOnly), Some(name)) => {
            let entry = directory.room(&name).await?.ok_or_else(|| JoinError::Missing.refusal(&name))?;
            return match directory.game_server(&entry.game_server).await? {
                Some(server) => place(&server, &entry),
                None => Err(JoinError::Missing.refusal(&name)),
            };
        }
        (Some(mode), name) => {
            let name = match name.or_else(random_room_name) {
                Some(name) => name,
                None => {
                    return Err(Refusal(
                        return_code::INTERNAL_SERVER_ERROR,
                        "the server could not name the room".into(),
                    ))
                }
            };
            if mode == JoinMode::CreateIfNotExists {
                if let Some(entry) = directory.room(&name).await? {
                    return joinable(directory, entry).await;
                }
            }
            let servers = directory.game_servers().await?;
            let server = placements
                .choose(servers, window)
                .ok_or_else(|| Refusal(return_code::SERVER_FULL, "no game server can take a new room".into()))?;
            let options = request.options;
            let entry = RoomEntry {
                name: name.clone(),
                game_server: server.id.clone(),
                players: 0,
                max_players: options.max_players,
                open: options.is_open,
                visible: options.is_visible,
                listed: Vec::new(),
            };
            return match directory.reserve(&entry, reservation_ttl).await? {
                Reservation::Reserved => place(&server, &entry),
                Reservation::Exists(_) if mode == JoinMode::CreateOnly => Err(JoinError::Exists.refusal(&name)),
                // Another master created it in between: join it where it is.
                Reservation::Exists(existing) => joinable(directory, existing).await,
            };
        }
    };
    joinable(directory, entry).await
}

/// The game server of an existing room, if the room takes the player.
async fn joinable(directory: &Directory, entry: RoomEntry) -> Result<Placement, Refusal> {
    let name = &entry.name;
    if !entry.open {
        return Err(JoinError::Closed.refusal(name));
    }
    if entry.max_players != 0 && entry.players >= entry.max_players {
        return Err(JoinError::Full { max: entry.max_players as usize }.refusal(name));
    }
    match directory.game_server(&entry.game_server).await? {
        // Its listener is closed: the room takes nobody new (its players play on until they leave).
        Some(server) if server.draining => {
            Err(Refusal(return_code::GAME_CLOSED, format!("room {name:?} is on a game server that is shutting down")))
        }
        Some(server) => place(&server, &entry),
        // Its game server stopped heartbeating: the room goes with it.
        None => Err(JoinError::Missing.refusal(name)),
    }
}

/// Sends the player to `server` for the room `entry` describes.
fn place(server: &GameServerEntry, entry: &RoomEntry) -> Result<Placement, Refusal> {
    let options = RoomOptions { max_players: entry.max_players, is_open: entry.open, is_visible: entry.visible };
    let answer = answer(server, entry.name.clone())?;
    Ok(Placement { answer, game_server: server.id.clone(), options })
}

fn answer(server: &GameServerEntry, room: String) -> Result<GameServerAnswer, Refusal> {
    let unusable = || {
        tracing::warn!(game_server = %server.id, "directory entry without a usable tcp address or key");
        Refusal(return_code::INTERNAL_SERVER_ERROR, "the game server's directory entry is unusable".into())
    };
    let address = server.addresses.get("tcp").ok_or_else(unusable)?.clone();
    let server_key = crate::keyfile::parse_hex_key(&server.public_key).ok_or_else(unusable)?;
    Ok(GameServerAnswer { room, address, server_key })
}

/// A name for a CreateRoom that gave none (`None` when the system's random source fails).
pub(crate) fn random_room_name() -> Option<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).ok()?;
    Some(sealnet::protocol::noise::hex(&bytes))
}

/// Whether `op` is a matchmaking operation.
pub(crate) fn is_room_request(op: u8) -> bool {
    matches!(op, op_code::JOIN_ROOM | op_code::CREATE_ROOM | op_code::JOIN_RANDOM_ROOM)
}

/// The outcome of the matchmaking call in flight (the caller polls only while there is one).
pub(crate) async fn pending(
    matchmaking: &mut Option<PendingMatch>,
) -> Result<Result<Placement, Refusal>, tokio::task::JoinError> {
    match matchmaking {
        Some(pending) => (&mut pending.call).await,
        None => std::future::pending().await,
    }
}
