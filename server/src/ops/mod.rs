//! Operation handling: JoinRoom, CreateRoom and JoinRandomRoom (matchmaking at a master, see
//! `matchmaking`), LeaveRoom, RaiseEvent with its cache options, ChangeGroups, SetProperties
//! ([`properties`]), and errors for everything else.
//!
//! Numbering follows Photon (see the crate documentation for the full table). Every response goes back
//! with the request's delivery and channel, encrypted exactly when the request was (a master's
//! matchmaking answer always goes encrypted: it carries a token).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{encoded_value_len, Key, Params, Table, Value};
use sealnet::protocol::frame::{Delivery, TAG_LEN};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse, MAX_DEBUG_MESSAGE};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionError;
use sealnet::protocol::status::{op_code, return_code, DisconnectReason};

use crate::audience::Audience;
use crate::authenticate;
use crate::config::{LimitsConfig, Role};
use crate::connection::Connection;
use crate::matchmaking;
use crate::plugin::{EventContext, OpContext, ReceiverGroup, RoomHandle};
use crate::rooms::{actor_list, codes, Identity, JoinError, Leaving, NewRoom, RelayedEvent};
use sealnet::rooms::{JoinMode, RoomRequest};

pub(crate) mod hooks;
mod properties;

use hooks::{ask_plugins, JoinPlugins, Stopped};

/// Handles one decoded operation request from `conn`'s client.
pub(crate) fn handle(
    conn: &mut Connection,
    mut request: OperationRequest,
    encrypted: bool,
    delivery: Delivery,
    channel: u8,
) {
    let options = SendOptions { encrypt: encrypted, delivery, channel };
    let op = request.op_code;
    tracing::debug!(connection = conn.id, op, encrypted, "operation");
    if let Some(refusal) = authenticate::gate(conn, op) {
        respond(conn, refusal, options);
        return;
    }
    let shared = conn.shared.clone();
    let authenticated = conn.auth.context();
    let ctx = OpContext {
        connection: conn.id,
        actor: conn.membership.as_ref().map(|m| m.actor),
        room: conn.membership.as_ref().map(|m| m.room.name()),
        encrypted,
        auth: authenticated.map(|a| &a.context),
        injected: authenticated.map(|a| &a.injected),
    };
    if let Stopped::With(answer) =
        ask_plugins(&shared.plugins, op, conn.id, |plugin| plugin.on_operation(&ctx, &mut request))
    {
        if let Some(answer) = answer {
            respond(conn, answer, options);
        }
        return;
    }
    let reply = match op {
        op if matchmaking::is_room_request(op) => room_request(conn, &request, options),
        op_code::LEAVE_ROOM => leave(conn),
        op_code::RAISE_EVENT => raise(conn, request, options),
        op_code::CHANGE_GROUPS => change_groups(conn, &request),
        op_code::SET_PROPERTIES => Some(properties::set_properties(conn, request)),
        op_code::JOIN_LOBBY | op_code::LEAVE_LOBBY => Some(lobby(conn, op)),
        // The request arrived encrypted (the core refuses it otherwise).
        op_code::AUTHENTICATE | op_code::AUTHENTICATE_ONCE => {
            authenticate::handle(conn, &request, options);
            None
        }
        _ => Some(error(op, return_code::INVALID_OPERATION, format!("unknown operation {op}"))),
    };
    if let Some(response) = reply {
        let joined = matchmaking::is_room_request(op) && response.return_code == return_code::OK;
        respond(conn, response, options);
        if joined && !options.encrypt {
            authenticate::refresh_after_plain_join(conn, options);
        }
    }
}

/// JoinRoom, CreateRoom or JoinRandomRoom: matchmaking at a master, a join of a room here otherwise.
fn room_request(conn: &mut Connection, request: &OperationRequest, options: SendOptions) -> Option<OperationResponse> {
    let op = request.op_code;
    if conn.membership.is_some() {
        let message = "already in a room: leave it before joining another";
        return Some(error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into()));
    }
    let room_request = match RoomRequest::from_operation(op, &request.params) {
        Ok(room_request) => room_request,
        Err(message) => return Some(error(op, return_code::INVALID_OPERATION, message)),
    };
    match conn.shared.config.role {
        Role::Master => {
            matchmaking::start(conn, op, room_request, options);
            None
        }
        Role::Game if room_request.mode.is_none() => {
            let message = "JoinRandomRoom is served by the master, not by a game server";
            Some(error(op, return_code::INVALID_OPERATION, message.into()))
        }
        Role::Game | Role::All => join(conn, op, room_request, options),
    }
}

/// Joins (or creates) a room of this server. The connection runs on the room's shard already, and a
/// JoinRandomRoom or a CreateRoom without a name were given one (see `Connection::shard_for_join`).
fn join(conn: &mut Connection, op: u8, request: RoomRequest, options: SendOptions) -> Option<OperationResponse> {
    let Some(name) = request.name.as_deref() else {
        let code = if request.mode.is_none() {
            return_code::NO_RANDOM_MATCH_FOUND
        } else {
            return_code::INTERNAL_SERVER_ERROR
        };
        let message = if request.mode.is_none() {
            "no open room with space to join"
        } else {
            "the server could not name the room"
        };
        return Some(error(op, code, message.into()));
    };
    let identity = match conn.auth.context() {
        Some(authenticated) => Identity {
            nickname: Some(authenticated.context.nickname.clone()).filter(|name| !name.is_empty()),
            user_id: conn.shared.config.auth.publish_user_id.then(|| authenticated.context.user_id.clone()),
            account: Some(authenticated.context.user_id.clone()).filter(|user_id| !user_id.is_empty()),
        },
        None => Identity::default(),
    };
    let mode = request.mode.unwrap_or(JoinMode::JoinOnly);
    let mut new_room = match new_room(&request.extra, &conn.shared.config.limits) {
        Ok(new_room) => new_room,
        Err(message) => return Some(error(op, return_code::INVALID_OPERATION, message)),
    };
    let mut room_options = request.options;
    if conn.shared.config.role == Role::Game {
        // Only the room the master placed here, with the options its creator asked for.
        let ticket = conn.auth.context().and_then(|a| crate::ticket::admits(&a.injected, name, &conn.shared.server_id));
        match ticket {
            Some(granted) => room_options = granted,
            None => {
                let message = format!("no room {name:?} here for this player: ask a master for it");
                return Some(error(op, return_code::GAME_DOES_NOT_EXIST, message));
            }
        }
    }
    new_room.options = room_options;
    let shared = conn.shared.clone();
    let mut plugins = JoinPlugins {
        plugins: &shared.plugins,
        op,
        connection: conn.id,
        auth: conn.auth.context().map(|a| &a.context),
        refusal: None,
    };
    let joining = shared.rooms.join_with(name, mode, new_room, &conn.peer, &identity, &mut plugins);
    let (membership, joined) = match joining {
        Err(JoinError::Refused) => return plugins.refusal,
        Ok(joined) => joined,
        Err(JoinError::Missing) if request.mode.is_none() => {
            return Some(error(op, return_code::NO_RANDOM_MATCH_FOUND, "no open room with space to join".into()));
        }
        Err(refusal) => {
            let (code, message) = refusal.answer(name);
            return Some(error(op, code, message));
        }
    };
    tracing::debug!(connection = conn.id, actor = joined.actor, members = joined.actors.len(), "joined room");
    // A player in a room is out of the lobby (Photon's rule).
    conn.shared.lobby.leave(conn.id);
    conn.membership = Some(membership);
    let mut params = Params::new();
    params.insert(codes::ROOM_NAME, name.to_owned());
    params.insert(codes::ACTOR_NR, joined.actor);
    params.insert(codes::ACTOR_LIST, actor_list(&joined.actors, conn.session.protocol_version()));
    params.insert(codes::MASTER_CLIENT_ID, joined.master);
    // Tables are a version-2 type: a version-1 connection joins without the properties.
    if conn.session.protocol_version() >= 2 {
        params.insert(codes::ROOM_PROPERTIES, Value::Table(joined.room_properties));
        params.insert(codes::PLAYER_PROPERTIES, Value::Table(joined.player_properties));
    }
    authenticate::refresh_for_join(conn, &mut params, options);
    Some(OperationResponse { op_code: op, return_code: return_code::OK, debug_message: None, params })
}

/// What a join that creates the room starts it with, beside its options: from the rest of its
/// GameProperties (248), the custom properties, CleanupCacheOnLeave (249), PlayerTtl (246),
/// EmptyRoomTtl (245) and PropsListedInLobby (250).
fn new_room(game_properties: &Table, limits: &LimitsConfig) -> Result<NewRoom, String> {
    let mut new_room = NewRoom::default();
    let ttl = |key: u8, what: &str, value: &Value, max_ms: u64| match value {
        Value::Int(ms) if *ms >= 0 && *ms as u64 <= max_ms => Ok(Duration::from_millis(*ms as u64)),
        _ => Err(format!("room option {key} ({what}) must be an Int of 0 to {max_ms} milliseconds")),
    };
    for (key, value) in game_properties.iter() {
        match (key, value) {
            (Key::Byte(key @ codes::PROP_PLAYER_TTL), value) => {
                new_room.player_ttl = ttl(*key, "player TTL", value, limits.max_player_ttl_ms)?
            }
            (Key::Byte(codes::PROP_LISTED_IN_LOBBY), Value::StringArray(names)) => {
                new_room.listed_keys = listed_keys(names.iter())?
            }
            (Key::Byte(codes::PROP_LISTED_IN_LOBBY), Value::Array(items)) => {
                let names: Option<Vec<&String>> = items
                    .iter()
                    .map(|item| match item {
                        Value::String(name) => Some(name),
                        _ => None,
                    })
                    .collect();
                let names = names.ok_or_else(|| {
                    format!("room option {} (listed in lobby) must be an array of String", codes::PROP_LISTED_IN_LOBBY)
                })?;
                new_room.listed_keys = listed_keys(names.into_iter())?
            }
            (Key::Byte(codes::PROP_LISTED_IN_LOBBY), _) => {
                return Err(format!(
                    "room option {} (listed in lobby) must be an array of String",
                    codes::PROP_LISTED_IN_LOBBY
                ))
            }
            (Key::Byte(key @ codes::PROP_EMPTY_ROOM_TTL), value) => {
                new_room.empty_room_ttl = ttl(*key, "empty room TTL", value, limits.max_empty_room_ttl_ms)?
            }
            (Key::Byte(codes::PROP_CLEANUP_CACHE_ON_LEAVE), Value::Bool(cleanup)) => {
                new_room.cleanup_cache_on_leave = *cleanup
            }
            (Key::Byte(codes::PROP_CLEANUP_CACHE_ON_LEAVE), _) => {
                let key = codes::PROP_CLEANUP_CACHE_ON_LEAVE;
                return Err(format!("room option {key} (cleanup cache on leave) must be a Bool"));
            }
            // Other byte keys are the server's.
            (Key::Byte(_), _) | (_, Value::Null) => {}
            (key, value) => {
                new_room.properties.insert(key.clone(), value.clone());
            }
        }
    }
    let size = crate::rooms::encoded_size(&new_room.properties);
    let max_bytes = limits.max_room_properties_bytes;
    if size > max_bytes {
        return Err(format!("the room's properties take {size} bytes, over the limit of {max_bytes} bytes"));
    }
    Ok(new_room)
}

/// Most custom properties a lobby lists of one room.
const MAX_LISTED_KEYS: usize = 32;

fn listed_keys<'a>(names: impl ExactSizeIterator<Item = &'a String>) -> Result<Vec<Key>, String> {
    if names.len() > MAX_LISTED_KEYS {
        return Err(format!(
            "a lobby lists at most {MAX_LISTED_KEYS} properties of a room; {} were named",
            names.len()
        ));
    }
    Ok(names.map(|name| Key::String(name.clone())).collect())
}

/// JoinLobby (229) and LeaveLobby (228), at a master or a server of role "all".
fn lobby(conn: &mut Connection, op: u8) -> OperationResponse {
    let ok =
        || OperationResponse { op_code: op, return_code: return_code::OK, debug_message: None, params: Params::new() };
    if op == op_code::LEAVE_LOBBY {
        return if conn.shared.lobby.leave(conn.id) {
            ok()
        } else {
            error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, "not in the lobby".into())
        };
    }
    if conn.shared.config.role == Role::Game {
        return error(
            op,
            return_code::INVALID_OPERATION,
            "the lobby is served by the master, not by a game server".into(),
        );
    }
    if conn.membership.is_some() {
        return error(
            op,
            return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE,
            "leave the room before joining the lobby".into(),
        );
    }
    // The list goes encrypted: it names every visible room.
    if !conn.peer.is_encrypted() {
        let message = "join the lobby over an encrypted connection: the room list is sent encrypted";
        return error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into());
    }
    if !conn.shared.lobby.join(&conn.peer, &conn.shared.output_budget) {
        return error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, "in the lobby already".into());
    }
    ok()
}

fn leave(conn: &mut Connection) -> Option<OperationResponse> {
    const OP: u8 = op_code::LEAVE_ROOM;
    if !conn.leave_room(Leaving::ForGood) {
        return Some(error(OP, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, "not in a room".into()));
    }
    Some(OperationResponse { op_code: OP, return_code: return_code::OK, debug_message: None, params: Params::new() })
}

thread_local! {
    /// Where events are encoded before their shared copy is made: one per shard thread.
    static ENCODE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A scratch buffer grown beyond this by a large event is given back after it.
const MAX_IDLE_ENCODE_BUFFER: usize = 64 * 1024;

fn raise(conn: &mut Connection, mut request: OperationRequest, options: SendOptions) -> Option<OperationResponse> {
    const OP: u8 = op_code::RAISE_EVENT;
    let Some(membership) = conn.membership.clone() else {
        let message = "join a room before raising events";
        return Some(error(OP, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into()));
    };
    let code = match request.params.get(codes::CODE) {
        Some(Value::Int(code)) if (0..=codes::MAX_CLIENT_EVENT_CODE).contains(code) => *code as u8,
        _ => {
            let message = format!(
                "parameter {} (event code) must be an Int from 0 to {}",
                codes::CODE,
                codes::MAX_CLIENT_EVENT_CODE
            );
            return Some(error(OP, return_code::INVALID_OPERATION, message));
        }
    };
    let group = match request.params.get(codes::RECEIVER_GROUP) {
        None => Some(ReceiverGroup::Others),
        Some(Value::Int(value)) => ReceiverGroup::from_i32(*value),
        Some(_) => None,
    };
    let Some(group) = group else {
        let message = format!(
            "parameter {} (receiver group) must be an Int: 0 Others, 1 All, 2 MasterClient",
            codes::RECEIVER_GROUP
        );
        return Some(error(OP, return_code::INVALID_OPERATION, message));
    };

    let (targets, interest) = match audience_of(&request.params) {
        Ok(audience) => audience,
        Err(message) => return Some(error(OP, return_code::INVALID_OPERATION, message)),
    };
    let sender = membership.actor;
    let cache = match request.params.get(codes::CACHE) {
        None => codes::CACHE_NONE,
        Some(Value::Byte(
            option @ (codes::CACHE_NONE | codes::CACHE_ADD | codes::CACHE_REMOVE | codes::CACHE_REMOVE_OF_ACTORS_LEFT),
        )) => *option,
        Some(_) => {
            let message = format!(
                "parameter {} (cache) must be a Byte: 0 none, 4 add to the room's cache, 6 remove from it, \
                 7 remove the events of players who left",
                codes::CACHE
            );
            return Some(error(OP, return_code::INVALID_OPERATION, message));
        }
    };
    // The removals relay nothing (Photon's RemoveFromRoomCache and RemoveFromRoomCacheForActorsLeft).
    if cache == codes::CACHE_REMOVE || cache == codes::CACHE_REMOVE_OF_ACTORS_LEFT {
        let removed = if cache == codes::CACHE_REMOVE {
            membership.room.remove_cached(code, targets.as_deref())
        } else {
            membership.room.remove_cached_of_actors_left()
        };
        tracing::debug!(connection = conn.id, actor = sender, code, removed, "cached events removed");
        return None;
    }
    if let Some(data) = request.params.get(codes::DATA) {
        // The limit is on the data, not on the relayed event around it, so any request within it
        // relays whatever the sender's other parameters were.
        let size = encoded_value_len(data);
        let max = conn.shared.config.limits.max_event_data_bytes;
        if size > max {
            let message = format!("event data of {size} bytes exceeds the limit of {max} bytes");
            return Some(error(OP, return_code::INVALID_OPERATION, message));
        }
    }
    // The event carries the data and the sender: the request's own parameters, trimmed in place,
    // so relaying allocates no second parameter list.
    let mut params = std::mem::take(&mut request.params);
    params.retain(|key, _| key == codes::DATA);
    params.insert(codes::ACTOR_NR, sender);
    let mut event = EventData { code, sender, params };
    let shared = conn.shared.clone();
    let sender_auth = conn.auth.context().map(|a| &a.context);
    let stopped = ask_plugins(&shared.plugins, OP, conn.id, |plugin| {
        let room = RoomHandle::new(&membership.room, plugin);
        let ctx = EventContext { room, sender, receivers: group, encrypted: options.encrypt, sender_auth };
        plugin.on_event(&ctx, &mut event)
    });
    if let Stopped::With(answer) = stopped {
        return answer;
    }

    // The event holds no more values than the request did, but plugins may have changed it: check
    // it as a recipient's decoder will, once, before fan-out.
    let config = conn.session.config();
    if let Err(problem) = event.check(&config.limits) {
        return Some(error(OP, return_code::INVALID_OPERATION, format!("event refused after plugins: {problem}")));
    }
    // Encoded into this shard's scratch buffer, then copied once into the body every recipient
    // seals from: one allocation, of the exact size.
    let body = ENCODE_BUFFER.with_borrow_mut(|scratch| {
        scratch.clear();
        event.encode(scratch);
        let body: Arc<[u8]> = Arc::from(&scratch[..]);
        if scratch.capacity() > MAX_IDLE_ENCODE_BUFFER {
            *scratch = Vec::new();
        }
        body
    });
    if body.len() + TAG_LEN > config.max_frame_body as usize {
        let message = format!("event of {} bytes (after plugins) exceeds the frame limit", body.len() + TAG_LEN);
        return Some(error(OP, return_code::INVALID_OPERATION, message));
    }
    let size = body.len();
    let needs_version = event.params.required_version();
    let relayed = RelayedEvent { body, needs_version, relayed_at: Instant::now() };
    let audience = match (&targets, interest) {
        (Some(actors), _) => Audience::Actors(actors),
        (None, Some(interest)) => Audience::Interest(group, interest),
        (None, None) => Audience::Group(group),
    };
    let outcome = if cache == codes::CACHE_ADD {
        match membership.room.relay_and_cache(sender, code, audience, relayed, options) {
            Ok(outcome) => outcome,
            Err(full) => return Some(error(OP, return_code::INVALID_OPERATION, full.message())),
        }
    } else {
        membership.room.relay(sender, audience, relayed, options)
    };
    let counters = conn.shared.shards.counters();
    let encrypted = options.encrypt as usize;
    if outcome.busy {
        counters.skipped[2].add(1);
    } else {
        counters.events_relayed[encrypted].add(1);
        counters.deliveries[encrypted].add(outcome.delivered as u64);
        counters.skipped[0].add(outcome.skipped as u64);
        counters.skipped[1].add(outcome.outdated as u64);
    }
    authenticate::refresh_while_playing(conn, options);
    if outcome.busy {
        tracing::warn!(connection = conn.id, "output budget used up: event refused");
        let message = "the server is over its output memory budget; the event was not relayed".to_owned();
        return Some(error(OP, return_code::SERVER_BUSY, message));
    }
    tracing::trace!(
        connection = conn.id,
        actor = sender,
        code,
        size,
        encrypted = options.encrypt,
        delivered = outcome.delivered,
        skipped = outcome.skipped,
        outdated = outcome.outdated,
        "event relayed"
    );
    let skipped = outcome.skipped + outcome.outdated;
    if skipped == 0 {
        return None;
    }
    let recipients = |count: u32| format!("{count} {}", if count == 1 { "recipient" } else { "recipients" });
    let mut reasons = Vec::new();
    if outcome.skipped > 0 {
        let why = if options.encrypt { "no encryption keys" } else { "too large to send without encryption keys" };
        reasons.push(format!("{} skipped: {why}", recipients(outcome.skipped)));
    }
    if outcome.outdated > 0 {
        reasons.push(format!(
            "{} skipped: the event holds value types of protocol version {needs_version}, which they do not speak",
            recipients(outcome.outdated)
        ));
    }
    let mut params = Params::new();
    params.insert(codes::SKIPPED, skipped as i32);
    params.insert(codes::DELIVERED, outcome.delivered as i32);
    Some(OperationResponse {
        op_code: OP,
        return_code: return_code::OK,
        debug_message: Some(reasons.join("; ")),
        params,
    })
}

/// Sends a response; a client that lets its output pile up is disconnected. A response that cannot
/// be sent (too large for a client without keys, say) is replaced by an error the client can read,
/// never dropped in silence.
pub(crate) fn respond(conn: &mut Connection, response: OperationResponse, options: SendOptions) {
    match conn.session.send_response(&response, options) {
        Ok(()) => {}
        Err(SessionError::OutputFull) => {
            tracing::warn!(connection = conn.id, "output full: disconnecting slow consumer");
            conn.session.disconnect(DisconnectReason::SlowConsumer, "output full: not reading fast enough");
        }
        Err(problem @ (SessionError::MessageTooLarge { .. } | SessionError::ClearMessageTooLarge { .. })) => {
            tracing::debug!(connection = conn.id, op = response.op_code, %problem, "response too large");
            let message = format!("the response could not be sent: {problem}");
            let fallback = error(response.op_code, return_code::INTERNAL_SERVER_ERROR, truncated(message));
            let _ = conn.session.send_response(&fallback, options);
        }
        Err(problem) => {
            tracing::debug!(connection = conn.id, op = response.op_code, %problem, "response not sent");
        }
    }
}

fn truncated(mut message: String) -> String {
    if message.len() > MAX_DEBUG_MESSAGE {
        let mut end = MAX_DEBUG_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

pub(crate) fn error(op: u8, code: i16, message: String) -> OperationResponse {
    OperationResponse { op_code: op, return_code: code, debug_message: Some(message), params: Params::new() }
}

pub(crate) fn rejection(op: u8, code: i16, message: String) -> OperationResponse {
    let code = if code == return_code::OK { return_code::PLUGIN_REJECTED } else { code };
    let message = if message.is_empty() { "rejected by a server plugin".to_owned() } else { message };
    error(op, code, truncated(message))
}

/// The target actors (ascending, without repeats) and the interest group of a RaiseEvent, when it
/// names them. Nothing is allocated for a RaiseEvent that names neither.
fn audience_of(params: &Params) -> Result<(Option<Vec<i32>>, Option<u8>), String> {
    let targets = match params.get(codes::ACTOR_LIST) {
        None => None,
        Some(Value::IntArray(actors)) => Some(actors.clone()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| match item {
                    Value::Int(actor) => Ok(*actor),
                    _ => Err(()),
                })
                .collect::<Result<Vec<i32>, ()>>()
                .map_err(|()| format!("parameter {} (target actors) must be an array of Int", codes::ACTOR_LIST))?,
        ),
        Some(_) => return Err(format!("parameter {} (target actors) must be an array of Int", codes::ACTOR_LIST)),
    };
    let targets = targets.map(|mut actors| {
        actors.sort_unstable();
        actors.dedup();
        actors
    });
    let interest = match params.get(codes::INTEREST_GROUP) {
        None | Some(Value::Byte(0)) => None,
        Some(Value::Byte(group)) => Some(*group),
        Some(_) => return Err(format!("parameter {} (interest group) must be a Byte", codes::INTEREST_GROUP)),
    };
    Ok((targets, interest))
}

/// ChangeGroups (248): leaves the groups of 239, then joins those of 238 (an empty list: every group).
fn change_groups(conn: &mut Connection, request: &OperationRequest) -> Option<OperationResponse> {
    const OP: u8 = op_code::CHANGE_GROUPS;
    let Some(membership) = conn.membership.as_ref() else {
        let message = "join a room before changing interest groups";
        return Some(error(OP, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into()));
    };
    let list = |key: u8| match request.params.get(key) {
        None => Ok(None),
        Some(Value::Bytes(groups)) => Ok(Some(groups.as_slice())),
        Some(_) => Err(format!("parameter {key} (interest groups) must be a ByteArray")),
    };
    let (remove, add) = match (list(codes::GROUPS_REMOVE), list(codes::GROUPS_ADD)) {
        (Ok(remove), Ok(add)) => (remove, add),
        (Err(message), _) | (_, Err(message)) => return Some(error(OP, return_code::INVALID_OPERATION, message)),
    };
    membership.room.change_groups(membership.actor, remove, add);
    Some(OperationResponse { op_code: OP, return_code: return_code::OK, debug_message: None, params: Params::new() })
}
