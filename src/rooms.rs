//! The room protocol of the reference server, in Photon's numbering: the operation, event and parameter
//! codes that `sealnet-server` serves and Rust clients (such as the Godot extension) send. It rides on
//! operations and events and is not part of the wire format (docs/protocol.md, section 13).

/// Operation: join the room named by [`ROOM_NAME`], creating it on demand.
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
/// Parameter: the actor numbers in the room (Array of Int).
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
