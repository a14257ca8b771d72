//! A server session and a client session driven as their hosts drive them, fed the fuzzer's bytes as
//! what the other end sent, cut into reads of fuzzer-chosen lengths with simulated time in between.
//! `client_session` has a second mode, in which the client talks to an honest server session and the
//! input is the client host's commands instead.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{decode_params, encode_params, CodecError, Params, Value, DEFAULT_LIMITS};
use sealnet::protocol::message::{EventData, OperationRequest};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{
    Session, SessionConfig, SessionError, SessionEvent, StatusInfo, DEFAULT_MUST_ENCRYPT,
};
use sealnet::protocol::status::{DisconnectReason, PeerState};

use crate::input::{base_time, time_step, Input};
use crate::wire::{close, drain_client, receive_failures, server_key, statuses, Outbound, ServerHost};

/// Longer than every timer of the default configuration: after this much silence a session must have
/// given up on its peer.
const SILENCE: Duration = Duration::from_secs(11);

/// How the stream is cut into reads, and how far the clock moves between them.
pub(crate) struct Schedule<'a> {
    steps: &'a [u8],
    at: usize,
}

/// One read: `len` bytes (0: none, only the timers run; `usize::MAX`: everything left).
struct Step {
    len: usize,
    advance: Duration,
}

impl<'a> Schedule<'a> {
    /// A count byte, then that many step bytes (at most 15); with none, the stream is one read.
    pub(crate) fn read(input: &mut Input<'a>) -> Self {
        let count = usize::from(input.u8() % 16);
        Schedule { steps: input.bytes(count), at: 0 }
    }

    fn next(&mut self) -> Step {
        let Some(&step) = self.steps.get(self.at % self.steps.len().max(1)) else {
            return Step { len: usize::MAX, advance: Duration::ZERO };
        };
        self.at += 1;
        let len = match step & 0x1f {
            0 => 0,
            0x1f => usize::MAX,
            len => usize::from(len),
        };
        Step { len, advance: time_step(step >> 5) }
    }
}

/// Runs the timers as a driver does, and checks a driver is never asked to come back at once.
pub(crate) fn run_timers(session: &mut Session, now: Instant, force: bool) {
    if force || session.poll_timeout().is_some_and(|due| due <= now) {
        session.handle_timeout(now);
        if let Some(due) = session.poll_timeout() {
            assert!(due > now, "handle_timeout left a timer due: {session:?}");
        }
    }
}

/// Feeds `stream` to `session` read by read, calling `host` after each, until the stream is used up or
/// the session closes; then lets the clock run past every timeout.
pub(crate) fn feed(
    session: &mut Session,
    schedule: &mut Schedule<'_>,
    mut stream: &[u8],
    now: &mut Instant,
    mut host: impl FnMut(&mut Session, Instant),
) {
    // Every step reads a byte or more, except timer-only steps; bound those too.
    let mut timer_steps = 0;
    while !stream.is_empty() && !session.wants_close() && timer_steps < 64 {
        let step = schedule.next();
        *now += step.advance;
        if step.len == 0 {
            timer_steps += 1;
        } else {
            let len = step.len.min(stream.len());
            session.receive(&stream[..len], *now);
            stream = &stream[len..];
        }
        run_timers(session, *now, step.len == 0);
        host(session, *now);
    }
    if !session.wants_close() {
        *now += SILENCE;
        run_timers(session, *now, false);
        assert!(session.wants_close(), "a silent peer was not dropped: {session:?}");
        host(session, *now);
    }
}

/// A server session fed the input as what a client sent.
pub fn server_session(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let mut schedule = Schedule::read(&mut input);
    let stream = input.rest();
    let config = SessionConfig {
        gate_key_exchange: flags & 1 != 0,
        max_pending_output: if flags & 0x20 != 0 { 200 } else { SessionConfig::default().max_pending_output },
        ..SessionConfig::default()
    };
    let host = ServerHost {
        refuse_connect: flags & 6 == 6,
        refuse_key_exchange: flags & 0x18 == 0x18,
        echo: flags & 0x40 != 0,
        ..ServerHost::default()
    };
    // A transport that takes only a few bytes per read, so output backs up.
    let drain = (flags & 0x80 != 0).then_some(7);

    let mut now = base_time();
    let mut session = Session::server(config, server_key(), now);
    let mut outbound = Outbound::default();
    feed(&mut session, &mut schedule, stream, &mut now, |session, now| {
        host.serve(session, now);
        outbound.take(session, drain);
    });
    outbound.take(&mut session, None);
    assert_eq!(outbound.partial_len(), 0, "output ended inside a frame");
    close(&mut session);
}

/// A client session after `connect`, fed the input as what the server sent; or (one input in four)
/// an honest client and server pair driven by the input's host commands.
pub fn client_session(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    if flags & 3 == 3 {
        return relay(flags, input);
    }
    let mut schedule = Schedule::read(&mut input);
    let stream = input.rest();
    let config = SessionConfig {
        auto_key_exchange: flags & 4 == 0,
        server_key_pin: (flags & 8 != 0).then(|| *server_key().public()),
        max_queued_during_key_exchange: if flags & 0x10 != 0 {
            2
        } else {
            SessionConfig::default().max_queued_during_key_exchange
        },
        max_pending_output: if flags & 0x20 != 0 { 200 } else { SessionConfig::default().max_pending_output },
        ..SessionConfig::default()
    };
    let auto = config.auto_key_exchange;
    let send_operations = flags & 0x40 != 0;
    let drain = (flags & 0x80 != 0).then_some(7);

    let mut now = base_time();
    let mut session = Session::client(config, now);
    session.connect("fuzz-app", "1.0", now).expect("a valid connect request is sent");
    let mut outbound = Outbound::default();
    let mut sent = 0u8;
    feed(&mut session, &mut schedule, stream, &mut now, |session, now| {
        drain_client(session);
        if !auto && session.state() == PeerState::Connected {
            session.establish_encryption(now).expect("a connected client starts its key exchange");
        }
        if send_operations {
            sent = sent.wrapping_add(1);
            // Now and then a must-encrypt code, which is refused until the keys exist.
            let op_code = if sent % 4 == 0 { sealnet::protocol::status::op_code::AUTHENTICATE } else { sent };
            let params: Params = [(1, Value::Int(i32::from(sent)))].into_iter().collect();
            let result = session.send_operation_parts(op_code, &params, SendOptions::RELIABLE);
            match result {
                Ok(())
                | Err(
                    SessionError::NotConnected
                    | SessionError::MustEncrypt(_)
                    | SessionError::OutputFull
                    | SessionError::CounterExhausted
                    | SessionError::KeyUsageExhausted,
                ) => {}
                Err(error) => panic!("sending an operation failed: {error:?} in {:?}", session.state()),
            }
        }
        outbound.take(session, drain);
    });
    outbound.take(&mut session, None);
    close(&mut session);
}

/// An operation the client sent, as the server must report it.
struct SentOperation {
    op_code: u8,
    params: Vec<u8>,
    encrypted: bool,
}

/// An honest client and server joined by an instant network.
pub(crate) struct Relay {
    pub(crate) client: Session,
    pub(crate) server: Session,
    host: ServerHost,
    to_server: Outbound,
    to_client: Outbound,
    /// Sent by the client, not yet reported by the server.
    in_flight: VecDeque<SentOperation>,
    /// Every status either side reported, in order.
    pub(crate) client_statuses: Vec<StatusInfo>,
    pub(crate) server_statuses: Vec<StatusInfo>,
}

impl Relay {
    /// Moves output both ways until both sides are quiet (with `limit`, once and only that many bytes
    /// each way), checking that neither refuses anything and that operations arrive as sent.
    pub(crate) fn pump(&mut self, now: Instant, limit: Option<usize>) {
        let rounds = if limit.is_some() { 1 } else { 64 };
        for _ in 0..rounds {
            let mut moved = false;
            for frame in self.to_server.take(&mut self.client, limit) {
                moved = true;
                self.server.receive(&frame, now);
            }
            let events = self.host.serve(&mut self.server, now);
            // A client that closes during its key exchange says goodbye in clear, which the server
            // takes until the client's first authenticated frame: nothing honest is ever refused.
            assert!(receive_failures(&events).next().is_none(), "the server refused an honest client: {events:?}");
            self.server_statuses.extend(statuses(&events).cloned());
            for event in &events {
                if let SessionEvent::OperationRequest { request, encrypted, .. } = event {
                    let expected = self.in_flight.pop_front().expect("the server reported an operation nobody sent");
                    let mut params = Vec::new();
                    encode_params(&request.params, &mut params);
                    assert_eq!(
                        (request.op_code, &params, *encrypted),
                        (expected.op_code, &expected.params, expected.encrypted),
                        "an operation arrived altered"
                    );
                }
            }
            moved |= !events.is_empty();
            for frame in self.to_client.take(&mut self.server, limit) {
                moved = true;
                self.client.receive(&frame, now);
            }
            let events = drain_client(&mut self.client);
            assert!(receive_failures(&events).next().is_none(), "the client refused an honest server: {events:?}");
            self.client_statuses.extend(statuses(&events).cloned());
            moved |= !events.is_empty();
            if !moved {
                return;
            }
        }
        assert!(limit.is_some(), "the sessions never went quiet");
    }

    pub(crate) fn closing(&self) -> bool {
        self.client.wants_close() || self.server.wants_close()
    }
}

/// Client and server on an honest, instant network; the input is the hosts' commands. Nothing either
/// side receives may be refused, the handshakes must complete whenever the network is idle, and every
/// operation the client sent must reach the server intact and in order.
fn relay(flags: u8, mut input: Input<'_>) {
    let mut now = base_time();
    let client_config = SessionConfig {
        auto_key_exchange: flags & 4 == 0,
        server_key_pin: (flags & 8 != 0).then(|| *server_key().public()),
        max_queued_during_key_exchange: if flags & 0x10 != 0 {
            2
        } else {
            SessionConfig::default().max_queued_during_key_exchange
        },
        ..SessionConfig::default()
    };
    let server_config = SessionConfig { gate_key_exchange: flags & 0x20 != 0, ..SessionConfig::default() };
    let host = ServerHost { echo: flags & 0x40 != 0, ..ServerHost::default() };
    let mut relay = Relay::new(client_config, server_config, host, now);
    relay.client.connect("fuzz-app", "1.0", now).expect("a valid connect request is sent");
    relay.run(&mut input, &mut now);
    relay.finish(now);
}

impl Relay {
    pub(crate) fn new(client: SessionConfig, server: SessionConfig, host: ServerHost, now: Instant) -> Self {
        Relay {
            client: Session::client(client, now),
            server: Session::server(server, server_key(), now),
            host,
            to_server: Outbound::default(),
            to_client: Outbound::default(),
            in_flight: VecDeque::new(),
            client_statuses: Vec::new(),
            server_statuses: Vec::new(),
        }
    }

    /// Runs the hosts' commands of `input` (at most 256), checking after each that an idle network
    /// left nobody waiting and nothing undelivered.
    pub(crate) fn run(&mut self, input: &mut Input<'_>, now: &mut Instant) {
        let relay = self;
        let mut commands = 0;
        while !input.is_empty() && commands < 256 {
            commands += 1;
            let command = input.u8();
            let mut limit = None;
            match command % 8 {
                0 => {}
                1 | 2 => {
                    let op_code = input.u8();
                    let params = decode_params(input.sized(), &DEFAULT_LIMITS).unwrap_or_default();
                    let options = SendOptions { encrypt: command & 0x10 != 0, ..SendOptions::RELIABLE };
                    let result = if command % 8 == 1 {
                        relay.client.send_operation_parts(op_code, &params, options)
                    } else {
                        let mut body = Vec::new();
                        OperationRequest::encode_parts(op_code, &params, &mut body);
                        relay.client.send_encoded_operation(&body, options)
                    };
                    match result {
                        Ok(()) => {
                            let mut encoded = Vec::new();
                            encode_params(&params, &mut encoded);
                            let encrypted = options.encrypt || DEFAULT_MUST_ENCRYPT.contains(op_code);
                            relay.in_flight.push_back(SentOperation { op_code, params: encoded, encrypted });
                        }
                        Err(
                            SessionError::NotConnected
                            | SessionError::MustEncrypt(_)
                            | SessionError::EncryptionNotEstablished
                            | SessionError::ClearMessageTooLarge { .. }
                            | SessionError::MessageTooLarge { .. }
                            | SessionError::OutputFull,
                        ) => {}
                        Err(error) => panic!("sending an operation failed: {error:?} in {:?}", relay.client.state()),
                    }
                }
                3 => {
                    *now += time_step(command >> 3);
                    run_timers(&mut relay.client, *now, false);
                    run_timers(&mut relay.server, *now, false);
                }
                4 => match relay.client.establish_encryption(*now) {
                    Ok(()) | Err(SessionError::KeyExchangeAlreadyStarted | SessionError::NotConnected) => {}
                    Err(error) => panic!("establish_encryption failed: {error:?}"),
                },
                5 => relay.client.disconnect(DisconnectReason::ClientRequest, "bye"),
                6 => {
                    let event = EventData {
                        code: input.u8(),
                        sender: i32::from(input.u8()),
                        params: decode_params(input.sized(), &DEFAULT_LIMITS).unwrap_or_default(),
                    };
                    let options = SendOptions { encrypt: command & 0x10 != 0, ..SendOptions::RELIABLE };
                    match relay.server.send_event(&event, options) {
                        Ok(())
                        | Err(
                            SessionError::NotConnected
                            | SessionError::EncryptionNotEstablished
                            | SessionError::ClearMessageTooLarge { .. }
                            | SessionError::MessageTooLarge { .. },
                        ) => {}
                        // Values of a version the connection does not speak are refused by the sender.
                        Err(SessionError::Params(CodecError::TypeNeedsVersion { .. }))
                            if event.params.required_version() > relay.server.protocol_version() => {}
                        Err(error) => panic!("sending an event failed: {error:?}"),
                    }
                }
                _ => limit = Some(usize::from(command >> 3) + 1),
            }
            relay.pump(*now, limit);
            if limit.is_none() && !relay.closing() {
                let (client, server) = (relay.client.state(), relay.server.state());
                assert!(
                    !matches!(client, PeerState::Connecting | PeerState::EstablishingEncryption),
                    "an idle honest network left the client waiting: {client:?} / {server:?}"
                );
                assert!(relay.in_flight.is_empty(), "operations the client sent were not delivered");
            }
        }
    }

    /// Moves everything that is left and closes both sessions, checking they end cleanly.
    pub(crate) fn finish(mut self, now: Instant) {
        self.pump(now, None);
        close(&mut self.client);
        close(&mut self.server);
    }
}
