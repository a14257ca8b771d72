//! The peer's background thread: resolve, connect, read, write, run timers, queue results.
//!
//! The thread owns the session outright. It takes the host's requests from the control block (a lock
//! held only for the swap), seals the operations the host encoded, and publishes the session state
//! for the host to read; decoding and socket work never hold a lock the host needs.
//!
//! One loop serves every transport: [`Driver::establish`] resolves the name and opens the transport
//! while the session's deadline and the host's requests keep running, then [`Driver::pump`] reads,
//! takes requests, runs timers, delivers results and writes, turn after turn. What differs between
//! TCP, UDP and WSS is behind [`Opening`] (from addresses to a connected socket) and [`Wire`]
//! (reading, writing and closing that socket), in [`stream`], [`datagram`] and [`websocket`].

mod datagram;
mod requests;
mod stream;
mod websocket;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token, Waker};

use super::auth::Authenticator;
use super::connect::Lookup;
use super::control::Outbox;
use super::tls::Trust;
use super::transport::{Target, WebSocketTarget};
use super::{PeerEvent, Shared};
use crate::protocol::session::{Session, SessionEvent, StatusInfo};
use crate::protocol::status::{DisconnectReason, PeerState, StatusCode};

const WAKE: Token = Token(0);
/// Sockets use tokens from here on: one per connection attempt (TCP tries several addresses).
const FIRST_SOCKET: usize = 1;
/// Bytes read in one turn of the loop before requests, timers and output get their turn again.
const READ_TURN: usize = 256 * 1024;
/// Output held for sending (`Session::backlog`, plus what the socket has not taken) above which the
/// host's operations wait in the outbox (whose own bound then refuses further sends), so a
/// connection that does not drain pushes back on the host.
const OUTPUT_HIGH_WATER: usize = 256 * 1024;
/// How long a closing connection may take to flush its final Disconnect.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// A status code and message that end the connection.
type Failure = (StatusCode, String);

/// Where a connection goes, and over what.
pub(crate) enum Route {
    Tcp(Target),
    Udp(Target),
    WebSocketSecure { server: WebSocketTarget, trust: Trust },
}

impl Route {
    /// The host and port to resolve.
    fn target(&self) -> &Target {
        match self {
            Route::Tcp(target) | Route::Udp(target) => target,
            Route::WebSocketSecure { server, .. } => &server.target,
        }
    }
}

/// How a transport gets from the resolved addresses to a connected socket.
trait Opening {
    type Wire: Wire;

    /// The resolver's answer (never empty).
    fn start(&mut self, addresses: Vec<SocketAddr>, registry: &Registry, now: Instant) -> Result<(), Failure>;

    /// Progress after a wake-up (`events` says which sockets are ready): the socket once connected.
    fn poll(&mut self, registry: &Registry, events: &Events, now: Instant) -> Result<Option<Self::Wire>, Failure>;

    /// When `poll` must run again even without readiness.
    fn next_due(&self) -> Option<Instant>;
}

/// What the loop does with a connected socket.
trait Wire {
    /// Reads what the socket holds (bounded per turn), feeding the session through the driver.
    fn read_turn(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<ReadTurn, Failure>;

    /// Sends what the session has to send, as far as the socket takes it now.
    fn write(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<(), Failure>;

    /// Bytes taken from the session and not yet accepted by the socket.
    fn unsent(&self) -> usize;

    /// Ends the connection's traffic cleanly once the last bytes are out.
    fn close(&mut self);
}

/// How a read turn ended.
#[derive(Debug, Clone, Copy, Default)]
struct ReadTurn {
    /// The remote end closed the stream: nothing more will arrive.
    ended: bool,
    /// The turn's budget ran out with data possibly left: come straight back (readiness is
    /// edge-triggered, so data left unread brings no new event).
    more: bool,
}

pub(crate) fn run(shared: Arc<Shared>, mut session: Session, route: Route, authenticator: Authenticator) {
    let mut driver = Driver::new(&shared, &mut session, authenticator);
    let outcome = catch_unwind(AssertUnwindSafe(|| driver.drive(route))).unwrap_or_else(|_| {
        // Whatever went wrong, the host still gets its final statuses and the thread ends cleanly.
        Err((StatusCode::Exception, "internal error on the I/O thread; the connection was closed".to_owned()))
    });
    shared.control.lock().waker = None;
    match &outcome {
        Err((code, message)) => session.transport_closed(Some((*code, message))),
        Ok(()) => session.transport_closed(None),
    }
    let mut driver = Driver::new(&shared, &mut session, Authenticator::none());
    driver.published_key = true;
    // Disconnected before the final statuses are delivered: a host that reconnects on seeing them
    // finds only this thread's last few steps left to wait for (Peer::connect_with joins it).
    shared.board.set_state(PeerState::Disconnected);
    driver.deliver();
    shared.results.set_live(false);
}

struct Driver<'a> {
    shared: &'a Shared,
    session: &'a mut Session,
    published_key: bool,
    /// The outbox the host does not hold: swapped with the host's on each turn, so both keep their
    /// capacity and a steady stream of sends allocates nothing.
    spare: Outbox,
    /// When the host asked to disconnect, while operations sent before it still wait to be sealed.
    disconnect_asked: Option<Instant>,
    authenticator: Authenticator,
    /// Output the wire holds that the socket has not taken yet, as of the last write: counted against
    /// the high-water mark with the session's own, so a stalled socket stops the sealing.
    unsent: usize,
    /// UDP datagrams the server's address refused (ICMP port unreachable), to explain a timeout.
    refused_datagrams: u64,
}

impl<'a> Driver<'a> {
    fn new(shared: &'a Shared, session: &'a mut Session, authenticator: Authenticator) -> Self {
        Driver {
            shared,
            session,
            published_key: false,
            spare: Outbox::default(),
            disconnect_asked: None,
            authenticator,
            unsent: 0,
            refused_datagrams: 0,
        }
    }

    fn drive(&mut self, route: Route) -> Result<(), Failure> {
        let started = Instant::now();
        let mut poll = Poll::new().map_err(|error| (StatusCode::Exception, error.to_string()))?;
        let waker = Waker::new(poll.registry(), WAKE).map_err(|error| (StatusCode::Exception, error.to_string()))?;
        let waker = Arc::new(waker);
        self.shared.control.lock().waker = Some(waker.clone());
        let target = route.target().clone();
        let lookup = Lookup::start(&self.shared.config.resolver, &target, waker);
        match route {
            Route::Tcp(_) => self.connect(&mut poll, &target, lookup, stream::Opening::new(FIRST_SOCKET), started),
            Route::Udp(_) => {
                self.connect(&mut poll, &target, lookup, datagram::Opening::new(Token(FIRST_SOCKET)), started)
            }
            Route::WebSocketSecure { server, trust } => {
                let max_body = self.session.config().max_frame_body;
                let opening = websocket::Opening::new(FIRST_SOCKET, server, trust, max_body);
                self.connect(&mut poll, &target, lookup, opening, started)
            }
        }
    }

    fn connect(
        &mut self,
        poll: &mut Poll,
        target: &Target,
        lookup: Lookup,
        opening: impl Opening,
        started: Instant,
    ) -> Result<(), Failure> {
        match self.establish(poll, target, lookup, opening, started)? {
            Some(mut wire) => self.pump(poll, &mut wire),
            None => Ok(()),
        }
    }

    /// Resolves and opens the transport, running the session's deadline and the host's requests
    /// meanwhile. `None` when the session ended first (shutdown, disconnect or the connect deadline).
    fn establish<O: Opening>(
        &mut self,
        poll: &mut Poll,
        target: &Target,
        mut lookup: Lookup,
        mut opening: O,
        started: Instant,
    ) -> Result<Option<O::Wire>, Failure> {
        let mut events = Events::with_capacity(16);
        let mut resolved = false;
        // Before the transport exists the session's output cannot go anywhere, so its send timers
        // (a datagram session's Initial is due at once) would only spin this loop: what counts is
        // the connect deadline, which the session enforces when handle_timeout runs at or after it.
        let config = self.session.config();
        let deadline = started + config.connect_timeout.min(config.disconnect_timeout);
        loop {
            let now = Instant::now();
            if !resolved {
                match lookup.poll() {
                    Some(Ok(addresses)) if addresses.is_empty() => {
                        let message = format!("no address found for {}", target.host);
                        return Err((StatusCode::DnsExceptionOnConnect, message));
                    }
                    Some(Ok(addresses)) => {
                        opening.start(addresses, poll.registry(), now)?;
                        resolved = true;
                    }
                    Some(Err(error)) => {
                        let message = format!("cannot resolve {}: {error}", target.host);
                        return Err((StatusCode::DnsExceptionOnConnect, message));
                    }
                    None => {}
                }
            }
            if resolved {
                if let Some(wire) = opening.poll(poll.registry(), &events, now)? {
                    return Ok(Some(wire));
                }
            }
            // Only the shutdown and disconnect requests apply before the transport exists.
            self.take_requests(false);
            self.session.handle_timeout(now);
            self.deliver();
            if self.session.wants_close() || self.session.is_closed() {
                return Ok(None);
            }
            let timeout = [Some(deadline), opening.next_due()].into_iter().flatten().min();
            wait(poll, &mut events, timeout)?;
            self.shared.wake.clear();
        }
    }

    /// Runs the connection until it ends: read, take requests, run timers, deliver, write.
    fn pump(&mut self, poll: &mut Poll, wire: &mut impl Wire) -> Result<(), Failure> {
        #[cfg(test)]
        if testing::PANIC_WHEN_CONNECTED.load(std::sync::atomic::Ordering::Relaxed) {
            panic!("injected by a test");
        }
        let mut events = Events::with_capacity(8);
        let mut close_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let turn = wire.read_turn(self, now)?;
            let shutdown = self.take_requests(true);
            self.session.handle_timeout(now);
            // Queuing results may close the session (a host that lets its queue overflow), so the
            // output is taken after it.
            self.deliver();
            wire.write(self, now)?;
            self.unsent = wire.unsent();
            if self.session.wants_close() {
                // The final Disconnect goes out before the socket closes, unless the socket will not
                // take it within the linger or the host is tearing the peer down.
                let deadline = *close_deadline.get_or_insert(now + CLOSE_LINGER);
                if self.unsent == 0 || now >= deadline || shutdown {
                    wire.close();
                    return Ok(());
                }
            }
            if turn.ended || self.session.is_closed() {
                return Ok(());
            }
            // While the socket will not take what is ready, a timer already due (an acknowledgement, a
            // resend) waits for the socket to be writable rather than spin the loop.
            let session_timer = self.session.poll_timeout().filter(|at| self.unsent == 0 || *at > now);
            let timeout =
                if turn.more { Some(now) } else { [session_timer, close_deadline].into_iter().flatten().min() };
            wait(poll, &mut events, timeout)?;
            self.shared.wake.clear();
        }
    }

    /// Stream bytes from the socket, for the session. Returns whether to keep reading.
    fn take_bytes(&mut self, bytes: &[u8], now: Instant) -> bool {
        self.session.receive(bytes, now);
        self.deliver();
        !self.session.wants_close()
    }

    /// One whole WebSocket message from the socket, for the session. Returns whether to keep reading.
    fn take_message(&mut self, message: &[u8], now: Instant) -> bool {
        self.session.receive_message(message, now);
        self.deliver();
        !self.session.wants_close()
    }

    /// One datagram from the socket, for the session (opened in place). Returns whether to keep
    /// reading.
    fn take_datagram(&mut self, datagram: &mut [u8], from: SocketAddr, now: Instant) -> bool {
        self.session.receive_datagram(datagram, from, now);
        self.deliver();
        !self.session.wants_close()
    }

    /// Moves the session's results to the host queue and publishes its state. A host that lets the
    /// queue overflow is disconnected with a clear status rather than losing results silently.
    fn deliver(&mut self) {
        let board = &self.shared.board.auth;
        let mut encrypted_now = false;
        let refused = self.refused_datagrams;
        let batch: Vec<PeerEvent> = std::iter::from_fn(|| self.session.poll_event())
            .filter_map(|event| match event {
                SessionEvent::Status(mut info) => {
                    encrypted_now |= info.code == StatusCode::EncryptionEstablished;
                    if info.reason == DisconnectReason::TokenRefused as u16 {
                        self.authenticator.on_token_refused(board);
                    }
                    explain_timeout(&mut info, refused);
                    Some(PeerEvent::Status(info))
                }
                SessionEvent::OperationResponse { mut response, encrypted } => {
                    self.authenticator.on_response(&mut response, encrypted, board);
                    Some(PeerEvent::OperationResponse { response, encrypted })
                }
                SessionEvent::Event { event, encrypted } => {
                    self.authenticator.on_event(&event, board);
                    Some(PeerEvent::Event { event, encrypted })
                }
                // Server-role results never occur in a client session.
                _ => None,
            })
            .collect();
        // Authenticate goes out before the host hears that encryption is up, so anything the host
        // sends on hearing it comes after.
        if encrypted_now {
            if let Err(error) = self.authenticator.on_encrypted(self.session, board) {
                self.report_send_error(&error);
            }
        }
        if !self.published_key {
            if let Some(key) = self.session.remote_static_key() {
                self.shared.board.set_server_key(Some(*key));
                self.published_key = true;
            }
        }
        self.shared.board.set_protocol_version(self.session.negotiated_version().unwrap_or(0));
        self.shared.board.set_state(self.session.state());
        self.publish_stats();
        if batch.is_empty() {
            return;
        }
        let Err(overflow) = self.shared.results.push(batch) else { return };
        if self.session.wants_close() || self.session.is_closed() {
            return;
        }
        self.session.disconnect(DisconnectReason::SlowConsumer, "client result queue full");
        let message = format!("{overflow}: the host is not servicing the peer");
        let status = StatusInfo { code: StatusCode::Exception, reason: DisconnectReason::SlowConsumer as u16, message };
        let _ = self.shared.results.push([PeerEvent::Status(status)]);
        self.shared.board.set_state(self.session.state());
    }

    fn publish_stats(&self) {
        let now = Instant::now();
        let server_time = self.session.server_time_ms(now).map(|ms| (now, ms));
        self.shared.board.set_stats(super::control::Published { stats: self.session.stats(), server_time });
    }
}

/// A UDP connection times out where TCP would have been refused at once: when the server's address
/// answered with ICMP port unreachable, the timeout says so, which points at a wrong port or a server
/// that is not running rather than at the network.
fn explain_timeout(info: &mut StatusInfo, refused_datagrams: u64) {
    if info.code == StatusCode::TimeoutDisconnect && refused_datagrams > 0 {
        info.message.push_str(&format!(
            " ({refused_datagrams} datagrams were refused by the server's address (ICMP port unreachable): \
             is a server listening on that UDP port?)"
        ));
    }
}

fn wait(poll: &mut Poll, events: &mut Events, until: Option<Instant>) -> Result<(), Failure> {
    let timeout = until.map(|at| at.saturating_duration_since(Instant::now()));
    match poll.poll(events, timeout) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::Interrupted => Ok(()),
        Err(error) => Err((StatusCode::Exception, error.to_string())),
    }
}

/// Failure injection for the panic boundary's test.
#[cfg(test)]
pub(crate) mod testing {
    pub(crate) static PANIC_WHEN_CONNECTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: StatusCode) -> StatusInfo {
        StatusInfo { code, reason: 0, message: "connect timed out".into() }
    }

    #[test]
    fn a_timeout_after_refused_datagrams_says_so() {
        let mut info = status(StatusCode::TimeoutDisconnect);
        explain_timeout(&mut info, 3);
        assert!(info.message.starts_with("connect timed out (3 datagrams were refused"), "{}", info.message);
        let mut untouched = status(StatusCode::TimeoutDisconnect);
        explain_timeout(&mut untouched, 0);
        assert_eq!(untouched.message, "connect timed out");
        let mut other = status(StatusCode::Disconnect);
        explain_timeout(&mut other, 3);
        assert_eq!(other.message, "connect timed out");
    }
}
