//! One connection: a task that owns a server-role [`Session`] and its TCP stream.
//!
//! The task feeds received bytes to the session, writes what the session produces, runs its timers,
//! and answers what it reports. Events relayed by other members arrive through the connection's bounded
//! outbound queue and are sealed here, under this connection's keys. The queue is only read while the
//! unsent output is small, so a client that does not read lets its queue fill, and is then
//! disconnected (see `rooms`), instead of growing server memory.
//!
//! The task runs on one shard (see `shards`), with its socket registered with that shard's event
//! loop; a join of a room another shard runs moves the task there first, with everything it holds
//! (session, unsent output, queue), and the join is answered on the room's shard.
//!
//! Reads go through one buffer per shard thread, never one per connection: an idle connection holds
//! only its session and small queues. What a client sends is metered (operations and bytes per
//! second); a client over its budget is not read from until it refills, and one that floods is
//! disconnected.

use std::cell::RefCell;
use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Value;
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::session::{Session, SessionError, SessionEvent, StatusInfo};
use sealnet::protocol::status::{op_code, DisconnectReason, StatusCode};
use sealnet::rooms::ROOM_NAME;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::admission::Refusal;
use crate::authenticate::{self, AuthState};
use crate::config::Role;
use crate::limits::{FloodMeter, Source, TokenBucket};
use crate::ops;
use crate::rooms::{Leaving, Membership, Outbound, Peer};
use crate::server::{stop_requested, Shared};
use crate::shards::Shards;

pub(crate) mod datagram;
pub(crate) mod message;

/// Unsent bytes above which queued events wait in the queue instead of being sealed.
const OUTBOUND_HIGH_WATER: usize = 256 * 1024;
/// Unsent bytes above which the client's input is not read (TCP pushes back on it).
const READ_PAUSE: usize = 1024 * 1024;
/// How long a closing connection may take to deliver its final frames.
const FLUSH_LIMIT: Duration = Duration::from_secs(1);
/// One read.
const READ_CHUNK: usize = 64 * 1024;
/// Capacity above which an emptied write buffer is released, so idle connections stay small.
const IDLE_WRITE_CAPACITY: usize = 16 * 1024;

thread_local! {
    /// The read buffer of every connection task polled on this worker thread. A read and the
    /// session's processing of it happen without an await in between, so tasks never share it.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// The per-connection part of the relay: its queue and how other tasks reach it.
pub(crate) fn new_peer(shared: &Shared, id: u64) -> (Arc<Peer>, mpsc::Receiver<Outbound>) {
    Peer::new(id, shared.config.outbound_queue, shared.config.limits.max_queued_bytes_per_client)
}

/// Holds a connection's place in the admission counts while it lives.
pub(crate) struct Slot {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: u64,
    pub(crate) source: Source,
    /// The client's address, as the backend is told.
    pub(crate) address: std::net::SocketAddr,
    /// Past Connect and counted against `max_connections`.
    pub(crate) admitted: bool,
    /// Counts the connection as alive, wherever it runs.
    pub(crate) _alive: crate::shards::LiveGuard,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.admission.leave(self.id, self.source, self.admitted);
    }
}

/// What one client may send, and how long it has been held back.
struct ClientLimits {
    ops: TokenBucket,
    bytes: TokenBucket,
    flood: FloodMeter,
    throttled_since: Option<Instant>,
}

/// The client spent most of a flood window throttled.
struct Flooding;

impl ClientLimits {
    fn new(shared: &Shared, now: Instant) -> Self {
        let limits = &shared.config.limits;
        ClientLimits {
            ops: TokenBucket::new(limits.ops_per_second, limits.ops_burst, now),
            bytes: TokenBucket::new(limits.bytes_per_second, limits.bytes_burst, now),
            flood: FloodMeter::new(Duration::from_millis(limits.flood_window_ms), now),
            throttled_since: None,
        }
    }

    /// Whether reading may go on now: `Ok(None)` yes, `Ok(Some(at))` not before `at`.
    fn read_allowed(&mut self, now: Instant) -> Result<Option<Instant>, Flooding> {
        let until = self.ops.blocked_until(now).max(self.bytes.blocked_until(now));
        let throttled = match (until, self.throttled_since) {
            (Some(_), None) => {
                self.throttled_since = Some(now);
                Duration::ZERO
            }
            (Some(_), Some(_)) => Duration::ZERO,
            (None, since) => {
                self.throttled_since = None;
                since.map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
            }
        };
        if self.flood.record(throttled, now) {
            return Err(Flooding);
        }
        Ok(until)
    }
}

/// The state of one connection that operation handlers work on.
pub(crate) struct Connection {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) session: Session,
    pub(crate) peer: Arc<Peer>,
    pub(crate) membership: Option<Membership>,
    slot: Slot,
    limits: ClientLimits,
    /// A key exchange waiting for its turn under the key-exchange rate limit.
    key_exchange_at: Option<Instant>,
    /// What the client said in its Connect.
    pub(crate) client: ClientInfo,
    pub(crate) auth: AuthState,
    /// Authentications this connection may still start.
    pub(crate) auth_limit: TokenBucket,
    /// Matchmaking requests this connection may still send (at a master): each may reserve a room in
    /// the directory, so a client cannot fill it with rooms nobody joins.
    pub(crate) room_request_limit: TokenBucket,
    /// When an unauthenticated connection is closed (servers that refuse anonymous players).
    pub(crate) auth_deadline: Option<Instant>,
    /// A join for a room on another shard: the connection moves there before answering it.
    moving: Option<Move>,
    /// A matchmaking request at a master, waiting for the directory.
    pub(crate) matchmaking: Option<crate::matchmaking::PendingMatch>,
    started: Instant,
    /// The first status other than Connect and EncryptionEstablished (with the final reason code
    /// when it had none): why the connection ended.
    last_status: Option<StatusInfo>,
    key_exchange_requested: bool,
    /// The server token of an AuthOnce key exchange waiting for its turn.
    auth_once_token: Option<Vec<u8>>,
}

/// Who the client said it was in its Connect.
pub(crate) struct ClientInfo {
    pub(crate) app_id: String,
    pub(crate) app_version: String,
}

/// What a stream connection's loop may wait for in one turn.
pub(crate) struct Turn {
    /// Read the client: its output has not piled up, it is not throttled, no call is in flight.
    pub(crate) readable: bool,
    /// The next of the session's, the key exchange's, the throttle's and the authentication's timers.
    pub(crate) timer: Option<Instant>,
    pub(crate) authenticating: bool,
    pub(crate) matchmaking: bool,
}

impl Connection {
    /// The next turn of a stream loop (TCP or WSS) with `unsent` bytes of output waiting; `None` when
    /// the client flooded and is being disconnected.
    pub(crate) fn turn(&mut self, unsent: usize) -> Option<Turn> {
        let throttled_until = match self.limits.read_allowed(Instant::now()) {
            Ok(until) => until,
            Err(Flooding) => {
                tracing::warn!(connection = self.id, "client floods: disconnecting");
                self.session.disconnect(DisconnectReason::RateLimited, "sending faster than the server allows");
                return None;
            }
        };
        let authenticating = self.auth.is_pending();
        let matchmaking = self.matchmaking.is_some();
        let readable = unsent < READ_PAUSE && throttled_until.is_none() && !authenticating && !matchmaking;
        let timer = [self.session.poll_timeout(), self.key_exchange_at, throttled_until, self.auth_deadline]
            .into_iter()
            .flatten()
            .min();
        Some(Turn { readable, timer, authenticating, matchmaking })
    }

    /// Leaves the current room, telling the remaining members. Returns whether it was in one.
    pub(crate) fn leave_room(&mut self, leaving: Leaving) -> bool {
        let Some(membership) = self.membership.take() else { return false };
        let departure = self.shared.rooms.depart(&membership, leaving);
        let inactive = departure.expire_after.is_some();
        let remaining = departure.remaining.len();
        tracing::debug!(connection = self.id, actor = membership.actor, remaining, inactive, "left room");
        crate::lifetimes::follow(&self.shared, &membership.room, membership.actor, &departure);
        crate::ops::hooks::left(&self.shared.plugins, &membership);
        true
    }

    pub(crate) fn slot_source(&self) -> Source {
        self.slot.source
    }

    /// The client's address, as the backend is told.
    pub(crate) fn slot_address(&self) -> std::net::SocketAddr {
        self.slot.address
    }

    /// An authentication or matchmaking call is in flight: the client's next requests wait for it.
    fn waits_for_a_call(&self) -> bool {
        self.auth.is_pending() || self.matchmaking.is_some()
    }

    /// Answers everything the session reported since the last call. Stops while an authentication
    /// call is in flight: what the client sent after it waits in the session, in order.
    fn handle_session_events(&mut self) {
        while !self.waits_for_a_call() && self.moving.is_none() {
            let Some(event) = self.session.poll_event() else { break };
            match event {
                SessionEvent::ConnectRequest { app_id, client_version, protocol_version } => {
                    self.on_connect_request(&app_id, &client_version, protocol_version)
                }
                SessionEvent::KeyExchangeRequest => self.on_key_exchange_request(),
                SessionEvent::AuthOnceRequest { token } => {
                    self.auth_once_token = Some(token);
                    self.on_key_exchange_request();
                }
                SessionEvent::OperationRequest { mut request, encrypted, delivery, channel } => {
                    // An operation arrived in an authenticated frame: an AuthOnce client proved its secret.
                    if !authenticate::confirm_auth_once(self) {
                        continue;
                    }
                    self.limits.ops.spend(1.0, Instant::now());
                    match self.shard_for_join(&mut request) {
                        Some(shard) => self.moving = Some(Move { shard, request, encrypted, delivery, channel }),
                        None => ops::handle(self, request, encrypted, delivery, channel),
                    }
                }
                SessionEvent::Status(status) => self.on_status(status),
                // Client-role events never reach a server session.
                SessionEvent::OperationResponse { .. } | SessionEvent::Event { .. } => {}
            }
        }
    }

    fn on_connect_request(&mut self, app_id: &str, client_version: &str, protocol_version: u8) {
        let refusal = if !self.shared.config.app_ids.iter().any(|id| id == app_id) {
            Some((DisconnectReason::UnknownAppId, "unknown app id"))
        } else {
            match self.shared.admission.connect(self.slot.id, self.slot.source) {
                Ok(()) => {
                    self.slot.admitted = true;
                    None
                }
                Err(Refusal::SourceFull) => {
                    Some((DisconnectReason::ServerFull, "too many connections from your address"))
                }
                Err(_) => Some((DisconnectReason::ServerFull, "server full")),
            }
        };
        let result = match refusal {
            Some((reason, message)) => {
                tracing::info!(connection = self.id, app_id = ?app_id, reason = ?reason, "connection refused");
                self.session.refuse(reason, message)
            }
            None => {
                tracing::info!(
                    connection = self.id,
                    app_id = ?app_id,
                    client_version = ?client_version,
                    protocol_version,
                    "connection accepted"
                );
                self.client.app_id = app_id.to_owned();
                self.client.app_version = client_version.to_owned();
                let now = Instant::now();
                let auth = &self.shared.config.auth;
                // A game server admits nobody without a token, anonymous players included.
                if !auth.allow_anonymous || self.shared.config.role == Role::Game {
                    self.auth_deadline = Some(now + Duration::from_millis(auth.deadline_ms));
                }
                let accepted = self.session.accept(now);
                self.peer.set_protocol_version(self.session.protocol_version());
                accepted
            }
        };
        if let Err(problem) = result {
            tracing::warn!(connection = self.id, %problem, "could not answer connect");
        }
    }

    /// The shard to move to before answering `request`: a join of a room that another shard runs. A
    /// JoinRandomRoom, or a CreateRoom without a name, is given the room's name here, so that its shard
    /// is known before it is answered.
    fn shard_for_join(&self, request: &mut OperationRequest) -> Option<usize> {
        let shards = &self.shared.shards;
        let role = self.shared.config.role;
        if !crate::matchmaking::is_room_request(request.op_code) || self.membership.is_some() || !role.hosts_rooms() {
            return None;
        }
        // A request the gate refuses is answered where it is, without naming rooms for it.
        if authenticate::gate(self, request.op_code).is_some() {
            return None;
        }
        if request.params.get(ROOM_NAME).is_none() {
            let name = match request.op_code {
                op_code::JOIN_RANDOM_ROOM if role == Role::All => self.shared.rooms.random_joinable(),
                op_code::CREATE_ROOM => crate::matchmaking::random_room_name(),
                _ => None,
            };
            if let Some(name) = name {
                request.params.insert(ROOM_NAME, name);
            }
        }
        if shards.count() < 2 {
            return None;
        }
        let Some(Value::String(name)) = request.params.get(ROOM_NAME) else { return None };
        let shard = shards.of_room(name);
        (Shards::current() != Some(shard)).then_some(shard)
    }

    /// Key exchanges cost real CPU: each waits for its turn under the server-wide and per-source
    /// budgets, and is refused when the wait would be too long.
    fn on_key_exchange_request(&mut self) {
        let now = Instant::now();
        let counters = self.shared.shards.counters();
        counters.key_exchanges[0].add(1);
        self.key_exchange_requested = true;
        match self.shared.key_exchanges.admit(self.slot.source, now) {
            Some(wait) if wait.is_zero() => self.admit_key_exchange(),
            Some(wait) => {
                tracing::debug!(connection = self.id, ?wait, "key exchange waits for its turn");
                self.key_exchange_at = Some(now + wait);
            }
            None => {
                counters.key_exchanges[2].add(1);
                tracing::info!(connection = self.id, "too many key exchanges: refused");
                let message = "too many key exchanges; try again later";
                if let Err(problem) = self.session.refuse_key_exchange(DisconnectReason::RateLimited, message) {
                    tracing::warn!(connection = self.id, %problem, "could not refuse the key exchange");
                }
            }
        }
    }

    fn admit_key_exchange(&mut self) {
        self.key_exchange_at = None;
        if let Some(token) = self.auth_once_token.take() {
            return authenticate::auth_once(self, &token);
        }
        if let Err(problem) = self.session.admit_key_exchange() {
            tracing::warn!(connection = self.id, %problem, "could not run the key exchange");
        }
    }

    fn on_status(&mut self, status: StatusInfo) {
        tracing::debug!(connection = self.id, status = status.code.name(), status.reason, status.message, "status");
        match status.code {
            StatusCode::EncryptionEstablished => {
                self.peer.set_encrypted();
                // Over WSS TLS stands in for the key exchange: none ran, none is counted.
                if !self.session.is_secure_transport() {
                    self.shared.shards.counters().key_exchanges[1].add(1);
                }
            }
            StatusCode::Connect => {}
            // The session ends every close with a Disconnect status; an earlier problem (a read
            // error, a server-side disconnect) says more, so it stays, with the final reason code.
            StatusCode::Disconnect if self.last_status.is_some() => {
                if let Some(first) = self.last_status.as_mut().filter(|first| first.reason == 0) {
                    first.reason = status.reason;
                }
            }
            _ => self.last_status = Some(status),
        }
    }

    /// Takes the statuses the session still holds (whatever else is pending no longer matters:
    /// a call in flight or a move), then writes the close line.
    fn finish(&mut self) {
        while let Some(event) = self.session.poll_event() {
            if let SessionEvent::Status(status) = event {
                self.on_status(status);
            }
        }
        self.log_close();
    }

    /// The one line every connection leaves when it ends: why, how long it lasted, what it moved.
    fn log_close(&self) {
        let stats = self.session.stats();
        let (status, reason, message) = match &self.last_status {
            Some(info) => (info.code.name(), info.reason, info.message.as_str()),
            None => ("Disconnect", 0, ""),
        };
        let keys_failed = self.key_exchange_requested && !self.peer.is_encrypted();
        self.shared.shards.counters().count_close(reason, keys_failed);
        tracing::info!(
            connection = self.id,
            address = %self.slot.address,
            status,
            reason,
            detail = message,
            duration_ms = self.started.elapsed().as_millis() as u64,
            bytes_in = stats.bytes_received,
            bytes_out = stats.bytes_sent,
            "connection closed"
        );
    }

    /// Seals one queued item for this client (`now` is read once per batch). Returns the bytes it
    /// held, for the output budget.
    fn deliver(&mut self, item: Outbound, now: Instant) -> usize {
        self.peer.taken(&item);
        let size = item.size();
        let Outbound::Event { body, options, queued_at } = item;
        self.shared.shards.counters().queue_wait.record(now.saturating_duration_since(queued_at));
        match self.session.send_encoded_event(&body, options) {
            Ok(()) => {}
            Err(SessionError::OutputFull) => {
                self.shared.shards.counters().slow_consumers.add(1);
                tracing::warn!(connection = self.id, "output full: disconnecting slow consumer");
                self.session.disconnect(DisconnectReason::SlowConsumer, "output full: not reading fast enough");
            }
            Err(problem) => tracing::warn!(connection = self.id, %problem, "event not delivered"),
        }
        size
    }

    /// Moves more queued events into the session while the unsent output stays small.
    fn drain_queue(&mut self, outbound: &mut mpsc::Receiver<Outbound>, unsent: usize, now: Instant) -> usize {
        let mut released = 0;
        while unsent + self.session.backlog() < OUTBOUND_HIGH_WATER && !self.session.wants_close() {
            match outbound.try_recv() {
                Ok(item) => released += self.deliver(item, now),
                Err(_) => break,
            }
        }
        released
    }
}

impl Drop for Connection {
    /// A connection task that ends in any way, a panic included, leaves its room.
    fn drop(&mut self) {
        self.leave_room(Leaving::Disconnected);
        self.shared.lobby.leave(self.id);
    }
}

/// Output taken from the session and not yet written.
#[derive(Default)]
struct WriteBuffer {
    data: Vec<u8>,
    written: usize,
}

impl WriteBuffer {
    fn pending(&self) -> &[u8] {
        &self.data[self.written..]
    }

    fn len(&self) -> usize {
        self.data.len() - self.written
    }

    fn advance(&mut self, count: usize) {
        self.written += count;
        if self.written >= self.data.len() {
            if self.data.capacity() > IDLE_WRITE_CAPACITY {
                self.data = Vec::new();
            }
            self.data.clear();
            self.written = 0;
        }
    }

    fn take_from(&mut self, session: &mut Session) {
        if session.pending_output().is_empty() {
            return;
        }
        if self.written > 0 {
            self.data.drain(..self.written);
            self.written = 0;
        }
        session.take_output(&mut self.data);
    }
}

/// What one read did.
enum Read {
    Data,
    /// The read filled the buffer: more is probably waiting.
    Full,
    /// Spurious readiness.
    Nothing,
    Closed(Option<(StatusCode, &'static str)>),
}

/// Reads once into this worker's buffer and feeds the session; charges the bytes to the client.
fn read_once(conn: &mut Connection, stream: &TcpStream) -> Read {
    READ_BUFFER.with_borrow_mut(|buffer| match stream.try_read(buffer) {
        Ok(0) => Read::Closed(None),
        Ok(read) => {
            let now = Instant::now();
            conn.limits.bytes.spend(read as f64, now);
            conn.shared.shards.counters().bytes_in.add(read as u64);
            conn.session.receive(&buffer[..read], now);
            if read == buffer.len() {
                Read::Full
            } else {
                Read::Data
            }
        }
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Read::Nothing,
        Err(_) => Read::Closed(Some((StatusCode::ExceptionOnReceive, "read failed"))),
    })
}

/// Runs one connection until it is closed. The socket is registered with the event loop of the shard
/// this runs on, so its readiness wakes that shard's thread and no other.
pub(crate) async fn serve(
    stream: std::net::TcpStream,
    slot: Slot,
    peer: Arc<Peer>,
    outbound: mpsc::Receiver<Outbound>,
    shutdown: watch::Receiver<bool>,
) {
    let now = Instant::now();
    let session = Session::server(slot.shared.session_config.clone(), slot.shared.keypair.clone(), now);
    let conn = Connection::new(slot, peer, session, now);
    let state = Box::new(Running { conn, output: WriteBuffer::default(), outbound, shutdown, shutting_down: false });
    run_here(stream, state, None).await
}

impl Connection {
    /// The connection ends, whatever its transport: it leaves its room, and nothing more can be
    /// queued for it, so what is still in its queue goes back to the output budget.
    fn depart(&mut self, outbound: &mut mpsc::Receiver<Outbound>) {
        self.leave_room(Leaving::Disconnected);
        outbound.close();
        let mut unclaimed = 0;
        while let Ok(item) = outbound.try_recv() {
            self.peer.taken(&item);
            unclaimed += item.size();
        }
        self.shared.output_budget.release(unclaimed);
    }

    /// The room or the server asked this connection to go.
    fn on_kicked(&mut self, reason: DisconnectReason, message: &str) {
        if reason == DisconnectReason::SlowConsumer {
            self.shared.shards.counters().slow_consumers.add(1);
        }
        self.session.disconnect(reason, message)
    }

    /// The connection's earliest deadline passed: a key exchange's turn, the authentication deadline,
    /// or one of the session's timers.
    fn on_timer(&mut self, now: Instant) {
        if self.key_exchange_at.is_some_and(|at| now >= at) {
            self.admit_key_exchange();
        }
        if self.auth_deadline.is_some_and(|at| now >= at) {
            self.auth_deadline = None;
            tracing::info!(connection = self.id, "not authenticated in time: disconnecting");
            let message = "not authenticated in time (this server does not admit anonymous players)";
            self.session.disconnect(DisconnectReason::ServerLogic, message);
        }
        self.session.handle_timeout(now);
    }

    /// A new connection's state around its session, whatever its transport.
    fn new(slot: Slot, peer: Arc<Peer>, session: Session, now: Instant) -> Self {
        let shared = slot.shared.clone();
        let limits = ClientLimits::new(&shared, now);
        let auth = &shared.config.auth;
        let auth_limit = TokenBucket::new(auth.per_connection_per_second, auth.per_connection_burst, now);
        Connection {
            id: slot.id,
            shared,
            session,
            peer,
            membership: None,
            slot,
            limits,
            key_exchange_at: None,
            client: ClientInfo { app_id: String::new(), app_version: String::new() },
            auth: AuthState::None,
            auth_limit,
            room_request_limit: TokenBucket::new(
                crate::matchmaking::REQUESTS_PER_SECOND,
                crate::matchmaking::REQUEST_BURST,
                now,
            ),
            auth_deadline: None,
            moving: None,
            matchmaking: None,
            started: now,
            last_status: None,
            key_exchange_requested: false,
            auth_once_token: None,
        }
    }
}

/// What a connection carries when it moves to another shard.
struct Running {
    conn: Connection,
    output: WriteBuffer,
    outbound: mpsc::Receiver<Outbound>,
    shutdown: watch::Receiver<bool>,
    shutting_down: bool,
}

/// A join that waits for its connection to reach the room's shard.
pub(crate) struct Move {
    shard: usize,
    request: OperationRequest,
    encrypted: bool,
    delivery: Delivery,
    channel: u8,
}

/// Runs a connection on the shard this is polled on: registers its socket with this shard's loop,
/// answers the join that moved it here (if it moved), and carries on.
fn run_here(
    stream: std::net::TcpStream,
    mut state: Box<Running>,
    join: Option<Move>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let stream = match TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(error) => {
                let conn = &mut state.conn;
                tracing::warn!(connection = conn.id, %error, "could not register the connection: closing it");
                conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "could not register the socket")));
                conn.finish();
                return;
            }
        };
        if let Some(Move { request, encrypted, delivery, channel, .. }) = join {
            ops::handle(&mut state.conn, request, encrypted, delivery, channel);
        }
        run(stream, state).await
    })
}

/// Runs a connection on this shard until it is closed or moves to another shard.
async fn run(mut stream: TcpStream, mut state: Box<Running>) {
    let shared = state.conn.shared.clone();
    let id = state.conn.id;
    let peer = state.conn.peer.clone();
    // One timer for the connection's life on this shard, moved to each new deadline.
    let sleep = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(sleep);
    let mut yield_after_read = false;

    loop {
        let Running { conn, output, outbound, shutdown, shutting_down } = &mut *state;
        conn.handle_session_events();
        output.take_from(&mut conn.session);
        if conn.session.wants_close() || conn.session.is_closed() {
            break;
        }
        if let Some(join) = conn.moving.take() {
            match stream.into_std() {
                Ok(stream) => {
                    tracing::debug!(connection = id, shard = join.shard, "moving to the room's shard");
                    shared.shards.spawn(join.shard, run_here(stream, state, Some(join)));
                }
                Err(error) => {
                    tracing::warn!(connection = id, %error, "could not move the connection: closing it");
                    conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "could not move the socket")));
                    conn.finish();
                }
            }
            return;
        }
        let unsent = output.len();
        let Some(Turn { readable, timer, authenticating, matchmaking }) = conn.turn(unsent) else { continue };
        if std::mem::take(&mut yield_after_read) {
            tokio::task::yield_now().await;
        } else {
            // Every read counts against the task's turn, so a stream of partial reads yields too.
            tokio::task::consume_budget().await;
        }
        if let Some(at) = timer {
            if sleep.deadline().into_std() != at {
                sleep.as_mut().reset(at.into());
            }
        }
        tokio::select! {
            ready = stream.writable(), if unsent > 0 => match ready.and_then(|()| stream.try_write(output.pending())) {
                Ok(0) => conn.session.transport_closed(Some((StatusCode::SendError, "connection closed while writing"))),
                Ok(written) => {
                    output.advance(written);
                    shared.shards.counters().bytes_out.add(written as u64);
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(_) => conn.session.transport_closed(Some((StatusCode::SendError, "write failed"))),
            },
            ready = stream.readable(), if readable => match ready {
                Ok(()) => match read_once(conn, &stream) {
                    Read::Data | Read::Nothing => {}
                    // A client that always has more to read must not keep the others of its shard
                    // waiting: its events are handled, then everyone else on the shard gets a turn.
                    Read::Full => yield_after_read = true,
                    Read::Closed(cause) => conn.session.transport_closed(cause),
                },
                Err(_) => conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "read failed"))),
            },
            item = outbound.recv(), if unsent < OUTBOUND_HIGH_WATER => {
                if let Some(item) = item {
                    let now = Instant::now();
                    let released = conn.deliver(item, now) + conn.drain_queue(outbound, unsent, now);
                    shared.output_budget.release(released);
                }
            }
            outcome = pending_call(&mut conn.auth), if authenticating => authenticate::complete(conn, outcome),
            outcome = crate::matchmaking::pending(&mut conn.matchmaking), if matchmaking => {
                crate::matchmaking::complete(conn, outcome)
            }
            (reason, message) = peer.kicked() => conn.on_kicked(reason, message),
            () = stop_requested(shutdown), if !*shutting_down => {
                *shutting_down = true;
                conn.session.disconnect(DisconnectReason::ServerShutdown, "server shutting down");
            }
            () = &mut sleep, if timer.is_some() => conn.on_timer(Instant::now()),
        }
    }

    let Running { conn, output, outbound, .. } = &mut *state;
    conn.depart(outbound);
    if conn.session.wants_close() {
        output.take_from(&mut conn.session);
        let _ = tokio::time::timeout(FLUSH_LIMIT, close_gracefully(&mut stream, output, &shared.shards)).await;
        conn.session.transport_closed(None);
    }
    conn.finish();
}

/// Writes the final frames, half-closes, then reads until the client closes its side, so the close
/// does not turn into a reset that could discard the final frames before the client reads them.
async fn close_gracefully(stream: &mut TcpStream, output: &mut WriteBuffer, shards: &Shards) {
    while output.len() > 0 {
        match stream.write(output.pending()).await {
            Ok(0) | Err(_) => return,
            Ok(written) => {
                output.advance(written);
                shards.counters().bytes_out.add(written as u64);
            }
        }
    }
    if stream.shutdown().await.is_err() {
        return;
    }
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        let read = READ_BUFFER.with_borrow_mut(|buffer| stream.try_read(buffer));
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// The outcome of the authentication call in flight (the caller polls only while there is one).
async fn pending_call(auth: &mut AuthState) -> Result<crate::auth::WebhookOutcome, tokio::task::JoinError> {
    match auth {
        AuthState::Pending(pending) => (&mut pending.call).await,
        _ => std::future::pending().await,
    }
}
