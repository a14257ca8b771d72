//! The sans-IO session: one connection's state machine, for either role.
//!
//! A driver feeds received bytes and the current time in, writes [`Session::pending_output`] to its
//! transport, drains [`Session::poll_event`], and calls [`Session::handle_timeout`] when
//! [`Session::poll_timeout`] comes due. The session never touches a socket, a thread or a clock.
//!
//! Client states: Disconnected → Connecting → Connected → (key exchange) → Encrypted, or failed →
//! Disconnecting → Disconnected.

mod config;
mod datagram;
mod events;
mod inbound;
mod stats;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::{
    AuthOnceCredentials, OpCodeSet, SessionConfig, Transport, DEFAULT_MAX_CLEAR_BODY, DEFAULT_MUST_ENCRYPT, MAX_TIMER,
};
pub use events::{SessionError, SessionEvent, StatusInfo};
pub use stats::SessionStats;

use super::codec::{check_params, Limits, Params};
use super::datagram::{Link, LinkEvent};
use super::frame::{
    Delivery, MessageType, DATAGRAM_VERSION, LATEST_VERSION, PROTOCOL_VERSION, SECURE_VERSION, TAG_LEN,
};
use super::message::{
    Connect, ConnectAck, Disconnect, EventData, OperationRequest, OperationResponse, Ping, Versions, MAX_APP_ID,
    MAX_CLIENT_VERSION, MAX_REASON_TEXT,
};
use super::noise::{Completed, Initiator, Keypair, Responder};
use super::sealing::{append_versioned_frame, Opener, SealError, Sealer, SendOptions};
use super::status::{DisconnectReason, PeerState, StatusCode};

/// Domain label that starts the Noise prologue; the Connect and ConnectAck frames follow it, so the
/// key exchange fails if either was altered in transit.
pub const PROLOGUE_LABEL: &[u8] = b"sealnet/1 NX prologue";

/// What a session over the secure transport reports instead of a key exchange.
const TLS_ESTABLISHED: &str = "TLS protects the connection (WSS); no key exchange runs";

/// The largest frame body a datagram session sends or takes: its fragments are counted in 16 bits.
const MAX_DATAGRAM_BODY: u32 = 16 * 1024 * 1024;

/// Which end of the connection a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

enum Phase {
    /// Client before `connect`; server before the Connect frame.
    Idle,
    /// Client: Connect sent, waiting for ConnectAck.
    AwaitingAck,
    /// Server: Connect received, waiting for the host to accept or refuse.
    AwaitingAccept,
    Connected,
    /// Server with `gate_key_exchange`: HandshakeInit received (its body kept), waiting for the
    /// driver to admit it.
    KeyExchangeRequested(Vec<u8>),
    /// Server: HandshakeInitPsk read, waiting for the driver to name the secret its token carries
    /// ([`Session::admit_auth_once`]).
    AuthOnceRequested(Box<Responder>),
    /// Client: HandshakeInit sent.
    KeyExchange(Box<Initiator>),
    Encrypted,
    /// A Disconnect was sent or received; the driver should flush output and close the transport.
    Closing,
    Closed,
}

/// A frame a client holds back while its key exchange runs: once HandshakeInit is out, the server
/// accepts only authenticated frames, so nothing may be sent until the keys exist.
struct Queued {
    message_type: MessageType,
    options: SendOptions,
    body: Vec<u8>,
}

/// One connection's protocol state.
pub struct Session {
    role: Role,
    config: SessionConfig,
    phase: Phase,
    static_key: Option<Arc<Keypair>>,
    sealer: Option<Sealer>,
    opener: Option<Opener>,
    remote_static: Option<[u8; 32]>,
    handshake_hash: Option<[u8; 32]>,
    prologue: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    events: VecDeque<SessionEvent>,
    queued: VecDeque<Queued>,
    /// Body bytes in `queued`, counted against `max_pending_output` with the output.
    queued_bytes: usize,
    /// No frame has been received yet: a first frame that is not sealnet at all is reported as such.
    first_frame: bool,
    epoch: Instant,
    last_receive: Instant,
    next_ping: Instant,
    deadline: Option<Instant>,
    rtt: Option<Duration>,
    /// Why the session is closing (sent or received), reported with the final Disconnect status.
    close_reason: Option<(u16, String)>,
    /// The protocol version of every frame after Connect and ConnectAck (which are version 1):
    /// negotiated when the connection is accepted.
    version: u8,
    /// The connection was accepted (ConnectAck with reason 0 sent or received).
    accepted: bool,
    /// A frame of the connection's version arrived (the peer has switched to it).
    heard_version: bool,
    /// Server: the version chosen for the pending Connect, and whether the client offered a range
    /// (a version-1 client does not, and gets a version-1 ConnectAck).
    offered: Option<(u8, bool)>,
    /// Client: the range this client offered in Connect, `None` when it spoke as a version-1 client.
    sent_versions: Option<Versions>,
    stats: stats::Meter,
    /// The datagram link, in datagram mode (UDP); `None` on a stream.
    link: Option<Box<Link>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("pending_output", &self.output.len())
            .field("pending_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A client session; call [`connect`](Self::connect) to start.
    pub fn client(config: SessionConfig, now: Instant) -> Self {
        Self::new(Role::Client, config, None, now)
    }

    /// A server session for a freshly accepted transport. The client must send Connect within the
    /// disconnect timeout.
    pub fn server(config: SessionConfig, static_key: Arc<Keypair>, now: Instant) -> Self {
        let mut session = Self::new(Role::Server, config, Some(static_key), now);
        session.deadline = Some(now + session.config.connect_timeout);
        session
    }

    fn new(role: Role, config: SessionConfig, static_key: Option<Arc<Keypair>>, now: Instant) -> Self {
        let mut prologue = Vec::with_capacity(128);
        prologue.extend_from_slice(PROLOGUE_LABEL);
        let mut config = config.clamped();
        let link = match &config.transport {
            Transport::Stream | Transport::Secure => None,
            Transport::Datagram(datagram) => {
                let link = Link::new(datagram.clone(), role, 0, None, config.max_frame_body, now);
                Some(Box::new(link))
            }
        };
        if matches!(config.transport, Transport::Stream) && role == Role::Server {
            // A stream server chooses versions 1 and 2 only: the later ones belong to other transports
            // (a client may offer them; it is refused if it offers nothing else).
            config.versions.max = config.versions.max.min(LATEST_VERSION);
            config.versions.min = config.versions.min.min(config.versions.max);
        }
        if matches!(config.transport, Transport::Secure) {
            // The secure transport is version 4 only, and TLS stands in for the key exchange.
            config.versions = Versions { min: SECURE_VERSION, max: SECURE_VERSION };
            config.auto_key_exchange = false;
        }
        if link.is_some() {
            // The datagram transport is version 3 only, and never carries an operation in clear.
            config.versions = Versions { min: DATAGRAM_VERSION, max: DATAGRAM_VERSION };
            config.auto_key_exchange = true;
            // A message's fragments are counted in 16 bits.
            config.max_frame_body = config.max_frame_body.min(MAX_DATAGRAM_BODY);
        }
        Session {
            role,
            config,
            phase: Phase::Idle,
            static_key,
            sealer: None,
            opener: None,
            remote_static: None,
            handshake_hash: None,
            prologue,
            input: Vec::new(),
            output: Vec::new(),
            events: VecDeque::new(),
            queued: VecDeque::new(),
            queued_bytes: 0,
            first_frame: true,
            epoch: now,
            last_receive: now,
            next_ping: now,
            deadline: None,
            rtt: None,
            close_reason: None,
            version: PROTOCOL_VERSION,
            accepted: false,
            heard_version: false,
            offered: None,
            sent_versions: None,
            stats: stats::Meter::default(),
            link,
        }
    }

    /// How Ping, Pong and Disconnect go: reliable on a stream (everything is), unreliable and
    /// unsequenced on datagrams (a lost ping is replaced by the next; a Disconnect goes several times).
    fn control_options(&self) -> SendOptions {
        match self.link {
            None => SendOptions::RELIABLE,
            Some(_) => SendOptions { delivery: Delivery::UnreliableUnsequenced, ..SendOptions::RELIABLE },
        }
    }

    /// The protocol version the connection speaks: 1 until the connection is accepted, then the
    /// version both ends chose.
    pub fn protocol_version(&self) -> u8 {
        self.version
    }

    /// The decoder limits for this connection's protocol version.
    pub(crate) fn limits(&self) -> Limits {
        Limits { protocol_version: self.version, ..self.config.limits }
    }

    /// The version both ends chose, once the connection is accepted (`None` before, and when it was
    /// refused).
    pub fn negotiated_version(&self) -> Option<u8> {
        self.accepted.then_some(self.version)
    }

    /// Traffic counters, round-trip time and the server's clock, as measured so far.
    pub fn stats(&self) -> SessionStats {
        self.stats.snapshot(self.negotiated_version().unwrap_or(0))
    }

    /// Client, version 2: the server's clock at `now`, in milliseconds, estimated from its pongs.
    pub fn server_time_ms(&self, now: Instant) -> Option<u64> {
        self.stats.server_time_ms(now)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn state(&self) -> PeerState {
        match self.phase {
            Phase::Idle | Phase::Closed => PeerState::Disconnected,
            Phase::AwaitingAck | Phase::AwaitingAccept => PeerState::Connecting,
            Phase::Connected | Phase::KeyExchangeRequested(_) | Phase::AuthOnceRequested(_) => PeerState::Connected,
            Phase::KeyExchange(_) => PeerState::EstablishingEncryption,
            Phase::Encrypted => PeerState::Encrypted,
            Phase::Closing => PeerState::Disconnecting,
        }
    }

    /// Operations may be sent encrypted: transport keys exist (every frame is authenticated), or
    /// the connection is accepted on the secure transport, where TLS protects every frame.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.phase, Phase::Encrypted)
    }

    /// The connection runs over the secure transport (WSS): TLS protects it, no key exchange runs.
    pub fn is_secure_transport(&self) -> bool {
        matches!(self.config.transport, Transport::Secure)
    }

    /// Frames in this direction may be as large as the frame limit: keys exist, or TLS protects the
    /// accepted connection. Before that only small frames are taken, since nothing is proven.
    fn protected(&self, keys: bool) -> bool {
        keys || (self.is_secure_transport() && self.accepted)
    }

    /// The driver should flush [`pending_output`](Self::pending_output), close the transport and call
    /// [`transport_closed`](Self::transport_closed).
    pub fn wants_close(&self) -> bool {
        matches!(self.phase, Phase::Closing)
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// A frame sealed under this session's keys has arrived: the peer holds the keys (for an AuthOnce
    /// client, the secret), which a copied first message does not give anyone.
    pub fn peer_holds_keys(&self) -> bool {
        self.opener.as_ref().is_some_and(Opener::has_opened)
    }

    /// Client: the server's static public key, known once the key exchange succeeded.
    pub fn remote_static_key(&self) -> Option<&[u8; 32]> {
        self.remote_static.as_ref()
    }

    /// The Noise handshake hash: public, identical on both ends, usable for channel binding.
    pub fn handshake_hash(&self) -> Option<&[u8; 32]> {
        self.handshake_hash.as_ref()
    }

    /// The last measured round-trip time (client role).
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The next counter this session will seal with, once keys exist.
    pub fn next_send_counter(&self) -> Option<u64> {
        self.sealer.as_ref().map(Sealer::next_counter)
    }

    /// Bytes to write to the transport, in order.
    pub fn pending_output(&self) -> &[u8] {
        &self.output
    }

    /// Marks `written` bytes of [`pending_output`](Self::pending_output) as sent.
    pub fn consume_output(&mut self, written: usize) {
        self.output.drain(..written.min(self.output.len()));
    }

    /// Moves all pending output into `into` (swapping buffers when `into` is empty, so no copy).
    pub fn take_output(&mut self, into: &mut Vec<u8>) {
        if into.is_empty() {
            std::mem::swap(into, &mut self.output);
        } else {
            into.extend_from_slice(&self.output);
            self.output.clear();
        }
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle if self.role == Role::Client => None,
            Phase::Closing | Phase::Closed => None,
            _ => {
                let mut next = self.last_receive + self.config.disconnect_timeout;
                if let Some(deadline) = self.deadline {
                    next = next.min(deadline);
                }
                if self.pings() {
                    next = next.min(self.next_ping);
                }
                if let Some(at) = self.link.as_ref().and_then(|link| link.poll_timeout()) {
                    next = next.min(at);
                }
                Some(next)
            }
        }
    }

    fn pings(&self) -> bool {
        self.role == Role::Client && matches!(self.phase, Phase::Connected | Phase::Encrypted)
    }

    /// Runs timers: connect and key-exchange deadlines, the disconnect timeout, and client pings.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Closing | Phase::Closed)
            || (self.role == Role::Client && matches!(self.phase, Phase::Idle))
        {
            return;
        }
        if let Some(LinkEvent::ConnectionLost) = self.link.as_mut().and_then(|link| link.handle_timeout(now)) {
            let message = "the peer stopped acknowledging (connection lost)";
            self.close(DisconnectReason::Timeout, message, Some(StatusCode::TimeoutDisconnect));
            return;
        }
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.deadline = None;
            if matches!(self.phase, Phase::KeyExchange(_)) {
                self.status(
                    StatusCode::EncryptionFailedToEstablish,
                    DisconnectReason::Timeout as u16,
                    "key exchange timed out",
                );
            }
            let message = match self.phase {
                Phase::KeyExchange(_) => "key exchange timed out",
                _ => "connect timed out",
            };
            self.close(DisconnectReason::Timeout, message, Some(StatusCode::TimeoutDisconnect));
            return;
        }
        if now >= self.last_receive + self.config.disconnect_timeout {
            self.close(
                DisconnectReason::Timeout,
                "no traffic within the disconnect timeout",
                Some(StatusCode::TimeoutDisconnect),
            );
            return;
        }
        // A probe timeout with nothing reliable to send again probes with a ping.
        let probe = self.sealer.is_some() && self.link.as_ref().is_some_and(|link| link.wants_probe_ping());
        if (self.pings() && now >= self.next_ping) || probe {
            if self.pings() && now >= self.next_ping {
                self.next_ping = now + self.config.ping_interval;
            }
            let timestamp_ms = now.duration_since(self.epoch).as_millis() as u64;
            // A ping that cannot be queued is not worth failing over; liveness is judged on receipt.
            let options = self.control_options();
            let _ = self.send_message(MessageType::Ping, options, |out| Ping { timestamp_ms }.encode(out));
        }
    }

    /// Client: sends Connect. The transport should already be connecting or connected.
    pub fn connect(&mut self, app_id: &str, client_version: &str, now: Instant) -> Result<(), SessionError> {
        self.require_role(Role::Client)?;
        if !matches!(self.phase, Phase::Idle) {
            return Err(SessionError::InvalidState("connect may be called once"));
        }
        let problem = if app_id.is_empty() {
            Some("the app id is empty; it must be 1 to 64 bytes".to_owned())
        } else if app_id.len() > MAX_APP_ID {
            Some(format!("the app id is {} bytes; the limit is {MAX_APP_ID}", app_id.len()))
        } else if client_version.len() > MAX_CLIENT_VERSION {
            Some(format!("the client version is {} bytes; the limit is {MAX_CLIENT_VERSION}", client_version.len()))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(SessionError::InvalidConnectRequest(problem));
        }
        if self.is_secure_transport() && self.config.server_key_pin.is_some() {
            let problem = "a server key pin cannot be checked over WSS, where no key exchange runs; pin the \
                           server's certificate instead";
            return Err(SessionError::InvalidConnectRequest(problem.to_owned()));
        }
        if self.is_secure_transport() && self.config.auth_once.is_some() {
            let problem = "AuthOnce credentials are for a UDP or TCP connection after authenticating over WSS";
            return Err(SessionError::InvalidConnectRequest(problem.to_owned()));
        }
        // A client that speaks only version 1 sends exactly a version-1 Connect.
        let versions = self.config.versions;
        self.sent_versions = (versions.max > PROTOCOL_VERSION).then_some(versions);
        let request = Connect {
            app_id: app_id.to_owned(),
            client_version: client_version.to_owned(),
            versions: self.sent_versions,
        };
        if let Some(link) = self.link.as_mut() {
            let id = datagram::random_connection_id()
                .ok_or(SessionError::InvalidState("the system random source failed; no connection id"))?;
            link.set_connection_id(id);
        }
        self.send_pre_key_frame(MessageType::Connect, |out| request.encode(out))?;
        self.phase = Phase::AwaitingAck;
        self.last_receive = now;
        self.deadline = Some(now + self.config.connect_timeout);
        Ok(())
    }

    /// Server: accepts the pending Connect.
    pub fn accept(&mut self, now: Instant) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        if !matches!(self.phase, Phase::AwaitingAccept) {
            return Err(SessionError::InvalidState("no connect request is pending"));
        }
        let (chosen, offered_range) = self.offered.unwrap_or((PROTOCOL_VERSION, false));
        let versions = offered_range.then_some((self.config.versions, chosen));
        let ack = ConnectAck { reason: DisconnectReason::None as u16, message: String::new(), versions };
        self.send_pre_key_frame(MessageType::ConnectAck, |out| ack.encode(out))?;
        // Every frame after the accepting ConnectAck speaks the chosen version.
        self.version = chosen;
        self.accepted = true;
        self.phase = Phase::Connected;
        self.deadline = None;
        self.last_receive = now;
        self.status(StatusCode::Connect, 0, "client accepted");
        self.establish_by_tls();
        Ok(())
    }

    /// On the secure transport, an accepted connection is as good as an encrypted one at once.
    fn establish_by_tls(&mut self) {
        if self.is_secure_transport() {
            self.phase = Phase::Encrypted;
            self.status(StatusCode::EncryptionEstablished, 0, TLS_ESTABLISHED);
        }
    }

    /// Server: refuses the pending Connect with a reason the client will see.
    pub fn refuse(&mut self, reason: DisconnectReason, message: &str) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        if !matches!(self.phase, Phase::AwaitingAccept) {
            return Err(SessionError::InvalidState("no connect request is pending"));
        }
        // Reason 0 would read as acceptance on the wire.
        let reason = if reason == DisconnectReason::None { DisconnectReason::ServerLogic } else { reason };
        let versions = self.offered.filter(|(_, range)| *range).map(|_| (self.config.versions, 0));
        let ack = ConnectAck {
            reason: reason as u16,
            message: truncate(message, self.reason_text_room()).to_owned(),
            versions,
        };
        self.send_pre_key_frame(MessageType::ConnectAck, |out| ack.encode(out))?;
        self.phase = Phase::Closing;
        self.close_reason = Some((reason as u16, message.to_owned()));
        self.status(StatusCode::DisconnectByServerLogic, reason as u16, message);
        Ok(())
    }

    /// A session of `role` that has just completed its key exchange with the given transport keys,
    /// skipping the handshake's DH work. Only for fuzzing, which needs millions of sessions that
    /// are already encrypted; never use it to talk to anyone.
    #[cfg(feature = "fuzzing")]
    #[doc(hidden)]
    pub fn encrypted_for_fuzzing(
        role: Role,
        config: SessionConfig,
        send: [u8; 32],
        receive: [u8; 32],
        now: Instant,
    ) -> Self {
        use super::noise::SplitKeys;
        use zeroize::Zeroizing;
        let mut session = Self::new(role, config, None, now);
        session.phase = Phase::Connected;
        // The connection speaks the highest version the configuration allows (3 in datagram mode).
        session.version = session.config.versions.max;
        session.accepted = true;
        let keys = SplitKeys { send: Zeroizing::new(send), receive: Zeroizing::new(receive) };
        let remote_static = (role == Role::Client).then_some([9; 32]);
        session.install_keys(Completed { keys, handshake_hash: [0; 32], remote_static, remote_payload: vec![1] });
        session.events.clear();
        session
    }

    /// Server with `gate_key_exchange`: runs the key exchange the client asked for
    /// ([`SessionEvent::KeyExchangeRequest`]).
    pub fn admit_key_exchange(&mut self) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        let Phase::KeyExchangeRequested(_) = self.phase else {
            return Err(SessionError::InvalidState("no key exchange is waiting"));
        };
        let Phase::KeyExchangeRequested(body) = std::mem::replace(&mut self.phase, Phase::Connected) else {
            unreachable!("checked above");
        };
        if let Err(violation) = self.respond_to_handshake(&body) {
            self.fail(violation);
        }
        Ok(())
    }

    /// Server with `gate_key_exchange`: refuses the key exchange the client asked for and ends the
    /// connection with `reason`.
    pub fn refuse_key_exchange(&mut self, reason: DisconnectReason, message: &str) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        if !matches!(self.phase, Phase::KeyExchangeRequested(_) | Phase::AuthOnceRequested(_)) {
            return Err(SessionError::InvalidState("no key exchange is waiting"));
        }
        self.phase = Phase::Connected;
        self.status(StatusCode::EncryptionFailedToEstablish, reason as u16, message);
        self.close(reason, message, None);
        Ok(())
    }

    /// Server: completes the AuthOnce key exchange ([`SessionEvent::AuthOnceRequest`]) with the
    /// secret the client's token carries. A client that does not hold it cannot read the reply, and
    /// none of its frames will open: only the key exchange's completion authenticates the client.
    pub fn admit_auth_once(&mut self, secret: &[u8; 32]) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        let Phase::AuthOnceRequested(_) = self.phase else {
            return Err(SessionError::InvalidState("no AuthOnce key exchange is waiting"));
        };
        let Phase::AuthOnceRequested(responder) = std::mem::replace(&mut self.phase, Phase::Connected) else {
            unreachable!("checked above");
        };
        let Some(static_key) = self.static_key.clone() else {
            self.fail_key_exchange("the server has no static key");
            return Ok(());
        };
        let mut reply = Vec::with_capacity(128);
        let completed = match responder.finish_psk(&static_key, secret, &[self.version], &mut reply) {
            Ok(completed) => completed,
            Err(error) => {
                self.fail_key_exchange(&error.to_string());
                return Ok(());
            }
        };
        match self.send_pre_key_frame(MessageType::HandshakeReply, |out| out.extend_from_slice(&reply)) {
            Ok(()) => self.install_keys(completed),
            Err(error) => self.fail_key_exchange(&error.to_string()),
        }
        Ok(())
    }

    /// The key exchange failed here: the host hears why, and the connection ends rather than carry on
    /// in clear.
    fn fail_key_exchange(&mut self, message: &str) {
        self.status(StatusCode::EncryptionFailedToEstablish, DisconnectReason::KeyExchangeFailed as u16, message);
        self.close(DisconnectReason::KeyExchangeFailed, message, None);
    }

    /// Client: starts the key exchange (`-> e`). Over the secure transport TLS already protects the
    /// connection: nothing runs, and an accepted connection answers Ok.
    pub fn establish_encryption(&mut self, now: Instant) -> Result<(), SessionError> {
        self.require_role(Role::Client)?;
        if self.is_secure_transport() {
            return match self.phase {
                Phase::Encrypted => Ok(()),
                _ => Err(SessionError::NotConnected),
            };
        }
        match self.phase {
            Phase::Connected => {}
            Phase::KeyExchange(_) | Phase::Encrypted => return Err(SessionError::KeyExchangeAlreadyStarted),
            _ => return Err(SessionError::NotConnected),
        }
        let mut body = Vec::with_capacity(64);
        if self.config.auth_once.as_ref().is_some_and(|credentials| credentials.token().is_empty()) {
            self.fail_key_exchange("the AuthOnce credentials hold no server token");
            return Ok(());
        }
        let (message_type, started) = match &self.config.auth_once {
            // The payload names the secret to the server: the version, then the server token.
            Some(credentials) => {
                let mut payload = Vec::with_capacity(1 + credentials.token().len());
                payload.push(self.version);
                payload.extend_from_slice(credentials.token());
                let started = Initiator::start_psk(&self.prologue, &payload, credentials.secret(), &mut body);
                (MessageType::HandshakeInitPsk, started)
            }
            None => (MessageType::HandshakeInit, Initiator::start(&self.prologue, &[self.version], &mut body)),
        };
        let initiator = match started {
            Ok(initiator) => initiator,
            Err(error) => {
                // Without keys the connection must not carry on in clear as if nothing happened.
                self.fail_key_exchange(&error.to_string());
                return Ok(());
            }
        };
        if let Some(max) = self.link.as_ref().map(|link| link.max_clear_frame()) {
            // A clear frame travels alone in its datagram; a token too large for one cannot go.
            if body.len() + crate::protocol::frame::FIXED_HEADER_LEN > max {
                let message = format!(
                    "the server token ({} bytes) is too large for a key exchange over UDP (at most {} bytes in \
                     all); connect over TCP",
                    self.config.auth_once.as_ref().map_or(0, |c| c.token().len()),
                    max
                );
                self.fail_key_exchange(&message);
                return Ok(());
            }
        }
        self.send_pre_key_frame(message_type, |out| out.extend_from_slice(&body))?;
        self.phase = Phase::KeyExchange(Box::new(initiator));
        self.deadline = Some(now + self.config.disconnect_timeout);
        Ok(())
    }

    /// Client: sends an operation. Must-encrypt operations are encrypted even when `options` does not
    /// ask for it, and refused while there are no keys.
    pub fn send_operation(&mut self, request: &OperationRequest, options: SendOptions) -> Result<(), SessionError> {
        self.send_operation_parts(request.op_code, &request.params, options)
    }

    /// As [`send_operation`](Self::send_operation), with the parameters borrowed.
    pub fn send_operation_parts(
        &mut self,
        op_code: u8,
        params: &Params,
        options: SendOptions,
    ) -> Result<(), SessionError> {
        self.require_role(Role::Client)?;
        let options = check_operation(&self.config, self.version, self.state(), op_code, params, options)?;
        self.send_message(MessageType::OperationRequest, options, |out| {
            OperationRequest::encode_parts(op_code, params, out)
        })
    }

    /// Client: sends a request body already encoded by [`OperationRequest::encode_parts`] and checked
    /// with [`check_operation`], for a driver that encodes on the caller's thread and seals on its
    /// own. The state rules are applied again, since the state may have changed meanwhile.
    pub fn send_encoded_operation(&mut self, body: &[u8], mut options: SendOptions) -> Result<(), SessionError> {
        self.require_role(Role::Client)?;
        let op_code = *body.first().ok_or(SessionError::InvalidState("an operation body starts with its code"))?;
        options.encrypt |= self.config.must_encrypt.contains(op_code);
        check_state_for(&self.config, self.state(), op_code, options)?;
        self.send_message(MessageType::OperationRequest, options, |out| out.extend_from_slice(body))
    }

    /// Server: sends an operation response.
    pub fn send_response(&mut self, response: &OperationResponse, options: SendOptions) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        // The debug message too: a client refuses one over its limit as a malformed body.
        response.check(&self.limits()).map_err(SessionError::Params)?;
        self.send_server_message(MessageType::OperationResponse, options, |out| response.encode(out))
    }

    /// Server: sends an event.
    pub fn send_event(&mut self, event: &EventData, options: SendOptions) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        event.check(&self.limits()).map_err(SessionError::Params)?;
        self.send_server_message(MessageType::Event, options, |out| event.encode(out))
    }

    /// Server: sends an event body encoded once by [`EventData::encode`], so a relay encodes once and
    /// seals per recipient.
    pub fn send_encoded_event(&mut self, encoded: &[u8], options: SendOptions) -> Result<(), SessionError> {
        self.require_role(Role::Server)?;
        self.send_server_message(MessageType::Event, options, |out| out.extend_from_slice(encoded))
    }

    /// Ends the session: sends Disconnect with `reason` and moves to Disconnecting.
    pub fn disconnect(&mut self, reason: DisconnectReason, message: &str) {
        self.close(reason, message, None);
    }

    /// The transport is gone (closed by us after [`wants_close`](Self::wants_close), or lost).
    /// `cause` describes an unexpected loss; it is reported before the final Disconnect status.
    pub fn transport_closed(&mut self, cause: Option<(StatusCode, &str)>) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        let expected = matches!(self.phase, Phase::Closing);
        self.phase = Phase::Closed;
        self.queued.clear();
        self.queued_bytes = 0;
        self.output = Vec::new();
        self.input = Vec::new();
        if !expected {
            let (code, message) = cause.unwrap_or((
                match self.role {
                    Role::Client => StatusCode::DisconnectByServerReasonUnknown,
                    Role::Server => StatusCode::Disconnect,
                },
                "connection closed by the remote end",
            ));
            if code != StatusCode::Disconnect {
                self.status(code, 0, message);
            }
        }
        let (reason, message) = self.close_reason.take().unwrap_or((0, "disconnected".to_owned()));
        self.status(StatusCode::Disconnect, reason, &message);
    }

    fn require_role(&self, role: Role) -> Result<(), SessionError> {
        if self.role == role {
            Ok(())
        } else {
            Err(SessionError::WrongRole)
        }
    }

    fn send_server_message(
        &mut self,
        message_type: MessageType,
        options: SendOptions,
        write_body: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), SessionError> {
        if !matches!(
            self.phase,
            Phase::Connected | Phase::KeyExchangeRequested(_) | Phase::AuthOnceRequested(_) | Phase::Encrypted
        ) {
            return Err(SessionError::NotConnected);
        }
        if options.encrypt && !self.is_encrypted() {
            return Err(SessionError::EncryptionNotEstablished);
        }
        self.send_message(message_type, options, write_body)
    }

    /// Connect, ConnectAck, HandshakeInit and HandshakeReply: always clear; the first two also feed the
    /// prologue.
    fn send_pre_key_frame(
        &mut self,
        message_type: MessageType,
        write_body: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), SessionError> {
        if self.link.is_some() {
            let mut frame = Vec::new();
            let max_body = self.config.max_frame_body;
            append_versioned_frame(
                &mut frame,
                self.version,
                message_type,
                SendOptions::RELIABLE,
                None,
                max_body,
                write_body,
            )
            .map_err(|error| self.seal_error(error))?;
            if matches!(message_type, MessageType::Connect | MessageType::ConnectAck) {
                self.add_to_prologue(&frame);
            }
            self.link.as_mut().expect("checked").send_clear(message_type, frame);
            return Ok(());
        }
        let start = self.output.len();
        self.append(message_type, SendOptions::RELIABLE, self.config.max_frame_body, write_body)
            .map_err(|error| self.seal_error(error))?;
        if matches!(message_type, MessageType::Connect | MessageType::ConnectAck) {
            let frame = self.output[start..].to_vec();
            self.add_to_prologue(&frame);
        }
        Ok(())
    }

    fn add_to_prologue(&mut self, frame: &[u8]) {
        self.prologue.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        self.prologue.extend_from_slice(frame);
    }

    fn send_message(
        &mut self,
        message_type: MessageType,
        options: SendOptions,
        write_body: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), SessionError> {
        let backlog = self.link.as_ref().map_or(0, |link| link.backlog());
        if self.output.len() + self.queued_bytes + backlog > self.config.max_pending_output {
            return Err(SessionError::OutputFull);
        }
        if matches!(self.phase, Phase::KeyExchange(_)) {
            if self.queued.len() >= self.config.max_queued_during_key_exchange {
                return Err(SessionError::OutputFull);
            }
            let mut body = Vec::new();
            write_body(&mut body);
            let len = body.len() + TAG_LEN;
            if len > self.config.max_frame_body as usize {
                return Err(SessionError::MessageTooLarge { len, max: self.config.max_frame_body });
            }
            self.queued_bytes += body.len();
            self.queued.push_back(Queued { message_type, options, body });
            return Ok(());
        }
        let max_body = self.config.max_body(self.protected(self.sealer.is_some()));
        self.append(message_type, options, max_body, write_body).map_err(|error| self.seal_error(error))
    }

    /// Appends one frame of this connection's version, sealed once keys exist, and counts it.
    fn append(
        &mut self,
        message_type: MessageType,
        options: SendOptions,
        max_body: u32,
        write_body: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), SealError> {
        if let Some(link) = self.link.as_mut() {
            return datagram::queue(
                link,
                self.sealer.as_ref(),
                self.version,
                message_type,
                options,
                max_body,
                write_body,
            );
        }
        let before = self.output.len();
        let sealer = self.sealer.as_mut();
        append_versioned_frame(&mut self.output, self.version, message_type, options, sealer, max_body, write_body)?;
        self.stats.sent(self.output.len() - before);
        Ok(())
    }

    fn seal_error(&mut self, error: SealError) -> SessionError {
        match error {
            SealError::NoKeys => SessionError::EncryptionNotEstablished,
            SealError::TooLarge { len, max } if self.sealer.is_none() && max < self.config.max_frame_body => {
                SessionError::ClearMessageTooLarge { len, max }
            }
            SealError::TooLarge { len, max } => SessionError::MessageTooLarge { len, max },
            SealError::CounterExhausted => {
                // Counters are never reused and v1 does not rekey: the session ends.
                self.close(DisconnectReason::CounterExhausted, "send counter exhausted", Some(StatusCode::SendError));
                SessionError::CounterExhausted
            }
            SealError::KeyUsageExhausted => {
                // Version 1 does not rekey: the session ends, and a reconnect gets fresh keys.
                let message = "session key usage limit reached";
                self.close(DisconnectReason::CounterExhausted, message, Some(StatusCode::SendError));
                SessionError::KeyUsageExhausted
            }
        }
    }

    fn install_keys(&mut self, completed: Completed) {
        let sealer = Sealer::new(&completed.keys.send, self.config.counter_limit)
            .with_key_usage_limit(self.config.key_usage_limit);
        self.sealer = Some(sealer);
        // The prologue only feeds the handshake.
        self.prologue = Vec::new();
        // TCP never drops or reorders, so the receiver insists on the exact next counter; datagrams
        // may arrive in any order within the replay window.
        self.opener = Some(match self.link {
            None => Opener::in_order(&completed.keys.receive),
            Some(_) => Opener::new(&completed.keys.receive),
        });
        if let Some(link) = self.link.as_mut() {
            // The client's HandshakeInit was answered.
            link.answered();
        }
        self.remote_static = completed.remote_static;
        self.handshake_hash = Some(completed.handshake_hash);
        self.phase = Phase::Encrypted;
        self.deadline = None;
        self.status(StatusCode::EncryptionEstablished, 0, "encryption established");
        self.queued_bytes = 0;
        while let Some(queued) = self.queued.pop_front() {
            let max_body = self.config.max_frame_body;
            let result =
                self.append(queued.message_type, queued.options, max_body, |out| out.extend_from_slice(&queued.body));
            if let Err(error) = result {
                let error = self.seal_error(error);
                self.status(StatusCode::SendError, 0, &error.to_string());
            }
        }
    }

    /// Sends Disconnect (authenticated when keys exist) and moves to Closing. `status` is reported
    /// locally first when the close has a cause worth telling the host.
    fn close(&mut self, reason: DisconnectReason, message: &str, status: Option<StatusCode>) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        let was_live = !matches!(self.phase, Phase::Idle) || self.role == Role::Server;
        self.queued.clear();
        self.queued_bytes = 0;
        self.phase = Phase::Closing;
        self.close_reason = Some((reason as u16, message.to_owned()));
        if let Some(code) = status {
            self.status(code, reason as u16, message);
        }
        if let Some(sealer) = self.sealer.as_mut() {
            sealer.allow_final_frame();
        }
        if was_live {
            let text = truncate(message, self.reason_text_room()).to_owned();
            let notice = Disconnect { reason: reason as u16, message: text };
            let max_body = self.config.max_body(self.protected(self.sealer.is_some()));
            let options = self.control_options();
            let _ = self.append(MessageType::Disconnect, options, max_body, |out| notice.encode(out));
        }
    }

    /// The longest reason text a ConnectAck or Disconnect may carry now: a clear frame must stay
    /// within the clear-frame limit, with room for its other fields (and a tag).
    fn reason_text_room(&self) -> usize {
        const OTHER_FIELDS: usize = 32;
        let limit = self.config.max_body(self.protected(self.sealer.is_some())) as usize;
        MAX_REASON_TEXT.min(limit.saturating_sub(OTHER_FIELDS))
    }

    fn status(&mut self, code: StatusCode, reason: u16, message: &str) {
        self.events.push_back(SessionEvent::Status(StatusInfo { code, reason, message: message.to_owned() }));
    }
}

/// Checks an operation as [`Session::send_operation`] would in `state` and protocol `version`, without
/// sending it, and
/// returns the options it would be sent with: must-encrypt operations are encrypted whatever was
/// asked. A driver that encodes on the caller's thread uses it to refuse at once what the session
/// would refuse.
pub fn check_operation(
    config: &SessionConfig,
    version: u8,
    state: PeerState,
    op_code: u8,
    params: &Params,
    mut options: SendOptions,
) -> Result<SendOptions, SessionError> {
    options.encrypt |= config.must_encrypt.contains(op_code);
    check_state_for(config, state, op_code, options)?;
    let limits = Limits { protocol_version: version, ..config.limits };
    check_params(params, &limits).map_err(SessionError::Params)?;
    Ok(options)
}

/// Refuses an encoded request body of `body_len` bytes that would not fit in one frame in `state`.
pub fn check_encoded_operation(config: &SessionConfig, state: PeerState, body_len: usize) -> Result<(), SessionError> {
    // Frames sent from the key exchange on are authenticated (they carry a tag), and may be large.
    let keys = matches!(state, PeerState::EstablishingEncryption | PeerState::Encrypted);
    let len = body_len + if keys { TAG_LEN } else { 0 };
    let max = config.max_body(keys);
    if len > max as usize {
        return Err(if keys {
            SessionError::MessageTooLarge { len, max }
        } else {
            SessionError::ClearMessageTooLarge { len, max }
        });
    }
    Ok(())
}

fn check_state_for(
    config: &SessionConfig,
    state: PeerState,
    op_code: u8,
    options: SendOptions,
) -> Result<(), SessionError> {
    if !matches!(state, PeerState::Connected | PeerState::EstablishingEncryption | PeerState::Encrypted) {
        return Err(SessionError::NotConnected);
    }
    if options.encrypt && state != PeerState::Encrypted {
        return Err(if config.must_encrypt.contains(op_code) {
            SessionError::MustEncrypt(op_code)
        } else {
            SessionError::EncryptionNotEstablished
        });
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::noise::testing::RANDOM_FAILS;

    #[test]
    fn a_failing_random_source_ends_the_connection_instead_of_leaving_it_in_clear() {
        let now = Instant::now();
        let server_key = Arc::new(Keypair::generate().unwrap());
        let config = SessionConfig { auto_key_exchange: false, ..SessionConfig::default() };
        let mut client = Session::client(config, now);
        let mut server = Session::server(SessionConfig::default(), server_key, now);
        client.connect("app", "1", now).unwrap();
        let mut bytes = Vec::new();
        client.take_output(&mut bytes);
        server.receive(&bytes, now);
        server.accept(now).unwrap();
        let mut bytes = Vec::new();
        server.take_output(&mut bytes);
        client.receive(&bytes, now);
        assert_eq!(client.state(), PeerState::Connected);

        RANDOM_FAILS.set(true);
        let started = client.establish_encryption(now);
        RANDOM_FAILS.set(false);
        assert_eq!(started, Ok(()));
        assert!(client.wants_close(), "the session closes");
        let statuses: Vec<_> = std::iter::from_fn(|| client.poll_event())
            .filter_map(|event| match event {
                SessionEvent::Status(info) => Some((info.code, info.reason)),
                _ => None,
            })
            .collect();
        assert!(
            statuses.contains(&(StatusCode::EncryptionFailedToEstablish, DisconnectReason::KeyExchangeFailed as u16))
        );
        assert_eq!(
            client.send_operation_parts(1, &Params::new(), SendOptions::RELIABLE),
            Err(SessionError::NotConnected),
            "nothing more goes out in clear"
        );
    }
}
