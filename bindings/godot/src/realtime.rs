//! The engine-free half of the `SealnetRealtimeClient` node: it owns the sealnet
//! [`RealtimeClient`] (Photon's LoadBalancingClient), checks what GDScript passes (settings, room
//! options, properties, names, event arguments), gives the room view and the lobby's room list as
//! Godot values, and maps what the client reports to the node's signals. The node only translates
//! `Variant`s and emits.

use std::collections::VecDeque;
use std::time::Duration;

use sealnet::auth::{AuthType, AuthValues, ServerToken};
use sealnet::peer::{PeerError, WaitOutcome};
use sealnet::protocol::codec::{Key, Limits, Params, Table, Value};
use sealnet::protocol::message::{EventData, OperationRequest};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionError;
use sealnet::realtime::{
    ClientConfig, ClientError, ClientEvent, ClientState, ListedRoom, Player, RaiseEventOptions, RealtimeClient,
    RoomView,
};
use sealnet::rooms::{JoinMode, RoomOptions, RoomRequest, RoomSettings};

use crate::client::{self, explain, Settings};
use crate::codes::{
    client_state, event_code_arg, event_signal, parse_key_pin, receivers_arg, response_signal, room, room_name_arg,
    status_signal, EventSignal, Failure, ResponseSignal, StatusSignal,
};
use crate::value::{describe_codec_error, table_from_gd_entries, table_to_gd, value_from_gd, GdValue};

/// The node's exported properties, read when `connect_to_master` is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeSettings {
    /// Master addresses ("host:port"): a login tries them in order until one answers.
    pub master_addresses: Vec<String>,
    /// Empty, or the masters' public key as 64 hex digits (every game server's key then comes from
    /// the master, encrypted).
    pub master_key_pin: String,
    /// The application the masters must know.
    pub app_id: String,
    /// The game's version (at most 32 bytes); "" sends the library's.
    pub app_version: String,
    /// As `SealnetPeer`'s properties of the same names.
    pub disconnect_timeout_ms: i64,
    pub ping_interval_ms: i64,
    pub max_protocol_version: i64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        let peer = Settings::default();
        RealtimeSettings {
            master_addresses: Vec::new(),
            master_key_pin: String::new(),
            app_id: String::new(),
            app_version: String::new(),
            disconnect_timeout_ms: peer.disconnect_timeout_ms,
            ping_interval_ms: peer.ping_interval_ms,
            max_protocol_version: peer.max_protocol_version,
        }
    }
}

impl RealtimeSettings {
    /// The client configuration these settings describe, every address and the pin checked now (the
    /// client itself would only find a bad second master when it fails over to it).
    pub fn client_config(&self) -> Result<ClientConfig, Failure> {
        // The client authenticates right after each key exchange, so the exchange is automatic. Game
        // servers are pinned to the key their master gave, whatever is configured here.
        let peer = Settings {
            disconnect_timeout_ms: self.disconnect_timeout_ms,
            auto_key_exchange: true,
            server_key_pin: String::new(),
            max_protocol_version: self.max_protocol_version,
            ping_interval_ms: self.ping_interval_ms,
            // Only the peer configuration is taken from these settings; the realtime client connects
            // over TCP (the transport and WSS settings stay their defaults).
            ..Settings::default()
        }
        .peer_config()?;
        if self.master_addresses.is_empty() {
            return Err(Failure::argument("master_addresses is empty: give at least one \"host:port\""));
        }
        for (index, address) in self.master_addresses.iter().enumerate() {
            if !sealnet::peer::is_address(address) {
                return Err(Failure::new(
                    crate::codes::ErrorCode::InvalidAddress,
                    format!("master_addresses[{index}] must be \"host:port\", not \"{address}\""),
                ));
            }
        }
        if self.app_id.is_empty() {
            return Err(Failure::argument("app_id is empty: set the application id the masters know"));
        }
        let master_key = parse_key_pin(&self.master_key_pin).map_err(|_| {
            Failure::argument("master_key_pin must be empty or 64 hex digits (the masters' public key)")
        })?;
        Ok(ClientConfig {
            peer,
            masters: self.master_addresses.clone(),
            master_key,
            app_id: self.app_id.clone(),
            app_version: Some(self.app_version.clone()).filter(|version| !version.is_empty()),
        })
    }
}

/// What a room that a request creates starts with: the options Dictionary of `join_or_create_room`
/// and `create_room`, read by [`room_options`]. Joining a room that exists uses none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomSetup {
    /// Most players, open, visible.
    pub options: RoomOptions,
    /// Its first custom properties, those the lobby lists, the PlayerTtl and EmptyRoomTtl, and
    /// whether a leaving player's cached events leave with it: sent as the core writes them
    /// ([`RoomSettings::to_extra`]).
    pub settings: RoomSettings,
}

impl RoomSetup {
    /// The request of `mode` for the room `name` (`None`: the server names it).
    pub fn request(&self, name: Option<&str>, mode: JoinMode) -> RoomRequest {
        RoomRequest {
            extra: self.settings.to_extra(),
            ..RoomRequest::new(name.map(str::to_owned), Some(mode), self.options)
        }
    }
}

/// The keys of the room options Dictionary, for the message about an unknown one.
const ROOM_OPTION_KEYS: &str = "max_players, is_open, is_visible, player_ttl_ms, empty_room_ttl_ms, \
                                custom_properties, listed_in_lobby, cleanup_cache_on_leave";

/// Room options from the entries of the dictionary `join_or_create_room` and `create_room` take:
/// `max_players` (int, 0 for the server's limit, the default), `is_open` and `is_visible` (bool, both
/// true by default), `player_ttl_ms` and `empty_room_ttl_ms` (int milliseconds, 0 by default: a player
/// who loses the connection leaves at once, an empty room closes at once), `custom_properties` (a
/// Dictionary: the room's first properties, keyed by String or int), `listed_in_lobby` (a
/// PackedStringArray or an Array of Strings: the custom properties the lobby's room list shows) and
/// `cleanup_cache_on_leave` (bool, true by default). An unknown key or a value of the wrong type is
/// refused, naming it.
pub fn room_options(entries: &[(GdValue, GdValue)]) -> Result<RoomSetup, Failure> {
    let mut setup = RoomSetup::default();
    let RoomSetup { options, settings } = &mut setup;
    for (key, value) in entries {
        let name = match key {
            GdValue::String(name) | GdValue::StringName(name) => name.as_str(),
            other => return Err(Failure::argument(format!("room options: keys are names, not {}", other.type_name()))),
        };
        let wrong = |expected: &str| {
            Failure::argument(format!("room options: {name} must be {expected}, not {}", value.type_name()))
        };
        match (name, value) {
            ("max_players", GdValue::Int(max)) => {
                options.max_players =
                    u32::try_from(*max).ok().filter(|max| *max <= i32::MAX as u32).ok_or_else(|| {
                        Failure::argument(format!(
                            "room options: max_players must be from 0 (the server's limit) to {}, not {max}",
                            i32::MAX
                        ))
                    })?
            }
            ("max_players", _) => return Err(wrong("an int")),
            ("is_open", GdValue::Bool(open)) => options.is_open = *open,
            ("is_visible", GdValue::Bool(visible)) => options.is_visible = *visible,
            ("cleanup_cache_on_leave", GdValue::Bool(cleanup)) => settings.cleanup_cache_on_leave = *cleanup,
            ("is_open" | "is_visible" | "cleanup_cache_on_leave", _) => return Err(wrong("a bool")),
            ("player_ttl_ms", GdValue::Int(ms)) => settings.player_ttl_ms = room_millis(name, *ms)?,
            ("empty_room_ttl_ms", GdValue::Int(ms)) => settings.empty_room_ttl_ms = room_millis(name, *ms)?,
            ("player_ttl_ms" | "empty_room_ttl_ms", _) => return Err(wrong("an int (milliseconds)")),
            ("custom_properties", GdValue::Dictionary(properties)) => {
                settings.custom_properties = custom_properties(properties)?
            }
            ("custom_properties", _) => return Err(wrong("a Dictionary")),
            ("listed_in_lobby", listed) => settings.listed_in_lobby = listed_names(listed)?,
            _ => return Err(Failure::argument(format!("room options: unknown key \"{name}\" ({ROOM_OPTION_KEYS})"))),
        }
    }
    Ok(setup)
}

/// A TTL option: 0 to `i32::MAX` milliseconds, as the server takes it.
fn room_millis(name: &str, ms: i64) -> Result<u32, Failure> {
    u32::try_from(ms).ok().filter(|ms| *ms <= i32::MAX as u32).ok_or_else(|| {
        Failure::argument(format!("room options: {name} must be from 0 to {} (milliseconds), not {ms}", i32::MAX))
    })
}

/// A room's first custom properties: a table whose keys are not bytes (byte keys are the room's own
/// options, which have keys of their own in the options Dictionary).
fn custom_properties(entries: &[(GdValue, GdValue)]) -> Result<Table, Failure> {
    let properties = table_from_gd_entries(entries)
        .map_err(|error| Failure::argument(format!("room options: {}", error.describe_in("custom_properties"))))?;
    if let Some((Key::Byte(byte), _)) = properties.iter().find(|(key, _)| matches!(key, Key::Byte(_))) {
        return Err(Failure::argument(format!(
            "room options: custom_properties has the byte key {byte}, which is one of the room's own options \
             (give those by their keys: {ROOM_OPTION_KEYS}); custom properties take String or int keys"
        )));
    }
    Ok(properties)
}

/// The names of `listed_in_lobby`: a PackedStringArray, or an Array of Strings (or StringNames).
fn listed_names(value: &GdValue) -> Result<Vec<String>, Failure> {
    match value {
        GdValue::PackedStringArray(names) => Ok(names.clone()),
        GdValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                GdValue::String(name) | GdValue::StringName(name) => Ok(name.clone()),
                other => Err(Failure::argument(format!(
                    "room options: listed_in_lobby[{index}] must be a String, not {}",
                    other.type_name()
                ))),
            })
            .collect(),
        other => Err(Failure::argument(format!(
            "room options: listed_in_lobby must be a PackedStringArray or an Array of Strings, not {}",
            other.type_name()
        ))),
    }
}

/// The options of `raise_event_with` from the entries of its Dictionary: `receivers` (int,
/// `RECEIVERS_*`, `RECEIVERS_OTHERS` by default), `target_actors` (a PackedInt32Array or an Array of
/// ints: exactly these actors instead of the receivers; empty, the default: the receivers),
/// `interest_group` (int 1 to 255: only its subscribers within the receivers; 0, the default: no
/// group) and `cache` (int, `CACHE_*`, `CACHE_NONE` by default). An unknown key, a value of the wrong
/// type or out of range is refused, naming it.
pub fn raise_options(entries: &[(GdValue, GdValue)]) -> Result<RaiseEventOptions, Failure> {
    let mut raise = RaiseEventOptions::default();
    for (key, value) in entries {
        let name = match key {
            GdValue::String(name) | GdValue::StringName(name) => name.as_str(),
            other => {
                return Err(Failure::argument(format!("raise options: keys are names, not {}", other.type_name())))
            }
        };
        let wrong = |expected: &str| {
            Failure::argument(format!("raise options: {name} must be {expected}, not {}", value.type_name()))
        };
        match (name, value) {
            ("receivers", GdValue::Int(receivers)) => {
                raise.receivers = receivers_arg(*receivers)
                    .map_err(|failure| Failure::argument(format!("raise options: {}", failure.message)))?
            }
            ("target_actors", actors) => raise.target_actors = actor_list("raise options: target_actors", actors)?,
            ("interest_group", GdValue::Int(group)) => {
                raise.interest_group = u8::try_from(*group).map_err(|_| {
                    Failure::argument(format!(
                        "raise options: interest_group must be from 0 (no group) to 255, not {group}"
                    ))
                })?
            }
            ("cache", GdValue::Int(cache)) => {
                raise.cache =
                    u8::try_from(*cache).ok().filter(|cache| room::CACHE_OPTIONS.contains(cache)).ok_or_else(|| {
                        Failure::argument(format!(
                            "raise options: cache must be CACHE_NONE ({}), CACHE_ADD ({}), CACHE_REMOVE ({}) or \
                             CACHE_REMOVE_OF_ACTORS_LEFT ({}), not {cache}",
                            room::CACHE_NONE,
                            room::CACHE_ADD,
                            room::CACHE_REMOVE,
                            room::CACHE_REMOVE_OF_ACTORS_LEFT
                        ))
                    })?
            }
            ("receivers" | "interest_group" | "cache", _) => return Err(wrong("an int")),
            _ => {
                return Err(Failure::argument(format!(
                    "raise options: unknown key \"{name}\" (receivers, target_actors, interest_group, cache)"
                )))
            }
        }
    }
    Ok(raise)
}

/// Checks an actor number argument: 1 to `i32::MAX` (0 would name the room, not a player).
pub fn actor_arg(what: &str, actor: i64) -> Result<i32, Failure> {
    i32::try_from(actor)
        .ok()
        .filter(|actor| *actor >= 1)
        .ok_or_else(|| Failure::argument(format!("{what} must be an actor number (1 to {}), not {actor}", i32::MAX)))
}

/// Actor numbers from a PackedInt32Array, a PackedInt64Array or an Array of ints, each checked.
fn actor_list(what: &str, value: &GdValue) -> Result<Vec<i32>, Failure> {
    let numbers: Vec<i64> = match value {
        GdValue::PackedInt32Array(actors) => actors.iter().map(|&actor| i64::from(actor)).collect(),
        GdValue::PackedInt64Array(actors) => actors.clone(),
        GdValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                GdValue::Int(actor) => Ok(*actor),
                other => Err(Failure::argument(format!("{what}[{index}] must be an int, not {}", other.type_name()))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(Failure::argument(format!(
                "{what} must be a PackedInt32Array or an Array of ints, not {}",
                other.type_name()
            )))
        }
    };
    numbers.iter().enumerate().map(|(index, &actor)| actor_arg(&format!("{what}[{index}]"), actor)).collect()
}

/// The interest groups of one step of `change_groups`: `null` leaves the step out; a
/// PackedByteArray or an Array (or packed array) of ints lists groups 1 to 255, and an empty one
/// means every group.
pub fn interest_groups(what: &str, value: &GdValue) -> Result<Option<Vec<u8>>, Failure> {
    let numbers: Vec<i64> = match value {
        GdValue::Nil => return Ok(None),
        GdValue::PackedByteArray(groups) => groups.iter().map(|&group| i64::from(group)).collect(),
        GdValue::PackedInt32Array(groups) => groups.iter().map(|&group| i64::from(group)).collect(),
        GdValue::PackedInt64Array(groups) => groups.clone(),
        GdValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                GdValue::Int(group) => Ok(*group),
                other => Err(Failure::argument(format!("{what}[{index}] must be an int, not {}", other.type_name()))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(Failure::argument(format!(
                "{what} must be null (leave the step out), or a PackedByteArray or an Array of ints (empty: \
                 every group), not {}",
                other.type_name()
            )))
        }
    };
    let groups = numbers.iter().enumerate().map(|(index, &group)| {
        u8::try_from(group).ok().filter(|group| *group != 0).ok_or_else(|| {
            Failure::argument(format!("{what}[{index}] must be an interest group from 1 to 255, not {group}"))
        })
    });
    groups.collect::<Result<Vec<u8>, _>>().map(Some)
}

/// Properties a script passes (changes, or expected values) as the table sent; `what` names them in
/// a refusal.
pub fn properties_arg(what: &str, entries: &[(GdValue, GdValue)]) -> Result<Table, Failure> {
    table_from_gd_entries(entries).map_err(|error| Failure::argument(error.describe_in(what)))
}

/// The expected values of a compare-and-set: an empty Dictionary means none (the change applies
/// whatever the properties are now).
pub fn expected_arg(entries: &[(GdValue, GdValue)]) -> Result<Option<Table>, Failure> {
    if entries.is_empty() {
        return Ok(None);
    }
    properties_arg("expected", entries).map(Some)
}

/// A player of the room as `get_players()` gives it: `nickname` and `user_id` (String, "" when the
/// server gave none), `inactive` (bool: it lost the connection and may rejoin) and `properties` (a
/// Dictionary: custom ones, and the server's under int keys `PLAYER_PROP_*`).
pub fn player_entry(player: &Player) -> GdValue {
    let user_id = match player.properties.get(&Key::Byte(room::PLAYER_PROP_USER_ID)) {
        Some(Value::String(user_id)) => user_id.clone(),
        _ => String::new(),
    };
    GdValue::Dictionary(vec![
        (name("nickname"), GdValue::String(player.nickname().unwrap_or_default().to_owned())),
        (name("user_id"), GdValue::String(user_id)),
        (name("inactive"), GdValue::Bool(player.is_inactive())),
        (name("properties"), GdValue::Dictionary(table_to_gd(&player.properties))),
    ])
}

/// A room of the lobby's list as `get_room_list()` gives it: `players`, `max_players` (int; 0: the
/// server's limit), `open` (bool) and `properties` (a Dictionary: the custom properties the room lists
/// in the lobby, and the server's under int keys `ROOM_PROP_*`).
pub fn listed_room_entry(listed: &ListedRoom) -> GdValue {
    GdValue::Dictionary(vec![
        (name("players"), GdValue::Int(i64::from(listed.players))),
        (name("max_players"), GdValue::Int(i64::from(listed.max_players))),
        (name("open"), GdValue::Bool(listed.open)),
        (name("properties"), GdValue::Dictionary(table_to_gd(&listed.properties))),
    ])
}

fn name(text: &str) -> GdValue {
    GdValue::String(text.to_owned())
}

/// A refused send of properties: the codec's reason, with `what` was refused.
fn refused(error: ClientError, what: &str) -> Failure {
    let reason = match &error {
        ClientError::Peer(PeerError::Session(SessionError::Params(codec))) => Some(describe_codec_error(codec)),
        _ => None,
    };
    let failure = Failure::from(error);
    match reason {
        Some(reason) => Failure::new(failure.code, format!("{what} refused: {reason}")),
        None => failure,
    }
}

/// Arguments of `joined(room, actor, actors)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedSignal {
    pub room: String,
    /// This client's actor number in the room.
    pub actor: i64,
    /// Every actor number in the room, this client's included (a `PackedInt32Array`).
    pub actors: Vec<i32>,
}

/// Arguments of `rejoined(room, actor)`, emitted right after `joined` when the client came back to
/// its room by itself after losing the connection (within the room's PlayerTtl), as the same actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejoinedSignal {
    pub room: String,
    pub actor: i64,
}

/// Arguments of `failed(op, return_code, message)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSignal {
    /// The operation that failed (`OP_JOIN_ROOM`, `OP_CREATE_ROOM`, `OP_JOIN_RANDOM_ROOM`,
    /// `OP_AUTHENTICATE`, ...), 0 when the client could not even reach the next server.
    pub op: i64,
    /// The server's return code (`RETURN_*`).
    pub return_code: i64,
    pub message: String,
}

/// What one client event is emitted as: [`signal_for`] gives the signal every event has,
/// [`signals_for`] that one followed by those derived from it.
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeSignal {
    /// `state_changed(state)`.
    State(i64),
    /// `status_changed` and `status_detail`, as `SealnetPeer` emits them.
    Status(StatusSignal),
    /// `joined`.
    Joined(JoinedSignal),
    /// `rejoined`, after `joined`.
    Rejoined(RejoinedSignal),
    /// `failed`.
    Failed(FailedSignal),
    /// `event_received`, as `SealnetPeer` emits it.
    Event(EventSignal),
    /// `operation_response` (and `operation_debug_message`), as `SealnetPeer` emits them: answers to
    /// the script's own operations, to `raise_event`, the property setters, `change_groups` and the
    /// lobby's.
    Response(ResponseSignal),
    /// `room_properties_changed(changes)`, after the `event_received` of a PropertiesChanged event for
    /// the room: the keys that changed with their new values (`null`: removed). The room view
    /// (`get_room_properties()`) holds them already.
    RoomPropertiesChanged(Vec<(GdValue, GdValue)>),
    /// `player_properties_changed(actor, changes)`, after the `event_received` of a PropertiesChanged
    /// event for a player.
    PlayerPropertiesChanged { actor: i64, changes: Vec<(GdValue, GdValue)> },
    /// `master_client_changed(actor)`: the role was handed over (a change of the room's master client
    /// property), or went on when the master client left (a Leave event naming the new one).
    MasterClientChanged(i64),
    /// `room_list_updated()`, after the `event_received` of the lobby's room list or of an update of
    /// it: `get_room_list()` holds the new list.
    RoomListUpdated,
}

/// Maps one client event to the signal it is emitted as.
pub fn signal_for(event: &ClientEvent) -> RealtimeSignal {
    match event {
        ClientEvent::StateChanged(state) => RealtimeSignal::State(client_state::code(*state)),
        ClientEvent::Status(info) => RealtimeSignal::Status(status_signal(info)),
        ClientEvent::Joined { room, actor, actors, rejoined: _ } => RealtimeSignal::Joined(JoinedSignal {
            room: room.clone(),
            actor: i64::from(*actor),
            actors: actors.clone(),
        }),
        ClientEvent::Failed { op, return_code, message } => RealtimeSignal::Failed(FailedSignal {
            op: i64::from(*op),
            return_code: i64::from(*return_code),
            message: message.clone(),
        }),
        ClientEvent::Event { event, encrypted } => RealtimeSignal::Event(event_signal(event, *encrypted)),
        ClientEvent::Response { response, encrypted } => {
            RealtimeSignal::Response(response_signal(response, *encrypted))
        }
    }
}

/// Every signal one client event is emitted as, in order: the one of [`signal_for`], then those
/// derived from it (`rejoined` after `joined`; the property, master client and room list signals
/// after the `event_received` of the room event that says so).
pub fn signals_for(event: &ClientEvent) -> Vec<RealtimeSignal> {
    let mut signals = vec![signal_for(event)];
    match event {
        ClientEvent::Joined { room, actor, rejoined: true, .. } => {
            signals.push(RealtimeSignal::Rejoined(RejoinedSignal { room: room.clone(), actor: i64::from(*actor) }))
        }
        ClientEvent::Event { event, .. } => signals.extend(room_event_signals(event)),
        _ => {}
    }
    signals
}

/// The signals a room event stands for, read as the client's room view and room list read it.
fn room_event_signals(event: &EventData) -> Vec<RealtimeSignal> {
    let int = |key: u8| match event.params.get(key) {
        Some(Value::Int(value)) => Some(i64::from(*value)),
        _ => None,
    };
    match event.code {
        room::EVENT_PROPERTIES_CHANGED => {
            let Some(Value::Table(changes)) = event.params.get(room::PROPERTIES) else { return Vec::new() };
            match int(room::TARGET_ACTOR) {
                None | Some(0) => {
                    let mut signals = vec![RealtimeSignal::RoomPropertiesChanged(table_to_gd(changes))];
                    if let Some(Value::Int(master)) = changes.get(&Key::Byte(room::PROP_MASTER_CLIENT_ID)) {
                        signals.push(RealtimeSignal::MasterClientChanged(i64::from(*master)));
                    }
                    signals
                }
                Some(actor) => vec![RealtimeSignal::PlayerPropertiesChanged { actor, changes: table_to_gd(changes) }],
            }
        }
        room::EVENT_LEAVE => int(room::MASTER_CLIENT_ID).map(RealtimeSignal::MasterClientChanged).into_iter().collect(),
        room::EVENT_GAME_LIST | room::EVENT_GAME_LIST_UPDATE => vec![RealtimeSignal::RoomListUpdated],
        _ => Vec::new(),
    }
}

/// One login at a time; each `connect` makes a new [`RealtimeClient`] so changed settings take
/// effect, and the latest server token is kept across them.
#[derive(Default)]
pub struct Realtime {
    client: Option<RealtimeClient>,
    /// Events of a previous client not yet handed out when a new login started.
    carried_over: VecDeque<ClientEvent>,
    /// The limits of the current client's peer, to say which value a refused send is about.
    limits: Limits,
    kept_token: Option<ServerToken>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Realtime {
    /// A client that has not logged in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logs in at the first master that answers, with `auth` (`None`: anonymously, `AUTH_NONE`).
    /// Refused unless the client is new or disconnected. `AUTH_TOKEN` without a token of its own
    /// presents the latest one held.
    pub fn connect(&mut self, settings: &RealtimeSettings, auth: Option<&AuthValues>) -> Result<(), Failure> {
        let state = self.state();
        if !matches!(state, ClientState::PeerCreated | ClientState::Disconnected) {
            return Err(ClientError::NotNow(state).into());
        }
        let config = settings.client_config()?;
        let mut values = auth.cloned().unwrap_or_else(|| AuthValues::new(AuthType::None));
        if let Some(old) = self.client.take() {
            self.keep_token_of(&old);
            let mut old = old;
            while let Some(event) = old.service() {
                self.carried_over.push_back(event);
            }
        }
        if let Some(kept) = &self.kept_token {
            if values.auth_type == AuthType::Token && values.token().is_empty() {
                values.set_token(&kept.bytes).map_err(|error| Failure::argument(error.to_string()))?;
            }
        }
        self.limits = config.peer.session.limits;
        let mut client = RealtimeClient::new(config);
        client.connect(values)?;
        self.client = Some(client);
        Ok(())
    }

    fn keep_token_of(&mut self, client: &RealtimeClient) {
        if let Some(token) = client.token() {
            self.kept_token = Some(token);
        }
    }

    fn client(&mut self) -> Result<&mut RealtimeClient, Failure> {
        self.client.as_mut().ok_or_else(|| ClientError::NotNow(ClientState::PeerCreated).into())
    }

    /// JoinOrCreateRoom; `joined` or `failed` follows. A room it creates starts as `room` says.
    pub fn join_or_create_room(&mut self, name: &str, room: &RoomSetup) -> Result<(), Failure> {
        room_name_arg(name)?;
        self.request_room(room.request(Some(name), JoinMode::CreateIfNotExists))
    }

    /// CreateRoom; "" lets the server name the room (the name comes with `joined`).
    pub fn create_room(&mut self, name: &str, room: &RoomSetup) -> Result<(), Failure> {
        let name = Some(name).filter(|name| !name.is_empty());
        if let Some(name) = name {
            room_name_arg(name)?;
        }
        self.request_room(room.request(name, JoinMode::CreateOnly))
    }

    fn request_room(&mut self, request: RoomRequest) -> Result<(), Failure> {
        self.client()?.request_room(request).map_err(|error| refused(error, "room options"))
    }

    /// JoinRoom of a room that must exist (GameDoesNotExist otherwise).
    pub fn join_room(&mut self, name: &str) -> Result<(), Failure> {
        room_name_arg(name)?;
        Ok(self.client()?.join_room(name)?)
    }

    /// JoinRandomRoom (NoRandomMatchFound when no open, visible room has space).
    pub fn join_random_room(&mut self) -> Result<(), Failure> {
        Ok(self.client()?.join_random_room()?)
    }

    /// Leaves the room; the client goes back to the master (ConnectedToMasterServer follows).
    pub fn leave_room(&mut self) -> Result<(), Failure> {
        Ok(self.client()?.leave_room()?)
    }

    /// Raises event `code` (0 to 199) with `data` (`null`: no data) for `receivers`, in the room the
    /// client is in: the same request `SealnetPeer.raise_event` sends.
    pub fn raise_event(&mut self, code: i64, data: &GdValue, receivers: i64, encrypt: bool) -> Result<(), Failure> {
        let request = client::raise_event(code, data, receivers)?;
        let state = self.state();
        if state != ClientState::Joined {
            return Err(ClientError::NotNow(state).into());
        }
        self.send(&request, SendOptions { encrypt, ..SendOptions::RELIABLE })
    }

    /// Raises event `code` (0 to 199) with `data` (`null`: no data) as `raise` says (the options
    /// Dictionary's entries, see [`raise_options`]): to chosen receivers, actors or an interest group,
    /// or adding it to the room's event cache, or removing cached events.
    pub fn raise_event_with(
        &mut self,
        code: i64,
        data: &GdValue,
        raise: &[(GdValue, GdValue)],
        encrypt: bool,
    ) -> Result<(), Failure> {
        let code = event_code_arg(code)? as u8;
        let raise = raise_options(raise)?;
        let value = value_from_gd(data)?;
        let limits = self.limits;
        let options = SendOptions { encrypt, ..SendOptions::RELIABLE };
        self.client()?.raise_event_with(code, value, &raise, options).map_err(|error| match error {
            // Said of the data, where raise_event says it too.
            ClientError::Peer(error) => {
                let mut shown = Params::new();
                shown.insert(room::DATA, value_from_gd(data).unwrap_or(Value::Null));
                explain(error, &shown, &limits)
            }
            other => other.into(),
        })
    }

    /// Sets properties of the room (the entries of the `changes` Dictionary; a `null` value removes
    /// its key); with `expected` not empty, only if those properties have those values now
    /// (compare-and-set: `operation_response` with `RETURN_PROPERTIES_CONFLICT` otherwise). Every
    /// player, this one too, gets the change (`room_properties_changed`).
    pub fn set_room_properties(
        &mut self,
        changes: &[(GdValue, GdValue)],
        expected: &[(GdValue, GdValue)],
    ) -> Result<(), Failure> {
        let (changes, expected) = (properties_arg("changes", changes)?, expected_arg(expected)?);
        self.client()?.set_room_properties(changes, expected).map_err(|error| refused(error, "properties"))
    }

    /// As [`Self::set_room_properties`], for the properties of player `actor` (this client's own or
    /// another's; `player_properties_changed` follows).
    pub fn set_player_properties(
        &mut self,
        actor: i64,
        changes: &[(GdValue, GdValue)],
        expected: &[(GdValue, GdValue)],
    ) -> Result<(), Failure> {
        let actor = actor_arg("actor", actor)?;
        let (changes, expected) = (properties_arg("changes", changes)?, expected_arg(expected)?);
        self.client()?.set_player_properties(actor, changes, expected).map_err(|error| refused(error, "properties"))
    }

    /// Hands the master client role to `actor`, if this client's view of the master is still right
    /// (`master_client_changed` follows, or a conflict answer).
    pub fn set_master_client(&mut self, actor: i64) -> Result<(), Failure> {
        let actor = actor_arg("actor", actor)?;
        Ok(self.client()?.set_master_client(actor)?)
    }

    /// Leaves the interest groups `remove` lists, then joins those `add` lists (each `null`: leave
    /// the step out; empty: every group; see [`interest_groups`]).
    pub fn change_groups(&mut self, remove: &GdValue, add: &GdValue) -> Result<(), Failure> {
        let (remove, add) = (interest_groups("remove", remove)?, interest_groups("add", add)?);
        Ok(self.client()?.change_groups(remove.as_deref(), add.as_deref())?)
    }

    /// Joins the lobby at the master: the room list fills (`room_list_updated`) and follows.
    pub fn join_lobby(&mut self) -> Result<(), Failure> {
        Ok(self.client()?.join_lobby()?)
    }

    /// Leaves the lobby; the room list empties.
    pub fn leave_lobby(&mut self) -> Result<(), Failure> {
        Ok(self.client()?.leave_lobby()?)
    }

    fn view(&self) -> Option<&RoomView> {
        self.client.as_ref()?.room_view()
    }

    /// The room's properties as the client last heard them (custom ones, and the server's under int
    /// keys `ROOM_PROP_*`); none outside a room.
    pub fn room_properties(&self) -> Vec<(GdValue, GdValue)> {
        self.view().map_or_else(Vec::new, |view| table_to_gd(&view.properties))
    }

    /// The room's players, inactive ones too, by actor number (ascending): each a Dictionary as
    /// [`player_entry`] makes it. None outside a room.
    pub fn players(&self) -> Vec<(GdValue, GdValue)> {
        self.view().map_or_else(Vec::new, |view| {
            view.players.iter().map(|(actor, player)| (GdValue::Int(i64::from(*actor)), player_entry(player))).collect()
        })
    }

    /// The actor number of the room's master client; -1 outside a room (as the actor number).
    pub fn master_client(&self) -> i64 {
        self.view().map_or(-1, |view| i64::from(view.master))
    }

    /// The lobby's room list by room name, each a Dictionary as [`listed_room_entry`] makes it;
    /// empty outside the lobby.
    pub fn room_list(&self) -> Vec<(GdValue, GdValue)> {
        let Some(client) = &self.client else { return Vec::new() };
        client
            .room_list()
            .rooms
            .iter()
            .map(|(name, listed)| (GdValue::String(name.clone()), listed_room_entry(listed)))
            .collect()
    }

    /// Whether the client is coming back to its room by itself after losing the connection
    /// (`rejoined` ends it, or `failed` with `RETURN_JOIN_FAILED_WITH_REJOINER_NOT_FOUND`).
    pub fn is_rejoining(&self) -> bool {
        self.client.as_ref().is_some_and(RealtimeClient::is_rejoining)
    }

    /// Sends any operation on the current connection (to the master or the game server); its answer
    /// comes as `operation_response`.
    pub fn send(&mut self, request: &OperationRequest, options: SendOptions) -> Result<(), Failure> {
        let limits = self.limits;
        self.client()?.send_operation(request.op_code, &request.params, options).map_err(|error| match error {
            ClientError::Peer(error) => explain(error, &request.params, &limits),
            other => other.into(),
        })
    }

    /// Disconnects and stays disconnected (Disconnected follows). Does nothing before a login.
    pub fn disconnect(&mut self) {
        if let Some(client) = &mut self.client {
            client.disconnect();
        }
    }

    /// Where the client stands (PeerCreated before the first login).
    pub fn state(&self) -> ClientState {
        self.client.as_ref().map_or(ClientState::PeerCreated, RealtimeClient::state)
    }

    /// The room the client is in, "" when it is in none.
    pub fn room(&self) -> &str {
        self.client.as_ref().and_then(RealtimeClient::room).unwrap_or("")
    }

    /// Its actor number in that room, -1 when it is in none (as Photon's).
    pub fn actor(&self) -> i64 {
        self.client.as_ref().and_then(RealtimeClient::actor).map_or(-1, i64::from)
    }

    /// The key of the server the client is connected to (a master or a game server), once the key
    /// exchange succeeded.
    pub fn server_public_key(&self) -> Option<[u8; 32]> {
        self.client.as_ref().and_then(|client| client.peer().server_public_key())
    }

    /// The latest server token held, kept across logins.
    pub fn server_token(&self) -> Option<ServerToken> {
        self.client.as_ref().and_then(RealtimeClient::token).or_else(|| self.kept_token.clone())
    }

    /// Moves the client on and returns the next thing that happened, oldest first.
    pub fn service(&mut self) -> Option<ClientEvent> {
        if let Some(event) = self.carried_over.pop_front() {
            return Some(event);
        }
        self.client.as_mut()?.service()
    }

    /// Blocks until something is there to service or `timeout` passes: for hosts that are not a
    /// frame loop, such as the example programs.
    pub fn wait(&self, timeout: Duration) -> WaitOutcome {
        if !self.carried_over.is_empty() {
            return WaitOutcome::Ready;
        }
        self.client.as_ref().map_or(WaitOutcome::NotConnected, |client| client.wait(timeout))
    }

    /// Drops the client (its connection closes) and what was not handed out; the token stays.
    pub fn shutdown(&mut self) {
        if let Some(client) = self.client.take() {
            self.keep_token_of(&client);
            client.peer().shutdown();
        }
        self.carried_over.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{matchmaking, ErrorCode};
    use crate::value::Typed;
    use sealnet::protocol::codec::{Params, Value};
    use sealnet::protocol::message::{EventData, OperationResponse};
    use sealnet::protocol::session::StatusInfo;
    use sealnet::protocol::status::StatusCode;

    fn named(entries: Vec<(&str, GdValue)>) -> Vec<(GdValue, GdValue)> {
        entries.into_iter().map(|(key, value)| (GdValue::String(key.into()), value)).collect()
    }

    fn settings() -> RealtimeSettings {
        RealtimeSettings {
            master_addresses: vec!["127.0.0.1:4530".into(), "[::1]:4531".into()],
            app_id: "demo".into(),
            ..RealtimeSettings::default()
        }
    }

    #[test]
    fn room_options_come_from_a_dictionary_of_names() {
        assert_eq!(room_options(&[]).unwrap(), RoomSetup::default());
        let options = room_options(&named(vec![
            ("max_players", GdValue::Int(4)),
            ("is_open", GdValue::Bool(false)),
            ("is_visible", GdValue::Bool(false)),
        ]))
        .unwrap();
        assert_eq!(options.options, RoomOptions { max_players: 4, is_open: false, is_visible: false });
        assert_eq!(options.settings, RoomSettings::default());
        let limit = vec![(GdValue::StringName("max_players".into()), GdValue::Int(i64::from(i32::MAX)))];
        assert_eq!(room_options(&limit).unwrap().options.max_players, i32::MAX as u32);
        let only_closed = room_options(&named(vec![("is_open", GdValue::Bool(false))])).unwrap();
        assert_eq!(only_closed.options, RoomOptions { is_open: false, ..RoomOptions::default() });
    }

    fn text(value: &str) -> GdValue {
        GdValue::String(value.into())
    }

    fn string_key(name: &str) -> Key {
        Key::String(name.into())
    }

    #[test]
    fn room_options_carry_the_room_settings_the_core_writes_into_the_request() {
        let setup = room_options(&named(vec![
            ("player_ttl_ms", GdValue::Int(30_000)),
            ("empty_room_ttl_ms", GdValue::Int(i64::from(i32::MAX))),
            (
                "custom_properties",
                GdValue::Dictionary(vec![(text("map"), text("dust")), (GdValue::Int(7), GdValue::Bool(true))]),
            ),
            ("listed_in_lobby", GdValue::PackedStringArray(vec!["map".into()])),
            ("cleanup_cache_on_leave", GdValue::Bool(false)),
        ]))
        .unwrap();
        let expected = RoomSettings {
            custom_properties: Table::from_iter([
                (string_key("map"), Value::String("dust".into())),
                (Key::Int(7), Value::Bool(true)),
            ]),
            listed_in_lobby: vec!["map".into()],
            player_ttl_ms: 30_000,
            empty_room_ttl_ms: i32::MAX as u32,
            cleanup_cache_on_leave: false,
        };
        assert_eq!(setup.settings, expected);
        assert_eq!(setup.options, RoomOptions::default());
        // The request carries what the core writes for them, and reads back as sent.
        let request = setup.request(Some("r"), JoinMode::CreateOnly);
        assert_eq!((request.name.as_deref(), request.mode), (Some("r"), Some(JoinMode::CreateOnly)));
        assert_eq!(request.extra, expected.to_extra());
        assert_eq!(request.extra.get(&Key::Byte(room::PROP_PLAYER_TTL)), Some(&Value::Int(30_000)));
        let (op, params) = request.to_operation();
        assert_eq!(RoomRequest::from_operation(op, &params).unwrap(), request);
        // An Array of Strings lists too; StringName elements are names.
        let listed = room_options(&named(vec![(
            "listed_in_lobby",
            GdValue::Array(vec![text("map"), GdValue::StringName("mode".into())]),
        )]))
        .unwrap();
        assert_eq!(listed.settings.listed_in_lobby, ["map", "mode"]);
        // Nothing beyond the defaults: a join-or-create without extra.
        let plain = RoomSetup::default().request(Some("r"), JoinMode::CreateIfNotExists);
        assert_eq!(
            plain,
            RoomRequest::new(Some("r".into()), Some(JoinMode::CreateIfNotExists), RoomOptions::default())
        );
        assert_eq!(RoomSetup::default().request(None, JoinMode::CreateOnly).name, None);
    }

    #[test]
    fn room_options_refuse_wrong_types_and_unknown_keys_naming_them() {
        let refusals = [
            (named(vec![("max_players", GdValue::Float(4.0))]), "max_players must be an int, not float"),
            (named(vec![("max_players", GdValue::Int(-1))]), "max_players must be from 0"),
            (named(vec![("max_players", GdValue::Int(1 << 31))]), "not 2147483648"),
            (named(vec![("is_open", GdValue::Int(1))]), "is_open must be a bool, not int"),
            (named(vec![("is_visible", GdValue::String("yes".into()))]), "is_visible must be a bool"),
            (named(vec![("maxPlayers", GdValue::Int(4))]), "unknown key \"maxPlayers\" (max_players, is_open"),
            (vec![(GdValue::Int(255), GdValue::Int(4))], "keys are names, not int"),
            (named(vec![("player_ttl_ms", GdValue::Int(-1))]), "player_ttl_ms must be from 0 to 2147483647"),
            (named(vec![("empty_room_ttl_ms", GdValue::Int(1 << 31))]), "(milliseconds), not 2147483648"),
            (
                named(vec![("player_ttl_ms", GdValue::Float(1.0))]),
                "player_ttl_ms must be an int (milliseconds), not float",
            ),
            (named(vec![("custom_properties", GdValue::Nil)]), "custom_properties must be a Dictionary, not null"),
            (
                named(vec![(
                    "custom_properties",
                    GdValue::Dictionary(vec![(text("x"), GdValue::Unsupported("Callable".into()))]),
                )]),
                "room options: custom_properties[\"x\"] is a Callable",
            ),
            (
                named(vec![("custom_properties", GdValue::Dictionary(vec![(GdValue::Float(1.5), GdValue::Nil)]))]),
                "a dictionary key in custom_properties is a float",
            ),
            (
                named(vec![(
                    "custom_properties",
                    GdValue::Dictionary(vec![(GdValue::Sealnet(Typed::Byte(room::PROP_PLAYER_TTL)), GdValue::Int(1))]),
                )]),
                "custom_properties has the byte key 246, which is one of the room's own options",
            ),
            (named(vec![("listed_in_lobby", text("map"))]), "listed_in_lobby must be a PackedStringArray or an Array"),
            (
                named(vec![("listed_in_lobby", GdValue::Array(vec![text("map"), GdValue::Int(3)]))]),
                "listed_in_lobby[1] must be a String, not int",
            ),
            (
                named(vec![("cleanup_cache_on_leave", GdValue::Int(0))]),
                "cleanup_cache_on_leave must be a bool, not int",
            ),
        ];
        for (entries, expected) in refusals {
            let error = room_options(&entries).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidArgument, "{entries:?}");
            assert!(error.message.contains(expected), "{}: {expected}", error.message);
        }
    }

    #[test]
    fn settings_become_the_client_config() {
        let pin = "0a".repeat(32);
        let config =
            RealtimeSettings { master_key_pin: pin, app_version: "1.2".into(), ..settings() }.client_config().unwrap();
        assert_eq!(config.masters, ["127.0.0.1:4530", "[::1]:4531"]);
        assert_eq!(config.master_key, Some([0x0a; 32]));
        assert_eq!((config.app_id.as_str(), config.app_version.as_deref()), ("demo", Some("1.2")));
        assert!(config.peer.session.auto_key_exchange);
        assert_eq!(config.peer.session.server_key_pin, None);
        let plain = settings().client_config().unwrap();
        assert_eq!((plain.master_key, plain.app_version), (None, None));
        let peer = Settings::default().peer_config().unwrap();
        assert_eq!(plain.peer.session.disconnect_timeout, peer.session.disconnect_timeout);
    }

    #[test]
    fn bad_settings_are_refused_with_what_is_wrong() {
        let refusals = [
            (RealtimeSettings { master_addresses: Vec::new(), ..settings() }, ErrorCode::InvalidArgument, "empty"),
            (
                RealtimeSettings { master_addresses: vec!["a:1".into(), "no-port".into()], ..settings() },
                ErrorCode::InvalidAddress,
                "master_addresses[1] must be \"host:port\", not \"no-port\"",
            ),
            (RealtimeSettings { app_id: String::new(), ..settings() }, ErrorCode::InvalidArgument, "app_id"),
            (
                RealtimeSettings { master_key_pin: "12".into(), ..settings() },
                ErrorCode::InvalidArgument,
                "master_key_pin",
            ),
            (RealtimeSettings { ping_interval_ms: 0, ..settings() }, ErrorCode::InvalidArgument, "ping_interval_ms"),
            (RealtimeSettings { max_protocol_version: 3, ..settings() }, ErrorCode::InvalidArgument, "max_protocol"),
        ];
        for (bad, code, expected) in refusals {
            let error = bad.client_config().unwrap_err();
            assert_eq!(error.code, code, "{bad:?}");
            assert!(error.message.contains(expected), "{}: {expected}", error.message);
        }
    }

    #[test]
    fn a_client_that_has_not_logged_in_refuses_requests_with_its_state() {
        let mut client = Realtime::new();
        assert_eq!(client.state(), ClientState::PeerCreated);
        let refusals = [
            client.join_or_create_room("r", &RoomSetup::default()),
            client.create_room("", &RoomSetup::default()),
            client.join_room("r"),
            client.join_random_room(),
            client.leave_room(),
            client.raise_event(1, &GdValue::Nil, 0, true),
            client.raise_event_with(1, &GdValue::Nil, &[], true),
            client.set_room_properties(&[(text("a"), GdValue::Int(1))], &[]),
            client.set_player_properties(1, &[(text("a"), GdValue::Int(1))], &[(text("a"), GdValue::Nil)]),
            client.set_master_client(2),
            client.change_groups(&GdValue::Nil, &GdValue::PackedByteArray(vec![1])),
            client.join_lobby(),
            client.leave_lobby(),
        ];
        for refusal in refusals {
            let error = refusal.unwrap_err();
            assert_eq!(error.code, ErrorCode::WrongState);
            assert!(error.message.contains("PeerCreated"), "{}", error.message);
        }
        // Arguments are checked first, whatever the state.
        assert_eq!(client.join_room("").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(
            client.create_room(&"x".repeat(257), &RoomSetup::default()).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
        assert_eq!(client.raise_event(200, &GdValue::Nil, 0, true).unwrap_err().code, ErrorCode::InvalidArgument);
        let arguments = [
            client.raise_event_with(200, &GdValue::Nil, &[], true),
            client.raise_event_with(1, &GdValue::Nil, &named(vec![("cache", GdValue::Int(5))]), true),
            client.raise_event_with(1, &GdValue::Unsupported("Callable".into()), &[], true),
            client.set_room_properties(&[(GdValue::Float(1.0), GdValue::Int(1))], &[]),
            client.set_player_properties(0, &[(text("a"), GdValue::Int(1))], &[]),
            client.set_master_client(-1),
            client.change_groups(&GdValue::PackedByteArray(vec![0]), &GdValue::Nil),
        ];
        for refusal in arguments {
            assert_eq!(refusal.unwrap_err().code, ErrorCode::InvalidArgument);
        }
        assert_eq!((client.room(), client.actor(), client.server_public_key()), ("", -1, None));
        assert_eq!(
            (client.room_properties(), client.players(), client.room_list()),
            (Vec::new(), Vec::new(), Vec::new())
        );
        assert_eq!((client.master_client(), client.is_rejoining()), (-1, false));
        assert!(client.service().is_none());
        assert_eq!(client.wait(Duration::from_secs(5)), WaitOutcome::NotConnected);
        client.disconnect();
        client.shutdown();
        let error = client.connect(&RealtimeSettings::default(), None).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn client_events_become_signals() {
        assert_eq!(signal_for(&ClientEvent::StateChanged(ClientState::Joined)), RealtimeSignal::State(8));
        let info = StatusInfo { code: StatusCode::Disconnect, reason: 0, message: String::new() };
        assert_eq!(
            signal_for(&ClientEvent::Status(info)),
            RealtimeSignal::Status(StatusSignal { code: 1025, reason: 0, message: String::new() })
        );
        let joined = ClientEvent::Joined { room: "r".into(), actor: 2, actors: vec![1, 2], rejoined: false };
        let joined_signal = RealtimeSignal::Joined(JoinedSignal { room: "r".into(), actor: 2, actors: vec![1, 2] });
        assert_eq!(signal_for(&joined), joined_signal);
        assert_eq!(signals_for(&joined), std::slice::from_ref(&joined_signal));
        // A rejoin is a join first, then said to be one.
        let rejoined = ClientEvent::Joined { room: "r".into(), actor: 2, actors: vec![1, 2], rejoined: true };
        assert_eq!(signal_for(&rejoined), joined_signal);
        assert_eq!(
            signals_for(&rejoined),
            [joined_signal, RealtimeSignal::Rejoined(RejoinedSignal { room: "r".into(), actor: 2 })]
        );
        let failed = ClientEvent::Failed {
            op: matchmaking::OP_CREATE_ROOM,
            return_code: matchmaking::GAME_ID_ALREADY_EXISTS,
            message: "exists".into(),
        };
        assert_eq!(
            signal_for(&failed),
            RealtimeSignal::Failed(FailedSignal { op: 227, return_code: 32766, message: "exists".into() })
        );
        let mut params = Params::new();
        params.insert(crate::codes::room::DATA, Value::IntArray(vec![1, 2]));
        let event =
            ClientEvent::Event { event: EventData { code: 3, sender: 2, params: params.clone() }, encrypted: true };
        assert_eq!(
            signal_for(&event),
            RealtimeSignal::Event(EventSignal {
                code: 3,
                data: vec![(GdValue::Int(245), GdValue::PackedInt32Array(vec![1, 2]))],
                sender: 2,
                was_encrypted: true,
            })
        );
        let response = OperationResponse { op_code: 253, return_code: 0, debug_message: Some(String::new()), params };
        match signal_for(&ClientEvent::Response { response, encrypted: false }) {
            RealtimeSignal::Response(response) => {
                assert_eq!((response.op_code, response.return_code, response.debug_message), (253, 0, None));
                assert!(!response.was_encrypted);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raise_options_come_from_a_dictionary_of_names() {
        assert_eq!(raise_options(&[]).unwrap(), RaiseEventOptions::default());
        let raise = raise_options(&named(vec![
            ("receivers", GdValue::Int(room::RECEIVERS_ALL)),
            ("target_actors", GdValue::PackedInt32Array(vec![2, 3])),
            ("interest_group", GdValue::Int(255)),
            ("cache", GdValue::Int(i64::from(room::CACHE_ADD))),
        ]))
        .unwrap();
        let expected = RaiseEventOptions {
            receivers: sealnet::rooms::RECEIVERS_ALL,
            target_actors: vec![2, 3],
            interest_group: 255,
            cache: sealnet::rooms::CACHE_ADD,
        };
        assert_eq!(raise, expected);
        for cache in room::CACHE_OPTIONS {
            let raise = raise_options(&named(vec![("cache", GdValue::Int(i64::from(cache)))])).unwrap();
            assert_eq!(raise.cache, cache);
        }
        let from_array =
            raise_options(&named(vec![("target_actors", GdValue::Array(vec![GdValue::Int(4), GdValue::Int(1)]))]))
                .unwrap();
        assert_eq!(from_array.target_actors, [4, 1]);
        let from_int64 = raise_options(&named(vec![("target_actors", GdValue::PackedInt64Array(vec![5]))])).unwrap();
        assert_eq!(from_int64.target_actors, [5]);
    }

    #[test]
    fn raise_options_refuse_wrong_types_ranges_and_unknown_keys_naming_them() {
        let refusals = [
            (named(vec![("receivers", GdValue::Int(3))]), "raise options: receivers must be 0 (Others)"),
            (named(vec![("receivers", text("all"))]), "receivers must be an int, not String"),
            (
                named(vec![("target_actors", GdValue::PackedInt32Array(vec![2, 0]))]),
                "target_actors[1] must be an actor number",
            ),
            (
                named(vec![("target_actors", GdValue::Array(vec![text("2")]))]),
                "target_actors[0] must be an int, not String",
            ),
            (named(vec![("target_actors", GdValue::PackedInt64Array(vec![1 << 31]))]), "not 2147483648"),
            (
                named(vec![("target_actors", GdValue::Int(2))]),
                "target_actors must be a PackedInt32Array or an Array of ints",
            ),
            (named(vec![("interest_group", GdValue::Int(256))]), "interest_group must be from 0 (no group) to 255"),
            (named(vec![("interest_group", GdValue::Bool(true))]), "interest_group must be an int, not bool"),
            (named(vec![("cache", GdValue::Int(5))]), "cache must be CACHE_NONE (0), CACHE_ADD (4), CACHE_REMOVE (6)"),
            (named(vec![("cache", GdValue::Int(-1))]), "not -1"),
            (named(vec![("group", GdValue::Int(1))]), "unknown key \"group\" (receivers, target_actors"),
            (vec![(GdValue::Int(1), GdValue::Int(1))], "raise options: keys are names, not int"),
        ];
        for (entries, expected) in refusals {
            let error = raise_options(&entries).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidArgument, "{entries:?}");
            assert!(error.message.contains(expected), "{}: {expected}", error.message);
        }
    }

    #[test]
    fn interest_groups_tell_a_step_left_out_from_every_group() {
        assert_eq!(interest_groups("add", &GdValue::Nil).unwrap(), None);
        assert_eq!(interest_groups("add", &GdValue::PackedByteArray(Vec::new())).unwrap(), Some(Vec::new()));
        assert_eq!(interest_groups("add", &GdValue::Array(Vec::new())).unwrap(), Some(Vec::new()));
        assert_eq!(interest_groups("add", &GdValue::PackedByteArray(vec![1, 255])).unwrap(), Some(vec![1, 255]));
        let ints = GdValue::Array(vec![GdValue::Int(3), GdValue::Int(7)]);
        assert_eq!(interest_groups("remove", &ints).unwrap(), Some(vec![3, 7]));
        assert_eq!(interest_groups("add", &GdValue::PackedInt32Array(vec![9])).unwrap(), Some(vec![9]));
        let refusals = [
            (GdValue::PackedByteArray(vec![2, 0]), "add[1] must be an interest group from 1 to 255, not 0"),
            (GdValue::Array(vec![GdValue::Int(256)]), "add[0] must be an interest group from 1 to 255, not 256"),
            (GdValue::Array(vec![text("1")]), "add[0] must be an int, not String"),
            (GdValue::Int(1), "add must be null (leave the step out), or a PackedByteArray"),
        ];
        for (value, expected) in refusals {
            let error = interest_groups("add", &value).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidArgument);
            assert!(error.message.contains(expected), "{}: {expected}", error.message);
        }
    }

    #[test]
    fn properties_are_tables_and_an_empty_expected_means_none() {
        // Int keys 0 to 255 would make a map as parameters; properties are always a table.
        let changes =
            properties_arg("changes", &[(GdValue::Int(5), text("five")), (text("gone"), GdValue::Nil)]).unwrap();
        assert_eq!(
            changes,
            Table::from_iter([(Key::Int(5), Value::String("five".into())), (string_key("gone"), Value::Null)])
        );
        let byte_key =
            properties_arg("changes", &[(GdValue::Sealnet(Typed::Byte(room::PROP_IS_OPEN)), GdValue::Bool(false))]);
        assert_eq!(byte_key.unwrap(), Table::from_iter([(Key::Byte(253), Value::Bool(false))]));
        assert_eq!(expected_arg(&[]).unwrap(), None);
        // A null expected value: the key must be absent.
        let expected = expected_arg(&[(text("round"), GdValue::Nil)]).unwrap();
        assert_eq!(expected, Some(Table::from_iter([(string_key("round"), Value::Null)])));
        let error = properties_arg("changes", &[(text("x"), GdValue::Unsupported("Callable".into()))]).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert!(error.message.starts_with("changes[\"x\"] is a Callable"), "{}", error.message);
        let error = expected_arg(&[(text("a"), GdValue::Int(1)), (GdValue::StringName("a".into()), GdValue::Int(2))]);
        assert!(error.unwrap_err().message.contains("the dictionary expected has key \"a\" twice"));
        assert_eq!(actor_arg("actor", 1).unwrap(), 1);
        assert_eq!(actor_arg("actor", i64::from(i32::MAX)).unwrap(), i32::MAX);
        for bad in [0, -1, 1 << 31] {
            let error = actor_arg("actor", bad).unwrap_err();
            assert_eq!(error.message, format!("actor must be an actor number (1 to 2147483647), not {bad}"));
        }
    }

    fn field<'a>(entry: &'a GdValue, name: &str) -> Option<&'a GdValue> {
        let GdValue::Dictionary(entries) = entry else { panic!("not a Dictionary: {entry:?}") };
        entries.iter().find(|(key, _)| *key == text(name)).map(|(_, value)| value)
    }

    #[test]
    fn players_and_listed_rooms_become_dictionaries_of_names() {
        let properties = Table::from_iter([
            (Key::Byte(room::PLAYER_PROP_NICKNAME), Value::String("ann".into())),
            (Key::Byte(room::PLAYER_PROP_USER_ID), Value::String("user-ann".into())),
            (Key::Byte(room::PLAYER_PROP_IS_INACTIVE), Value::Bool(true)),
            (string_key("team"), Value::String("red".into())),
        ]);
        let player = Player { actor: 3, properties };
        let entry = player_entry(&player);
        assert_eq!(field(&entry, "nickname"), Some(&text("ann")));
        assert_eq!(field(&entry, "user_id"), Some(&text("user-ann")));
        assert_eq!(field(&entry, "inactive"), Some(&GdValue::Bool(true)));
        let Some(GdValue::Dictionary(properties)) = field(&entry, "properties") else { panic!("{entry:?}") };
        assert!(properties.contains(&(text("team"), text("red"))), "{properties:?}");
        assert!(properties.contains(&(GdValue::Int(255), text("ann"))), "the server's under int keys: {properties:?}");
        let unnamed = player_entry(&Player { actor: 4, properties: Table::new() });
        assert_eq!(field(&unnamed, "nickname"), Some(&text("")));
        assert_eq!(field(&unnamed, "user_id"), Some(&text("")));
        assert_eq!(field(&unnamed, "inactive"), Some(&GdValue::Bool(false)));

        let listed = ListedRoom {
            name: "arena".into(),
            players: 2,
            max_players: 4,
            open: false,
            properties: Table::from_iter([(string_key("map"), Value::String("dust".into()))]),
        };
        let entry = listed_room_entry(&listed);
        assert_eq!(field(&entry, "players"), Some(&GdValue::Int(2)));
        assert_eq!(field(&entry, "max_players"), Some(&GdValue::Int(4)));
        assert_eq!(field(&entry, "open"), Some(&GdValue::Bool(false)));
        assert_eq!(field(&entry, "properties"), Some(&GdValue::Dictionary(vec![(text("map"), text("dust"))])));
    }

    fn room_event(code: u8, sender: i32, params: Params) -> ClientEvent {
        ClientEvent::Event { event: EventData { code, sender, params }, encrypted: true }
    }

    fn changed(target: i32, changes: Table) -> ClientEvent {
        let mut params = Params::new();
        params.insert(room::TARGET_ACTOR, target);
        params.insert(room::PROPERTIES, Value::Table(changes));
        params.insert(room::ACTOR_NR, 1);
        room_event(room::EVENT_PROPERTIES_CHANGED, 1, params)
    }

    /// The signals after the `event_received` every event has.
    fn derived(event: &ClientEvent) -> Vec<RealtimeSignal> {
        let mut signals = signals_for(event);
        assert!(matches!(signals.remove(0), RealtimeSignal::Event(_)), "event_received comes first");
        signals
    }

    #[test]
    fn room_events_are_followed_by_the_signals_they_stand_for() {
        let round = Table::from_iter([(string_key("round"), Value::Int(2)), (string_key("gone"), Value::Null)]);
        assert_eq!(
            derived(&changed(0, round.clone())),
            // In the table's key order.
            [RealtimeSignal::RoomPropertiesChanged(vec![
                (text("gone"), GdValue::Nil),
                (text("round"), GdValue::Int(2))
            ])]
        );
        assert_eq!(
            derived(&changed(3, round)),
            [RealtimeSignal::PlayerPropertiesChanged {
                actor: 3,
                changes: vec![(text("gone"), GdValue::Nil), (text("round"), GdValue::Int(2))],
            }]
        );
        // A handover is a change of the room's properties, then said to be one.
        let handover = Table::from_iter([(Key::Byte(room::PROP_MASTER_CLIENT_ID), Value::Int(2))]);
        let key = GdValue::Int(i64::from(room::PROP_MASTER_CLIENT_ID));
        assert_eq!(
            derived(&changed(0, handover)),
            [
                RealtimeSignal::RoomPropertiesChanged(vec![(key, GdValue::Int(2))]),
                RealtimeSignal::MasterClientChanged(2),
            ]
        );
        // A change without a target is the room's.
        let mut untargeted = Params::new();
        untargeted.insert(room::PROPERTIES, Value::Table(Table::from_iter([(string_key("a"), Value::Int(1))])));
        let signals = derived(&room_event(room::EVENT_PROPERTIES_CHANGED, 1, untargeted));
        assert_eq!(signals, [RealtimeSignal::RoomPropertiesChanged(vec![(text("a"), GdValue::Int(1))])]);
        // A master client that leaves hands the role on in its Leave event.
        let mut leave = Params::new();
        leave.insert(room::MASTER_CLIENT_ID, 3);
        assert_eq!(derived(&room_event(room::EVENT_LEAVE, 1, leave)), [RealtimeSignal::MasterClientChanged(3)]);
        assert!(derived(&room_event(room::EVENT_LEAVE, 2, Params::new())).is_empty());
        for code in [room::EVENT_GAME_LIST, room::EVENT_GAME_LIST_UPDATE] {
            assert_eq!(derived(&room_event(code, 0, Params::new())), [RealtimeSignal::RoomListUpdated]);
        }
        // Anything else, a client's own event code among them, is event_received alone.
        assert!(derived(&room_event(room::EVENT_PROPERTIES_CHANGED, 1, Params::new())).is_empty());
        assert!(derived(&room_event(room::EVENT_JOIN, 2, Params::new())).is_empty());
        let mut raised = Params::new();
        raised.insert(room::PROPERTIES, Value::Table(Table::new()));
        assert!(derived(&room_event(42, 2, raised)).is_empty());
        assert_eq!(signals_for(&ClientEvent::StateChanged(ClientState::Joined)), [RealtimeSignal::State(8)]);
    }
}

/// The engine-free layer against the reference server running in-process on 127.0.0.1 (a server of
/// role "all": its own master, so the lobby is there too), driven as a script drives the node.
#[cfg(test)]
mod server_tests {
    use std::sync::Arc;
    use std::time::Instant;

    use sealnet_server::auth::{AuthContext, AuthProvider, AuthRequest, ProviderFuture, WebhookOutcome};

    use super::*;
    use crate::codes::{format_key, matchmaking, ErrorCode};
    use crate::test_server::TestServer;

    /// The longest one wait may take, so a broken connection fails the test instead of hanging it.
    const WAIT: Duration = Duration::from_secs(20);

    /// Admits every custom authentication: its connection token is the nickname, "user-" and it the
    /// user id.
    struct Named;

    impl AuthProvider for Named {
        fn name(&self) -> &str {
            "named"
        }

        fn authenticate(&self, request: AuthRequest) -> ProviderFuture {
            let name = String::from_utf8_lossy(&request.connection_token).into_owned();
            let context = AuthContext { user_id: format!("user-{name}"), nickname: name, data: Vec::new() };
            Box::pin(async move { WebhookOutcome::Accepted(context) })
        }
    }

    /// A server that publishes user ids and knows players by the names they log in with.
    fn server() -> TestServer {
        TestServer::start_with(
            |mut config| {
                config.auth.publish_user_id = true;
                config
            },
            |server| server.with_auth_provider(Arc::new(Named)),
        )
    }

    /// A client and the signals it has emitted and the test has not taken yet, as the node emits them.
    struct Player {
        name: &'static str,
        client: Realtime,
        seen: Vec<RealtimeSignal>,
    }

    impl Player {
        /// Logged in as `name` at `server`, pinning its key: at the master.
        fn logged_in(server: &TestServer, name: &'static str) -> Player {
            let settings = RealtimeSettings {
                master_addresses: vec![server.address.clone()],
                master_key_pin: format_key(Some(server.server().public_key())),
                app_id: "demo".into(),
                ..RealtimeSettings::default()
            };
            let mut values = AuthValues::new(AuthType::Custom);
            values.set_connection_token(name.as_bytes()).unwrap();
            let mut player = Player { name, client: Realtime::new(), seen: Vec::new() };
            player.client.connect(&settings, Some(&values)).unwrap();
            player.until("the login", |player| player.client.state() == ClientState::ConnectedToMasterServer);
            player
        }

        /// Services the client as the node's `_process` does until `done` holds; waits on the
        /// connection in between, so it wakes as soon as something arrives. Fails after [`WAIT`].
        fn until(&mut self, what: &str, mut done: impl FnMut(&mut Player) -> bool) {
            let deadline = Instant::now() + WAIT;
            loop {
                while let Some(event) = self.client.service() {
                    self.seen.extend(signals_for(&event));
                }
                if done(self) {
                    return;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match self.client.wait(left) {
                    WaitOutcome::Ready => {}
                    WaitOutcome::TimedOut => panic!("{}: timed out waiting for {what}; saw {:?}", self.name, self.seen),
                    WaitOutcome::NotConnected => {
                        while let Some(event) = self.client.service() {
                            self.seen.extend(signals_for(&event));
                        }
                        assert!(
                            done(self),
                            "{}: the connection ended waiting for {what}; saw {:?}",
                            self.name,
                            self.seen
                        );
                        return;
                    }
                }
            }
        }

        /// Takes the first signal `find` accepts out of those seen, servicing until one comes.
        fn take<T>(&mut self, what: &str, mut find: impl FnMut(&RealtimeSignal) -> Option<T>) -> T {
            let mut found = None;
            self.until(what, |player| {
                if let Some(index) = player.seen.iter().position(|signal| find(signal).is_some()) {
                    found = find(&player.seen.remove(index));
                }
                found.is_some()
            });
            found.expect("until returned")
        }

        fn joined(&mut self) -> JoinedSignal {
            let joined = self.take("joined", |signal| match signal {
                RealtimeSignal::Joined(joined) => Some(joined.clone()),
                RealtimeSignal::Failed(failed) => panic!("failed instead of joining: {failed:?}"),
                _ => None,
            });
            assert_eq!(self.client.state(), ClientState::Joined);
            joined
        }

        fn response(&mut self, op: u8) -> ResponseSignal {
            self.take("an operation response", |signal| match signal {
                RealtimeSignal::Response(response) if response.op_code == i64::from(op) => Some(response.clone()),
                _ => None,
            })
        }

        /// The codes of the client events (0 to 199) seen and not taken, in the order they came.
        fn client_events(&self) -> Vec<i64> {
            let events = self.seen.iter().filter_map(|signal| match signal {
                RealtimeSignal::Event(event) if event.code <= room::MAX_CLIENT_EVENT_CODE => Some(event.code),
                _ => None,
            });
            events.collect()
        }

        /// Services until event `code` is among those seen.
        fn has_seen_event(&mut self, code: i64) {
            self.until(&format!("event {code}"), |player| player.client_events().contains(&code));
        }

        fn event(&self, code: i64) -> EventSignal {
            let found = self.seen.iter().find_map(|signal| match signal {
                RealtimeSignal::Event(event) if event.code == code => Some(event.clone()),
                _ => None,
            });
            found.unwrap_or_else(|| panic!("{}: no event {code} in {:?}", self.name, self.seen))
        }
    }

    fn text(value: &str) -> GdValue {
        GdValue::String(value.into())
    }

    fn named(entries: Vec<(&str, GdValue)>) -> Vec<(GdValue, GdValue)> {
        entries.into_iter().map(|(key, value)| (text(key), value)).collect()
    }

    /// The value under `key` in a Dictionary's entries.
    fn entry<'a>(entries: &'a [(GdValue, GdValue)], key: &GdValue) -> Option<&'a GdValue> {
        entries.iter().find(|(found, _)| found == key).map(|(_, value)| value)
    }

    /// The value under `name` in a Dictionary of names (a player, a listed room).
    fn field<'a>(dictionary: &'a GdValue, name: &str) -> Option<&'a GdValue> {
        let GdValue::Dictionary(entries) = dictionary else { panic!("not a Dictionary: {dictionary:?}") };
        entry(entries, &text(name))
    }

    fn dictionary(value: Option<&GdValue>) -> &[(GdValue, GdValue)] {
        match value {
            Some(GdValue::Dictionary(entries)) => entries,
            other => panic!("not a Dictionary: {other:?}"),
        }
    }

    const ROOM: &str = "godot-room-properties";
    /// Event codes: cached for later joiners, raised live, to an interest group, to one actor, and
    /// the marker raised to everyone after them.
    const CACHED: i64 = 11;
    const LIVE: i64 = 12;
    const GROUPED: i64 = 13;
    const TARGETED: i64 = 14;
    const MARKER: i64 = 15;
    const GROUP: u8 = 7;

    #[test]
    fn a_room_session_with_properties_players_master_handover_targeted_and_cached_events_and_the_lobby() {
        let server = server();
        let mut watcher = Player::logged_in(&server, "watcher");
        watcher.client.join_lobby().unwrap();
        assert_eq!(watcher.response(matchmaking::OP_JOIN_LOBBY).return_code, 0);

        // Created with custom properties, one of them listed in the lobby, and a PlayerTtl.
        let mut host = Player::logged_in(&server, "host");
        let options = room_options(&named(vec![
            ("max_players", GdValue::Int(4)),
            ("custom_properties", GdValue::Dictionary(named(vec![("map", text("dust")), ("round", GdValue::Int(0))]))),
            ("listed_in_lobby", GdValue::PackedStringArray(vec!["map".into()])),
            ("player_ttl_ms", GdValue::Int(30_000)),
        ]))
        .unwrap();
        host.client.create_room(ROOM, &options).unwrap();
        let host_actor = host.joined().actor;
        let properties = host.client.room_properties();
        assert_eq!(entry(&properties, &text("map")), Some(&text("dust")), "{properties:?}");
        assert_eq!(entry(&properties, &GdValue::Int(i64::from(room::PROP_PLAYER_TTL))), Some(&GdValue::Int(30_000)));
        assert_eq!(entry(&properties, &GdValue::Int(i64::from(room::PROP_MAX_PLAYERS))), Some(&GdValue::Int(4)));
        assert_eq!(host.client.master_client(), host_actor);
        assert!(!host.client.is_rejoining());
        let refused = host.client.join_lobby().unwrap_err();
        assert_eq!(refused.code, ErrorCode::WrongState, "the lobby is at the master: {refused}");

        // Another player joins and reads the room as its creator made it, with the players' names.
        let mut guest = Player::logged_in(&server, "guest");
        guest.client.join_room(ROOM).unwrap();
        let guest_actor = guest.joined().actor;
        assert_eq!(entry(&guest.client.room_properties(), &text("round")), Some(&GdValue::Int(0)));
        assert_eq!(guest.client.master_client(), host_actor);
        let players = guest.client.players();
        assert_eq!(players.len(), 2, "{players:?}");
        let creator = entry(&players, &GdValue::Int(host_actor)).expect("the creator is a player");
        assert_eq!(field(creator, "nickname"), Some(&text("host")));
        assert_eq!(field(creator, "user_id"), Some(&text("user-host")));
        assert_eq!(field(creator, "inactive"), Some(&GdValue::Bool(false)));
        let own = entry(&players, &GdValue::Int(guest_actor)).expect("this client is a player too");
        assert_eq!(field(own, "nickname"), Some(&text("guest")));
        host.until("the guest in the host's view", |host| host.client.players().len() == 2);

        // Compare-and-set that matches: everyone, the setter too, gets the change.
        let expected_zero = named(vec![("round", GdValue::Int(0))]);
        host.client.set_room_properties(&named(vec![("round", GdValue::Int(1))]), &expected_zero).unwrap();
        assert_eq!(host.response(room::OP_SET_PROPERTIES).return_code, 0);
        for player in [&mut host, &mut guest] {
            let changes = player.take("room_properties_changed", |signal| match signal {
                RealtimeSignal::RoomPropertiesChanged(changes) => Some(changes.clone()),
                _ => None,
            });
            assert_eq!(changes, named(vec![("round", GdValue::Int(1))]), "{}", player.name);
            assert_eq!(entry(&player.client.room_properties(), &text("round")), Some(&GdValue::Int(1)));
        }
        // One that does not: a conflict, and nothing changes.
        guest.client.set_room_properties(&named(vec![("round", GdValue::Int(2))]), &expected_zero).unwrap();
        let conflict = guest.response(room::OP_SET_PROPERTIES);
        assert_eq!(conflict.return_code, i64::from(room::PROPERTIES_CONFLICT), "{conflict:?}");
        assert_eq!(entry(&guest.client.room_properties(), &text("round")), Some(&GdValue::Int(1)));

        // A player's own properties, which the others see change.
        guest.client.set_player_properties(guest_actor, &named(vec![("team", text("red"))]), &[]).unwrap();
        let (actor, changes) = host.take("player_properties_changed", |signal| match signal {
            RealtimeSignal::PlayerPropertiesChanged { actor, changes } => Some((*actor, changes.clone())),
            _ => None,
        });
        assert_eq!((actor, changes), (guest_actor, named(vec![("team", text("red"))])));
        let in_view = host.client.players();
        let properties = dictionary(field(entry(&in_view, &GdValue::Int(guest_actor)).unwrap(), "properties"));
        assert_eq!(entry(properties, &text("team")), Some(&text("red")));
        let late_change = host.seen.iter().find(|signal| matches!(signal, RealtimeSignal::RoomPropertiesChanged(_)));
        assert_eq!(late_change, None, "the conflicting change reached no one");

        // The master client role handed over: both see it.
        host.client.set_master_client(guest_actor).unwrap();
        for player in [&mut host, &mut guest] {
            let master = player.take("master_client_changed", |signal| match signal {
                RealtimeSignal::MasterClientChanged(actor) => Some(*actor),
                _ => None,
            });
            assert_eq!(master, guest_actor, "{}", player.name);
            assert_eq!(player.client.master_client(), guest_actor);
        }

        // A cached event, which the guest gets live and a later joiner before anything live.
        let cache = named(vec![("cache", GdValue::Int(i64::from(room::CACHE_ADD)))]);
        host.client.raise_event_with(CACHED, &text("for later"), &cache, true).unwrap();
        guest.has_seen_event(CACHED);
        let mut late = Player::logged_in(&server, "late");
        late.client.join_room(ROOM).unwrap();
        let late_actor = late.joined().actor;
        host.until("the late joiner in the host's view", |host| host.client.players().len() == 3);
        host.client.raise_event(LIVE, &GdValue::Nil, room::RECEIVERS_OTHERS, true).unwrap();
        late.has_seen_event(LIVE);
        assert_eq!(late.client_events(), [CACHED, LIVE], "the cached event first");
        let cached = late.event(CACHED);
        assert_eq!((cached.sender, cached.was_encrypted), (host_actor, true));
        assert_eq!(entry(&cached.data, &GdValue::Int(i64::from(room::DATA))), Some(&text("for later")));

        // To an interest group only its subscriber is in, and to one actor: they reach the late
        // joiner alone. The marker, raised to everyone after them, shows the others had nothing.
        late.client.change_groups(&GdValue::Nil, &GdValue::PackedByteArray(vec![GROUP])).unwrap();
        assert_eq!(late.response(room::OP_CHANGE_GROUPS).return_code, 0);
        let group = named(vec![("interest_group", GdValue::Int(i64::from(GROUP)))]);
        host.client.raise_event_with(GROUPED, &text("to the group"), &group, true).unwrap();
        let target = named(vec![("target_actors", GdValue::PackedInt32Array(vec![late_actor as i32]))]);
        host.client.raise_event_with(TARGETED, &text("to late"), &target, false).unwrap();
        let everyone = named(vec![("receivers", GdValue::Int(room::RECEIVERS_ALL))]);
        host.client.raise_event_with(MARKER, &GdValue::Nil, &everyone, true).unwrap();
        for player in [&mut host, &mut guest, &mut late] {
            player.has_seen_event(MARKER);
        }
        assert_eq!(late.client_events(), [CACHED, LIVE, GROUPED, TARGETED, MARKER]);
        assert!(!late.event(TARGETED).was_encrypted);
        assert_eq!(guest.client_events(), [CACHED, LIVE, MARKER], "the guest got neither");
        assert_eq!(host.client_events(), [MARKER], "nor did the sender");

        // The lobby lists the room with its listed property only, and the players in it.
        watcher.until("the room in the lobby's list with its three players", |watcher| {
            let list = watcher.client.room_list();
            entry(&list, &text(ROOM)).is_some_and(|listed| field(listed, "players") == Some(&GdValue::Int(3)))
        });
        let list = watcher.client.room_list();
        let listed = entry(&list, &text(ROOM)).unwrap();
        assert_eq!(field(listed, "max_players"), Some(&GdValue::Int(4)));
        assert_eq!(field(listed, "open"), Some(&GdValue::Bool(true)));
        let listed_properties = dictionary(field(listed, "properties"));
        assert_eq!(entry(listed_properties, &text("map")), Some(&text("dust")));
        assert_eq!(entry(listed_properties, &text("round")), None, "not listed in the lobby");
        assert!(watcher.seen.contains(&RealtimeSignal::RoomListUpdated), "room_list_updated came with it");
        let refused = watcher.client.set_room_properties(&named(vec![("a", GdValue::Int(1))]), &[]).unwrap_err();
        assert_eq!(refused.code, ErrorCode::WrongState, "properties need a room: {refused}");
        watcher.client.leave_lobby().unwrap();
        assert!(watcher.client.room_list().is_empty(), "the list empties on leaving the lobby");

        for player in [&mut watcher, &mut host, &mut guest, &mut late] {
            assert!(!player.client.is_rejoining());
            player.client.shutdown();
        }
    }
}
