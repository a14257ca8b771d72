//! Received bytes: framing, verification, and dispatch by message type and phase.

use std::time::Instant;

use super::{Phase, Role, Session, SessionEvent, Transport};
use crate::protocol::codec::CodecError;
use crate::protocol::frame::{Delivery, FrameError, Header, MessageType, LATEST_VERSION, PROTOCOL_VERSION};
use crate::protocol::message::Versions;
use crate::protocol::message::{
    Connect, ConnectAck, Disconnect, EventData, OperationRequest, OperationResponse, Ping, Pong,
};
use crate::protocol::noise::{respond, NoiseError, Responder};
use crate::protocol::sealing::{open_frame, OpenError, SendOptions};
use crate::protocol::status::{return_code, DisconnectReason, StatusCode};

/// Capacity above which an empty input buffer is released.
const IDLE_INPUT_CAPACITY: usize = 4096;

/// Header rules for a stream transport (TCP): checked as soon as the header is in.
fn check_header(header: &Header, version: u8) -> Result<(), Violation> {
    if header.version != version {
        return Err(Violation::protocol(format!(
            "a frame of protocol version {} on a connection that speaks version {version}",
            header.version
        )));
    }
    if header.sequence.is_some() || header.fragment.is_some() {
        return Err(Violation::protocol(FrameError::ExtensionNotAllowed.to_string()));
    }
    if header.message_type.is_pre_key() && header.counter.is_some() {
        return Err(Violation::protocol("key-exchange message must not be authenticated"));
    }
    Ok(())
}

/// A short description of the first bytes of a stream that is not sealnet.
fn foreign(input: &[u8]) -> String {
    let start = &input[..input.len().min(16)];
    let known = [
        (&b"HTTP/"[..], "it answered like an HTTP server"),
        (b"GET ", "it sent an HTTP request"),
        (b"POST ", "it sent an HTTP request"),
        (b"SSH-", "it is an SSH endpoint"),
        (b"\x16\x03", "it sent TLS"),
    ];
    if let Some((_, what)) = known.iter().find(|(prefix, _)| start.starts_with(prefix)) {
        return (*what).to_owned();
    }
    let text: String = start.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
    format!("its first bytes were \"{text}\"")
}

/// A frame that must end the connection, with the reason sent to the peer.
pub(super) struct Violation {
    pub(super) reason: DisconnectReason,
    pub(super) message: String,
}

impl Violation {
    pub(super) fn protocol(message: impl Into<String>) -> Self {
        Violation { reason: DisconnectReason::ProtocolViolation, message: message.into() }
    }
}

impl From<CodecError> for Violation {
    fn from(error: CodecError) -> Self {
        Violation::protocol(format!("malformed message body: {error}"))
    }
}

impl Session {
    /// Feeds bytes received from a stream transport. Complete frames are processed at once; a partial
    /// frame waits for more bytes (never more than one maximal frame is buffered).
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        self.stats.received_bytes(data.len());
        let mut input = std::mem::take(&mut self.input);
        input.extend_from_slice(data);
        let mut consumed = 0;
        while !matches!(self.phase, Phase::Closing | Phase::Closed) {
            let available = &input[consumed..];
            // Until keys exist in this direction, a frame may be only a few kilobytes: a peer that
            // has proven nothing cannot make us buffer more.
            let max_body = self.config.max_body(self.protected(self.opener.is_some()));
            let (header, header_len) = match Header::parse(available, max_body) {
                Ok(parsed) => parsed,
                Err(FrameError::Incomplete { .. }) => break,
                Err(error) => {
                    let violation = self.header_violation(available, error);
                    self.fail(violation);
                    break;
                }
            };
            self.first_frame = false;
            // Refused as soon as the header is in, before any of the body is buffered.
            if let Err(violation) = check_header(&header, self.expected_version(&header)) {
                self.fail(violation);
                break;
            }
            self.heard_version |= self.accepted && header.version == self.version;
            let frame_len = header_len + header.body_len as usize;
            if available.len() < frame_len {
                break;
            }
            let frame = &mut input[consumed..consumed + frame_len];
            consumed += frame_len;
            if let Err(violation) = self.process_frame(frame, &header, header_len, now) {
                self.fail(violation);
            }
        }
        input.drain(..consumed);
        // An idle connection keeps no large buffer around.
        if input.is_empty() && input.capacity() > IDLE_INPUT_CAPACITY {
            input = Vec::new();
        }
        self.input = input;
    }

    /// Feeds one message of a message transport (WSS), which must hold exactly one whole frame: a
    /// message that holds part of one, or more, ends the connection.
    pub fn receive_message(&mut self, message: &[u8], now: Instant) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        let max_body = self.config.max_body(self.protected(self.opener.is_some()));
        let whole = match Header::parse(message, max_body) {
            Ok((header, header_len)) => header_len + header.body_len as usize == message.len(),
            Err(FrameError::Incomplete { .. }) => false,
            // `receive` names a malformed or foreign header in its own words.
            Err(_) => true,
        };
        if !whole || !self.input.is_empty() {
            self.stats.received_bytes(message.len());
            let text =
                format!("a message must hold exactly one whole frame; a message of {} bytes did not", message.len());
            self.fail(Violation::protocol(text));
            return;
        }
        self.receive(message, now);
    }

    /// Why a header was refused, in the words a host needs: a first frame that is not sealnet at
    /// all (an HTTP or TLS server, say) is named as such rather than as a bad version number.
    fn header_violation(&self, input: &[u8], error: FrameError) -> Violation {
        if let (true, FrameError::UnsupportedVersion(_)) = (self.first_frame, error) {
            let peer = match self.role {
                Role::Client => "the server",
                Role::Server => "the client",
            };
            return Violation::protocol(format!("{peer} does not speak the sealnet protocol ({})", foreign(input)));
        }
        match error {
            FrameError::BodyTooLarge { len, max }
                if !self.protected(self.opener.is_some()) && max < self.config.max_frame_body =>
            {
                Violation::protocol(format!(
                    "frame body of {len} bytes exceeds the limit of {max} for frames before the key exchange"
                ))
            }
            error => Violation::protocol(error.to_string()),
        }
    }

    pub(super) fn process_frame(
        &mut self,
        frame: &mut [u8],
        header: &Header,
        header_len: usize,
        now: Instant,
    ) -> Result<(), Violation> {
        self.stats.received_frame();
        let raw_frame =
            matches!(header.message_type, MessageType::Connect | MessageType::ConnectAck).then(|| frame.to_vec());
        // A client that gives up during its key exchange (a timeout, its host disconnecting) has no
        // keys yet and sends its Disconnect in clear, while this server already installed its own:
        // until the client's first authenticated frame, that clear Disconnect is taken as one
        // (section 3.2), so an honest client's goodbye is not reported as a protocol violation.
        let clear_goodbye = self.role == Role::Server
            && header.message_type == MessageType::Disconnect
            && header.counter.is_none()
            && self.opener.as_ref().is_some_and(|opener| !opener.has_opened());
        let opener = if header.message_type.is_pre_key() || clear_goodbye { None } else { self.opener.as_mut() };
        let body = open_frame(frame, header, header_len, opener).map_err(|error| match error {
            OpenError::Replay(replay) => Violation { reason: DisconnectReason::Replay, message: replay.to_string() },
            OpenError::OutOfOrder { expected, got } => Violation {
                reason: DisconnectReason::Replay,
                message: format!("frame counter {got} out of order (expected {expected})"),
            },
            OpenError::Authentication(failed) => {
                Violation { reason: DisconnectReason::AuthenticationFailed, message: failed.to_string() }
            }
            OpenError::MissingAuthentication => Violation::protocol("unauthenticated frame after the key exchange"),
            OpenError::UnexpectedAuthentication => Violation::protocol("authenticated frame before the key exchange"),
        })?;
        self.last_receive = now;
        self.dispatch(header.message_type, body, header.encrypted, header.delivery, header.channel, raw_frame, now)
    }

    /// Acts on one verified message by role and state (section 5.5), whatever transport brought it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dispatch(
        &mut self,
        message_type: MessageType,
        body: &[u8],
        encrypted: bool,
        delivery: Delivery,
        channel: u8,
        raw_frame: Option<Vec<u8>>,
        now: Instant,
    ) -> Result<(), Violation> {
        // A client sends nothing between its first key-exchange message and the reply (it queues), so
        // a frame there is not an honest client's; and while the driver decides, nothing may run as
        // the player a token names before the key exchange proves the client holds its secret.
        if matches!(self.phase, Phase::KeyExchangeRequested(_) | Phase::AuthOnceRequested(_))
            && message_type != MessageType::Disconnect
        {
            return Err(Violation::protocol(format!(
                "{message_type:?} frame while the key exchange is being answered; a client sends nothing until \
                 the reply"
            )));
        }
        match (self.role, message_type) {
            (_, MessageType::Ping) if self.is_live() => {
                let ping = Ping::decode(body, &self.limits())?;
                // From version 2 a server tells the client its clock, so games can share one time.
                let server_time_ms = (self.role == Role::Server && self.version >= 2).then(|| {
                    let epoch = self.config.server_epoch.unwrap_or(self.epoch);
                    now.saturating_duration_since(epoch).as_millis() as u64
                });
                let pong = Pong { echo_ms: ping.timestamp_ms, server_time_ms };
                let options = self.control_options();
                let _ = self.send_message(MessageType::Pong, options, |out| pong.encode(out));
            }
            (_, MessageType::Pong) if self.is_live() => {
                let pong = Pong::decode(body, &self.limits())?;
                let server_clock = self.role == Role::Client && self.version >= 2;
                if pong.server_time_ms.is_some() != server_clock {
                    return Err(Violation::protocol(if server_clock {
                        "a version-2 server's pong without its clock"
                    } else {
                        "a pong with a server time on a connection that has none"
                    }));
                }
                let now_ms = now.duration_since(self.epoch).as_millis() as u64;
                if let Some(rtt) = now_ms.checked_sub(pong.echo_ms) {
                    let rtt = std::time::Duration::from_millis(rtt);
                    self.rtt = Some(rtt);
                    self.stats.pong(rtt, pong.server_time_ms, now);
                }
            }
            (_, MessageType::Disconnect) => {
                let notice = Disconnect::decode(body, &self.limits())?;
                let code = match self.role {
                    Role::Client => DisconnectReason::status_when_sent_by_server(notice.reason),
                    Role::Server => StatusCode::Disconnect,
                };
                let message = if notice.message.is_empty() {
                    DisconnectReason::from_u16(notice.reason).map_or("unknown reason", |r| r.describe()).to_owned()
                } else {
                    notice.message
                };
                // A server that speaks only version 1 cannot read a Connect offering a range and
                // refuses it as malformed: say what that most likely means.
                let message = if matches!(self.phase, Phase::AwaitingAck)
                    && self.sent_versions.is_some()
                    && notice.reason == DisconnectReason::ProtocolViolation as u16
                {
                    format!(
                        "the server refused the connect request, probably because it speaks only protocol \
                         version 1 (offer version 1 only to reach it); it said: {message}"
                    )
                } else {
                    message
                };
                // A host waiting for the key exchange hears that it failed, and why.
                if matches!(self.phase, Phase::KeyExchange(_)) {
                    self.status(StatusCode::EncryptionFailedToEstablish, notice.reason, &message);
                }
                self.phase = Phase::Closing;
                self.queued.clear();
                if code != StatusCode::Disconnect {
                    self.status(code, notice.reason, &message);
                }
                self.close_reason = Some((notice.reason, message));
            }
            (Role::Server, MessageType::Connect) => self.on_connect(body, raw_frame)?,
            (Role::Client, MessageType::ConnectAck) => self.on_connect_ack(body, raw_frame, now)?,
            (_, MessageType::HandshakeInit | MessageType::HandshakeInitPsk | MessageType::HandshakeReply)
                if self.is_secure_transport() =>
            {
                return Err(Violation::protocol("no key exchange runs over WSS: TLS protects the connection"))
            }
            (Role::Server, MessageType::HandshakeInit) => self.on_handshake_init(body)?,
            (Role::Server, MessageType::HandshakeInitPsk) => self.on_handshake_init_psk(body)?,
            (Role::Client, MessageType::HandshakeReply) => self.on_handshake_reply(body)?,
            (Role::Server, MessageType::OperationRequest) if self.is_live() => {
                let request = OperationRequest::decode(body, &self.limits())?;
                // Over WSS the transport satisfies the rule whatever the flag says.
                if self.config.must_encrypt.contains(request.op_code) && !encrypted && !self.is_secure_transport() {
                    self.refuse_unencrypted(&request);
                } else {
                    self.events.push_back(SessionEvent::OperationRequest { request, encrypted, delivery, channel });
                }
            }
            (Role::Client, MessageType::OperationResponse) if self.is_live() => {
                let response = OperationResponse::decode(body, &self.limits())?;
                self.events.push_back(SessionEvent::OperationResponse { response, encrypted });
            }
            (Role::Client, MessageType::Event) if self.is_live() => {
                let event = EventData::decode(body, &self.limits())?;
                self.events.push_back(SessionEvent::Event { event, encrypted });
            }
            (_, other) => {
                return Err(Violation::protocol(format!("unexpected {other:?} frame in state {:?}", self.state())))
            }
        }
        Ok(())
    }

    /// The version byte `header` must carry. A client that gives up while the accepting ConnectAck
    /// is on its way sends a version-1 Disconnect (section 1.4), so until the first frame of the
    /// chosen version arrives a server takes a Disconnect of version 1 too.
    pub(super) fn expected_version(&self, header: &Header) -> u8 {
        let goodbye_before_ack = self.role == Role::Server
            && !self.heard_version
            && header.message_type == MessageType::Disconnect
            && header.version == PROTOCOL_VERSION;
        if goodbye_before_ack {
            PROTOCOL_VERSION
        } else {
            self.version
        }
    }

    fn is_live(&self) -> bool {
        matches!(
            self.phase,
            Phase::Connected
                | Phase::KeyExchangeRequested(_)
                | Phase::AuthOnceRequested(_)
                | Phase::KeyExchange(_)
                | Phase::Encrypted
        )
    }

    fn on_connect(&mut self, body: &[u8], raw_frame: Option<Vec<u8>>) -> Result<(), Violation> {
        if !matches!(self.phase, Phase::Idle) {
            return Err(Violation::protocol("Connect sent twice"));
        }
        let request = Connect::decode(body, &self.limits())?;
        let offered = request.versions.unwrap_or(Versions::V1);
        if offered.min == 0 || offered.min > offered.max {
            return Err(Violation::protocol(format!("version range {}-{} is not a range", offered.min, offered.max)));
        }
        self.add_to_prologue(&raw_frame.unwrap_or_default());
        self.phase = Phase::AwaitingAccept;
        let ours = self.config.versions;
        let Some(chosen) = ours.common(offered) else {
            // Refused by the protocol itself: there is nothing for the application to decide.
            self.offered = Some((0, request.versions.is_some()));
            let message = format!(
                "this server speaks protocol versions {} to {}; the client speaks {} to {}",
                ours.min, ours.max, offered.min, offered.max
            );
            self.refuse(DisconnectReason::VersionMismatch, &message).map_err(|e| Violation::protocol(e.to_string()))?;
            return Ok(());
        };
        self.offered = Some((chosen, request.versions.is_some()));
        self.events.push_back(SessionEvent::ConnectRequest {
            app_id: request.app_id,
            client_version: request.client_version,
            protocol_version: chosen,
        });
        Ok(())
    }

    fn on_connect_ack(&mut self, body: &[u8], raw_frame: Option<Vec<u8>>, now: Instant) -> Result<(), Violation> {
        if !matches!(self.phase, Phase::AwaitingAck) {
            return Err(Violation::protocol("unexpected ConnectAck"));
        }
        let ack = ConnectAck::decode(body, &self.limits())?;
        if let Some(link) = self.link.as_mut() {
            // The Initial was answered.
            link.answered();
        }
        if self.sent_versions.is_none() && ack.versions.is_some() {
            return Err(Violation::protocol("the server answered with versions a version-1 Connect did not offer"));
        }
        if ack.reason != DisconnectReason::None as u16 {
            let message = match ack.versions {
                Some((server, _)) if ack.reason == DisconnectReason::VersionMismatch as u16 => {
                    let ours = self.config.versions;
                    format!(
                        "the server speaks protocol versions {} to {}; this client speaks {} to {}: update the older one",
                        server.min, server.max, ours.min, ours.max
                    )
                }
                _ if ack.message.is_empty() => {
                    DisconnectReason::from_u16(ack.reason).map_or("connection refused", |r| r.describe()).to_owned()
                }
                _ => ack.message,
            };
            self.phase = Phase::Closing;
            self.status(DisconnectReason::status_when_sent_by_server(ack.reason), ack.reason, &message);
            self.close_reason = Some((ack.reason, message));
            return Ok(());
        }
        let chosen = match (self.sent_versions, ack.versions) {
            (None, _) => PROTOCOL_VERSION,
            // Stripping the range would downgrade the connection unnoticed until (and unless) a key
            // exchange runs; no server accepts a range without answering one.
            (Some(_), None) => {
                return Err(Violation::protocol("the server accepted a version range without naming a version"))
            }
            (Some(ours), Some((server, chosen))) => {
                // The server must have chosen the highest version both speak, from a real range.
                let valid_range = server.min >= 1 && server.min <= server.max;
                if !valid_range || ours.common(server) != Some(chosen) {
                    return Err(Violation::protocol(format!(
                        "the server chose protocol version {chosen} from its versions {} to {}; this client speaks {} to {}",
                        server.min, server.max, ours.min, ours.max
                    )));
                }
                chosen
            }
        };
        if matches!(self.config.transport, Transport::Stream) && chosen > LATEST_VERSION {
            return Err(Violation::protocol(format!(
                "the server chose protocol version {chosen}, which is not a version of a stream (TCP) connection"
            )));
        }
        self.add_to_prologue(&raw_frame.unwrap_or_default());
        self.version = chosen;
        self.accepted = true;
        self.phase = Phase::Connected;
        self.deadline = None;
        // The first ping goes out at once (after the key exchange, which pauses pings, when one
        // runs): the round-trip time and the server clock are known within a round trip, not after a
        // whole ping interval.
        self.next_ping = now;
        self.status(StatusCode::Connect, 0, "connected");
        self.establish_by_tls();
        if self.config.auto_key_exchange {
            self.establish_encryption(now).map_err(|error| Violation::protocol(error.to_string()))?;
        }
        Ok(())
    }

    fn on_handshake_init(&mut self, body: &[u8]) -> Result<(), Violation> {
        if !matches!(self.phase, Phase::Connected) {
            return Err(Violation::protocol("HandshakeInit outside the Connected state"));
        }
        if self.config.gate_key_exchange {
            self.phase = Phase::KeyExchangeRequested(body.to_vec());
            self.events.push_back(SessionEvent::KeyExchangeRequest);
            return Ok(());
        }
        self.respond_to_handshake(body)
    }

    /// Server: reads the AuthOnce key exchange's first message and asks the driver for the secret its
    /// token names. Nothing about the client is proven yet: anyone can copy this message.
    fn on_handshake_init_psk(&mut self, body: &[u8]) -> Result<(), Violation> {
        if !matches!(self.phase, Phase::Connected) {
            return Err(Violation::protocol("HandshakeInitPsk outside the Connected state"));
        }
        let failed =
            |error: NoiseError| Violation { reason: DisconnectReason::KeyExchangeFailed, message: error.to_string() };
        let responder = Responder::read_psk(&self.prologue, body).map_err(failed)?;
        let token = match responder.remote_payload().split_first() {
            Some((&version, token)) if version == self.version && !token.is_empty() => token.to_vec(),
            Some((&version, _)) if version != self.version => {
                return Err(Violation {
                    reason: DisconnectReason::VersionMismatch,
                    message: "unsupported handshake version".into(),
                })
            }
            _ => return Err(Violation::protocol("an AuthOnce key exchange without a server token")),
        };
        self.phase = Phase::AuthOnceRequested(Box::new(responder));
        self.events.push_back(SessionEvent::AuthOnceRequest { token });
        Ok(())
    }

    /// Server: the responder side of the handshake, then the keys.
    pub(super) fn respond_to_handshake(&mut self, body: &[u8]) -> Result<(), Violation> {
        let static_key = self.static_key.clone().ok_or_else(|| Violation::protocol("server has no static key"))?;
        let mut reply = Vec::with_capacity(128);
        let completed = respond(&static_key, &self.prologue, body, &[self.version], &mut reply).map_err(|error| {
            self.status(
                StatusCode::EncryptionFailedToEstablish,
                DisconnectReason::KeyExchangeFailed as u16,
                &error.to_string(),
            );
            Violation { reason: DisconnectReason::KeyExchangeFailed, message: error.to_string() }
        })?;
        if completed.remote_payload.first() != Some(&self.version) {
            return Err(Violation {
                reason: DisconnectReason::VersionMismatch,
                message: "unsupported handshake version".into(),
            });
        }
        self.send_pre_key_frame(MessageType::HandshakeReply, |out| out.extend_from_slice(&reply))
            .map_err(|error| Violation::protocol(error.to_string()))?;
        self.install_keys(completed);
        Ok(())
    }

    fn on_handshake_reply(&mut self, body: &[u8]) -> Result<(), Violation> {
        let Phase::KeyExchange(_) = self.phase else {
            return Err(Violation::protocol("unexpected HandshakeReply"));
        };
        let Phase::KeyExchange(initiator) = std::mem::replace(&mut self.phase, Phase::Connected) else {
            unreachable!("checked above");
        };
        let pin = self.config.server_key_pin;
        let bound_to_secret = initiator.is_psk();
        let outcome = initiator.finish(body, pin.as_ref()).map_err(|error| match error {
            // With the right static key and no tampering, only the secret can differ.
            NoiseError::Decrypt if bound_to_secret => {
                "the AuthOnce key exchange failed: the server does not hold this \
                 client's secret (the secret is wrong, or the token is not this client's), or the reply was altered"
                    .to_owned()
            }
            error => error.to_string(),
        });
        let outcome = outcome.and_then(|completed| {
            if completed.remote_payload.first() == Some(&self.version) {
                Ok(completed)
            } else {
                Err("unsupported handshake version".to_owned())
            }
        });
        match outcome {
            Ok(completed) => {
                self.install_keys(completed);
                Ok(())
            }
            Err(message) => {
                self.queued.clear();
                self.status(
                    StatusCode::EncryptionFailedToEstablish,
                    DisconnectReason::KeyExchangeFailed as u16,
                    &message,
                );
                Err(Violation { reason: DisconnectReason::KeyExchangeFailed, message })
            }
        }
    }

    fn refuse_unencrypted(&mut self, request: &OperationRequest) {
        let response = OperationResponse {
            op_code: request.op_code,
            return_code: return_code::MUST_ENCRYPT,
            debug_message: Some(format!("operation {} must be sent encrypted", request.op_code)),
            params: Default::default(),
        };
        let _ = self.send_message(MessageType::OperationResponse, SendOptions::RELIABLE, |out| response.encode(out));
    }

    /// Ends the connection because of what the peer sent; other connections are unaffected.
    pub(super) fn fail(&mut self, violation: Violation) {
        let status = match (self.role, violation.reason) {
            (_, DisconnectReason::KeyExchangeFailed) => None,
            (Role::Client, _) => Some(StatusCode::ExceptionOnReceive),
            (Role::Server, _) => Some(StatusCode::ExceptionOnReceive),
        };
        self.close(violation.reason, &violation.message, status);
    }
}
