// sealnet C++ API: a header-only C++17 wrapper over the C API in sealnet.h.
//
// Build: add the directories of sealnet.h and of this file to the include path
// (`-I include -I bindings/cpp`) and link the sealnet library (`-lsealnet`).
//
// ERRORS
//   Every fallible call returns a [[nodiscard]] value and never throws for a library error:
//   - `sealnet::Result` for calls without a value: `ok()`, `code()` (an `ErrorCode`, numbered like
//     PEER_RESULT_*), `message()` (the static text of peer_result_str()).
//   - `sealnet::Expected<T>` for calls with a value: the same three, plus `value()`, `*` and `->`.
//     Reading the value of a failed Expected is a programming error: it prints a line to stderr and
//     aborts.
//   - `sealnet::last_error()` right after a failure says what exactly was wrong, naming the
//     parameter and the limit (for example the string length and the 64 KiB limit when a value is
//     put): the C library's peer_last_error(), or the wrapper's own detail when the wrapper refused
//     the call itself.
//   Getters return `std::optional<T>`: empty when the key is missing or holds another type.
//   `RealtimeClient::poll()` returns a `std::optional<ClientEvent>`: empty when nothing happened.
//   The wrapper throws only what C++ itself throws (std::bad_alloc), what your serializers of
//   custom types throw, and, from `Peer::service()`, the exceptions thrown by your own callbacks
//   (see CALLBACKS).
//
// CALLBACKS
//   The handlers in `Config` are std::function objects, called through static trampolines with
//   C linkage; the `user_data` pointer handed to the C library points at a heap block owned by the
//   Peer, so its address does not change when the Peer is moved, and callbacks keep working after a
//   move-construction or move-assignment.
//   - Callbacks run only inside `Peer::service()`, on the thread that calls it, never on sealnet's own
//     I/O thread.
//   - An exception thrown by a handler never crosses into the C library. The trampoline catches it
//     and keeps the FIRST one; the callbacks still queued in the same `service()` call keep running
//     (further exceptions of that call are dropped), and `service()` rethrows the kept exception
//     once the C library has returned.
//   - Calling `service()` of a Peer from inside one of its own callbacks returns
//     ErrorCode::CalledFromCallback.
//   - Destroying, resetting or move-assigning over a Peer from inside one of its own callbacks is
//     allowed: the C library defers the destruction (peer_destroy from a callback invalidates the
//     handle at once, runs no further callback, not even the rest of the current batch, and the
//     running peer_service completes it before returning). The handlers stay alive until that
//     `service()` call returns, which then frees them; it touches no member of the Peer object
//     after the dispatch, so the object itself may be gone by then.
//
// THREADS
//   - `service()` and `poll()`: one thread at a time per Peer (typically the game's main thread).
//   - `send_operation()`, `connect()`, `establish_encryption()`, `disconnect()`, `state()`,
//     `stats()`, `server_public_key()`, `auth_state()` and `server_token()`: any thread, also
//     concurrently with `service()` on another thread.
//   - Creating, moving, resetting and destroying a Peer are ordinary writes to a C++ object: never do
//     them while another thread is inside a member function of the same object (in particular
//     inside `service()`).
//   - A `Params`, `Array` or `Table` must not be used from two threads at once; reading one
//     concurrently is fine only while nobody modifies it.
//   - `register_type` and the custom-type registry: any thread.
//   - A `RealtimeClient`: `poll()`, `wait()`, `connect()`, the room requests, `raise_event()`,
//     `send_operation()`, the room and lobby operations (`set_room_properties()`,
//     `set_player_properties()`, `set_master_client()`, `change_groups()`, `join_lobby()`,
//     `leave_lobby()`) and `disconnect()` on the thread that polls it, one at a time; `state()`,
//     `server_public_key()`, `actor_number()`, `room_name()` and the room readers (`master_client()`,
//     `room_properties()`, `players()`, `player_properties()`, `player()`, `room_list()`,
//     `is_rejoining()`) on any thread, also while the polling thread blocks in `wait()`.
//
// TEARDOWN
//   `~Peer()` and `Peer::reset()` disconnect, stop the I/O thread and free the handle (through
//   `peer_destroy`). When they return (or, from inside a callback of that Peer, when the current
//   `service()` call returns), no callback of that Peer runs any more, its handlers (and whatever
//   they captured) are destroyed, and no thread of it remains. Queued but not yet dispatched results
//   are dropped.
//
// LIFETIMES OF VIEWS
//   - `Event`, `OperationResponse`, the status message and every view handed to a callback
//     (`ParamsView`, and the `ValueView`, `ArrayView`, `TableView`, `std::string_view`, `ByteView`,
//     `ArraySpan`, `BoolArrayView`, `CustomView` read from it) are borrowed from the C library and
//     valid only until that callback returns: copy what you want to keep (read it as an owning
//     type: `std::string`, `std::vector<...>`, `Params`, `Array`, `Table`, `Value`, `CustomValue`,
//     or use `ParamsView::clone()`).
//   - Views inside a `PolledEvent` from `Peer::poll()` stay valid until the next `poll()`,
//     `service()` or destruction of that Peer.
//   - Views read from a `Params`, `Array` or `Table` are valid while it lives and is not modified
//     or moved from.
//   - `Event::to_owned()` and `OperationResponse::to_owned()` copy a borrowed event or response
//     (`OwnedEvent`, `OwnedResponse`). `RealtimeClient::poll()` hands out such copies only: a
//     `ClientEvent` borrows nothing and stays valid as long as you keep it.
//
// REALTIME CLIENT
//   `RealtimeClient` (peer_client_*, Photon's LoadBalancingClient) logs in at a master, sends room
//   requests (join_or_create_room, create_room, join_room, join_random_room) and any other operation
//   (send_operation), follows the master's answer to a game server by itself and goes back to the
//   master on leave_room(). It is polled
//   only: no callbacks, nothing of it runs on the game's thread outside its own calls, and nothing
//   reaches the game after its destruction. A request returns ErrorCode::WrongState when the
//   client's state does not allow it; what the server answers arrives through poll() as a
//   `ClientEvent` (ClientStateChanged, ClientStatus, ClientJoined, ClientFailed with its
//   return_code::*, OwnedEvent, OwnedResponse).
//   In a room the client keeps the room's view (its properties, the players and theirs, the master
//   client) from the join answer and the Join, Leave and PropertiesChanged events, and in the lobby
//   the room list: read them with the room readers (copies, never views into the library) after
//   poll() hands out the event that changed them. Rooms are created with RoomOptions (first custom
//   properties, the ones the lobby lists, PlayerTtl, EmptyRoomTtl), events raised with
//   RaiseEventOptions (receivers, target actors, interest group, the room's event cache), and
//   properties set with compare-and-set (an OwnedResponse of op_code::SetProperties with
//   return_code::PropertiesConflict when the expected values do not match).
//
// VALUES
//   Every value is built and read through the C library (peer_value_t); this wrapper encodes
//   nothing. `Params::put(key, value)`, `Array::push(value)` and `Table::put(key, value)` take any
//   of these C++ types, and the C++ type decides the value type sent:
//
//     nullptr                                   Null
//     bool                                      Bool
//     uint8_t                                   Byte       (version 2)
//     int16_t                                   Short      (version 2)
//     int32_t (int)                             Int
//     int64_t                                   Long
//     float, double                             Float, Double
//     std::string_view, std::string, const char* String (UTF-8)
//     ByteView, std::vector<uint8_t>, std::array<uint8_t, N>   Bytes
//     std::vector / std::array / ArraySpan of int16_t, int32_t, int64_t, float, double
//                                               ShortArray, IntArray, LongArray, FloatArray,
//                                               DoubleArray (version 2; one copy, no per-element call)
//     std::vector<bool>, ArraySpan<bool>, BoolArrayView   BoolArray (version 2)
//     std::vector<std::string> (or string_view)  StringArray (version 2)
//     Array, ArrayView, std::vector<Value>       Array (Photon's object[]; an Array::strings() is a
//                                               StringArray)
//     Params, ParamsView                         Map (nested byte-keyed dictionary)
//     Table, TableView                           Table (Photon's Hashtable, version 2)
//     CustomValue, CustomView                    Custom with that code (version 2)
//     a type registered with register_type      Custom with its code (version 2)
//     Value, ValueView                           whatever it holds
//
//   Other integer types map by width when signed (`long long` is a Long); unsigned types other than
//   uint8_t and `char` are refused at compile time. Limits (a string over 64 KiB, bytes over
//   256 KiB, more than 4096 entries, nesting deeper than 8, ...) are checked when the value is put:
//   ErrorCode::ParamsTooLarge, and last_error() names the limit.
//
//   Reading: `get<T>(key)` (on ParamsView, ArrayView by index, TableView by key, ValueView) returns
//   the value when its type is exactly the one T maps to, else empty. View types borrow (no copy):
//   std::string_view, ByteView, ArraySpan<E>, BoolArrayView, ArrayView, ParamsView, TableView,
//   CustomView, ValueView; owning types copy: std::string, std::vector<...>, Array, Params, Table,
//   CustomValue, Value, and registered types. `type(key)` says what a key holds.
//
// CUSTOM TYPES
//   `register_type<T>(code, serialize, deserialize)` is Photon's RegisterType: a process-wide,
//   thread-safe registry; a code or a type registered twice is refused. A Custom value of a code
//   nobody registered reads as CustomView / CustomValue (code and bytes) and can be put back
//   unchanged.

#ifndef SEALNET_HPP
#define SEALNET_HPP

#include "sealnet.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#if defined(__GNUG__)
#include <cxxabi.h>  // type names in error messages
#endif

namespace sealnet {

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

/// Result codes of the C API (PEER_RESULT_*), same numbers.
enum class ErrorCode : uint32_t {
  Ok = 0,
  NullParameter = 1,
  InvalidPeer = 2,
  Panic = 3,
  InvalidArgument = 4,
  EncryptionNotEstablished = 5,
  MustEncrypt = 6,
  NotConnected = 7,
  AlreadyConnected = 8,
  KeyExchangeAlreadyStarted = 9,
  ParamsTooLarge = 10,
  MessageTooLarge = 11,
  SendBufferFull = 12,
  CounterExhausted = 13,
  NoEvent = 14,
  NotFound = 15,
  TypeMismatch = 16,
  BufferTooSmall = 17,
  CalledFromCallback = 18,
  InvalidAddress = 19,
  Io = 20,
  TimedOut = 21,
  /// A value's type needs a newer protocol version than the connection speaks.
  NeedsProtocolVersion = 22,
  /// A RealtimeClient is not in a state that allows the call (RealtimeClient::state() says which;
  /// last_error() names it): a room request before the login, raise_event outside a room, ...
  WrongState = 23,
};

/// Value types of a parameter (PEER_VALUE_TYPE_*), same numbers.
enum class ValueType : uint32_t {
  Null = 0,
  Bool = 1,
  Int = 2,
  Long = 3,
  Float = 4,
  Double = 5,
  String = 6,
  Bytes = 7,
  Array = 8,
  Map = 9,
  // Types 10 and above need protocol version 2 on the connection they are sent on.
  Byte = 10,
  Short = 11,
  ShortArray = 12,
  IntArray = 13,
  LongArray = 14,
  FloatArray = 15,
  DoubleArray = 16,
  BoolArray = 17,
  StringArray = 18,
  Table = 19,
  Custom = 20,
};

/// The lowercase name of a value type ("short", "int array", ...), or "unknown".
inline const char* type_name(ValueType type) noexcept {
  static constexpr const char* kNames[] = {
      "null",       "bool",         "int",        "long",        "float",      "double",     "string",
      "bytes",      "array",        "map",        "byte",        "short",      "short array", "int array",
      "long array", "float array", "double array", "bool array", "string array", "table",    "custom"};
  const auto index = static_cast<uint32_t>(type);
  return index < sizeof kNames / sizeof kNames[0] ? kNames[index] : "unknown";
}

/// Transports (PEER_TRANSPORT_*, Photon's ConnectionProtocol numbers; plain WebSocket, 4, is not
/// offered).
enum class Transport : uint32_t {
  /// UDP, protocol version 3: each operation's delivery mode and channel apply, and the key exchange
  /// always runs at once. A server that does not answer is found out by the connect timeout
  /// (status::TimeoutDisconnect).
  Udp = 0,
  /// TCP, the default: everything is reliable and ordered.
  Tcp = 1,
  /// WebSocket over TLS (WebSocketSecure), protocol version 4; the address is a
  /// `wss://host:port/path` URL. TLS protects every frame, so no key exchange runs: the status
  /// handler hears status::Connect, then at once status::EncryptionEstablished; the state is
  /// PeerState::Encrypted, sends with `encrypt` succeed (TLS satisfies them), and
  /// establish_encryption() does nothing. The certificate is checked as ConnectOptions says; one the
  /// check refuses gives status::SecurityExceptionOnConnect, then status::Disconnect.
  WebSocketSecure = 5,
};

/// Which server key a connection pins (PEER_PIN_*), for ConnectOptions.
enum class Pin : uint8_t {
  /// As Config::pinned_server_key says.
  AsConfigured = 0,
  /// ConnectOptions::server_key.
  Key = 1,
  /// No pin for this connection, whatever the Config says.
  None = 2,
};

/// Protocol versions this library speaks (for Config::max_protocol_version and Stats).
namespace protocol_version {
inline constexpr uint8_t Min = PEER_PROTOCOL_VERSION_MIN;
inline constexpr uint8_t Latest = PEER_PROTOCOL_VERSION_LATEST;
}  // namespace protocol_version

/// Delivery modes (PEER_DELIVERY_MODE_*, Photon's numbering).
enum class DeliveryMode : uint8_t {
  Unreliable = 0,
  Reliable = 1,
  UnreliableUnsequenced = 2,
  ReliableUnsequenced = 3,
};

/// Peer states (PEER_STATE_*; 0, 1, 3, 4 are Photon's PeerStateValue).
enum class PeerState : uint32_t {
  Disconnected = 0,
  Connecting = 1,
  Connected = 3,
  Disconnecting = 4,
  EstablishingEncryption = 5,
  Encrypted = 6,
};

/// How a connection authenticates (PEER_AUTH_*), for AuthValues::create.
enum class AuthType : uint32_t {
  /// The server asks the studio's backend (its webhook) about the connection token.
  Custom = 0,
  /// Present a server token (AuthenticateOnce, 231): one set with AuthValues::set_token, else the
  /// latest one the peer holds.
  Token = 254,
  /// Anonymous, where the server allows it.
  None = 255,
};

/// Where a connection's authentication stands (PEER_AUTH_STATE_*), from Peer::auth_state().
enum class AuthState : uint32_t {
  /// The connection has no authentication values, or the key exchange is not done.
  None = 0,
  /// Sent right after the key exchange; the answer (op 230 or 231) is awaited.
  Pending = 1,
  Authenticated = 2,
  /// Refused; AuthStatus::return_code says why.
  Failed = 3,
};

/// States of a RealtimeClient (PEER_CLIENT_STATE_*, Photon's ClientState numbers; 2 and 3 are not
/// used).
enum class ClientState : uint32_t {
  /// Created, not connected yet.
  PeerCreated = 0,
  /// Authenticating at a master or a game server, after the key exchange.
  Authenticating = 1,
  /// Leaving the master for the game server the master named.
  DisconnectingFromMasterServer = 4,
  /// Connecting to that game server, requiring the key the master gave.
  ConnectingToGameServer = 5,
  /// Authenticated at the game server with the master's token; the join follows.
  ConnectedToGameServer = 6,
  /// A room request is on its way (at the master, or at the game server).
  Joining = 7,
  /// In a room: events may be raised.
  Joined = 8,
  /// Leaving the room.
  Leaving = 9,
  /// Leaving the game server, back to the master.
  DisconnectingFromGameServer = 10,
  /// Connecting to a master (at login, or back from a game server with the token).
  ConnectingToMasterServer = 11,
  /// RealtimeClient::disconnect() was called.
  Disconnecting = 12,
  /// Not connected; RealtimeClient::connect() may log in (again).
  Disconnected = 13,
  /// Authenticated at a master: room requests may be sent.
  ConnectedToMasterServer = 14,
};

/// The name of a client state as written in ClientState ("ConnectedToMasterServer", ...), or
/// "Unknown".
inline const char* client_state_name(ClientState state) noexcept {
  switch (state) {
    case ClientState::PeerCreated: return "PeerCreated";
    case ClientState::Authenticating: return "Authenticating";
    case ClientState::DisconnectingFromMasterServer: return "DisconnectingFromMasterServer";
    case ClientState::ConnectingToGameServer: return "ConnectingToGameServer";
    case ClientState::ConnectedToGameServer: return "ConnectedToGameServer";
    case ClientState::Joining: return "Joining";
    case ClientState::Joined: return "Joined";
    case ClientState::Leaving: return "Leaving";
    case ClientState::DisconnectingFromGameServer: return "DisconnectingFromGameServer";
    case ClientState::ConnectingToMasterServer: return "ConnectingToMasterServer";
    case ClientState::Disconnecting: return "Disconnecting";
    case ClientState::Disconnected: return "Disconnected";
    case ClientState::ConnectedToMasterServer: return "ConnectedToMasterServer";
  }
  return "Unknown";
}

/// What a polled event holds (PEER_EVENT_KIND_*).
enum class EventKind : uint32_t {
  Status = 1,
  OperationResponse = 2,
  Event = 3,
};

/// Status codes handed to the status handler (PEER_STATUS_*, Photon's StatusCode numbers). Kept as
/// plain integers because the set is open: a newer library may report codes not listed here.
namespace status {
inline constexpr uint32_t SecurityExceptionOnConnect = 1022;
inline constexpr uint32_t ExceptionOnConnect = 1023;
inline constexpr uint32_t Connect = 1024;
inline constexpr uint32_t Disconnect = 1025;
inline constexpr uint32_t Exception = 1026;
inline constexpr uint32_t SendError = 1030;
inline constexpr uint32_t ExceptionOnReceive = 1039;
inline constexpr uint32_t TimeoutDisconnect = 1040;
inline constexpr uint32_t DisconnectByServerTimeout = 1041;
inline constexpr uint32_t DisconnectByServerUserLimit = 1042;
inline constexpr uint32_t DisconnectByServerLogic = 1043;
inline constexpr uint32_t DisconnectByServerReasonUnknown = 1044;
inline constexpr uint32_t EncryptionEstablished = 1048;
inline constexpr uint32_t EncryptionFailedToEstablish = 1049;
inline constexpr uint32_t ServerAddressInvalid = 1050;
inline constexpr uint32_t DnsExceptionOnConnect = 1051;
}  // namespace status

/// Disconnect reasons in a status (PEER_DISCONNECT_REASON_*); 0 when none.
namespace disconnect_reason {
inline constexpr uint16_t None = PEER_DISCONNECT_REASON_NONE;
inline constexpr uint16_t ClientRequest = PEER_DISCONNECT_REASON_CLIENT_REQUEST;
inline constexpr uint16_t ServerShutdown = 2;
inline constexpr uint16_t Timeout = 3;
inline constexpr uint16_t ProtocolViolation = 4;
inline constexpr uint16_t AuthenticationFailed = 5;
inline constexpr uint16_t Replay = 6;
inline constexpr uint16_t UnknownAppId = 7;
inline constexpr uint16_t VersionMismatch = PEER_DISCONNECT_REASON_VERSION_MISMATCH;
inline constexpr uint16_t KeyExchangeFailed = 9;
inline constexpr uint16_t CounterExhausted = PEER_DISCONNECT_REASON_COUNTER_EXHAUSTED;
inline constexpr uint16_t SlowConsumer = 11;
inline constexpr uint16_t ServerLogic = PEER_DISCONNECT_REASON_SERVER_LOGIC;
inline constexpr uint16_t ServerFull = PEER_DISCONNECT_REASON_SERVER_FULL;
inline constexpr uint16_t RateLimited = PEER_DISCONNECT_REASON_RATE_LIMITED;
/// The server refused the AuthOnceWss token of the key exchange (invalid or expired): the peer
/// forgets those credentials; authenticate over WSS again.
inline constexpr uint16_t TokenRefused = PEER_DISCONNECT_REASON_TOKEN_REFUSED;
}  // namespace disconnect_reason

/// Operation return codes (PEER_RETURN_CODE_*): 0 is success, negative values are errors.
namespace return_code {
inline constexpr int16_t Ok = 0;
inline constexpr int16_t MustEncrypt = -10;
inline constexpr int16_t PluginRejected = -11;
inline constexpr int16_t ServerBusy = -12;
inline constexpr int16_t GameFull = 32765;
// Matchmaking: answers to JoinRoom, CreateRoom and JoinRandomRoom, which a RealtimeClient reports
// as ClientFailed (docs/cluster.md section 2).
/// Matchmaking cannot answer, the room directory is unreachable; try again.
inline constexpr int16_t DirectoryUnavailable = -13;
/// CreateRoom of a room that exists (Photon's GameIdAlreadyExists).
inline constexpr int16_t GameIdAlreadyExists = 32766;
/// The room takes no new players (Photon's GameClosed).
inline constexpr int16_t GameClosed = 32764;
/// No game server can take a new room (Photon's ServerFull).
inline constexpr int16_t ServerFull = 32762;
/// JoinRandomRoom found no open, visible room with space (Photon's NoRandomMatchFound).
inline constexpr int16_t NoRandomMatchFound = 32760;
/// JoinRoom of a room that does not exist (Photon's GameDoesNotExist).
inline constexpr int16_t GameDoesNotExist = 32758;
// Answers to Authenticate (230) and AuthenticateOnce (231), docs/auth.md section 4.2.
/// An operation other than 230/231 before authentication, where anonymous players are not allowed.
inline constexpr int16_t OperationNotAllowedInCurrentState = -3;
/// A malformed request (e.g. a connection token over 128 bytes), or an operation the server does not
/// know.
inline constexpr int16_t InvalidOperation = -2;
/// The server, or a RealtimeClient itself (in a ClientFailed), could not go on.
inline constexpr int16_t InternalServerError = -1;
/// Anonymous where the server does not allow it; custom with no backend configured.
inline constexpr int16_t InvalidAuthentication = 32767;
/// The backend rejected the player.
inline constexpr int16_t CustomAuthenticationFailed = 32755;
/// The server token is not valid here or has expired: authenticate again.
inline constexpr int16_t AuthenticationTicketExpired = 32753;
/// Too many authentication attempts; try again later.
inline constexpr int16_t HttpLimitReached = 32745;
/// The backend is unavailable or answered wrongly; try again.
inline constexpr int16_t ExternalHttpCallFailed = 32744;
// Rooms: answers to SetProperties (an OwnedResponse of op_code::SetProperties) and to joins.
/// A compare-and-set of properties (set_room_properties or set_player_properties with `expected`)
/// found other values than expected; nothing changed.
inline constexpr int16_t PropertiesConflict = -14;
/// A join by a player whose place in the room is kept as inactive (Photon's
/// JoinFailedFoundInactiveJoiner): the client rejoins by itself instead.
inline constexpr int16_t JoinFailedFoundInactiveJoiner = 32749;
/// A rejoin with no place kept for the player, or after the room's PlayerTtl ran out (Photon's
/// JoinFailedWithRejoinerNotFound): a ClientFailed that ends RealtimeClient::is_rejoining().
inline constexpr int16_t JoinFailedWithRejoinerNotFound = 32748;
}  // namespace return_code

/// Who a raised event reaches (PEER_RECEIVERS_*, Photon's ReceiverGroup), for RaiseEventOptions.
enum class Receivers : uint8_t {
  /// Everyone in the room but the sender (the default).
  Others = 0,
  /// Everyone in the room, the sender too.
  All = 1,
  /// The master client only (the sender too, when it is the master client).
  MasterClient = 2,
};

/// What a raised event does to the room's event cache (PEER_EVENT_CACHE_*, Photon's EventCaching),
/// for RaiseEventOptions. The cache is bounded per room: an Add beyond it is refused (an
/// OwnedResponse of op_code::RaiseEvent with return_code::InvalidOperation) and nothing is relayed.
enum class EventCache : uint8_t {
  /// Relayed, not cached (the default).
  None = 0,
  /// Relayed and kept: a player joining later receives it, in order, before live events.
  Add = 4,
  /// Nothing is relayed; the cached events of this code (0: of every code) leave the cache: those
  /// raised by RaiseEventOptions::target_actors, or by anyone when that list is empty.
  Remove = 6,
  /// Nothing is relayed; the cached events of players who left leave the cache (for rooms made with
  /// RoomOptions::cleanup_cache_on_leave false).
  RemoveOfActorsLeft = 7,
};

/// Event codes of the room the server raises (PEER_EVENT_CODE_*), as OwnedEvent::code. The
/// RealtimeClient's room view follows them before poll() hands them out.
namespace event_code {
/// A player joined (OwnedEvent::sender); its properties come with it.
inline constexpr uint8_t Join = PEER_EVENT_CODE_JOIN;
/// A player left, or went inactive (its place kept for the room's PlayerTtl).
inline constexpr uint8_t Leave = PEER_EVENT_CODE_LEAVE;
/// Properties of the room or of a player changed; the room readers show the new values.
inline constexpr uint8_t PropertiesChanged = PEER_EVENT_CODE_PROPERTIES_CHANGED;
/// The lobby's whole room list (after join_lobby); RealtimeClient::room_list() shows it.
inline constexpr uint8_t GameList = PEER_EVENT_CODE_GAME_LIST;
/// What changed in the lobby's room list, at most about once a second; room_list() follows it.
inline constexpr uint8_t GameListUpdate = PEER_EVENT_CODE_GAME_LIST_UPDATE;
}  // namespace event_code

/// Operation codes whose responses a RealtimeClient hands out as OwnedResponse::op_code (Photon's
/// OperationCode numbers).
namespace op_code {
/// RaiseEvent: answered only when recipients were skipped or the event was refused.
inline constexpr uint8_t RaiseEvent = PEER_OP_CODE_RAISE_EVENT;
/// SetProperties (set_room_properties, set_player_properties, set_master_client): return_code::Ok,
/// or return_code::PropertiesConflict for a compare-and-set that did not match.
inline constexpr uint8_t SetProperties = PEER_OP_CODE_SET_PROPERTIES;
/// ChangeGroups (change_groups): return_code::Ok once the subscriptions apply.
inline constexpr uint8_t ChangeGroups = PEER_OP_CODE_CHANGE_GROUPS;
/// JoinLobby (join_lobby).
inline constexpr uint8_t JoinLobby = PEER_OP_CODE_JOIN_LOBBY;
/// LeaveLobby (leave_lobby).
inline constexpr uint8_t LeaveLobby = PEER_OP_CODE_LEAVE_LOBBY;
}  // namespace op_code

/// Keys of the room properties the server keeps (PEER_ROOM_PROP_*): Byte keys (uint8_t) of the
/// table RealtimeClient::room_properties() gives, beside the custom keys. Read-only, but for
/// IsOpen, IsVisible, MaxPlayers and MasterClientId, which set_room_properties may set.
namespace room_property {
/// Most players (Int; 0: as many as the server allows).
inline constexpr uint8_t MaxPlayers = PEER_ROOM_PROP_MAX_PLAYERS;
/// Listed for JoinRandomRoom and the lobby (Bool).
inline constexpr uint8_t IsVisible = PEER_ROOM_PROP_IS_VISIBLE;
/// Open to new players (Bool).
inline constexpr uint8_t IsOpen = PEER_ROOM_PROP_IS_OPEN;
/// Players in the room (Int; in the lobby's room list).
inline constexpr uint8_t PlayerCount = PEER_ROOM_PROP_PLAYER_COUNT;
/// The master client's actor number (Int).
inline constexpr uint8_t MasterClientId = PEER_ROOM_PROP_MASTER_CLIENT_ID;
/// The room's PlayerTtl in milliseconds (Int).
inline constexpr uint8_t PlayerTtl = PEER_ROOM_PROP_PLAYER_TTL;
/// The room's EmptyRoomTtl in milliseconds (Int).
inline constexpr uint8_t EmptyRoomTtl = PEER_ROOM_PROP_EMPTY_ROOM_TTL;
}  // namespace room_property

/// Keys of the player properties the server keeps (PEER_PLAYER_PROP_*): read-only Byte keys
/// (uint8_t) of the table RealtimeClient::player_properties() gives (Player reads them).
namespace player_property {
/// The nickname from authentication (String; absent for an anonymous player).
inline constexpr uint8_t Nickname = PEER_PLAYER_PROP_NICKNAME;
/// The player lost its connection and its place is kept (Bool true; absent while active).
inline constexpr uint8_t IsInactive = PEER_PLAYER_PROP_IS_INACTIVE;
/// The user id from authentication, where the server publishes it (String).
inline constexpr uint8_t UserId = PEER_PLAYER_PROP_USER_ID;
}  // namespace player_property

// The mirrors above must keep the C numbers.
static_assert(static_cast<uint32_t>(ErrorCode::Ok) == PEER_RESULT_OK);
static_assert(static_cast<uint32_t>(ErrorCode::NullParameter) == PEER_RESULT_NULL_PARAMETER);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidPeer) == PEER_RESULT_INVALID_PEER);
static_assert(static_cast<uint32_t>(ErrorCode::Panic) == PEER_RESULT_PANIC);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidArgument) == PEER_RESULT_INVALID_ARGUMENT);
static_assert(static_cast<uint32_t>(ErrorCode::EncryptionNotEstablished) ==
              PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED);
static_assert(static_cast<uint32_t>(ErrorCode::MustEncrypt) == PEER_RESULT_MUST_ENCRYPT);
static_assert(static_cast<uint32_t>(ErrorCode::NotConnected) == PEER_RESULT_NOT_CONNECTED);
static_assert(static_cast<uint32_t>(ErrorCode::AlreadyConnected) == PEER_RESULT_ALREADY_CONNECTED);
static_assert(static_cast<uint32_t>(ErrorCode::KeyExchangeAlreadyStarted) ==
              PEER_RESULT_KEY_EXCHANGE_ALREADY_STARTED);
static_assert(static_cast<uint32_t>(ErrorCode::ParamsTooLarge) == PEER_RESULT_PARAMS_TOO_LARGE);
static_assert(static_cast<uint32_t>(ErrorCode::MessageTooLarge) == PEER_RESULT_MESSAGE_TOO_LARGE);
static_assert(static_cast<uint32_t>(ErrorCode::SendBufferFull) == PEER_RESULT_SEND_BUFFER_FULL);
static_assert(static_cast<uint32_t>(ErrorCode::CounterExhausted) == PEER_RESULT_COUNTER_EXHAUSTED);
static_assert(static_cast<uint32_t>(ErrorCode::NoEvent) == PEER_RESULT_NO_EVENT);
static_assert(static_cast<uint32_t>(ErrorCode::NotFound) == PEER_RESULT_NOT_FOUND);
static_assert(static_cast<uint32_t>(ErrorCode::TypeMismatch) == PEER_RESULT_TYPE_MISMATCH);
static_assert(static_cast<uint32_t>(ErrorCode::BufferTooSmall) == PEER_RESULT_BUFFER_TOO_SMALL);
static_assert(static_cast<uint32_t>(ErrorCode::CalledFromCallback) ==
              PEER_RESULT_CALLED_FROM_CALLBACK);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidAddress) == PEER_RESULT_INVALID_ADDRESS);
static_assert(static_cast<uint32_t>(ErrorCode::Io) == PEER_RESULT_IO);
static_assert(static_cast<uint32_t>(ErrorCode::TimedOut) == PEER_RESULT_TIMED_OUT);
static_assert(static_cast<uint32_t>(ErrorCode::NeedsProtocolVersion) == PEER_RESULT_NEEDS_PROTOCOL_VERSION);
static_assert(static_cast<uint32_t>(ErrorCode::WrongState) == PEER_RESULT_WRONG_STATE);

static_assert(static_cast<uint32_t>(ValueType::Null) == PEER_VALUE_TYPE_NULL);
static_assert(static_cast<uint32_t>(ValueType::Bool) == PEER_VALUE_TYPE_BOOL);
static_assert(static_cast<uint32_t>(ValueType::Int) == PEER_VALUE_TYPE_INT);
static_assert(static_cast<uint32_t>(ValueType::Long) == PEER_VALUE_TYPE_LONG);
static_assert(static_cast<uint32_t>(ValueType::Float) == PEER_VALUE_TYPE_FLOAT);
static_assert(static_cast<uint32_t>(ValueType::Double) == PEER_VALUE_TYPE_DOUBLE);
static_assert(static_cast<uint32_t>(ValueType::String) == PEER_VALUE_TYPE_STRING);
static_assert(static_cast<uint32_t>(ValueType::Bytes) == PEER_VALUE_TYPE_BYTES);
static_assert(static_cast<uint32_t>(ValueType::Array) == PEER_VALUE_TYPE_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::Map) == PEER_VALUE_TYPE_MAP);
static_assert(static_cast<uint32_t>(ValueType::Byte) == PEER_VALUE_TYPE_BYTE);
static_assert(static_cast<uint32_t>(ValueType::Short) == PEER_VALUE_TYPE_SHORT);
static_assert(static_cast<uint32_t>(ValueType::ShortArray) == PEER_VALUE_TYPE_SHORT_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::IntArray) == PEER_VALUE_TYPE_INT_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::LongArray) == PEER_VALUE_TYPE_LONG_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::FloatArray) == PEER_VALUE_TYPE_FLOAT_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::DoubleArray) == PEER_VALUE_TYPE_DOUBLE_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::BoolArray) == PEER_VALUE_TYPE_BOOL_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::StringArray) == PEER_VALUE_TYPE_STRING_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::Table) == PEER_VALUE_TYPE_TABLE);
static_assert(static_cast<uint32_t>(ValueType::Custom) == PEER_VALUE_TYPE_CUSTOM);

static_assert(static_cast<uint32_t>(Transport::Udp) == PEER_TRANSPORT_UDP);
static_assert(static_cast<uint32_t>(Transport::Tcp) == PEER_TRANSPORT_TCP);
static_assert(static_cast<uint32_t>(Transport::WebSocketSecure) == PEER_TRANSPORT_WSS);
static_assert(static_cast<uint8_t>(Pin::AsConfigured) == PEER_PIN_AS_CONFIGURED);
static_assert(static_cast<uint8_t>(Pin::Key) == PEER_PIN_KEY);
static_assert(static_cast<uint8_t>(Pin::None) == PEER_PIN_NONE);

static_assert(static_cast<uint8_t>(DeliveryMode::Unreliable) == PEER_DELIVERY_MODE_UNRELIABLE);
static_assert(static_cast<uint8_t>(DeliveryMode::Reliable) == PEER_DELIVERY_MODE_RELIABLE);
static_assert(static_cast<uint8_t>(DeliveryMode::UnreliableUnsequenced) ==
              PEER_DELIVERY_MODE_UNRELIABLE_UNSEQUENCED);
static_assert(static_cast<uint8_t>(DeliveryMode::ReliableUnsequenced) ==
              PEER_DELIVERY_MODE_RELIABLE_UNSEQUENCED);

static_assert(static_cast<uint32_t>(PeerState::Disconnected) == PEER_STATE_DISCONNECTED);
static_assert(static_cast<uint32_t>(PeerState::Connecting) == PEER_STATE_CONNECTING);
static_assert(static_cast<uint32_t>(PeerState::Connected) == PEER_STATE_CONNECTED);
static_assert(static_cast<uint32_t>(PeerState::Disconnecting) == PEER_STATE_DISCONNECTING);
static_assert(static_cast<uint32_t>(PeerState::EstablishingEncryption) ==
              PEER_STATE_ESTABLISHING_ENCRYPTION);
static_assert(static_cast<uint32_t>(PeerState::Encrypted) == PEER_STATE_ENCRYPTED);

static_assert(static_cast<uint32_t>(AuthType::Custom) == PEER_AUTH_CUSTOM);
static_assert(static_cast<uint32_t>(AuthType::Token) == PEER_AUTH_TOKEN);
static_assert(static_cast<uint32_t>(AuthType::None) == PEER_AUTH_NONE);
static_assert(static_cast<uint32_t>(AuthState::None) == PEER_AUTH_STATE_NONE);
static_assert(static_cast<uint32_t>(AuthState::Pending) == PEER_AUTH_STATE_PENDING);
static_assert(static_cast<uint32_t>(AuthState::Authenticated) == PEER_AUTH_STATE_AUTHENTICATED);
static_assert(static_cast<uint32_t>(AuthState::Failed) == PEER_AUTH_STATE_FAILED);

static_assert(static_cast<uint32_t>(ClientState::PeerCreated) == PEER_CLIENT_STATE_PEER_CREATED);
static_assert(static_cast<uint32_t>(ClientState::Authenticating) == PEER_CLIENT_STATE_AUTHENTICATING);
static_assert(static_cast<uint32_t>(ClientState::DisconnectingFromMasterServer) ==
              PEER_CLIENT_STATE_DISCONNECTING_FROM_MASTER_SERVER);
static_assert(static_cast<uint32_t>(ClientState::ConnectingToGameServer) ==
              PEER_CLIENT_STATE_CONNECTING_TO_GAME_SERVER);
static_assert(static_cast<uint32_t>(ClientState::ConnectedToGameServer) ==
              PEER_CLIENT_STATE_CONNECTED_TO_GAME_SERVER);
static_assert(static_cast<uint32_t>(ClientState::Joining) == PEER_CLIENT_STATE_JOINING);
static_assert(static_cast<uint32_t>(ClientState::Joined) == PEER_CLIENT_STATE_JOINED);
static_assert(static_cast<uint32_t>(ClientState::Leaving) == PEER_CLIENT_STATE_LEAVING);
static_assert(static_cast<uint32_t>(ClientState::DisconnectingFromGameServer) ==
              PEER_CLIENT_STATE_DISCONNECTING_FROM_GAME_SERVER);
static_assert(static_cast<uint32_t>(ClientState::ConnectingToMasterServer) ==
              PEER_CLIENT_STATE_CONNECTING_TO_MASTER_SERVER);
static_assert(static_cast<uint32_t>(ClientState::Disconnecting) == PEER_CLIENT_STATE_DISCONNECTING);
static_assert(static_cast<uint32_t>(ClientState::Disconnected) == PEER_CLIENT_STATE_DISCONNECTED);
static_assert(static_cast<uint32_t>(ClientState::ConnectedToMasterServer) ==
              PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER);

static_assert(static_cast<uint32_t>(EventKind::Status) == PEER_EVENT_KIND_STATUS);
static_assert(static_cast<uint32_t>(EventKind::OperationResponse) ==
              PEER_EVENT_KIND_OPERATION_RESPONSE);
static_assert(static_cast<uint32_t>(EventKind::Event) == PEER_EVENT_KIND_EVENT);

static_assert(status::SecurityExceptionOnConnect == PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT);
static_assert(status::ExceptionOnConnect == PEER_STATUS_EXCEPTION_ON_CONNECT);
static_assert(status::Connect == PEER_STATUS_CONNECT);
static_assert(status::Disconnect == PEER_STATUS_DISCONNECT);
static_assert(status::Exception == PEER_STATUS_EXCEPTION);
static_assert(status::SendError == PEER_STATUS_SEND_ERROR);
static_assert(status::ExceptionOnReceive == PEER_STATUS_EXCEPTION_ON_RECEIVE);
static_assert(status::TimeoutDisconnect == PEER_STATUS_TIMEOUT_DISCONNECT);
static_assert(status::DisconnectByServerTimeout == PEER_STATUS_DISCONNECT_BY_SERVER_TIMEOUT);
static_assert(status::DisconnectByServerUserLimit == PEER_STATUS_DISCONNECT_BY_SERVER_USER_LIMIT);
static_assert(status::DisconnectByServerLogic == PEER_STATUS_DISCONNECT_BY_SERVER_LOGIC);
static_assert(status::DisconnectByServerReasonUnknown ==
              PEER_STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN);
static_assert(status::EncryptionEstablished == PEER_STATUS_ENCRYPTION_ESTABLISHED);
static_assert(status::EncryptionFailedToEstablish == PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH);
static_assert(status::ServerAddressInvalid == PEER_STATUS_SERVER_ADDRESS_INVALID);
static_assert(status::DnsExceptionOnConnect == PEER_STATUS_DNS_EXCEPTION_ON_CONNECT);

static_assert(disconnect_reason::ServerShutdown == PEER_DISCONNECT_REASON_SERVER_SHUTDOWN);
static_assert(disconnect_reason::Timeout == PEER_DISCONNECT_REASON_TIMEOUT);
static_assert(disconnect_reason::ProtocolViolation == PEER_DISCONNECT_REASON_PROTOCOL_VIOLATION);
static_assert(disconnect_reason::AuthenticationFailed ==
              PEER_DISCONNECT_REASON_AUTHENTICATION_FAILED);
static_assert(disconnect_reason::Replay == PEER_DISCONNECT_REASON_REPLAY);
static_assert(disconnect_reason::UnknownAppId == PEER_DISCONNECT_REASON_UNKNOWN_APP_ID);
static_assert(disconnect_reason::KeyExchangeFailed == PEER_DISCONNECT_REASON_KEY_EXCHANGE_FAILED);
static_assert(disconnect_reason::SlowConsumer == PEER_DISCONNECT_REASON_SLOW_CONSUMER);

static_assert(return_code::Ok == PEER_RETURN_CODE_OK);
static_assert(return_code::InternalServerError == PEER_RETURN_CODE_INTERNAL_SERVER_ERROR);
static_assert(return_code::MustEncrypt == PEER_RETURN_CODE_MUST_ENCRYPT);
static_assert(return_code::PluginRejected == PEER_RETURN_CODE_PLUGIN_REJECTED);
static_assert(return_code::ServerBusy == PEER_RETURN_CODE_SERVER_BUSY);
static_assert(return_code::GameFull == PEER_RETURN_CODE_GAME_FULL);
static_assert(return_code::DirectoryUnavailable == PEER_RETURN_CODE_DIRECTORY_UNAVAILABLE);
static_assert(return_code::GameIdAlreadyExists == PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS);
static_assert(return_code::GameClosed == PEER_RETURN_CODE_GAME_CLOSED);
static_assert(return_code::ServerFull == PEER_RETURN_CODE_SERVER_FULL);
static_assert(return_code::NoRandomMatchFound == PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND);
static_assert(return_code::GameDoesNotExist == PEER_RETURN_CODE_GAME_DOES_NOT_EXIST);
static_assert(return_code::OperationNotAllowedInCurrentState ==
              PEER_RETURN_CODE_OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
static_assert(return_code::InvalidOperation == PEER_RETURN_CODE_INVALID_OPERATION);
static_assert(return_code::InvalidAuthentication == PEER_RETURN_CODE_INVALID_AUTHENTICATION);
static_assert(return_code::CustomAuthenticationFailed == PEER_RETURN_CODE_CUSTOM_AUTHENTICATION_FAILED);
static_assert(return_code::AuthenticationTicketExpired == PEER_RETURN_CODE_AUTHENTICATION_TICKET_EXPIRED);
static_assert(return_code::HttpLimitReached == PEER_RETURN_CODE_HTTP_LIMIT_REACHED);
static_assert(return_code::ExternalHttpCallFailed == PEER_RETURN_CODE_EXTERNAL_HTTP_CALL_FAILED);
static_assert(return_code::PropertiesConflict == PEER_RETURN_CODE_PROPERTIES_CONFLICT);
static_assert(return_code::JoinFailedFoundInactiveJoiner == PEER_RETURN_CODE_JOIN_FAILED_FOUND_INACTIVE_JOINER);
static_assert(return_code::JoinFailedWithRejoinerNotFound == PEER_RETURN_CODE_JOIN_FAILED_WITH_REJOINER_NOT_FOUND);

static_assert(static_cast<uint8_t>(Receivers::Others) == PEER_RECEIVERS_OTHERS);
static_assert(static_cast<uint8_t>(Receivers::All) == PEER_RECEIVERS_ALL);
static_assert(static_cast<uint8_t>(Receivers::MasterClient) == PEER_RECEIVERS_MASTER_CLIENT);
static_assert(static_cast<uint8_t>(EventCache::None) == PEER_EVENT_CACHE_NONE);
static_assert(static_cast<uint8_t>(EventCache::Add) == PEER_EVENT_CACHE_ADD);
static_assert(static_cast<uint8_t>(EventCache::Remove) == PEER_EVENT_CACHE_REMOVE);
static_assert(static_cast<uint8_t>(EventCache::RemoveOfActorsLeft) == PEER_EVENT_CACHE_REMOVE_OF_ACTORS_LEFT);
static_assert(disconnect_reason::RateLimited == 14);

/// The static name of a status code ("Connect", "EncryptionEstablished", ...) or "Unknown".
inline const char* status_name(uint32_t code) noexcept { return peer_status_str(code); }

/// The version of the loaded library ("MAJOR.MINOR.PATCH"); compare with SEALNET_VERSION_STRING.
inline const char* library_version() noexcept { return peer_version(); }

/// A 32-byte public key, as printed by sealnet-server.
using PublicKey = std::array<uint8_t, 32>;

/// Parses a public key written as 64 hexadecimal digits (either case); empty when malformed.
inline std::optional<PublicKey> parse_public_key(std::string_view hex) noexcept {
  if (hex.size() != 64) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  PublicKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    const int high = digit(hex[2 * i]);
    const int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    key[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Result and Expected
// ---------------------------------------------------------------------------------------------

namespace detail {
/// The detail of this wrapper's own last failure on this thread (see last_error()). `active` is
/// cleared whenever a failure of the C library is turned into a Result, so that last_error() then
/// reports the library's text.
struct ErrorSlot {
  std::string text;
  bool active = false;
};
inline ErrorSlot& error_slot() noexcept {
  thread_local ErrorSlot slot;
  return slot;
}
}  // namespace detail

/// Outcome of a call without a value. Never ignore it.
class [[nodiscard]] Result {
 public:
  /// Success.
  constexpr Result() noexcept = default;
  constexpr Result(ErrorCode code) noexcept : code_(static_cast<uint32_t>(code)) {}  // NOLINT
  /// From a raw PEER_RESULT_* code returned by the C library (last_error() then reports its text).
  explicit Result(uint32_t raw) noexcept : code_(raw) {
    if (raw != PEER_RESULT_OK) detail::error_slot().active = false;
  }

  constexpr bool ok() const noexcept { return code_ == PEER_RESULT_OK; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr ErrorCode code() const noexcept { return static_cast<ErrorCode>(code_); }
  constexpr uint32_t raw() const noexcept { return code_; }
  /// Static description from peer_result_str(); never null.
  const char* message() const noexcept { return peer_result_str(code_); }

  friend constexpr bool operator==(Result a, Result b) noexcept { return a.code_ == b.code_; }
  friend constexpr bool operator!=(Result a, Result b) noexcept { return a.code_ != b.code_; }

 private:
  uint32_t code_ = PEER_RESULT_OK;
};

/// Why the last failed call on this thread failed, naming the parameter and the limit where there is
/// one: the C library's peer_last_error(), or this wrapper's own detail when the wrapper refused the
/// call itself (an unregistered custom type, a duplicate registration, ...). Valid until the next
/// failing call on this thread. Result::message() is the static text of the code; this is the
/// detail of the call.
inline const char* last_error() noexcept {
  const detail::ErrorSlot& slot = detail::error_slot();
  return slot.active ? slot.text.c_str() : peer_last_error();
}

namespace detail {
/// A failure of the wrapper itself, with its detail for last_error().
inline Result fail(ErrorCode code, std::string detail) noexcept {
  ErrorSlot& slot = error_slot();
  slot.text = std::move(detail);
  slot.active = true;
  return Result(code);
}

/// A NUL-terminated copy of `text`; empty when `text` holds a NUL byte.
inline std::optional<std::string> c_string(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  return std::string(text);
}

[[noreturn]] inline void bad_expected_access(Result result) noexcept {
  std::fprintf(stderr, "sealnet: value() of a failed Expected (%s)\n", result.message());
  std::abort();
}
}  // namespace detail

/// Outcome of a call with a value: either a T or an error code. Never ignore it.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  /// An error; an ok Result here would carry no value, so it is reported as ErrorCode::Panic.
  Expected(Result error) noexcept  // NOLINT: implicit on purpose
      : result_(error.ok() ? Result(ErrorCode::Panic) : error) {}
  Expected(ErrorCode error) noexcept : Expected(Result(error)) {}  // NOLINT

  bool ok() const noexcept { return result_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  Result result() const noexcept { return result_; }
  ErrorCode code() const noexcept { return result_.code(); }
  const char* message() const noexcept { return result_.message(); }

  /// The value; aborts when the call failed.
  T& value() & {
    if (!value_) detail::bad_expected_access(result_);
    return *value_;
  }
  const T& value() const& {
    if (!value_) detail::bad_expected_access(result_);
    return *value_;
  }
  T&& value() && {
    if (!value_) detail::bad_expected_access(result_);
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The value, or `fallback` when the call failed.
  template <class U>
  T value_or(U&& fallback) const& {
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  Result result_;
  std::optional<T> value_;
};

// ---------------------------------------------------------------------------------------------
// Borrowed views of values
// ---------------------------------------------------------------------------------------------

/// A borrowed run of bytes (pointer and length). Never owns.
class ByteView {
 public:
  constexpr ByteView() noexcept = default;
  constexpr ByteView(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  ByteView(const std::vector<uint8_t>& bytes) noexcept  // NOLINT: implicit on purpose
      : data_(bytes.data()), size_(bytes.size()) {}
  template <size_t N>
  constexpr ByteView(const std::array<uint8_t, N>& bytes) noexcept  // NOLINT
      : data_(bytes.data()), size_(N) {}

  constexpr const uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const uint8_t* begin() const noexcept { return data_; }
  constexpr const uint8_t* end() const noexcept { return data_ + size_; }
  constexpr uint8_t operator[](size_t i) const noexcept { return data_[i]; }
  std::vector<uint8_t> to_vector() const { return std::vector<uint8_t>(begin(), end()); }

  friend bool operator==(ByteView a, ByteView b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }
  friend bool operator!=(ByteView a, ByteView b) noexcept { return !(a == b); }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// A borrowed run of numbers: the elements of a packed array (short, int, long, float, double)
/// read from a dictionary, or numbers you put without copying them into a vector first. `T` is
/// int16_t, int32_t, int64_t, float, double, or bool (for putting a bool array from a `bool*`;
/// bool arrays are read as BoolArrayView). Never owns; converts implicitly from a std::vector or
/// std::array of T.
template <class T>
class ArraySpan {
  static_assert(std::is_same_v<T, int16_t> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t> ||
                    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, bool>,
                "sealnet::ArraySpan<T>: T must be int16_t, int32_t, int64_t, float, double or bool");

 public:
  using value_type = T;
  constexpr ArraySpan() noexcept = default;
  constexpr ArraySpan(const T* data, size_t size) noexcept : data_(data), size_(size) {}
  // std::vector<bool> stores bits, not bools, so it has no such view.
  template <class U = T, class = std::enable_if_t<std::is_same_v<U, T> && !std::is_same_v<U, bool>>>
  ArraySpan(const std::vector<U>& values) noexcept  // NOLINT: implicit on purpose
      : data_(values.data()), size_(values.size()) {}
  template <size_t N>
  constexpr ArraySpan(const std::array<T, N>& values) noexcept  // NOLINT
      : data_(values.data()), size_(N) {}

  constexpr const T* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const T* begin() const noexcept { return data_; }
  constexpr const T* end() const noexcept { return data_ + size_; }
  constexpr const T& operator[](size_t i) const noexcept { return data_[i]; }
  std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }

  /// Element-wise `==` (so a NaN element never compares equal).
  friend bool operator==(ArraySpan a, ArraySpan b) noexcept {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < a.size_; ++i) {
      if (!(a.data_[i] == b.data_[i])) return false;
    }
    return true;
  }
  friend bool operator!=(ArraySpan a, ArraySpan b) noexcept { return !(a == b); }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
};

namespace detail {
/// An iterator over anything with `size()` and `operator[](size_t)` returning by value.
template <class Container, class Item>
class IndexIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Item;

  IndexIterator(const Container* container, size_t index) noexcept : container_(container), index_(index) {}
  Item operator*() const { return (*container_)[index_]; }
  IndexIterator& operator++() noexcept {
    ++index_;
    return *this;
  }
  IndexIterator operator++(int) noexcept {
    IndexIterator before = *this;
    ++index_;
    return before;
  }
  friend bool operator==(const IndexIterator& a, const IndexIterator& b) noexcept { return a.index_ == b.index_; }
  friend bool operator!=(const IndexIterator& a, const IndexIterator& b) noexcept { return a.index_ != b.index_; }

 private:
  const Container* container_;
  size_t index_;
};
}  // namespace detail

/// A borrowed bool array (PEER_VALUE_TYPE_BOOL_ARRAY): one byte per element, 0 or 1.
class BoolArrayView {
 public:
  using const_iterator = detail::IndexIterator<BoolArrayView, bool>;
  constexpr BoolArrayView() noexcept = default;
  constexpr BoolArrayView(const uint8_t* bytes, size_t size) noexcept : data_(bytes), size_(size) {}

  /// The bytes as the library holds them (0 or 1 each).
  constexpr const uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr bool operator[](size_t i) const noexcept { return data_[i] != 0; }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept { return const_iterator(this, size_); }
  std::vector<bool> to_vector() const { return std::vector<bool>(begin(), end()); }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// A borrowed custom value (PEER_VALUE_TYPE_CUSTOM): the application's type code and its bytes.
/// Reading a value whose code nobody registered gives this; putting it sends the value unchanged.
struct CustomView {
  uint8_t code = 0;
  ByteView data;
};

/// An owned custom value: a type code and the serialized bytes (see register_type).
struct CustomValue {
  uint8_t code = 0;
  std::vector<uint8_t> data;

  friend bool operator==(const CustomValue& a, const CustomValue& b) noexcept {
    return a.code == b.code && a.data == b.data;
  }
  friend bool operator!=(const CustomValue& a, const CustomValue& b) noexcept { return !(a == b); }
};

class ParamsView;
class Params;
class ArrayView;
class Array;
class TableView;
class Table;
class Value;

namespace detail {
inline peer_value_t null_value() noexcept {
  peer_value_t value{};
  value.type = PEER_VALUE_TYPE_NULL;
  return value;
}

/// Hands `use` a peer_value_t describing `value` (borrowing from it, or from a temporary that lives
/// for the call) and returns what `use` returns. Every put goes through here; defined below.
template <class T, class F>
Result with_native(const T& value, F&& use);
}  // namespace detail

/// A borrowed value of any type, as read from a dictionary, array or table. Cheap to copy (it is
/// a peer_value_t); valid as long as what it was read from lives and is not modified.
class ValueView {
 public:
  /// A null value.
  ValueView() noexcept : raw_(detail::null_value()) {}
  /// Wraps a value the C library handed out (peer_params_get, peer_array_get, peer_table_get).
  explicit ValueView(const peer_value_t& raw) noexcept : raw_(raw) {}

  ValueType type() const noexcept { return static_cast<ValueType>(raw_.type); }
  bool is_null() const noexcept { return raw_.type == PEER_VALUE_TYPE_NULL; }
  /// The C view, for calls this wrapper does not cover.
  const peer_value_t& native() const noexcept { return raw_; }

  /// The value as `T` when its type is exactly the one `T` maps to, else empty (no conversion:
  /// an Int is not read as int64_t). `T` may be:
  /// - bool, uint8_t (Byte), int16_t (Short), int32_t (Int), int64_t (Long), float, double;
  /// - std::string_view (borrowed) or std::string (copy), for String;
  /// - ByteView (borrowed) or std::vector<uint8_t> (copy), for Bytes;
  /// - ArraySpan<E> (borrowed) or std::vector<E> (copy), E one of int16_t, int32_t, int64_t,
  ///   float, double, for the packed arrays; BoolArrayView or std::vector<bool> for BoolArray;
  /// - std::vector<std::string> (copy) for StringArray; ArrayView (borrowed), Array or
  ///   std::vector<Value> (copies) for Array and StringArray;
  /// - ParamsView (borrowed) or Params (copy) for Map; TableView or Table for Table;
  /// - CustomView (borrowed) or CustomValue (copy) for Custom, whatever its code;
  /// - a type registered with register_type, for Custom with its code (deserialized);
  /// - Value (a copy of any type) or ValueView (itself).
  template <class T>
  std::optional<T> get() const;

 private:
  peer_value_t raw_;
};

/// One entry of a table: borrowed key and value.
struct TableEntry {
  ValueView key;
  ValueView value;
};

/// A borrowed array: of values of any type (ValueType::Array, Photon's `object[]`) or of strings
/// (ValueType::StringArray). A default view is an empty array. Valid while what it was read from
/// lives and is not modified.
class ArrayView {
 public:
  using const_iterator = detail::IndexIterator<ArrayView, ValueView>;
  ArrayView() noexcept = default;
  /// `kind` is ValueType::Array or ValueType::StringArray.
  ArrayView(const peer_array_t* array, ValueType kind) noexcept : array_(array), kind_(kind) {}

  /// The C pointer (may be null for an empty array).
  const peer_array_t* native_handle() const noexcept { return array_; }
  /// ValueType::Array or ValueType::StringArray.
  ValueType kind() const noexcept { return kind_; }
  size_t size() const noexcept {
    size_t count = 0;
    if (array_ == nullptr || peer_array_count(array_, &count) != PEER_RESULT_OK) return 0;
    return count;
  }
  bool empty() const noexcept { return size() == 0; }
  /// The element at `index` (an element of a string array is a String); empty past the end.
  std::optional<ValueView> at(size_t index) const noexcept {
    peer_value_t out{};
    if (array_ == nullptr || peer_array_get(array_, index, &out) != PEER_RESULT_OK) return std::nullopt;
    return ValueView(out);
  }
  /// The element at `index`, or a null value past the end.
  ValueView operator[](size_t index) const noexcept { return at(index).value_or(ValueView()); }
  /// The element at `index` as `T` (see ValueView::get); empty past the end or for another type.
  template <class T>
  std::optional<T> get(size_t index) const {
    const auto element = at(index);
    if (!element) return std::nullopt;
    return element->template get<T>();
  }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept { return const_iterator(this, size()); }
  /// An owned copy (defined after Array).
  inline Expected<Array> clone() const;

 protected:
  const peer_array_t* array_ = nullptr;
  ValueType kind_ = ValueType::Array;
};

/// A borrowed table keyed by int, long, string, byte or short values (Photon's Hashtable). A default
/// view is an empty table. Valid while what it was read from lives and is not modified.
class TableView {
 public:
  /// Iterates the entries in key order.
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = TableEntry;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = TableEntry;
    const_iterator(const TableView* table, size_t index) noexcept : table_(table), index_(index) {}
    TableEntry operator*() const noexcept { return table_->entry(index_).value_or(TableEntry{}); }
    const_iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept { return a.index_ == b.index_; }
    friend bool operator!=(const const_iterator& a, const const_iterator& b) noexcept { return a.index_ != b.index_; }

   private:
    const TableView* table_;
    size_t index_;
  };

  TableView() noexcept = default;
  explicit TableView(const peer_table_t* table) noexcept : table_(table) {}

  /// The C pointer (may be null for an empty table).
  const peer_table_t* native_handle() const noexcept { return table_; }
  size_t size() const noexcept {
    size_t count = 0;
    if (table_ == nullptr || peer_table_count(table_, &count) != PEER_RESULT_OK) return 0;
    return count;
  }
  bool empty() const noexcept { return size() == 0; }
  /// The entry at `index` in key order; empty past the end.
  std::optional<TableEntry> entry(size_t index) const noexcept {
    peer_value_t key{};
    peer_value_t value{};
    if (table_ == nullptr || peer_table_entry_at(table_, index, &key, &value) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return TableEntry{ValueView(key), ValueView(value)};
  }
  /// The value of `key` (an int32_t, int64_t, string, uint8_t or int16_t: the key's type is part
  /// of the key, so 7 and int64_t{7} are different keys); empty when absent.
  template <class K>
  std::optional<ValueView> find(const K& key) const;
  template <class K>
  bool contains(const K& key) const {
    return find(key).has_value();
  }
  /// The value of `key` as `T` (see ValueView::get); empty when absent or of another type.
  template <class T, class K>
  std::optional<T> get(const K& key) const {
    const auto found = find(key);
    if (!found) return std::nullopt;
    return found->template get<T>();
  }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept { return const_iterator(this, size()); }
  /// An owned copy (defined after Table).
  inline Expected<Table> clone() const;

 protected:
  const peer_table_t* table_ = nullptr;
};

/// A read-only, non-owning view of a parameter dictionary. A default or null view reads as empty.
/// Views handed to callbacks are valid only until the callback returns.
class ParamsView {
 public:
  constexpr ParamsView() noexcept = default;
  constexpr explicit ParamsView(const peer_params_t* params) noexcept : params_(params) {}

  /// The C pointer (may be null for an empty dictionary).
  const peer_params_t* native_handle() const noexcept { return params_; }

  /// Number of entries.
  size_t size() const noexcept {
    size_t count = 0;
    if (params_ == nullptr || peer_params_count(params_, &count) != PEER_RESULT_OK) return 0;
    return count;
  }
  bool empty() const noexcept { return size() == 0; }
  bool contains(uint8_t key) const noexcept { return type(key).has_value(); }

  /// The keys, in ascending order.
  std::vector<uint8_t> keys() const {
    std::vector<uint8_t> keys;
    const size_t count = size();
    keys.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      uint8_t key = 0;
      if (peer_params_key_at(params_, i, &key) != PEER_RESULT_OK) break;
      keys.push_back(key);
    }
    return keys;
  }

  /// The type of `key`'s value; empty when the key is missing.
  std::optional<ValueType> type(uint8_t key) const noexcept {
    uint32_t raw = 0;
    if (params_ == nullptr || peer_params_type(params_, key, &raw) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return static_cast<ValueType>(raw);
  }
  bool is_null(uint8_t key) const noexcept { return type(key) == ValueType::Null; }

  /// `key`'s value, borrowed; empty when the key is missing.
  std::optional<ValueView> value(uint8_t key) const noexcept {
    peer_value_t out{};
    if (params_ == nullptr || peer_params_get(params_, key, &out) != PEER_RESULT_OK) return std::nullopt;
    return ValueView(out);
  }
  /// `key`'s value as `T` (see ValueView::get for the types): empty when the key is missing or
  /// holds another type. Views (std::string_view, ArraySpan, ParamsView, ...) borrow from this
  /// dictionary; owning types are copies.
  template <class T>
  std::optional<T> get(uint8_t key) const {
    const auto found = value(key);
    if (!found) return std::nullopt;
    return found->template get<T>();
  }

  // The typed getters of protocol version 1, kept for existing code. Unlike get<T>, get_i64 and
  // get_f64 widen an Int or a Float, and get_i32_array also reads an Array whose elements are all
  // Ints.
  std::optional<bool> get_bool(uint8_t key) const noexcept {
    uint8_t value = 0;
    if (params_ == nullptr || peer_params_get_bool(params_, key, &value) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return value != 0;
  }
  std::optional<int32_t> get_i32(uint8_t key) const noexcept {
    return get_scalar<int32_t>(&peer_params_get_i32, key);
  }
  /// Reads a 64-bit integer; a 32-bit integer value is widened.
  std::optional<int64_t> get_i64(uint8_t key) const noexcept {
    return get_scalar<int64_t>(&peer_params_get_i64, key);
  }
  std::optional<float> get_f32(uint8_t key) const noexcept {
    return get_scalar<float>(&peer_params_get_f32, key);
  }
  /// Reads a 64-bit float; a 32-bit float value is widened.
  std::optional<double> get_f64(uint8_t key) const noexcept {
    return get_scalar<double>(&peer_params_get_f64, key);
  }
  /// Borrowed UTF-8 text: valid while the dictionary lives and is not modified.
  std::optional<std::string_view> get_string(uint8_t key) const noexcept {
    const char* text = nullptr;
    size_t len = 0;
    if (params_ == nullptr ||
        peer_params_get_string(params_, key, &text, &len) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return len == 0 ? std::string_view() : std::string_view(text, len);
  }
  /// Borrowed bytes: valid while the dictionary lives and is not modified.
  std::optional<ByteView> get_bytes(uint8_t key) const noexcept {
    const uint8_t* data = nullptr;
    size_t len = 0;
    if (params_ == nullptr ||
        peer_params_get_bytes(params_, key, &data, &len) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return len == 0 ? ByteView() : ByteView(data, len);
  }
  /// A copy of a packed int array, or of an array whose elements are all 32-bit integers.
  std::optional<std::vector<int32_t>> get_i32_array(uint8_t key) const {
    if (params_ == nullptr) return std::nullopt;
    size_t count = 0;
    uint32_t rc = peer_params_get_i32_array(params_, key, nullptr, 0, &count);
    if (rc == PEER_RESULT_OK) return std::vector<int32_t>();
    if (rc != PEER_RESULT_BUFFER_TOO_SMALL) return std::nullopt;
    std::vector<int32_t> values(count);
    rc = peer_params_get_i32_array(params_, key, values.data(), values.size(), &count);
    if (rc != PEER_RESULT_OK) return std::nullopt;
    values.resize(count);
    return values;
  }
  /// A copy of a nested dictionary (defined after Params). get<ParamsView>(key) borrows instead.
  inline std::optional<Params> get_params(uint8_t key) const;
  /// An owned copy of the whole dictionary (defined after Params).
  inline Expected<Params> clone() const;

 protected:
  const peer_params_t* params_ = nullptr;

 private:
  template <class T>
  std::optional<T> get_scalar(uint32_t (*get)(const peer_params_t*, uint8_t, T*),
                              uint8_t key) const noexcept {
    T value{};
    if (params_ == nullptr || get(params_, key, &value) != PEER_RESULT_OK) return std::nullopt;
    return value;
  }
};

// ---------------------------------------------------------------------------------------------
// Owned containers
// ---------------------------------------------------------------------------------------------

/// An owned parameter dictionary keyed by a byte. Move-only; `clone()` makes a copy. Every getter
/// of ParamsView is available, and a Params converts to a ParamsView of itself.
class Params : public ParamsView {
 public:
  /// An empty dictionary; storage is allocated by the C library on the first put.
  Params() noexcept = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;
  Params(Params&& other) noexcept : ParamsView(other.params_) { other.params_ = nullptr; }
  Params& operator=(Params&& other) noexcept {
    if (this != &other) {
      peer_params_free(mutable_handle());
      params_ = std::exchange(other.params_, nullptr);
    }
    return *this;
  }
  ~Params() { peer_params_free(mutable_handle()); }

  /// Takes ownership of a dictionary from peer_params_new, peer_params_clone or
  /// peer_params_get_params.
  static Params adopt(peer_params_t* owned) noexcept {
    Params params;
    params.params_ = owned;
    return params;
  }
  /// Gives up ownership; the caller frees the result with peer_params_free. May be null.
  peer_params_t* release() noexcept { return const_cast<peer_params_t*>(std::exchange(params_, nullptr)); }

  /// Removes every entry.
  Result clear() noexcept {
    return params_ == nullptr ? Result() : Result(peer_params_clear(mutable_handle()));
  }

  /// Removes `key`; ErrorCode::NotFound when it is absent.
  Result remove(uint8_t key) noexcept {
    return params_ == nullptr ? Result(PEER_RESULT_NOT_FOUND) : Result(peer_params_remove(mutable_handle(), key));
  }

  /// Sets `key` to a copy of `value`, replacing any previous value. The C++ type picks the value
  /// type (see "VALUES" at the top of this file): bool, uint8_t, int16_t, int32_t, int64_t, float,
  /// double, text, bytes, packed arrays (std::vector, std::array or ArraySpan of int16_t,
  /// int32_t, int64_t, float, double; std::vector<bool>), std::vector<std::string>, Array,
  /// std::vector<Value>, Params/ParamsView, Table, Value, any view read elsewhere, CustomValue or
  /// CustomView, nullptr, or a type registered with register_type.
  ///
  /// The C library checks the value's limits now: ErrorCode::ParamsTooLarge (and
  /// ErrorCode::InvalidArgument for text that is not UTF-8), with last_error() naming the limit.
  /// Throws only what your serializer of a registered type throws, and std::bad_alloc.
  template <class T>
  Result put(uint8_t key, const T& value) {
    return detail::with_native(value, [&](const peer_value_t& native) -> Result {
      const Result made = allocate();
      if (!made.ok()) return made;
      // A dictionary put into itself is fine: the library copies the value first.
      return Result(peer_params_put(mutable_handle(), key, &native));
    });
  }
  /// Sets `key` to null.
  Result put_null(uint8_t key) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_null(p, key); });
  }
  /// Sets `key` to a packed array of `count` values at `values` (T: int16_t, int32_t, int64_t,
  /// float, double or bool), copied by the library in one call.
  template <class T>
  Result put_array(uint8_t key, const T* values, size_t count) {
    return put(key, ArraySpan<T>(values, count));
  }
  /// Sets `key` to an Array (type 8) whose elements are Ints: the form version-1 peers read.
  /// put() with a std::vector<int32_t> sends the packed IntArray of version 2 instead.
  Result put_i32_array(uint8_t key, const int32_t* values, size_t count) noexcept {
    return with_storage(
        [&](peer_params_t* p) { return peer_params_put_i32_array(p, key, values, count); });
  }

 private:
  peer_params_t* mutable_handle() const noexcept { return const_cast<peer_params_t*>(params_); }

  Result allocate() noexcept {
    if (params_ != nullptr) return Result();
    peer_params_t* created = nullptr;
    const uint32_t rc = peer_params_new(&created);
    if (rc != PEER_RESULT_OK) return Result(rc);
    params_ = created;
    return Result();
  }

  template <class F>
  Result with_storage(F&& call) noexcept {
    const Result made = allocate();
    if (!made.ok()) return made;
    return Result(call(mutable_handle()));
  }
};

/// An owned array: of values of any type (ValueType::Array, Photon's `object[]`, the default) or
/// of strings only (ValueType::StringArray, `string[]`; see Array::strings()). Move-only; `clone()`
/// makes a copy. Every reader of ArrayView is available. Storage is allocated on the first push.
class Array : public ArrayView {
 public:
  /// An empty array of `elements`: ValueType::Array or ValueType::StringArray (another type is
  /// refused with ErrorCode::InvalidArgument at the first push).
  explicit Array(ValueType elements = ValueType::Array) noexcept : ArrayView(nullptr, elements) {}
  /// An empty string array.
  static Array strings() noexcept { return Array(ValueType::StringArray); }
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;
  Array(Array&& other) noexcept : ArrayView(std::exchange(other.array_, nullptr), other.kind_) {}
  Array& operator=(Array&& other) noexcept {
    if (this != &other) {
      peer_array_free(mutable_handle());
      array_ = std::exchange(other.array_, nullptr);
      kind_ = other.kind_;
    }
    return *this;
  }
  ~Array() { peer_array_free(mutable_handle()); }

  /// Takes ownership of an array from peer_array_new of `kind`.
  static Array adopt(peer_array_t* owned, ValueType kind) noexcept {
    Array array(kind);
    array.array_ = owned;
    return array;
  }
  /// Gives up ownership; the caller frees the result with peer_array_free. May be null.
  peer_array_t* release() noexcept { return const_cast<peer_array_t*>(std::exchange(array_, nullptr)); }

  /// Appends a copy of `value` (any type Params::put takes; a string array takes only text:
  /// ErrorCode::TypeMismatch otherwise). Limits are checked now, as by Params::put.
  template <class T>
  Result push(const T& value) {
    return detail::with_native(value, [&](const peer_value_t& native) -> Result {
      const Result made = allocate();
      if (!made.ok()) return made;
      return Result(peer_array_push(mutable_handle(), &native));
    });
  }

 private:
  friend class Value;
  peer_array_t* mutable_handle() const noexcept { return const_cast<peer_array_t*>(array_); }
  Result allocate() noexcept {
    if (array_ != nullptr) return Result();
    peer_array_t* created = nullptr;
    const uint32_t rc = peer_array_new(static_cast<uint32_t>(kind_), &created);
    if (rc != PEER_RESULT_OK) return Result(rc);
    array_ = created;
    return Result();
  }
};

/// An owned table keyed by int32_t, int64_t, string, uint8_t or int16_t values (Photon's
/// Hashtable). Move-only; `clone()` makes a copy. Every reader of TableView is available. Storage
/// is allocated on the first put.
class Table : public TableView {
 public:
  Table() noexcept = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  Table(Table&& other) noexcept : TableView(std::exchange(other.table_, nullptr)) {}
  Table& operator=(Table&& other) noexcept {
    if (this != &other) {
      peer_table_free(mutable_handle());
      table_ = std::exchange(other.table_, nullptr);
    }
    return *this;
  }
  ~Table() { peer_table_free(mutable_handle()); }

  /// Takes ownership of a table from peer_table_new.
  static Table adopt(peer_table_t* owned) noexcept {
    Table table;
    table.table_ = owned;
    return table;
  }
  /// Gives up ownership; the caller frees the result with peer_table_free. May be null.
  peer_table_t* release() noexcept { return const_cast<peer_table_t*>(std::exchange(table_, nullptr)); }

  /// Sets `key` (int32_t, int64_t, text, uint8_t or int16_t; another type is refused with
  /// ErrorCode::TypeMismatch) to a copy of `value` (any type Params::put takes), replacing any
  /// value it had. Limits are checked now, as by Params::put.
  template <class K, class V>
  Result put(const K& key, const V& value) {
    return detail::with_native(key, [&](const peer_value_t& native_key) -> Result {
      return detail::with_native(value, [&](const peer_value_t& native_value) -> Result {
        const Result made = allocate();
        if (!made.ok()) return made;
        return Result(peer_table_put(mutable_handle(), &native_key, &native_value));
      });
    });
  }

 private:
  peer_table_t* mutable_handle() const noexcept { return const_cast<peer_table_t*>(table_); }
  Result allocate() noexcept {
    if (table_ != nullptr) return Result();
    peer_table_t* created = nullptr;
    const uint32_t rc = peer_table_new(&created);
    if (rc != PEER_RESULT_OK) return Result(rc);
    table_ = created;
    return Result();
  }
};

// ---------------------------------------------------------------------------------------------
// Value: one owned value of any type
// ---------------------------------------------------------------------------------------------

/// One owned value of any type, for keeping a value of a type you do not know in advance (for
/// example `params.get<Value>(key)`) or for building an `object[]` as `std::vector<Value>`.
/// Copyable: copying one holding a container copies it through the C library (and throws
/// std::bad_alloc if that fails). Put it with Params::put, Array::push or Table::put.
///
/// Implicit from: nullptr (or default: null), bool, uint8_t, int16_t, int32_t, int64_t, float,
/// double, text, bytes (ByteView, std::vector<uint8_t>), std::vector of int16_t, int32_t,
/// int64_t, float, double, bool or std::string, Array, Table, Params (moved in) and CustomValue.
/// A registered custom type is stored as its CustomValue (`to_custom`), so `get<T>()` reads it back.
class Value {
 public:
  using Storage = std::variant<std::monostate, bool, uint8_t, int16_t, int32_t, int64_t, float, double, std::string,
                               std::vector<uint8_t>, std::vector<int16_t>, std::vector<int32_t>,
                               std::vector<int64_t>, std::vector<float>, std::vector<double>, std::vector<bool>,
                               std::vector<std::string>, Array, Table, Params, CustomValue>;

  Value() noexcept = default;
  Value(std::nullptr_t) noexcept {}                                  // NOLINT: implicit on purpose
  Value(bool value) noexcept : storage_(value) {}                    // NOLINT
  Value(uint8_t value) noexcept : storage_(value) {}                 // NOLINT
  Value(int16_t value) noexcept : storage_(value) {}                 // NOLINT
  Value(int32_t value) noexcept : storage_(value) {}                 // NOLINT
  Value(int64_t value) noexcept : storage_(value) {}                 // NOLINT
  Value(float value) noexcept : storage_(value) {}                   // NOLINT
  Value(double value) noexcept : storage_(value) {}                  // NOLINT
  /// Text; a null pointer makes a null value.
  Value(const char* utf8) {  // NOLINT
    if (utf8 != nullptr) storage_ = std::string(utf8);
  }
  Value(std::string_view utf8) : storage_(std::string(utf8)) {}      // NOLINT
  Value(std::string utf8) noexcept : storage_(std::move(utf8)) {}    // NOLINT
  Value(ByteView bytes) : storage_(bytes.to_vector()) {}              // NOLINT
  Value(std::vector<uint8_t> bytes) noexcept : storage_(std::move(bytes)) {}           // NOLINT
  Value(std::vector<int16_t> values) noexcept : storage_(std::move(values)) {}         // NOLINT
  Value(std::vector<int32_t> values) noexcept : storage_(std::move(values)) {}         // NOLINT
  Value(std::vector<int64_t> values) noexcept : storage_(std::move(values)) {}         // NOLINT
  Value(std::vector<float> values) noexcept : storage_(std::move(values)) {}           // NOLINT
  Value(std::vector<double> values) noexcept : storage_(std::move(values)) {}          // NOLINT
  Value(std::vector<bool> values) noexcept : storage_(std::move(values)) {}            // NOLINT
  Value(std::vector<std::string> values) noexcept : storage_(std::move(values)) {}     // NOLINT
  Value(Array&& array) noexcept : storage_(std::move(array)) {}                        // NOLINT
  Value(Table&& table) noexcept : storage_(std::move(table)) {}                        // NOLINT
  Value(Params&& params) noexcept : storage_(std::move(params)) {}                     // NOLINT
  Value(CustomValue custom) noexcept : storage_(std::move(custom)) {}                  // NOLINT

  Value(const Value& other) : storage_(copy_of(other.storage_)) {}
  Value& operator=(const Value& other) {
    if (this != &other) storage_ = copy_of(other.storage_);
    return *this;
  }
  Value(Value&&) noexcept = default;
  Value& operator=(Value&&) noexcept = default;
  ~Value() = default;

  /// The value type this value is sent as.
  ValueType type() const noexcept {
    static constexpr ValueType kTypes[] = {
        ValueType::Null,       ValueType::Bool,        ValueType::Byte,       ValueType::Short,
        ValueType::Int,        ValueType::Long,        ValueType::Float,      ValueType::Double,
        ValueType::String,     ValueType::Bytes,       ValueType::ShortArray, ValueType::IntArray,
        ValueType::LongArray,  ValueType::FloatArray,  ValueType::DoubleArray, ValueType::BoolArray,
        ValueType::StringArray, ValueType::Array,      ValueType::Table,      ValueType::Map,
        ValueType::Custom};
    static_assert(sizeof kTypes / sizeof kTypes[0] == std::variant_size_v<Storage>);
    if (const Array* array = std::get_if<Array>(&storage_)) return array->kind();  // Array::strings()
    return kTypes[storage_.index()];
  }
  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(storage_); }

  /// A pointer to the stored alternative `T` (one of Storage's types), or null; no copy.
  template <class T>
  const T* get_if() const noexcept {
    return std::get_if<T>(&storage_);
  }
  /// A copy of the value as `T`, with the rules of ValueView::get for owning types (std::string,
  /// std::vector<...>, Array, Table, Params, CustomValue, a registered type, Value). For borrowed
  /// access use get_if or storage().
  template <class T>
  std::optional<T> get() const;

  /// The variant, for std::visit.
  const Storage& storage() const noexcept { return storage_; }
  Storage& storage() noexcept { return storage_; }

 private:
  static Storage copy_of(const Storage& from);
  Storage storage_;
};

// ---------------------------------------------------------------------------------------------
// Custom types (Photon's RegisterType)
// ---------------------------------------------------------------------------------------------

namespace detail {

template <class T>
struct always_false : std::false_type {};

/// A readable name of a C++ type, for error messages.
inline std::string type_label(const std::type_info& info) {
#if defined(__GNUG__)
  int status = 0;
  char* name = abi::__cxa_demangle(info.name(), nullptr, nullptr, &status);
  if (status == 0 && name != nullptr) {
    std::string label(name);
    std::free(name);
    return label;
  }
  std::free(name);
#endif
  return info.name();
}

/// One registered custom type, type-erased. Immutable once registered, so readers hold it through
/// a shared_ptr without the registry's lock.
struct CustomType {
  uint8_t code = 0;
  std::type_index type;
  std::string name;
  std::function<std::vector<uint8_t>(const void*)> serialize;
  /// Writes into the std::optional<T> at the second argument; false when the bytes are malformed.
  std::function<bool(ByteView, void*)> deserialize;
};

/// The process-wide registry, shared by every Peer (as Photon's is). Thread-safe.
class CustomRegistry {
 public:
  Result add(std::shared_ptr<const CustomType> entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (const auto& taken = by_code_[entry->code]) {
      return fail(ErrorCode::InvalidArgument, "custom type code " + std::to_string(entry->code) +
                                                  " is already registered (for " + taken->name +
                                                  "); a code names one type");
    }
    if (const auto found = by_type_.find(entry->type); found != by_type_.end()) {
      return fail(ErrorCode::InvalidArgument, entry->name + " is already registered under custom type code " +
                                                  std::to_string(found->second->code));
    }
    by_code_[entry->code] = entry;
    by_type_.emplace(entry->type, std::move(entry));
    return Result();
  }
  std::shared_ptr<const CustomType> find(std::type_index type) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = by_type_.find(type);
    return found == by_type_.end() ? nullptr : found->second;
  }
  std::shared_ptr<const CustomType> find(uint8_t code) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return by_code_[code];
  }

 private:
  mutable std::mutex mutex_;
  std::array<std::shared_ptr<const CustomType>, 256> by_code_{};
  std::unordered_map<std::type_index, std::shared_ptr<const CustomType>> by_type_;
};

inline CustomRegistry& custom_registry() {
  static CustomRegistry registry;
  return registry;
}

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// The element type of a std::vector, else void.
template <class T>
struct vector_element {
  using type = void;
};
template <class T, class A>
struct vector_element<std::vector<T, A>> {
  using type = T;
};

/// True for an element type that is text (std::string, std::string_view, const char*).
template <class E>
struct is_text : std::is_convertible<const E&, std::string_view> {};
template <>
struct is_text<void> : std::false_type {};

/// The element type of a packed-array container (std::vector, std::array, ArraySpan), else void.
template <class T>
struct packed_of {
  using type = void;
};
template <class T, class A>
struct packed_of<std::vector<T, A>> {
  using type = T;
};
template <class T, size_t N>
struct packed_of<std::array<T, N>> {
  using type = T;
};
template <class T>
struct packed_of<ArraySpan<T>> {
  using type = T;
};

template <class E>
inline constexpr bool is_packed_element = std::is_same_v<E, int16_t> || std::is_same_v<E, int32_t> ||
                                          std::is_same_v<E, int64_t> || std::is_same_v<E, float> ||
                                          std::is_same_v<E, double>;

template <class E>
constexpr uint32_t packed_type() noexcept {
  if constexpr (std::is_same_v<E, int16_t>) return PEER_VALUE_TYPE_SHORT_ARRAY;
  else if constexpr (std::is_same_v<E, int32_t>) return PEER_VALUE_TYPE_INT_ARRAY;
  else if constexpr (std::is_same_v<E, int64_t>) return PEER_VALUE_TYPE_LONG_ARRAY;
  else if constexpr (std::is_same_v<E, float>) return PEER_VALUE_TYPE_FLOAT_ARRAY;
  else return PEER_VALUE_TYPE_DOUBLE_ARRAY;
}

/// True for the C++ types that map to a built-in value type (so cannot be registered).
template <class T>
inline constexpr bool is_builtin_value =
    std::is_arithmetic_v<T> || std::is_same_v<T, std::nullptr_t> || std::is_convertible_v<const T&, std::string_view> ||
    std::is_convertible_v<const T&, ByteView> || std::is_convertible_v<const T&, ParamsView> ||
    std::is_convertible_v<const T&, ArrayView> || std::is_convertible_v<const T&, TableView> ||
    is_packed_element<typename packed_of<T>::type> || is_vector<T>::value || std::is_same_v<T, ArraySpan<bool>> ||
    std::is_same_v<T, BoolArrayView> || std::is_same_v<T, Value> || std::is_same_v<T, ValueView> ||
    std::is_same_v<T, CustomView> || std::is_same_v<T, CustomValue>;

}  // namespace detail

/// Registers `T` as custom type `code` (Photon's RegisterType): from then on putting a `T` anywhere
/// (Params::put, Array::push, Table::put) stores a Custom value with `code` and the bytes
/// `serialize` returns, and get<T>() reads a Custom value of `code` back through `deserialize`
/// (which returns empty for bytes it cannot read; get<T> then reads as empty too). Values of codes
/// nobody registered stay readable as CustomView/CustomValue and can be put back unchanged.
///
/// Process-wide and permanent; call it from any thread, typically once at start-up (every peer
/// that exchanges the type registers the same code). Refused with ErrorCode::InvalidArgument, and
/// last_error() saying which, when `code` or `T` is registered already; ErrorCode::NullParameter
/// when a function is empty. `serialize` and `deserialize` run on the thread that puts or reads,
/// possibly on several threads at once; their exceptions propagate to that caller.
///
///     sealnet::register_type<Vec3>(86, [](const Vec3& v) { return bytes_of(v); },
///                                  [](sealnet::ByteView b) { return vec3_from(b); });
template <class T>
Result register_type(uint8_t code, std::function<std::vector<uint8_t>(const T&)> serialize,
                     std::function<std::optional<T>(ByteView)> deserialize) {
  static_assert(std::is_class_v<T> && !detail::is_builtin_value<T>,
                "sealnet::register_type: T must be a class type that is not already a sealnet value type");
  const std::string name = detail::type_label(typeid(T));
  if (!serialize || !deserialize) {
    return detail::fail(ErrorCode::NullParameter, "register_type for " + name + ": serialize and deserialize must both be set");
  }
  auto entry = std::make_shared<detail::CustomType>(detail::CustomType{
      code, std::type_index(typeid(T)), name,
      [serialize = std::move(serialize)](const void* value) { return serialize(*static_cast<const T*>(value)); },
      [deserialize = std::move(deserialize)](ByteView bytes, void* out) {
        std::optional<T> value = deserialize(bytes);
        if (!value) return false;
        *static_cast<std::optional<T>*>(out) = std::move(value);
        return true;
      }});
  return detail::custom_registry().add(std::move(entry));
}

/// The code `T` is registered under; empty when it is not registered.
template <class T>
std::optional<uint8_t> registered_code() {
  const auto entry = detail::custom_registry().find(std::type_index(typeid(T)));
  if (!entry) return std::nullopt;
  return entry->code;
}

/// A registered type's value as the CustomValue it is sent as (for example to keep it in a Value);
/// empty, with last_error() saying why, when `T` is not registered.
template <class T>
std::optional<CustomValue> to_custom(const T& value) {
  const auto entry = detail::custom_registry().find(std::type_index(typeid(T)));
  if (!entry) {
    (void)detail::fail(ErrorCode::InvalidArgument, "no custom type is registered for " +
                                                       detail::type_label(typeid(T)) +
                                                       ": call sealnet::register_type first");
    return std::nullopt;
  }
  return CustomValue{entry->code, entry->serialize(&value)};
}

// ---------------------------------------------------------------------------------------------
// Definitions that need every type above
// ---------------------------------------------------------------------------------------------

namespace detail {

template <class T, class F>
Result with_native(const T& value, F&& use) {
  peer_value_t v = null_value();
  if constexpr (std::is_same_v<T, std::nullptr_t>) {
    return use(v);
  } else if constexpr (std::is_same_v<T, ValueView>) {
    return use(value.native());
  } else if constexpr (std::is_same_v<T, Value>) {
    return std::visit(
        [&](const auto& alternative) -> Result {
          using A = std::decay_t<decltype(alternative)>;
          if constexpr (std::is_same_v<A, std::monostate>) {
            return use(null_value());
          } else {
            return with_native(alternative, use);
          }
        },
        value.storage());
  } else if constexpr (std::is_same_v<T, bool>) {
    v.type = PEER_VALUE_TYPE_BOOL;
    v.integer = value ? 1 : 0;
    return use(v);
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(!std::is_same_v<T, char>,
                  "sealnet: a char is neither text nor a number here: put text as a std::string_view, "
                  "a number as uint8_t or int32_t");
    if constexpr (std::is_same_v<T, unsigned char>) {
      v.type = PEER_VALUE_TYPE_BYTE;
    } else {
      static_assert(std::is_signed_v<T>,
                    "sealnet: the only unsigned value type is a byte (uint8_t): cast wider unsigned integers to "
                    "int16_t, int32_t or int64_t");
      static_assert(sizeof(T) >= 2, "sealnet: signed char has no value type: cast it to int16_t or uint8_t");
      v.type = sizeof(T) == 2 ? PEER_VALUE_TYPE_SHORT : sizeof(T) == 4 ? PEER_VALUE_TYPE_INT : PEER_VALUE_TYPE_LONG;
    }
    v.integer = static_cast<int64_t>(value);
    return use(v);
  } else if constexpr (std::is_same_v<T, float>) {
    v.type = PEER_VALUE_TYPE_FLOAT;
    v.float32 = value;
    return use(v);
  } else if constexpr (std::is_same_v<T, double>) {
    v.type = PEER_VALUE_TYPE_DOUBLE;
    v.float64 = value;
    return use(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    static_assert(always_false<T>::value, "sealnet: long double has no value type: cast it to double");
    return Result();
  } else if constexpr (std::is_pointer_v<T> && std::is_convertible_v<T, std::string_view>) {
    if (value == nullptr) return fail(ErrorCode::NullParameter, "put: the text pointer is null");
    const std::string_view text(value);
    v.type = PEER_VALUE_TYPE_STRING;
    v.data = text.data();
    v.len = text.size();
    return use(v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    const std::string_view text = value;
    v.type = PEER_VALUE_TYPE_STRING;
    v.data = text.data();
    v.len = text.size();
    return use(v);
  } else if constexpr (std::is_convertible_v<const T&, ByteView>) {
    const ByteView bytes = value;
    v.type = PEER_VALUE_TYPE_BYTES;
    v.data = bytes.data();
    v.len = bytes.size();
    return use(v);
  } else if constexpr (is_packed_element<typename packed_of<T>::type>) {
    v.type = packed_type<typename packed_of<T>::type>();
    v.data = value.data();
    v.len = value.size();
    return use(v);
  } else if constexpr (std::is_same_v<T, ArraySpan<bool>>) {
    // The library reads one byte per element, 0 or 1: exactly what a bool is on every platform
    // sealnet builds for.
    static_assert(sizeof(bool) == 1, "sealnet: bool arrays need a one-byte bool");
    v.type = PEER_VALUE_TYPE_BOOL_ARRAY;
    v.data = value.data();
    v.len = value.size();
    return use(v);
  } else if constexpr (std::is_same_v<T, BoolArrayView>) {
    v.type = PEER_VALUE_TYPE_BOOL_ARRAY;
    v.data = value.data();
    v.len = value.size();
    return use(v);
  } else if constexpr (std::is_same_v<typename vector_element<T>::type, bool>) {
    // std::vector<bool> stores bits: one copy into bytes.
    const std::vector<uint8_t> bytes(value.begin(), value.end());
    v.type = PEER_VALUE_TYPE_BOOL_ARRAY;
    v.data = bytes.data();
    v.len = bytes.size();
    return use(v);
  } else if constexpr (is_text<typename vector_element<T>::type>::value) {
    Array list = Array::strings();
    for (const auto& text : value) {
      const Result pushed = list.push(text);
      if (!pushed.ok()) return pushed;
    }
    return with_native(list, use);
  } else if constexpr (std::is_same_v<typename vector_element<T>::type, Value>) {
    Array list;
    for (const Value& element : value) {
      const Result pushed = list.push(element);
      if (!pushed.ok()) return pushed;
    }
    return with_native(list, use);
  } else if constexpr (std::is_convertible_v<const T&, ParamsView>) {
    const ParamsView map = value;
    if (map.native_handle() != nullptr) {
      v.type = PEER_VALUE_TYPE_MAP;
      v.map = map.native_handle();
      return use(v);
    }
    peer_params_t* empty = nullptr;  // the library needs a real dictionary, even an empty one
    const uint32_t rc = peer_params_new(&empty);
    if (rc != PEER_RESULT_OK) return Result(rc);
    const Params holder = Params::adopt(empty);
    v.type = PEER_VALUE_TYPE_MAP;
    v.map = holder.native_handle();
    return use(v);
  } else if constexpr (std::is_convertible_v<const T&, ArrayView>) {
    const ArrayView array = value;
    v.type = static_cast<uint32_t>(array.kind());
    if (array.native_handle() != nullptr) {
      v.array = array.native_handle();
      v.len = array.size();
      return use(v);
    }
    peer_array_t* empty = nullptr;
    const uint32_t rc = peer_array_new(v.type, &empty);
    if (rc != PEER_RESULT_OK) return Result(rc);
    const Array holder = Array::adopt(empty, array.kind());
    v.array = holder.native_handle();
    return use(v);
  } else if constexpr (std::is_convertible_v<const T&, TableView>) {
    const TableView table = value;
    v.type = PEER_VALUE_TYPE_TABLE;
    if (table.native_handle() != nullptr) {
      v.table = table.native_handle();
      return use(v);
    }
    peer_table_t* empty = nullptr;
    const uint32_t rc = peer_table_new(&empty);
    if (rc != PEER_RESULT_OK) return Result(rc);
    const Table holder = Table::adopt(empty);
    v.table = holder.native_handle();
    return use(v);
  } else if constexpr (std::is_same_v<T, CustomView> || std::is_same_v<T, CustomValue>) {
    const ByteView bytes(value.data);
    v.type = PEER_VALUE_TYPE_CUSTOM;
    v.custom_code = value.code;
    v.data = bytes.data();
    v.len = bytes.size();
    return use(v);
  } else if constexpr (std::is_class_v<T> && !is_vector<T>::value) {
    const auto entry = custom_registry().find(std::type_index(typeid(T)));
    if (!entry) {
      return fail(ErrorCode::InvalidArgument, "no custom type is registered for " + type_label(typeid(T)) +
                                                  ": call sealnet::register_type first");
    }
    const std::vector<uint8_t> bytes = entry->serialize(&value);
    v.type = PEER_VALUE_TYPE_CUSTOM;
    v.custom_code = entry->code;
    v.data = bytes.data();
    v.len = bytes.size();
    return use(v);
  } else {
    static_assert(always_false<T>::value, "sealnet: this C++ type maps to no value type (see VALUES in sealnet.hpp)");
    return Result();
  }
}

/// A copy of `view` as an owned Value; empty only if the library refuses to copy a container.
inline std::optional<Value> to_value(const ValueView& view) {
  const peer_value_t& v = view.native();
  switch (view.type()) {
    case ValueType::Null: return Value();
    case ValueType::Bool: return Value(v.integer != 0);
    case ValueType::Byte: return Value(static_cast<uint8_t>(v.integer));
    case ValueType::Short: return Value(static_cast<int16_t>(v.integer));
    case ValueType::Int: return Value(static_cast<int32_t>(v.integer));
    case ValueType::Long: return Value(static_cast<int64_t>(v.integer));
    case ValueType::Float: return Value(v.float32);
    case ValueType::Double: return Value(v.float64);
    case ValueType::String: return Value(*view.get<std::string>());
    case ValueType::Bytes: return Value(*view.get<std::vector<uint8_t>>());
    case ValueType::ShortArray: return Value(*view.get<std::vector<int16_t>>());
    case ValueType::IntArray: return Value(*view.get<std::vector<int32_t>>());
    case ValueType::LongArray: return Value(*view.get<std::vector<int64_t>>());
    case ValueType::FloatArray: return Value(*view.get<std::vector<float>>());
    case ValueType::DoubleArray: return Value(*view.get<std::vector<double>>());
    case ValueType::BoolArray: return Value(*view.get<std::vector<bool>>());
    case ValueType::StringArray: {
      auto strings = view.get<std::vector<std::string>>();
      if (!strings) return std::nullopt;
      return Value(std::move(*strings));
    }
    case ValueType::Array: {
      auto array = view.get<Array>();
      if (!array) return std::nullopt;
      return Value(std::move(*array));
    }
    case ValueType::Map: {
      auto params = view.get<Params>();
      if (!params) return std::nullopt;
      return Value(std::move(*params));
    }
    case ValueType::Table: {
      auto table = view.get<Table>();
      if (!table) return std::nullopt;
      return Value(std::move(*table));
    }
    case ValueType::Custom: return Value(*view.get<CustomValue>());
  }
  return std::nullopt;  // a value type newer than this header
}

}  // namespace detail

template <class T>
std::optional<T> ValueView::get() const {
  const peer_value_t& v = raw_;
  const ValueType t = type();
  if constexpr (std::is_same_v<T, ValueView>) {
    return *this;
  } else if constexpr (std::is_same_v<T, Value>) {
    return detail::to_value(*this);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (t != ValueType::Bool) return std::nullopt;
    return v.integer != 0;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    if (t != ValueType::Byte) return std::nullopt;
    return static_cast<uint8_t>(v.integer);
  } else if constexpr (std::is_same_v<T, int16_t>) {
    if (t != ValueType::Short) return std::nullopt;
    return static_cast<int16_t>(v.integer);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    if (t != ValueType::Int) return std::nullopt;
    return static_cast<int32_t>(v.integer);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (t != ValueType::Long) return std::nullopt;
    return static_cast<int64_t>(v.integer);
  } else if constexpr (std::is_same_v<T, float>) {
    if (t != ValueType::Float) return std::nullopt;
    return v.float32;
  } else if constexpr (std::is_same_v<T, double>) {
    if (t != ValueType::Double) return std::nullopt;
    return v.float64;
  } else if constexpr (std::is_arithmetic_v<T>) {
    static_assert(detail::always_false<T>::value,
                  "sealnet: read numbers as bool, uint8_t, int16_t, int32_t, int64_t, float or double");
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
    if (t != ValueType::String) return std::nullopt;
    if (v.len == 0) return T();
    return T(static_cast<const char*>(v.data), v.len);
  } else if constexpr (std::is_same_v<T, ByteView>) {
    if (t != ValueType::Bytes) return std::nullopt;
    return v.len == 0 ? ByteView() : ByteView(static_cast<const uint8_t*>(v.data), v.len);
  } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
    if (t != ValueType::Bytes) return std::nullopt;
    const auto* bytes = static_cast<const uint8_t*>(v.data);
    return v.len == 0 ? T() : T(bytes, bytes + v.len);
  } else if constexpr (detail::is_packed_element<typename detail::packed_of<T>::type> &&
                       (std::is_same_v<T, ArraySpan<typename detail::packed_of<T>::type>> ||
                        std::is_same_v<T, std::vector<typename detail::packed_of<T>::type>>)) {
    using E = typename detail::packed_of<T>::type;
    if (v.type != detail::packed_type<E>()) return std::nullopt;
    const auto* items = static_cast<const E*>(v.data);
    if (v.len == 0) return T();
    if constexpr (std::is_same_v<T, ArraySpan<E>>) {
      return T(items, v.len);
    } else {
      return T(items, items + v.len);
    }
  } else if constexpr (std::is_same_v<T, BoolArrayView> || std::is_same_v<T, std::vector<bool>>) {
    if (t != ValueType::BoolArray) return std::nullopt;
    const BoolArrayView bools(static_cast<const uint8_t*>(v.data), v.len);
    if constexpr (std::is_same_v<T, BoolArrayView>) {
      return bools;
    } else {
      return bools.to_vector();
    }
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (t != ValueType::StringArray) return std::nullopt;
    const ArrayView array(v.array, t);
    std::vector<std::string> strings;
    strings.reserve(v.len);
    for (const ValueView element : array) {
      auto text = element.get<std::string>();
      if (!text) return std::nullopt;
      strings.push_back(std::move(*text));
    }
    return strings;
  } else if constexpr (std::is_same_v<T, ArrayView> || std::is_same_v<T, Array> ||
                       std::is_same_v<T, std::vector<Value>>) {
    if (t != ValueType::Array && t != ValueType::StringArray) return std::nullopt;
    const ArrayView array(v.array, t);
    if constexpr (std::is_same_v<T, ArrayView>) {
      return array;
    } else if constexpr (std::is_same_v<T, Array>) {
      auto copy = array.clone();
      if (!copy.ok()) return std::nullopt;
      return std::move(copy).value();
    } else {
      std::vector<Value> values;
      values.reserve(v.len);
      for (const ValueView element : array) {
        auto copy = detail::to_value(element);
        if (!copy) return std::nullopt;
        values.push_back(std::move(*copy));
      }
      return values;
    }
  } else if constexpr (std::is_same_v<T, ParamsView> || std::is_same_v<T, Params>) {
    if (t != ValueType::Map) return std::nullopt;
    const ParamsView map(v.map);
    if constexpr (std::is_same_v<T, ParamsView>) {
      return map;
    } else {
      auto copy = map.clone();
      if (!copy.ok()) return std::nullopt;
      return std::move(copy).value();
    }
  } else if constexpr (std::is_same_v<T, TableView> || std::is_same_v<T, Table>) {
    if (t != ValueType::Table) return std::nullopt;
    const TableView table(v.table);
    if constexpr (std::is_same_v<T, TableView>) {
      return table;
    } else {
      auto copy = table.clone();
      if (!copy.ok()) return std::nullopt;
      return std::move(copy).value();
    }
  } else if constexpr (std::is_same_v<T, CustomView> || std::is_same_v<T, CustomValue>) {
    if (t != ValueType::Custom) return std::nullopt;
    const ByteView bytes = v.len == 0 ? ByteView() : ByteView(static_cast<const uint8_t*>(v.data), v.len);
    if constexpr (std::is_same_v<T, CustomView>) {
      return CustomView{v.custom_code, bytes};
    } else {
      return CustomValue{v.custom_code, bytes.to_vector()};
    }
  } else if constexpr (std::is_class_v<T> && !detail::is_builtin_value<T>) {
    if (t != ValueType::Custom) return std::nullopt;
    const auto entry = detail::custom_registry().find(std::type_index(typeid(T)));
    if (!entry || entry->code != v.custom_code) return std::nullopt;
    const ByteView bytes = v.len == 0 ? ByteView() : ByteView(static_cast<const uint8_t*>(v.data), v.len);
    std::optional<T> out;
    if (!entry->deserialize(bytes, &out)) return std::nullopt;
    return out;
  } else {
    static_assert(detail::always_false<T>::value, "sealnet: no value type reads as this C++ type (see ValueView::get)");
    return std::nullopt;
  }
}

template <class T>
std::optional<T> Value::get() const {
  static_assert(!std::is_same_v<T, std::string_view> && !std::is_same_v<T, ByteView> &&
                    !std::is_same_v<T, BoolArrayView> && !std::is_same_v<T, ValueView> &&
                    !std::is_same_v<T, ArrayView> && !std::is_same_v<T, TableView> &&
                    !std::is_same_v<T, ParamsView> && !std::is_same_v<T, CustomView> &&
                    !std::is_same_v<T, ArraySpan<typename detail::packed_of<T>::type>>,
                "sealnet::Value::get returns copies: use get_if<T>() for borrowed access");
  std::optional<T> out;
  // Read through the same view a put would hand the library; the copy is taken before the view's
  // temporaries (if any) are gone.
  const Result read = detail::with_native(*this, [&](const peer_value_t& native) -> Result {
    out = ValueView(native).get<T>();
    return Result();
  });
  if (!read.ok()) return std::nullopt;
  return out;
}

inline Value::Storage Value::copy_of(const Storage& from) {
  return std::visit(
      [](const auto& alternative) -> Storage {
        using A = std::decay_t<decltype(alternative)>;
        if constexpr (std::is_same_v<A, Array> || std::is_same_v<A, Table> || std::is_same_v<A, Params>) {
          auto copy = alternative.clone();
          if (!copy.ok()) throw std::bad_alloc();
          return Storage(std::in_place_type<A>, std::move(copy).value());
        } else {
          return Storage(std::in_place_type<A>, alternative);
        }
      },
      from);
}

inline std::optional<Params> ParamsView::get_params(uint8_t key) const {
  peer_params_t* copy = nullptr;
  if (params_ == nullptr || peer_params_get_params(params_, key, &copy) != PEER_RESULT_OK) {
    return std::nullopt;
  }
  return Params::adopt(copy);
}

inline Expected<Params> ParamsView::clone() const {
  if (params_ == nullptr) return Params();
  peer_params_t* copy = nullptr;
  const uint32_t rc = peer_params_clone(params_, &copy);
  if (rc != PEER_RESULT_OK) return Result(rc);
  return Params::adopt(copy);
}

inline Expected<Array> ArrayView::clone() const {
  Array copy(kind_);
  for (const ValueView element : *this) {
    const Result pushed = copy.push(element);
    if (!pushed.ok()) return pushed;
  }
  return Expected<Array>(std::move(copy));
}

template <class K>
std::optional<ValueView> TableView::find(const K& key) const {
  if (table_ == nullptr) return std::nullopt;
  std::optional<ValueView> found;
  (void)detail::with_native(key, [&](const peer_value_t& native_key) -> Result {
    peer_value_t out{};
    const uint32_t rc = peer_table_get(table_, &native_key, &out);
    if (rc == PEER_RESULT_OK) found = ValueView(out);
    return Result(rc);
  });
  return found;
}

inline Expected<Table> TableView::clone() const {
  Table copy;
  for (const TableEntry entry : *this) {
    const Result put = copy.put(entry.key, entry.value);
    if (!put.ok()) return put;
  }
  return Expected<Table>(std::move(copy));
}

// ---------------------------------------------------------------------------------------------
// Events and configuration
// ---------------------------------------------------------------------------------------------

struct OwnedEvent;
struct OwnedResponse;

/// An event relayed by the server. Borrowed: valid until the callback returns (to_owned() copies it).
struct Event {
  uint8_t code = 0;
  /// True when it arrived encrypted; false when plain (still authenticated after the key exchange).
  bool encrypted = false;
  /// Actor number of the player that raised it (0 for the server).
  int32_t sender = 0;
  /// A room event raised by a player holds its data under key 245 (kept by the C library as
  /// raised: any value type).
  ParamsView params;

  /// An owned copy, valid as long as you keep it. Throws std::bad_alloc if the C library cannot copy
  /// the parameters.
  inline OwnedEvent to_owned() const;
};

/// An operation response. Borrowed: valid until the callback returns (to_owned() copies it).
struct OperationResponse {
  uint8_t op_code = 0;
  bool encrypted = false;
  /// 0 is success; negative values are errors (see sealnet::return_code).
  int16_t return_code = 0;
  /// Empty when the server sent none.
  std::string_view debug_message;
  ParamsView params;

  /// An owned copy, valid as long as you keep it. Throws std::bad_alloc if the C library cannot copy
  /// the parameters.
  inline OwnedResponse to_owned() const;
};

/// An owned copy of an Event (Event::to_owned()): what RealtimeClient::poll() hands out for a room
/// event. Move-only (its Params is).
struct OwnedEvent {
  uint8_t code = 0;
  bool encrypted = false;
  int32_t sender = 0;
  Params params;

  /// A borrowed view of this copy, valid while it lives and is not moved from.
  Event view() const noexcept { return Event{code, encrypted, sender, params}; }
};

/// An owned copy of an OperationResponse (OperationResponse::to_owned()). Move-only.
struct OwnedResponse {
  uint8_t op_code = 0;
  bool encrypted = false;
  int16_t return_code = 0;
  std::string debug_message;
  Params params;

  /// A borrowed view of this copy, valid while it lives and is not moved from or modified.
  OperationResponse view() const noexcept {
    return OperationResponse{op_code, encrypted, return_code, debug_message, params};
  }
};

namespace detail {
/// An owned copy of `params`, for the owned results; std::bad_alloc when the library cannot copy.
inline Params owned_params(ParamsView params) {
  auto copy = params.clone();
  if (!copy.ok()) throw std::bad_alloc();
  return std::move(copy).value();
}
}  // namespace detail

inline OwnedEvent Event::to_owned() const {
  return OwnedEvent{code, encrypted, sender, detail::owned_params(params)};
}

inline OwnedResponse OperationResponse::to_owned() const {
  return OwnedResponse{op_code, encrypted, return_code, std::string(debug_message),
                       detail::owned_params(params)};
}

/// A result taken with Peer::poll(). Only the members matching `kind` are meaningful. Views stay
/// valid until the next poll(), service() or destruction of the Peer.
struct PolledEvent {
  EventKind kind = EventKind::Status;
  uint32_t status = 0;
  uint16_t reason = 0;
  std::string_view message;
  OperationResponse response;
  Event event;
};

/// Called with a PEER_STATUS_* code (see sealnet::status), a disconnect reason (0 when none) and a
/// readable message (borrowed until the handler returns).
using StatusHandler = std::function<void(uint32_t status, uint16_t reason, std::string_view message)>;
using EventHandler = std::function<void(const Event& event)>;
using ResponseHandler = std::function<void(const OperationResponse& response)>;

/// Settings for Peer::create. Unset optionals keep the library defaults.
struct Config {
  /// Nothing received for this long loses the connection (status 1040). Library default: 10 s.
  std::optional<std::chrono::milliseconds> disconnect_timeout;
  /// Ping interval of the I/O thread. Library default: 1 s.
  std::optional<std::chrono::milliseconds> ping_interval;
  /// Run the key exchange right after connecting (default); otherwise call establish_encryption().
  bool auto_key_exchange = true;
  /// When set, the server must present this static key in the key exchange, else status 1049.
  std::optional<PublicKey> pinned_server_key;
  /// Results held for the host before the peer disconnects with an error. Library default: 65536.
  std::optional<uint32_t> max_queued_events;
  /// Decoded bytes of results held for the host before the peer disconnects with an error.
  /// Library default: 32 MiB.
  std::optional<uint64_t> max_queued_bytes;
  /// The highest protocol version to offer (protocol_version::Min to Latest). Unset: the latest.
  /// 1 makes a version-1 client: no value types of version 2 (sending one is refused with
  /// ErrorCode::NeedsProtocolVersion), no server time.
  std::optional<uint8_t> max_protocol_version;

  StatusHandler on_status;
  EventHandler on_event;
  ResponseHandler on_response;
};

/// How an operation is sent.
struct SendOptions {
  DeliveryMode delivery = DeliveryMode::Reliable;
  /// Encrypt the operation (needs a completed key exchange).
  bool encrypt = false;
  /// Channel number (carried for the datagram transport).
  uint8_t channel = 0;

  static constexpr SendOptions plain() noexcept { return SendOptions{}; }
  static constexpr SendOptions encrypted() noexcept {
    return SendOptions{DeliveryMode::Reliable, true, 0};
  }
};

/// What a connection authenticates with (peer_auth_values_t, Photon's AuthenticationValues), for
/// ConnectOptions::auth. With them the peer sends Authenticate (230), or AuthenticateOnce (231) for
/// AuthType::Token, by itself right after the key exchange, before the status handler hears 1048;
/// the server's answer arrives as the operation response to 230 or 231, and Peer::auth_state() follows
/// it. The C library checks every limit when a value is set: a refused value leaves the earlier one,
/// and last_error() gives its size and the limit. Move-only; any thread, one thread at a time.
class AuthValues {
 public:
  /// An empty object (AuthValues::create makes usable ones); its setters return
  /// ErrorCode::NullParameter.
  AuthValues() noexcept = default;

  /// Values of `type`; ErrorCode::InvalidArgument for a number that is no AuthType.
  static Expected<AuthValues> create(AuthType type) noexcept {
    peer_auth_values_t* raw = nullptr;
    const uint32_t rc = peer_auth_values_new(static_cast<uint32_t>(type), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    AuthValues values;
    values.handle_.reset(raw);
    return Expected<AuthValues>(std::move(values));
  }

  /// The connection token the game built from its backend session: at most 128 bytes
  /// (PEER_MAX_CONNECTION_TOKEN), never truncated; a longer one gives ErrorCode::InvalidArgument.
  Result set_connection_token(ByteView token) noexcept {
    return Result(peer_auth_values_set_connection_token(handle_.get(), token.data(), token.size()));
  }

  /// The user id the player asks for (at most 128 bytes of UTF-8; "" clears it). The backend decides.
  Result set_user_id(std::string_view user_id) {
    const auto c = detail::c_string(user_id);
    if (!c) return detail::fail(ErrorCode::InvalidArgument, "set_user_id: the user id holds a NUL byte");
    return Result(peer_auth_values_set_user_id(handle_.get(), c->c_str()));
  }

  /// Adds (or replaces) one parameter for the backend: at most 32, keys 1 to 256 bytes, values up to
  /// 256 bytes of UTF-8.
  Result add_param(std::string_view key, std::string_view value) {
    const auto key_c = detail::c_string(key);
    const auto value_c = detail::c_string(value);
    if (!key_c || !value_c) {
      return detail::fail(ErrorCode::InvalidArgument, "add_param: the key or value holds a NUL byte");
    }
    return Result(peer_auth_values_add_param(handle_.get(), key_c->c_str(), value_c->c_str()));
  }

  /// Data bytes for the backend (at most 1,024).
  Result set_data(ByteView data) noexcept {
    return Result(peer_auth_values_set_data(handle_.get(), data.data(), data.size()));
  }

  /// The server token to present with AuthType::Token, e.g. one saved from Peer::server_token() before
  /// the game restarted (at most 2,048 bytes).
  Result set_token(ByteView token) noexcept {
    return Result(peer_auth_values_set_token(handle_.get(), token.data(), token.size()));
  }

  /// AuthOnceWss: the transport (Transport::Udp or Transport::Tcp) the player switches to after
  /// authenticating over Transport::WebSocketSecure. The server then answers with a per-client
  /// secret, which the peer keeps to itself (the response's parameters do not hold it) for a later
  /// connect with ConnectOptions::auth_once. ErrorCode::InvalidArgument for another transport.
  Result set_expected_protocol(Transport transport) noexcept {
    return Result(peer_auth_values_set_expected_protocol(handle_.get(), static_cast<uint32_t>(transport)));
  }

  /// True when this object holds values.
  bool valid() const noexcept { return handle_ != nullptr; }
  /// The C handle, for ConnectOptions and calls this wrapper does not cover. Owned by this object.
  const peer_auth_values_t* native_handle() const noexcept { return handle_.get(); }

 private:
  struct Deleter {
    void operator()(peer_auth_values_t* values) const noexcept { peer_auth_values_free(values); }
  };
  std::unique_ptr<peer_auth_values_t, Deleter> handle_;
};

/// Where a connection's authentication stands, from Peer::auth_state().
struct AuthStatus {
  AuthState state = AuthState::None;
  /// With AuthState::Failed, the server's return code (return_code::AuthenticationTicketExpired,
  /// CustomAuthenticationFailed, ...); otherwise 0. The message came with the operation response.
  int16_t return_code = 0;
};

/// A server token the peer holds (opaque bytes) and when it expires.
struct ServerToken {
  std::vector<uint8_t> bytes;
  /// Milliseconds since the Unix epoch.
  int64_t expires_at_ms = 0;
};

/// The SHA-256 of a certificate's DER encoding, as sealnet-server prints it for its WSS certificate.
using CertificateFingerprint = std::array<uint8_t, 32>;

/// Parses a certificate fingerprint written as 64 hexadecimal digits (either case); empty when
/// malformed.
inline std::optional<CertificateFingerprint> parse_certificate_fingerprint(std::string_view hex) noexcept {
  return parse_public_key(hex);
}

/// Per-connection settings for Peer::connect(const ConnectOptions&) (peer_connect_with).
struct ConnectOptions {
  /// "host:port"; for Transport::WebSocketSecure a `wss://host[:port][/path]` URL (ErrorCode::
  /// InvalidAddress otherwise, last_error() saying why).
  std::string address;
  /// 1 to 64 bytes of UTF-8.
  std::string app_id;
  /// The game's version sent in Connect, at most 32 bytes. Unset: the library's version.
  std::optional<std::string> app_version;
  Transport transport = Transport::Tcp;
  /// Which key the server must present: as configured (default), `server_key`, or none.
  Pin pin = Pin::AsConfigured;
  /// The key for Pin::Key.
  PublicKey server_key{};
  /// Authenticate this connection with these values (needs Config::auto_key_exchange); null
  /// (default): no authentication. Read during connect() only: the peer keeps its own copy.
  const AuthValues* auth = nullptr;
  /// Transport::WebSocketSecure: accept exactly the certificate with this fingerprint (its issuer,
  /// names and validity are not checked; the server must still prove it holds its key). Unset
  /// (default): check the chain. A Noise pin (`pin`, or Config::pinned_server_key with
  /// Pin::AsConfigured) cannot be checked over WSS and is refused there: use Pin::None with this.
  std::optional<CertificateFingerprint> certificate_fingerprint;
  /// Transport::WebSocketSecure: the PEM file of the CA certificates to trust instead of the
  /// system's; read during connect(). Not together with `certificate_fingerprint`. Other transports
  /// ignore both.
  std::optional<std::string> ca_file;
  /// Transport::Udp or Transport::Tcp: present the AuthOnceWss credentials the peer holds (see
  /// AuthValues::set_expected_protocol and Peer::has_auth_once()) in the key exchange, which then
  /// authenticates the connection: no Authenticate is sent, `auth` must be null.
  /// ErrorCode::InvalidArgument when the peer holds none, over WSS, or with `auth`.
  bool auth_once = false;
};

/// Traffic counters, round-trip time and the server's clock (peer_get_stats), of the current or
/// last connection.
struct Stats {
  /// The protocol version the connection speaks (1 until a connection is accepted).
  uint32_t protocol_version = 0;
  /// Smoothed round-trip time from the I/O thread's pings; unset until a pong arrived.
  std::optional<std::chrono::milliseconds> rtt;
  /// How much the round-trip time varies (mean deviation); unset with `rtt`.
  std::optional<std::chrono::milliseconds> rtt_variance;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  /// The server's clock now, in milliseconds, the same for every client of the server (Photon's
  /// ServerTimeInMilliSeconds); unset until known (never on protocol version 1).
  std::optional<uint64_t> server_time_ms;
};

namespace detail {

/// The callback state that `user_data` points at. Heap-allocated and owned by the Peer, so its
/// address survives moves of the Peer.
struct CallbackBlock {
  StatusHandler on_status;
  EventHandler on_event;
  ResponseHandler on_response;
  /// First exception thrown by a handler during the current service() call.
  std::exception_ptr error;
  /// Nesting depth of service() calls of this peer on the servicing thread.
  int dispatch_depth = 0;
  /// Set when the Peer was destroyed from inside one of its callbacks: the C library deferred the
  /// destruction, and the running service() call owns (and frees) this block from then on,
  /// because the handler that destroyed the Peer is still running inside it.
  bool orphaned = false;

  void keep_first_error() noexcept {
    if (!error) error = std::current_exception();
  }
};

inline std::string_view view_of(const char* text) noexcept {
  return text == nullptr ? std::string_view() : std::string_view(text);
}

inline Event to_event(const peer_event_t& e) noexcept {
  return Event{e.code, e.encrypted != 0, e.sender, ParamsView(e.params)};
}

inline OperationResponse to_response(const peer_operation_response_t& r) noexcept {
  return OperationResponse{r.op_code, r.encrypted != 0, r.return_code, view_of(r.debug_message),
                           ParamsView(r.params)};
}

// Trampolines handed to the C library: C language linkage, no exception ever escapes.
extern "C" {
inline void sealnet_cpp_status_trampoline(void* user_data, uint32_t code,
                                          const peer_status_info_t* info) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || !block->on_status) return;
  try {
    block->on_status(code, info != nullptr ? info->reason : 0,
                     info != nullptr ? view_of(info->message) : std::string_view());
  } catch (...) {
    block->keep_first_error();
  }
}

inline void sealnet_cpp_event_trampoline(void* user_data, const peer_event_t* event) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || event == nullptr || !block->on_event) return;
  try {
    block->on_event(to_event(*event));
  } catch (...) {
    block->keep_first_error();
  }
}

inline void sealnet_cpp_response_trampoline(void* user_data,
                                            const peer_operation_response_t* response) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || response == nullptr || !block->on_response) return;
  try {
    block->on_response(to_response(*response));
  } catch (...) {
    block->keep_first_error();
  }
}
}  // extern "C"

/// Deleter of the peer handle: peer_destroy disconnects, stops the I/O thread and frees the peer.
struct PeerDeleter {
  void operator()(peer_t* peer) const noexcept { (void)peer_destroy(peer); }
};

inline Result to_millis(std::optional<std::chrono::milliseconds> value, const char* name, uint32_t* out) noexcept {
  if (!value) return Result();
  const auto count = value->count();
  if (count <= 0 || static_cast<unsigned long long>(count) > UINT32_MAX) {
    return fail(ErrorCode::InvalidArgument, std::string(name) + " is " + std::to_string(count) +
                                                " ms; it must be 1 ms to 86400000 ms (one day)");
  }
  *out = static_cast<uint32_t>(count);
  return Result();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------------------------

/// A client connection. Move-only; destroying it disconnects and frees it (see TEARDOWN above).
/// A default-constructed or moved-from Peer is empty: its calls return ErrorCode::InvalidPeer.
class Peer {
 public:
  Peer() noexcept = default;
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  Peer(Peer&& other) noexcept = default;
  /// Destroys the current peer (if any) first, then takes over `other`'s peer and callbacks.
  Peer& operator=(Peer&& other) noexcept {
    if (this != &other) {
      reset();
      callbacks_ = std::move(other.callbacks_);
      handle_ = std::move(other.handle_);
    }
    return *this;
  }
  ~Peer() { reset(); }

  /// Creates a peer; no thread starts until connect().
  static Expected<Peer> create(Config config) {
    peer_config_t c;
    uint32_t rc = peer_config_default(&c, sizeof c);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Result converted = detail::to_millis(config.disconnect_timeout, "disconnect_timeout", &c.disconnect_timeout_ms);
    if (!converted.ok()) return converted;
    converted = detail::to_millis(config.ping_interval, "ping_interval", &c.ping_interval_ms);
    if (!converted.ok()) return converted;
    if (config.max_queued_events) c.max_queued_events = *config.max_queued_events;
    if (config.max_queued_bytes) c.max_queued_bytes = *config.max_queued_bytes;
    if (config.max_protocol_version) c.max_protocol_version = *config.max_protocol_version;
    c.auto_key_exchange = config.auto_key_exchange ? 1 : 0;
    if (config.pinned_server_key) {
      c.pin_server_key = 1;
      std::memcpy(c.server_public_key, config.pinned_server_key->data(), sizeof c.server_public_key);
    }

    auto callbacks = std::make_unique<detail::CallbackBlock>();
    callbacks->on_status = std::move(config.on_status);
    callbacks->on_event = std::move(config.on_event);
    callbacks->on_response = std::move(config.on_response);
    c.on_status = callbacks->on_status ? &detail::sealnet_cpp_status_trampoline : nullptr;
    c.on_event = callbacks->on_event ? &detail::sealnet_cpp_event_trampoline : nullptr;
    c.on_operation_response =
        callbacks->on_response ? &detail::sealnet_cpp_response_trampoline : nullptr;
    c.user_data = callbacks.get();

    peer_t* raw = nullptr;
    rc = peer_create(&c, &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Peer peer;
    peer.callbacks_ = std::move(callbacks);
    peer.handle_.reset(raw);
    return Expected<Peer>(std::move(peer));
  }

  /// True when this object holds a peer.
  bool valid() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  /// The C handle, for calls this wrapper does not cover. Owned by this object.
  peer_t* native_handle() const noexcept { return handle_.get(); }

  /// Destroys the peer now (see TEARDOWN). The object becomes empty. Safe on an empty Peer. From
  /// inside one of this peer's callbacks the C library defers the destruction: no further callback
  /// runs, and the running service() completes it and frees the handlers before it returns.
  void reset() noexcept {
    if (!handle_) {
      callbacks_.reset();
      return;
    }
    if (callbacks_->dispatch_depth > 0) {
      // Called from one of this peer's own callbacks: the C library invalidates the handle at
      // once, runs no further callback and finishes the destruction inside the running
      // peer_service. The handler that called us is still running from the callback block, so
      // that service() call frees the block once peer_service has returned.
      callbacks_->orphaned = true;
      handle_.reset();             // peer_destroy, deferred by the library
      (void)callbacks_.release();  // owned by that service() call from now on
      return;
    }
    handle_.reset();     // peer_destroy: afterwards no callback of this peer runs
    callbacks_.reset();  // so the handlers can go
  }

  /// Starts connecting to "host:port" with `app_id` (1 to 64 bytes of UTF-8). Returns at once;
  /// progress arrives as statuses: 1024 Connect, then 1048 EncryptionEstablished with automatic
  /// key exchange, or 1023/1040/1050/1051 on failure.
  Result connect(std::string_view address, std::string_view app_id) {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto address_c = detail::c_string(address);
    const auto app_id_c = detail::c_string(app_id);
    if (!address_c || !app_id_c) {
      return detail::fail(ErrorCode::InvalidArgument, "connect: the address or app id holds a NUL byte");
    }
    return Result(peer_connect(handle_.get(), address_c->c_str(), app_id_c->c_str()));
  }

  /// Starts connecting with per-connection options (peer_connect_with): address, app id, app
  /// version, transport, pin, authentication values, the WSS certificate check and AuthOnceWss.
  /// Otherwise as connect(address, app_id); an app version over 32 bytes, an unknown transport or
  /// pin, AuthType::Token without any token, an unreadable CA file, a Noise pin over WSS, or
  /// auth_once without credentials gives ErrorCode::InvalidArgument with last_error() saying which.
  Result connect(const ConnectOptions& options) {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto address_c = detail::c_string(options.address);
    const auto app_id_c = detail::c_string(options.app_id);
    if (!address_c || !app_id_c) return detail::fail(ErrorCode::InvalidArgument, "connect: the address or app id holds a NUL byte");
    std::optional<std::string> version_c;
    if (options.app_version) {
      version_c = detail::c_string(*options.app_version);
      if (!version_c) return detail::fail(ErrorCode::InvalidArgument, "connect: the app version holds a NUL byte");
    }
    peer_connect_options_t c;
    uint32_t rc = peer_connect_options_default(&c, sizeof c);
    if (rc != PEER_RESULT_OK) return Result(rc);
    c.address = address_c->c_str();
    c.app_id = app_id_c->c_str();
    c.app_version = version_c ? version_c->c_str() : nullptr;
    c.transport = static_cast<uint32_t>(options.transport);
    c.pin = static_cast<uint8_t>(options.pin);
    std::memcpy(c.server_public_key, options.server_key.data(), sizeof c.server_public_key);
    std::optional<std::string> ca_file_c;
    if (options.ca_file) {
      ca_file_c = detail::c_string(*options.ca_file);
      if (!ca_file_c) return detail::fail(ErrorCode::InvalidArgument, "connect: the CA file path holds a NUL byte");
      c.ca_file = ca_file_c->c_str();
    }
    if (options.certificate_fingerprint) {
      c.pin_certificate = 1;
      std::memcpy(c.certificate_fingerprint, options.certificate_fingerprint->data(), sizeof c.certificate_fingerprint);
    }
    c.auth_once = options.auth_once ? 1 : 0;
    if (options.auth != nullptr) {
      if (!options.auth->valid()) {
        return detail::fail(ErrorCode::NullParameter, "connect: ConnectOptions::auth holds no values");
      }
      c.auth = options.auth->native_handle();
    }
    return Result(peer_connect_with(handle_.get(), &c));
  }

  /// Whether the peer holds AuthOnceWss credentials (from an authentication over WSS with
  /// AuthValues::set_expected_protocol), so a UDP or TCP connect with ConnectOptions::auth_once can
  /// use them. They stay until a newer authentication replaces them or a server refuses their
  /// token. Any thread.
  Expected<bool> has_auth_once() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint8_t ready = 0;
    const uint32_t rc = peer_has_auth_once(handle_.get(), &ready);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return ready != 0;
  }

  /// Where this connection's authentication stands (AuthState::None without authentication values).
  /// Any thread.
  Expected<AuthStatus> auth_state() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint32_t state = 0;
    int16_t code = 0;
    const uint32_t rc = peer_get_auth_state(handle_.get(), &state, &code);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return AuthStatus{static_cast<AuthState>(state), code};
  }

  /// The latest server token the peer holds, from an authentication, a JoinRoom response or an
  /// AuthEvent, kept across connections of this Peer; empty when it holds none (or the Peer is empty).
  /// AuthType::Token without a token of its own presents it. Any thread.
  std::optional<ServerToken> server_token() const {
    if (!handle_) return std::nullopt;
    for (;;) {
      ServerToken token;
      size_t len = 0;
      if (peer_get_server_token(handle_.get(), nullptr, 0, &len, &token.expires_at_ms) != PEER_RESULT_OK) {
        return std::nullopt;
      }
      token.bytes.resize(len);
      const uint32_t rc =
          peer_get_server_token(handle_.get(), token.bytes.data(), len, &len, &token.expires_at_ms);
      // The I/O thread may have kept a longer token in between: ask again.
      if (rc == PEER_RESULT_BUFFER_TOO_SMALL) continue;
      if (rc != PEER_RESULT_OK) return std::nullopt;
      token.bytes.resize(len);
      return token;
    }
  }

  /// Traffic counters, round-trip time, protocol version and server time. Any thread.
  Expected<Stats> stats() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_stats_t s{};
    const uint32_t rc = peer_get_stats(handle_.get(), &s, sizeof s);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Stats stats;
    stats.protocol_version = s.protocol_version;
    if (s.rtt_known != 0) {
      stats.rtt = std::chrono::milliseconds(s.rtt_ms);
      stats.rtt_variance = std::chrono::milliseconds(s.rtt_variance_ms);
    }
    stats.bytes_sent = s.bytes_sent;
    stats.bytes_received = s.bytes_received;
    stats.frames_sent = s.frames_sent;
    stats.frames_received = s.frames_received;
    if (s.server_time_known != 0) stats.server_time_ms = s.server_time_ms;
    return stats;
  }

  /// Starts the key exchange when auto_key_exchange is off; the outcome arrives as status 1048
  /// or 1049. Over Transport::WebSocketSecure (no key exchange) it does nothing and succeeds.
  Result establish_encryption() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_establish_encryption(handle_.get()));
  }

  /// Sends an operation; the parameters are copied. With `options.encrypt` before the key exchange
  /// completed, returns ErrorCode::EncryptionNotEstablished and sends nothing. A value type of
  /// protocol version 2 (10 and above) on a version-1 connection is refused with
  /// ErrorCode::NeedsProtocolVersion, last_error() naming the type and the versions. Any thread.
  Result send_operation(uint8_t op_code, ParamsView params = ParamsView(),
                        SendOptions options = SendOptions()) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_send_options_t c;
    const uint32_t made = peer_send_options_default(&c, sizeof c);
    if (made != PEER_RESULT_OK) return Result(made);
    c.delivery_mode = static_cast<uint8_t>(options.delivery);
    c.encrypt = options.encrypt ? 1 : 0;
    c.channel = options.channel;
    return Result(peer_send_operation(handle_.get(), op_code, params.native_handle(), &c));
  }

  /// Runs the queued callbacks on the calling thread. `dispatched` (optional) receives how many
  /// callbacks ran. Rethrows the first exception a handler threw during this call (see CALLBACKS).
  Result service(uint32_t* dispatched = nullptr) {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_t* const handle = handle_.get();
    detail::CallbackBlock* const block = callbacks_.get();
    uint32_t count = 0;
    ++block->dispatch_depth;
    const uint32_t rc = peer_service(handle, &count);
    --block->dispatch_depth;
    // A handler may have destroyed or reassigned this Peer: use only the locals from here on.
    // peer_service has completed a destruction a handler asked for; the block is ours to free.
    if (block->dispatch_depth == 0) {
      std::exception_ptr error = std::exchange(block->error, nullptr);
      if (block->orphaned) delete block;
      if (error) std::rethrow_exception(error);
    }
    if (rc == PEER_RESULT_OK && dispatched != nullptr) *dispatched = count;
    return Result(rc);
  }

  /// Blocks until results are queued (then returns Ok; call service() or poll() next), `timeout`
  /// passes (ErrorCode::TimedOut), or nothing can arrive because no connection runs
  /// (ErrorCode::NotConnected, at once). For hosts that are not a frame loop: bots, tests, servers.
  Result wait(std::chrono::milliseconds timeout) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto ms = timeout.count() < 0 ? 0 : timeout.count();
    const auto capped = ms > 0xFFFFFFFF ? 0xFFFFFFFFu : static_cast<uint32_t>(ms);
    return Result(peer_wait(handle_.get(), capped));
  }

  /// Callback-free alternative to service(): the next queued result, or ErrorCode::NoEvent. Views
  /// inside stay valid until the next poll(), service() or destruction of this Peer.
  Expected<PolledEvent> poll() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_polled_event_t e{};
    const uint32_t rc = peer_poll_event(handle_.get(), &e);
    if (rc != PEER_RESULT_OK) return Result(rc);
    PolledEvent polled;
    polled.kind = static_cast<EventKind>(e.kind);
    polled.status = e.status;
    polled.reason = e.status_info.reason;
    polled.message = detail::view_of(e.status_info.message);
    polled.response = detail::to_response(e.response);
    polled.event = detail::to_event(e.event);
    return polled;
  }

  /// Asks to end the connection; status 1025 Disconnect follows through service().
  Result disconnect() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_disconnect(handle_.get()));
  }

  Expected<PeerState> state() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint32_t raw = 0;
    const uint32_t rc = peer_state(handle_.get(), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return static_cast<PeerState>(raw);
  }

  /// The server's static public key once the key exchange succeeded;
  /// ErrorCode::EncryptionNotEstablished before.
  Expected<PublicKey> server_public_key() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    PublicKey key{};
    const uint32_t rc = peer_server_public_key(handle_.get(), key.data());
    if (rc != PEER_RESULT_OK) return Result(rc);
    return key;
  }

 private:
  // Declared before handle_ so that, on destruction, the handle (peer_destroy) goes first.
  std::unique_ptr<detail::CallbackBlock> callbacks_;
  std::unique_ptr<peer_t, detail::PeerDeleter> handle_;
};

// ---------------------------------------------------------------------------------------------
// RealtimeClient
// ---------------------------------------------------------------------------------------------

/// Options of a room the client creates (peer_room_options_t, Photon's RoomOptions). They apply only
/// when the request creates the room; joining an existing room ignores them. Copyable: everything
/// but `custom_properties` is owned, and the request call copies what it borrows.
///
///     sealnet::Table first;
///     (void)first.put("map", "dust");
///     sealnet::RoomOptions options;
///     options.max_players = 4;
///     options.custom_properties = first;             // borrowed until the request call returns
///     options.listed_in_lobby = {"map"};
///     options.player_ttl = std::chrono::seconds(30);
///     (void)client.join_or_create_room("arena-1", options);
struct RoomOptions {
  /// Most players; 0 (default): as many as the server allows.
  uint32_t max_players = 0;
  /// Others may join (default).
  bool is_open = true;
  /// JoinRandomRoom may pick it, and the lobby lists it (default).
  bool is_visible = true;
  /// How long a player whose connection is lost keeps its place and actor number (Photon's
  /// PlayerTtl): the client comes back by itself within it (ClientJoined::rejoined). 0 (default):
  /// not at all. 0 to 4294967295 ms (else ErrorCode::InvalidArgument at the request); the server
  /// caps it (its max_player_ttl_ms) and refuses a room asking more with a ClientFailed.
  std::chrono::milliseconds player_ttl{0};
  /// How long the room outlives its last player (Photon's EmptyRoomTtl). 0 (default): it closes at
  /// once. Range and cap as for player_ttl (the server's max_empty_room_ttl_ms).
  std::chrono::milliseconds empty_room_ttl{0};
  /// The events a player cached (EventCache::Add) leave the room's cache when it leaves (Photon's
  /// CleanupCacheOnLeave; default). False: they stay until EventCache::RemoveOfActorsLeft.
  bool cleanup_cache_on_leave = true;
  /// The room's first custom properties (keys that are not Bytes; Byte keys are the server's), or an
  /// empty view (default) for none. Borrowed: the table it views must live, unmodified, until the
  /// request call (join_or_create_room, create_room) returns, which copies it; a RoomOptions kept
  /// for later must not outlive that table.
  TableView custom_properties;
  /// Names of custom properties the lobby lists with the room (Photon's
  /// CustomRoomPropertiesForLobby); a name holding a NUL byte gives ErrorCode::InvalidArgument.
  std::vector<std::string> listed_in_lobby;
};

/// What a RealtimeClient connects to, and how (peer_client_config_t), for RealtimeClient::create.
/// Unset optionals keep the library defaults.
struct ClientConfig {
  /// Master addresses ("host:port"), 1 to 64: a login tries them in order until one answers.
  std::vector<std::string> masters;
  /// When set, every master must present this static key in the key exchange (recommended: the key
  /// of each game server then comes from the master, encrypted, and is required of it too). Unset:
  /// the masters are not authenticated.
  std::optional<PublicKey> pinned_master_key;
  /// 1 to 64 bytes of UTF-8.
  std::string app_id;
  /// The game's version sent in Connect, at most 32 bytes. Unset: the library's version.
  std::optional<std::string> app_version;

  // Settings of the peer underneath, each connection's (as in Config). Config's auto_key_exchange and
  // server key pin have no counterpart here: the client always runs the key exchange itself and pins
  // each server itself (the C library refuses a peer config that turns either off or on).
  /// Nothing received for this long loses the connection. Library default: 10 s.
  std::optional<std::chrono::milliseconds> disconnect_timeout;
  /// Ping interval of the I/O thread. Library default: 1 s.
  std::optional<std::chrono::milliseconds> ping_interval;
  /// Results held for the host before the connection fails. Library default: 65536.
  std::optional<uint32_t> max_queued_events;
  /// Decoded bytes of results held for the host before the connection fails. Library default:
  /// 32 MiB.
  std::optional<uint64_t> max_queued_bytes;
  /// The highest protocol version to offer (protocol_version::Min to Latest). Unset: the latest.
  std::optional<uint8_t> max_protocol_version;
};

/// The client's state changed (PEER_CLIENT_EVENT_STATE_CHANGED); `state` is the new one.
struct ClientStateChanged {
  ClientState state = ClientState::PeerCreated;
};

/// A status of the connection underneath, to a master or to a game server
/// (PEER_CLIENT_EVENT_STATUS): a PEER_STATUS_* code (see sealnet::status), a disconnect reason (see
/// sealnet::disconnect_reason; 0 when none) and a readable message. Switching servers shows as
/// statuses too (a Disconnect from the master, then a Connect to the game server): follow the
/// ClientState, not the statuses.
struct ClientStatus {
  uint32_t status = 0;
  uint16_t reason = 0;
  std::string message;
};

/// The client is in a room (PEER_CLIENT_EVENT_JOINED): its name (the master's choice after
/// create_room without a name), the own actor number and the actor numbers in the room, ascending.
struct ClientJoined {
  std::string room;
  int32_t actor = 0;
  std::vector<int32_t> actors;
  /// True when the client came back by itself after losing the connection, within the room's
  /// PlayerTtl (RoomOptions::player_ttl): same room, same actor number, and the room readers hold
  /// what it missed of the properties. RealtimeClient::is_rejoining() was true until now.
  bool rejoined = false;
};

/// A request failed (PEER_CLIENT_EVENT_FAILED): the operation (226 JoinRoom, 227 CreateRoom,
/// 225 JoinRandomRoom, 230/231 authentication) and its return code (return_code::GameDoesNotExist,
/// GameIdAlreadyExists, NoRandomMatchFound, GameFull, GameClosed, ServerFull, DirectoryUnavailable,
/// an authentication code, ...); return_code::InternalServerError when the client itself could not go
/// on (op_code 0 when it could not even start a connection to the next server; `message` says why). After a failed room request the
/// client is back at (or still at) the master; after return_code::AuthenticationTicketExpired on the
/// way back to the master it is disconnected and the game must connect() again with its values.
struct ClientFailed {
  uint8_t op_code = 0;
  int16_t return_code = 0;
  std::string message;
};

/// Who a raised event reaches and what it does to the room's event cache
/// (peer_raise_event_options_t, Photon's RaiseEventOptions), for RealtimeClient::raise_event.
/// The defaults reach the others and cache nothing, as the raise_event without it.
struct RaiseEventOptions {
  /// Who receives it (default: the others); ignored when `target_actors` is not empty.
  Receivers receivers = Receivers::Others;
  /// Exactly these actors (the sender too if named; absent ones are passed over) instead of
  /// `receivers` and `interest_group`; with EventCache::Remove, the senders whose cached events
  /// leave the cache. Empty (default): none.
  std::vector<int32_t> target_actors;
  /// Only the players subscribed to this interest group (change_groups), within `receivers`; 0
  /// (default): no group, everyone.
  uint8_t interest_group = 0;
  /// What it does to the room's event cache (default: nothing).
  EventCache cache = EventCache::None;
};

/// A player of the room as RealtimeClient::player() reads it: its actor number, and its properties
/// with the server's keys (player_property::*) read out. An owned copy (move-only, its Table is):
/// it does not follow later changes; read it again after a PropertiesChanged event.
struct Player {
  int32_t actor = 0;
  /// The nickname from authentication; empty for an anonymous player.
  std::optional<std::string> nickname;
  /// The user id from authentication, where the server publishes it (its publish_user_id).
  std::optional<std::string> user_id;
  /// It lost its connection and its place is kept for the room's PlayerTtl.
  bool inactive = false;
  /// Every property: the custom ones and the server's (Byte keys, player_property::*).
  Table properties;
};

/// One room of the lobby's list (RealtimeClient::room_list()): an owned copy, move-only.
struct RoomInfo {
  std::string name;
  /// Players in it now.
  int32_t player_count = 0;
  /// Most players; 0: as many as the server allows.
  int32_t max_players = 0;
  /// Others may join.
  bool is_open = true;
  /// What the lobby lists of it: the custom properties it names in RoomOptions::listed_in_lobby and
  /// the server's (room_property::MaxPlayers, IsOpen, PlayerCount, Byte keys).
  Table properties;
};

/// What RealtimeClient::poll() hands out: an owned copy of one thing that happened, so it stays valid
/// as long as you keep it. A room event is an OwnedEvent (PEER_CLIENT_EVENT_EVENT), a response to
/// an operation other than the client's own (for example the RaiseEvent response saying whom the
/// server skipped) an OwnedResponse (PEER_CLIENT_EVENT_RESPONSE). Move-only. Read it with
/// std::get_if or std::visit.
using ClientEvent =
    std::variant<ClientStateChanged, ClientStatus, ClientJoined, ClientFailed, OwnedEvent, OwnedResponse>;

namespace detail {
/// Deleter of the client handle: peer_client_destroy disconnects, stops its thread and frees it.
struct ClientDeleter {
  void operator()(peer_client_t* client) const noexcept { (void)peer_client_destroy(client); }
};
}  // namespace detail

/// A realtime client (peer_client_t, Photon's LoadBalancingClient): logs in at a master, sends room
/// requests, follows the master's answer to a game server by itself and goes back to the master on
/// leave_room(). Polled only: nothing calls back into the game.
///
/// Move-only; destroying it disconnects and frees it (peer_client_destroy): when the destructor or
/// reset() returns, no thread of it remains. A default-constructed or moved-from RealtimeClient is
/// empty: its calls return ErrorCode::InvalidPeer and poll() gives nothing.
///
/// Threads: poll(), wait(), connect(), the room requests, raise_event(), send_operation(), the room
/// and lobby operations (set_room_properties(), set_player_properties(), set_master_client(),
/// change_groups(), join_lobby(), leave_lobby()) and disconnect() on one thread at a time (the game's
/// thread that polls); state(), server_public_key(), actor_number(), room_name() and the room readers
/// (master_client(), room_properties(), players(), player_properties(), player(), room_list(),
/// is_rejoining()) on any thread, also while the polling thread blocks in wait(). Creating, moving,
/// resetting and destroying are ordinary writes to a C++ object.
///
/// A request starts the work and returns at once; its outcome arrives through poll(): a request the
/// state does not allow gives ErrorCode::WrongState (last_error() names the state) and sends
/// nothing; a request the server refuses gives a ClientFailed with its return code (a room
/// request), or an OwnedResponse with it (the room and lobby operations).
///
/// The room readers copy the client's view of its room, which poll() moves on: after poll() has
/// handed out an event (a PropertiesChanged, a Join, a Leave, a GameList), the readers show its
/// effect already (and possibly that of events still queued behind it).
class RealtimeClient {
 public:
  RealtimeClient() noexcept = default;
  RealtimeClient(const RealtimeClient&) = delete;
  RealtimeClient& operator=(const RealtimeClient&) = delete;
  RealtimeClient(RealtimeClient&& other) noexcept = default;
  /// Destroys the current client (if any) first, then takes over `other`'s.
  RealtimeClient& operator=(RealtimeClient&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::move(other.handle_);
    }
    return *this;
  }
  ~RealtimeClient() = default;

  /// Creates a client in ClientState::PeerCreated; no thread starts until connect(). No master, more
  /// than 64, or a text holding a NUL byte gives ErrorCode::InvalidArgument, last_error() saying which.
  static Expected<RealtimeClient> create(const ClientConfig& config) {
    peer_config_t peer;
    uint32_t rc = peer_config_default(&peer, sizeof peer);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Result converted = detail::to_millis(config.disconnect_timeout, "disconnect_timeout", &peer.disconnect_timeout_ms);
    if (!converted.ok()) return converted;
    converted = detail::to_millis(config.ping_interval, "ping_interval", &peer.ping_interval_ms);
    if (!converted.ok()) return converted;
    if (config.max_queued_events) peer.max_queued_events = *config.max_queued_events;
    if (config.max_queued_bytes) peer.max_queued_bytes = *config.max_queued_bytes;
    if (config.max_protocol_version) peer.max_protocol_version = *config.max_protocol_version;

    std::vector<std::string> masters;
    masters.reserve(config.masters.size());
    for (const std::string& address : config.masters) {
      auto address_c = detail::c_string(address);
      if (!address_c) return detail::fail(ErrorCode::InvalidArgument, "RealtimeClient::create: a master address holds a NUL byte");
      masters.push_back(std::move(*address_c));
    }
    std::vector<const char*> master_pointers;
    master_pointers.reserve(masters.size());
    for (const std::string& address : masters) master_pointers.push_back(address.c_str());
    const auto app_id_c = detail::c_string(config.app_id);
    if (!app_id_c) return detail::fail(ErrorCode::InvalidArgument, "RealtimeClient::create: the app id holds a NUL byte");
    std::optional<std::string> version_c;
    if (config.app_version) {
      version_c = detail::c_string(*config.app_version);
      if (!version_c) {
        return detail::fail(ErrorCode::InvalidArgument, "RealtimeClient::create: the app version holds a NUL byte");
      }
    }

    peer_client_config_t c;
    rc = peer_client_config_default(&c, sizeof c);
    if (rc != PEER_RESULT_OK) return Result(rc);
    c.peer = &peer;
    // With no master the library refuses the count before it looks at the pointer.
    c.masters = master_pointers.empty() ? nullptr : master_pointers.data();
    c.master_count = master_pointers.size();
    if (config.pinned_master_key) {
      c.pin_master_key = 1;
      std::memcpy(c.master_public_key, config.pinned_master_key->data(), sizeof c.master_public_key);
    }
    c.app_id = app_id_c->c_str();
    c.app_version = version_c ? version_c->c_str() : nullptr;

    peer_client_t* raw = nullptr;
    rc = peer_client_create(&c, &raw);  // copies the config and every string
    if (rc != PEER_RESULT_OK) return Result(rc);
    RealtimeClient client;
    client.handle_.reset(raw);
    return Expected<RealtimeClient>(std::move(client));
  }

  /// True when this object holds a client.
  bool valid() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  /// The C handle, for calls this wrapper does not cover. Owned by this object.
  peer_client_t* native_handle() const noexcept { return handle_.get(); }

  /// Destroys the client now: disconnects, stops its thread and frees it. The object becomes empty.
  /// Safe on an empty client.
  void reset() noexcept { handle_.reset(); }

  /// Logs in: connects to the first master that answers and authenticates with `auth` (copied during
  /// the call; null: an anonymous player, where the master allows it). Returns at once; then
  /// ClientState::ConnectedToMasterServer, or a ClientFailed with the refusal. ErrorCode::WrongState
  /// unless the client is in PeerCreated or Disconnected.
  Result connect(const AuthValues* auth = nullptr) {
    if (!handle_) return ErrorCode::InvalidPeer;
    if (auth != nullptr && !auth->valid()) {
      return detail::fail(ErrorCode::NullParameter, "RealtimeClient::connect: the AuthValues hold no values");
    }
    return Result(peer_client_connect(handle_.get(), auth != nullptr ? auth->native_handle() : nullptr));
  }

  /// JoinOrCreateRoom: joins the room `name` (UTF-8), created with `options` where the master places
  /// it if it does not exist. The client switches to the game server by itself; a ClientJoined or a
  /// ClientFailed follows. ErrorCode::WrongState unless at the master; ErrorCode::InvalidArgument
  /// for a TTL out of range or a listed name holding a NUL byte (last_error() names it). `options`
  /// and the table it borrows are copied during the call. Throws only std::bad_alloc.
  Result join_or_create_room(std::string_view name, const RoomOptions& options = RoomOptions()) {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto name_c = detail::c_string(name);
    if (!name_c) return detail::fail(ErrorCode::InvalidArgument, "join_or_create_room: the room name holds a NUL byte");
    peer_room_options_t c;
    std::vector<const char*> listed;
    const Result made = to_native(options, &c, &listed);
    if (!made.ok()) return made;
    return Result(peer_client_join_or_create_room(handle_.get(), name_c->c_str(), &c));
  }

  /// CreateRoom: as join_or_create_room, but fails with return_code::GameIdAlreadyExists when the room
  /// exists. Without a name (std::nullopt) the master names the room; ClientJoined::room says how.
  Result create_room(std::optional<std::string_view> name, const RoomOptions& options = RoomOptions()) {
    if (!handle_) return ErrorCode::InvalidPeer;
    std::optional<std::string> name_c;
    if (name) {
      name_c = detail::c_string(*name);
      if (!name_c) return detail::fail(ErrorCode::InvalidArgument, "create_room: the room name holds a NUL byte");
    }
    peer_room_options_t c;
    std::vector<const char*> listed;
    const Result made = to_native(options, &c, &listed);
    if (!made.ok()) return made;
    return Result(peer_client_create_room(handle_.get(), name_c ? name_c->c_str() : nullptr, &c));
  }

  /// JoinRoom: joins the room `name`; fails with return_code::GameDoesNotExist when there is none (or
  /// GameFull, GameClosed).
  Result join_room(std::string_view name) {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto name_c = detail::c_string(name);
    if (!name_c) return detail::fail(ErrorCode::InvalidArgument, "join_room: the room name holds a NUL byte");
    return Result(peer_client_join_room(handle_.get(), name_c->c_str()));
  }

  /// JoinRandomRoom: an open, visible room with space; fails with return_code::NoRandomMatchFound
  /// when there is none.
  Result join_random_room() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_join_random_room(handle_.get()));
  }

  /// Leaves the room; the client goes back to the master with its token
  /// (ClientState::ConnectedToMasterServer follows). ErrorCode::WrongState unless joined.
  Result leave_room() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_leave_room(handle_.get()));
  }

  /// Raises event `code` (0 to 199; above: ErrorCode::InvalidArgument) in the room with `data`
  /// (copied; any type Params::put takes, nullptr for none), which the other players receive as an
  /// OwnedEvent holding it under key 245, and `sender` the own actor number. SendOptions::encrypted()
  /// encrypts it. ErrorCode::WrongState unless joined; the value's limits and protocol version are
  /// checked as by Params::put and Peer::send_operation. Throws only what your serializer of a
  /// registered type throws, and std::bad_alloc.
  template <class T = std::nullptr_t>
  Result raise_event(uint8_t code, const T& data = nullptr, SendOptions options = SendOptions()) {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_send_options_t c;
    const uint32_t made = peer_send_options_default(&c, sizeof c);
    if (made != PEER_RESULT_OK) return Result(made);
    c.delivery_mode = static_cast<uint8_t>(options.delivery);
    c.encrypt = options.encrypt ? 1 : 0;
    c.channel = options.channel;
    return detail::with_native(data, [&](const peer_value_t& native) -> Result {
      return Result(peer_client_raise_event(handle_.get(), code, &native, &c));
    });
  }

  /// As raise_event above, to the receivers, target actors or interest group `raise` names, or adding
  /// the event to the room's event cache or removing cached events (see EventCache; `raise` is
  /// copied during the call). A receivers or cache value that is no Receivers or EventCache
  /// enumerator gives ErrorCode::InvalidArgument (last_error() names it); the rest fails as
  /// raise_event above.
  ///
  ///     sealnet::RaiseEventOptions to_one;
  ///     to_one.target_actors = {3};
  ///     (void)client.raise_event(9, data, to_one, sealnet::SendOptions::encrypted());
  template <class T>
  Result raise_event(uint8_t code, const T& data, const RaiseEventOptions& raise, SendOptions options = SendOptions()) {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_send_options_t c;
    uint32_t made = peer_send_options_default(&c, sizeof c);
    if (made != PEER_RESULT_OK) return Result(made);
    c.delivery_mode = static_cast<uint8_t>(options.delivery);
    c.encrypt = options.encrypt ? 1 : 0;
    c.channel = options.channel;
    peer_raise_event_options_t r;
    made = peer_raise_event_options_default(&r, sizeof r);
    if (made != PEER_RESULT_OK) return Result(made);
    r.receivers = static_cast<uint8_t>(raise.receivers);
    r.interest_group = raise.interest_group;
    r.cache = static_cast<uint8_t>(raise.cache);
    r.target_actors = raise.target_actors.empty() ? nullptr : raise.target_actors.data();
    r.target_actor_count = raise.target_actors.size();
    return detail::with_native(data, [&](const peer_value_t& native) -> Result {
      return Result(peer_client_raise_event_with(handle_.get(), code, &native, &r, &c));
    });
  }

  /// SetProperties (Photon's OpSetCustomProperties of the room): each key of `changes` takes its
  /// value, and a key whose value is nullptr (Null) is removed. With `expected` (null, the default,
  /// or a view of no table: none), the change applies only if each of those keys holds that value
  /// now, Null meaning "absent" (compare-and-set); otherwise nothing changes. Both tables are
  /// borrowed for the call (copied). The server answers with an OwnedResponse of
  /// op_code::SetProperties: return_code::Ok, return_code::PropertiesConflict when an expected value
  /// did not match, return_code::InvalidOperation for a Byte key it does not let players set. A
  /// change reaches every player, this one too, as an OwnedEvent of event_code::PropertiesChanged,
  /// after which room_properties() shows it. Byte keys are the server's (room_property::*):
  /// IsOpen, IsVisible, MaxPlayers and MasterClientId may be set.
  ///
  /// `changes` viewing no table (a default TableView, or a Table nothing was put into) gives
  /// ErrorCode::NullParameter; ErrorCode::WrongState unless joined.
  Result set_room_properties(const TableView& changes, const TableView* expected = nullptr) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_set_room_properties(handle_.get(), changes.native_handle(),
                                                  expected != nullptr ? expected->native_handle() : nullptr));
  }

  /// As set_room_properties, for the properties of player `actor` (this client's own, from
  /// actor_number(), or another's; below 1: ErrorCode::InvalidArgument). Their Byte keys
  /// (player_property::*) are the server's and read-only. Answered and broadcast as
  /// set_room_properties; player_properties() and player() then show the change.
  Result set_player_properties(int32_t actor, const TableView& changes, const TableView* expected = nullptr) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_set_player_properties(handle_.get(), actor, changes.native_handle(),
                                                    expected != nullptr ? expected->native_handle() : nullptr));
  }

  /// Hands the master client role to player `actor` (Photon's SetMasterClient): a compare-and-set of
  /// room_property::MasterClientId against the master this client knows, so of two players handing it
  /// over at once only one wins (the other's answer is return_code::PropertiesConflict). Everyone,
  /// this client too, sees an OwnedEvent of event_code::PropertiesChanged, after which
  /// master_client() gives `actor`. ErrorCode::WrongState unless joined.
  Result set_master_client(int32_t actor) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_set_master_client(handle_.get(), actor));
  }

  /// ChangeGroups (Photon's OpChangeGroups): leaves the interest groups of `remove`, then joins those
  /// of `add` (group numbers 1 to 255; both borrowed for the call). An empty optional (std::nullopt)
  /// leaves that step out; an engaged but EMPTY list means EVERY group (leave all, or join all), as
  /// Photon's: check a computed list before passing it. Subscriptions last until this client
  /// leaves the room; the server answers with an OwnedResponse of op_code::ChangeGroups, after which
  /// events raised to a group (RaiseEventOptions::interest_group) follow the new subscriptions.
  /// ErrorCode::WrongState unless joined.
  ///
  ///     (void)client.change_groups(std::nullopt, std::vector<uint8_t>{1, 2});  // join 1 and 2
  ///     (void)client.change_groups(sealnet::ByteView(), std::nullopt);        // leave every group
  Result change_groups(std::optional<ByteView> remove, std::optional<ByteView> add) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    // An engaged empty list must reach the C library as a non-NULL pointer with a count of 0, which
    // means "every group" there; NULL means "leave the step out".
    static const uint8_t kEveryGroup = 0;
    const auto list = [](const std::optional<ByteView>& groups) -> const uint8_t* {
      if (!groups) return nullptr;
      return groups->data() != nullptr ? groups->data() : &kEveryGroup;
    };
    return Result(peer_client_change_groups(handle_.get(), list(remove), remove ? remove->size() : 0, list(add),
                                            add ? add->size() : 0));
  }

  /// JoinLobby at the master (Photon's OpJoinLobby): room_list() fills with the visible rooms (an
  /// OwnedEvent of event_code::GameList) and follows the server's updates (event_code::GameListUpdate,
  /// at most about once a second). Joining a room leaves the lobby. The server answers with an
  /// OwnedResponse of op_code::JoinLobby. ErrorCode::WrongState unless at the master
  /// (ClientState::ConnectedToMasterServer).
  Result join_lobby() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_join_lobby(handle_.get()));
  }

  /// Leaves the lobby; room_list() is empty from now on. ErrorCode::WrongState unless at the master.
  Result leave_lobby() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_leave_lobby(handle_.get()));
  }

  /// The actor number of the room's master client, as this client last heard it (Photon's
  /// MasterClientId); ErrorCode::WrongState outside a room. Any thread.
  Expected<int32_t> master_client() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    int32_t actor = 0;
    const uint32_t rc = peer_client_master_client(handle_.get(), &actor);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return actor;
  }

  /// A copy of the room's properties as this client last heard them: the custom ones, and the
  /// server's under room_property::* (Byte keys: MaxPlayers, IsVisible, IsOpen, MasterClientId,
  /// PlayerTtl, EmptyRoomTtl). Owned by the caller; it does not follow later changes (read it again
  /// after a PropertiesChanged event). ErrorCode::WrongState outside a room. Any thread.
  Expected<Table> room_properties() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_table_t* raw = nullptr;
    const uint32_t rc = peer_client_room_properties(handle_.get(), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return Table::adopt(raw);
  }

  /// The actor numbers of the room's players, inactive ones too (see player()), ascending.
  /// ErrorCode::WrongState outside a room. Any thread. Throws only std::bad_alloc.
  Expected<std::vector<int32_t>> players() const {
    if (!handle_) return ErrorCode::InvalidPeer;
    std::vector<int32_t> actors;
    for (;;) {
      size_t count = 0;
      const uint32_t rc =
          peer_client_players(handle_.get(), actors.empty() ? nullptr : actors.data(), actors.size(), &count);
      if (rc == PEER_RESULT_OK) {
        actors.resize(count);
        return actors;
      }
      if (rc != PEER_RESULT_BUFFER_TOO_SMALL) return Result(rc);
      // A player may join between two calls: ask again with room for the count given.
      actors.assign(count, 0);
    }
  }

  /// A copy of the properties of player `actor`: the custom ones, and the server's under
  /// player_property::* (Byte keys: Nickname, UserId, IsInactive). Owned by the caller; it does not
  /// follow later changes. ErrorCode::NotFound when no such player is in the room;
  /// ErrorCode::WrongState outside a room. Any thread.
  Expected<Table> player_properties(int32_t actor) const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_table_t* raw = nullptr;
    const uint32_t rc = peer_client_player_properties(handle_.get(), actor, &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return Table::adopt(raw);
  }

  /// Player `actor` with its nickname, user id and inactive flag read out of player_properties()
  /// (which fails as it does). Any thread. Throws only std::bad_alloc.
  Expected<Player> player(int32_t actor) const {
    auto properties = player_properties(actor);
    if (!properties.ok()) return properties.result();
    Player found;
    found.actor = actor;
    found.nickname = properties->get<std::string>(player_property::Nickname);
    found.user_id = properties->get<std::string>(player_property::UserId);
    found.inactive = properties->get<bool>(player_property::IsInactive) == std::optional<bool>(true);
    found.properties = std::move(properties).value();
    return Expected<Player>(std::move(found));
  }

  /// A copy of the lobby's room list, by name in ascending order (Photon's RoomInfoList): each room
  /// with what the lobby lists of it (RoomInfo). Empty outside the lobby (before join_lobby(),
  /// after leave_lobby() or a room request). Any thread. ErrorCode::TypeMismatch, last_error() saying
  /// so, should an entry not be a room name and its table. Throws only std::bad_alloc.
  Expected<std::vector<RoomInfo>> room_list() const {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_table_t* raw = nullptr;
    const uint32_t rc = peer_client_room_list(handle_.get(), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    const Table list = Table::adopt(raw);
    std::vector<RoomInfo> rooms;
    rooms.reserve(list.size());
    for (const TableEntry entry : list) {
      auto name = entry.key.get<std::string>();
      const auto listed = entry.value.get<TableView>();
      if (!name || !listed) {
        return detail::fail(ErrorCode::TypeMismatch, "room_list: an entry is not a room name with a table");
      }
      auto copy = listed->clone();
      if (!copy.ok()) return copy.result();
      RoomInfo room;
      room.name = std::move(*name);
      room.player_count = copy->get<int32_t>(room_property::PlayerCount).value_or(0);
      room.max_players = copy->get<int32_t>(room_property::MaxPlayers).value_or(0);
      room.is_open = copy->get<bool>(room_property::IsOpen).value_or(true);
      room.properties = std::move(copy).value();
      rooms.push_back(std::move(room));
    }
    return Expected<std::vector<RoomInfo>>(std::move(rooms));
  }

  /// True while the client is coming back to its room by itself after losing the connection, within
  /// the room's PlayerTtl (the states show the reconnection). A ClientJoined with `rejoined` ends it,
  /// or a ClientFailed with return_code::JoinFailedWithRejoinerNotFound. Any thread.
  Expected<bool> is_rejoining() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint8_t rejoining = 0;
    const uint32_t rc = peer_client_is_rejoining(handle_.get(), &rejoining);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return rejoining != 0;
  }

  /// Sends any other operation (Photon's OpCustom) on the current connection, to the master or the
  /// game server the client is on; the parameters are borrowed for the call only. Its response arrives
  /// through poll() as an OwnedResponse (return_code::InvalidOperation for an operation the server
  /// does not know). Fails as Peer::send_operation (ErrorCode::NotConnected while no connection runs,
  /// ErrorCode::EncryptionNotEstablished for `options.encrypt` before the key exchange, ...).
  Result send_operation(uint8_t op_code, ParamsView params = ParamsView(),
                        SendOptions options = SendOptions()) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_send_options_t c;
    const uint32_t made = peer_send_options_default(&c, sizeof c);
    if (made != PEER_RESULT_OK) return Result(made);
    c.delivery_mode = static_cast<uint8_t>(options.delivery);
    c.encrypt = options.encrypt ? 1 : 0;
    c.channel = options.channel;
    return Result(peer_client_send_operation(handle_.get(), op_code, params.native_handle(), &c));
  }

  /// The own actor number in the room the client is in now; ErrorCode::WrongState outside a room.
  /// Read from the C library like state(): already set when ClientStateChanged reports Joined. Any
  /// thread.
  Expected<int32_t> actor_number() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    int32_t actor = 0;
    const uint32_t rc = peer_client_actor_number(handle_.get(), &actor);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return actor;
  }

  /// The name of the room the client is in now (UTF-8); ErrorCode::WrongState outside a room. Read
  /// from the C library like state(): already set when ClientStateChanged reports Joined. Any
  /// thread. Throws only std::bad_alloc.
  Expected<std::string> room_name() const {
    if (!handle_) return ErrorCode::InvalidPeer;
    std::string name;
    for (;;) {
      size_t len = 0;
      // With the string's own storage as the buffer (its capacity holds the NUL too).
      uint32_t rc = peer_client_room_name(handle_.get(), name.empty() ? nullptr : name.data(),
                                          name.empty() ? 0 : name.size() + 1, &len);
      if (rc == PEER_RESULT_OK) {
        name.resize(len);
        return name;
      }
      if (rc != PEER_RESULT_BUFFER_TOO_SMALL) return Result(rc);
      // The client may move to a room with a longer name between two calls: ask again.
      name.assign(len == 0 ? 1 : len, '\0');
    }
  }

  /// Moves the client on and takes the next thing that happened, copied out of the C library (see
  /// ClientEvent); empty when nothing did. Call it every frame, or after wait(), until it is empty.
  /// An empty client gives nothing (valid() tells). A kind of event newer than this header is
  /// skipped. Throws std::bad_alloc if the C library cannot copy an event's parameters.
  [[nodiscard]] std::optional<ClientEvent> poll() {
    if (!handle_) return std::nullopt;
    for (;;) {
      peer_client_event_t e{};
      if (peer_client_poll(handle_.get(), &e) != PEER_RESULT_OK) return std::nullopt;
      // Everything in `e` lives only until the next peer_client_poll: copy it all now.
      switch (e.kind) {
        case PEER_CLIENT_EVENT_STATE_CHANGED:
          return ClientEvent(ClientStateChanged{static_cast<ClientState>(e.state)});
        case PEER_CLIENT_EVENT_STATUS:
          return ClientEvent(ClientStatus{e.status, e.status_info.reason, std::string(detail::view_of(e.status_info.message))});
        case PEER_CLIENT_EVENT_JOINED: {
          ClientJoined joined;
          joined.room = std::string(detail::view_of(e.room));
          joined.actor = e.actor;
          if (e.actors != nullptr) joined.actors.assign(e.actors, e.actors + e.actor_count);
          joined.rejoined = e.rejoined != 0;
          return ClientEvent(std::move(joined));
        }
        case PEER_CLIENT_EVENT_FAILED:
          return ClientEvent(ClientFailed{e.op_code, e.return_code, std::string(detail::view_of(e.message))});
        case PEER_CLIENT_EVENT_EVENT:
          return ClientEvent(detail::to_event(e.event).to_owned());
        case PEER_CLIENT_EVENT_RESPONSE:
          return ClientEvent(detail::to_response(e.response).to_owned());
        default:
          continue;  // a kind this header does not know
      }
    }
  }

  /// Blocks until the client may have something for poll() (then returns Ok), `timeout` passes
  /// (ErrorCode::TimedOut), or nothing can arrive because no connection runs (ErrorCode::NotConnected,
  /// at once). Poll either way. For hosts that are not a frame loop: bots, tests, servers.
  Result wait(std::chrono::milliseconds timeout) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto ms = timeout.count() < 0 ? 0 : timeout.count();
    const auto capped = ms > 0xFFFFFFFF ? 0xFFFFFFFFu : static_cast<uint32_t>(ms);
    return Result(peer_client_wait(handle_.get(), capped));
  }

  /// The client's state now. Any thread. The ClientStateChanged events polled so far may lag behind.
  Expected<ClientState> state() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint32_t raw = 0;
    const uint32_t rc = peer_client_state(handle_.get(), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return static_cast<ClientState>(raw);
  }

  /// The static public key of the server the client is connected to (the master, or the game server
  /// it switched to); ErrorCode::EncryptionNotEstablished before a key exchange, as
  /// Peer::server_public_key. Any thread.
  Expected<PublicKey> server_public_key() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    PublicKey key{};
    const uint32_t rc = peer_client_server_public_key(handle_.get(), key.data());
    if (rc != PEER_RESULT_OK) return Result(rc);
    return key;
  }

  /// Disconnects and stays disconnected (ClientState::Disconnected follows through poll()).
  Result disconnect() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_client_disconnect(handle_.get()));
  }

 private:
  static Result ttl_millis(std::chrono::milliseconds ttl, const char* name, uint32_t* out) noexcept {
    const auto count = ttl.count();
    if (count < 0 || static_cast<unsigned long long>(count) > UINT32_MAX) {
      return detail::fail(ErrorCode::InvalidArgument, std::string("RoomOptions::") + name + " is " +
                                                          std::to_string(count) + " ms; it must be 0 to 4294967295 ms");
    }
    *out = static_cast<uint32_t>(count);
    return Result();
  }

  /// `options` as the C library takes them; `listed` holds the pointers to the listed names, and
  /// `options` the names and the table: both must live until the C call returns.
  static Result to_native(const RoomOptions& options, peer_room_options_t* c, std::vector<const char*>* listed) {
    const uint32_t made = peer_room_options_default(c, sizeof *c);  // sets struct_size
    if (made != PEER_RESULT_OK) return Result(made);
    c->max_players = options.max_players;
    c->is_open = options.is_open ? 1 : 0;
    c->is_visible = options.is_visible ? 1 : 0;
    c->keep_cache_on_leave = options.cleanup_cache_on_leave ? 0 : 1;
    Result converted = ttl_millis(options.player_ttl, "player_ttl", &c->player_ttl_ms);
    if (!converted.ok()) return converted;
    converted = ttl_millis(options.empty_room_ttl, "empty_room_ttl", &c->empty_room_ttl_ms);
    if (!converted.ok()) return converted;
    c->custom_properties = options.custom_properties.native_handle();
    listed->clear();
    listed->reserve(options.listed_in_lobby.size());
    for (const std::string& name : options.listed_in_lobby) {
      if (name.find('\0') != std::string::npos) {
        return detail::fail(ErrorCode::InvalidArgument, "RoomOptions::listed_in_lobby: a name holds a NUL byte");
      }
      listed->push_back(name.c_str());
    }
    c->listed_in_lobby = listed->empty() ? nullptr : listed->data();
    c->listed_in_lobby_count = listed->size();
    return Result();
  }

  std::unique_ptr<peer_client_t, detail::ClientDeleter> handle_;
};

}  // namespace sealnet

#endif  // SEALNET_HPP
