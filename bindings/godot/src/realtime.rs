//! The engine-free half of the `SealnetRealtimeClient` node: it owns the sealnet
//! [`RealtimeClient`] (Photon's LoadBalancingClient), checks what GDScript passes (settings, room
//! options, names, event arguments) and maps what the client reports to the node's signals. The node
//! only translates `Variant`s and emits.

use std::collections::VecDeque;
use std::time::Duration;

use sealnet::auth::{AuthType, AuthValues, ServerToken};
use sealnet::peer::WaitOutcome;
use sealnet::protocol::codec::Limits;
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::realtime::{ClientConfig, ClientError, ClientEvent, ClientState, RealtimeClient};
use sealnet::rooms::RoomOptions;

use crate::client::{self, explain, Settings};
use crate::codes::{
    client_state, event_signal, parse_key_pin, response_signal, room_name_arg, status_signal, EventSignal, Failure,
    ResponseSignal, StatusSignal,
};
use crate::value::GdValue;

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

/// Room options from the entries of the dictionary `join_or_create_room` and `create_room` take:
/// `max_players` (int, 0 for the server's limit, the default), `is_open` and `is_visible` (bool, both
/// true by default). An unknown key or a value of the wrong type is refused, naming it.
pub fn room_options(entries: &[(GdValue, GdValue)]) -> Result<RoomOptions, Failure> {
    let mut options = RoomOptions::default();
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
            ("is_open" | "is_visible", _) => return Err(wrong("a bool")),
            _ => {
                return Err(Failure::argument(format!(
                    "room options: unknown key \"{name}\" (max_players, is_open, is_visible)"
                )))
            }
        }
    }
    Ok(options)
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

/// What one client event is emitted as.
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeSignal {
    /// `state_changed(state)`.
    State(i64),
    /// `status_changed` and `status_detail`, as `SealnetPeer` emits them.
    Status(StatusSignal),
    /// `joined`.
    Joined(JoinedSignal),
    /// `failed`.
    Failed(FailedSignal),
    /// `event_received`, as `SealnetPeer` emits it.
    Event(EventSignal),
    /// `operation_response` (and `operation_debug_message`), as `SealnetPeer` emits them: answers to
    /// the script's own operations and to `raise_event`.
    Response(ResponseSignal),
}

/// Maps one client event to the signal it is emitted as.
pub fn signal_for(event: &ClientEvent) -> RealtimeSignal {
    match event {
        ClientEvent::StateChanged(state) => RealtimeSignal::State(client_state::code(*state)),
        ClientEvent::Status(info) => RealtimeSignal::Status(status_signal(info)),
        ClientEvent::Joined { room, actor, actors } => RealtimeSignal::Joined(JoinedSignal {
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

    /// JoinOrCreateRoom; `joined` or `failed` follows.
    pub fn join_or_create_room(&mut self, name: &str, options: RoomOptions) -> Result<(), Failure> {
        room_name_arg(name)?;
        Ok(self.client()?.join_or_create_room(name, options)?)
    }

    /// CreateRoom; "" lets the server name the room (the name comes with `joined`).
    pub fn create_room(&mut self, name: &str, options: RoomOptions) -> Result<(), Failure> {
        let name = Some(name).filter(|name| !name.is_empty());
        if let Some(name) = name {
            room_name_arg(name)?;
        }
        Ok(self.client()?.create_room(name, options)?)
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
        assert_eq!(room_options(&[]).unwrap(), RoomOptions::default());
        let options = room_options(&named(vec![
            ("max_players", GdValue::Int(4)),
            ("is_open", GdValue::Bool(false)),
            ("is_visible", GdValue::Bool(false)),
        ]))
        .unwrap();
        assert_eq!(options, RoomOptions { max_players: 4, is_open: false, is_visible: false });
        let limit = vec![(GdValue::StringName("max_players".into()), GdValue::Int(i64::from(i32::MAX)))];
        assert_eq!(room_options(&limit).unwrap().max_players, i32::MAX as u32);
        let only_closed = room_options(&named(vec![("is_open", GdValue::Bool(false))])).unwrap();
        assert_eq!(only_closed, RoomOptions { is_open: false, ..RoomOptions::default() });
    }

    #[test]
    fn room_options_refuse_wrong_types_and_unknown_keys_naming_them() {
        let refusals = [
            (named(vec![("max_players", GdValue::Float(4.0))]), "max_players must be an int, not float"),
            (named(vec![("max_players", GdValue::Int(-1))]), "max_players must be from 0"),
            (named(vec![("max_players", GdValue::Int(1 << 31))]), "not 2147483648"),
            (named(vec![("is_open", GdValue::Int(1))]), "is_open must be a bool, not int"),
            (named(vec![("is_visible", GdValue::String("yes".into()))]), "is_visible must be a bool"),
            (named(vec![("maxPlayers", GdValue::Int(4))]), "unknown key \"maxPlayers\""),
            (vec![(GdValue::Int(255), GdValue::Int(4))], "keys are names, not int"),
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
            client.join_or_create_room("r", RoomOptions::default()),
            client.create_room("", RoomOptions::default()),
            client.join_room("r"),
            client.join_random_room(),
            client.leave_room(),
            client.raise_event(1, &GdValue::Nil, 0, true),
        ];
        for refusal in refusals {
            let error = refusal.unwrap_err();
            assert_eq!(error.code, ErrorCode::WrongState);
            assert!(error.message.contains("PeerCreated"), "{}", error.message);
        }
        // Arguments are checked first, whatever the state.
        assert_eq!(client.join_room("").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(
            client.create_room(&"x".repeat(257), RoomOptions::default()).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
        assert_eq!(client.raise_event(200, &GdValue::Nil, 0, true).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!((client.room(), client.actor(), client.server_public_key()), ("", -1, None));
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
        let joined = ClientEvent::Joined { room: "r".into(), actor: 2, actors: vec![1, 2] };
        assert_eq!(
            signal_for(&joined),
            RealtimeSignal::Joined(JoinedSignal { room: "r".into(), actor: 2, actors: vec![1, 2] })
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
}
