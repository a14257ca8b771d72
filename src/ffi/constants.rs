//! Numbers the header exposes as macros. They mirror the protocol core so hosts need no other source;

//! cbindgen reads literals only, so the values are written out; a test checks them against the core.

use std::ffi::CStr;

use crate::protocol::status::StatusCode;
use crate::rooms;

/// Status 1022: security exception while connecting.
pub const PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT: u32 = 1022;
/// Status 1023: the connection could not be established (refused, unreachable).
pub const PEER_STATUS_EXCEPTION_ON_CONNECT: u32 = 1023;
/// Status 1024: connected; operations may be sent (plain until 1048).
pub const PEER_STATUS_CONNECT: u32 = 1024;
/// Status 1025: disconnected; always the last status of a connection.
pub const PEER_STATUS_DISCONNECT: u32 = 1025;
/// Status 1026: an internal exception (for example the host stopped servicing and the queue filled).
pub const PEER_STATUS_EXCEPTION: u32 = 1026;
/// Status 1030: sending failed.
pub const PEER_STATUS_SEND_ERROR: u32 = 1030;
/// Status 1039: the server sent something invalid or reading failed.
pub const PEER_STATUS_EXCEPTION_ON_RECEIVE: u32 = 1039;
/// Status 1040: nothing received within the disconnect timeout.
pub const PEER_STATUS_TIMEOUT_DISCONNECT: u32 = 1040;
/// Status 1041: the server timed this client out.
pub const PEER_STATUS_DISCONNECT_BY_SERVER_TIMEOUT: u32 = 1041;
/// Status 1042: the server is full.
pub const PEER_STATUS_DISCONNECT_BY_SERVER_USER_LIMIT: u32 = 1042;
/// Status 1043: the server disconnected this client; the info's reason says why.
pub const PEER_STATUS_DISCONNECT_BY_SERVER_LOGIC: u32 = 1043;
/// Status 1044: the server closed the connection without a reason.
pub const PEER_STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN: u32 = 1044;
/// Status 1048: the key exchange succeeded; every frame is now authenticated and encryption available.
pub const PEER_STATUS_ENCRYPTION_ESTABLISHED: u32 = 1048;
/// Status 1049: the key exchange failed (for example a pin mismatch); the connection closes.
pub const PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH: u32 = 1049;
/// Status 1050: the server address is invalid.
pub const PEER_STATUS_SERVER_ADDRESS_INVALID: u32 = 1050;
/// Status 1051: the server's host name could not be resolved.
pub const PEER_STATUS_DNS_EXCEPTION_ON_CONNECT: u32 = 1051;

/// Delivery mode 0 (Photon's numbering).
pub const PEER_DELIVERY_MODE_UNRELIABLE: u8 = 0;
/// Delivery mode 1, the default.
pub const PEER_DELIVERY_MODE_RELIABLE: u8 = 1;
/// Delivery mode 2.
pub const PEER_DELIVERY_MODE_UNRELIABLE_UNSEQUENCED: u8 = 2;
/// Delivery mode 3.
pub const PEER_DELIVERY_MODE_RELIABLE_UNSEQUENCED: u8 = 3;

/// Peer state: not connected.
pub const PEER_STATE_DISCONNECTED: u32 = 0;
/// Peer state: connecting.
pub const PEER_STATE_CONNECTING: u32 = 1;
/// Peer state: connected, no keys yet.
pub const PEER_STATE_CONNECTED: u32 = 3;
/// Peer state: disconnecting.
pub const PEER_STATE_DISCONNECTING: u32 = 4;
/// Peer state: connected, key exchange running.
pub const PEER_STATE_ESTABLISHING_ENCRYPTION: u32 = 5;
/// Peer state: connected with keys.
pub const PEER_STATE_ENCRYPTED: u32 = 6;

/// Disconnect reason: none given (0).
pub const PEER_DISCONNECT_REASON_NONE: u16 = 0;
/// Disconnect reason: the client asked to disconnect.
pub const PEER_DISCONNECT_REASON_CLIENT_REQUEST: u16 = 1;
/// Disconnect reason: the server is shutting down.
pub const PEER_DISCONNECT_REASON_SERVER_SHUTDOWN: u16 = 2;
/// Disconnect reason: timeout.
pub const PEER_DISCONNECT_REASON_TIMEOUT: u16 = 3;
/// Disconnect reason: malformed or unexpected frame.
pub const PEER_DISCONNECT_REASON_PROTOCOL_VIOLATION: u16 = 4;
/// Disconnect reason: a frame failed authentication.
pub const PEER_DISCONNECT_REASON_AUTHENTICATION_FAILED: u16 = 5;
/// Disconnect reason: a frame was replayed.
pub const PEER_DISCONNECT_REASON_REPLAY: u16 = 6;
/// Disconnect reason: the server does not know the app id.
pub const PEER_DISCONNECT_REASON_UNKNOWN_APP_ID: u16 = 7;
/// Disconnect reason: unsupported protocol version.
pub const PEER_DISCONNECT_REASON_VERSION_MISMATCH: u16 = 8;
/// Disconnect reason: the key exchange failed.
pub const PEER_DISCONNECT_REASON_KEY_EXCHANGE_FAILED: u16 = 9;
/// Disconnect reason: a send counter was exhausted (no frame is ever sent twice under one nonce).
pub const PEER_DISCONNECT_REASON_COUNTER_EXHAUSTED: u16 = 10;
/// Disconnect reason: this end did not keep up with its traffic.
pub const PEER_DISCONNECT_REASON_SLOW_CONSUMER: u16 = 11;
/// Disconnect reason: server logic (for example a plugin) disconnected the client.
pub const PEER_DISCONNECT_REASON_SERVER_LOGIC: u16 = 12;
/// Disconnect reason: the server is full.
pub const PEER_DISCONNECT_REASON_SERVER_FULL: u16 = 13;
/// Disconnect reason: sent more than the server allows (operations, bytes or key exchanges per second).
pub const PEER_DISCONNECT_REASON_RATE_LIMITED: u16 = 14;
/// Disconnect reason: the server refused the AuthOnceWss token of the key exchange (invalid or
/// expired; the status message names AuthenticationTicketExpired, 32753). The peer forgets those
/// credentials: authenticate over WSS again.
pub const PEER_DISCONNECT_REASON_TOKEN_REFUSED: u16 = 15;

/// Transport (Photon's ConnectionProtocol numbers): UDP, protocol version 3. Delivery modes and
/// channels apply; the key exchange always runs at once.
pub const PEER_TRANSPORT_UDP: u32 = 0;
/// Transport (Photon's ConnectionProtocol numbers): TCP, the default. Everything is reliable.
pub const PEER_TRANSPORT_TCP: u32 = 1;
/// Transport (Photon's ConnectionProtocol numbers): WebSocket over TLS (WebSocketSecure), protocol
/// version 4; the address is a `wss://host:port/path` URL. TLS protects every frame, so no key
/// exchange runs: status 1024 Connect is followed at once by 1048 EncryptionEstablished, the state is
/// PEER_STATE_ENCRYPTED, and sends with `encrypt` succeed. The server's certificate is checked as
/// peer_connect_options_t says (system trust store, CA file or pinned fingerprint); a certificate
/// the check refuses gives status 1022 SecurityExceptionOnConnect, then 1025 Disconnect. Plain
/// WebSocket (4) is not offered.
pub const PEER_TRANSPORT_WSS: u32 = 5;

/// peer_connect_options_t.pin: use the pin of peer_create's config.
pub const PEER_PIN_AS_CONFIGURED: u8 = 0;
/// peer_connect_options_t.pin: pin `server_public_key` for this connection.
pub const PEER_PIN_KEY: u8 = 1;
/// peer_connect_options_t.pin: no pin for this connection.
pub const PEER_PIN_NONE: u8 = 2;

/// The lowest protocol version this library speaks.
pub const PEER_PROTOCOL_VERSION_MIN: u8 = 1;
/// The highest protocol version this library speaks over TCP (the default of
/// peer_config_t.max_protocol_version). UDP connections (PEER_TRANSPORT_UDP) speak version 3.
pub const PEER_PROTOCOL_VERSION_LATEST: u8 = 2;

/// Operation return code: success.
pub const PEER_RETURN_CODE_OK: i16 = 0;
/// Operation return code: the server failed (the message says what; the realtime client also reports
/// a connection it could not start with it, with op code 0).
pub const PEER_RETURN_CODE_INTERNAL_SERVER_ERROR: i16 = -1;
/// Operation return code: the operation must be sent encrypted.
pub const PEER_RETURN_CODE_MUST_ENCRYPT: i16 = -10;
/// Operation return code: a server plugin refused the operation.
pub const PEER_RETURN_CODE_PLUGIN_REJECTED: i16 = -11;
/// Operation return code: the server cannot take the request now (its output budget is used up).
pub const PEER_RETURN_CODE_SERVER_BUSY: i16 = -12;
/// Operation return code: the room is full (Photon's GameFull).
pub const PEER_RETURN_CODE_GAME_FULL: i16 = 32765;
/// Operation return code: matchmaking cannot answer, the room directory is unreachable; try again.
pub const PEER_RETURN_CODE_DIRECTORY_UNAVAILABLE: i16 = -13;
/// Operation return code: CreateRoom of a room that exists (Photon's GameIdAlreadyExists).
pub const PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS: i16 = 32766;
/// Operation return code: the room takes no new players (Photon's GameClosed).
pub const PEER_RETURN_CODE_GAME_CLOSED: i16 = 32764;
/// Operation return code: no game server can take a new room (Photon's ServerFull).
pub const PEER_RETURN_CODE_SERVER_FULL: i16 = 32762;
/// Operation return code: JoinRandomRoom found no open, visible room with space (Photon's
/// NoRandomMatchFound).
pub const PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND: i16 = 32760;
/// Operation return code: JoinRoom of a room that does not exist (Photon's GameDoesNotExist).
pub const PEER_RETURN_CODE_GAME_DOES_NOT_EXIST: i16 = 32758;
/// Operation return code: not allowed now (e.g. an operation before authenticating, on a server that
/// admits no anonymous players).
pub const PEER_RETURN_CODE_OPERATION_NOT_ALLOWED_IN_CURRENT_STATE: i16 = -3;
/// Operation return code: malformed request (e.g. a connection token over 128 bytes).
pub const PEER_RETURN_CODE_INVALID_OPERATION: i16 = -2;
/// Operation return code: anonymous players are not allowed, or the server has no authentication
/// backend.
pub const PEER_RETURN_CODE_INVALID_AUTHENTICATION: i16 = 32767;
/// Operation return code: the studio's backend rejected the player (the message says why, or is
/// generic).
pub const PEER_RETURN_CODE_CUSTOM_AUTHENTICATION_FAILED: i16 = 32755;
/// Operation return code: the server token is not valid here or has expired; authenticate again.
pub const PEER_RETURN_CODE_AUTHENTICATION_TICKET_EXPIRED: i16 = 32753;
/// Operation return code: too many authentication attempts; try again later.
pub const PEER_RETURN_CODE_HTTP_LIMIT_REACHED: i16 = 32745;
/// Operation return code: the authentication service is unavailable; try again.
pub const PEER_RETURN_CODE_EXTERNAL_HTTP_CALL_FAILED: i16 = 32744;
/// Operation return code: a compare-and-set of properties found other values than expected; nothing
/// changed (peer_client_set_room_properties with `expected`).
pub const PEER_RETURN_CODE_PROPERTIES_CONFLICT: i16 = -14;
/// Operation return code: a join by a player whose place is kept as inactive; rejoin instead
/// (Photon's JoinFailedFoundInactiveJoiner).
pub const PEER_RETURN_CODE_JOIN_FAILED_FOUND_INACTIVE_JOINER: i16 = 32749;
/// Operation return code: a rejoin with no place kept for the player, or after the room's PlayerTtl
/// (Photon's JoinFailedWithRejoinerNotFound).
pub const PEER_RETURN_CODE_JOIN_FAILED_WITH_REJOINER_NOT_FOUND: i16 = 32748;

/// Who a raised event reaches (Photon's ReceiverGroup): everyone but the sender.
pub const PEER_RECEIVERS_OTHERS: u8 = 0;
/// Everyone in the room, the sender too.
pub const PEER_RECEIVERS_ALL: u8 = 1;
/// The master client only.
pub const PEER_RECEIVERS_MASTER_CLIENT: u8 = 2;

/// What a raised event does to the room's event cache (Photon's EventCaching): nothing.
pub const PEER_EVENT_CACHE_NONE: u8 = 0;
/// The event is delivered and kept; a player joining later receives it, in order, before live events.
pub const PEER_EVENT_CACHE_ADD: u8 = 4;
/// Nothing is delivered; cached events of this code (0: any code) leave the cache: those sent by the
/// `target_actors` given, else by anyone.
pub const PEER_EVENT_CACHE_REMOVE: u8 = 6;
/// Nothing is delivered; the cached events of players who left leave the cache.
pub const PEER_EVENT_CACHE_REMOVE_OF_ACTORS_LEFT: u8 = 7;

/// Operation code of the responses to peer_client_raise_event_with (RaiseEvent).
pub const PEER_OP_CODE_RAISE_EVENT: u8 = 253;
/// Operation code of the responses to peer_client_set_room_properties and
/// peer_client_set_player_properties (SetProperties).
pub const PEER_OP_CODE_SET_PROPERTIES: u8 = 252;
/// Operation code of the responses to peer_client_change_groups (ChangeGroups).
pub const PEER_OP_CODE_CHANGE_GROUPS: u8 = 248;
/// Operation code of the responses to peer_client_join_lobby (JoinLobby).
pub const PEER_OP_CODE_JOIN_LOBBY: u8 = 229;
/// Operation code of the responses to peer_client_leave_lobby (LeaveLobby).
pub const PEER_OP_CODE_LEAVE_LOBBY: u8 = 228;

/// Room event code: a player joined (its properties come with it).
pub const PEER_EVENT_CODE_JOIN: u8 = 255;
/// Room event code: a player left, or went inactive (its place kept for the room's PlayerTtl).
pub const PEER_EVENT_CODE_LEAVE: u8 = 254;
/// Room event code: properties of the room or a player changed (the client's room view follows).
pub const PEER_EVENT_CODE_PROPERTIES_CHANGED: u8 = 253;
/// Lobby event code: the whole room list, on joining the lobby (peer_client_room_list follows it).
pub const PEER_EVENT_CODE_GAME_LIST: u8 = 230;
/// Lobby event code: rooms added, changed or removed since the last list or update.
pub const PEER_EVENT_CODE_GAME_LIST_UPDATE: u8 = 229;

/// A room property the server keeps (Byte key; read-only but for peer_client_set_room_properties on
/// IS_OPEN, IS_VISIBLE, MAX_PLAYERS and MASTER_CLIENT_ID): most players (Int).
pub const PEER_ROOM_PROP_MAX_PLAYERS: u8 = 255;
/// Listed for JoinRandomRoom and the lobby (Bool).
pub const PEER_ROOM_PROP_IS_VISIBLE: u8 = 254;
/// Open to new players (Bool).
pub const PEER_ROOM_PROP_IS_OPEN: u8 = 253;
/// Players in the room (Int; in the lobby's room list).
pub const PEER_ROOM_PROP_PLAYER_COUNT: u8 = 252;
/// The master client's actor number (Int).
pub const PEER_ROOM_PROP_MASTER_CLIENT_ID: u8 = 248;
/// The room's PlayerTtl in milliseconds (Int).
pub const PEER_ROOM_PROP_PLAYER_TTL: u8 = 246;
/// The room's EmptyRoomTtl in milliseconds (Int).
pub const PEER_ROOM_PROP_EMPTY_ROOM_TTL: u8 = 245;
/// A player property the server keeps (Byte key, read-only): the nickname from authentication
/// (String).
pub const PEER_PLAYER_PROP_NICKNAME: u8 = 255;
/// The player lost its connection and its place is kept (Bool true; absent when active).
pub const PEER_PLAYER_PROP_IS_INACTIVE: u8 = 254;
/// The user id from authentication, where the room publishes it (String).
pub const PEER_PLAYER_PROP_USER_ID: u8 = 253;

const _: () = {
    use crate::protocol::status::return_code as core;
    assert!(PEER_RETURN_CODE_PROPERTIES_CONFLICT == core::PROPERTIES_CONFLICT);
    assert!(PEER_RETURN_CODE_JOIN_FAILED_FOUND_INACTIVE_JOINER == core::JOIN_FAILED_FOUND_INACTIVE_JOINER);
    assert!(PEER_RETURN_CODE_JOIN_FAILED_WITH_REJOINER_NOT_FOUND == core::JOIN_FAILED_WITH_REJOINER_NOT_FOUND);
    assert!(PEER_RECEIVERS_OTHERS as i32 == rooms::RECEIVERS_OTHERS);
    assert!(PEER_RECEIVERS_ALL as i32 == rooms::RECEIVERS_ALL);
    assert!(PEER_RECEIVERS_MASTER_CLIENT as i32 == rooms::RECEIVERS_MASTER_CLIENT);
    assert!(PEER_EVENT_CACHE_NONE == rooms::CACHE_NONE);
    assert!(PEER_EVENT_CACHE_ADD == rooms::CACHE_ADD);
    assert!(PEER_EVENT_CACHE_REMOVE == rooms::CACHE_REMOVE);
    assert!(PEER_EVENT_CACHE_REMOVE_OF_ACTORS_LEFT == rooms::CACHE_REMOVE_OF_ACTORS_LEFT);
    assert!(PEER_OP_CODE_RAISE_EVENT == rooms::OP_RAISE_EVENT);
    assert!(PEER_OP_CODE_SET_PROPERTIES == rooms::OP_SET_PROPERTIES);
    assert!(PEER_OP_CODE_CHANGE_GROUPS == rooms::OP_CHANGE_GROUPS);
    assert!(PEER_OP_CODE_JOIN_LOBBY == rooms::OP_JOIN_LOBBY);
    assert!(PEER_OP_CODE_LEAVE_LOBBY == rooms::OP_LEAVE_LOBBY);
    assert!(PEER_EVENT_CODE_GAME_LIST == rooms::EVENT_GAME_LIST);
    assert!(PEER_EVENT_CODE_GAME_LIST_UPDATE == rooms::EVENT_GAME_LIST_UPDATE);
    assert!(PEER_EVENT_CODE_JOIN == rooms::EVENT_JOIN);
    assert!(PEER_EVENT_CODE_LEAVE == rooms::EVENT_LEAVE);
    assert!(PEER_EVENT_CODE_PROPERTIES_CHANGED == rooms::EVENT_PROPERTIES_CHANGED);
    assert!(PEER_ROOM_PROP_MAX_PLAYERS == rooms::PROP_MAX_PLAYERS);
    assert!(PEER_ROOM_PROP_IS_VISIBLE == rooms::PROP_IS_VISIBLE);
    assert!(PEER_ROOM_PROP_IS_OPEN == rooms::PROP_IS_OPEN);
    assert!(PEER_ROOM_PROP_PLAYER_COUNT == rooms::PROP_PLAYER_COUNT);
    assert!(PEER_ROOM_PROP_MASTER_CLIENT_ID == rooms::PROP_MASTER_CLIENT_ID);
    assert!(PEER_ROOM_PROP_PLAYER_TTL == rooms::PROP_PLAYER_TTL);
    assert!(PEER_ROOM_PROP_EMPTY_ROOM_TTL == rooms::PROP_EMPTY_ROOM_TTL);
    assert!(PEER_PLAYER_PROP_NICKNAME == rooms::PLAYER_PROP_NICKNAME);
    assert!(PEER_PLAYER_PROP_IS_INACTIVE == rooms::PLAYER_PROP_IS_INACTIVE);
    assert!(PEER_PLAYER_PROP_USER_ID == rooms::PLAYER_PROP_USER_ID);
};

const _: () = {
    use crate::protocol::status::return_code as core;
    assert!(PEER_RETURN_CODE_OPERATION_NOT_ALLOWED_IN_CURRENT_STATE == core::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert!(PEER_RETURN_CODE_INVALID_OPERATION == core::INVALID_OPERATION);
    assert!(PEER_RETURN_CODE_INVALID_AUTHENTICATION == core::INVALID_AUTHENTICATION);
    assert!(PEER_RETURN_CODE_CUSTOM_AUTHENTICATION_FAILED == core::CUSTOM_AUTHENTICATION_FAILED);
    assert!(PEER_RETURN_CODE_AUTHENTICATION_TICKET_EXPIRED == core::AUTHENTICATION_TICKET_EXPIRED);
    assert!(PEER_RETURN_CODE_HTTP_LIMIT_REACHED == core::HTTP_LIMIT_REACHED);
    assert!(PEER_RETURN_CODE_EXTERNAL_HTTP_CALL_FAILED == core::EXTERNAL_HTTP_CALL_FAILED);
};

pub(crate) fn status_name(status: u32) -> &'static CStr {
    StatusCode::from_u32(status).map_or(c"Unknown", StatusCode::c_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::Delivery;
    use crate::protocol::status::{return_code, DisconnectReason, PeerState};

    #[test]
    fn header_constants_match_the_core() {
        let statuses = [
            (PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT, StatusCode::SecurityExceptionOnConnect),
            (PEER_STATUS_EXCEPTION_ON_CONNECT, StatusCode::ExceptionOnConnect),
            (PEER_STATUS_CONNECT, StatusCode::Connect),
            (PEER_STATUS_DISCONNECT, StatusCode::Disconnect),
            (PEER_STATUS_EXCEPTION, StatusCode::Exception),
            (PEER_STATUS_SEND_ERROR, StatusCode::SendError),
            (PEER_STATUS_EXCEPTION_ON_RECEIVE, StatusCode::ExceptionOnReceive),
            (PEER_STATUS_TIMEOUT_DISCONNECT, StatusCode::TimeoutDisconnect),
            (PEER_STATUS_DISCONNECT_BY_SERVER_TIMEOUT, StatusCode::DisconnectByServerTimeout),
            (PEER_STATUS_DISCONNECT_BY_SERVER_USER_LIMIT, StatusCode::DisconnectByServerUserLimit),
            (PEER_STATUS_DISCONNECT_BY_SERVER_LOGIC, StatusCode::DisconnectByServerLogic),
            (PEER_STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN, StatusCode::DisconnectByServerReasonUnknown),
            (PEER_STATUS_ENCRYPTION_ESTABLISHED, StatusCode::EncryptionEstablished),
            (PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH, StatusCode::EncryptionFailedToEstablish),
            (PEER_STATUS_SERVER_ADDRESS_INVALID, StatusCode::ServerAddressInvalid),
            (PEER_STATUS_DNS_EXCEPTION_ON_CONNECT, StatusCode::DnsExceptionOnConnect),
        ];
        for (constant, code) in statuses {
            assert_eq!(constant, code as u32);
            assert_eq!(status_name(constant).to_str().unwrap(), code.name());
            assert_eq!(StatusCode::from_u32(constant), Some(code));
        }
        let states = [
            (PEER_STATE_DISCONNECTED, PeerState::Disconnected),
            (PEER_STATE_CONNECTING, PeerState::Connecting),
            (PEER_STATE_CONNECTED, PeerState::Connected),
            (PEER_STATE_DISCONNECTING, PeerState::Disconnecting),
            (PEER_STATE_ESTABLISHING_ENCRYPTION, PeerState::EstablishingEncryption),
            (PEER_STATE_ENCRYPTED, PeerState::Encrypted),
        ];
        assert_eq!(status_name(1), c"Unknown");
        for (constant, state) in states {
            assert_eq!(constant, state as u32);
        }
        let reasons = [
            (PEER_DISCONNECT_REASON_NONE, DisconnectReason::None),
            (PEER_DISCONNECT_REASON_CLIENT_REQUEST, DisconnectReason::ClientRequest),
            (PEER_DISCONNECT_REASON_VERSION_MISMATCH, DisconnectReason::VersionMismatch),
            (PEER_DISCONNECT_REASON_COUNTER_EXHAUSTED, DisconnectReason::CounterExhausted),
            (PEER_DISCONNECT_REASON_SERVER_LOGIC, DisconnectReason::ServerLogic),
            (PEER_DISCONNECT_REASON_SERVER_FULL, DisconnectReason::ServerFull),
            (PEER_DISCONNECT_REASON_SERVER_SHUTDOWN, DisconnectReason::ServerShutdown),
            (PEER_DISCONNECT_REASON_TIMEOUT, DisconnectReason::Timeout),
            (PEER_DISCONNECT_REASON_PROTOCOL_VIOLATION, DisconnectReason::ProtocolViolation),
            (PEER_DISCONNECT_REASON_AUTHENTICATION_FAILED, DisconnectReason::AuthenticationFailed),
            (PEER_DISCONNECT_REASON_REPLAY, DisconnectReason::Replay),
            (PEER_DISCONNECT_REASON_UNKNOWN_APP_ID, DisconnectReason::UnknownAppId),
            (PEER_DISCONNECT_REASON_KEY_EXCHANGE_FAILED, DisconnectReason::KeyExchangeFailed),
            (PEER_DISCONNECT_REASON_SLOW_CONSUMER, DisconnectReason::SlowConsumer),
            (PEER_DISCONNECT_REASON_RATE_LIMITED, DisconnectReason::RateLimited),
            (PEER_DISCONNECT_REASON_TOKEN_REFUSED, DisconnectReason::TokenRefused),
        ];
        for (constant, reason) in reasons {
            assert_eq!(constant, reason as u16);
        }
        assert_eq!(PEER_DELIVERY_MODE_UNRELIABLE, Delivery::Unreliable as u8);
        assert_eq!(PEER_DELIVERY_MODE_RELIABLE, Delivery::Reliable as u8);
        assert_eq!(PEER_DELIVERY_MODE_UNRELIABLE_UNSEQUENCED, Delivery::UnreliableUnsequenced as u8);
        assert_eq!(PEER_DELIVERY_MODE_RELIABLE_UNSEQUENCED, Delivery::ReliableUnsequenced as u8);
        assert_eq!(PEER_TRANSPORT_UDP, crate::peer::TransportKind::Udp as u32);
        assert_eq!(PEER_TRANSPORT_TCP, crate::peer::TransportKind::Tcp as u32);
        assert_eq!(PEER_TRANSPORT_WSS, crate::peer::TransportKind::WebSocketSecure as u32);
        assert_eq!(PEER_PROTOCOL_VERSION_LATEST, crate::protocol::frame::LATEST_VERSION);
        assert_eq!(PEER_PROTOCOL_VERSION_MIN, crate::protocol::frame::PROTOCOL_VERSION);
        assert_eq!(PEER_RETURN_CODE_OK, return_code::OK);
        assert_eq!(PEER_RETURN_CODE_MUST_ENCRYPT, return_code::MUST_ENCRYPT);
        assert_eq!(PEER_RETURN_CODE_PLUGIN_REJECTED, return_code::PLUGIN_REJECTED);
        assert_eq!(PEER_RETURN_CODE_SERVER_BUSY, return_code::SERVER_BUSY);
        assert_eq!(PEER_RETURN_CODE_GAME_FULL, return_code::GAME_FULL);
        assert_eq!(PEER_RETURN_CODE_INTERNAL_SERVER_ERROR, return_code::INTERNAL_SERVER_ERROR);
        assert_eq!(PEER_RETURN_CODE_DIRECTORY_UNAVAILABLE, return_code::DIRECTORY_UNAVAILABLE);
        assert_eq!(PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS, return_code::GAME_ID_ALREADY_EXISTS);
        assert_eq!(PEER_RETURN_CODE_GAME_CLOSED, return_code::GAME_CLOSED);
        assert_eq!(PEER_RETURN_CODE_SERVER_FULL, return_code::SERVER_FULL);
        assert_eq!(PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND, return_code::NO_RANDOM_MATCH_FOUND);
        assert_eq!(PEER_RETURN_CODE_GAME_DOES_NOT_EXIST, return_code::GAME_DOES_NOT_EXIST);
    }
}
