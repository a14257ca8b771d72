//! The `SealnetPeer` node: GDScript's view of a sealnet client connection.
//!
//! Results of the peer's I/O thread are queued by sealnet and emitted as signals from `_process`, on the
//! main thread, so handlers may touch the scene tree. Methods return an error code (0 = OK, see the
//! `ERR_*` constants) and print the reason with `push_error` when they refuse.

use std::collections::VecDeque;

use godot::builtin::{AnyDictionary, Callable, GString, PackedByteArray, VarDictionary, Variant};
use godot::classes::{INode, Node, ProjectSettings};
use godot::global::godot_error;
use godot::meta::ToGodot;
use godot::obj::{Base, Singleton, WithUserSignals};
use godot::register::{godot_api, GodotClass};

use sealnet::auth::AuthValues;
use sealnet::peer::{PeerEvent, TransportKind};
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::StatusCode;

use crate::client::{self, Client, Settings, Target};
use crate::codes::{self, auth, room, signal_for, ErrorCode, Failure, Signal};
use crate::value::{self, GdValue};
use crate::variant::{self, Types};

/// A connection to a sealnet server. Add it to the scene tree: it emits its signals while it is in the
/// tree, and shuts its connection down when it leaves.
#[derive(GodotClass)]
#[class(base = Node)]
pub struct SealnetPeer {
    base: Base<Node>,
    /// With nothing received for this long the connection is considered lost (status 1040).
    #[export(range = (1.0, 120000.0, or_greater, suffix = "ms"))]
    disconnect_timeout_ms: i64,
    /// Run the key exchange as soon as the server accepts the connection (status 1048 follows).
    /// When off, call `establish_encryption()` after status 1024.
    #[export]
    auto_key_exchange: bool,
    /// The server's public key as 64 hex digits; when set, a server presenting another key is refused
    /// (status 1049). Empty accepts any server key.
    #[export]
    server_key_pin: GString,
    /// The newest protocol version offered to the server: 2 has byte, short, packed arrays, tables,
    /// custom types and the server clock; 1 talks as a version-1 client, which refuses values of those
    /// types (`ERR_NEEDS_PROTOCOL_VERSION`). The connection speaks the highest version both ends allow
    /// (`get_protocol_version()`). TCP only: UDP connections speak version 3.
    #[export(range = (1.0, 2.0))]
    max_protocol_version: i64,
    /// How the next connections travel (Photon's `ConnectionProtocol`): `TRANSPORT_TCP` (the default),
    /// `TRANSPORT_UDP`, where each operation's delivery mode and channel apply and the key exchange
    /// always runs at once (a UDP server that does not answer is found out by the timeout, status
    /// 1040), or `TRANSPORT_WSS`: WebSocket over TLS to a `wss://host:port/path` address, where TLS
    /// protects every frame and no key exchange runs (status 1024, then at once 1048; the state is
    /// `STATE_ENCRYPTED`; sends with `encrypt` succeed; `server_key_pin` must be empty).
    #[export(enum = (Udp = 0, Tcp = 1, WebSocketSecure = 5))]
    transport: i64,
    /// `TRANSPORT_WSS`: the server certificate's SHA-256 as 64 hex digits (sealnet-server prints it):
    /// exactly that certificate is accepted. Empty checks the chain (`ca_file`, else the system's trust
    /// store). A certificate the check refuses gives status 1022, then 1025.
    #[export]
    certificate_fingerprint: GString,
    /// `TRANSPORT_WSS`: a PEM file of the CA certificates to trust instead of the system's (a path, or
    /// `res://` / `user://`); empty uses the system's trust store. Not together with
    /// `certificate_fingerprint`.
    #[export(file = "*.pem,*.crt")]
    ca_file: GString,
    /// `TRANSPORT_UDP` / `TRANSPORT_TCP`: present the AuthOnceWss credentials held (`has_auth_once()`,
    /// from a WSS authentication with `expected_protocol`) in the key exchange, which then
    /// authenticates the connection: no Authenticate is sent, and `set_auth_values({})` must be in force.
    #[export]
    auth_once: bool,
    /// How often the peer pings the server; round-trip time and server time come from the pongs.
    #[export(range = (1.0, 60000.0, or_greater, suffix = "ms"))]
    ping_interval_ms: i64,
    client: Client,
    /// What the next connections authenticate with (`set_auth_values`).
    auth: Option<AuthValues>,
    /// The custom types scripts registered with `register_type`.
    types: Types,
    /// Reused between frames so draining allocates nothing in the steady state.
    batch: VecDeque<PeerEvent>,
}

#[godot_api]
impl INode for SealnetPeer {
    fn init(base: Base<Node>) -> Self {
        let defaults = Settings::default();
        SealnetPeer {
            base,
            disconnect_timeout_ms: defaults.disconnect_timeout_ms,
            auto_key_exchange: defaults.auto_key_exchange,
            server_key_pin: GString::new(),
            max_protocol_version: defaults.max_protocol_version,
            ping_interval_ms: defaults.ping_interval_ms,
            transport: defaults.transport,
            certificate_fingerprint: GString::new(),
            ca_file: GString::new(),
            auth_once: false,
            client: Client::new(),
            auth: None,
            types: Types::default(),
            batch: VecDeque::new(),
        }
    }

    fn process(&mut self, _delta: f64) {
        self.poll();
    }

    fn exit_tree(&mut self) {
        self.client.shutdown();
    }
}

#[godot_api]
impl SealnetPeer {
    /// Status 1024 Connect, 1025 Disconnect, 1048 EncryptionEstablished, ... (Photon's numbering).
    #[signal]
    fn status_changed(code: i64);

    /// Emitted right after `status_changed`, with the disconnect reason number (0 when none) and a text.
    #[signal]
    fn status_detail(code: i64, reason: i64, message: GString);

    /// A room event. `data` holds the event's parameters with int keys; with the reference server,
    /// `data[PARAM_DATA]` is what the sender raised and `data[PARAM_ACTOR_NR]` its actor number.
    #[signal]
    fn event_received(code: i64, data: VarDictionary, sender: i64, was_encrypted: bool);

    /// The server's answer to an operation; return_code 0 is success.
    #[signal]
    fn operation_response(op_code: i64, return_code: i64, data: VarDictionary);

    /// Emitted right after `operation_response` when the server explained its answer (usually an error).
    #[signal]
    fn operation_debug_message(op_code: i64, return_code: i64, message: GString);

    #[constant]
    const OK: i64 = ErrorCode::Ok as i64;
    #[constant]
    const ERR_INVALID_ARGUMENT: i64 = ErrorCode::InvalidArgument as i64;
    #[constant]
    const ERR_ENCRYPTION_NOT_ESTABLISHED: i64 = ErrorCode::EncryptionNotEstablished as i64;
    #[constant]
    const ERR_MUST_ENCRYPT: i64 = ErrorCode::MustEncrypt as i64;
    #[constant]
    const ERR_NOT_CONNECTED: i64 = ErrorCode::NotConnected as i64;
    #[constant]
    const ERR_ALREADY_CONNECTED: i64 = ErrorCode::AlreadyConnected as i64;
    #[constant]
    const ERR_KEY_EXCHANGE_ALREADY_STARTED: i64 = ErrorCode::KeyExchangeAlreadyStarted as i64;
    #[constant]
    const ERR_PARAMS_TOO_LARGE: i64 = ErrorCode::ParamsTooLarge as i64;
    #[constant]
    const ERR_MESSAGE_TOO_LARGE: i64 = ErrorCode::MessageTooLarge as i64;
    #[constant]
    const ERR_SEND_BUFFER_FULL: i64 = ErrorCode::SendBufferFull as i64;
    #[constant]
    const ERR_COUNTER_EXHAUSTED: i64 = ErrorCode::CounterExhausted as i64;
    #[constant]
    const ERR_INVALID_ADDRESS: i64 = ErrorCode::InvalidAddress as i64;
    #[constant]
    const ERR_IO: i64 = ErrorCode::Io as i64;
    #[constant]
    const ERR_NEEDS_PROTOCOL_VERSION: i64 = ErrorCode::NeedsProtocolVersion as i64;

    #[constant]
    const STATUS_SECURITY_EXCEPTION_ON_CONNECT: i64 = StatusCode::SecurityExceptionOnConnect as i64;
    #[constant]
    const STATUS_EXCEPTION_ON_CONNECT: i64 = StatusCode::ExceptionOnConnect as i64;
    #[constant]
    const STATUS_CONNECT: i64 = StatusCode::Connect as i64;
    #[constant]
    const STATUS_DISCONNECT: i64 = StatusCode::Disconnect as i64;
    #[constant]
    const STATUS_EXCEPTION: i64 = StatusCode::Exception as i64;
    #[constant]
    const STATUS_SEND_ERROR: i64 = StatusCode::SendError as i64;
    #[constant]
    const STATUS_EXCEPTION_ON_RECEIVE: i64 = StatusCode::ExceptionOnReceive as i64;
    #[constant]
    const STATUS_TIMEOUT_DISCONNECT: i64 = StatusCode::TimeoutDisconnect as i64;
    #[constant]
    const STATUS_DISCONNECT_BY_SERVER_TIMEOUT: i64 = StatusCode::DisconnectByServerTimeout as i64;
    #[constant]
    const STATUS_DISCONNECT_BY_SERVER_USER_LIMIT: i64 = StatusCode::DisconnectByServerUserLimit as i64;
    #[constant]
    const STATUS_DISCONNECT_BY_SERVER_LOGIC: i64 = StatusCode::DisconnectByServerLogic as i64;
    #[constant]
    const STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN: i64 = StatusCode::DisconnectByServerReasonUnknown as i64;
    #[constant]
    const STATUS_ENCRYPTION_ESTABLISHED: i64 = StatusCode::EncryptionEstablished as i64;
    #[constant]
    const STATUS_ENCRYPTION_FAILED_TO_ESTABLISH: i64 = StatusCode::EncryptionFailedToEstablish as i64;
    #[constant]
    const STATUS_SERVER_ADDRESS_INVALID: i64 = StatusCode::ServerAddressInvalid as i64;
    #[constant]
    const STATUS_DNS_EXCEPTION_ON_CONNECT: i64 = StatusCode::DnsExceptionOnConnect as i64;

    #[constant]
    const STATE_DISCONNECTED: i64 = 0;
    #[constant]
    const STATE_CONNECTING: i64 = 1;
    #[constant]
    const STATE_CONNECTED: i64 = 3;
    #[constant]
    const STATE_DISCONNECTING: i64 = 4;
    #[constant]
    const STATE_ESTABLISHING_ENCRYPTION: i64 = 5;
    #[constant]
    const STATE_ENCRYPTED: i64 = 6;

    #[constant]
    const DELIVERY_UNRELIABLE: i64 = 0;
    #[constant]
    const DELIVERY_RELIABLE: i64 = 1;
    #[constant]
    const DELIVERY_UNRELIABLE_UNSEQUENCED: i64 = 2;
    #[constant]
    const DELIVERY_RELIABLE_UNSEQUENCED: i64 = 3;

    #[constant]
    const RECEIVERS_OTHERS: i64 = room::RECEIVERS_OTHERS;
    #[constant]
    const RECEIVERS_ALL: i64 = room::RECEIVERS_ALL;
    #[constant]
    const RECEIVERS_MASTER_CLIENT: i64 = room::RECEIVERS_MASTER_CLIENT;

    #[constant]
    const OP_JOIN_ROOM: i64 = room::OP_JOIN_ROOM as i64;
    #[constant]
    const OP_LEAVE_ROOM: i64 = room::OP_LEAVE_ROOM as i64;
    #[constant]
    const OP_RAISE_EVENT: i64 = room::OP_RAISE_EVENT as i64;
    #[constant]
    const EVENT_JOIN: i64 = room::EVENT_JOIN as i64;
    #[constant]
    const EVENT_LEAVE: i64 = room::EVENT_LEAVE as i64;
    #[constant]
    const PARAM_ROOM_NAME: i64 = room::ROOM_NAME as i64;
    #[constant]
    const PARAM_ACTOR_NR: i64 = room::ACTOR_NR as i64;
    #[constant]
    const PARAM_ACTOR_LIST: i64 = room::ACTOR_LIST as i64;
    #[constant]
    const PARAM_DATA: i64 = room::DATA as i64;

    /// Custom type code of `Vector2` (87, 'W'), sent as two little-endian 32-bit floats.
    #[constant]
    const CUSTOM_VECTOR2: i64 = value::CODE_VECTOR2 as i64;
    /// Custom type code of `Vector3` (86, 'V'), sent as three little-endian 32-bit floats.
    #[constant]
    const CUSTOM_VECTOR3: i64 = value::CODE_VECTOR3 as i64;
    /// Custom type code of `Quaternion` (81, 'Q'), sent as x, y, z, w little-endian 32-bit floats.
    #[constant]
    const CUSTOM_QUATERNION: i64 = value::CODE_QUATERNION as i64;
    /// The newest protocol version this build speaks over TCP (UDP connections speak version 3).
    #[constant]
    const LATEST_PROTOCOL_VERSION: i64 = value::LATEST_VERSION as i64;

    /// `transport`: UDP (protocol version 3), Photon's `ConnectionProtocol.Udp`.
    #[constant]
    const TRANSPORT_UDP: i64 = TransportKind::Udp as i64;
    /// `transport`: TCP, the default, Photon's `ConnectionProtocol.Tcp`.
    #[constant]
    const TRANSPORT_TCP: i64 = TransportKind::Tcp as i64;
    /// `transport`: WebSocket over TLS (protocol version 4), Photon's `ConnectionProtocol.WebSocketSecure`.
    #[constant]
    const TRANSPORT_WSS: i64 = TransportKind::WebSocketSecure as i64;

    /// `auth_type` of `set_auth_values`: the server asks the studio's backend about `connection_token`.
    #[constant]
    const AUTH_CUSTOM: i64 = auth::TYPE_CUSTOM;
    /// `auth_type`: present a server token (`token`, else the latest one held, `get_server_token()`).
    #[constant]
    const AUTH_TOKEN: i64 = auth::TYPE_TOKEN;
    /// `auth_type`: anonymous, where the server allows it (the default).
    #[constant]
    const AUTH_NONE: i64 = auth::TYPE_NONE;
    #[constant]
    const AUTH_STATE_NONE: i64 = auth::STATE_NONE;
    #[constant]
    const AUTH_STATE_PENDING: i64 = auth::STATE_PENDING;
    #[constant]
    const AUTH_STATE_AUTHENTICATED: i64 = auth::STATE_AUTHENTICATED;
    #[constant]
    const AUTH_STATE_FAILED: i64 = auth::STATE_FAILED;
    /// The longest `connection_token`, in bytes.
    #[constant]
    const MAX_CONNECTION_TOKEN: i64 = auth::MAX_CONNECTION_TOKEN as i64;
    /// Authenticate: the peer sends it for `AUTH_CUSTOM` and `AUTH_NONE`; its answer is an
    /// `operation_response` with this op code.
    #[constant]
    const OP_AUTHENTICATE: i64 = auth::OP_AUTHENTICATE as i64;
    /// AuthenticateOnce: the peer sends it for `AUTH_TOKEN`.
    #[constant]
    const OP_AUTHENTICATE_ONCE: i64 = auth::OP_AUTHENTICATE_ONCE as i64;
    /// In a successful answer: the user id (String).
    #[constant]
    const PARAM_USER_ID: i64 = auth::PARAM_USER_ID as i64;
    /// In a successful answer: the nickname (String).
    #[constant]
    const PARAM_NICKNAME: i64 = auth::PARAM_NICKNAME as i64;
    /// In a successful answer and a JoinRoom response: the server token (PackedByteArray).
    #[constant]
    const PARAM_TOKEN: i64 = auth::PARAM_TOKEN as i64;
    /// With `PARAM_TOKEN`: when it expires (int, ms since the Unix epoch).
    #[constant]
    const PARAM_TOKEN_EXPIRES: i64 = auth::PARAM_TOKEN_EXPIRES as i64;
    /// Return code: anonymous where not allowed, or custom on a server without a backend.
    #[constant]
    const RETURN_INVALID_AUTHENTICATION: i64 = auth::INVALID_AUTHENTICATION as i64;
    /// Return code: the backend rejected the player.
    #[constant]
    const RETURN_CUSTOM_AUTHENTICATION_FAILED: i64 = auth::CUSTOM_AUTHENTICATION_FAILED as i64;
    /// Return code: the server token is not valid here or has expired; authenticate again.
    #[constant]
    const RETURN_AUTHENTICATION_TICKET_EXPIRED: i64 = auth::AUTHENTICATION_TICKET_EXPIRED as i64;
    /// Return code: too many authentication attempts; try again later.
    #[constant]
    const RETURN_HTTP_LIMIT_REACHED: i64 = auth::HTTP_LIMIT_REACHED as i64;
    /// Return code: the backend is unavailable; try again.
    #[constant]
    const RETURN_EXTERNAL_HTTP_CALL_FAILED: i64 = auth::EXTERNAL_HTTP_CALL_FAILED as i64;

    /// Starts connecting to `address` ("host:port"); progress arrives through `status_changed`.
    /// The exported properties are read now. `app_version` (at most 32 bytes) is the game's version sent
    /// to the server; "" sends the library's. `server_key_pin`, when not "", is the server key this
    /// connection requires, overriding the property. Returns 0, or an `ERR_*` code.
    #[func]
    fn connect_to_server(
        &mut self,
        address: GString,
        app_id: GString,
        #[opt(default = "")] app_version: GString,
        #[opt(default = "")] server_key_pin: GString,
    ) -> i64 {
        let settings = Settings {
            disconnect_timeout_ms: self.disconnect_timeout_ms,
            auto_key_exchange: self.auto_key_exchange,
            server_key_pin: self.server_key_pin.to_string(),
            max_protocol_version: self.max_protocol_version,
            ping_interval_ms: self.ping_interval_ms,
            transport: self.transport,
            certificate_fingerprint: self.certificate_fingerprint.to_string(),
            ca_file: globalize(&self.ca_file),
            auth_once: self.auth_once,
        };
        let (address, app_id) = (address.to_string(), app_id.to_string());
        let (app_version, server_key_pin) = (app_version.to_string(), server_key_pin.to_string());
        let target = Target {
            address: &address,
            app_id: &app_id,
            app_version: &app_version,
            server_key_pin: &server_key_pin,
            auth: self.auth.as_ref(),
        };
        let result = self.client.connect(&settings, &target);
        report("connect_to_server", result)
    }

    /// What the next `connect_to_server` calls authenticate with (Photon's AuthValues): a Dictionary
    /// with `auth_type` (`AUTH_NONE`, the default, `AUTH_CUSTOM` or `AUTH_TOKEN`), `connection_token`
    /// (PackedByteArray, at most `MAX_CONNECTION_TOKEN` bytes, never truncated), `user_id` (String),
    /// `params` (Dictionary of String to String), `data` (PackedByteArray) and `token`
    /// (PackedByteArray, for `AUTH_TOKEN`; without it the latest token held is presented) and
    /// `expected_protocol` (`TRANSPORT_UDP` or `TRANSPORT_TCP`: over `TRANSPORT_WSS`, ask for the
    /// AuthOnceWss secret a later connection with `auth_once` uses; the answer's data never holds it). `{}` stops
    /// authenticating. The peer then authenticates by itself right after the key exchange (which must be
    /// automatic); the answer is an `operation_response` with `OP_AUTHENTICATE` or
    /// `OP_AUTHENTICATE_ONCE`. Returns 0, or `ERR_INVALID_ARGUMENT` (printing the size and the limit, or
    /// the key at fault), keeping the values set before.
    #[func]
    fn set_auth_values(&mut self, values: AnyDictionary) -> i64 {
        let entries = variant::entries_from_dictionary(&values, &self.types);
        let result = client::auth_values(&entries).map(|values| self.auth = values);
        report("set_auth_values", result)
    }

    /// Whether AuthOnceWss credentials are held (from an authentication over `TRANSPORT_WSS` with
    /// `expected_protocol` in `set_auth_values`), for a UDP or TCP connection with `auth_once`. The
    /// secret itself never reaches scripts.
    #[func]
    fn has_auth_once(&self) -> bool {
        self.client.has_auth_once()
    }

    /// Where this connection's authentication stands: one of the `AUTH_STATE_*` constants.
    #[func]
    fn get_auth_state(&self) -> i64 {
        auth::state_code(self.client.auth_state()).0
    }

    /// With `AUTH_STATE_FAILED`, the server's return code (`RETURN_*`); otherwise 0.
    #[func]
    fn get_auth_return_code(&self) -> i64 {
        auth::state_code(self.client.auth_state()).1
    }

    /// The latest server token held (from an authentication or a JoinRoom response, kept across
    /// connections), or an empty PackedByteArray. Save it to authenticate with `AUTH_TOKEN` later.
    #[func]
    fn get_server_token(&self) -> PackedByteArray {
        self.client
            .server_token()
            .map_or_else(PackedByteArray::new, |token| PackedByteArray::from(token.bytes.as_slice()))
    }

    /// When `get_server_token()` expires, in ms since the Unix epoch; -1 without a token.
    #[func]
    fn get_server_token_expires_ms(&self) -> i64 {
        self.client.server_token().map_or(-1, |token| token.expires_at_ms)
    }

    /// Starts the key exchange when `auto_key_exchange` is off; status 1048 follows.
    #[func]
    fn establish_encryption(&mut self) -> i64 {
        report("establish_encryption", self.client.establish_encryption())
    }

    /// Sends an operation. `params` must have int keys from 0 to 255. `delivery_mode` is one of the
    /// `DELIVERY_*` constants; `channel` is 0 to 255.
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
            .and_then(|request| Ok((request, client::send_options(encrypt, delivery_mode, channel)?)));
        self.send("send_operation", result)
    }

    /// Joins (or creates) a room on the reference server; the answer is an `operation_response` with
    /// op code `OP_JOIN_ROOM`, and every member gets an `EVENT_JOIN` event.
    #[func]
    fn join_room(&mut self, name: GString, #[opt(default = true)] encrypt: bool) -> i64 {
        let result = client::join_room(&name.to_string()).map(|request| (request, reliable(encrypt)));
        self.send("join_room", result)
    }

    /// Leaves the current room.
    #[func]
    fn leave_room(&mut self, #[opt(default = true)] encrypt: bool) -> i64 {
        self.send("leave_room", Ok((client::leave_room(), reliable(encrypt))))
    }

    /// Raises event `code` (0 to 199) in the current room with `data` (any supported value, or null),
    /// for `receivers` (one of the `RECEIVERS_*` constants).
    #[func]
    fn raise_event(
        &mut self,
        code: i64,
        data: Variant,
        #[opt(default = false)] encrypt: bool,
        #[opt(default = 0)] receivers: i64,
    ) -> i64 {
        let data = variant::from_variant(&data, &self.types);
        let result = client::raise_event(code, &data, receivers).map(|request| (request, reliable(encrypt)));
        self.send("raise_event", result)
    }

    /// Asks the server to end the connection; status 1025 follows. Does nothing when not connected.
    #[func]
    fn disconnect_from_server(&mut self) {
        self.client.disconnect();
    }

    /// One of the `STATE_*` constants.
    #[func]
    fn get_state(&self) -> i64 {
        codes::state_code(self.client.state())
    }

    /// The server's public key as 64 hex digits once the key exchange succeeded, else "".
    #[func]
    fn get_server_public_key(&self) -> GString {
        GString::from(codes::format_key(self.client.server_public_key()).as_str())
    }

    /// Registers a script's own type under custom `code` (0 to 255, not one of the built-in
    /// `CUSTOM_*` codes), as Photon's RegisterType: objects whose script is `type` (or extends it) are
    /// sent as `serialize.call(object)`, which must return a PackedByteArray, and a received value of
    /// `code` arrives as `deserialize.call(bytes)`. `type` is a script class (its `class_name`) or the
    /// name of an engine class. Registering a code again replaces it. Returns 0 or
    /// `ERR_INVALID_ARGUMENT`. Serializers run inside `raise_event` / `send_operation`, deserializers
    /// while signals are emitted: neither may call this node.
    #[func]
    fn register_type(&mut self, code: i64, class: Variant, serialize: Callable, deserialize: Callable) -> i64 {
        report("register_type", self.types.register(code, &class, serialize, deserialize))
    }

    /// Removes the type registered under `code`; whether there was one. Values of that code then arrive
    /// as a `SealnetValue` holding the code and the bytes.
    #[func]
    fn unregister_type(&mut self, code: i64) -> bool {
        self.types.unregister(code)
    }

    /// The protocol version the connection speaks once the server accepted it (status 1024); 0 before
    /// that (while connecting) and when not connected.
    #[func]
    fn get_protocol_version(&self) -> i64 {
        self.client.stats().protocol_version
    }

    /// Smoothed round-trip time in milliseconds (Photon's RoundTripTime); -1 until the first pong.
    #[func]
    fn get_round_trip_time_ms(&self) -> f64 {
        self.client.stats().round_trip_time_ms
    }

    /// How much the round-trip time varies, in milliseconds (Photon's RoundTripTimeVariance); -1 until
    /// known.
    #[func]
    fn get_round_trip_time_variance_ms(&self) -> f64 {
        self.client.stats().round_trip_time_variance_ms
    }

    /// Bytes sent on this connection (or the last one), frame headers included (Photon's BytesOut).
    #[func]
    fn get_bytes_sent(&self) -> i64 {
        self.client.stats().bytes_sent
    }

    /// Bytes received on this connection (or the last one) (Photon's BytesIn).
    #[func]
    fn get_bytes_received(&self) -> i64 {
        self.client.stats().bytes_received
    }

    /// Frames sent on this connection (or the last one).
    #[func]
    fn get_frames_sent(&self) -> i64 {
        self.client.stats().frames_sent
    }

    /// Frames received on this connection (or the last one).
    #[func]
    fn get_frames_received(&self) -> i64 {
        self.client.stats().frames_received
    }

    /// The server's clock in milliseconds, the same for every client of the server (Photon's
    /// ServerTimeInMilliSeconds, but 64-bit: it does not wrap); -1 until a pong arrived, when not
    /// connected, and on a version-1 connection.
    #[func]
    fn get_server_time_ms(&self) -> i64 {
        self.client.stats().server_time_ms
    }

    /// Every figure above in one Dictionary, all from one snapshot (so they describe the same moment):
    /// `protocol_version`, `round_trip_time_ms`, `round_trip_time_variance_ms`, `bytes_sent`,
    /// `bytes_received`, `frames_sent`, `frames_received`, `server_time_ms`.
    #[func]
    fn get_stats(&self) -> VarDictionary {
        let mut stats = VarDictionary::new();
        for (name, figure) in self.client.stats().entries() {
            stats.set(&GString::from(name).to_variant(), &variant::to_variant(&figure, &self.types));
        }
        stats
    }

    /// The name of a status code ("Connect", "EncryptionEstablished", ...), or "".
    #[func]
    fn status_name(code: i64) -> GString {
        GString::from(codes::status_name(code))
    }

    /// The name of a state code ("Encrypted", ...), or "".
    #[func]
    fn state_name(code: i64) -> GString {
        GString::from(codes::state_name(code))
    }

    /// What an error code returned by a method means.
    #[func]
    fn error_text(code: i64) -> GString {
        GString::from(ErrorCode::from_code(code).map_or("unknown error code", ErrorCode::describe))
    }
}

/// Reliable delivery on channel 0, as room operations are sent.
fn reliable(encrypt: bool) -> SendOptions {
    SendOptions { encrypt, ..SendOptions::RELIABLE }
}

/// The code GDScript receives; a refusal is also printed, with its reason.
fn report(method: &str, result: Result<(), Failure>) -> i64 {
    match result {
        Ok(()) => ErrorCode::Ok.code(),
        Err(failure) => {
            godot_error!("SealnetPeer.{method}: {failure}");
            failure.code.code()
        }
    }
}

impl SealnetPeer {
    fn send(&mut self, method: &str, request: Result<(OperationRequest, SendOptions), Failure>) -> i64 {
        let result = request.and_then(|(request, options)| self.client.send(&request, options));
        report(method, result)
    }

    /// Emits every queued result. Handlers may call back into this node (the batch is moved out first).
    fn poll(&mut self) {
        let mut batch = std::mem::take(&mut self.batch);
        self.client.drain(&mut batch);
        while let Some(event) = batch.pop_front() {
            self.emit(signal_for(&event));
        }
        // Keep the allocation unless a handler started using the field meanwhile.
        if self.batch.is_empty() {
            self.batch = batch;
        }
    }

    fn emit(&mut self, signal: Signal) {
        match signal {
            Signal::Status(status) => {
                let message = GString::from(status.message.as_str());
                self.signals().status_changed().emit(status.code);
                self.signals().status_detail().emit(status.code, status.reason, &message);
            }
            Signal::Event(event) => {
                let data = variant::to_dictionary(&event.data, &self.types);
                self.signals().event_received().emit(event.code, &data, event.sender, event.was_encrypted);
            }
            Signal::Response(response) => {
                let data = variant::to_dictionary(&response.data, &self.types);
                self.signals().operation_response().emit(response.op_code, response.return_code, &data);
                if let Some(message) = response.debug_message {
                    let message = GString::from(message.as_str());
                    self.signals().operation_debug_message().emit(response.op_code, response.return_code, &message);
                }
            }
        }
    }
}

/// A `ca_file` as the operating system names it: `res://` and `user://` paths become absolute ones.
fn globalize(path: &GString) -> String {
    let text = path.to_string();
    if text.starts_with("res://") || text.starts_with("user://") {
        return ProjectSettings::singleton().globalize_path(path).to_string();
    }
    text
}
