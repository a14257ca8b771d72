//! The room protocol of the reference server, in Photon's numbering: the operation, event and parameter
//! codes that `sealnet-server` serves and Rust clients (such as the Godot extension) send. It rides on
//! operations and events and is not part of the wire format (docs/protocol.md, section 13).

use crate::protocol::codec::{Key, Params, Table, Value};

/// Operation: join the room named by [`ROOM_NAME`] (by [`JOIN_MODE`]: creating it on demand unless told
/// otherwise). At a master it finds the room's game server instead ([`GameServerAnswer`]).
pub const OP_JOIN_ROOM: u8 = 226;
/// Operation: leave the current room.
pub const OP_LEAVE_ROOM: u8 = 254;
/// Operation: relay an event to the room.
pub const OP_RAISE_EVENT: u8 = 253;

/// Event: an actor joined (sent to every member, the joiner included).
pub const EVENT_JOIN: u8 = 255;
/// Event: an actor left (sent to the remaining members).
pub const EVENT_LEAVE: u8 = 254;

/// Parameter: room name (String).
pub const ROOM_NAME: u8 = 255;
/// Parameter: an actor number (Int).
pub const ACTOR_NR: u8 = 254;
/// Parameter: the actor numbers in the room (Array of Int); in a RaiseEvent, the actors the event goes
/// to instead of its receiver group.
pub const ACTOR_LIST: u8 = 252;
/// Parameter: event code of a RaiseEvent (Int, 0..=[`MAX_CLIENT_EVENT_CODE`]).
pub const CODE: u8 = 244;
/// Parameter: event data (any value).
pub const DATA: u8 = 245;
/// Parameter: receiver group of a RaiseEvent (Int, one of the `RECEIVERS_*` values).
pub const RECEIVER_GROUP: u8 = 246;
/// Response parameter: recipients skipped because they have no encryption keys (Int).
pub const SKIPPED: u8 = 241;
/// Response parameter: recipients the event was queued for (Int).
pub const DELIVERED: u8 = 240;

/// Parameter of a RaiseEvent: the interest group the event goes to (Byte, 1 to 255; 0 or absent: no
/// interest group). Only members subscribed to it (ChangeGroups) within the receiver group get it.
pub const INTEREST_GROUP: u8 = 240;
/// Operation: change the connection's interest-group subscriptions in its room.
pub const OP_CHANGE_GROUPS: u8 = 248;
/// Parameter of ChangeGroups: the groups to leave (ByteArray; empty: every group), applied first.
pub const GROUPS_REMOVE: u8 = 239;
/// Parameter of ChangeGroups: the groups to join (ByteArray; empty: every group).
pub const GROUPS_ADD: u8 = 238;

/// Operation: set properties of the room or of one of its players ([`PROPERTIES`], optionally
/// [`TARGET_ACTOR`] and [`EXPECTED_VALUES`]).
pub const OP_SET_PROPERTIES: u8 = 252;
/// Event: properties changed ([`TARGET_ACTOR`] 0 for the room's, [`PROPERTIES`] the changed keys, a
/// Null value for a removed one, [`ACTOR_NR`] who changed them). Sent to every member.
pub const EVENT_PROPERTIES_CHANGED: u8 = 253;
/// Parameter: the player whose properties a SetProperties changes (Int; absent or 0: the room's).
pub const TARGET_ACTOR: u8 = 253;
/// Parameter: properties (a Table; a Null value removes its key).
pub const PROPERTIES: u8 = 251;
/// Parameter: the room's properties in a join answer (a Table, built-in byte keys beside custom ones).
pub const ROOM_PROPERTIES: u8 = GAME_PROPERTIES;
/// Parameter: the players' properties in a join answer (a Table: actor number (Int) to its Table), or
/// the joiner's properties in a Join event (a Table).
pub const PLAYER_PROPERTIES: u8 = 249;
/// Parameter of SetProperties: values the properties must have for the change to apply (a Table; a
/// Null value: the key must be absent). Compare-and-set: a mismatch changes nothing and answers
/// [`crate::protocol::status::return_code::PROPERTIES_CONFLICT`].
pub const EXPECTED_VALUES: u8 = 231;
/// Parameter: the room's master client (Int): in a join answer, and in the Leave event that hands the
/// role over.
pub const MASTER_CLIENT_ID: u8 = 203;
/// Room property key: the master client's actor number (Int). Setting it hands the role over.
pub const PROP_MASTER_CLIENT_ID: u8 = 248;
/// Player property key: the nickname (String, from authentication; read-only).
pub const PLAYER_PROP_NICKNAME: u8 = 255;
/// Player property key: the user id (String, from authentication when the server publishes it;
/// read-only).
pub const PLAYER_PROP_USER_ID: u8 = 253;

/// Parameter of RaiseEvent: what the room's event cache does with it (Byte, a `CACHE_*` value).
pub const CACHE: u8 = 247;
/// Cache option: relay only (the default).
pub const CACHE_NONE: u8 = 0;
/// Cache option: relay, and add to the room's cache: players who join later get it.
pub const CACHE_ADD: u8 = 4;
/// Cache option: relay nothing; remove the cached events of this code (0: every code), of the
/// senders in [`ACTOR_LIST`] if given, else of any sender.
pub const CACHE_REMOVE: u8 = 6;
/// Cache option: relay nothing; remove the cached events of senders no longer in the room.
pub const CACHE_REMOVE_OF_ACTORS_LEFT: u8 = 7;
/// Room option key (in [`GAME_PROPERTIES`] of a create): how long a player who lost its connection
/// stays in the room as inactive and may rejoin with its actor number (Int, milliseconds; 0: not at
/// all, the default).
pub const PROP_PLAYER_TTL: u8 = 246;
/// Room option key (in [`GAME_PROPERTIES`] of a create): how long the room outlives its last player
/// (Int, milliseconds; 0, the default: it closes at once).
pub const PROP_EMPTY_ROOM_TTL: u8 = 245;
/// Player property key: the player lost its connection and may rejoin (Bool, read-only).
pub const PLAYER_PROP_IS_INACTIVE: u8 = 254;
/// Parameter of a Leave event: the player left inactive and may rejoin (Bool).
pub const IS_INACTIVE: u8 = 233;

/// Room option key (in [`GAME_PROPERTIES`] of a create): whether a leaving player's cached events
/// are removed (Bool, default true).
pub const PROP_CLEANUP_CACHE_ON_LEAVE: u8 = 249;

/// Operation (at a master, or a server of role "all"): join the lobby, to receive the room list
/// ([`EVENT_GAME_LIST`], then [`EVENT_GAME_LIST_UPDATE`]s).
pub const OP_JOIN_LOBBY: u8 = 229;
/// Operation: leave the lobby (joining a room leaves it too).
pub const OP_LEAVE_LOBBY: u8 = 228;
/// Event: the lobby's whole room list ([`GAME_LIST`]), right after JoinLobby.
pub const EVENT_GAME_LIST: u8 = 230;
/// Event: the rooms added, changed or removed ([`PROP_REMOVED`]) since the last list or update.
pub const EVENT_GAME_LIST_UPDATE: u8 = 229;
/// Parameter: rooms by name, each a Table: [`PROP_MAX_PLAYERS`], [`PROP_IS_OPEN`],
/// [`PROP_PLAYER_COUNT`] and the room's properties listed in the lobby, or [`PROP_REMOVED`].
pub const GAME_LIST: u8 = 222;
/// Room list key: players in the room (Int).
pub const PROP_PLAYER_COUNT: u8 = 252;
/// Room list key: the room is gone from the list (Bool true).
pub const PROP_REMOVED: u8 = 251;
/// Room option key (in [`GAME_PROPERTIES`] of a create): the custom properties the lobby lists
/// (an Array of String, or a StringArray).
pub const PROP_LISTED_IN_LOBBY: u8 = 250;

/// Receiver group: every member except the sender (the default).
pub const RECEIVERS_OTHERS: i32 = 0;
/// Receiver group: every member, the sender included.
pub const RECEIVERS_ALL: i32 = 1;
/// Receiver group: the member with the lowest actor number.
pub const RECEIVERS_MASTER_CLIENT: i32 = 2;

/// Highest event code a client may raise; 200 and up belong to the server.
pub const MAX_CLIENT_EVENT_CODE: i32 = 199;
/// Longest room name, in bytes.
pub const MAX_ROOM_NAME: usize = 256;

/// Operation: create a room; fails with GameIdAlreadyExists (32766) if it exists.
pub const OP_CREATE_ROOM: u8 = 227;
/// Operation (at a master): join a random room that is open, visible and not full.
pub const OP_JOIN_RANDOM_ROOM: u8 = 225;

/// Parameter: how JoinRoom treats a room that does not exist (Byte, a [`JoinMode`]).
pub const JOIN_MODE: u8 = 215;
/// Parameter: room options (a Table keyed by Byte: [`PROP_MAX_PLAYERS`], [`PROP_IS_VISIBLE`],
/// [`PROP_IS_OPEN`]).
pub const GAME_PROPERTIES: u8 = 248;
/// Response parameter (master): the game server's address, "host:port" (String).
pub const ADDRESS: u8 = 230;
/// Response parameter (master): the game server's static public key (ByteArray, 32 bytes). The client
/// pins it when it connects there: the answer travels encrypted under the master's session.
pub const SERVER_KEY: u8 = 197;

/// Room option key: most players (Byte or Int; 0: the server's limit).
pub const PROP_MAX_PLAYERS: u8 = 255;
/// Room option key: listed for JoinRandomRoom (Bool).
pub const PROP_IS_VISIBLE: u8 = 254;
/// Room option key: open to new players (Bool).
pub const PROP_IS_OPEN: u8 = 253;

/// How a JoinRoom treats the room it names (Photon's JoinMode numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// The room must exist (GameDoesNotExist otherwise).
    JoinOnly = 0,
    /// Created when it does not exist (JoinOrCreateRoom).
    CreateIfNotExists = 1,
    /// Joins, or rejoins as the inactive player this user left behind (within the room's PlayerTtl).
    JoinOrRejoin = 2,
    /// Only rejoins as the inactive player this user left behind (JoinFailedWithRejoinerNotFound
    /// otherwise).
    RejoinOnly = 3,
    /// CreateRoom: it must not exist (GameIdAlreadyExists otherwise). Never sent as a JoinMode value.
    CreateOnly = 255,
}

/// The options a room is created with (Photon's RoomOptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomOptions {
    /// 0: as many as the server allows.
    pub max_players: u32,
    pub is_open: bool,
    pub is_visible: bool,
}

impl Default for RoomOptions {
    fn default() -> Self {
        RoomOptions { max_players: 0, is_open: true, is_visible: true }
    }
}

/// The rest of Photon's RoomOptions, for a room a request creates: what
/// [`RoomRequest::extra`] carries, typed, so that every client and binding writes it the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSettings {
    /// The room's first custom properties (keys that are not Bytes; Byte keys are the server's).
    pub custom_properties: Table,
    /// The custom properties the lobby lists (Photon's CustomRoomPropertiesForLobby).
    pub listed_in_lobby: Vec<String>,
    /// How long a player who lost the connection keeps its place (0: not at all).
    pub player_ttl_ms: u32,
    /// How long the room outlives its last player (0: it closes at once).
    pub empty_room_ttl_ms: u32,
    /// A leaving player's cached events leave the cache with it (Photon's CleanupCacheOnLeave).
    pub cleanup_cache_on_leave: bool,
}

impl Default for RoomSettings {
    fn default() -> Self {
        RoomSettings {
            custom_properties: Table::new(),
            listed_in_lobby: Vec::new(),
            player_ttl_ms: 0,
            empty_room_ttl_ms: 0,
            cleanup_cache_on_leave: true,
        }
    }
}

impl RoomSettings {
    /// The settings as [`RoomRequest::extra`] sends them: only what differs from the defaults.
    pub fn to_extra(&self) -> Table {
        let mut extra = self.custom_properties.clone();
        // Beyond i32 the server refuses the value anyway; saturating keeps its error message.
        let ms = |ms: u32| Value::Int(ms.min(i32::MAX as u32) as i32);
        if self.player_ttl_ms != 0 {
            extra.insert(Key::Byte(PROP_PLAYER_TTL), ms(self.player_ttl_ms));
        }
        if self.empty_room_ttl_ms != 0 {
            extra.insert(Key::Byte(PROP_EMPTY_ROOM_TTL), ms(self.empty_room_ttl_ms));
        }
        if !self.listed_in_lobby.is_empty() {
            extra.insert(Key::Byte(PROP_LISTED_IN_LOBBY), Value::StringArray(self.listed_in_lobby.clone()));
        }
        if !self.cleanup_cache_on_leave {
            extra.insert(Key::Byte(PROP_CLEANUP_CACHE_ON_LEAVE), Value::Bool(false));
        }
        extra
    }
}

/// A JoinRoom, CreateRoom or JoinRandomRoom request, as both sides read and write it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomRequest {
    /// `None` only for JoinRandomRoom, and for a CreateRoom that lets the server name the room.
    pub name: Option<String>,
    /// `None`: JoinRandomRoom.
    pub mode: Option<JoinMode>,
    pub options: RoomOptions,
    /// What else a room created by this request starts with: its first custom properties (keys that
    /// are not Bytes) and further options ([`PROP_PLAYER_TTL`], [`PROP_EMPTY_ROOM_TTL`],
    /// [`PROP_LISTED_IN_LOBBY`], [`PROP_CLEANUP_CACHE_ON_LEAVE`]), sent beside the options in
    /// [`GAME_PROPERTIES`].
    pub extra: Table,
}

impl RoomRequest {
    /// A request of `mode` (`None`: JoinRandomRoom) with nothing beyond `options`.
    pub fn new(name: Option<String>, mode: Option<JoinMode>, options: RoomOptions) -> Self {
        RoomRequest { name, mode, options, extra: Table::new() }
    }

    /// The request's operation code and parameters.
    pub fn to_operation(&self) -> (u8, Params) {
        let mut params = Params::new();
        if let Some(name) = &self.name {
            params.insert(ROOM_NAME, name.clone());
        }
        let op = match self.mode {
            None => OP_JOIN_RANDOM_ROOM,
            Some(JoinMode::CreateOnly) => OP_CREATE_ROOM,
            Some(mode) => {
                params.insert(JOIN_MODE, Value::Byte(mode as u8));
                OP_JOIN_ROOM
            }
        };
        if self.options != RoomOptions::default() || !self.extra.is_empty() {
            let mut table = self.extra.clone();
            table.insert(Key::Byte(PROP_MAX_PLAYERS), Value::Int(self.options.max_players.min(i32::MAX as u32) as i32));
            table.insert(Key::Byte(PROP_IS_OPEN), Value::Bool(self.options.is_open));
            table.insert(Key::Byte(PROP_IS_VISIBLE), Value::Bool(self.options.is_visible));
            params.insert(GAME_PROPERTIES, Value::Table(table));
        }
        (op, params)
    }

    /// Reads a request of `op` (JoinRoom, CreateRoom or JoinRandomRoom). A JoinRoom without
    /// [`JOIN_MODE`] creates the room when it does not exist, as every JoinRoom did before the
    /// parameter existed. Photon's clients leave the parameter out to join only, so send 0 for that.
    pub fn from_operation(op: u8, params: &Params) -> Result<RoomRequest, String> {
        let name = match params.get(ROOM_NAME) {
            None => None,
            Some(Value::String(name)) if !name.is_empty() && name.len() <= MAX_ROOM_NAME => Some(name.clone()),
            Some(_) => {
                return Err(format!("parameter {ROOM_NAME} (room name) must be a String of 1 to {MAX_ROOM_NAME} bytes"))
            }
        };
        let mode = match op {
            OP_JOIN_RANDOM_ROOM => None,
            OP_CREATE_ROOM => Some(JoinMode::CreateOnly),
            _ => Some(match params.get(JOIN_MODE) {
                None => JoinMode::CreateIfNotExists,
                Some(Value::Byte(0)) => JoinMode::JoinOnly,
                Some(Value::Byte(1)) => JoinMode::CreateIfNotExists,
                Some(Value::Byte(2)) => JoinMode::JoinOrRejoin,
                Some(Value::Byte(3)) => JoinMode::RejoinOnly,
                Some(_) => {
                    return Err(format!(
                        "parameter {JOIN_MODE} (join mode) must be a Byte: 0 join, 1 create if it does not exist, \
                         2 join or rejoin, 3 rejoin only"
                    ))
                }
            }),
        };
        if matches!(
            mode,
            Some(JoinMode::JoinOnly | JoinMode::CreateIfNotExists | JoinMode::JoinOrRejoin | JoinMode::RejoinOnly)
        ) && name.is_none()
        {
            return Err(format!("parameter {ROOM_NAME} (room name) must be a String of 1 to {MAX_ROOM_NAME} bytes"));
        }
        let (options, extra) = match params.get(GAME_PROPERTIES) {
            None => (RoomOptions::default(), Table::new()),
            Some(Value::Table(table)) => {
                let options = read_options(table)?;
                let built_in = |key: &Key| matches!(key, Key::Byte(PROP_MAX_PLAYERS | PROP_IS_OPEN | PROP_IS_VISIBLE));
                let extra =
                    table.iter().filter(|(key, _)| !built_in(key)).map(|(k, v)| (k.clone(), v.clone())).collect();
                (options, extra)
            }
            Some(_) => return Err(format!("parameter {GAME_PROPERTIES} (room options) must be a Table")),
        };
        Ok(RoomRequest { name, mode, options, extra })
    }
}

fn read_options(table: &Table) -> Result<RoomOptions, String> {
    let mut options = RoomOptions::default();
    for (key, value) in table.iter() {
        match (key, value) {
            (Key::Byte(PROP_MAX_PLAYERS), Value::Byte(max)) => options.max_players = u32::from(*max),
            (Key::Byte(PROP_MAX_PLAYERS), Value::Int(max)) if *max >= 0 => options.max_players = *max as u32,
            (Key::Byte(PROP_IS_OPEN), Value::Bool(open)) => options.is_open = *open,
            (Key::Byte(PROP_IS_VISIBLE), Value::Bool(visible)) => options.is_visible = *visible,
            (Key::Byte(key @ (PROP_MAX_PLAYERS | PROP_IS_OPEN | PROP_IS_VISIBLE)), _) => {
                return Err(format!(
                "room option {key} has the wrong type (max players: Byte or Int of at least 0; open, visible: Bool)"
            ))
            }
            // Other properties (custom ones) are not interpreted here.
            _ => {}
        }
    }
    Ok(options)
}

/// A master's answer that sends the client to a game server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameServerAnswer {
    pub room: String,
    pub address: String,
    pub server_key: [u8; 32],
}

impl GameServerAnswer {
    pub fn insert_into(&self, params: &mut Params) {
        params.insert(ROOM_NAME, self.room.clone());
        params.insert(ADDRESS, self.address.clone());
        params.insert(SERVER_KEY, Value::Bytes(self.server_key.to_vec()));
    }

    /// The answer in a response's parameters, if it is one (a JoinRoom answered by joining has none).
    pub fn from_params(params: &Params) -> Option<GameServerAnswer> {
        let Some(Value::String(address)) = params.get(ADDRESS) else { return None };
        let Some(Value::String(room)) = params.get(ROOM_NAME) else { return None };
        let Some(Value::Bytes(key)) = params.get(SERVER_KEY) else { return None };
        Some(GameServerAnswer {
            room: room.clone(),
            address: address.clone(),
            server_key: key.as_slice().try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_settings_send_only_what_differs_from_the_defaults() {
        assert!(RoomSettings::default().to_extra().is_empty());
        let settings = RoomSettings {
            custom_properties: Table::from_iter([(Key::String("map".into()), Value::Int(3))]),
            listed_in_lobby: vec!["map".into()],
            player_ttl_ms: 30_000,
            empty_room_ttl_ms: u32::MAX,
            cleanup_cache_on_leave: false,
        };
        let mut request = RoomRequest::new(Some("r".into()), Some(JoinMode::CreateOnly), RoomOptions::default());
        request.extra = settings.to_extra();
        let (op, params) = request.to_operation();
        let extra = RoomRequest::from_operation(op, &params).unwrap().extra;
        assert_eq!(extra.get(&Key::String("map".into())), Some(&Value::Int(3)));
        assert_eq!(extra.get(&Key::Byte(PROP_PLAYER_TTL)), Some(&Value::Int(30_000)));
        // Saturated, for the server to refuse with its limit in the message.
        assert_eq!(extra.get(&Key::Byte(PROP_EMPTY_ROOM_TTL)), Some(&Value::Int(i32::MAX)));
        assert_eq!(extra.get(&Key::Byte(PROP_LISTED_IN_LOBBY)), Some(&Value::StringArray(vec!["map".into()])));
        assert_eq!(extra.get(&Key::Byte(PROP_CLEANUP_CACHE_ON_LEAVE)), Some(&Value::Bool(false)));
    }

    #[test]
    fn room_requests_read_back_as_written() {
        let options = RoomOptions { max_players: 4, is_open: false, is_visible: true };
        let requests = [
            RoomRequest::new(Some("a".into()), Some(JoinMode::JoinOnly), RoomOptions::default()),
            RoomRequest::new(Some("b".into()), Some(JoinMode::CreateIfNotExists), options),
            RoomRequest::new(Some("c".into()), Some(JoinMode::CreateOnly), options),
            RoomRequest::new(None, Some(JoinMode::CreateOnly), RoomOptions::default()),
            RoomRequest::new(None, None, RoomOptions::default()),
            RoomRequest {
                extra: Table::from_iter([(Key::String("map".into()), Value::Int(2))]),
                ..RoomRequest::new(Some("d".into()), Some(JoinMode::CreateIfNotExists), RoomOptions::default())
            },
        ];
        for request in requests {
            let (op, params) = request.to_operation();
            assert_eq!(RoomRequest::from_operation(op, &params), Ok(request));
        }
    }

    #[test]
    fn a_join_room_without_a_mode_creates_and_bad_values_are_refused_with_what_is_wrong() {
        let mut params = Params::new();
        params.insert(ROOM_NAME, "r");
        let request = RoomRequest::from_operation(OP_JOIN_ROOM, &params).unwrap();
        assert_eq!(request.mode, Some(JoinMode::CreateIfNotExists));

        params.insert(JOIN_MODE, Value::Int(0));
        assert!(RoomRequest::from_operation(OP_JOIN_ROOM, &params).unwrap_err().contains("join mode"));
        params.insert(JOIN_MODE, Value::Byte(0));
        let mut table = Table::new();
        table.insert(Key::Byte(PROP_IS_OPEN), Value::Int(1));
        params.insert(GAME_PROPERTIES, Value::Table(table));
        assert!(RoomRequest::from_operation(OP_JOIN_ROOM, &params).unwrap_err().contains("room option 253"));
        let mut nameless = Params::new();
        nameless.insert(JOIN_MODE, Value::Byte(1));
        assert!(RoomRequest::from_operation(OP_JOIN_ROOM, &nameless).unwrap_err().contains("room name"));
        // A Byte MaxPlayers (as Photon's clients send it) and unknown custom properties are fine.
        let mut table = Table::new();
        table.insert(Key::Byte(PROP_MAX_PLAYERS), Value::Byte(8));
        table.insert(Key::String("map".into()), Value::String("dust".into()));
        let mut create = Params::new();
        create.insert(GAME_PROPERTIES, Value::Table(table));
        assert_eq!(RoomRequest::from_operation(OP_CREATE_ROOM, &create).unwrap().options.max_players, 8);
    }

    #[test]
    fn a_masters_answer_needs_an_address_a_name_and_a_32_byte_key() {
        let answer = GameServerAnswer { room: "r".into(), address: "10.0.0.1:4531".into(), server_key: [3; 32] };
        let mut params = Params::new();
        answer.insert_into(&mut params);
        assert_eq!(GameServerAnswer::from_params(&params), Some(answer));
        params.insert(SERVER_KEY, Value::Bytes(vec![3; 31]));
        assert_eq!(GameServerAnswer::from_params(&params), None);
    }
}
