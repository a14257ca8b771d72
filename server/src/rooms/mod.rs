//! Rooms, their actors, and event fan-out to the members' outbound queues.
//!
//! A room is a small piece of shared state behind a mutex: its members by actor number, each with a
//! bounded queue read by that member's connection task. An event is encoded once by the sender's task;
//! fan-out only clones an `Arc` of the encoded body into each recipient's queue, and each recipient's
//! task seals it under that recipient's own keys. Because fan-out happens under the room lock and every
//! queue is first-in first-out, all members see a room's events in one order.
//!
//! A queue that is full is never waited on and nothing is dropped silently: the member behind it is
//! disconnected with `SlowConsumer`, so memory stays bounded by the queue sizes.
//!
//! Besides its members, a room holds its properties and its players' ([`properties`]), its master
//! client, and its event cache ([`cache`]), all under the same lock, so a joiner sees them in the same
//! order as every live event.

mod cache;
mod handle;
mod properties;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Table, Value};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::EventData;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::DisconnectReason;
use tokio::sync::{mpsc, Notify};

use crate::audience::{Audience, GroupSet};
use crate::plugin::ReceiverGroup;
pub use cache::{CacheFull, CachedEvent};
pub use handle::{RoomHandle, TimerError, MAX_TIMERS_PER_ROOM};
pub use properties::{encoded_size, PropertyError, Target};
use sealnet::rooms::PLAYER_PROP_IS_INACTIVE;
pub use sealnet::rooms::{JoinMode, RoomOptions};

/// Photon's parameter and event codes used by the room operations (defined once, in the core crate).
pub mod codes {
    pub use sealnet::rooms::*;
}

/// Bytes of encoded events queued for all members of all rooms together: the server-wide bound on
/// the relay's memory. It is charged once per relay and released in batches by the recipients, so
/// the relay path touches it rarely.
#[derive(Debug)]
pub struct OutputBudget {
    used: AtomicUsize,
    max: usize,
}

impl OutputBudget {
    pub fn new(max: usize) -> Self {
        OutputBudget { used: AtomicUsize::new(0), max }
    }

    fn has_room_for(&self, bytes: usize) -> bool {
        self.used.load(Ordering::Relaxed).saturating_add(bytes) <= self.max
    }

    fn charge(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Releases bytes a recipient took off its queue (batched by the caller).
    pub fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One item in a member's outbound queue.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// An event body encoded once by [`EventData::encode`], to be sealed for this member, and when
    /// it was queued (for the queue-wait histogram).
    Event { body: Arc<[u8]>, options: SendOptions, queued_at: Instant },
}

impl Outbound {
    pub fn size(&self) -> usize {
        match self {
            Outbound::Event { body, .. } => body.len(),
        }
    }
}

/// The part of a connection that other connections may touch: its queue, its encryption state, and a
/// way to ask it to disconnect.
#[derive(Debug)]
pub struct Peer {
    id: u64,
    encrypted: AtomicBool,
    /// The protocol version of the connection: 1 until it is accepted with another.
    protocol_version: AtomicU8,
    queue: mpsc::Sender<Outbound>,
    queued_bytes: AtomicUsize,
    max_queued_bytes: usize,
    kick: Notify,
    kick_reason: OnceLock<(DisconnectReason, &'static str)>,
}

/// What happened to an item offered to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    Queued,
    /// The queue was full; the peer is being disconnected.
    Overflow,
    /// The connection is gone.
    Closed,
}

impl Peer {
    /// A peer and the receiving end of its queue, which holds at most `capacity` items and
    /// `max_bytes` bytes of event bodies. The reader must call [`taken`](Self::taken) for each item.
    pub fn new(id: u64, capacity: usize, max_bytes: usize) -> (Arc<Peer>, mpsc::Receiver<Outbound>) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let peer = Peer {
            id,
            encrypted: AtomicBool::new(false),
            protocol_version: AtomicU8::new(1),
            queue,
            queued_bytes: AtomicUsize::new(0),
            max_queued_bytes: max_bytes,
            kick: Notify::new(),
            kick_reason: OnceLock::new(),
        };
        (Arc::new(peer), receiver)
    }

    /// Releases the byte budget of an item taken off the queue.
    pub fn taken(&self, item: &Outbound) {
        self.queued_bytes.fetch_sub(item.size(), Ordering::AcqRel);
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Called once the session reports EncryptionEstablished; keys are never lost after that.
    pub fn set_encrypted(&self) {
        self.encrypted.store(true, Ordering::Release);
    }

    pub fn is_encrypted(&self) -> bool {
        self.encrypted.load(Ordering::Acquire)
    }

    /// Called when the connection is accepted, with the protocol version it speaks.
    pub fn set_protocol_version(&self, version: u8) {
        self.protocol_version.store(version, Ordering::Release);
    }

    pub fn protocol_version(&self) -> u8 {
        self.protocol_version.load(Ordering::Acquire)
    }

    /// Asks the connection to disconnect with `reason`. Only the first request counts.
    pub fn kick(&self, reason: DisconnectReason, message: &'static str) {
        if self.kick_reason.set((reason, message)).is_ok() {
            self.kick.notify_one();
        }
    }

    /// Resolves once [`kick`](Self::kick) was called (also when it was called before this).
    pub async fn kicked(&self) -> (DisconnectReason, &'static str) {
        loop {
            if let Some(reason) = self.kick_reason.get() {
                return *reason;
            }
            self.kick.notified().await;
        }
    }

    fn offer(&self, item: Outbound) -> Offer {
        let size = item.size();
        let budget = self.queued_bytes.fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
            queued.checked_add(size).filter(|&total| total <= self.max_queued_bytes)
        });
        if budget.is_err() {
            return self.overflow();
        }
        match self.queue.try_send(item) {
            Ok(()) => Offer::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                self.overflow()
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                Offer::Closed
            }
        }
    }

    fn overflow(&self) -> Offer {
        if self.kick_reason.get().is_none() {
            tracing::warn!(connection = self.id, "outbound queue full: disconnecting slow consumer");
        }
        self.kick(DisconnectReason::SlowConsumer, "outbound queue full: not reading fast enough");
        Offer::Overflow
    }
}

/// The bounds every room keeps.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    pub max_room_size: usize,
    /// Largest frame body a member without keys can be sent (see `SessionConfig::max_clear_body`).
    pub max_clear_body: usize,
    /// Encoded size of a room's custom properties.
    pub max_room_properties_bytes: usize,
    /// Encoded size of one player's properties.
    pub max_player_properties_bytes: usize,
    pub max_cached_events: usize,
    /// Encoded size of a room's cached events together.
    pub max_cache_bytes: usize,
}

/// All rooms by name. Rooms are created by the first join and removed when the last member leaves.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// Members of all rooms (changed under the `rooms` lock, read without it).
    members: AtomicUsize,
    limits: RoomLimits,
    budget: Arc<OutputBudget>,
}

/// What a room starts with when a join creates it.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub options: RoomOptions,
    /// Its first custom properties.
    pub properties: Table,
    /// Whether a leaving player's cached events are removed (Photon's CleanupCacheOnLeave).
    pub cleanup_cache_on_leave: bool,
    /// How long a disconnected player stays inactive and may rejoin (zero: not at all).
    pub player_ttl: Duration,
    /// How long the room outlives its last player (zero: it closes at once).
    pub empty_room_ttl: Duration,
    /// The custom properties lobbies list (Photon's PropsListedInLobby).
    pub listed_keys: Vec<sealnet::protocol::codec::Key>,
}

impl Default for NewRoom {
    fn default() -> Self {
        NewRoom {
            options: RoomOptions::default(),
            properties: Table::new(),
            cleanup_cache_on_leave: true,
            player_ttl: Duration::ZERO,
            empty_room_ttl: Duration::ZERO,
            listed_keys: Vec::new(),
        }
    }
}

impl From<RoomOptions> for NewRoom {
    fn from(options: RoomOptions) -> Self {
        NewRoom { options, ..NewRoom::default() }
    }
}

/// Why a join failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    Full {
        max: usize,
    },
    /// The room is closed to new players.
    Closed,
    /// A JoinOnly of a room that does not exist.
    Missing,
    /// A CreateOnly of a room that exists.
    Exists,
    /// A plugin refused it (the hooks hold the answer).
    Refused,
    /// A plain join by a user who left an inactive player there: it must rejoin.
    FoundInactive,
    /// A RejoinOnly by a user without an inactive player there.
    RejoinerNotFound,
}

impl JoinError {
    /// The return code and message a client gets for it, for the room called `room`: the same from a
    /// room of this server and from a master's directory.
    pub fn answer(self, room: &str) -> (i16, String) {
        use sealnet::protocol::status::return_code;
        match self {
            JoinError::Full { max } => (return_code::GAME_FULL, format!("room {room:?} is full ({max} players)")),
            JoinError::Closed => (return_code::GAME_CLOSED, format!("room {room:?} is closed")),
            JoinError::Missing => (return_code::GAME_DOES_NOT_EXIST, format!("room {room:?} does not exist")),
            JoinError::Exists => (return_code::GAME_ID_ALREADY_EXISTS, format!("room {room:?} exists already")),
            JoinError::Refused => (return_code::PLUGIN_REJECTED, format!("joining room {room:?} was refused")),
            JoinError::FoundInactive => (
                return_code::JOIN_FAILED_FOUND_INACTIVE_JOINER,
                format!("you left an inactive player in room {room:?}: rejoin it (join mode 2 or 3)"),
            ),
            JoinError::RejoinerNotFound => (
                return_code::JOIN_FAILED_WITH_REJOINER_NOT_FOUND,
                format!("no inactive player of yours to rejoin in room {room:?}"),
            ),
        }
    }
}

/// One room.
#[derive(Debug)]
pub struct Room {
    name: String,
    state: Mutex<RoomState>,
    budget: Arc<OutputBudget>,
    limits: RoomLimits,
    /// Plugin timers pending for it.
    timers: AtomicUsize,
    /// Removed from the server's rooms: its last member left.
    closed: AtomicBool,
}

/// A plugin refused a join (its answer is the hooks' to give).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// How a member leaves its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// By LeaveRoom: for good.
    ForGood,
    /// Its connection ended: inactive, where the room has a PlayerTtl.
    Disconnected,
}

/// What a departure left to do later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Departure {
    /// The members left, ascending.
    pub remaining: Vec<i32>,
    /// The player stays inactive: call [`Rooms::expire_inactive`] after this, with this generation.
    pub expire_after: Option<(Duration, u64)>,
    /// The room is empty: call [`Rooms::close_if_idle`] after this, with this generation.
    pub close_after: Option<(Duration, u64)>,
}

/// What a join asks of the plugins at the moments only the rooms know: before a room is created, and
/// before the player is added. A refusal leaves no room behind.
pub trait JoinHooks {
    /// May change what the room starts with, or refuse (`Err`).
    fn before_create(&mut self, room: &str, new_room: &mut NewRoom) -> Result<(), Refused>;
    /// May change the joiner's first properties, or refuse (`Err`).
    fn before_join(&mut self, room: &Arc<Room>, properties: &mut Table) -> Result<(), Refused>;
}

/// Hooks that let every join through unchanged.
pub struct NoHooks;

impl JoinHooks for NoHooks {
    fn before_create(&mut self, _room: &str, _new_room: &mut NewRoom) -> Result<(), Refused> {
        Ok(())
    }

    fn before_join(&mut self, _room: &Arc<Room>, _properties: &mut Table) -> Result<(), Refused> {
        Ok(())
    }
}

#[derive(Debug)]
struct RoomState {
    /// The next actor number to hand out; numbers are never reused within a room.
    next_actor: i32,
    members: BTreeMap<i32, Arc<Peer>>,
    /// Interest-group subscriptions, only of members that have any.
    groups: BTreeMap<i32, GroupSet>,
    /// Its options; SetProperties may change them.
    options: RoomOptions,
    /// The master client's actor number: the creator, then whom it is handed to (0 once empty).
    master: i32,
    /// Custom room properties (built-in ones are `options` and `master`).
    properties: Table,
    /// Each member's properties, built-in and custom.
    players: BTreeMap<i32, Table>,
    cache: cache::EventCache,
    cleanup_cache_on_leave: bool,
    player_ttl: Duration,
    empty_room_ttl: Duration,
    /// The authenticated account of each member that has one: how a rejoin finds its actor.
    accounts: BTreeMap<i32, String>,
    /// Players whose connection ended within PlayerTtl, by actor: their account, and the generation
    /// their expiry must match.
    inactive: BTreeMap<i32, (String, u64)>,
    /// Changes with every join and departure, so that a timer set before one does nothing.
    generation: u64,
    /// The custom properties lobbies list.
    listed_keys: Vec<sealnet::protocol::codec::Key>,
}

impl RoomState {
    /// Drops everything of a player that leaves for good.
    fn forget(&mut self, actor: i32) {
        self.players.remove(&actor);
        if self.cleanup_cache_on_leave {
            self.cache.remove_where(|event| event.sender == actor);
        }
    }

    /// Nobody is in the room, nor may come back.
    fn is_idle(&self) -> bool {
        self.members.is_empty() && self.inactive.is_empty()
    }
}

/// A connection's place in a room. Dropping it does not leave the room: call [`Rooms::leave`].
#[derive(Debug, Clone)]
pub struct Membership {
    pub room: Arc<Room>,
    pub actor: i32,
}

/// What a join produced: the joiner's actor number, everyone in the room in ascending order, and what
/// the join answer lists of the room.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub actor: i32,
    pub actors: Vec<i32>,
    pub master: i32,
    /// The room's properties, built-in and custom.
    pub room_properties: Table,
    /// Every member's properties, by actor number (Int).
    pub player_properties: Table,
}

/// An encoded event body and the protocol version a recipient needs to decode it.
#[derive(Debug, Clone)]
pub struct RelayedEvent {
    pub body: Arc<[u8]>,
    pub needs_version: u8,
    /// When the event was relayed (queue waits are measured from here).
    pub relayed_at: Instant,
}

impl From<Arc<[u8]>> for RelayedEvent {
    /// A body every protocol version can decode, read now.
    fn from(body: Arc<[u8]>) -> Self {
        RelayedEvent { body, needs_version: 1, relayed_at: Instant::now() }
    }
}

/// Where a relayed event went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayOutcome {
    /// Recipients it was queued for.
    pub delivered: u32,
    /// Recipients left out because the event is encrypted and they have no keys.
    pub skipped: u32,
    /// Recipients left out because their protocol version lacks a value type the event holds.
    pub outdated: u32,
    /// Recipients disconnected because their queue was full.
    pub overflowed: u32,
    /// Nothing was relayed: the server-wide output budget is used up.
    pub busy: bool,
}

/// Locks a mutex, carrying on after a panic elsewhere: room state stays consistent between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Rooms {
    /// Rooms within `limits`, relaying within `budget`.
    pub fn new(limits: RoomLimits, budget: Arc<OutputBudget>) -> Self {
        Rooms { rooms: Mutex::default(), members: AtomicUsize::new(0), limits, budget }
    }

    /// Adds `peer` to the room called `name`, creating it if needed, and queues the Join event for every
    /// member (the joiner included), carrying what `identity` publishes. A full room is refused.
    pub fn join(&self, name: &str, peer: &Arc<Peer>, identity: &Identity) -> Result<(Membership, Joined), JoinError> {
        self.join_with(name, JoinMode::CreateIfNotExists, NewRoom::default(), peer, identity, &mut NoHooks)
    }

    /// [`Rooms::join`] as `mode` says, creating a room as `new_room` says. A room that is full, closed,
    /// or (by the mode) missing or already there is refused. The joiner's queue gets the Join event,
    /// then the room's cached events, before anything else.
    pub fn join_with(
        &self,
        name: &str,
        mode: JoinMode,
        new_room: NewRoom,
        peer: &Arc<Peer>,
        identity: &Identity,
        hooks: &mut dyn JoinHooks,
    ) -> Result<(Membership, Joined), JoinError> {
        let mut rooms = lock(&self.rooms);
        let mut new_room = new_room;
        let (room, created) = match (rooms.get(name), mode) {
            (Some(_), JoinMode::CreateOnly) => return Err(JoinError::Exists),
            (Some(room), _) => (room.clone(), false),
            (None, JoinMode::JoinOnly | JoinMode::RejoinOnly) => return Err(JoinError::Missing),
            (None, _) => {
                hooks.before_create(name, &mut new_room).map_err(|Refused| JoinError::Refused)?;
                let room = Arc::new(Room {
                    name: name.to_owned(),
                    state: Mutex::new(RoomState {
                        next_actor: 1,
                        members: BTreeMap::new(),
                        groups: BTreeMap::new(),
                        options: new_room.options,
                        master: 0,
                        properties: new_room.properties,
                        players: BTreeMap::new(),
                        cache: cache::EventCache::default(),
                        cleanup_cache_on_leave: new_room.cleanup_cache_on_leave,
                        player_ttl: new_room.player_ttl,
                        empty_room_ttl: new_room.empty_room_ttl,
                        accounts: BTreeMap::new(),
                        inactive: BTreeMap::new(),
                        generation: 0,
                        listed_keys: new_room.listed_keys,
                    }),
                    budget: self.budget.clone(),
                    limits: self.limits,
                    timers: AtomicUsize::new(0),
                    closed: AtomicBool::new(false),
                });
                (room, true)
            }
        };
        let mut joiner_properties = properties::player_properties(identity);
        // A room created for this join is listed only once the join succeeds.
        hooks.before_join(&room, &mut joiner_properties).map_err(|Refused| JoinError::Refused)?;
        let mut state = lock(&room.state);
        let rejoining = identity.account.as_ref().and_then(|account| {
            state.inactive.iter().find(|(_, (inactive, _))| inactive == account).map(|(actor, _)| *actor)
        });
        match (mode, rejoining) {
            (JoinMode::RejoinOnly, None) => return Err(JoinError::RejoinerNotFound),
            (JoinMode::JoinOnly | JoinMode::CreateIfNotExists | JoinMode::CreateOnly, Some(_)) => {
                return Err(JoinError::FoundInactive)
            }
            _ => {}
        }
        let actor = match rejoining {
            // A rejoiner takes back its actor number and its properties, closed room or full.
            Some(actor) => {
                state.inactive.remove(&actor);
                let properties = state.players.entry(actor).or_default();
                properties.remove(&sealnet::protocol::codec::Key::Byte(PLAYER_PROP_IS_INACTIVE));
                joiner_properties = properties.clone();
                actor
            }
            None => {
                // A closed room takes nobody new but its creator.
                if !state.options.is_open && !created {
                    return Err(JoinError::Closed);
                }
                let max = state.max_players(self.limits.max_room_size);
                if state.members.len() + state.inactive.len() >= max {
                    return Err(JoinError::Full { max });
                }
                let actor = state.next_actor;
                state.next_actor += 1;
                state.players.insert(actor, joiner_properties.clone());
                actor
            }
        };
        if created {
            rooms.insert(name.to_owned(), room.clone());
        }
        state.generation += 1;
        state.members.insert(actor, peer.clone());
        if let Some(account) = &identity.account {
            state.accounts.insert(actor, account.clone());
        }
        if state.master == 0 {
            state.master = actor;
        }
        self.members.fetch_add(1, Ordering::Relaxed);
        let actors: Vec<i32> = state.members.keys().copied().collect();
        let mut extra = Params::new();
        extra.insert(codes::PLAYER_PROPERTIES, Value::Table(joiner_properties));
        let bodies = MembershipEvent::new(codes::EVENT_JOIN, actor, &actors, identity, extra);
        self.budget.charge(bodies.offer_to_all(&state));
        self.budget.charge(room.send_cache_to(&state, peer));
        let joined = Joined {
            actor,
            actors,
            master: state.master,
            room_properties: state.room_properties(),
            player_properties: state.player_property_table(),
        };
        drop(state);
        drop(rooms);
        Ok((Membership { room, actor }, joined))
    }

    /// Removes the member for good (LeaveRoom, or a room without PlayerTtl), queues the Leave event
    /// for those who remain, and closes the room once it is empty. Returns the remaining actors.
    pub fn leave(&self, membership: &Membership) -> Vec<i32> {
        self.depart(membership, Leaving::ForGood).remaining
    }

    /// Removes the member as `leaving` says: a disconnected player of a room with a PlayerTtl, who
    /// is known by its account, stays as inactive and may rejoin; the others leave for good. Returns
    /// what is left to do later, which the caller sets timers for.
    pub fn depart(&self, membership: &Membership, leaving: Leaving) -> Departure {
        let mut rooms = lock(&self.rooms);
        let state = &mut *lock(&membership.room.state);
        let actor = membership.actor;
        if state.members.remove(&actor).is_none() {
            return Departure { remaining: state.members.keys().copied().collect(), ..Departure::default() };
        }
        self.members.fetch_sub(1, Ordering::Relaxed);
        state.groups.remove(&actor);
        let account = state.accounts.remove(&actor);
        let mut departure = Departure::default();
        let mut extra = Params::new();
        match account {
            Some(account) if leaving == Leaving::Disconnected && !state.player_ttl.is_zero() => {
                state.generation += 1;
                state.inactive.insert(actor, (account, state.generation));
                if let Some(properties) = state.players.get_mut(&actor) {
                    properties.insert(PLAYER_PROP_IS_INACTIVE, true);
                }
                extra.insert(codes::IS_INACTIVE, true);
                departure.expire_after = Some((state.player_ttl, state.generation));
            }
            _ => state.forget(actor),
        }
        departure.remaining = state.members.keys().copied().collect();
        if state.master == actor {
            // The role goes to the longest-present player, as it would to the creator.
            state.master = departure.remaining.first().copied().unwrap_or(0);
            if state.master != 0 {
                extra.insert(codes::MASTER_CLIENT_ID, state.master);
            }
        }
        if departure.remaining.is_empty() {
            departure.close_after = self.close_when_idle(&mut rooms, &membership.room, state);
        } else {
            let bodies =
                MembershipEvent::new(codes::EVENT_LEAVE, actor, &departure.remaining, &Identity::default(), extra);
            self.budget.charge(bodies.offer_to_all(state));
        }
        departure
    }

    /// The PlayerTtl of an inactive player ran out: it leaves for good, unless it rejoined since
    /// (`generation` tells). Returns when to close the room, if it is empty and has an EmptyRoomTtl.
    pub fn expire_inactive(&self, room: &Arc<Room>, actor: i32, generation: u64) -> Option<(Duration, u64)> {
        let mut rooms = lock(&self.rooms);
        let state = &mut *lock(&room.state);
        if state.inactive.get(&actor).is_none_or(|(_, since)| *since != generation) {
            return None;
        }
        state.inactive.remove(&actor);
        state.forget(actor);
        let remaining: Vec<i32> = state.members.keys().copied().collect();
        if remaining.is_empty() {
            return self.close_when_idle(&mut rooms, room, state);
        }
        let bodies = MembershipEvent::new(codes::EVENT_LEAVE, actor, &remaining, &Identity::default(), Params::new());
        self.budget.charge(bodies.offer_to_all(state));
        None
    }

    /// The EmptyRoomTtl of a room ran out: it closes, unless someone joined since (`generation`).
    /// Returns whether it closed.
    pub fn close_if_idle(&self, room: &Arc<Room>, generation: u64) -> bool {
        let mut rooms = lock(&self.rooms);
        let state = lock(&room.state);
        if state.generation != generation || !state.is_idle() {
            return false;
        }
        self.close(&mut rooms, room);
        true
    }

    /// A room without members: closed now, or after its EmptyRoomTtl (returned, with the generation
    /// that must still hold then); one with inactive players waits for them.
    fn close_when_idle(
        &self,
        rooms: &mut HashMap<String, Arc<Room>>,
        room: &Arc<Room>,
        state: &mut RoomState,
    ) -> Option<(Duration, u64)> {
        if !state.is_idle() {
            return None;
        }
        if state.empty_room_ttl.is_zero() {
            self.close(rooms, room);
            return None;
        }
        state.generation += 1;
        Some((state.empty_room_ttl, state.generation))
    }

    fn close(&self, rooms: &mut HashMap<String, Arc<Room>>, room: &Arc<Room>) {
        if rooms.get(&room.name).is_some_and(|listed| Arc::ptr_eq(listed, room)) {
            rooms.remove(&room.name);
        }
        room.closed.store(true, Ordering::Release);
    }

    /// Members of all rooms.
    pub fn member_count(&self) -> usize {
        self.members.load(Ordering::Relaxed)
    }

    pub fn room_count(&self) -> usize {
        lock(&self.rooms).len()
    }

    /// Every room, with its players and options: what a game server tells the directory.
    pub fn snapshot(&self) -> Vec<RoomSummary> {
        let rooms: Vec<Arc<Room>> = lock(&self.rooms).values().cloned().collect();
        rooms
            .iter()
            .map(|room| {
                let state = lock(&room.state);
                RoomSummary {
                    name: room.name.clone(),
                    players: state.members.len(),
                    max_players: state.max_players(self.limits.max_room_size),
                    options: state.options,
                    listed: state
                        .listed_keys
                        .iter()
                        .filter_map(|key| Some((key.clone(), state.properties.get(key)?.clone())))
                        .collect(),
                }
            })
            .collect()
    }

    /// A room JoinRandomRoom may pick (open, visible, with space), if one exists.
    pub fn random_joinable(&self) -> Option<String> {
        let rooms = lock(&self.rooms);
        // HashMap order differs between processes, which spreads players well enough.
        rooms
            .values()
            .find(|room| {
                let state = lock(&room.state);
                state.options.is_open
                    && state.options.is_visible
                    && state.members.len() < state.max_players(self.limits.max_room_size)
            })
            .map(|room| room.name.clone())
    }

    /// Members of the room called `name`, if it exists.
    pub fn actors(&self, name: &str) -> Option<Vec<i32>> {
        let room = lock(&self.rooms).get(name).cloned()?;
        let actors = lock(&room.state).members.keys().copied().collect();
        Some(actors)
    }
}

/// One room as [`Rooms::snapshot`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSummary {
    pub name: String,
    pub players: usize,
    /// Its effective limit: its own, within the server's.
    pub max_players: usize,
    pub options: RoomOptions,
    /// Its properties that lobbies list.
    pub listed: Table,
}

impl RoomState {
    /// Its effective limit: its own, within the server's.
    fn max_players(&self, server_max: usize) -> usize {
        match self.options.max_players as usize {
            0 => server_max,
            own => own.min(server_max),
        }
    }
}

impl Room {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The room is gone: its last member left.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// ChangeGroups (248) for `actor`: its interest-group subscriptions after the change.
    pub fn change_groups(&self, actor: i32, remove: Option<&[u8]>, add: Option<&[u8]>) -> GroupSet {
        let mut state = lock(&self.state);
        if !state.members.contains_key(&actor) {
            return GroupSet::default();
        }
        let groups = state.groups.entry(actor).or_default();
        groups.change(remove, add);
        let now = *groups;
        if now.is_empty() {
            state.groups.remove(&actor);
        }
        now
    }

    /// Queues an encoded event for its audience. An encrypted event is never queued for a member
    /// without keys, nor one too large for a connection without keys, nor one holding value types
    /// newer than the member's protocol version (`needs_version`), which it could not decode: that
    /// member is counted in `skipped` or `outdated` instead. Nothing is queued while the server-wide
    /// output budget is used up.
    pub fn relay(
        &self,
        sender: i32,
        audience: Audience<'_>,
        event: RelayedEvent,
        options: SendOptions,
    ) -> RelayOutcome {
        let state = lock(&self.state);
        self.fan_out(&state, sender, audience, &event, options)
    }

    /// [`Room::relay`], and adds the event to the room's cache in the same step, so every player
    /// gets it exactly once: live if in the room now, from the cache if joining later. Neither
    /// happens while the output budget is used up or when the cache is full.
    pub fn relay_and_cache(
        &self,
        sender: i32,
        code: u8,
        audience: Audience<'_>,
        event: RelayedEvent,
        options: SendOptions,
    ) -> Result<RelayOutcome, CacheFull> {
        let mut state = lock(&self.state);
        if !self.budget.has_room_for(event.body.len().saturating_mul(state.members.len())) {
            return Ok(RelayOutcome { busy: true, ..RelayOutcome::default() });
        }
        let cached = CachedEvent {
            sender,
            code,
            body: event.body.clone(),
            needs_version: event.needs_version,
            options: SendOptions { delivery: Delivery::Reliable, ..options },
        };
        state.cache.add(cached, self.limits.max_cached_events, self.limits.max_cache_bytes)?;
        Ok(self.fan_out(&state, sender, audience, &event, options))
    }

    /// Removes cached events of `code` (0: every code) from `senders` (`None`: every sender); returns
    /// how many.
    pub fn remove_cached(&self, code: u8, senders: Option<&[i32]>) -> usize {
        lock(&self.state).cache.remove(code, senders)
    }

    /// Removes the cached events of senders no longer in the room; returns how many.
    pub fn remove_cached_of_actors_left(&self) -> usize {
        let state = &mut *lock(&self.state);
        let members = &state.members;
        state.cache.remove_where(|event| !members.contains_key(&event.sender))
    }

    /// Events in the room's cache.
    pub fn cached_events(&self) -> usize {
        lock(&self.state).cache.len()
    }

    /// SetProperties (252) by `sender`: applies the change to `target` if the expected values match
    /// and the result is valid, then queues PropertiesChanged (253) for every member, `sender` too.
    /// Returns the master client when the change handed the role over.
    pub fn set_properties(
        &self,
        sender: i32,
        target: Target,
        changes: Table,
        expected: Option<&Table>,
    ) -> Result<Option<i32>, PropertyError> {
        let max_bytes = match target {
            Target::Room => self.limits.max_room_properties_bytes,
            Target::Player(_) => self.limits.max_player_properties_bytes,
        };
        let mut state = lock(&self.state);
        let handed_over = state.set_properties(target, &changes, expected, max_bytes)?;
        let event = properties::changed_event(sender, target, changes);
        let needs_version = event.params.required_version();
        let mut body = Vec::new();
        event.encode(&mut body);
        let event = RelayedEvent { body: body.into(), needs_version, relayed_at: Instant::now() };
        for peer in state.members.values() {
            let options = system_event_options(peer);
            if self.deliver(peer, &event, options) == Delivered::Queued {
                self.budget.charge(event.body.len());
            }
        }
        Ok(handed_over)
    }

    /// Offers every cached event to `peer`, oldest first, as [`Room::relay`] would; returns the bytes
    /// queued.
    fn send_cache_to(&self, state: &RoomState, peer: &Arc<Peer>) -> usize {
        let mut queued = 0;
        let now = Instant::now();
        for cached in state.cache.iter() {
            let event =
                RelayedEvent { body: cached.body.clone(), needs_version: cached.needs_version, relayed_at: now };
            if self.deliver(peer, &event, cached.options) == Delivered::Queued {
                queued += cached.body.len();
            }
        }
        queued
    }

    /// Offers one event to one member, unless it may not or cannot be sent to it.
    fn deliver(&self, peer: &Peer, event: &RelayedEvent, options: SendOptions) -> Delivered {
        let clear_too_large = event.body.len() + EVENT_FRAME_OVERHEAD > self.limits.max_clear_body;
        if !peer.is_encrypted() && (options.encrypt || clear_too_large) {
            return Delivered::Skipped;
        }
        if peer.protocol_version() < event.needs_version {
            return Delivered::Outdated;
        }
        match peer.offer(Outbound::Event { body: event.body.clone(), options, queued_at: event.relayed_at }) {
            Offer::Queued => Delivered::Queued,
            Offer::Overflow => Delivered::Overflowed,
            Offer::Closed => Delivered::Closed,
        }
    }

    fn fan_out(
        &self,
        state: &RoomState,
        sender: i32,
        audience: Audience<'_>,
        event: &RelayedEvent,
        options: SendOptions,
    ) -> RelayOutcome {
        let mut outcome = RelayOutcome::default();
        if !self.budget.has_room_for(event.body.len().saturating_mul(state.members.len())) {
            outcome.busy = true;
            return outcome;
        }
        let mut send = |peer: &Arc<Peer>| match self.deliver(peer, event, options) {
            Delivered::Queued => outcome.delivered += 1,
            Delivered::Skipped => outcome.skipped += 1,
            Delivered::Outdated => outcome.outdated += 1,
            Delivered::Overflowed => outcome.overflowed += 1,
            Delivered::Closed => {}
        };
        let (group, interest) = match audience {
            Audience::Group(group) => (group, None),
            Audience::Interest(group, interest) => (group, Some(interest)),
            Audience::Actors(actors) => {
                actors.iter().filter_map(|actor| state.members.get(actor)).for_each(&mut send);
                self.budget.charge(event.body.len() * outcome.delivered as usize);
                return outcome;
            }
        };
        // An interest group narrows the receiver group to its subscribers; without one (the plain
        // RaiseEvent) nothing is looked up.
        let subscribed = |actor: &i32| {
            interest.is_none_or(|interest| state.groups.get(actor).is_some_and(|groups| groups.contains(interest)))
        };
        match group {
            ReceiverGroup::Others => state
                .members
                .iter()
                .filter(|(actor, _)| **actor != sender && subscribed(actor))
                .for_each(|(_, peer)| send(peer)),
            ReceiverGroup::All => {
                state.members.iter().filter(|(actor, _)| subscribed(actor)).for_each(|(_, peer)| send(peer))
            }
            ReceiverGroup::MasterClient => {
                if let Some(master) = state.members.get(&state.master) {
                    if subscribed(&state.master) {
                        send(master)
                    }
                }
            }
        }
        self.budget.charge(event.body.len() * outcome.delivered as usize);
        outcome
    }
}

/// What became of an event offered to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    Queued,
    /// Encrypted (or too large to send in clear) for a member without keys.
    Skipped,
    /// Holds value types the member's protocol version lacks.
    Outdated,
    /// The member's queue was full; it is being disconnected.
    Overflowed,
    Closed,
}

/// Queues a server event for one connection, Reliable on channel 0, encrypted when it has keys, and
/// charges the output budget for it.
pub(crate) fn offer_system_event(peer: &Peer, body: Arc<[u8]>, budget: &OutputBudget) {
    let size = body.len();
    let event = Outbound::Event { body, options: system_event_options(peer), queued_at: Instant::now() };
    if peer.offer(event) == Offer::Queued {
        budget.charge(size);
    }
}

/// What a clear frame adds around an encoded event body: the 8-byte header.
const EVENT_FRAME_OVERHEAD: usize = 8;

/// Join and Leave events: plain Photon-style bodies, encrypted for every member that has keys.
fn system_event_options(peer: &Peer) -> SendOptions {
    SendOptions { encrypt: peer.is_encrypted(), delivery: Delivery::Reliable, channel: 0 }
}

/// The actor list as Photon sends it, an `int[]`: packed on version 2, a version-1 array of ints on
/// version 1, which has no packed arrays.
pub fn actor_list(actors: &[i32], protocol_version: u8) -> Value {
    if protocol_version >= 2 {
        Value::IntArray(actors.to_vec())
    } else {
        Value::Array(actors.iter().map(|&actor| Value::Int(actor)).collect())
    }
}

/// What a Join event tells the other members about the joiner (docs/auth.md §4.3).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub nickname: Option<String>,
    /// Published only where the server is configured to.
    pub user_id: Option<String>,
    /// The authenticated user id, never published: it recognises a rejoining player.
    pub account: Option<String>,
}

/// A Join or Leave event, encoded once for each protocol version (the actor list differs).
struct MembershipEvent {
    version_1: Arc<[u8]>,
    version_2: Arc<[u8]>,
}

impl MembershipEvent {
    /// The event of `code` about `actor`, with `extra` parameters beside the actor list.
    fn new(code: u8, actor: i32, actors: &[i32], identity: &Identity, extra: Params) -> Self {
        let encode = |version| {
            let mut params = extra.clone();
            // What a version-1 connection cannot decode (the properties Tables) is left out for it.
            params.retain(|_, value| value.required_version() <= version);
            params.insert(codes::ACTOR_NR, actor);
            params.insert(codes::ACTOR_LIST, actor_list(actors, version));
            if let Some(nickname) = &identity.nickname {
                params.insert(sealnet::auth::PARAM_NICKNAME, nickname.clone());
            }
            if let Some(user_id) = &identity.user_id {
                params.insert(sealnet::auth::PARAM_USER_ID, user_id.clone());
            }
            let mut body = Vec::with_capacity(32 + 4 * actors.len());
            EventData { code, sender: actor, params }.encode(&mut body);
            Arc::<[u8]>::from(body)
        };
        MembershipEvent { version_1: encode(1), version_2: encode(2) }
    }

    /// Offers the event to every member in its version; returns the bytes queued.
    fn offer_to_all(&self, state: &RoomState) -> usize {
        let mut queued = 0;
        let now = Instant::now();
        for member in state.members.values() {
            let body = if member.protocol_version() >= 2 { &self.version_2 } else { &self.version_1 };
            let event = Outbound::Event { body: body.clone(), options: system_event_options(member), queued_at: now };
            if member.offer(event) == Offer::Queued {
                queued += body.len();
            }
        }
        queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_QUEUED_BYTES: usize = 1 << 20;

    /// The configured defaults, but for the room size and the clear-body size.
    fn limits(max_room_size: usize, max_clear_body: usize) -> RoomLimits {
        let defaults = crate::Config::default().limits;
        RoomLimits {
            max_room_size,
            max_clear_body,
            max_room_properties_bytes: defaults.max_room_properties_bytes,
            max_player_properties_bytes: defaults.max_player_properties_bytes,
            max_cached_events: defaults.max_cached_events,
            max_cache_bytes: defaults.max_cache_bytes,
        }
    }

    fn rooms() -> Rooms {
        Rooms::new(limits(100, 4096), Arc::new(OutputBudget::new(usize::MAX / 2)))
    }

    fn next_event(receiver: &mut mpsc::Receiver<Outbound>) -> Option<(EventData, bool)> {
        let Outbound::Event { body, options, .. } = receiver.try_recv().ok()?;
        Some((EventData::decode(&body, &Default::default()).unwrap(), options.encrypt))
    }

    #[test]
    fn actors_are_numbered_per_room_and_rooms_vanish_when_empty() {
        let rooms = rooms();
        let (a, mut a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (b, mut b_rx) = Peer::new(2, 8, MAX_QUEUED_BYTES);
        let (c, _c_rx) = Peer::new(3, 8, MAX_QUEUED_BYTES);
        let (a_in, joined) = rooms.join("one", &a, &Identity::default()).unwrap();
        assert_eq!((joined.actor, joined.actors), (1, vec![1]));
        let (b_in, joined) = rooms.join("one", &b, &Identity::default()).unwrap();
        assert_eq!((joined.actor, joined.actors, joined.master), (2, vec![1, 2], 1));
        let (c_in, joined) = rooms.join("two", &c, &Identity::default()).unwrap();
        assert_eq!(joined.actor, 1, "numbering is per room");
        assert_eq!(rooms.room_count(), 2);

        let (join_a, _) = next_event(&mut a_rx).unwrap();
        assert_eq!((join_a.code, join_a.sender), (codes::EVENT_JOIN, 1));
        let (join_b, _) = next_event(&mut a_rx).unwrap();
        assert_eq!(join_b.params.get(codes::ACTOR_LIST), Some(&Value::Array(vec![Value::Int(1), Value::Int(2)])));
        assert_eq!(next_event(&mut b_rx).unwrap().0, join_b, "the joiner gets its own join event");

        assert_eq!(rooms.leave(&a_in), vec![2]);
        let (leave, _) = next_event(&mut b_rx).unwrap();
        assert_eq!((leave.code, leave.params.get(codes::ACTOR_NR)), (codes::EVENT_LEAVE, Some(&Value::Int(1))));
        assert_eq!(rooms.leave(&b_in), Vec::<i32>::new());
        assert_eq!(rooms.actors("one"), None);
        rooms.leave(&c_in);
        assert_eq!(rooms.room_count(), 0);

        let (_, joined) = rooms.join("one", &a, &Identity::default()).unwrap();
        assert_eq!(joined.actor, 1, "a removed room starts over");
    }

    #[test]
    fn encrypted_events_skip_members_without_keys() {
        let rooms = rooms();
        let (a, _a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (b, mut b_rx) = Peer::new(2, 8, MAX_QUEUED_BYTES);
        let (c, mut c_rx) = Peer::new(3, 8, MAX_QUEUED_BYTES);
        a.set_encrypted();
        b.set_encrypted();
        let (a_in, _) = rooms.join("r", &a, &Identity::default()).unwrap();
        rooms.join("r", &b, &Identity::default()).unwrap();
        rooms.join("r", &c, &Identity::default()).unwrap();
        while next_event(&mut b_rx).is_some() {}
        while next_event(&mut c_rx).is_some() {}

        let body: Arc<[u8]> = Arc::from(&[1u8, 0, 0, 0, 1, 0][..]);
        let outcome =
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::ENCRYPTED);
        assert_eq!(outcome, RelayOutcome { delivered: 1, skipped: 1, ..Default::default() });
        assert!(next_event(&mut b_rx).unwrap().1);
        assert!(next_event(&mut c_rx).is_none());

        let outcome = a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.into(), SendOptions::RELIABLE);
        assert_eq!(outcome, RelayOutcome { delivered: 2, ..Default::default() });
        assert!(!next_event(&mut c_rx).unwrap().1);
    }

    #[test]
    fn receiver_groups_pick_members() {
        let rooms = rooms();
        let peers: Vec<_> = (0..3).map(|id| Peer::new(id, 16, MAX_QUEUED_BYTES)).collect();
        let memberships: Vec<_> =
            peers.iter().map(|(peer, _)| rooms.join("r", peer, &Identity::default()).unwrap().0).collect();
        let body: Arc<[u8]> = Arc::from(&[1u8, 0, 0, 0, 2, 0][..]);
        let room = &memberships[1].room;
        let relay = |group| room.relay(2, Audience::Group(group), body.clone().into(), SendOptions::RELIABLE).delivered;
        assert_eq!(relay(ReceiverGroup::Others), 2);
        assert_eq!(relay(ReceiverGroup::All), 3);
        assert_eq!(relay(ReceiverGroup::MasterClient), 1);
    }

    #[test]
    fn interest_groups_narrow_the_receiver_group_and_target_actors_replace_it() {
        let rooms = rooms();
        let mut peers: Vec<_> = (0..4).map(|id| Peer::new(id, 16, MAX_QUEUED_BYTES)).collect();
        let memberships: Vec<_> =
            peers.iter().map(|(peer, _)| rooms.join("g", peer, &Identity::default()).unwrap().0).collect();
        for (_, receiver) in &mut peers {
            while next_event(receiver).is_some() {}
        }
        let room = &memberships[0].room;
        room.change_groups(2, None, Some(&[5]));
        room.change_groups(3, None, Some(&[]));
        room.change_groups(4, None, Some(&[5, 6]));
        room.change_groups(4, Some(&[5]), None);
        let body: Arc<[u8]> = Arc::from(&[1u8, 0, 0, 0, 2, 0][..]);
        let mut reached = |audience| {
            room.relay(2, audience, body.clone().into(), SendOptions::RELIABLE);
            let got: Vec<usize> =
                (0..4).filter(|&index| next_event(&mut peers[index].1).is_some()).map(|index| index + 1).collect();
            got
        };
        assert_eq!(reached(Audience::Interest(ReceiverGroup::Others, 5)), [3], "actor 2 sent it; 4 left group 5");
        assert_eq!(reached(Audience::Interest(ReceiverGroup::All, 5)), [2, 3]);
        assert_eq!(reached(Audience::Interest(ReceiverGroup::All, 6)), [3, 4]);
        assert_eq!(reached(Audience::Interest(ReceiverGroup::MasterClient, 5)), Vec::<usize>::new(), "1 is not in 5");
        assert_eq!(reached(Audience::Actors(&[1, 2, 9])), [1, 2], "named actors only, the sender too; 9 is not here");
        // Leaving drops the subscriptions.
        rooms.leave(&memberships[2]);
        assert!(room.change_groups(3, None, None).is_empty());
    }

    #[test]
    fn a_full_queue_kicks_its_member() {
        let rooms = rooms();
        let (a, _a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (slow, _slow_rx) = Peer::new(2, 2, MAX_QUEUED_BYTES);
        let (a_in, _) = rooms.join("r", &a, &Identity::default()).unwrap();
        rooms.join("r", &slow, &Identity::default()).unwrap(); // its own join event takes one slot
        let body: Arc<[u8]> = Arc::from(&[1u8, 0, 0, 0, 1, 0][..]);
        let first =
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::RELIABLE);
        assert_eq!(first.delivered, 1);
        let second = a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.into(), SendOptions::RELIABLE);
        assert_eq!(second, RelayOutcome { overflowed: 1, ..Default::default() });
        let kicked = block_on(slow.kicked());
        assert_eq!(kicked.0, DisconnectReason::SlowConsumer);
    }

    #[test]
    fn the_byte_budget_bounds_a_queue_too() {
        let rooms = rooms();
        let (a, _a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (b, mut b_rx) = Peer::new(2, 100, 64);
        let (a_in, _) = rooms.join("r", &a, &Identity::default()).unwrap();
        rooms.join("r", &b, &Identity::default()).unwrap();
        while let Ok(item) = b_rx.try_recv() {
            b.taken(&item);
        }
        let body: Arc<[u8]> = Arc::from(vec![0u8; 40]);
        assert_eq!(
            a_in.room
                .relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::RELIABLE)
                .delivered,
            1
        );
        let item = b_rx.try_recv().unwrap();
        b.taken(&item);
        assert_eq!(
            a_in.room
                .relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::RELIABLE)
                .delivered,
            1
        );
        let over = a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.into(), SendOptions::RELIABLE);
        assert_eq!(over.overflowed, 1, "40 + 40 bytes exceed the 64-byte budget");
        assert_eq!(block_on(b.kicked()).0, DisconnectReason::SlowConsumer);
    }

    #[test]
    fn rooms_have_a_size_limit() {
        let rooms = Rooms::new(limits(2, 4096), Arc::new(OutputBudget::new(usize::MAX / 2)));
        let peers: Vec<_> = (0..3).map(|id| Peer::new(id, 16, MAX_QUEUED_BYTES)).collect();
        assert!(rooms.join("r", &peers[0].0, &Identity::default()).is_ok());
        assert!(rooms.join("r", &peers[1].0, &Identity::default()).is_ok());
        assert_eq!(rooms.join("r", &peers[2].0, &Identity::default()).err(), Some(JoinError::Full { max: 2 }));
        assert!(rooms.join("other", &peers[2].0, &Identity::default()).is_ok(), "the limit is per room");
    }

    #[test]
    fn a_used_up_output_budget_refuses_relays_until_released() {
        let budget = Arc::new(OutputBudget::new(100));
        let rooms = Rooms::new(limits(10, 4096), budget.clone());
        let (a, mut a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (b, mut b_rx) = Peer::new(2, 8, MAX_QUEUED_BYTES);
        let (a_in, _) = rooms.join("r", &a, &Identity::default()).unwrap();
        rooms.join("r", &b, &Identity::default()).unwrap();
        let release_all = |receiver: &mut mpsc::Receiver<Outbound>| {
            while let Ok(item) = receiver.try_recv() {
                budget.release(item.size());
            }
        };
        release_all(&mut a_rx);
        release_all(&mut b_rx);
        assert_eq!(budget.used(), 0, "the Join events were charged and released");
        let body: Arc<[u8]> = Arc::from(vec![0u8; 40]);
        let first =
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::RELIABLE);
        assert_eq!(first.delivered, 1);
        assert_eq!(budget.used(), 40);
        let refused =
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.clone().into(), SendOptions::RELIABLE);
        assert_eq!(refused, RelayOutcome { busy: true, ..Default::default() }, "40 + 2 x 40 bytes exceed 100");
        release_all(&mut b_rx);
        assert_eq!(
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), body.into(), SendOptions::RELIABLE).delivered,
            1
        );
    }

    #[test]
    fn members_without_keys_are_skipped_for_events_too_large_to_send_them() {
        let rooms = Rooms::new(limits(10, 100), Arc::new(OutputBudget::new(usize::MAX / 2)));
        let (a, _a_rx) = Peer::new(1, 8, MAX_QUEUED_BYTES);
        let (clear, _clear_rx) = Peer::new(2, 8, MAX_QUEUED_BYTES);
        let (keyed, _keyed_rx) = Peer::new(3, 8, MAX_QUEUED_BYTES);
        keyed.set_encrypted();
        let (a_in, _) = rooms.join("r", &a, &Identity::default()).unwrap();
        rooms.join("r", &clear, &Identity::default()).unwrap();
        rooms.join("r", &keyed, &Identity::default()).unwrap();
        let small: Arc<[u8]> = Arc::from(vec![0u8; 50]);
        let large: Arc<[u8]> = Arc::from(vec![0u8; 200]);
        assert_eq!(
            a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), small.into(), SendOptions::RELIABLE).delivered,
            2
        );
        let outcome = a_in.room.relay(1, Audience::Group(ReceiverGroup::Others), large.into(), SendOptions::RELIABLE);
        assert_eq!(outcome, RelayOutcome { delivered: 1, skipped: 1, ..Default::default() });
    }

    /// Polls a future that is already ready.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(future)
    }
}
