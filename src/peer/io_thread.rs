//! The peer's background thread: resolve, connect, read, write, run timers, queue results.
//!
//! The thread owns the session outright. It takes the host's requests from the control block (a lock
//! held only for the swap), seals the operations the host encoded, and publishes the session state
//! for the host to read; decoding and socket work never hold a lock the host needs.

use std::io::{self, ErrorKind};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Poll, Token, Waker};

use super::auth::Authenticator;
use super::connect::{Attempts, Lookup};
use super::control::Outbox;
use super::transport::{Target, Transport};
use super::{PeerEvent, Shared};
use crate::protocol::session::{Session, SessionError, SessionEvent, StatusInfo};
use crate::protocol::status::{DisconnectReason, PeerState, StatusCode};

const WAKE: Token = Token(0);
/// Connection attempts use tokens from here on, one per resolved address.
const FIRST_ATTEMPT: usize = 1;
/// One read, fed to the session at once.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read in one turn of the loop before requests, timers and output get their turn again.
const READ_TURN: usize = 256 * 1024;
/// Unsent session output above which the host's operations wait in the outbox (whose own bound then
/// refuses further sends), so a connection that does not drain pushes back on the host.
const OUTPUT_HIGH_WATER: usize = 256 * 1024;
/// How long a closing connection may take to flush its final Disconnect frame.
const CLOSE_LINGER: Duration = Duration::from_millis(500);
/// How long a disconnect the host asked for waits for operations sent before it to be sealed.
const DISCONNECT_WAIT: Duration = Duration::from_secs(1);

type Failure = (StatusCode, String);

pub(crate) fn run(shared: Arc<Shared>, mut session: Session, target: Target, authenticator: Authenticator) {
    let mut driver = Driver {
        shared: &shared,
        session: &mut session,
        published_key: false,
        spare: Outbox::default(),
        disconnect_asked: None,
        authenticator,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| driver.drive(target))).unwrap_or_else(|_| {
        // Whatever went wrong, the host still gets its final statuses and the thread ends cleanly.
        Err((StatusCode::Exception, "internal error on the I/O thread; the connection was closed".to_owned()))
    });
    shared.control.lock().waker = None;
    match &outcome {
        Err((code, message)) => session.transport_closed(Some((*code, message))),
        Ok(()) => session.transport_closed(None),
    }
    let mut driver = Driver {
        shared: &shared,
        session: &mut session,
        published_key: true,
        spare: Outbox::default(),
        disconnect_asked: None,
        authenticator: Authenticator::none(),
    };
    // Disconnected before the final statuses are delivered: a host that reconnects on seeing them
    // finds only this thread's last few steps left to wait for (Peer::connect_with joins it).
    shared.board.set_state(PeerState::Disconnected);
    driver.deliver();
    shared.results.set_live(false);
}

fn failure(code: StatusCode) -> impl Fn(io::Error) -> Failure {
    move |error| (code, error.to_string())
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
}

impl Driver<'_> {
    fn drive(&mut self, target: Target) -> Result<(), Failure> {
        let mut poll = Poll::new().map_err(failure(StatusCode::Exception))?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(failure(StatusCode::Exception))?);
        self.shared.control.lock().waker = Some(waker.clone());
        let Some(mut stream) = self.establish(&mut poll, &target, waker)? else {
            return Ok(());
        };
        self.pump(&mut poll, &mut stream)
    }

    /// Resolves and connects, running the session's timers and the host's requests meanwhile. `None`
    /// when the session ended first (shutdown, disconnect or the connect deadline).
    fn establish(&mut self, poll: &mut Poll, target: &Target, waker: Arc<Waker>) -> Result<Option<TcpStream>, Failure> {
        let mut events = Events::with_capacity(16);
        let mut lookup = Lookup::start(&self.shared.config.resolver, target, waker);
        let mut attempts: Option<Attempts> = None;
        loop {
            let now = Instant::now();
            if attempts.is_none() {
                match lookup.poll() {
                    Some(Ok(addresses)) if addresses.is_empty() => {
                        let message = format!("no address found for {}", target.host);
                        return Err((StatusCode::DnsExceptionOnConnect, message));
                    }
                    Some(Ok(addresses)) => attempts = Some(Attempts::new(addresses, FIRST_ATTEMPT, now)),
                    Some(Err(error)) => {
                        let message = format!("cannot resolve {}: {error}", target.host);
                        return Err((StatusCode::DnsExceptionOnConnect, message));
                    }
                    None => {}
                }
            }
            if let Some(attempts) = attempts.as_mut() {
                attempts.start_due(poll.registry(), now);
                if let Some(stream) = attempts.check(|token| events.iter().any(|event| event.token() == token)) {
                    return Ok(Some(stream));
                }
                if attempts.exhausted() {
                    return Err((StatusCode::ExceptionOnConnect, format!("cannot connect: {}", attempts.report())));
                }
            }
            // Only the shutdown and disconnect requests apply before the transport exists.
            self.take_requests(false);
            self.session.handle_timeout(now);
            self.deliver();
            if self.session.wants_close() || self.session.is_closed() {
                return Ok(None);
            }
            let next_attempt = attempts.as_ref().and_then(Attempts::next_start);
            let timeout = [self.session.poll_timeout(), next_attempt].into_iter().flatten().min();
            wait(poll, &mut events, timeout)?;
            self.shared.wake.clear();
        }
    }

    fn pump(&mut self, poll: &mut Poll, stream: &mut impl Transport) -> Result<(), Failure> {
        #[cfg(test)]
        if testing::PANIC_WHEN_CONNECTED.load(std::sync::atomic::Ordering::Relaxed) {
            panic!("injected by a test");
        }
        let mut events = Events::with_capacity(8);
        let mut read_buffer = vec![0u8; READ_CHUNK];
        let mut outgoing = Outgoing::default();
        let mut close_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let (end_of_stream, more_to_read) = self.read_turn(stream, &mut read_buffer, now)?;
            let shutdown = self.take_requests(true);
            self.session.handle_timeout(now);
            // Queuing results may close the session (a host that lets its queue overflow), so the
            // output is taken after it.
            self.deliver();
            outgoing.take_from(self.session);
            outgoing.write_to(stream)?;
            if self.session.wants_close() {
                let deadline = *close_deadline.get_or_insert(now + CLOSE_LINGER);
                if outgoing.is_empty() || now >= deadline || shutdown {
                    stream.close();
                    return Ok(());
                }
            }
            if end_of_stream || self.session.is_closed() {
                return Ok(());
            }
            // Edge-triggered readiness: data left unread brings no new event, so come straight back.
            let timeout = if more_to_read {
                Some(now)
            } else {
                [self.session.poll_timeout(), close_deadline].into_iter().flatten().min()
            };
            wait(poll, &mut events, timeout)?;
            self.shared.wake.clear();
        }
    }

    /// Applies the host's requests: disconnect and shutdown always, the key exchange and operations
    /// once `connected`. Returns whether shutdown was asked for.
    fn take_requests(&mut self, connected: bool) -> bool {
        let mut outbox = std::mem::take(&mut self.spare);
        let (shutdown, disconnect, establish) = {
            let mut control = self.shared.control.lock();
            let establish = connected && std::mem::take(&mut control.establish_encryption);
            if connected {
                std::mem::swap(&mut control.outbox, &mut outbox);
            }
            (control.shutdown, control.disconnect, establish)
        };
        let open = !self.session.wants_close() && !self.session.is_closed();
        if shutdown && open {
            // Teardown does not wait for anything still queued.
            self.session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
        }
        if establish {
            if let Err(error) = self.session.establish_encryption(Instant::now()) {
                self.report_send_error(&error);
            }
        }
        let mut all_sealed = true;
        if !outbox.is_empty() {
            let sent = self.seal(&outbox);
            if sent < outbox.ops.len() {
                all_sealed = false;
                let consumed: usize = outbox.ops[..sent].iter().map(|op| op.len).sum();
                outbox.data.drain(..consumed);
                outbox.ops.drain(..sent);
                self.shared.control.lock().outbox.put_back(std::mem::take(&mut outbox));
            }
        }
        outbox.data.clear();
        outbox.ops.clear();
        self.spare = outbox;
        // A disconnect comes after the operations sent before it: it waits until they are sealed,
        // for at most DISCONNECT_WAIT when the connection does not drain.
        if disconnect && !self.session.wants_close() && !self.session.is_closed() {
            let asked = *self.disconnect_asked.get_or_insert_with(Instant::now);
            if all_sealed || asked.elapsed() >= DISCONNECT_WAIT {
                if !all_sealed {
                    let unsent = std::mem::take(&mut self.shared.control.lock().outbox).ops.len();
                    self.report_send_failure(format!(
                        "{unsent} operations were not sent: the connection did not drain before the disconnect"
                    ));
                }
                self.session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
            }
        }
        shutdown
    }

    /// Seals the host's operations into the session's output while it stays below the high-water
    /// mark. Returns how many were taken.
    fn seal(&mut self, outbox: &Outbox) -> usize {
        let mut at = 0;
        for (index, op) in outbox.ops.iter().enumerate() {
            if self.session.wants_close() || self.session.is_closed() {
                let unsent = outbox.ops.len() - index;
                self.report_send_failure(format!("{unsent} operations were not sent: the connection is closing"));
                return outbox.ops.len();
            }
            if self.session.pending_output().len() >= OUTPUT_HIGH_WATER {
                return index;
            }
            let body = &outbox.data[at..at + op.len];
            at += op.len;
            if let Err(error) = self.session.send_encoded_operation(body, op.options) {
                // The host was told Ok, so it hears of the failure as a status, never silence.
                self.report_send_error(&error);
            }
        }
        outbox.ops.len()
    }

    fn report_send_error(&mut self, error: &SessionError) {
        self.report_send_failure(error.to_string());
    }

    /// The host was told Ok for something that then failed: it hears of it as a status.
    fn report_send_failure(&mut self, message: String) {
        let status = StatusInfo { code: StatusCode::SendError, reason: 0, message };
        let _ = self.shared.results.push([PeerEvent::Status(status)]);
    }

    /// Moves the session's results to the host queue and publishes its state. A host that lets the
    /// queue overflow is disconnected with a clear status rather than losing results silently.
    fn deliver(&mut self) {
        let board = &self.shared.board.auth;
        let mut encrypted_now = false;
        let batch: Vec<PeerEvent> = std::iter::from_fn(|| self.session.poll_event())
            .filter_map(|event| match event {
                SessionEvent::Status(info) => {
                    encrypted_now |= info.code == StatusCode::EncryptionEstablished;
                    Some(PeerEvent::Status(info))
                }
                SessionEvent::OperationResponse { response, encrypted } => {
                    self.authenticator.on_response(&response, board);
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

    /// Reads what the socket holds, up to [`READ_TURN`] bytes, feeding each chunk to the session.
    /// Returns (end of stream, turn full: more may be waiting).
    fn read_turn(
        &mut self,
        stream: &mut impl Transport,
        buffer: &mut [u8],
        now: Instant,
    ) -> Result<(bool, bool), Failure> {
        let mut total = 0;
        loop {
            match stream.read(buffer) {
                Ok(0) => return Ok((true, false)),
                Ok(read) => {
                    self.session.receive(&buffer[..read], now);
                    self.deliver();
                    total += read;
                    if self.session.wants_close() {
                        return Ok((false, false));
                    }
                    if total >= READ_TURN {
                        return Ok((false, true));
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok((false, false)),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err((StatusCode::ExceptionOnReceive, error.to_string())),
            }
        }
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

/// Output taken from the session and not yet written.
#[derive(Default)]
struct Outgoing {
    data: Vec<u8>,
    written: usize,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.written == self.data.len()
    }

    fn take_from(&mut self, session: &mut Session) {
        if self.is_empty() {
            self.data.clear();
            self.written = 0;
        }
        session.take_output(&mut self.data);
    }

    /// Writes until done or the socket is full.
    fn write_to(&mut self, stream: &mut impl Transport) -> Result<(), Failure> {
        while !self.is_empty() {
            match stream.write(&self.data[self.written..]) {
                Ok(written) => self.written += written,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err((StatusCode::SendError, error.to_string())),
            }
        }
        Ok(())
    }
}

/// Failure injection for the panic boundary's test.
#[cfg(test)]
pub(crate) mod testing {
    pub(crate) static PANIC_WHEN_CONNECTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
}
