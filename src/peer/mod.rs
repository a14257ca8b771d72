//! The client peer: a [`Session`] driven by a background I/O thread, with results queued for the host.
//!
//! The I/O thread owns the socket (TCP, UDP, or TLS and WebSocket for WSS), runs the key exchange,
//! pings and timeouts, so a host that stops servicing (a loading screen) keeps its connection.
//! Everything it learns is queued; the host drains the queue with [`Peer::poll_event`] on its own
//! thread, which is where callbacks run in the C ABI, and may block in [`Peer::wait`] until something
//! arrives.

mod auth;
mod connect;
mod control;
mod io_thread;
mod results;
mod tls;
mod transport;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::auth::{AuthValues, AuthValuesError, ServerToken};
use crate::protocol::codec::Params;
use crate::protocol::datagram::DatagramConfig;
use crate::protocol::message::{EventData, OperationRequest, OperationResponse};
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::{
    check_encoded_operation, check_operation, AuthOnceCredentials, Session, SessionConfig, SessionError, SessionStats,
    StatusInfo, Transport as SessionTransport,
};
use crate::protocol::status::PeerState;

pub use auth::AuthState;
pub use connect::Resolver;
pub use results::WaitOutcome;
pub use tls::{certificate_fingerprint, CertificateCheck};
pub use transport::{Transport, TransportKind};

/// Whether `address` is one `connect` takes: "host:port" or "[v6]:port" (the host is resolved later).
pub fn is_address(address: &str) -> bool {
    transport::Target::parse(address).is_some()
}

/// Where a connect goes: "host:port" (or "[v6]:port") for TCP and UDP, a `wss://` URL for WSS.
enum RouteTarget {
    Address(transport::Target),
    WebSocket(transport::WebSocketTarget),
}

fn route_target(transport: TransportKind, address: &str) -> Result<RouteTarget, PeerError> {
    match transport {
        TransportKind::WebSocketSecure => {
            transport::WebSocketTarget::parse(address).map(RouteTarget::WebSocket).map_err(PeerError::InvalidUrl)
        }
        TransportKind::Tcp | TransportKind::Udp => {
            transport::Target::parse(address).map(RouteTarget::Address).ok_or(PeerError::InvalidAddress)
        }
    }
}

/// Settings of a client peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// The settings of each connection's session. Its `transport` is set by the transport each
    /// connect chooses ([`Peer::connect_over`]): a stream for TCP, datagrams for UDP, with the
    /// [`DatagramConfig`] given here if there is one (the defaults otherwise).
    pub session: SessionConfig,
    /// Results held for the host before the peer gives up on it and disconnects (bounded memory).
    pub max_queued_events: usize,
    /// Decoded bytes of results held for the host (see [`crate::protocol::codec::decoded_size`]),
    /// bounded for the same reason: the server, or anyone on the path before the key exchange,
    /// chooses how large each result is.
    pub max_queued_bytes: usize,
    /// Turns the host name of `connect` into addresses.
    pub resolver: Resolver,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            session: SessionConfig::default(),
            max_queued_events: 65_536,
            max_queued_bytes: 32 * 1024 * 1024,
            resolver: Resolver::default(),
        }
    }
}

/// Which server key a connection requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinChoice {
    /// The pin of the peer's configuration, if it has one.
    AsConfigured,
    /// This key, for this connection.
    Key([u8; 32]),
    /// No pin for this connection.
    None,
}

/// What one connection uses.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions<'a> {
    /// "host:port" or "[v6]:port"; for WSS a `wss://host[:port][/path]` URL.
    pub address: &'a str,
    pub app_id: &'a str,
    /// The game's version, sent in Connect (at most 32 bytes); `None` sends the library's.
    pub app_version: Option<&'a str>,
    pub pin: PinChoice,
    /// Authenticate with these right after the key exchange (which must be automatic).
    pub auth: Option<&'a AuthValues>,
}

/// What a connection adds to [`ConnectOptions`] for its security ([`Peer::connect_secured`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectSecurity {
    /// How a WSS connection checks the server's certificate (the system's trust store by default).
    /// Other transports ignore it, so one set of options serves a game that authenticates over WSS
    /// and then plays over UDP.
    pub certificate: CertificateCheck,
    /// UDP and TCP: present the AuthOnceWss credentials the peer took from an earlier authentication
    /// over WSS in the key exchange (`Noise_NXpsk2`), which then authenticates the connection: no
    /// Authenticate is sent. Refused at connect when the peer holds none, over WSS, and together with
    /// authentication values.
    pub auth_once: bool,
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
    /// `connect` after [`Peer::shutdown`]: a shut-down peer stays down.
    ShutDown,
    Session(SessionError),
    /// The authentication values cannot be sent (a token authentication without a token).
    Auth(AuthValuesError),
    /// The address of a WSS connect is not a URL this peer takes; the text says why.
    InvalidUrl(String),
    /// Connect options that cannot be used (together): a CA file that cannot be read, a Noise pin
    /// over WSS, AuthOnceWss without credentials. The text says which.
    Options(String),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::AlreadyConnected => f.write_str("already connected; disconnect first"),
            PeerError::InvalidAddress => f.write_str("address must be host:port"),
            PeerError::Io(message) => write!(f, "I/O error: {message}"),
            PeerError::ShutDown => f.write_str("the peer was shut down (destroyed); create a new one"),
            PeerError::Session(error) => error.fmt(f),
            PeerError::Auth(error) => error.fmt(f),
            PeerError::InvalidUrl(message) => write!(f, "invalid WSS address: {message}"),
            PeerError::Options(message) => f.write_str(message),
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
    /// Requests for the I/O thread, under a lock it holds only to take them.
    pub(crate) control: Mutex<control::Control>,
    /// What the host has yet to receive, under a lock of its own.
    pub(crate) results: results::Results,
    /// The session state and server key, as last published by the I/O thread.
    pub(crate) board: control::Board,
    pub(crate) wake: control::WakeFlag,
    pub(crate) config: PeerConfig,
    /// The current (or last) connection runs over TLS (WSS), where no key exchange runs.
    pub(crate) over_tls: AtomicBool,
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
                control: Mutex::new(control::Control::default()),
                results: results::Results::new(config.max_queued_events, config.max_queued_bytes),
                board: control::Board::new(),
                wake: control::WakeFlag::default(),
                config,
                over_tls: AtomicBool::new(false),
            }),
            io_thread: Mutex::new(None),
        }
    }

    /// Starts connecting over TCP to `address` ("host:port"). Progress arrives as status events:
    /// Connect (1024), then EncryptionEstablished (1048) when the automatic key exchange is on.
    /// [`connect_over`](Self::connect_over) chooses the transport.
    pub fn connect(&self, address: &str, app_id: &str) -> Result<(), PeerError> {
        self.connect_with(&ConnectOptions {
            address,
            app_id,
            app_version: None,
            pin: PinChoice::AsConfigured,
            auth: None,
        })
    }

    /// As [`connect`](Self::connect) (over TCP), with per-connection options.
    pub fn connect_with(&self, options: &ConnectOptions<'_>) -> Result<(), PeerError> {
        self.connect_over(TransportKind::Tcp, options)
    }

    /// As [`connect_with`](Self::connect_with), over the transport given. Over UDP the connection
    /// speaks protocol version 3 (whatever the configured versions), runs the key exchange at once
    /// (whatever `auto_key_exchange` says), and honours each operation's delivery mode and channel.
    /// Over WSS (a `wss://` URL as address) it speaks protocol version 4 and checks the server's
    /// certificate against the system's trust store; [`connect_secured`](Self::connect_secured)
    /// chooses another check.
    pub fn connect_over(&self, transport: TransportKind, options: &ConnectOptions<'_>) -> Result<(), PeerError> {
        self.connect_secured(transport, options, &ConnectSecurity::default())
    }

    /// As [`connect_over`](Self::connect_over), with the certificate check of a WSS connection and
    /// AuthOnceWss for a UDP or TCP one.
    ///
    /// Over WSS, TLS protects every frame: no key exchange runs, and the host sees Connect (1024),
    /// then at once EncryptionEstablished (1048); the state is Encrypted and sends with Encrypt
    /// succeed. A certificate the check refuses gives SecurityExceptionOnConnect (1022), then
    /// Disconnect. A Noise server-key pin cannot be checked there (no key exchange runs), so a WSS
    /// connect with one (configured or given) is refused: pin the certificate instead.
    pub fn connect_secured(
        &self,
        transport: TransportKind,
        options: &ConnectOptions<'_>,
        security: &ConnectSecurity,
    ) -> Result<(), PeerError> {
        let ConnectOptions { address, app_id, app_version, pin, auth } = *options;
        let mut thread_slot = self.io_thread.lock();
        if let Some(handle) = thread_slot.as_ref() {
            // A thread whose connection is over is finishing (delivering its last statuses): the
            // join below waits for that, so a host may reconnect as soon as it sees Disconnect.
            if !handle.is_finished() && self.shared.board.state() != PeerState::Disconnected {
                return Err(PeerError::AlreadyConnected);
            }
        }
        if let Some(handle) = thread_slot.take() {
            let _ = handle.join();
        }
        let target = route_target(transport, address)?;
        // A datagram session always runs the key exchange at once (no operation goes unauthenticated),
        // and over TLS there is none: the session is encrypted as soon as it is accepted.
        let automatic = self.shared.config.session.auto_key_exchange || transport != TransportKind::Tcp;
        if auth.is_some() && !automatic {
            return Err(PeerError::Auth(AuthValuesError::NeedsAutomaticKeyExchange));
        }
        let mut authenticator = auth::Authenticator::new(auth, &self.shared.board.auth).map_err(PeerError::Auth)?;
        let now = Instant::now();
        let mut config = self.shared.config.session.clone();
        config.transport = session_transport(transport, &config.transport);
        match pin {
            PinChoice::AsConfigured => {}
            PinChoice::Key(key) => config.server_key_pin = Some(key),
            PinChoice::None => config.server_key_pin = None,
        }
        // Credentials in the configuration are not a standing order: only a connect that asks uses them.
        config.auth_once = None;
        if security.auth_once {
            if transport == TransportKind::WebSocketSecure {
                let message = "auth_once is for UDP and TCP connects: over WSS no key exchange runs to carry it \
                               (authenticate over WSS to get the credentials)";
                return Err(PeerError::Options(message.to_owned()));
            }
            if auth.is_some() {
                let message = "auth_once authenticates the connection by itself: give no authentication values with it";
                return Err(PeerError::Options(message.to_owned()));
            }
            let credentials = self.shared.board.auth.auth_once_credentials().ok_or_else(|| {
                PeerError::Options(
                    "auth_once needs the credentials of an earlier authentication over WSS that named the \
                     protocol to switch to (its expected protocol); this peer holds none"
                        .to_owned(),
                )
            })?;
            config.auth_once = Some(credentials);
            if !automatic {
                // The credentials are the authentication: the key exchange that carries them runs at once.
                config.auto_key_exchange = true;
            }
            authenticator = authenticator.with_auth_once();
        }
        let route = match target {
            RouteTarget::WebSocket(server) => {
                if config.server_key_pin.is_some() {
                    let message = "a server-key pin cannot be checked over WSS (no key exchange runs): connect \
                                   without one and pin the server's certificate instead";
                    return Err(PeerError::Options(message.to_owned()));
                }
                let trust = tls::Trust::prepare(&security.certificate).map_err(PeerError::Options)?;
                authenticator = authenticator.over_secure_transport();
                io_thread::Route::WebSocketSecure { server, trust }
            }
            RouteTarget::Address(target) if transport == TransportKind::Udp => io_thread::Route::Udp(target),
            RouteTarget::Address(target) => io_thread::Route::Tcp(target),
        };
        let mut session = Session::client(config, now);
        session.connect(app_id, app_version.unwrap_or(concat!("sealnet-", env!("CARGO_PKG_VERSION"))), now)?;
        {
            // Shutting down is final, even for a connect that raced with it on another thread.
            let mut control = self.shared.control.lock();
            if control.shutdown {
                return Err(PeerError::ShutDown);
            }
            *control = control::Control::default();
        }
        // Nothing of the previous connection is reported as this one's.
        self.shared.board.set_stats(control::Published::default());
        self.shared.board.set_protocol_version(0);
        self.shared.board.set_server_key(None);
        self.shared.board.auth.reset();
        self.shared.over_tls.store(matches!(route, io_thread::Route::WebSocketSecure { .. }), Ordering::Release);
        self.shared.board.set_state(session.state());
        self.shared.results.set_live(true);
        let shared = self.shared.clone();
        let handle = std::thread::Builder::new()
            .name("sealnet-io".into())
            .spawn(move || io_thread::run(shared, session, route, authenticator))
            .map_err(|error| {
                self.shared.board.set_state(PeerState::Disconnected);
                self.shared.results.set_live(false);
                PeerError::Io(error.to_string())
            })?;
        *thread_slot = Some(handle);
        Ok(())
    }

    /// Starts the key exchange (when automatic exchange is off). Over WSS there is none (TLS protects
    /// the connection): once connected this does nothing and returns Ok.
    pub fn establish_encryption(&self) -> Result<(), PeerError> {
        if self.shared.over_tls.load(Ordering::Acquire)
            && matches!(self.state(), PeerState::Connected | PeerState::Encrypted)
        {
            return Ok(());
        }
        match self.state() {
            PeerState::Connected => {}
            PeerState::EstablishingEncryption | PeerState::Encrypted => {
                return Err(SessionError::KeyExchangeAlreadyStarted.into())
            }
            _ => return Err(SessionError::NotConnected.into()),
        }
        self.request(|control| {
            if std::mem::replace(&mut control.establish_encryption, true) {
                return Err(SessionError::KeyExchangeAlreadyStarted);
            }
            Ok(())
        })
    }

    /// Queues an operation; safe from any thread. Encryption needs a completed key exchange.
    pub fn send_operation(&self, request: &OperationRequest, options: SendOptions) -> Result<(), PeerError> {
        self.send_operation_parts(request.op_code, &request.params, options)
    }

    /// As [`send_operation`](Self::send_operation), with the parameters borrowed (no copy). The
    /// operation is checked and encoded here, on the caller's thread, and sealed by the I/O thread.
    pub fn send_operation_parts(&self, op_code: u8, params: &Params, options: SendOptions) -> Result<(), PeerError> {
        let config = &self.shared.config.session;
        let state = self.state();
        let options = check_operation(config, self.shared.board.protocol_version(), state, op_code, params, options)?;
        self.request(|control| {
            let outbox = &mut control.outbox;
            if outbox.data.len() > config.max_pending_output {
                return Err(SessionError::OutputFull);
            }
            let start = outbox.data.len();
            OperationRequest::encode_parts(op_code, params, &mut outbox.data);
            let len = outbox.data.len() - start;
            if let Err(error) = check_encoded_operation(config, state, len) {
                outbox.data.truncate(start);
                return Err(error);
            }
            outbox.ops.push(control::Pending { len, options });
            Ok(())
        })
    }

    /// Asks the server to end the connection; a Disconnect status follows.
    pub fn disconnect(&self) {
        let _ = self.request(|control| {
            control.disconnect = true;
            Ok(())
        });
    }

    /// The next queued result, if any. Never blocks.
    pub fn poll_event(&self) -> Option<PeerEvent> {
        self.shared.results.pop()
    }

    /// Moves every queued result into `into` with one lock acquisition.
    pub fn drain_events(&self, into: &mut VecDeque<PeerEvent>) {
        self.shared.results.drain(into);
    }

    /// Blocks until a result is queued, `timeout` passes, or no connection is running (then nothing
    /// more can arrive). Lets a host that is not a frame loop wait instead of polling.
    pub fn wait(&self, timeout: Duration) -> WaitOutcome {
        self.shared.results.wait(timeout)
    }

    /// The session state, as the I/O thread last published it.
    pub fn state(&self) -> PeerState {
        self.shared.board.state()
    }

    /// The server's static key, once the key exchange succeeded.
    pub fn server_public_key(&self) -> Option<[u8; 32]> {
        self.shared.board.server_key()
    }

    /// Where this connection's authentication stands.
    pub fn auth_state(&self) -> AuthState {
        self.shared.board.auth.state()
    }

    /// The latest server token the peer holds (kept across connections), with its expiry.
    pub fn server_token(&self) -> Option<ServerToken> {
        self.shared.board.auth.token()
    }

    /// Whether the peer holds AuthOnceWss credentials (from an authentication over WSS that named
    /// the protocol to switch to), so a UDP or TCP connect with `auth_once` can use them. They stay
    /// until a newer authentication replaces them or a server refuses their token.
    pub fn has_auth_once_credentials(&self) -> bool {
        self.shared.board.auth.has_auth_once()
    }

    /// The AuthOnceWss credentials the peer holds, as an opaque value (the secret cannot be read from
    /// it), for a host that moves them to another peer ([`set_auth_once_credentials`]
    /// (Self::set_auth_once_credentials)): a binding that makes a new peer per connection keeps them
    /// this way, as it keeps the server token.
    pub fn auth_once_credentials(&self) -> Option<AuthOnceCredentials> {
        self.shared.board.auth.auth_once_credentials()
    }

    /// Hands the peer AuthOnceWss credentials taken from another peer (`None` forgets them); the next
    /// UDP or TCP connect with `auth_once` uses them.
    pub fn set_auth_once_credentials(&self, credentials: Option<AuthOnceCredentials>) {
        self.shared.board.auth.set_auth_once(credentials);
    }

    /// Traffic counters, round-trip time and the protocol version, as the I/O thread last published
    /// them.
    pub fn stats(&self) -> SessionStats {
        self.stats_and_server_time().0
    }

    /// [`stats`](Self::stats) and [`server_time_ms`](Self::server_time_ms) from one publication of
    /// the I/O thread, so they describe the same moment.
    pub fn stats_and_server_time(&self) -> (SessionStats, Option<u64>) {
        let published = self.shared.board.stats();
        let server_time =
            published.server_time.map(|(at, server)| server.saturating_add(at.elapsed().as_millis() as u64));
        (published.stats, server_time)
    }

    /// The server's clock now, in milliseconds, estimated from its pongs (protocol version 2); the
    /// same for every client of the server, so games can time events by it (Photon's
    /// `ServerTimeInMilliSeconds`). `None` until a pong has arrived.
    pub fn server_time_ms(&self) -> Option<u64> {
        self.stats_and_server_time().1
    }

    /// How many times the host's requests woke the I/O thread, over the peer's life. Sends in a burst
    /// share one wake-up, so this grows far more slowly than the number of operations sent.
    pub fn io_wakeups(&self) -> u64 {
        self.shared.wake.sent()
    }

    /// Stops the I/O thread (sending Disconnect when connected) and waits for it; never waits for a
    /// name lookup, which runs on a thread of its own. Idempotent.
    pub fn shutdown(&self) {
        let mut thread_slot = self.io_thread.lock();
        {
            let mut control = self.shared.control.lock();
            control.shutdown = true;
            if let Some(waker) = control.waker.as_ref() {
                let _ = waker.wake();
            }
        }
        if let Some(handle) = thread_slot.take() {
            let _ = handle.join();
        }
    }

    /// Records a request for the I/O thread and wakes it when it had nothing to do: an outbox that
    /// already holds work means a wake-up is pending or the I/O thread waits for the socket to drain,
    /// and it takes the new request with the rest.
    fn request(&self, action: impl FnOnce(&mut control::Control) -> Result<(), SessionError>) -> Result<(), PeerError> {
        let mut control = self.shared.control.lock();
        if control.shutdown || control.disconnect || control.waker.is_none() && !self.io_running() {
            return Err(SessionError::NotConnected.into());
        }
        let idle = control.outbox.is_empty() && !control.establish_encryption && !control.disconnect;
        action(&mut control)?;
        if idle {
            self.shared.wake.wake(&control);
        }
        Ok(())
    }

    fn io_running(&self) -> bool {
        !matches!(self.state(), PeerState::Disconnected)
    }
}

/// What a session carries its frames in, for a connection over `transport`: datagram settings the
/// configuration holds are kept for UDP.
fn session_transport(transport: TransportKind, configured: &SessionTransport) -> SessionTransport {
    match (transport, configured) {
        (TransportKind::Tcp, _) => SessionTransport::Stream,
        (TransportKind::WebSocketSecure, _) => SessionTransport::Secure,
        (TransportKind::Udp, SessionTransport::Datagram(settings)) => SessionTransport::Datagram(settings.clone()),
        (TransportKind::Udp, _) => SessionTransport::Datagram(DatagramConfig::default()),
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::status::StatusCode;
    use std::sync::atomic::Ordering;

    #[test]
    fn the_transport_of_a_connect_decides_the_sessions_framing() {
        let tuned = DatagramConfig { max_datagram: 1400, ..DatagramConfig::default() };
        let udp = session_transport(TransportKind::Udp, &SessionTransport::Datagram(tuned));
        assert!(matches!(udp, SessionTransport::Datagram(settings) if settings.max_datagram == 1400), "kept");
        let udp = session_transport(TransportKind::Udp, &SessionTransport::Stream);
        assert!(matches!(udp, SessionTransport::Datagram(settings) if settings.max_datagram == 1200), "defaults");
        let datagram = SessionTransport::Datagram(DatagramConfig::default());
        assert!(matches!(session_transport(TransportKind::Tcp, &datagram), SessionTransport::Stream));
    }

    #[test]
    fn udp_allows_authentication_whatever_the_key_exchange_setting() {
        let mut config = PeerConfig::default();
        config.session.auto_key_exchange = false;
        let peer = Peer::new(config);
        let values = AuthValues::new(crate::auth::AuthType::Custom);
        let options = ConnectOptions {
            address: "127.0.0.1:9",
            app_id: "demo",
            app_version: None,
            pin: PinChoice::None,
            auth: Some(&values),
        };
        assert_eq!(peer.connect_with(&options), Err(PeerError::Auth(AuthValuesError::NeedsAutomaticKeyExchange)));
        assert_eq!(peer.connect_over(TransportKind::Udp, &options), Ok(()), "UDP always runs it at once");
        peer.shutdown();
    }

    #[test]
    fn a_panic_on_the_io_thread_still_ends_with_the_final_statuses() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
        io_thread::testing::PANIC_WHEN_CONNECTED.store(true, Ordering::Relaxed);
        let peer = Peer::new(PeerConfig::default());
        peer.connect(&address, "demo").unwrap();
        let _stream = accepted.join().unwrap().unwrap();
        let mut statuses = Vec::new();
        while !statuses.contains(&StatusCode::Disconnect) {
            assert_ne!(peer.wait(Duration::from_secs(20)), WaitOutcome::TimedOut, "statuses so far {statuses:?}");
            while let Some(event) = peer.poll_event() {
                if let PeerEvent::Status(info) = event {
                    statuses.push(info.code);
                }
            }
        }
        io_thread::testing::PANIC_WHEN_CONNECTED.store(false, Ordering::Relaxed);
        assert_eq!(statuses, [StatusCode::Exception, StatusCode::Disconnect]);
        assert_eq!(peer.state(), PeerState::Disconnected);
        peer.shutdown();
    }
}
