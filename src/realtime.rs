//! The client above the peer that Photon users know as the LoadBalancingClient (RealtimeClient): it
//! connects to a master, authenticates, asks it for a room, and follows the answer to the game
//! server by itself: it disconnects, connects there pinning the key the master gave, authenticates
//! with its token and joins. Leaving the room takes it back to the master with its token
//! (docs/cluster.md, "The client").
//!
//! Like the peer, it runs on the host's thread: the host calls [`RealtimeClient::service`] and gets
//! what happened as [`ClientEvent`]s, the state changes among them.

use std::collections::VecDeque;

use crate::auth::{AuthType, AuthValues, ServerToken};
use crate::peer::{ConnectOptions, Peer, PeerConfig, PeerError, PeerEvent, PinChoice};
use crate::protocol::codec::{Params, Value};
use crate::protocol::message::{EventData, OperationResponse};
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::StatusInfo;
use crate::protocol::status::{op_code, return_code, PeerState, StatusCode};
use crate::rooms::{self, GameServerAnswer, JoinMode, RoomOptions, RoomRequest};

/// Where the client stands (Photon's ClientState numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ClientState {
    PeerCreated = 0,
    Authenticating = 1,
    DisconnectingFromMasterServer = 4,
    ConnectingToGameServer = 5,
    ConnectedToGameServer = 6,
    Joining = 7,
    Joined = 8,
    Leaving = 9,
    DisconnectingFromGameServer = 10,
    ConnectingToMasterServer = 11,
    Disconnecting = 12,
    Disconnected = 13,
    ConnectedToMasterServer = 14,
}

/// What the host receives from [`RealtimeClient::service`], in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    StateChanged(ClientState),
    /// A status of the connection underneath (to the master or to a game server).
    Status(StatusInfo),
    /// The client is in a room.
    Joined {
        room: String,
        actor: i32,
        actors: Vec<i32>,
    },
    /// A request of the host failed: matchmaking, joining, or authentication. After a failed
    /// matchmaking request the client is still at the master; after AuthenticationTicketExpired
    /// (32753) on the way back to the master it is disconnected and the host must authenticate again.
    Failed {
        op: u8,
        return_code: i16,
        message: String,
    },
    Event {
        event: EventData,
        encrypted: bool,
    },
    /// A response to an operation the host sent itself ([`RealtimeClient::send_operation`]).
    Response {
        response: OperationResponse,
        encrypted: bool,
    },
}

/// Why a request of the host was not even started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The request does not fit the state the client is in (the state is given).
    NotNow(ClientState),
    /// No master address is configured.
    NoMaster,
    Peer(PeerError),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotNow(state) => write!(f, "not possible in state {state:?}"),
            ClientError::NoMaster => f.write_str("no master address is configured"),
            ClientError::Peer(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<PeerError> for ClientError {
    fn from(error: PeerError) -> Self {
        ClientError::Peer(error)
    }
}

/// What the client connects to and as whom.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub peer: PeerConfig,
    /// Master addresses ("host:port"): a login tries them in order until one answers.
    pub masters: Vec<String>,
    /// The masters' static public key, pinned when set (the peer configuration's pin otherwise).
    pub master_key: Option<[u8; 32]>,
    pub app_id: String,
    pub app_version: Option<String>,
}

/// Where the client is going next, when the current connection ends.
#[derive(Debug, Clone)]
enum Next {
    /// Nowhere: stay disconnected.
    Stay,
    /// To the game server a master named, to join (or create) the room there.
    Game { answer: GameServerAnswer, options: RoomOptions },
    /// Back to the master, with the token.
    Master,
}

/// A client that follows matchmaking to the game servers by itself.
pub struct RealtimeClient {
    /// Shared so that a host can wait on it without holding the client (see [`Self::peer_to_wait_on`]).
    peer: std::sync::Arc<Peer>,
    config: ClientConfig,
    state: ClientState,
    events: VecDeque<ClientEvent>,
    peer_events: VecDeque<PeerEvent>,
    next: Next,
    /// The master this login reached (index into `config.masters`).
    master: usize,
    /// The values of the login, for a master the client has not authenticated at yet.
    login: Option<AuthValues>,
    /// Whether the current connection has authenticated (a failed connect before it fails over).
    authenticated: bool,
    /// The current connection is to a game server (not to the master).
    at_game_server: bool,
    /// A connection was started and its final Disconnect has not been handled yet.
    connection_live: bool,
    /// Masters tried one after another without reaching one (the failover stops after all of them).
    master_attempts: usize,
    /// The room being joined or joined, and the request that asked for it.
    room: Option<String>,
    pending_room: Option<RoomRequest>,
    actor: Option<i32>,
}

impl RealtimeClient {
    pub fn new(config: ClientConfig) -> Self {
        RealtimeClient {
            peer: std::sync::Arc::new(Peer::new(config.peer.clone())),
            config,
            state: ClientState::PeerCreated,
            events: VecDeque::new(),
            peer_events: VecDeque::new(),
            next: Next::Stay,
            master: 0,
            login: None,
            authenticated: false,
            at_game_server: false,
            connection_live: false,
            master_attempts: 0,
            room: None,
            pending_room: None,
            actor: None,
        }
    }

    /// Where the client stands now. It may be ahead of the [`ClientEvent::StateChanged`] events still
    /// waiting for [`Self::service`]: those report the way here, in order.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The room the client is in.
    pub fn room(&self) -> Option<&str> {
        self.room.as_deref().filter(|_| self.state == ClientState::Joined)
    }

    /// Its actor number in that room.
    pub fn actor(&self) -> Option<i32> {
        self.actor.filter(|_| self.state == ClientState::Joined)
    }

    /// The latest server token.
    pub fn token(&self) -> Option<ServerToken> {
        self.peer.server_token()
    }

    /// The peer underneath (statistics, the server's key).
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Connects to the first master that answers and authenticates with `values`.
    pub fn connect(&mut self, values: AuthValues) -> Result<(), ClientError> {
        if !matches!(self.state, ClientState::PeerCreated | ClientState::Disconnected) {
            return Err(ClientError::NotNow(self.state));
        }
        if self.config.masters.is_empty() {
            return Err(ClientError::NoMaster);
        }
        // All of them now: a bad second address would otherwise show only when the first fails.
        if !self.config.masters.iter().all(|address| crate::peer::is_address(address)) {
            return Err(ClientError::Peer(PeerError::InvalidAddress));
        }
        self.login = Some(values);
        // Nothing of an earlier session carries over but the token the peer keeps.
        self.next = Next::Stay;
        self.pending_room = None;
        self.room = None;
        self.actor = None;
        self.master_attempts = 0;
        self.connect_master(0)
    }

    /// JoinOrCreateRoom: joins the room, creating it where the master places it if it does not exist.
    pub fn join_or_create_room(&mut self, name: &str, options: RoomOptions) -> Result<(), ClientError> {
        self.request_room(RoomRequest { name: Some(name.to_owned()), mode: Some(JoinMode::CreateIfNotExists), options })
    }

    /// CreateRoom: fails with GameIdAlreadyExists (32766) if it exists; `None` lets the master name it.
    pub fn create_room(&mut self, name: Option<&str>, options: RoomOptions) -> Result<(), ClientError> {
        self.request_room(RoomRequest { name: name.map(str::to_owned), mode: Some(JoinMode::CreateOnly), options })
    }

    /// JoinRoom: fails with GameDoesNotExist (32758) if it does not exist.
    pub fn join_room(&mut self, name: &str) -> Result<(), ClientError> {
        let options = RoomOptions::default();
        self.request_room(RoomRequest { name: Some(name.to_owned()), mode: Some(JoinMode::JoinOnly), options })
    }

    /// JoinRandomRoom: an open, visible room with space; NoRandomMatchFound (32760) if there is none.
    pub fn join_random_room(&mut self) -> Result<(), ClientError> {
        self.request_room(RoomRequest { name: None, mode: None, options: RoomOptions::default() })
    }

    fn request_room(&mut self, request: RoomRequest) -> Result<(), ClientError> {
        if self.state != ClientState::ConnectedToMasterServer {
            return Err(ClientError::NotNow(self.state));
        }
        let (op, params) = request.to_operation();
        self.peer.send_operation_parts(op, &params, SendOptions::ENCRYPTED)?;
        self.pending_room = Some(request);
        self.set_state(ClientState::Joining);
        Ok(())
    }

    /// Leaves the room, and goes back to the master with the token.
    pub fn leave_room(&mut self) -> Result<(), ClientError> {
        if self.state != ClientState::Joined {
            return Err(ClientError::NotNow(self.state));
        }
        self.peer.send_operation_parts(rooms::OP_LEAVE_ROOM, &Params::new(), SendOptions::ENCRYPTED)?;
        self.set_state(ClientState::Leaving);
        Ok(())
    }

    /// Raises an event in the room.
    pub fn raise_event(&mut self, code: u8, data: Value, options: SendOptions) -> Result<(), ClientError> {
        if self.state != ClientState::Joined {
            return Err(ClientError::NotNow(self.state));
        }
        let mut params = Params::new();
        params.insert(rooms::CODE, i32::from(code));
        params.insert(rooms::DATA, data);
        Ok(self.peer.send_operation_parts(rooms::OP_RAISE_EVENT, &params, options)?)
    }

    /// Sends any other operation on the current connection; its response comes as
    /// [`ClientEvent::Response`].
    pub fn send_operation(&mut self, op: u8, params: &Params, options: SendOptions) -> Result<(), ClientError> {
        Ok(self.peer.send_operation_parts(op, params, options)?)
    }

    /// Disconnects and stays disconnected.
    pub fn disconnect(&mut self) {
        self.next = Next::Stay;
        self.pending_room = None;
        if !self.connection_live {
            // No connection, so no final status will come to finish the disconnect.
            if self.state != ClientState::PeerCreated {
                self.set_state(ClientState::Disconnected);
            }
            return;
        }
        self.set_state(ClientState::Disconnecting);
        self.peer.disconnect();
    }

    /// Moves the client on and returns the next thing that happened, if anything did.
    pub fn service(&mut self) -> Option<ClientEvent> {
        if self.events.is_empty() {
            self.peer.drain_events(&mut self.peer_events);
            while let Some(event) = self.peer_events.pop_front() {
                self.on_peer_event(event);
            }
        }
        self.events.pop_front()
    }

    /// Waits up to `timeout` for something to service (see [`Peer::wait`]): at once when events are
    /// waiting already.
    pub fn wait(&self, timeout: std::time::Duration) -> crate::peer::WaitOutcome {
        if !self.events.is_empty() {
            return crate::peer::WaitOutcome::Ready;
        }
        self.peer.wait(timeout)
    }

    /// The peer to wait on for the next service, or `None` when events are waiting already: for hosts
    /// that hold the client behind a lock and must not keep it locked while they wait.
    pub fn peer_to_wait_on(&self) -> Option<std::sync::Arc<Peer>> {
        self.events.is_empty().then(|| self.peer.clone())
    }

    fn set_state(&mut self, state: ClientState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(ClientEvent::StateChanged(state));
        }
    }

    fn fail(&mut self, op: u8, return_code: i16, message: impl Into<String>) {
        self.events.push_back(ClientEvent::Failed { op, return_code, message: message.into() });
    }

    fn connect_master(&mut self, index: usize) -> Result<(), ClientError> {
        self.master = index;
        let pin = self.config.master_key.map_or(PinChoice::AsConfigured, PinChoice::Key);
        // A client that authenticated at some master goes back with its token; a login uses its values.
        let token_values = AuthValues::new(AuthType::Token);
        let values = self.login.as_ref().unwrap_or(&token_values).clone();
        self.connect_to(&self.config.masters[index].clone(), pin, &values)?;
        self.at_game_server = false;
        self.set_state(ClientState::ConnectingToMasterServer);
        Ok(())
    }

    fn connect_to(&mut self, address: &str, pin: PinChoice, values: &AuthValues) -> Result<(), ClientError> {
        self.authenticated = false;
        let options = ConnectOptions {
            address,
            app_id: &self.config.app_id,
            app_version: self.config.app_version.as_deref(),
            pin,
            auth: Some(values),
        };
        self.peer.connect_with(&options)?;
        self.connection_live = true;
        Ok(())
    }

    fn on_peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Status(status) => self.on_status(status),
            PeerEvent::OperationResponse { response, encrypted } => self.on_response(response, encrypted),
            PeerEvent::Event { event, encrypted } => self.events.push_back(ClientEvent::Event { event, encrypted }),
        }
    }

    fn on_status(&mut self, status: StatusInfo) {
        let code = status.code;
        self.events.push_back(ClientEvent::Status(status));
        if code == StatusCode::EncryptionEstablished && self.state != ClientState::Disconnecting {
            self.set_state(ClientState::Authenticating);
        }
        // Only the final status of a connection moves the client on.
        if code != StatusCode::Disconnect || self.peer.state() != PeerState::Disconnected {
            return;
        }
        self.connection_live = false;
        let next = std::mem::replace(&mut self.next, Next::Stay);
        let asked_to_stop = self.state == ClientState::Disconnecting;
        let masters = self.config.masters.len();
        let result = match next {
            Next::Game { answer, options } => self.connect_game(answer, options),
            Next::Master => {
                self.master_attempts = 0;
                self.connect_master(self.master)
            }
            Next::Stay if asked_to_stop => {
                self.stay_disconnected();
                Ok(())
            }
            // The master's answer led nowhere (the game server is gone, or it is not the server the
            // master named): back to the master, whose token still admits the player.
            Next::Stay if self.at_game_server && !self.authenticated => {
                let op = self.pending_room.take().map_or(0, |request| request.to_operation().0);
                self.fail(
                    op,
                    return_code::INTERNAL_SERVER_ERROR,
                    "the game server could not be reached; back to the master",
                );
                self.room = None;
                self.master_attempts = 0;
                self.connect_master(self.master)
            }
            // A master that could not be reached: the next one, until each was tried once.
            Next::Stay if !self.at_game_server && !self.authenticated && self.master_attempts + 1 < masters => {
                self.master_attempts += 1;
                self.connect_master((self.master + 1) % masters)
            }
            Next::Stay => {
                self.stay_disconnected();
                Ok(())
            }
        };
        if let Err(problem) = result {
            self.fail(0, return_code::INTERNAL_SERVER_ERROR, problem.to_string());
            self.stay_disconnected();
        }
    }

    fn stay_disconnected(&mut self) {
        self.pending_room = None;
        self.room = None;
        self.actor = None;
        self.at_game_server = false;
        self.set_state(ClientState::Disconnected);
    }

    fn connect_game(&mut self, answer: GameServerAnswer, options: RoomOptions) -> Result<(), ClientError> {
        // An empty token: the peer presents the one it kept, the master's answer's.
        let values = AuthValues::new(AuthType::Token);
        self.connect_to(&answer.address.clone(), PinChoice::Key(answer.server_key), &values)?;
        self.at_game_server = true;
        self.room = Some(answer.room.clone());
        self.pending_room = Some(RoomRequest {
            name: Some(answer.room),
            // The master placed the room here: whoever comes first creates it.
            mode: Some(JoinMode::CreateIfNotExists),
            options,
        });
        self.set_state(ClientState::ConnectingToGameServer);
        Ok(())
    }

    fn on_response(&mut self, response: OperationResponse, encrypted: bool) {
        match response.op_code {
            op_code::AUTHENTICATE | op_code::AUTHENTICATE_ONCE => self.on_authenticated(response),
            op_code::JOIN_ROOM | op_code::CREATE_ROOM | op_code::JOIN_RANDOM_ROOM if self.pending_room.is_some() => {
                self.on_room_response(response, encrypted)
            }
            rooms::OP_LEAVE_ROOM if self.state == ClientState::Leaving => self.on_left(),
            _ => self.events.push_back(ClientEvent::Response { response, encrypted }),
        }
    }

    fn on_authenticated(&mut self, response: OperationResponse) {
        // The host asked to disconnect meanwhile: the answer no longer moves the client.
        if self.state == ClientState::Disconnecting {
            return;
        }
        if response.return_code != return_code::OK {
            let message = response.debug_message.unwrap_or_default();
            self.fail(response.op_code, response.return_code, message);
            // A token that no longer admits the player: the host must log in again.
            if response.return_code == return_code::AUTHENTICATION_TICKET_EXPIRED {
                self.login = None;
            }
            self.next = Next::Stay;
            self.authenticated = true;
            self.set_state(ClientState::Disconnecting);
            self.peer.disconnect();
            return;
        }
        self.authenticated = true;
        self.master_attempts = 0;
        // Later connections to a master present the token.
        self.login = None;
        match self.state {
            ClientState::ConnectingToGameServer | ClientState::Authenticating
                if self.at_game_server && self.pending_room.is_some() =>
            {
                self.set_state(ClientState::ConnectedToGameServer);
                let request = self.pending_room.clone().expect("checked above");
                let (op, params) = request.to_operation();
                match self.peer.send_operation_parts(op, &params, SendOptions::ENCRYPTED) {
                    Ok(()) => self.set_state(ClientState::Joining),
                    Err(problem) => self.fail(op, return_code::INTERNAL_SERVER_ERROR, problem.to_string()),
                }
            }
            _ => self.set_state(ClientState::ConnectedToMasterServer),
        }
    }

    fn on_room_response(&mut self, response: OperationResponse, encrypted: bool) {
        let op = response.op_code;
        let request = self.pending_room.clone().expect("a room request is pending");
        if response.return_code != return_code::OK {
            self.pending_room = None;
            let message = response.debug_message.unwrap_or_default();
            self.fail(op, response.return_code, message);
            // A refusal at a game server sends the client back to the master; at the master it stays.
            if self.at_game_server {
                self.room = None;
                self.go_back_to_master();
            } else {
                self.set_state(ClientState::ConnectedToMasterServer);
            }
            return;
        }
        let answer = GameServerAnswer::from_params(&response.params);
        if answer.is_none() && response.params.get(rooms::ADDRESS).is_some() {
            self.pending_room = None;
            self.fail(op, return_code::INVALID_OPERATION, "a matchmaking answer without a usable game server key");
            self.set_state(ClientState::ConnectedToMasterServer);
            return;
        }
        if let Some(answer) = answer {
            // Only an answer under the master's session keys is followed: its key is what makes every
            // game server's identity as sure as the master's.
            if !encrypted {
                self.pending_room = None;
                self.fail(op, return_code::INVALID_OPERATION, "a matchmaking answer arrived in clear: not followed");
                self.set_state(ClientState::ConnectedToMasterServer);
                return;
            }
            self.next = Next::Game { answer, options: request.options };
            self.set_state(ClientState::DisconnectingFromMasterServer);
            self.peer.disconnect();
            return;
        }
        self.pending_room = None;
        let room = match response.params.get(rooms::ROOM_NAME) {
            Some(Value::String(name)) => name.clone(),
            _ => request.name.unwrap_or_default(),
        };
        let actor = match response.params.get(rooms::ACTOR_NR) {
            Some(Value::Int(actor)) => *actor,
            _ => 0,
        };
        let actors = match response.params.get(rooms::ACTOR_LIST) {
            Some(Value::IntArray(actors)) => actors.clone(),
            Some(Value::Array(values)) => {
                values.iter().filter_map(|v| if let Value::Int(a) = v { Some(*a) } else { None }).collect()
            }
            _ => Vec::new(),
        };
        self.room = Some(room.clone());
        self.actor = Some(actor);
        self.set_state(ClientState::Joined);
        self.events.push_back(ClientEvent::Joined { room, actor, actors });
    }

    fn on_left(&mut self) {
        self.room = None;
        self.actor = None;
        self.go_back_to_master();
    }

    /// From a game server back to the master. A client that joined at the master itself (a server of
    /// role "all") is there already.
    fn go_back_to_master(&mut self) {
        if !self.at_game_server {
            self.set_state(ClientState::ConnectedToMasterServer);
            return;
        }
        self.next = Next::Master;
        self.set_state(ClientState::DisconnectingFromGameServer);
        self.peer.disconnect();
    }
}
