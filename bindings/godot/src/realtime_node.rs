//! The `SealnetRealtimeClient` node: GDScript's view of the realtime client (Photon's
//! LoadBalancingClient). It logs in at a master, asks it for rooms, and follows the master's answers to
//! the game servers by itself.
//!
//! In a room it keeps the room's view (properties, players, master client) and in the lobby the room
//! list, which the `get_*` readers copy into Dictionaries; a player cut off in a room with a PlayerTtl
//! comes back by itself (`rejoined`).
//!
//! What the client reports is emitted as signals while it is serviced: from `_process`, from
//! `_physics_process`, or only when the script calls `service()` (`service_mode`), always on the main
//! thread. Methods return an error code (0 = OK, the `ERR_*` constants) and print the reason with
//! `push_error` when they refuse. Like every Godot object, the node is used from the main thread
//! only; what its methods return is a copy the script owns.

use godot::builtin::{
    AnyDictionary, Callable, GString, PackedByteArray, PackedInt32Array, PackedStringArray, VarDictionary, Variant,
};
use godot::classes::{INode, Node};
use godot::global::godot_error;
use godot::obj::{Base, WithUserSignals};
use godot::register::{godot_api, GodotClass};

use sealnet::protocol::status::StatusCode;

use crate::client;
use crate::codes::{self, auth, client_state, matchmaking, room, ErrorCode, Failure};
use crate::realtime::{self, Realtime, RealtimeSettings, RealtimeSignal, RoomSetup};
use crate::value::GdValue;
use crate::variant::{self, Types};

/// `service_mode`: serviced from `_process`, once a frame (the default).
const SERVICE_PROCESS: i64 = 0;
/// `service_mode`: serviced from `_physics_process`, once a physics tick.
const SERVICE_PHYSICS: i64 = 1;
/// `service_mode`: only when the script calls `service()`.
const SERVICE_MANUAL: i64 = 2;

/// A realtime client. Add it to the scene tree (an autoload suits it: leaving the tree ends the
/// connection).
#[derive(GodotClass)]
#[class(base = Node)]
pub struct SealnetRealtimeClient {
    base: Base<Node>,
    /// Master addresses ("host:port"): a login tries them in order until one answers.
    #[export]
    master_addresses: PackedStringArray,
    /// The masters' public key as 64 hex digits; when set, a master presenting another key is refused.
    /// Every game server's key comes from the master's (encrypted) answer and is always required.
    #[export]
    master_key_pin: GString,
    /// The application id the masters know.
    #[export]
    app_id: GString,
    /// The game's version sent to every server (at most 32 bytes); "" sends the library's.
    #[export]
    app_version: GString,
    /// With nothing received for this long the connection is considered lost (status 1040).
    #[export(range = (1.0, 120000.0, or_greater, suffix = "ms"))]
    disconnect_timeout_ms: i64,
    /// How often the peer pings the server it is connected to.
    #[export(range = (1.0, 60000.0, or_greater, suffix = "ms"))]
    ping_interval_ms: i64,
    /// The newest protocol version offered to each server (as `SealnetPeer.max_protocol_version`).
    #[export(range = (1.0, 2.0))]
    max_protocol_version: i64,
    /// When the client is serviced (its signals emitted): `SERVICE_PROCESS`, `SERVICE_PHYSICS` or
    /// `SERVICE_MANUAL` (only by `service()`).
    #[export(enum = (Process = 0, Physics = 1, Manual = 2))]
    service_mode: i64,
    client: Realtime,
    /// The custom types scripts registered with `register_type`.
    types: Types,
}

#[godot_api]
impl INode for SealnetRealtimeClient {
    fn init(base: Base<Node>) -> Self {
        let defaults = RealtimeSettings::default();
        SealnetRealtimeClient {
            base,
            master_addresses: PackedStringArray::new(),
            master_key_pin: GString::new(),
            app_id: GString::new(),
            app_version: GString::new(),
            disconnect_timeout_ms: defaults.disconnect_timeout_ms,
            ping_interval_ms: defaults.ping_interval_ms,
            max_protocol_version: defaults.max_protocol_version,
            service_mode: SERVICE_PROCESS,
            client: Realtime::new(),
            types: Types::default(),
        }
    }

    fn process(&mut self, _delta: f64) {
        if self.service_mode == SERVICE_PROCESS {
            self.service();
        }
    }

    fn physics_process(&mut self, _delta: f64) {
        if self.service_mode == SERVICE_PHYSICS {
            self.service();
        }
    }

    fn exit_tree(&mut self) {
        self.client.shutdown();
    }
}

#[godot_api]
impl SealnetRealtimeClient {
    /// The client's state changed: one of the `STATE_*` constants (Photon's ClientState numbers).
    #[signal]
    fn state_changed(state: i64);

    /// The client is in `room` as actor `actor`; `actors` are everyone in it, this client included.
    #[signal]
    fn joined(room: GString, actor: i64, actors: PackedInt32Array);

    /// Emitted right after `joined` when the client came back to `room` by itself, as the same
    /// `actor`, after losing the connection within the room's PlayerTtl. The room view holds what it
    /// missed of the properties. A rejoin that fails ends in `failed` with `OP_JOIN_ROOM` and
    /// `RETURN_JOIN_FAILED_WITH_REJOINER_NOT_FOUND`.
    #[signal]
    fn rejoined(room: GString, actor: i64);

    /// Emitted right after the `event_received` of a room properties change (`EVENT_PROPERTIES_CHANGED`),
    /// to every player, the one who set them too: the keys that changed with their new values
    /// (`null`: removed; the server's under int keys `ROOM_PROP_*`). `get_room_properties()` holds them
    /// already.
    #[signal]
    fn room_properties_changed(changes: VarDictionary);

    /// As `room_properties_changed`, for the properties of player `actor`.
    #[signal]
    fn player_properties_changed(actor: i64, changes: VarDictionary);

    /// The master client is now `actor`: handed over (`set_master_client`), or passed on when the
    /// master client left. Emitted after the signal of the event that says so.
    #[signal]
    fn master_client_changed(actor: i64);

    /// In the lobby, the room list arrived or changed (at most about once a second):
    /// `get_room_list()` holds the new list.
    #[signal]
    fn room_list_updated();

    /// A request failed: `op` (`OP_JOIN_ROOM`, `OP_CREATE_ROOM`, `OP_JOIN_RANDOM_ROOM`,
    /// `OP_AUTHENTICATE`, ...; 0 when the next server could not even be reached), the server's
    /// `return_code` (`RETURN_*`) and its message. After a failed room request the client is back at the
    /// master (`STATE_CONNECTED_TO_MASTER_SERVER`); after a failed authentication it disconnects.
    #[signal]
    fn failed(op: i64, return_code: i64, message: GString);

    /// A room event, as `SealnetPeer.event_received`: `data[PARAM_DATA]` is what the sender raised.
    #[signal]
    fn event_received(code: i64, data: VarDictionary, sender: i64, was_encrypted: bool);

    /// A status of the connection underneath (to a master or a game server): 1024 Connect, 1025
    /// Disconnect, 1048 EncryptionEstablished, ... The client changes servers by itself, so a
    /// Disconnect is not the end of the session: `state_changed` says where it stands.
    #[signal]
    fn status_changed(code: i64);

    /// Emitted right after `status_changed`, with the disconnect reason number (0 when none) and a text.
    #[signal]
    fn status_detail(code: i64, reason: i64, message: GString);

    /// The answer to an operation the script sent itself (`send_operation`), to `raise_event` and
    /// `raise_event_with`, to the property setters (`OP_SET_PROPERTIES`: 0, or
    /// `RETURN_PROPERTIES_CONFLICT` when the expected values did not match), to `change_groups` and to
    /// `join_lobby` / `leave_lobby`.
    #[signal]
    fn operation_response(op_code: i64, return_code: i64, data: VarDictionary);

    /// Emitted right after `operation_response` when the server explained its answer.
    #[signal]
    fn operation_debug_message(op_code: i64, return_code: i64, message: GString);

    #[constant]
    const STATE_PEER_CREATED: i64 = client_state::PEER_CREATED;
    #[constant]
    const STATE_AUTHENTICATING: i64 = client_state::AUTHENTICATING;
    #[constant]
    const STATE_DISCONNECTING_FROM_MASTER_SERVER: i64 = client_state::DISCONNECTING_FROM_MASTER_SERVER;
    #[constant]
    const STATE_CONNECTING_TO_GAME_SERVER: i64 = client_state::CONNECTING_TO_GAME_SERVER;
    #[constant]
    const STATE_CONNECTED_TO_GAME_SERVER: i64 = client_state::CONNECTED_TO_GAME_SERVER;
    #[constant]
    const STATE_JOINING: i64 = client_state::JOINING;
    #[constant]
    const STATE_JOINED: i64 = client_state::JOINED;
    #[constant]
    const STATE_LEAVING: i64 = client_state::LEAVING;
    #[constant]
    const STATE_DISCONNECTING_FROM_GAME_SERVER: i64 = client_state::DISCONNECTING_FROM_GAME_SERVER;
    #[constant]
    const STATE_CONNECTING_TO_MASTER_SERVER: i64 = client_state::CONNECTING_TO_MASTER_SERVER;
    #[constant]
    const STATE_DISCONNECTING: i64 = client_state::DISCONNECTING;
    #[constant]
    const STATE_DISCONNECTED: i64 = client_state::DISCONNECTED;
    #[constant]
    const STATE_CONNECTED_TO_MASTER_SERVER: i64 = client_state::CONNECTED_TO_MASTER_SERVER;

    #[constant]
    const SERVICE_PROCESS: i64 = SERVICE_PROCESS;
    #[constant]
    const SERVICE_PHYSICS: i64 = SERVICE_PHYSICS;
    #[constant]
    const SERVICE_MANUAL: i64 = SERVICE_MANUAL;

    #[constant]
    const OK: i64 = ErrorCode::Ok as i64;
    #[constant]
    const ERR_INVALID_ARGUMENT: i64 = ErrorCode::InvalidArgument as i64;
    #[constant]
    const ERR_NOT_CONNECTED: i64 = ErrorCode::NotConnected as i64;
    #[constant]
    const ERR_PARAMS_TOO_LARGE: i64 = ErrorCode::ParamsTooLarge as i64;
    #[constant]
    const ERR_MESSAGE_TOO_LARGE: i64 = ErrorCode::MessageTooLarge as i64;
    #[constant]
    const ERR_SEND_BUFFER_FULL: i64 = ErrorCode::SendBufferFull as i64;
    #[constant]
    const ERR_INVALID_ADDRESS: i64 = ErrorCode::InvalidAddress as i64;
    #[constant]
    const ERR_IO: i64 = ErrorCode::Io as i64;
    #[constant]
    const ERR_NEEDS_PROTOCOL_VERSION: i64 = ErrorCode::NeedsProtocolVersion as i64;
    /// The call does not fit the client's state (`get_state()`): a room request before
    /// `STATE_CONNECTED_TO_MASTER_SERVER`, `raise_event` outside a room, a second login, ...
    #[constant]
    const ERR_WRONG_STATE: i64 = ErrorCode::WrongState as i64;

    #[constant]
    const STATUS_CONNECT: i64 = StatusCode::Connect as i64;
    #[constant]
    const STATUS_DISCONNECT: i64 = StatusCode::Disconnect as i64;
    #[constant]
    const STATUS_TIMEOUT_DISCONNECT: i64 = StatusCode::TimeoutDisconnect as i64;
    #[constant]
    const STATUS_ENCRYPTION_ESTABLISHED: i64 = StatusCode::EncryptionEstablished as i64;
    #[constant]
    const STATUS_ENCRYPTION_FAILED_TO_ESTABLISH: i64 = StatusCode::EncryptionFailedToEstablish as i64;

    /// Receivers of an event (`raise_event`, `raise_event_with`): every player but the sender (the
    /// default).
    #[constant]
    const RECEIVERS_OTHERS: i64 = room::RECEIVERS_OTHERS;
    /// Every player, the sender included.
    #[constant]
    const RECEIVERS_ALL: i64 = room::RECEIVERS_ALL;
    /// The master client only.
    #[constant]
    const RECEIVERS_MASTER_CLIENT: i64 = room::RECEIVERS_MASTER_CLIENT;

    /// `raise_event_with`'s `cache`: relay only (the default).
    #[constant]
    const CACHE_NONE: i64 = room::CACHE_NONE as i64;
    /// Relay, and add to the room's cache: players who join later get it, before anything live.
    #[constant]
    const CACHE_ADD: i64 = room::CACHE_ADD as i64;
    /// Relay nothing; remove the cached events of this code (0: every code), of the senders in
    /// `target_actors` if given, else of any sender.
    #[constant]
    const CACHE_REMOVE: i64 = room::CACHE_REMOVE as i64;
    /// Relay nothing; remove the cached events of senders no longer in the room.
    #[constant]
    const CACHE_REMOVE_OF_ACTORS_LEFT: i64 = room::CACHE_REMOVE_OF_ACTORS_LEFT as i64;

    /// The server's keys among the room properties (`get_room_properties()`, `room_properties_changed`,
    /// a listed room's `properties`), as int keys. To set one, key it with `SealnetValue.byte(...)`.
    #[constant]
    const ROOM_PROP_MAX_PLAYERS: i64 = room::PROP_MAX_PLAYERS as i64;
    #[constant]
    const ROOM_PROP_IS_VISIBLE: i64 = room::PROP_IS_VISIBLE as i64;
    #[constant]
    const ROOM_PROP_IS_OPEN: i64 = room::PROP_IS_OPEN as i64;
    /// In a listed room's `properties`: the players in it.
    #[constant]
    const ROOM_PROP_PLAYER_COUNT: i64 = room::PROP_PLAYER_COUNT as i64;
    #[constant]
    const ROOM_PROP_MASTER_CLIENT_ID: i64 = room::PROP_MASTER_CLIENT_ID as i64;
    #[constant]
    const ROOM_PROP_PLAYER_TTL: i64 = room::PROP_PLAYER_TTL as i64;
    #[constant]
    const ROOM_PROP_EMPTY_ROOM_TTL: i64 = room::PROP_EMPTY_ROOM_TTL as i64;
    /// The server's keys among a player's `properties` (read-only).
    #[constant]
    const PLAYER_PROP_NICKNAME: i64 = room::PLAYER_PROP_NICKNAME as i64;
    #[constant]
    const PLAYER_PROP_IS_INACTIVE: i64 = room::PLAYER_PROP_IS_INACTIVE as i64;
    #[constant]
    const PLAYER_PROP_USER_ID: i64 = room::PLAYER_PROP_USER_ID as i64;

    #[constant]
    const OP_AUTHENTICATE: i64 = auth::OP_AUTHENTICATE as i64;
    #[constant]
    const OP_AUTHENTICATE_ONCE: i64 = auth::OP_AUTHENTICATE_ONCE as i64;
    #[constant]
    const OP_JOIN_ROOM: i64 = room::OP_JOIN_ROOM as i64;
    #[constant]
    const OP_CREATE_ROOM: i64 = matchmaking::OP_CREATE_ROOM as i64;
    #[constant]
    const OP_JOIN_RANDOM_ROOM: i64 = matchmaking::OP_JOIN_RANDOM_ROOM as i64;
    #[constant]
    const OP_LEAVE_ROOM: i64 = room::OP_LEAVE_ROOM as i64;
    #[constant]
    const OP_RAISE_EVENT: i64 = room::OP_RAISE_EVENT as i64;
    #[constant]
    const OP_SET_PROPERTIES: i64 = room::OP_SET_PROPERTIES as i64;
    #[constant]
    const OP_CHANGE_GROUPS: i64 = room::OP_CHANGE_GROUPS as i64;
    #[constant]
    const OP_JOIN_LOBBY: i64 = matchmaking::OP_JOIN_LOBBY as i64;
    #[constant]
    const OP_LEAVE_LOBBY: i64 = matchmaking::OP_LEAVE_LOBBY as i64;
    #[constant]
    const EVENT_JOIN: i64 = room::EVENT_JOIN as i64;
    #[constant]
    const EVENT_LEAVE: i64 = room::EVENT_LEAVE as i64;
    #[constant]
    const EVENT_PROPERTIES_CHANGED: i64 = room::EVENT_PROPERTIES_CHANGED as i64;
    #[constant]
    const PARAM_ACTOR_NR: i64 = room::ACTOR_NR as i64;
    #[constant]
    const PARAM_ACTOR_LIST: i64 = room::ACTOR_LIST as i64;
    #[constant]
    const PARAM_DATA: i64 = room::DATA as i64;

    #[constant]
    const AUTH_CUSTOM: i64 = auth::TYPE_CUSTOM;
    #[constant]
    const AUTH_TOKEN: i64 = auth::TYPE_TOKEN;
    #[constant]
    const AUTH_NONE: i64 = auth::TYPE_NONE;

    /// Return code: the server could not take the request (also: the next server was unreachable).
    #[constant]
    const RETURN_INTERNAL_SERVER_ERROR: i64 = matchmaking::INTERNAL_SERVER_ERROR as i64;
    /// Return code: the room directory is unreachable; try again.
    #[constant]
    const RETURN_DIRECTORY_UNAVAILABLE: i64 = matchmaking::DIRECTORY_UNAVAILABLE as i64;
    /// Return code: `create_room` of a room that exists.
    #[constant]
    const RETURN_GAME_ID_ALREADY_EXISTS: i64 = matchmaking::GAME_ID_ALREADY_EXISTS as i64;
    /// Return code: the room is full.
    #[constant]
    const RETURN_GAME_FULL: i64 = matchmaking::GAME_FULL as i64;
    /// Return code: the room takes no new players.
    #[constant]
    const RETURN_GAME_CLOSED: i64 = matchmaking::GAME_CLOSED as i64;
    /// Return code: no game server can take a new room.
    #[constant]
    const RETURN_SERVER_FULL: i64 = matchmaking::SERVER_FULL as i64;
    /// Return code: `join_random_room` found no open, visible room with space.
    #[constant]
    const RETURN_NO_RANDOM_MATCH_FOUND: i64 = matchmaking::NO_RANDOM_MATCH_FOUND as i64;
    /// Return code: `join_room` of a room that does not exist.
    #[constant]
    const RETURN_GAME_DOES_NOT_EXIST: i64 = matchmaking::GAME_DOES_NOT_EXIST as i64;
    /// Return code (`operation_response` of `OP_SET_PROPERTIES`): the expected values did not match;
    /// nothing changed.
    #[constant]
    const RETURN_PROPERTIES_CONFLICT: i64 = room::PROPERTIES_CONFLICT as i64;
    /// Return code: a join found this user's inactive player in the room (it may only rejoin).
    #[constant]
    const RETURN_JOIN_FAILED_FOUND_INACTIVE_JOINER: i64 = matchmaking::JOIN_FAILED_FOUND_INACTIVE_JOINER as i64;
    /// Return code: a rejoin found no inactive player of this user (its PlayerTtl ran out); the
    /// client's own rejoin after a lost connection ends so when the room no longer keeps its place.
    #[constant]
    const RETURN_JOIN_FAILED_WITH_REJOINER_NOT_FOUND: i64 = matchmaking::JOIN_FAILED_WITH_REJOINER_NOT_FOUND as i64;
    #[constant]
    const RETURN_INVALID_AUTHENTICATION: i64 = auth::INVALID_AUTHENTICATION as i64;
    #[constant]
    const RETURN_CUSTOM_AUTHENTICATION_FAILED: i64 = auth::CUSTOM_AUTHENTICATION_FAILED as i64;
    /// Return code: the token no longer admits the player; log in again with `connect_to_master`.
    #[constant]
    const RETURN_AUTHENTICATION_TICKET_EXPIRED: i64 = auth::AUTHENTICATION_TICKET_EXPIRED as i64;
    #[constant]
    const RETURN_HTTP_LIMIT_REACHED: i64 = auth::HTTP_LIMIT_REACHED as i64;
    #[constant]
    const RETURN_EXTERNAL_HTTP_CALL_FAILED: i64 = auth::EXTERNAL_HTTP_CALL_FAILED as i64;

    /// Logs in at the first of `master_addresses` that answers, authenticating with `auth`: a
    /// Dictionary as `SealnetPeer.set_auth_values` takes (`{}` logs in anonymously, `AUTH_NONE`). The
    /// properties are read now. `STATE_CONNECTED_TO_MASTER_SERVER` follows, or `failed`. Returns 0, or
    /// an `ERR_*` code (`ERR_WRONG_STATE` unless the client is new or disconnected).
    #[func]
    fn connect_to_master(&mut self, auth: AnyDictionary) -> i64 {
        let entries = variant::entries_from_dictionary(&auth, &self.types);
        let settings = RealtimeSettings {
            master_addresses: self.master_addresses.as_slice().iter().map(GString::to_string).collect(),
            master_key_pin: self.master_key_pin.to_string(),
            app_id: self.app_id.to_string(),
            app_version: self.app_version.to_string(),
            disconnect_timeout_ms: self.disconnect_timeout_ms,
            ping_interval_ms: self.ping_interval_ms,
            max_protocol_version: self.max_protocol_version,
        };
        let result = client::auth_values(&entries).and_then(|values| self.client.connect(&settings, values.as_ref()));
        report("connect_to_master", result)
    }

    /// JoinOrCreateRoom: joins `name`, creating it with `options` where the master places it if it
    /// does not exist. `options` (`{}` for the defaults): `max_players` (int, 0 for the server's limit),
    /// `is_open`, `is_visible` (bool, true by default), `player_ttl_ms`, `empty_room_ttl_ms` (int
    /// milliseconds, 0 by default), `custom_properties` (Dictionary, String or int keys),
    /// `listed_in_lobby` (PackedStringArray or Array of String), `cleanup_cache_on_leave` (bool, true
    /// by default). `joined` or `failed` follows.
    #[func]
    fn join_or_create_room(&mut self, name: GString, options: AnyDictionary) -> i64 {
        let result =
            self.room_options(&options).and_then(|room| self.client.join_or_create_room(&name.to_string(), &room));
        report("join_or_create_room", result)
    }

    /// CreateRoom: `failed` with `RETURN_GAME_ID_ALREADY_EXISTS` if it exists; "" lets the server name
    /// it (the name comes with `joined`).
    #[func]
    fn create_room(&mut self, name: GString, options: AnyDictionary) -> i64 {
        let result = self.room_options(&options).and_then(|room| self.client.create_room(&name.to_string(), &room));
        report("create_room", result)
    }

    /// JoinRoom: `failed` with `RETURN_GAME_DOES_NOT_EXIST` if it does not exist.
    #[func]
    fn join_room(&mut self, name: GString) -> i64 {
        let result = self.client.join_room(&name.to_string());
        report("join_room", result)
    }

    /// JoinRandomRoom: an open, visible room with space; `failed` with `RETURN_NO_RANDOM_MATCH_FOUND`
    /// if there is none.
    #[func]
    fn join_random_room(&mut self) -> i64 {
        let result = self.client.join_random_room();
        report("join_random_room", result)
    }

    /// Leaves the room; the client goes back to the master (`STATE_CONNECTED_TO_MASTER_SERVER`).
    #[func]
    fn leave_room(&mut self) -> i64 {
        let result = self.client.leave_room();
        report("leave_room", result)
    }

    /// Raises event `code` (0 to 199) in the room with `data` (any supported value, or null), for
    /// `receivers` (`RECEIVERS_*`), as `SealnetPeer.raise_event`. `ERR_WRONG_STATE` outside a room.
    #[func]
    fn raise_event(
        &mut self,
        code: i64,
        data: Variant,
        #[opt(default = false)] encrypt: bool,
        #[opt(default = 0)] receivers: i64,
    ) -> i64 {
        let data = variant::from_variant(&data, &self.types);
        let result = self.client.raise_event(code, &data, receivers, encrypt);
        report("raise_event", result)
    }

    /// Raises event `code` (0 to 199) with `data` (or null) as `options` says (`{}`: as `raise_event`):
    /// `receivers` (`RECEIVERS_*`), `target_actors` (PackedInt32Array or Array of int: exactly these
    /// actors instead of the receivers), `interest_group` (1 to 255: only its subscribers, see
    /// `change_groups`; 0 none), `cache` (`CACHE_*`). `ERR_WRONG_STATE` outside a room.
    #[func]
    fn raise_event_with(
        &mut self,
        code: i64,
        data: Variant,
        options: AnyDictionary,
        #[opt(default = false)] encrypt: bool,
    ) -> i64 {
        let (data, options) = (variant::from_variant(&data, &self.types), self.entries(&options));
        report("raise_event_with", self.client.raise_event_with(code, &data, &options, encrypt))
    }

    /// Sets room properties: each key of `changes` (String or int; `SealnetValue.byte(ROOM_PROP_IS_OPEN)`
    /// and the like for the server's) takes its value, `null` removes it. `expected`: `{}` for none, or
    /// the values those properties must have now (`null`: absent), compared and set at the server;
    /// a mismatch changes nothing and answers `RETURN_PROPERTIES_CONFLICT`. `room_properties_changed`
    /// follows for everyone. `ERR_WRONG_STATE` outside a room.
    #[func]
    fn set_room_properties(&mut self, changes: AnyDictionary, expected: AnyDictionary) -> i64 {
        let (changes, expected) = (self.entries(&changes), self.entries(&expected));
        report("set_room_properties", self.client.set_room_properties(&changes, &expected))
    }

    /// As `set_room_properties`, for the properties of player `actor` (this client's own or another's;
    /// the server's `PLAYER_PROP_*` are read-only). `player_properties_changed` follows.
    #[func]
    fn set_player_properties(&mut self, actor: i64, changes: AnyDictionary, expected: AnyDictionary) -> i64 {
        let (changes, expected) = (self.entries(&changes), self.entries(&expected));
        report("set_player_properties", self.client.set_player_properties(actor, &changes, &expected))
    }

    /// Hands the master client role to `actor`, compared and set against the master this client knows
    /// (so two handovers at once cannot both win). `master_client_changed` follows.
    #[func]
    fn set_master_client(&mut self, actor: i64) -> i64 {
        report("set_master_client", self.client.set_master_client(actor))
    }

    /// Leaves the interest groups of `remove`, then joins those of `add`: each `null` to leave that step
    /// out, or a PackedByteArray / Array of int (groups 1 to 255; empty: every group).
    #[func]
    fn change_groups(&mut self, remove: Variant, add: Variant) -> i64 {
        let (remove, add) = (variant::from_variant(&remove, &self.types), variant::from_variant(&add, &self.types));
        report("change_groups", self.client.change_groups(&remove, &add))
    }

    /// Joins the lobby (at the master, `STATE_CONNECTED_TO_MASTER_SERVER`): the room list fills and
    /// follows (`room_list_updated`). Joining a room leaves it.
    #[func]
    fn join_lobby(&mut self) -> i64 {
        report("join_lobby", self.client.join_lobby())
    }

    /// Leaves the lobby; the room list empties.
    #[func]
    fn leave_lobby(&mut self) -> i64 {
        report("leave_lobby", self.client.leave_lobby())
    }

    /// A copy of the room's properties as the client last heard them: custom ones, and the server's
    /// under int keys (`ROOM_PROP_*`). `{}` outside a room.
    #[func]
    fn get_room_properties(&self) -> VarDictionary {
        variant::to_dictionary(&self.client.room_properties(), &self.types)
    }

    /// The room's players, inactive ones too: actor number -> `{"nickname": String, "user_id": String,
    /// "inactive": bool, "properties": Dictionary}` ("" when the server gave no nickname or user id).
    /// `{}` outside a room.
    #[func]
    fn get_players(&self) -> VarDictionary {
        variant::to_dictionary(&self.client.players(), &self.types)
    }

    /// The actor number of the room's master client; -1 outside a room.
    #[func]
    fn get_master_client(&self) -> i64 {
        self.client.master_client()
    }

    /// The lobby's room list: room name -> `{"players": int, "max_players": int, "open": bool,
    /// "properties": Dictionary}` (the properties the room lists in the lobby). `{}` outside the lobby.
    #[func]
    fn get_room_list(&self) -> VarDictionary {
        variant::to_dictionary(&self.client.room_list(), &self.types)
    }

    /// Whether the client is coming back to its room by itself after losing the connection.
    #[func]
    fn is_rejoining(&self) -> bool {
        self.client.is_rejoining()
    }

    /// Sends an operation on the current connection (the master's or the game server's), as
    /// `SealnetPeer.send_operation`; its answer comes as `operation_response`.
    #[func]
    fn send_operation(
        &mut self,
        op_code: i64,
        params: AnyDictionary,
        #[opt(default = false)] encrypt: bool,
        #[opt(default = 1)] delivery_mode: i64,
        #[opt(default = 0)] channel: i64,
    ) -> i64 {
        let entries = GdValue::Dictionary(variant::entries_from_dictionary(&params, &self.types));
        let result = client::operation(op_code, &entries)
            .and_then(|request| Ok((request, client::send_options(encrypt, delivery_mode, channel)?)))
            .and_then(|(request, options)| self.client.send(&request, options));
        report("send_operation", result)
    }

    /// Disconnects and stays disconnected (`STATE_DISCONNECTED` follows).
    #[func]
    fn disconnect_client(&mut self) {
        self.client.disconnect();
    }

    /// Emits every signal that is due; with `SERVICE_MANUAL`, call it regularly (each frame). Returns
    /// how many client events were handled.
    #[func]
    fn service(&mut self) -> i64 {
        let mut handled = 0;
        // One at a time: a handler that calls back into the node (a join on
        // STATE_CONNECTED_TO_MASTER_SERVER) acts on the state its signal announced.
        while let Some(event) = self.client.service() {
            for signal in realtime::signals_for(&event) {
                self.emit(signal);
            }
            handled += 1;
        }
        handled
    }

    /// One of the `STATE_*` constants.
    #[func]
    fn get_state(&self) -> i64 {
        client_state::code(self.client.state())
    }

    /// The room the client is in; "" when it is in none.
    #[func]
    fn get_room(&self) -> GString {
        GString::from(self.client.room())
    }

    /// The client's actor number in its room; -1 when it is in none.
    #[func]
    fn get_actor_number(&self) -> i64 {
        self.client.actor()
    }

    /// The public key of the server the client is connected to (a master or a game server) as 64 hex
    /// digits, once the key exchange succeeded; else "".
    #[func]
    fn get_server_public_key(&self) -> GString {
        GString::from(codes::format_key(self.client.server_public_key()).as_str())
    }

    /// The latest server token held (kept across logins), or an empty PackedByteArray.
    #[func]
    fn get_server_token(&self) -> PackedByteArray {
        self.client
            .server_token()
            .map_or_else(PackedByteArray::new, |token| PackedByteArray::from(token.bytes.as_slice()))
    }

    /// Registers a script's own type under custom `code`, as `SealnetPeer.register_type`.
    #[func]
    fn register_type(&mut self, code: i64, class: Variant, serialize: Callable, deserialize: Callable) -> i64 {
        report("register_type", self.types.register(code, &class, serialize, deserialize))
    }

    /// Removes the type registered under `code`; whether there was one.
    #[func]
    fn unregister_type(&mut self, code: i64) -> bool {
        self.types.unregister(code)
    }

    /// The name of a state number ("ConnectedToMasterServer", ...), or "".
    #[func]
    fn state_name(code: i64) -> GString {
        GString::from(client_state::name(code))
    }

    /// What an error code returned by a method means.
    #[func]
    fn error_text(code: i64) -> GString {
        GString::from(ErrorCode::from_code(code).map_or("unknown error code", ErrorCode::describe))
    }
}

/// The code GDScript receives; a refusal is also printed, with its reason.
fn report(method: &str, result: Result<(), Failure>) -> i64 {
    match result {
        Ok(()) => ErrorCode::Ok.code(),
        Err(failure) => {
            godot_error!("SealnetRealtimeClient.{method}: {failure}");
            failure.code.code()
        }
    }
}

impl SealnetRealtimeClient {
    fn room_options(&self, options: &AnyDictionary) -> Result<RoomSetup, Failure> {
        realtime::room_options(&self.entries(options))
    }

    fn entries(&self, dictionary: &AnyDictionary) -> Vec<(GdValue, GdValue)> {
        variant::entries_from_dictionary(dictionary, &self.types)
    }

    fn emit(&mut self, signal: RealtimeSignal) {
        match signal {
            RealtimeSignal::State(state) => self.signals().state_changed().emit(state),
            RealtimeSignal::Status(status) => {
                let message = GString::from(status.message.as_str());
                self.signals().status_changed().emit(status.code);
                self.signals().status_detail().emit(status.code, status.reason, &message);
            }
            RealtimeSignal::Joined(joined) => {
                let room = GString::from(joined.room.as_str());
                let actors = PackedInt32Array::from(joined.actors.as_slice());
                self.signals().joined().emit(&room, joined.actor, &actors);
            }
            RealtimeSignal::Rejoined(rejoined) => {
                let room = GString::from(rejoined.room.as_str());
                self.signals().rejoined().emit(&room, rejoined.actor);
            }
            RealtimeSignal::Failed(failed) => {
                let message = GString::from(failed.message.as_str());
                self.signals().failed().emit(failed.op, failed.return_code, &message);
            }
            RealtimeSignal::Event(event) => {
                let data = variant::to_dictionary(&event.data, &self.types);
                self.signals().event_received().emit(event.code, &data, event.sender, event.was_encrypted);
            }
            RealtimeSignal::Response(response) => {
                let data = variant::to_dictionary(&response.data, &self.types);
                self.signals().operation_response().emit(response.op_code, response.return_code, &data);
                if let Some(message) = response.debug_message {
                    let message = GString::from(message.as_str());
                    self.signals().operation_debug_message().emit(response.op_code, response.return_code, &message);
                }
            }
            RealtimeSignal::RoomPropertiesChanged(changes) => {
                let changes = variant::to_dictionary(&changes, &self.types);
                self.signals().room_properties_changed().emit(&changes);
            }
            RealtimeSignal::PlayerPropertiesChanged { actor, changes } => {
                let changes = variant::to_dictionary(&changes, &self.types);
                self.signals().player_properties_changed().emit(actor, &changes);
            }
            RealtimeSignal::MasterClientChanged(actor) => self.signals().master_client_changed().emit(actor),
            RealtimeSignal::RoomListUpdated => self.signals().room_list_updated().emit(),
        }
    }
}
