//! The client peer: a [`Session`] driven by a background I/O thread, with results queued for the host.
//!
//! The I/O thread owns the socket, runs the key exchange, pings and timeouts, so a host that stops
//! servicing (a loading screen) keeps its connection. Everything it learns is queued; the host drains
//! the queue with [`Peer::poll_event`] on its own thread, which is where callbacks run in the C ABI.

mod io_thread;
mod transport;

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::Mutex;

use crate::protocol::codec::Params;
use crate::protocol::message::{EventData, OperationRequest, OperationResponse};
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::{Session, SessionConfig, SessionError, SessionEvent, StatusInfo};
use crate::protocol::status::{DisconnectReason, PeerState, StatusCode};

pub use transport::{Transport, TransportKind};

/// Settings of a client peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    pub session: SessionConfig,
    /// Results held for the host before the peer gives up on it and disconnects (bounded memory).
    pub max_queued_events: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig { session: SessionConfig::default(), max_queued_events: 65_536 }
    }
}

/// What the host receives, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    Status(StatusInfo),
    OperationResponse { response: OperationResponse, encrypted: bool },
    Event { event: EventData, encrypted: bool },
}

/// Why a peer command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// `connect` while a connection is active.
    AlreadyConnected,
    /// The address could not be parsed as host:port.
    InvalidAddress,
    /// The I/O thread could not be started.
    Io(String),
    Session(SessionError),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::AlreadyConnected => f.write_str("already connected; disconnect first"),
            PeerError::InvalidAddress => f.write_str("address must be host:port"),
            PeerError::Io(message) => write!(f, "I/O error: {message}"),
            PeerError::Session(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PeerError {}

impl From<SessionError> for PeerError {
    fn from(error: SessionError) -> Self {
        PeerError::Session(error)
    }
}

/// State shared between the host and the I/O thread.
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    pub(crate) config: PeerConfig,
}

pub(crate) struct Inner {
    pub(crate) session: Option<Session>,
    pub(crate) events: VecDeque<PeerEvent>,
    pub(crate) waker: Option<Arc<mio::Waker>>,
    pub(crate) shutdown: bool,
}

/// A client connection to a sealnet server.
pub struct Peer {
    shared: Arc<Shared>,
    io_thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl Peer {
    pub fn new(config: PeerConfig) -> Self {
        Peer {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner { session: None, events: VecDeque::new(), waker: None, shutdown: false }),
                config,
            }),
            io_thread: Mutex::new(None),
        }
    }

    /// Starts connecting over TCP to `address` ("host:port"). Progress arrives as status events:
    /// Connect (1024), then EncryptionEstablished (1048) when the automatic key exchange is on.
    pub fn connect(&self, address: &str, app_id: &str) -> Result<(), PeerError> {
        let mut thread_slot = self.io_thread.lock();
        if let Some(handle) = thread_slot.as_ref() {
            if !handle.is_finished() {
                return Err(PeerError::AlreadyConnected);
            }
        }
        if let Some(handle) = thread_slot.take() {
            let _ = handle.join();
        }
        let target = transport::Target::parse(address).ok_or(PeerError::InvalidAddress)?;
        let now = Instant::now();
        let mut session = Session::client(self.shared.config.session.clone(), now);
        session.connect(app_id, concat!("sealnet-", env!("CARGO_PKG_VERSION")), now)?;
        {
            let mut inner = self.shared.inner.lock();
            inner.session = Some(session);
            inner.shutdown = false;
        }
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("sealnet-io".into())
            .spawn(move || io_thread::run(shared, target))
            .map_err(|error| PeerError::Io(error.to_string()))?;
        *thread_slot = Some(handle);
        Ok(())
    }

    /// Starts the key exchange (when automatic exchange is off).
    pub fn establish_encryption(&self) -> Result<(), PeerError> {
        self.with_session(|session| session.establish_encryption(Instant::now()))
    }

    /// Queues an operation; safe from any thread. Encryption needs a completed key exchange.
    pub fn send_operation(&self, request: &OperationRequest, options: SendOptions) -> Result<(), PeerError> {
        self.with_session(|session| session.send_operation(request, options))
    }

    /// As [`send_operation`](Self::send_operation), with the parameters borrowed (no copy).
    pub fn send_operation_parts(&self, op_code: u8, params: &Params, options: SendOptions) -> Result<(), PeerError> {
        self.with_session(|session| session.send_operation_parts(op_code, params, options))
    }

    /// Asks the server to end the connection; a Disconnect status follows.
    pub fn disconnect(&self) {
        let _ = self.with_session(|session| {
            session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
            Ok(())
        });
    }

    /// The next queued result, if any. Never blocks.
    pub fn poll_event(&self) -> Option<PeerEvent> {
        self.shared.inner.lock().events.pop_front()
    }

    /// Moves every queued result into `into` with one lock acquisition.
    pub fn drain_events(&self, into: &mut VecDeque<PeerEvent>) {
        let mut inner = self.shared.inner.lock();
        if into.is_empty() {
            std::mem::swap(into, &mut inner.events);
        } else {
            into.extend(inner.events.drain(..));
        }
    }

    pub fn state(&self) -> PeerState {
        self.shared.inner.lock().session.as_ref().map_or(PeerState::Disconnected, Session::state)
    }

    /// The server's static key, once the key exchange succeeded.
    pub fn server_public_key(&self) -> Option<[u8; 32]> {
        self.shared.inner.lock().session.as_ref().and_then(|s| s.remote_static_key().copied())
    }

    /// Stops the I/O thread (sending Disconnect when connected) and waits for it. Idempotent.
    pub fn shutdown(&self) {
        let mut thread_slot = self.io_thread.lock();
        {
            let mut inner = self.shared.inner.lock();
            inner.shutdown = true;
            if let Some(waker) = inner.waker.as_ref() {
                let _ = waker.wake();
            }
        }
        if let Some(handle) = thread_slot.take() {
            let _ = handle.join();
        }
    }

    fn with_session(&self, action: impl FnOnce(&mut Session) -> Result<(), SessionError>) -> Result<(), PeerError> {
        let mut inner = self.shared.inner.lock();
        let session = inner.session.as_mut().ok_or(SessionError::NotConnected)?;
        if session.is_closed() {
            return Err(SessionError::NotConnected.into());
        }
        action(session)?;
        if let Some(waker) = inner.waker.as_ref() {
            let _ = waker.wake();
        }
        Ok(())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    /// Moves the session's results to the host queue. A host that lets the queue overflow is
    /// disconnected with a clear status rather than losing events silently.
    pub(crate) fn collect_events(&mut self, limit: usize) {
        let Some(session) = self.session.as_mut() else { return };
        let mut overflow_reported = false;
        while let Some(event) = session.poll_event() {
            let event = match event {
                SessionEvent::Status(info) => PeerEvent::Status(info),
                SessionEvent::OperationResponse { response, encrypted } => {
                    PeerEvent::OperationResponse { response, encrypted }
                }
                SessionEvent::Event { event, encrypted } => PeerEvent::Event { event, encrypted },
                // Server-role events never occur in a client session.
                _ => continue,
            };
            if self.events.len() >= limit && !matches!(event, PeerEvent::Status(_)) {
                // Reported once; what arrives after the failure belongs to a connection being closed.
                if !overflow_reported {
                    overflow_reported = true;
                    session.disconnect(DisconnectReason::SlowConsumer, "client event queue full");
                    self.events.push_back(PeerEvent::Status(StatusInfo {
                        code: StatusCode::Exception,
                        reason: DisconnectReason::SlowConsumer as u16,
                        message: format!("event queue full ({limit} events): the host is not servicing the peer"),
                    }));
                }
                continue;
            }
            self.events.push_back(event);
        }
    }
}
