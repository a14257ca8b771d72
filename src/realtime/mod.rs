//! The client above the peer that Photon users know as the LoadBalancingClient (RealtimeClient): it
//! connects to a master, authenticates, asks it for a room, and follows the answer to the game
//! server by itself: it disconnects, connects there pinning the key the master gave, authenticates
//! with its token and joins. Leaving the room takes it back to the master with its token
//! (docs/cluster.md, "The client").
//!
//! Like the peer, it runs on the host's thread: the host calls [`RealtimeClient::service`] and gets
//! what happened as [`ClientEvent`]s, the state changes among them.
//!
//! In a room it keeps the room's view ([`RoomView`]: players, properties, master client), and in the
//! lobby the room list ([`RoomList`]). When the connection to its room is lost and the room keeps its
//! place (a PlayerTtl), it reconnects and rejoins with the same actor number by itself.

mod room;

use std::collections::VecDeque;
use std::time::Instant;

pub use room::{ListedRoom, Player, RoomList, RoomView};

use crate::auth::{AuthType, AuthValues, ServerToken};
use crate::peer::{ConnectOptions, Peer, PeerConfig, PeerError, PeerEvent, PinChoice};
use crate::protocol::codec::{Key, Params, Table, Value};
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
    /// The client is in a room. `rejoined`: it came back by itself after losing the connection,
    /// with the same actor number (the room view holds what it missed of the properties).
    Joined {
        room: String,
        actor: i32,
        actors: Vec<i32>,
        rejoined: bool,
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
    /// To the game server a master named, to join (or create) the room there as `request` asked.
    Game { answer: GameServerAnswer, request: RoomRequest },
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
    /// The room as the server told it, while joined.
    view: Option<RoomView>,
    /// The lobby's room list (empty outside the lobby).
    room_list: RoomList,
    in_lobby: bool,
    /// Where the current connection goes, to come back to after a loss.
    target: Option<(String, PinChoice)>,
    /// A rejoin under way after the connection to the room was lost.
    rejoin: Option<Rejoin>,
}

/// Coming back to a room after a lost connection.
#[derive(Debug, Clone)]
struct Rejoin {
    room: String,
    /// The room keeps the place until then.
    until: Instant,
    attempts: u32,
}

/// Connections a rejoin tries before it gives up (each as long as the peer's connect timeout).
const MAX_REJOIN_ATTEMPTS: u32 = 5;

/// Who a raised event reaches and what the room's cache does with it (Photon's RaiseEventOptions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaiseEventOptions {
    /// [`rooms::RECEIVERS_OTHERS`] (the default), [`rooms::RECEIVERS_ALL`] or
    /// [`rooms::RECEIVERS_MASTER_CLIENT`].
    pub receivers: i32,
    /// Exactly these actors instead of the receivers (empty: the receivers).
    pub target_actors: Vec<i32>,
    /// Only the subscribers of this interest group, within the receivers (0: none).
    pub interest_group: u8,
    /// [`rooms::CACHE_NONE`] (the default), [`rooms::CACHE_ADD`], [`rooms::CACHE_REMOVE`] or
    /// [`rooms::CACHE_REMOVE_OF_ACTORS_LEFT`].
    pub cache: u8,
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
            view: None,
            room_list: RoomList::default(),
            in_lobby: false,
            target: None,
            rejoin: None,
        }
    }

    /// The room the client is in, as the server told it (players, properties, master client).
    pub fn room_view(&self) -> Option<&RoomView> {
        self.view.as_ref().filter(|_| self.state == ClientState::Joined)
    }

    /// The lobby's room list (empty outside the lobby).
    pub fn room_list(&self) -> &RoomList {
        &self.room_list
    }

    /// Whether the client is coming back to its room after losing the connection.
    pub fn is_rejoining(&self) -> bool {
        self.rejoin.is_some()
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
        self.view = None;
        self.rejoin = None;
        self.master_attempts = 0;
        self.connect_master(0)
    }

    /// JoinOrCreateRoom: joins the room, creating it where the master places it if it does not exist.
    pub fn join_or_create_room(&mut self, name: &str, options: RoomOptions) -> Result<(), ClientError> {
        self.request_room(RoomRequest::new(Some(name.to_owned()), Some(JoinMode::CreateIfNotExists), options))
    }

    /// CreateRoom: fails with GameIdAlreadyExists (32766) if it exists; `None` lets the master name it.
    pub fn create_room(&mut self, name: Option<&str>, options: RoomOptions) -> Result<(), ClientError> {
        self.request_room(RoomRequest::new(name.map(str::to_owned), Some(JoinMode::CreateOnly), options))
    }

    /// JoinRoom: fails with GameDoesNotExist (32758) if it does not exist.
    pub fn join_room(&mut self, name: &str) -> Result<(), ClientError> {
        self.request_room(RoomRequest::new(Some(name.to_owned()), Some(JoinMode::JoinOnly), RoomOptions::default()))
    }

    /// JoinRandomRoom: an open, visible room with space; NoRandomMatchFound (32760) if there is none.
    pub fn join_random_room(&mut self) -> Result<(), ClientError> {
        self.request_room(RoomRequest::new(None, None, RoomOptions::default()))
    }

    /// Any room request: [`RoomRequest::extra`] gives a room it creates its first custom properties,
    /// its PlayerTtl, EmptyRoomTtl and the properties its lobby lists.
    pub fn request_room(&mut self, request: RoomRequest) -> Result<(), ClientError> {
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
        self.raise_event_with(code, data, &RaiseEventOptions::default(), options)
    }

    /// Raises an event to chosen receivers, actors or an interest group, or edits the room's cache.
    pub fn raise_event_with(
        &mut self,
        code: u8,
        data: Value,
        raise: &RaiseEventOptions,
        options: SendOptions,
    ) -> Result<(), ClientError> {
        let mut params = Params::new();
        params.insert(rooms::CODE, i32::from(code));
        if data != Value::Null {
            params.insert(rooms::DATA, data);
        }
        if raise.receivers != rooms::RECEIVERS_OTHERS {
            params.insert(rooms::RECEIVER_GROUP, raise.receivers);
        }
        if !raise.target_actors.is_empty() {
            params.insert(rooms::ACTOR_LIST, Value::IntArray(raise.target_actors.clone()));
        }
        if raise.interest_group != 0 {
            params.insert(rooms::INTEREST_GROUP, Value::Byte(raise.interest_group));
        }
        if raise.cache != rooms::CACHE_NONE {
            params.insert(rooms::CACHE, Value::Byte(raise.cache));
        }
        self.room_operation(rooms::OP_RAISE_EVENT, &params, options)
    }

    /// Sets properties of the room; with `expected`, only if those properties have those values now
    /// (compare-and-set: PropertiesConflict -14 otherwise, as a [`ClientEvent::Response`]). Every
    /// player, this one too, then gets the change, which the room view follows.
    pub fn set_room_properties(&mut self, changes: Table, expected: Option<Table>) -> Result<(), ClientError> {
        self.set_properties(0, changes, expected)
    }

    /// Sets properties of a player of the room (this client's own with its actor number).
    pub fn set_player_properties(
        &mut self,
        actor: i32,
        changes: Table,
        expected: Option<Table>,
    ) -> Result<(), ClientError> {
        self.set_properties(actor, changes, expected)
    }

    /// Hands the master client role to `actor`, if this client's view of the master is still right.
    pub fn set_master_client(&mut self, actor: i32) -> Result<(), ClientError> {
        let master = self.room_view().map_or(0, |view| view.master);
        let role = |actor: i32| Table::from_iter([(Key::Byte(rooms::PROP_MASTER_CLIENT_ID), Value::Int(actor))]);
        self.set_properties(0, role(actor), Some(role(master)))
    }

    fn set_properties(&mut self, target: i32, changes: Table, expected: Option<Table>) -> Result<(), ClientError> {
        let mut params = Params::new();
        params.insert(rooms::PROPERTIES, Value::Table(changes));
        if target != 0 {
            params.insert(rooms::TARGET_ACTOR, target);
        }
        if let Some(expected) = expected {
            params.insert(rooms::EXPECTED_VALUES, Value::Table(expected));
        }
        self.room_operation(rooms::OP_SET_PROPERTIES, &params, SendOptions::ENCRYPTED)
    }

    /// Leaves the interest groups in `remove`, then joins those in `add` (an empty list: every group).
    pub fn change_groups(&mut self, remove: Option<&[u8]>, add: Option<&[u8]>) -> Result<(), ClientError> {
        let mut params = Params::new();
        if let Some(remove) = remove {
            params.insert(rooms::GROUPS_REMOVE, remove.to_vec());
        }
        if let Some(add) = add {
            params.insert(rooms::GROUPS_ADD, add.to_vec());
        }
        self.room_operation(rooms::OP_CHANGE_GROUPS, &params, SendOptions::ENCRYPTED)
    }

    fn room_operation(&mut self, op: u8, params: &Params, options: SendOptions) -> Result<(), ClientError> {
        if self.state != ClientState::Joined {
            return Err(ClientError::NotNow(self.state));
        }
        Ok(self.peer.send_operation_parts(op, params, options)?)
    }

    /// Joins the lobby at the master: the room list ([`Self::room_list`]) fills and follows.
    pub fn join_lobby(&mut self) -> Result<(), ClientError> {
        self.lobby_operation(rooms::OP_JOIN_LOBBY)
    }

    /// Leaves the lobby; the room list empties.
    pub fn leave_lobby(&mut self) -> Result<(), ClientError> {
        self.lobby_operation(rooms::OP_LEAVE_LOBBY)
    }

    fn lobby_operation(&mut self, op: u8) -> Result<(), ClientError> {
        if self.state != ClientState::ConnectedToMasterServer {
            return Err(ClientError::NotNow(self.state));
        }
        self.peer.send_operation_parts(op, &Params::new(), SendOptions::ENCRYPTED)?;
        self.in_lobby = op == rooms::OP_JOIN_LOBBY;
        if !self.in_lobby {
            self.room_list = RoomList::default();
        }
        Ok(())
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
        self.rejoin = None;
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
        self.room_list = RoomList::default();
        self.in_lobby = false;
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
        self.target = Some((address.to_owned(), pin));
        Ok(())
    }

    fn on_peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Status(status) => self.on_status(status),
            PeerEvent::OperationResponse { response, encrypted } => self.on_response(response, encrypted),
            PeerEvent::Event { event, encrypted } => {
                if let Some(view) = &mut self.view {
                    view.apply(&event);
                }
                if self.in_lobby {
                    self.room_list.apply(&event);
                }
                self.events.push_back(ClientEvent::Event { event, encrypted })
            }
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
            Next::Game { answer, request } => self.connect_game(answer, request),
            // Lost in the room, which keeps the place for a while: back to it.
            Next::Stay if !asked_to_stop && self.may_rejoin() => self.try_rejoin(),
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

    /// Whether a lost connection should be followed by a rejoin: it was in a room with a PlayerTtl
    /// (or is rejoining it), and the place is still kept.
    fn may_rejoin(&mut self) -> bool {
        if self.rejoin.is_none() && self.state == ClientState::Joined {
            if let Some(view) = self.view.as_ref().filter(|view| !view.player_ttl().is_zero()) {
                let until = Instant::now() + view.player_ttl();
                self.rejoin = Some(Rejoin { room: view.name.clone(), until, attempts: 0 });
            }
        }
        let Some(rejoin) = &self.rejoin else { return false };
        if rejoin.attempts < MAX_REJOIN_ATTEMPTS && Instant::now() < rejoin.until && self.target.is_some() {
            return true;
        }
        let message = format!("could not rejoin room {:?} within its player TTL", rejoin.room);
        self.fail(rooms::OP_JOIN_ROOM, return_code::JOIN_FAILED_WITH_REJOINER_NOT_FOUND, message);
        self.rejoin = None;
        false
    }

    /// Connects again where the lost connection went, to rejoin with the token.
    fn try_rejoin(&mut self) -> Result<(), ClientError> {
        let rejoin = self.rejoin.as_mut().expect("checked by may_rejoin");
        rejoin.attempts += 1;
        let room = rejoin.room.clone();
        let (address, pin) = self.target.clone().expect("checked by may_rejoin");
        self.connect_to(&address, pin, &AuthValues::new(AuthType::Token))?;
        self.pending_room = Some(RoomRequest::new(Some(room), Some(JoinMode::RejoinOnly), RoomOptions::default()));
        // A server of role "all" is reached like a game server here: the rejoin follows the token.
        self.at_game_server = true;
        self.set_state(ClientState::ConnectingToGameServer);
        Ok(())
    }

    fn stay_disconnected(&mut self) {
        self.pending_room = None;
        self.room = None;
        self.actor = None;
        self.view = None;
        self.rejoin = None;
        self.at_game_server = false;
        self.set_state(ClientState::Disconnected);
    }

    fn connect_game(&mut self, answer: GameServerAnswer, request: RoomRequest) -> Result<(), ClientError> {
        // An empty token: the peer presents the one it kept, the master's answer's.
        let values = AuthValues::new(AuthType::Token);
        self.connect_to(&answer.address.clone(), PinChoice::Key(answer.server_key), &values)?;
        self.at_game_server = true;
        self.room = Some(answer.room.clone());
        let mode = match request.mode {
            // A rejoin through the master stays a rejoin.
            Some(mode @ (JoinMode::JoinOrRejoin | JoinMode::RejoinOnly)) => mode,
            // The master placed the room here: whoever comes first creates it.
            _ => JoinMode::CreateIfNotExists,
        };
        self.pending_room = Some(RoomRequest { name: Some(answer.room), mode: Some(mode), ..request });
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
            self.rejoin = None;
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
            self.next = Next::Game { answer, request };
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
        self.view = Some(RoomView::from_join_answer(room.clone(), actor, &actors, &response.params));
        self.room = Some(room.clone());
        self.actor = Some(actor);
        let rejoined = self.rejoin.take().is_some();
        // A player in a room is out of the lobby.
        self.in_lobby = false;
        self.room_list = RoomList::default();
        self.set_state(ClientState::Joined);
        self.events.push_back(ClientEvent::Joined { room, actor, actors, rejoined });
    }

    fn on_left(&mut self) {
        self.room = None;
        self.actor = None;
        self.view = None;
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
