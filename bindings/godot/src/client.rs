//! The engine-free half of the `SealnetPeer` node: it owns the sealnet [`Peer`], builds requests from
//! converted Godot values and hands queued results to the node. The node only translates.

use std::collections::VecDeque;

use sealnet::peer::{Peer, PeerConfig, PeerEvent};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::PeerState;

use crate::codes::{
    byte_arg, delivery_arg, event_code_arg, parse_key_pin, receivers_arg, room, room_name_arg, timeout_arg, ErrorCode,
    Failure,
};
use crate::value::{params_from_gd_value, value_from_gd, GdValue};

/// The node's exported properties, read when a connection starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub disconnect_timeout_ms: i64,
    pub auto_key_exchange: bool,
    /// Empty, or the server's public key as 64 hex digits.
    pub server_key_pin: String,
}

impl Default for Settings {
    fn default() -> Self {
        let session = PeerConfig::default().session;
        Settings {
            disconnect_timeout_ms: session.disconnect_timeout.as_millis() as i64,
            auto_key_exchange: session.auto_key_exchange,
            server_key_pin: String::new(),
        }
    }
}

impl Settings {
    /// The peer configuration these settings describe.
    pub fn peer_config(&self) -> Result<PeerConfig, Failure> {
        let mut config = PeerConfig::default();
        config.session.disconnect_timeout = timeout_arg(self.disconnect_timeout_ms)?;
        config.session.auto_key_exchange = self.auto_key_exchange;
        config.session.server_key_pin = parse_key_pin(&self.server_key_pin)?;
        Ok(config)
    }
}

/// How one operation is sent, from the node's integer arguments.
pub fn send_options(encrypt: bool, delivery_mode: i64, channel: i64) -> Result<SendOptions, Failure> {
    Ok(SendOptions { encrypt, delivery: delivery_arg(delivery_mode)?, channel: byte_arg("channel", channel)? })
}

/// An operation with parameters from a Godot dictionary (or `null` for none).
pub fn operation(op_code: i64, params: &GdValue) -> Result<OperationRequest, Failure> {
    Ok(OperationRequest { op_code: byte_arg("op_code", op_code)?, params: params_from_gd_value(params)? })
}

/// JoinRoom for the reference server.
pub fn join_room(name: &str) -> Result<OperationRequest, Failure> {
    room_name_arg(name)?;
    let mut params = Params::new();
    params.insert(room::ROOM_NAME, name);
    Ok(OperationRequest { op_code: room::OP_JOIN_ROOM, params })
}

/// LeaveRoom for the reference server.
pub fn leave_room() -> OperationRequest {
    OperationRequest { op_code: room::OP_LEAVE_ROOM, params: Params::new() }
}

/// RaiseEvent for the reference server. `null` data sends no data parameter.
pub fn raise_event(code: i64, data: &GdValue, receivers: i64) -> Result<OperationRequest, Failure> {
    let mut params = Params::new();
    params.insert(room::CODE, Value::Int(event_code_arg(code)?));
    // Others is the server's default; it is still sent so the request says what it means.
    params.insert(room::RECEIVER_GROUP, Value::Int(receivers_arg(receivers)?));
    if *data != GdValue::Nil {
        params.insert(room::DATA, value_from_gd(data)?);
    }
    Ok(OperationRequest { op_code: room::OP_RAISE_EVENT, params })
}

/// One connection at a time; a new connection gets a new [`Peer`] so changed settings take effect.
#[derive(Default)]
pub struct Client {
    peer: Option<Peer>,
    /// Results of a previous connection not yet handed out when a new one started.
    carried_over: VecDeque<PeerEvent>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Client {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts connecting; progress arrives as status events (1024 Connect, then 1048 when the key
    /// exchange is automatic). Refused while a connection is active.
    pub fn connect(&mut self, settings: &Settings, address: &str, app_id: &str) -> Result<(), Failure> {
        if self.state() != PeerState::Disconnected {
            return Err(Failure::new(ErrorCode::AlreadyConnected, ErrorCode::AlreadyConnected.describe()));
        }
        let config = settings.peer_config()?;
        if let Some(old) = self.peer.take() {
            old.shutdown();
            old.drain_events(&mut self.carried_over);
        }
        let peer = Peer::new(config);
        peer.connect(address, app_id)?;
        self.peer = Some(peer);
        Ok(())
    }

    fn peer(&self) -> Result<&Peer, Failure> {
        self.peer.as_ref().ok_or_else(|| Failure::new(ErrorCode::NotConnected, ErrorCode::NotConnected.describe()))
    }

    /// Starts the key exchange when `auto_key_exchange` is off.
    pub fn establish_encryption(&self) -> Result<(), Failure> {
        Ok(self.peer()?.establish_encryption()?)
    }

    pub fn send(&self, request: &OperationRequest, options: SendOptions) -> Result<(), Failure> {
        Ok(self.peer()?.send_operation(request, options)?)
    }

    /// Asks the server to end the connection; a Disconnect status follows. Does nothing when idle.
    pub fn disconnect(&self) {
        if let Some(peer) = &self.peer {
            peer.disconnect();
        }
    }

    pub fn state(&self) -> PeerState {
        self.peer.as_ref().map_or(PeerState::Disconnected, Peer::state)
    }

    pub fn server_public_key(&self) -> Option<[u8; 32]> {
        self.peer.as_ref().and_then(Peer::server_public_key)
    }

    /// Moves every queued result, oldest first, into `into`.
    pub fn drain(&mut self, into: &mut VecDeque<PeerEvent>) {
        into.append(&mut self.carried_over);
        if let Some(peer) = &self.peer {
            peer.drain_events(into);
        }
    }

    /// Stops the I/O thread (sending Disconnect when connected) and drops what was not handed out.
    pub fn shutdown(&mut self) {
        if let Some(peer) = self.peer.take() {
            peer.shutdown();
        }
        self.carried_over.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealnet::protocol::frame::Delivery;

    fn dict(entries: Vec<(i64, GdValue)>) -> GdValue {
        GdValue::Dictionary(entries.into_iter().map(|(key, value)| (GdValue::Int(key), value)).collect())
    }

    #[test]
    fn default_settings_are_the_peer_defaults() {
        let settings = Settings::default();
        assert_eq!(settings.disconnect_timeout_ms, 10_000);
        assert!(settings.auto_key_exchange);
        let config = settings.peer_config().unwrap();
        let defaults = PeerConfig::default();
        assert_eq!(config.session.disconnect_timeout, defaults.session.disconnect_timeout);
        assert_eq!(config.session.server_key_pin, None);
    }

    #[test]
    fn settings_reach_the_peer_config() {
        let settings =
            Settings { disconnect_timeout_ms: 2500, auto_key_exchange: false, server_key_pin: "01".repeat(32) };
        let config = settings.peer_config().unwrap();
        assert_eq!(config.session.disconnect_timeout, std::time::Duration::from_millis(2500));
        assert!(!config.session.auto_key_exchange);
        assert_eq!(config.session.server_key_pin, Some([1; 32]));
    }

    #[test]
    fn bad_settings_are_refused() {
        let zero = Settings { disconnect_timeout_ms: 0, ..Settings::default() };
        assert_eq!(zero.peer_config().unwrap_err().code, ErrorCode::InvalidArgument);
        let pin = Settings { server_key_pin: "nope".into(), ..Settings::default() };
        assert_eq!(pin.peer_config().unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn send_options_check_delivery_and_channel() {
        assert_eq!(
            send_options(true, 0, 3).unwrap(),
            SendOptions { encrypt: true, delivery: Delivery::Unreliable, channel: 3 }
        );
        assert_eq!(send_options(false, 1, 0).unwrap(), SendOptions::RELIABLE);
        assert_eq!(send_options(false, 9, 0).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(send_options(false, 1, 256).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn operations_take_int_keyed_dictionaries() {
        let request = operation(42, &dict(vec![(1, GdValue::String("a".into()))])).unwrap();
        assert_eq!(request.op_code, 42);
        assert_eq!(request.params.get(1), Some(&Value::String("a".into())));
        assert_eq!(operation(42, &GdValue::Nil).unwrap().params, Params::new());
        assert_eq!(operation(256, &GdValue::Nil).unwrap_err().code, ErrorCode::InvalidArgument);
        let bad_key = operation(1, &dict(vec![(999, GdValue::Nil)])).unwrap_err();
        assert_eq!(bad_key.code, ErrorCode::InvalidArgument);
        assert!(bad_key.message.contains("999"), "{}", bad_key.message);
    }

    #[test]
    fn join_room_sends_the_name_as_parameter_255() {
        let request = join_room("lobby").unwrap();
        assert_eq!(request.op_code, 226);
        assert_eq!(request.params.get(255), Some(&Value::String("lobby".into())));
        assert_eq!(request.params.len(), 1);
        assert!(join_room("").is_err());
    }

    #[test]
    fn leave_room_has_no_parameters() {
        let request = leave_room();
        assert_eq!(request.op_code, 254);
        assert!(request.params.is_empty());
    }

    #[test]
    fn raise_event_sends_int_code_receivers_and_data() {
        let data = dict(vec![(0, GdValue::Int(5))]);
        let request = raise_event(7, &data, 1).unwrap();
        assert_eq!(request.op_code, 253);
        assert_eq!(request.params.get(244), Some(&Value::Int(7)));
        assert_eq!(request.params.get(246), Some(&Value::Int(1)));
        let expected: Params = [(0u8, Value::Int(5))].into_iter().collect();
        assert_eq!(request.params.get(245), Some(&Value::Map(expected)));
        // Data may be any value, and null leaves it out.
        let text = raise_event(0, &GdValue::String("hi".into()), 0).unwrap();
        assert_eq!(text.params.get(245), Some(&Value::String("hi".into())));
        assert_eq!(raise_event(0, &GdValue::Nil, 0).unwrap().params.get(245), None);
    }

    #[test]
    fn raise_event_refuses_bad_arguments() {
        assert!(raise_event(200, &GdValue::Nil, 0).is_err());
        assert!(raise_event(1, &GdValue::Nil, 3).is_err());
        let error = raise_event(1, &GdValue::Unsupported("Object".into()), 0).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        assert!(error.message.contains("Object"), "{}", error.message);
    }

    #[test]
    fn an_idle_client_refuses_commands_without_panicking() {
        let mut client = Client::new();
        assert_eq!(client.state(), PeerState::Disconnected);
        assert_eq!(client.establish_encryption().unwrap_err().code, ErrorCode::NotConnected);
        assert_eq!(client.send(&leave_room(), SendOptions::RELIABLE).unwrap_err().code, ErrorCode::NotConnected);
        assert_eq!(client.server_public_key(), None);
        client.disconnect();
        let mut events = VecDeque::new();
        client.drain(&mut events);
        assert!(events.is_empty());
        client.shutdown();
    }

    #[test]
    fn connect_refuses_a_malformed_address() {
        let mut client = Client::new();
        let error = client.connect(&Settings::default(), "no-port", "demo").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAddress);
        assert_eq!(client.state(), PeerState::Disconnected);
    }

    #[test]
    fn connect_refuses_bad_settings_before_touching_the_network() {
        let mut client = Client::new();
        let settings = Settings { server_key_pin: "xyz".into(), ..Settings::default() };
        assert_eq!(client.connect(&settings, "127.0.0.1:1", "demo").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(client.state(), PeerState::Disconnected);
    }
}

/// End-to-end checks of the client against the reference server, in-process on 127.0.0.1.
#[cfg(test)]
mod server_tests {
    use std::time::{Duration, Instant};

    use sealnet::protocol::noise::Keypair;
    use sealnet::protocol::status::StatusCode;
    use sealnet_server::{Config, RunningServer, Server};

    use super::*;
    use crate::codes::{signal_for, EventSignal, ResponseSignal, Signal, StatusSignal};

    /// The longest one wait may take, so a broken connection fails the test instead of hanging it.
    const WAIT: Duration = Duration::from_secs(20);

    struct TestServer {
        runtime: tokio::runtime::Runtime,
        server: Option<RunningServer>,
    }

    impl TestServer {
        fn start() -> Self {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("tokio runtime");
            let config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
            let keypair = Keypair::generate().expect("random source");
            let server = runtime.block_on(Server::new(config, keypair).start()).expect("server starts");
            TestServer { runtime, server: Some(server) }
        }

        fn server(&self) -> &RunningServer {
            self.server.as_ref().unwrap()
        }

        fn address(&self) -> String {
            self.server().local_addr().to_string()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            if let Some(server) = self.server.take() {
                self.runtime.block_on(server.shutdown());
            }
        }
    }

    /// A client and the signals it has emitted so far, as the node would emit them.
    struct Player {
        client: Client,
        seen: Vec<Signal>,
        queue: VecDeque<PeerEvent>,
    }

    impl Player {
        fn connect(server: &TestServer, settings: &Settings) -> Self {
            let mut client = Client::new();
            client.connect(settings, &server.address(), "demo").expect("connect starts");
            Player { client, seen: Vec::new(), queue: VecDeque::new() }
        }

        /// Drains like `process()` until `find` matches a signal not yet consumed; returns that signal.
        fn wait_for<T>(&mut self, what: &str, mut find: impl FnMut(&Signal) -> Option<T>) -> T {
            let deadline = Instant::now() + WAIT;
            loop {
                self.client.drain(&mut self.queue);
                self.seen.extend(self.queue.drain(..).map(|event| signal_for(&event)));
                if let Some(index) = self.seen.iter().position(|signal| find(signal).is_some()) {
                    let signal = self.seen.remove(index);
                    return find(&signal).unwrap();
                }
                assert!(Instant::now() < deadline, "timed out waiting for {what}; saw {:?}", self.seen);
                std::thread::sleep(Duration::from_millis(5));
            }
        }

        fn status(&mut self, code: StatusCode) -> StatusSignal {
            self.wait_for(code.name(), |signal| match signal {
                Signal::Status(status) if status.code == code as i64 => Some(status.clone()),
                _ => None,
            })
        }

        fn response(&mut self, op_code: u8) -> ResponseSignal {
            self.wait_for("operation response", |signal| match signal {
                Signal::Response(response) if response.op_code == i64::from(op_code) => Some(response.clone()),
                _ => None,
            })
        }

        fn event(&mut self, code: i64) -> EventSignal {
            self.wait_for("event", |signal| match signal {
                Signal::Event(event) if event.code == code => Some(event.clone()),
                _ => None,
            })
        }

        fn join(&mut self, name: &str) -> i64 {
            self.client.send(&join_room(name).unwrap(), SendOptions::ENCRYPTED).unwrap();
            let response = self.response(room::OP_JOIN_ROOM);
            assert_eq!(response.return_code, 0, "{response:?}");
            let actor = response.data.iter().find(|(key, _)| *key == GdValue::Int(i64::from(room::ACTOR_NR)));
            match actor {
                Some((_, GdValue::Int(actor))) => *actor,
                other => panic!("no actor number in {other:?}"),
            }
        }
    }

    fn data_of(event: &EventSignal) -> Option<&GdValue> {
        event.data.iter().find(|(key, _)| *key == GdValue::Int(i64::from(room::DATA))).map(|(_, value)| value)
    }

    #[test]
    fn two_clients_exchange_encrypted_and_plain_events_through_a_room() {
        let server = TestServer::start();
        let settings = Settings::default();
        let mut alice = Player::connect(&server, &settings);
        let mut bob = Player::connect(&server, &settings);
        for player in [&mut alice, &mut bob] {
            player.status(StatusCode::Connect);
            player.status(StatusCode::EncryptionEstablished);
            assert_eq!(player.client.state(), PeerState::Encrypted);
            assert_eq!(player.client.server_public_key(), Some(server.server().public_key()));
        }
        let alice_actor = alice.join("arena");
        bob.join("arena");
        // Bob's own join event, then Alice sees Bob arrive: both are in the room.
        bob.event(i64::from(room::EVENT_JOIN));
        alice.wait_for("bob's join event", |signal| match signal {
            Signal::Event(event) if event.code == i64::from(room::EVENT_JOIN) && event.sender != alice_actor => {
                Some(())
            }
            _ => None,
        });

        let data = GdValue::Dictionary(vec![
            (GdValue::Int(0), GdValue::String("hello".into())),
            (GdValue::Int(1), GdValue::PackedInt32Array(vec![1, 2, 3])),
            (GdValue::Int(2), GdValue::Int(1 << 40)),
        ]);
        let request = raise_event(5, &data, room::RECEIVERS_OTHERS).unwrap();
        alice.client.send(&request, send_options(true, 1, 0).unwrap()).unwrap();
        let received = bob.event(5);
        assert!(received.was_encrypted);
        assert_eq!(received.sender, alice_actor);
        let expected = GdValue::Dictionary(vec![
            (GdValue::Int(0), GdValue::String("hello".into())),
            (GdValue::Int(1), GdValue::Array(vec![GdValue::Int(1), GdValue::Int(2), GdValue::Int(3)])),
            (GdValue::Int(2), GdValue::Int(1 << 40)),
        ]);
        assert_eq!(data_of(&received), Some(&expected));

        let plain = raise_event(6, &GdValue::PackedByteArray(vec![1, 2]), room::RECEIVERS_OTHERS).unwrap();
        alice.client.send(&plain, send_options(false, 1, 0).unwrap()).unwrap();
        let received = bob.event(6);
        assert!(!received.was_encrypted);
        assert_eq!(data_of(&received), Some(&GdValue::PackedByteArray(vec![1, 2])));

        alice.client.disconnect();
        alice.status(StatusCode::Disconnect);
        assert_eq!(alice.client.state(), PeerState::Disconnected);
        bob.client.shutdown();
    }

    #[test]
    fn server_errors_arrive_as_responses_with_their_debug_message() {
        let server = TestServer::start();
        let mut player = Player::connect(&server, &Settings::default());
        player.status(StatusCode::EncryptionEstablished);
        let request = raise_event(1, &GdValue::Nil, room::RECEIVERS_ALL).unwrap();
        player.client.send(&request, SendOptions::ENCRYPTED).unwrap();
        let response = player.response(room::OP_RAISE_EVENT);
        assert_eq!(response.return_code, -3, "{response:?}");
        assert!(response.was_encrypted);
        assert!(response.debug_message.as_deref().is_some_and(|message| !message.is_empty()), "{response:?}");
        player.client.shutdown();
    }

    #[test]
    fn manual_key_exchange_and_pinning() {
        let server = TestServer::start();
        let pin = crate::codes::format_key(Some(server.server().public_key()));
        let settings = Settings { auto_key_exchange: false, server_key_pin: pin, ..Settings::default() };
        let mut player = Player::connect(&server, &settings);
        player.status(StatusCode::Connect);
        assert_eq!(player.client.state(), PeerState::Connected);
        let early = player.client.send(&leave_room(), SendOptions::ENCRYPTED).unwrap_err();
        assert_eq!(early.code, ErrorCode::EncryptionNotEstablished);
        player.client.establish_encryption().unwrap();
        player.status(StatusCode::EncryptionEstablished);
        assert_eq!(player.client.establish_encryption().unwrap_err().code, ErrorCode::KeyExchangeAlreadyStarted);
        player.client.shutdown();
    }

    #[test]
    fn a_wrong_pin_fails_the_key_exchange() {
        let server = TestServer::start();
        let settings = Settings { server_key_pin: "00".repeat(32), ..Settings::default() };
        let mut player = Player::connect(&server, &settings);
        player.status(StatusCode::EncryptionFailedToEstablish);
        player.client.shutdown();
    }

    #[test]
    fn a_client_reconnects_after_disconnecting_and_refuses_a_second_connect() {
        let server = TestServer::start();
        let mut player = Player::connect(&server, &Settings::default());
        player.status(StatusCode::EncryptionEstablished);
        let twice = player.client.connect(&Settings::default(), &server.address(), "demo").unwrap_err();
        assert_eq!(twice.code, ErrorCode::AlreadyConnected);
        player.client.disconnect();
        player.status(StatusCode::Disconnect);
        player.client.connect(&Settings::default(), &server.address(), "demo").unwrap();
        player.status(StatusCode::EncryptionEstablished);
        assert_eq!(player.client.state(), PeerState::Encrypted);
        player.client.shutdown();
    }
}
