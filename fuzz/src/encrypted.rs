//! Sessions that already share transport keys (`Session::encrypted_for_fuzzing`), so the fuzzer reaches
//! everything after decryption. The input drives the *peer*: it sends validly sealed frames with
//! arbitrary plaintext, and a command can flip bits in them, drop, repeat or reorder them, inject raw
//! bytes, or forge frames of any type with the peer's key. The target is driven as its host would.
//!
//! Checked: while nothing was tampered with, every frame the peer sent is taken as sent (the matching
//! event, or a close when its body is malformed) and no frame fails authentication or replay checks;
//! whatever happens, everything the target sends is accepted by the peer; a silent peer is dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{decode_params, encode_params, Params, DEFAULT_LIMITS};
use sealnet::protocol::frame::{Delivery, MessageType, DEFAULT_MAX_BODY};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::sealing::{append_frame, Sealer, SendOptions};
use sealnet::protocol::session::{Role, Session, SessionConfig, SessionError, SessionEvent, DEFAULT_MUST_ENCRYPT};
use sealnet::protocol::status::{DisconnectReason, PeerState, StatusCode};

use crate::input::{base_time, time_step, Input};
use crate::wire::{close, drain_client, frame_type, receive_failures, statuses, Outbound, ServerHost};

const CLIENT_TO_SERVER: [u8; 32] = [0x11; 32];
const SERVER_TO_CLIENT: [u8; 32] = [0x22; 32];
const SILENCE: Duration = Duration::from_secs(11);
/// Commands per input; inputs are short anyway (libFuzzer's default -max_len is 4096).
const MAX_COMMANDS: usize = 512;

pub fn encrypted_server_session(data: &[u8]) {
    Rig::run(Role::Server, data);
}

pub fn encrypted_client_session(data: &[u8]) {
    Rig::run(Role::Client, data);
}

/// What a frame from the peer must do to the target when it arrives untampered and in order.
#[derive(Debug)]
enum Expect {
    /// Nothing in particular (pings, pongs, forged frames).
    Nothing,
    /// The server reports this operation (parameters compared encoded).
    Request { op_code: u8, params: Vec<u8>, encrypted: bool, delivery: Delivery, channel: u8 },
    /// The client reports this event.
    Event { code: u8, sender: i32, params: Vec<u8>, encrypted: bool },
    /// The client reports this response.
    Response { op_code: u8, return_code: i16, debug_message: Option<String>, params: Vec<u8>, encrypted: bool },
    /// The target closes: a Disconnect, or a body its decoder refuses.
    Close,
}

struct Pending {
    bytes: Vec<u8>,
    expect: Expect,
}

fn encoded(params: &Params) -> Vec<u8> {
    let mut out = Vec::new();
    encode_params(params, &mut out);
    out
}

fn options(byte: u8) -> SendOptions {
    SendOptions {
        encrypt: byte & 1 != 0,
        delivery: Delivery::from_u8((byte >> 1) & 3).expect("two bits"),
        channel: byte >> 3,
    }
}

/// Text from fuzzer bytes; sometimes longer than the receiver allows.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Rig {
    role: Role,
    target: Session,
    peer: Session,
    /// Answers the server's events, whichever of the two it is.
    host: ServerHost,
    now: Instant,
    /// Frames from the peer not yet delivered to the target.
    wire: VecDeque<Pending>,
    from_target: Outbound,
    from_peer: Outbound,
    /// Once the input forges a frame, every later frame of the peer is forged too (the peer session's
    /// own counter is then behind), and the peer session's output is dropped.
    forger: Option<Sealer>,
    /// Nothing was tampered with, dropped, repeated, reordered or injected.
    clean: bool,
    /// The target's transport takes this many bytes per command (None: all).
    drain: Option<usize>,
}

impl Rig {
    fn run(role: Role, data: &[u8]) {
        let mut input = Input::new(data);
        let flags = input.u8();
        let knob = input.u8();
        let defaults = SessionConfig::default();
        let config = SessionConfig {
            counter_limit: if flags & 1 != 0 { u64::from(knob % 16) } else { defaults.counter_limit },
            key_usage_limit: if flags & 2 != 0 { u64::from(knob) * 4 } else { defaults.key_usage_limit },
            max_pending_output: if flags & 4 != 0 { 300 } else { defaults.max_pending_output },
            ..SessionConfig::default()
        };
        let now = base_time();
        let (send, receive) = match role {
            Role::Server => (SERVER_TO_CLIENT, CLIENT_TO_SERVER),
            Role::Client => (CLIENT_TO_SERVER, SERVER_TO_CLIENT),
        };
        let peer_role = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let mut rig = Rig {
            role,
            target: Session::encrypted_for_fuzzing(role, config, send, receive, now),
            peer: Session::encrypted_for_fuzzing(peer_role, SessionConfig::default(), receive, send, now),
            host: ServerHost { echo: flags & 8 != 0, ..ServerHost::default() },
            now,
            wire: VecDeque::new(),
            from_target: Outbound::default(),
            from_peer: Outbound::default(),
            forger: None,
            clean: true,
            drain: (flags & 0x10 != 0).then_some(usize::from(knob % 32) + 1),
        };
        assert!(rig.target.is_encrypted() && rig.peer.is_encrypted());

        let mut commands = 0;
        while !input.is_empty() && commands < MAX_COMMANDS {
            commands += 1;
            rig.command(&mut input);
            rig.exchange();
        }
        rig.finish();
    }

    fn peer_send_key(&self) -> [u8; 32] {
        match self.role {
            Role::Server => CLIENT_TO_SERVER,
            Role::Client => SERVER_TO_CLIENT,
        }
    }

    fn command(&mut self, input: &mut Input<'_>) {
        let command = input.u8();
        let arg = command >> 3;
        match command % 8 {
            0 | 1 => {
                let options = options(input.u8());
                let body = input.sized().to_vec();
                let flip = (command % 8 == 1).then(|| input.u16());
                let before = self.wire.len();
                self.peer_message(&body, options);
                if let Some(flip) = flip.filter(|_| self.wire.len() > before) {
                    self.flip(flip);
                }
            }
            2 => {
                self.clean = false;
                let bytes = input.sized().to_vec();
                self.wire.push_back(Pending { bytes, expect: Expect::Nothing });
            }
            3 => {
                let kind = input.u8();
                let options = options(input.u8());
                let body = input.sized().to_vec();
                let message_type = MessageType::from_u8(kind % 10 + 1).expect("1 to 10 are types");
                self.forge(message_type, &body, options, kind & 0x80 == 0, Expect::Nothing);
            }
            4 => {
                self.now += time_step(arg);
                for session in [&mut self.target, &mut self.peer] {
                    if session.poll_timeout().is_some_and(|due| due <= self.now) {
                        session.handle_timeout(self.now);
                        assert!(session.poll_timeout().is_none_or(|due| due > self.now), "a timer stayed due");
                    }
                }
            }
            5 => self.peer_structured(arg, input),
            6 => match arg % 4 {
                0 => self.deliver(),
                1 => self.deliver_in_pieces(usize::from(arg >> 2) + 1),
                2 => {
                    if self.wire.pop_front().is_some() {
                        self.clean = false;
                    }
                    self.deliver();
                }
                _ => {
                    if self.wire.len() >= 2 && arg & 4 != 0 {
                        self.wire.swap(0, 1);
                        self.clean = false;
                    } else if let Some(first) = self.wire.front() {
                        let bytes = first.bytes.clone();
                        self.wire.push_front(Pending { bytes, expect: Expect::Nothing });
                        self.clean = false;
                    }
                    self.deliver();
                }
            },
            _ => self.target_host(arg, input),
        }
    }

    /// The peer's application message: an operation from a client, an event from a server, with an
    /// arbitrary body.
    fn peer_message(&mut self, body: &[u8], options: SendOptions) {
        let limits = DEFAULT_LIMITS;
        match self.role {
            Role::Server => {
                let expect = match OperationRequest::decode(body, &limits) {
                    Ok(request) => {
                        let encrypted =
                            options.encrypt || self.forger.is_none() && DEFAULT_MUST_ENCRYPT.contains(request.op_code);
                        if !encrypted && DEFAULT_MUST_ENCRYPT.contains(request.op_code) {
                            // Refused with a response, not reported.
                            Expect::Nothing
                        } else {
                            Expect::Request {
                                op_code: request.op_code,
                                params: encoded(&request.params),
                                encrypted,
                                delivery: options.delivery,
                                channel: options.channel,
                            }
                        }
                    }
                    Err(_) => Expect::Close,
                };
                if self.forger.is_some() {
                    self.forge(MessageType::OperationRequest, body, options, true, expect);
                } else {
                    let result = self.peer.send_encoded_operation(body, options);
                    self.peer_sent(result, expect);
                }
            }
            Role::Client => {
                let expect = match EventData::decode(body, &limits) {
                    Ok(event) => Expect::Event {
                        code: event.code,
                        sender: event.sender,
                        params: encoded(&event.params),
                        encrypted: options.encrypt,
                    },
                    Err(_) => Expect::Close,
                };
                if self.forger.is_some() {
                    self.forge(MessageType::Event, body, options, true, expect);
                } else {
                    let result = self.peer.send_encoded_event(body, options);
                    self.peer_sent(result, expect);
                }
            }
        }
    }

    /// Messages the peer builds from parts: a disconnect, a client's operation, a server's response.
    fn peer_structured(&mut self, arg: u8, input: &mut Input<'_>) {
        let options = options(input.u8());
        if arg & 1 != 0 {
            let reason = input.u16();
            let message = text(input.sized());
            if self.forger.is_some() {
                let mut body = Vec::new();
                sealnet::protocol::message::Disconnect { reason, message }.encode(&mut body);
                self.forge(MessageType::Disconnect, &body, options, true, Expect::Close);
            } else if !self.peer.wants_close() && !self.peer.is_closed() {
                let reason = DisconnectReason::from_u16(reason).unwrap_or(DisconnectReason::ClientRequest);
                self.peer.disconnect(reason, &message);
                self.peer_sent(Ok(()), Expect::Close);
            }
            return;
        }
        let op_code = input.u8();
        let return_code = input.u16() as i16;
        let debug = input.sized();
        let params = decode_params(input.sized(), &DEFAULT_LIMITS).unwrap_or_default();
        match self.role {
            Role::Server => {
                let request = OperationRequest { op_code, params };
                let mut body = Vec::new();
                request.encode(&mut body);
                if self.forger.is_some() {
                    return self.peer_message(&body, options);
                }
                let encrypted = options.encrypt || DEFAULT_MUST_ENCRYPT.contains(op_code);
                let expect = Expect::Request {
                    op_code,
                    params: encoded(&request.params),
                    encrypted,
                    delivery: options.delivery,
                    channel: options.channel,
                };
                let result = self.peer.send_operation(&request, options);
                self.peer_sent(result, expect);
            }
            Role::Client => {
                let response = OperationResponse {
                    op_code,
                    return_code,
                    debug_message: (!debug.is_empty()).then(|| text(debug)),
                    params,
                };
                let mut body = Vec::new();
                response.encode(&mut body);
                // What the client makes of it is what its decoder makes of the bytes.
                let expect = match OperationResponse::decode(&body, &DEFAULT_LIMITS) {
                    Ok(decoded) => Expect::Response {
                        op_code: decoded.op_code,
                        return_code: decoded.return_code,
                        debug_message: decoded.debug_message,
                        params: encoded(&decoded.params),
                        encrypted: options.encrypt,
                    },
                    Err(_) => Expect::Close,
                };
                if self.forger.is_some() {
                    self.forge(MessageType::OperationResponse, &body, options, true, expect);
                } else {
                    let result = self.peer.send_response(&response, options);
                    self.peer_sent(result, expect);
                }
            }
        }
    }

    /// After the peer session was asked to send: its new frame goes on the wire with `expect`.
    fn peer_sent(&mut self, result: Result<(), SessionError>, expect: Expect) {
        match result {
            Ok(()) => {
                let mut frames = self.from_peer.take(&mut self.peer, None);
                let last = frames.pop().expect("a successful send writes a frame");
                for frame in frames {
                    let expect = background(&frame);
                    self.wire.push_back(Pending { bytes: frame, expect });
                }
                self.wire.push_back(Pending { bytes: last, expect });
            }
            Err(
                SessionError::NotConnected
                | SessionError::InvalidState(_)
                | SessionError::MessageTooLarge { .. }
                | SessionError::OutputFull,
            ) => {}
            // The sender refuses what the receiver's decoder would refuse (a debug message over its
            // limit, say), and only that.
            Err(SessionError::Params(_)) if matches!(expect, Expect::Close) => {}
            Err(error) => panic!("the peer could not send: {error:?}"),
        }
    }

    /// Seals a frame with the peer's key (or leaves it clear), continuing the peer's counter.
    fn forge(&mut self, message_type: MessageType, body: &[u8], options: SendOptions, seal: bool, expect: Expect) {
        let next = self.peer.next_send_counter().expect("the peer has keys");
        let key = self.peer_send_key();
        let sealer = self.forger.get_or_insert_with(|| Sealer::new(&key, u64::MAX).with_next_counter(next));
        let options = if seal { options } else { SendOptions { encrypt: false, ..options } };
        let mut bytes = Vec::new();
        let result = append_frame(&mut bytes, message_type, options, seal.then_some(sealer), DEFAULT_MAX_BODY, |out| {
            out.extend_from_slice(body)
        });
        if result.is_ok() {
            let expect = if seal { expect } else { Expect::Nothing };
            self.wire.push_back(Pending { bytes, expect });
        }
    }

    /// Flips one bit of the frame just put on the wire (never empty: a frame has a header).
    fn flip(&mut self, flip: u16) {
        if let Some(last) = self.wire.back_mut().filter(|last| !last.bytes.is_empty()) {
            let at = usize::from(flip >> 3) % last.bytes.len();
            last.bytes[at] ^= 1 << (flip % 8);
            last.expect = Expect::Nothing;
            self.clean = false;
        }
    }

    /// The target's own host: sends of its own, a disconnect, a stalled transport.
    fn target_host(&mut self, arg: u8, input: &mut Input<'_>) {
        let options = options(input.u8());
        let params = decode_params(input.sized(), &DEFAULT_LIMITS).unwrap_or_default();
        match arg % 4 {
            0 | 1 => {
                let code = input.u8();
                let result = match (self.role, arg % 4) {
                    (Role::Server, 0) => self.target.send_event(&EventData { code, sender: -1, params }, options),
                    (Role::Server, _) => {
                        let mut body = Vec::new();
                        EventData { code, sender: 7, params }.encode(&mut body);
                        self.target.send_encoded_event(&body, options)
                    }
                    (Role::Client, 0) => self.target.send_operation_parts(code, &params, options),
                    (Role::Client, _) => {
                        let mut body = Vec::new();
                        OperationRequest::encode_parts(code, &params, &mut body);
                        self.target.send_encoded_operation(&body, options)
                    }
                };
                match result {
                    Ok(())
                    | Err(
                        SessionError::NotConnected
                        | SessionError::OutputFull
                        | SessionError::MessageTooLarge { .. }
                        | SessionError::CounterExhausted
                        | SessionError::KeyUsageExhausted,
                    ) => {}
                    Err(error) => panic!("the target could not send: {error:?} in {:?}", self.target.state()),
                }
            }
            2 => {
                let message = text(input.sized());
                self.target.disconnect(DisconnectReason::ServerLogic, &message);
            }
            _ => {
                self.drain = match self.drain {
                    Some(_) => None,
                    None => Some(usize::from(input.u8() % 32) + 1),
                };
                if self.role == Role::Client {
                    assert_eq!(
                        self.target.establish_encryption(self.now).err(),
                        Some(if self.target.state() == PeerState::Encrypted {
                            SessionError::KeyExchangeAlreadyStarted
                        } else {
                            SessionError::NotConnected
                        })
                    );
                }
            }
        }
    }

    /// Delivers the whole wire in order, frame by frame, checking each frame's expectation while the
    /// link is clean.
    fn deliver(&mut self) {
        while let Some(pending) = self.wire.pop_front() {
            let open = !self.target.wants_close() && !self.target.is_closed();
            self.target.receive(&pending.bytes, self.now);
            let events = self.target_events();
            if open && self.clean {
                self.check(&pending, &events);
            }
        }
    }

    /// Delivers the whole wire in order, in reads of `piece` bytes that ignore frame boundaries.
    fn deliver_in_pieces(&mut self, piece: usize) {
        let bytes: Vec<u8> = self.wire.drain(..).flat_map(|pending| pending.bytes).collect();
        for chunk in bytes.chunks(piece) {
            self.target.receive(chunk, self.now);
            self.target_events();
        }
    }

    fn check(&self, pending: &Pending, events: &[SessionEvent]) {
        let closing = self.target.wants_close();
        let reported: Vec<&SessionEvent> =
            events.iter().filter(|event| !matches!(event, SessionEvent::Status(_))).collect();
        let what = || format!("{:?} from {:02x?}, got {events:?}", pending.expect, pending.bytes);
        match &pending.expect {
            Expect::Nothing => {}
            Expect::Close => assert!(closing, "the target did not close on {}", what()),
            Expect::Request { op_code, params, encrypted, delivery, channel } => match reported.as_slice() {
                [SessionEvent::OperationRequest { request, encrypted: e, delivery: d, channel: c }] => assert_eq!(
                    (request.op_code, &encoded(&request.params), *e, *d, *c),
                    (*op_code, params, *encrypted, *delivery, *channel),
                    "an operation arrived altered: {}",
                    what()
                ),
                _ => panic!("an operation was not reported as sent: {}", what()),
            },
            Expect::Event { code, sender, params, encrypted } => match reported.as_slice() {
                [SessionEvent::Event { event, encrypted: e }] => assert_eq!(
                    (event.code, event.sender, &encoded(&event.params), *e),
                    (*code, *sender, params, *encrypted),
                    "an event arrived altered: {}",
                    what()
                ),
                _ => panic!("an event was not reported as sent: {}", what()),
            },
            Expect::Response { op_code, return_code, debug_message, params, encrypted } => match reported.as_slice() {
                [SessionEvent::OperationResponse { response, encrypted: e }] => assert_eq!(
                    (response.op_code, response.return_code, &response.debug_message, &encoded(&response.params), *e),
                    (*op_code, *return_code, debug_message, params, *encrypted),
                    "a response arrived altered: {}",
                    what()
                ),
                _ => panic!("a response was not reported as sent: {}", what()),
            },
        }
    }

    /// Drains (and for a server, answers) the target's events, checking what a clean link allows.
    fn target_events(&mut self) -> Vec<SessionEvent> {
        let events = match self.role {
            Role::Server => self.host.serve(&mut self.target, self.now),
            Role::Client => drain_client(&mut self.target),
        };
        if self.clean {
            for info in receive_failures(&events) {
                assert!(
                    ![DisconnectReason::AuthenticationFailed as u16, DisconnectReason::Replay as u16]
                        .contains(&info.reason),
                    "a frame sealed with the right key and counter was refused: {info:?}"
                );
            }
        }
        for info in statuses(&events) {
            assert_ne!(info.code, StatusCode::EncryptionFailedToEstablish, "keys were lost: {info:?}");
        }
        events
    }

    /// Moves the target's output to the peer and the peer's back onto the wire.
    fn exchange(&mut self) {
        self.target_events();
        for frame in self.from_target.take(&mut self.target, self.drain) {
            self.peer.receive(&frame, self.now);
        }
        let peer_events = match self.role {
            Role::Server => drain_client(&mut self.peer),
            Role::Client => self.host.serve(&mut self.peer, self.now),
        };
        assert!(
            receive_failures(&peer_events).next().is_none(),
            "the peer refused what the target sent: {peer_events:?}"
        );
        let frames = self.from_peer.take(&mut self.peer, None);
        if self.forger.is_none() {
            for frame in frames {
                let expect = background(&frame);
                self.wire.push_back(Pending { bytes: frame, expect });
            }
        }
    }

    fn finish(mut self) {
        self.deliver();
        self.exchange();
        self.deliver();
        self.drain = None;
        self.exchange();
        if !self.target.wants_close() {
            self.now += SILENCE;
            self.target.handle_timeout(self.now);
            assert!(self.target.wants_close(), "a silent peer was not dropped");
            self.exchange();
        }
        close(&mut self.target);
        close(&mut self.peer);
    }
}

/// Expectation for a frame the peer session wrote by itself (pings, pongs, echoed responses, its
/// Disconnect when it timed out).
fn background(frame: &[u8]) -> Expect {
    match frame_type(frame) {
        MessageType::Disconnect => Expect::Close,
        _ => Expect::Nothing,
    }
}
