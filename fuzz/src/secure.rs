//! The secure message transport (WSS, protocol version 4, docs/protocol.md section 15): a server or a
//! client session in `Transport::Secure`, driven as a WebSocket driver drives it: each message goes to
//! `receive_message` whole, and the output is cut into one message per frame by `frame::frames`. The
//! client target has sent its Connect; the input is what the other end sends, and the target's host.
//!
//! Input: a flags byte (1: ask for a key exchange, which must not matter; 2: the server's host refuses
//! the Connect; 4: 300 bytes of pending output at most; 8: a 64-byte clear limit and 512-byte frames;
//! 0x10: the transport starts stalled; 0x20: configured for versions 1 to 2, which must not matter;
//! 0x40: the server's host echoes operations, the client holds AuthOnce credentials; 0x80: the client
//! pins a server key), then up to [`MAX_COMMANDS`] commands. A command byte's low three bits pick it:
//! 0 to 2 a message (`Input::sized`) as it is; 3 two messages glued into one; 4 a time step and the
//! timers; 5 a send by the target's host; 6 a host action (disconnect, a stalled transport,
//! `establish_encryption`, a message cut in two); 7 a frame built from a type, version, flags, channel
//! and body, so the fuzzer gets the length field right for free.
//!
//! Checked, besides "no panic": every output cuts into whole frames that `frame::frames` consumes
//! entirely, none AUTHENTICATED, none with a datagram extension, none of the key exchange, each of the
//! version the connection speaks, of a type its role sends and within the frame limits; unsent output
//! stays within its bound. Every message delivered to an open session meets the model of section 15:
//! one that is not exactly one whole frame, an authenticated frame or a key-exchange message ends the
//! session; a Connect is answered by the 4-to-4 rule (a server) and an accepting ConnectAck makes the
//! connection Encrypted at once (a client); on an accepted connection every decodable message is
//! reported exactly as its header and body say (the ENCRYPTED flag as it came, must-encrypt operations
//! satisfied by TLS), a ping is answered and anything else ends the session. Once closing, a session
//! writes and reports nothing more, whatever it is fed or asked; a silent peer is dropped.

use std::time::{Duration, Instant};

use sealnet::protocol::codec::{decode_params, encode_params, CodecError, Limits, Params, DEFAULT_LIMITS};
use sealnet::protocol::frame::{
    self, flags, Header, MessageType, COUNTER_LEN, FIXED_HEADER_LEN, FRAGMENT_LEN, MAX_HEADER_LEN, PROTOCOL_VERSION,
    SECURE_VERSION, SEQUENCE_LEN,
};
use sealnet::protocol::message::{
    Connect, ConnectAck, EventData, OperationRequest, OperationResponse, Ping, Pong, Versions, MAX_REASON_TEXT,
};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{
    AuthOnceCredentials, Role, Session, SessionConfig, SessionError, SessionEvent, Transport,
};
use sealnet::protocol::status::{op_code, DisconnectReason, PeerState, StatusCode};

use crate::input::{base_time, time_step, Input};
use crate::session::run_timers;
use crate::wire::{close, drain_client, server_key, statuses, ServerHost};

/// Commands per input.
pub const MAX_COMMANDS: usize = 256;
/// Longer than every timer of the default configuration.
const SILENCE: Duration = Duration::from_secs(11);
/// The only versions the secure transport speaks.
const SECURE: Versions = Versions { min: SECURE_VERSION, max: SECURE_VERSION };

pub fn secure_server_session(data: &[u8]) {
    Rig::run(Role::Server, data);
}

pub fn secure_client_session(data: &[u8]) {
    Rig::run(Role::Client, data);
}

/// What a whole frame delivered to an open session must do to it.
#[derive(Debug)]
enum Verdict {
    /// A server reports this Connect (and its host answers it).
    ConnectRequest,
    /// A client takes this accepting ConnectAck: the connection is Encrypted at once.
    Accepted,
    /// The session reports this message (server: an operation; client: an event or a response).
    Report(Expected),
    /// A ping: the session stays open and answers it.
    Ping,
    /// The session stays open and reports nothing.
    Keep,
    /// The session ends.
    Close,
}

/// A message as the receiving session must report it; parameters compared encoded.
#[derive(Debug, PartialEq)]
enum Expected {
    Request { op_code: u8, params: Vec<u8>, encrypted: bool, delivery: u8, channel: u8 },
    Event { code: u8, sender: i32, params: Vec<u8>, encrypted: bool },
    Response { op_code: u8, return_code: i16, debug_message: Option<String>, params: Vec<u8>, encrypted: bool },
}

fn encoded(params: &Params) -> Vec<u8> {
    let mut out = Vec::new();
    encode_params(params, &mut out);
    out
}

fn options(byte: u8) -> SendOptions {
    SendOptions {
        encrypt: byte & 1 != 0,
        delivery: sealnet::protocol::frame::Delivery::from_u8((byte >> 1) & 3).expect("two bits"),
        channel: byte >> 3,
    }
}

fn is_key_exchange(message_type: MessageType) -> bool {
    matches!(message_type, MessageType::HandshakeInit | MessageType::HandshakeInitPsk | MessageType::HandshakeReply)
}

/// The frame in `message`, when it holds exactly one whole frame (the header parsed without a body
/// limit, as `frame::frames` parses).
fn whole_frame(message: &[u8]) -> Option<(Header, usize)> {
    match Header::parse(message, u32::MAX) {
        Ok((header, header_len)) if header_len + header.body_len as usize == message.len() => {
            Some((header, header_len))
        }
        _ => None,
    }
}

/// A frame from parts: any version, type byte and flags byte, with the extensions the flags announce
/// (zeros) and the body length filled in.
fn built_frame(version: u8, type_byte: u8, flag_bits: u8, channel: u8, body: &[u8]) -> Vec<u8> {
    let mut extensions = 0;
    if flag_bits & flags::AUTHENTICATED != 0 {
        extensions += COUNTER_LEN;
    }
    if flag_bits & flags::SEQUENCED != 0 {
        extensions += SEQUENCE_LEN;
    }
    if flag_bits & flags::FRAGMENT != 0 {
        extensions += FRAGMENT_LEN;
    }
    let mut frame = vec![version, type_byte, flag_bits, channel];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.resize(FIXED_HEADER_LEN + extensions, 0);
    frame.extend_from_slice(body);
    frame
}

struct Rig {
    role: Role,
    session: Session,
    host: ServerHost,
    now: Instant,
    /// The transport takes no output while set (a WebSocket that does not drain).
    stalled: bool,
    /// Bytes at the start of the pending output already checked (it stays while the transport stalls).
    checked: usize,
    /// Headers of the frames the last `take_output` found new.
    new_frames: Vec<Header>,
    /// Events of the current command, all of them.
    events: Vec<SessionEvent>,
}

impl Rig {
    fn run(role: Role, data: &[u8]) {
        let mut input = Input::new(data);
        let flags = input.u8();
        let defaults = SessionConfig::default();
        let small = flags & 8 != 0;
        let config = SessionConfig {
            transport: Transport::Secure,
            // Neither may matter on this transport: no key exchange runs, versions are 4 to 4.
            auto_key_exchange: flags & 1 != 0,
            gate_key_exchange: flags & 1 != 0,
            versions: if flags & 0x20 != 0 { Versions { min: 1, max: 2 } } else { defaults.versions },
            max_pending_output: if flags & 4 != 0 { 300 } else { defaults.max_pending_output },
            max_clear_body: if small { 64 } else { defaults.max_clear_body },
            max_frame_body: if small { 512 } else { defaults.max_frame_body },
            // A client that asks for what WSS cannot give refuses to connect (section 15.3).
            server_key_pin: (role == Role::Client && flags & 0x80 != 0).then(|| *server_key().public()),
            auth_once: (role == Role::Client && flags & 0x40 != 0)
                .then(|| AuthOnceCredentials::new(b"token".to_vec(), &[7; 32])),
            ..defaults
        };
        let now = base_time();
        let session = match role {
            Role::Server => Session::server(config, server_key(), now),
            Role::Client => Session::client(config, now),
        };
        assert!(session.is_secure_transport());
        assert_eq!(session.config().versions, SECURE, "the secure transport speaks version 4 only");
        assert!(!session.config().auto_key_exchange, "a key exchange would run over WSS");
        let mut rig = Rig {
            role,
            session,
            host: ServerHost { refuse_connect: flags & 2 != 0, echo: flags & 0x40 != 0, ..ServerHost::default() },
            now,
            stalled: flags & 0x10 != 0,
            checked: 0,
            new_frames: Vec::new(),
            events: Vec::new(),
        };
        if role == Role::Client {
            let result = rig.session.connect("fuzz-app", "1.0", now);
            if flags & 0xc0 != 0 {
                assert!(
                    matches!(result, Err(SessionError::InvalidConnectRequest(_))),
                    "a pin or AuthOnce credentials over WSS were not refused: {result:?}"
                );
                assert_eq!(rig.session.state(), PeerState::Disconnected);
                assert_eq!(rig.session.poll_timeout(), None);
            } else {
                result.expect("a valid connect request is sent");
            }
            rig.take_output();
        }

        let mut commands = 0;
        while !input.is_empty() && commands < MAX_COMMANDS {
            commands += 1;
            let closing = rig.closing();
            rig.events.clear();
            rig.command(&mut input);
            run_timers(&mut rig.session, rig.now, false);
            rig.drain_events();
            rig.take_output();
            if closing {
                assert!(rig.closing(), "a closing session opened again: {:?}", rig.session);
                assert_eq!(rig.session.state(), PeerState::Disconnecting);
                assert!(rig.events.is_empty(), "a closing session reported {:?}", rig.events);
                assert_eq!(rig.session.poll_timeout(), None, "a closing session set a timer");
            }
        }
        rig.finish();
    }

    fn closing(&self) -> bool {
        self.session.wants_close() || self.session.is_closed()
    }

    fn accepted(&self) -> bool {
        self.session.negotiated_version().is_some()
    }

    fn command(&mut self, input: &mut Input<'_>) {
        let command = input.u8();
        let arg = command >> 3;
        match command % 8 {
            0..=2 => {
                let message = input.sized().to_vec();
                self.deliver(&message);
            }
            3 => {
                let mut message = input.sized().to_vec();
                message.extend_from_slice(input.sized());
                self.deliver(&message);
            }
            4 => self.now += time_step(arg),
            5 => self.host_send(arg, input),
            6 => match arg % 4 {
                0 => {
                    let message = String::from_utf8_lossy(input.sized()).into_owned();
                    let reason = match self.role {
                        Role::Server => DisconnectReason::ServerLogic,
                        Role::Client => DisconnectReason::ClientRequest,
                    };
                    // A client that never connected has nobody to say goodbye to.
                    let silent =
                        self.closing() || self.role == Role::Client && self.session.state() == PeerState::Disconnected;
                    let before = self.session.pending_output().len();
                    self.session.disconnect(reason, &message);
                    assert!(self.closing());
                    if !silent {
                        let goodbye = &self.session.pending_output()[before..];
                        let header = whole_frame(goodbye).map(|(header, _)| header.message_type);
                        assert_eq!(header, Some(MessageType::Disconnect), "disconnect wrote {goodbye:02x?}");
                    }
                }
                1 => self.stalled = !self.stalled,
                2 => self.host_control(),
                _ => {
                    let message = input.sized().to_vec();
                    let cut = usize::from(input.u8()) % (message.len() + 1);
                    self.deliver(&message[..cut]);
                    self.deliver(&message[cut..]);
                }
            },
            _ => {
                let kind = input.u8();
                let flag_bits = input.u8();
                let channel = input.u8();
                let body = input.sized();
                let version = match kind >> 5 {
                    0..=4 => SECURE_VERSION,
                    5 | 6 => PROTOCOL_VERSION,
                    _ => arg % 8,
                };
                // Types 1 to 12, and now and then an unknown one.
                let type_byte = if kind & 0x10 != 0 && kind & 0x0f == 0x0f { 0x0d } else { (kind & 0x0f) % 12 + 1 };
                let message = built_frame(version, type_byte, flag_bits, channel, body);
                self.deliver(&message);
            }
        }
    }

    /// Drains the session's events (a server's host answers them) into `events`.
    fn drain_events(&mut self) -> Vec<SessionEvent> {
        let events = match self.role {
            Role::Server => self.host.serve(&mut self.session, self.now),
            Role::Client => drain_client(&mut self.session),
        };
        for event in &events {
            assert!(
                !matches!(event, SessionEvent::KeyExchangeRequest | SessionEvent::AuthOnceRequest { .. }),
                "a key exchange was requested over WSS: {event:?}"
            );
            if let SessionEvent::Status(info) = event {
                assert_ne!(
                    info.code,
                    StatusCode::EncryptionFailedToEstablish,
                    "a key exchange failed over WSS: {info:?}"
                );
            }
        }
        self.events.extend(events.iter().cloned());
        events
    }

    /// Delivers one message as a WebSocket driver does, and holds the session to the model.
    fn deliver(&mut self, message: &[u8]) {
        let open = !self.closing();
        let verdict = open.then(|| self.verdict(message));
        let room = self.session.pending_output().len() <= self.session.config().max_pending_output;
        self.session.receive_message(message, self.now);
        let events = self.drain_events();
        self.take_output();
        let Some(verdict) = verdict else {
            assert!(events.is_empty(), "a closing session reported {events:?}");
            return;
        };
        let reported: Vec<&SessionEvent> =
            events.iter().filter(|event| !matches!(event, SessionEvent::Status(_))).collect();
        let what = || format!("{verdict:?} for {message:02x?}: {events:?}, {:?}", self.session);
        let closing = self.closing();
        match &verdict {
            Verdict::Close => assert!(closing, "the session kept a message it must refuse: {}", what()),
            Verdict::Keep => {
                assert!(!closing && reported.is_empty(), "the session did not just keep a message: {}", what())
            }
            Verdict::Ping => {
                assert!(!closing && reported.is_empty(), "a ping was not taken: {}", what());
                let ponged = self.new_frames.iter().any(|header| header.message_type == MessageType::Pong);
                assert!(ponged || !room, "a ping was not answered: {}", what());
            }
            Verdict::ConnectRequest => match reported.as_slice() {
                [SessionEvent::ConnectRequest { protocol_version, .. }] => {
                    assert_eq!(*protocol_version, SECURE_VERSION, "{}", what());
                    if self.host.refuse_connect {
                        assert!(closing, "a refused connection stayed open: {}", what());
                    } else {
                        self.check_established(&events);
                    }
                }
                _ => panic!("a Connect offering version 4 was not reported: {}", what()),
            },
            Verdict::Accepted => {
                assert!(reported.is_empty(), "{}", what());
                self.check_established(&events);
            }
            Verdict::Report(expected) => {
                let got = match reported.as_slice() {
                    [SessionEvent::OperationRequest { request, encrypted, delivery, channel }] => Expected::Request {
                        op_code: request.op_code,
                        params: encoded(&request.params),
                        encrypted: *encrypted,
                        delivery: *delivery as u8,
                        channel: *channel,
                    },
                    [SessionEvent::Event { event, encrypted }] => Expected::Event {
                        code: event.code,
                        sender: event.sender,
                        params: encoded(&event.params),
                        encrypted: *encrypted,
                    },
                    [SessionEvent::OperationResponse { response, encrypted }] => Expected::Response {
                        op_code: response.op_code,
                        return_code: response.return_code,
                        debug_message: response.debug_message.clone(),
                        params: encoded(&response.params),
                        encrypted: *encrypted,
                    },
                    _ => panic!("a message was not reported as sent: {}", what()),
                };
                assert_eq!(&got, expected, "a message arrived altered: {}", what());
                // The server's host may echo it; nothing closes the session but a full output.
                assert!(!closing, "{}", what());
            }
        }
    }

    /// An accepted connection on this transport is Encrypted at once, and says so (section 15.3).
    fn check_established(&self, events: &[SessionEvent]) {
        assert_eq!(self.session.state(), PeerState::Encrypted, "an accepted WSS connection is not Encrypted");
        assert!(self.session.is_encrypted());
        assert_eq!(self.session.negotiated_version(), Some(SECURE_VERSION));
        assert!(self.session.handshake_hash().is_none() && self.session.remote_static_key().is_none());
        let codes: Vec<_> = statuses(events).map(|info| info.code).collect();
        assert!(
            codes.windows(2).any(|pair| pair == [StatusCode::Connect, StatusCode::EncryptionEstablished]),
            "acceptance did not report Connect then EncryptionEstablished: {events:?}"
        );
    }

    /// What `message` must do to the open session, by section 15 and the session rules of sections 3
    /// and 5.
    fn verdict(&self, message: &[u8]) -> Verdict {
        let Some((header, header_len)) = whole_frame(message) else {
            return Verdict::Close;
        };
        let body = &message[header_len..];
        let config = self.session.config();
        let max_body = config.max_body(self.accepted());
        if header.counter.is_some()
            || header.sequence.is_some()
            || header.fragment.is_some()
            || is_key_exchange(header.message_type)
            || header.body_len > max_body
        {
            return Verdict::Close;
        }
        if !self.accepted() {
            return self.verdict_before_acceptance(&header, body);
        }
        if header.version != SECURE_VERSION {
            // A version-1 Disconnect is still a goodbye; anything else of another version is refused.
            return Verdict::Close;
        }
        let limits = Limits { protocol_version: SECURE_VERSION, ..config.limits };
        let encrypted = header.encrypted;
        match (self.role, header.message_type) {
            (Role::Server, MessageType::OperationRequest) => match OperationRequest::decode(body, &limits) {
                // Must-encrypt operations too, with or without the flag: TLS satisfies the rule.
                Ok(request) => Verdict::Report(Expected::Request {
                    op_code: request.op_code,
                    params: encoded(&request.params),
                    encrypted,
                    delivery: header.delivery as u8,
                    channel: header.channel,
                }),
                Err(_) => Verdict::Close,
            },
            (Role::Client, MessageType::Event) => match EventData::decode(body, &limits) {
                Ok(event) => Verdict::Report(Expected::Event {
                    code: event.code,
                    sender: event.sender,
                    params: encoded(&event.params),
                    encrypted,
                }),
                Err(_) => Verdict::Close,
            },
            (Role::Client, MessageType::OperationResponse) => match OperationResponse::decode(body, &limits) {
                Ok(response) => Verdict::Report(Expected::Response {
                    op_code: response.op_code,
                    return_code: response.return_code,
                    debug_message: response.debug_message,
                    params: encoded(&response.params),
                    encrypted,
                }),
                Err(_) => Verdict::Close,
            },
            (_, MessageType::Ping) => match Ping::decode(body, &limits) {
                Ok(_) => Verdict::Ping,
                Err(_) => Verdict::Close,
            },
            // A version-2-or-later server's pong carries its clock; a client's never does.
            (_, MessageType::Pong) => match Pong::decode(body, &limits) {
                Ok(pong) if pong.server_time_ms.is_some() == (self.role == Role::Client) => Verdict::Keep,
                _ => Verdict::Close,
            },
            // A Disconnect (taken or malformed), a second Connect or ConnectAck, a message of the
            // other role, an Ack (datagram only).
            _ => Verdict::Close,
        }
    }

    fn verdict_before_acceptance(&self, header: &Header, body: &[u8]) -> Verdict {
        let limits = Limits { protocol_version: PROTOCOL_VERSION, ..self.session.config().limits };
        let first = header.version == PROTOCOL_VERSION && self.session.state() != PeerState::Disconnecting;
        match (self.role, header.message_type) {
            // A server that has not had its Connect yet (its host answers every Connect at once).
            (Role::Server, MessageType::Connect) if first && self.session.state() == PeerState::Disconnected => {
                match Connect::decode(body, &limits) {
                    Ok(connect) => {
                        let offered = connect.versions.unwrap_or(Versions::V1);
                        let range = offered.min != 0 && offered.min <= offered.max;
                        if range && SECURE.common(offered) == Some(SECURE_VERSION) {
                            Verdict::ConnectRequest
                        } else {
                            // Not a range, or refused with VersionMismatch by the session itself.
                            Verdict::Close
                        }
                    }
                    Err(_) => Verdict::Close,
                }
            }
            (Role::Client, MessageType::ConnectAck) if first && self.session.state() == PeerState::Connecting => {
                match ConnectAck::decode(body, &limits) {
                    Ok(ConnectAck { reason: 0, versions: Some((server, chosen)), .. })
                        if server.min >= 1 && server.min <= server.max && SECURE.common(server) == Some(chosen) =>
                    {
                        Verdict::Accepted
                    }
                    // Refused, or an accepting answer that breaks the version rules.
                    _ => Verdict::Close,
                }
            }
            // Nothing else is taken before the connection is accepted.
            _ => Verdict::Close,
        }
    }

    /// The target's host sends something of its own.
    fn host_send(&mut self, arg: u8, input: &mut Input<'_>) {
        let options = options(input.u8());
        let code = input.u8();
        let params = decode_params(input.sized(), &DEFAULT_LIMITS).unwrap_or_default();
        let needs = params.required_version();
        let before = self.session.pending_output().len();
        let (result, message_type, encrypt) = match self.role {
            Role::Server => {
                let (result, kind) = match arg % 3 {
                    0 => {
                        (self.session.send_event(&EventData { code, sender: -1, params }, options), MessageType::Event)
                    }
                    1 => {
                        let mut body = Vec::new();
                        EventData { code, sender: 7, params }.encode(&mut body);
                        (self.session.send_encoded_event(&body, options), MessageType::Event)
                    }
                    _ => {
                        let response =
                            OperationResponse { op_code: code, return_code: -1, debug_message: None, params };
                        (self.session.send_response(&response, options), MessageType::OperationResponse)
                    }
                };
                (result, kind, options.encrypt)
            }
            Role::Client => {
                // Now and then a must-encrypt code, which TLS satisfies: sent, with the flag.
                let code = if arg & 4 != 0 { op_code::AUTHENTICATE } else { code };
                let result = if arg % 2 == 0 {
                    self.session.send_operation_parts(code, &params, options)
                } else {
                    let mut body = Vec::new();
                    OperationRequest::encode_parts(code, &params, &mut body);
                    self.session.send_encoded_operation(&body, options)
                };
                let encrypt = options.encrypt || self.session.config().must_encrypt.contains(code);
                (result, MessageType::OperationRequest, encrypt)
            }
        };
        // Values of a version the connection does not speak (1 before acceptance) are refused by
        // the sender, before it looks at the state.
        if let Err(SessionError::Params(CodecError::TypeNeedsVersion { .. })) = result {
            assert!(needs > self.session.protocol_version(), "{result:?} for values of version {needs}");
            assert_eq!(self.session.pending_output().len(), before, "a refused send wrote something");
            return;
        }
        self.expect_sent(result, before, message_type, SendOptions { encrypt, ..options });
    }

    /// A host's send on this transport: refused only when the connection is not open, the output is
    /// full or the message too large; otherwise one frame, of version 4, with the options as given.
    fn expect_sent(&mut self, result: Result<(), SessionError>, before: usize, kind: MessageType, sent: SendOptions) {
        let open = self.session.state() == PeerState::Encrypted;
        match result {
            Ok(()) => {
                assert!(open, "a send succeeded in {:?}", self.session.state());
                let pending = self.session.pending_output();
                let frame = &pending[before..];
                let (header, _) = whole_frame(frame).expect("a send writes one whole frame");
                assert_eq!(
                    (header.version, header.message_type, header.encrypted, header.delivery, header.channel),
                    (SECURE_VERSION, kind, sent.encrypt, sent.delivery, sent.channel),
                    "a frame went out other than asked"
                );
            }
            Err(SessionError::OutputFull | SessionError::MessageTooLarge { .. }) if open => {
                assert_eq!(self.session.pending_output().len(), before, "a refused send wrote something");
            }
            Err(SessionError::NotConnected) if !open => {}
            Err(error) => panic!("a send failed: {error:?} in {:?}", self.session.state()),
        }
    }

    /// `establish_encryption` (a client) succeeds exactly on an accepted connection and does nothing;
    /// a server has no pending Connect to answer.
    fn host_control(&mut self) {
        let before = self.session.pending_output().len();
        match self.role {
            Role::Client => {
                let result = self.session.establish_encryption(self.now);
                let expected =
                    if self.session.state() == PeerState::Encrypted { Ok(()) } else { Err(SessionError::NotConnected) };
                assert_eq!(result, expected, "establish_encryption over WSS in {:?}", self.session.state());
            }
            Role::Server => {
                assert!(matches!(self.session.accept(self.now), Err(SessionError::InvalidState(_))));
                let refused = self.session.refuse_key_exchange(DisconnectReason::ServerLogic, "none");
                assert!(matches!(refused, Err(SessionError::InvalidState(_))));
                assert!(matches!(self.session.admit_auth_once(&[1; 32]), Err(SessionError::InvalidState(_))));
            }
        }
        assert_eq!(self.session.pending_output().len(), before, "a host control wrote something");
    }

    /// Takes the session's output as a WebSocket driver does (unless the transport stalls), checking
    /// each new frame.
    fn take_output(&mut self) {
        let pending = self.session.pending_output();
        assert!(pending.len() >= self.checked, "output went missing");
        let new = &pending[self.checked..];
        let mut cut = 0;
        let mut headers = Vec::new();
        for frame in frame::frames(new) {
            headers.push(self.check_sent(frame));
            cut += frame.len();
        }
        assert_eq!(cut, new.len(), "the output does not cut into whole frames: {:02x?}", &new[cut..]);
        if self.closing() && !headers.is_empty() {
            // The session's goodbye is the last thing it writes.
            assert!(
                headers[..headers.len() - 1].iter().all(|header| header.message_type != MessageType::Disconnect),
                "frames after a Disconnect: {headers:?}"
            );
        }
        let config = self.session.config();
        let bound =
            config.max_pending_output + config.max_frame_body as usize + 4 * MAX_HEADER_LEN + 2 * MAX_REASON_TEXT;
        assert!(pending.len() <= bound, "unsent output grew to {} bytes", pending.len());
        self.new_frames = headers;
        if self.stalled {
            self.checked = pending.len();
        } else {
            let len = pending.len();
            self.session.consume_output(len);
            self.checked = 0;
        }
    }

    /// One frame the session wrote; returns its header.
    fn check_sent(&self, frame: &[u8]) -> Header {
        let (header, header_len) = Header::parse(frame, u32::MAX).expect("frame::frames cut it");
        let what = || format!("{header:?} from {:?}", self.session);
        assert!(header.counter.is_none(), "an AUTHENTICATED frame on WSS: {}", what());
        assert!(header.sequence.is_none() && header.fragment.is_none(), "a datagram extension on WSS: {}", what());
        let allowed: &[MessageType] = match self.role {
            Role::Server => &[
                MessageType::ConnectAck,
                MessageType::Pong,
                MessageType::OperationResponse,
                MessageType::Event,
                MessageType::Disconnect,
            ],
            Role::Client => &[
                MessageType::Connect,
                MessageType::OperationRequest,
                MessageType::Ping,
                MessageType::Pong,
                MessageType::Disconnect,
            ],
        };
        assert!(allowed.contains(&header.message_type), "a {:?} sent it: {}", self.role, what());
        let config = self.session.config();
        let body = &frame[header_len..];
        let limits = Limits { protocol_version: header.version, ..config.limits };
        match header.message_type {
            MessageType::Connect | MessageType::ConnectAck => {
                assert_eq!(header.version, PROTOCOL_VERSION, "{}", what());
            }
            _ => assert_eq!(header.version, self.session.protocol_version(), "{}", what()),
        }
        assert!(!header.encrypted || header.version == SECURE_VERSION, "{}", what());
        let max_body = config.max_body(header.version == SECURE_VERSION);
        assert!(header.body_len <= max_body, "a frame above its limit: {}", what());
        match header.message_type {
            MessageType::Connect => {
                let connect = Connect::decode(body, &limits).expect("a session's own Connect decodes");
                assert_eq!(connect.versions, Some(SECURE), "a WSS client offers 4 to 4");
            }
            MessageType::ConnectAck => {
                let ack = ConnectAck::decode(body, &limits).expect("a session's own ConnectAck decodes");
                if ack.reason == 0 {
                    assert_eq!(ack.versions, Some((SECURE, SECURE_VERSION)), "{}", what());
                } else if let Some((versions, chosen)) = ack.versions {
                    assert_eq!((versions, chosen), (SECURE, 0), "{}", what());
                }
            }
            MessageType::Pong => {
                let pong = Pong::decode(body, &limits).expect("a session's own Pong decodes");
                assert_eq!(pong.server_time_ms.is_some(), self.role == Role::Server, "{}", what());
            }
            _ => {}
        }
        header
    }

    fn finish(mut self) {
        self.stalled = false;
        self.events.clear();
        self.take_output();
        // A client that never connected has no timer to run.
        let idle_client = self.role == Role::Client && self.session.state() == PeerState::Disconnected;
        if !self.closing() && !idle_client {
            self.now += SILENCE;
            run_timers(&mut self.session, self.now, false);
            assert!(self.closing(), "a silent peer was not dropped: {:?}", self.session);
            self.drain_events();
            self.take_output();
        }
        close(&mut self.session);
        // Closed for good: nothing it is fed or asked changes that.
        let mut ping = Vec::new();
        Ping { timestamp_ms: 1 }.encode(&mut ping);
        let frame = built_frame(SECURE_VERSION, MessageType::Ping as u8, 0x04, 0, &ping);
        self.session.receive_message(&frame, self.now);
        self.session.handle_timeout(self.now + SILENCE);
        self.session.disconnect(DisconnectReason::ServerLogic, "again");
        assert!(self.session.is_closed());
        assert!(self.session.poll_event().is_none(), "a closed session reported something");
        assert!(self.session.pending_output().is_empty(), "a closed session wrote something");
        assert_eq!(self.session.poll_timeout(), None);
    }
}
