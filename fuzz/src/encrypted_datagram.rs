//! Two datagram sessions that already share keys (`Session::encrypted_for_fuzzing` with a datagram
//! configuration: connection id 0 on both ends, keys swapped), joined by a wire the input controls
//! (docs/protocol.md, sections 14.7 to 14.17). The input is commands: the client sends operations and
//! the server events, with any delivery mode, channel, encryption and body size (up to ~20 KB, so
//! they fragment); either direction of the wire may drop, duplicate, reorder or replay datagrams, and
//! may flip bits in, truncate or inject datagrams (tampering); time advances and timers run. At the
//! end the wire runs clean until everything reliable is through.
//!
//! Checked besides "no panic, hang or unbounded allocation":
//! - every datagram either session sends is well-formed (`datagram_wire::drain`);
//! - what arrives is what was sent (code, parameters, encryption; mode and channel at the server),
//!   never twice; reliable ordered messages in send order per channel; unreliable sequenced ones never
//!   older than one delivered before on the channel;
//! - once the wire has run clean long enough, every reliable message (ordered and unsequenced) has
//!   arrived, whatever the wire did before (tampering only ever loses datagrams);
//! - tampered datagrams never end the connection: no session ever refuses a frame (status
//!   ExceptionOnReceive), and a session closes only when its host disconnects it, its peer sent a
//!   Disconnect, it timed out (the disconnect timeout only with no fresh datagram for 10 s), or (the
//!   server, before it opened any frame of the client) on a forged clear Disconnect, which section
//!   14.6 accepts;
//! - a datagram with a flipped bit adds to the receiver's drop counters; an injected one changes no
//!   counter but those and reports nothing;
//! - timers settle once run and the output drained (`datagram_wire::run_timers`).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::datagram::{DatagramConfig, DATAGRAM_HEADER_LEN, KIND_DATA};
use sealnet::protocol::frame::{Delivery, Header, DEFAULT_MAX_BODY};
use sealnet::protocol::message::EventData;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Role, Session, SessionConfig, SessionError, SessionEvent, DEFAULT_MUST_ENCRYPT};
use sealnet::protocol::status::{DisconnectReason, StatusCode};

use crate::datagram_server::MAX_DATAGRAMS;
use crate::datagram_wire::{
    client_address, datagram_session_config, drain, drops, run_timers, server_address, strict, without_drops,
};
use crate::input::{base_time, time_step, Input};
use crate::wire::close;

const CLIENT_TO_SERVER: [u8; 32] = [0x31; 32];
const SERVER_TO_CLIENT: [u8; 32] = [0x42; 32];
const MAX_COMMANDS: usize = 384;
/// Message bytes one input may send in all: enough for dozens of fragmented messages, few enough to
/// keep an execution short.
const MAX_SENT_BYTES: usize = 320 * 1024;
/// Datagrams a direction of the wire holds; beyond, the oldest are lost.
const MAX_WIRE: usize = 2048;
/// Delivered datagrams kept per direction for replays.
const HISTORY: usize = 16;
/// A counter this far behind the newest delivered one may already be outside the receiver's replay
/// window (1984, section 14.7): a datagram holding only such counters is not counted as fresh.
const FRESH_WINDOW: u64 = 1900;
/// How long the clean wire runs at the end, at most (simulated).
const SETTLE: Duration = Duration::from_secs(90);

pub fn encrypted_datagram_session(data: &[u8]) {
    Rig::run(data);
}

/// Known findings of this target (fuzz/README.md has the details and fixes; `strict` makes them fail):
/// - `ack_ping_pong`: a probe timeout sets `Link::probes` to 2; when fewer than two units go out as
///   probes (one reliable unit to send again, or the session's one Ping when there is none) a probe
///   stays, and while it does `Link::fill_sealed` answers every Ack with an Ack. Two such links bounce
///   Acks until one of them sends a unit.
/// - `retransmit_starvation`: `SendQueues::requeue` puts each batch of lost units in front of the
///   units lost before it. When the receiver's reassembly memory is full it refuses every unit of a
///   channel but the next in order; the refused ones are lost again and again, always back in front,
///   and the one it needs never goes out: the channel stalls for good.
const ACK_PING_PONG: &str = "ack_ping_pong";
const RETRANSMIT_STARVATION: &str = "retransmit_starvation";

/// How a flush of the clean wire ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Neither side has anything more to send.
    Quiet,
    /// Only lone Acks went back and forth (known finding `ack_ping_pong`).
    AcksOnly,
    /// A receiver kept refusing what its peer kept sending again (known finding `retransmit_starvation`).
    Stalled,
}

/// A Data datagram holding one authenticated Ack frame and nothing else.
fn is_lone_ack(datagram: &[u8]) -> bool {
    let Some(frame) = datagram.get(DATAGRAM_HEADER_LEN..) else { return false };
    match Header::parse(frame, DEFAULT_MAX_BODY) {
        Ok((header, len)) => {
            header.message_type == sealnet::protocol::frame::MessageType::Ack
                && len + header.body_len as usize == frame.len()
        }
        Err(_) => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Client, Side::Server];

    fn index(self) -> usize {
        self as usize
    }

    fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// Where this side's datagrams come from, as its peer sees them.
    fn address(self) -> std::net::SocketAddr {
        match self {
            Side::Client => client_address(),
            Side::Server => server_address(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// As the sender wrote it (perhaps duplicated, reordered or replayed).
    Honest,
    Flipped,
    Truncated,
    Injected,
}

struct Packet {
    bytes: Vec<u8>,
    /// Before the first flip or truncation (the bytes the sender wrote); `None` while untouched.
    original: Option<Vec<u8>>,
    injected: bool,
}

impl Packet {
    fn honest(bytes: Vec<u8>) -> Self {
        Packet { bytes, original: None, injected: false }
    }

    fn injected(bytes: Vec<u8>) -> Self {
        Packet { bytes, original: None, injected: true }
    }

    /// For a flip or a truncation: keeps the sender's bytes the first time.
    fn tampered(&mut self) -> &mut Vec<u8> {
        if !self.injected && self.original.is_none() {
            self.original = Some(self.bytes.clone());
        }
        &mut self.bytes
    }

    /// What the bytes are now, against what the sender wrote (flips may cancel out).
    fn kind(&self) -> Kind {
        if self.injected {
            return Kind::Injected;
        }
        let Some(original) = &self.original else { return Kind::Honest };
        let changed = self.bytes.iter().zip(original).position(|(now, was)| now != was);
        match changed {
            // A changed byte is dropped and counted, unless from it on all is zero: that reads as
            // padding (section 14.2), after the frames before it.
            Some(at) if self.bytes[at..].iter().any(|&byte| byte != 0) => Kind::Flipped,
            _ if self.bytes.len() < original.len() || changed.is_some() => Kind::Truncated,
            _ => Kind::Honest,
        }
    }
}

/// One message as it was sent.
#[derive(Debug)]
struct Sent {
    code: u8,
    delivery: Delivery,
    channel: u8,
    encrypted: bool,
    fill: usize,
    delivered: bool,
}

/// One direction: what its sender sent, and the wire to the receiver.
#[derive(Default)]
struct Flow {
    sent: BTreeMap<i32, Sent>,
    /// Reliable ordered messages not yet delivered, per channel, in send order.
    ordered: BTreeMap<u8, VecDeque<i32>>,
    /// The newest unreliable sequenced message delivered, per channel.
    last_sequenced: BTreeMap<u8, i32>,
    wire: VecDeque<Packet>,
    history: VecDeque<Vec<u8>>,
    /// Counters of the frames delivered to the open receiver, and the newest of them.
    counters: HashSet<u64>,
    newest: u64,
}

struct Rig {
    sessions: [Session; 2],
    /// Indexed by the sending side.
    flows: [Flow; 2],
    /// When each side (as receiver) last got a datagram with a frame it must have opened.
    fresh: [Instant; 2],
    now: Instant,
    next_id: i32,
    sent_bytes: usize,
    /// A host disconnected a session.
    goodbye: bool,
    /// The server opened a frame of the client (from then on it takes no clear Disconnect).
    heard_client: bool,
    /// The server may have taken a forged clear Disconnect (section 14.6 allows it before
    /// `heard_client`).
    forged_goodbye: bool,
    /// Sides seen closing so far.
    closed: [bool; 2],
    /// Sides that reported a timeout.
    timed_out: [bool; 2],
    disconnect_timeout: Duration,
}

fn options(byte: u8) -> SendOptions {
    SendOptions {
        encrypt: byte & 1 != 0,
        delivery: Delivery::from_u8((byte >> 1) & 3).expect("two bits"),
        channel: byte >> 3,
    }
}

/// The filler of a message body: small, a few KB, or large enough to fragment into up to ~18 pieces.
fn fill_len(code: u8) -> usize {
    let low = usize::from(code & 0x3f);
    match code >> 6 {
        0 => low,
        1 => 64 + low * 8,
        2 => low * 64,
        _ => 1200 + low * 300,
    }
}

fn filler(id: i32, len: usize) -> Vec<u8> {
    (0..len).map(|at| (at as u32).wrapping_mul(31).wrapping_add(id as u32) as u8).collect()
}

fn params(id: i32, fill: usize) -> Params {
    [(0, Value::Int(id)), (1, Value::Bytes(filler(id, fill)))].into_iter().collect()
}

/// The id and filler length of a message, if its parameters are as [`params`] writes them.
fn identify(params: &Params) -> (i32, &[u8]) {
    match (params.get(0), params.get(1)) {
        (Some(Value::Int(id)), Some(Value::Bytes(bytes))) if params.len() == 2 => (*id, bytes),
        _ => panic!("a message arrived with parameters nobody sent: {params:?}"),
    }
}

impl Rig {
    fn run(data: &[u8]) {
        let mut input = Input::new(data);
        let flags = input.u8();
        let knob = input.u8();
        let defaults = DatagramConfig::default();
        let datagram = |max_datagram| DatagramConfig {
            max_datagram,
            max_reassembly: if flags & 4 != 0 { 24 * 1024 } else { defaults.max_reassembly },
            max_waiting_unreliable: if flags & 8 != 0 { 2 } else { defaults.max_waiting_unreliable },
            disconnect_copies: if flags & 0x20 != 0 { 1 } else { defaults.disconnect_copies },
            max_probe_timeouts: if flags & 0x40 != 0 { 2 } else { defaults.max_probe_timeouts },
            reassembly_timeout: if flags & 0x80 != 0 {
                Duration::from_millis(100)
            } else {
                defaults.reassembly_timeout
            },
            max_ack_delay: if knob & 0x10 != 0 { Duration::from_millis(1) } else { defaults.max_ack_delay },
            ..defaults
        };
        let config = |max_datagram| SessionConfig {
            max_pending_output: if flags & 0x10 != 0 { 48 * 1024 } else { SessionConfig::default().max_pending_output },
            ..datagram_session_config(datagram(max_datagram))
        };
        let client_config = config(MAX_DATAGRAMS[usize::from(flags & 3)].min(9000));
        let server_config = config(MAX_DATAGRAMS[usize::from(knob & 3)].min(9000));
        let now = base_time();
        let client =
            Session::encrypted_for_fuzzing(Role::Client, client_config, CLIENT_TO_SERVER, SERVER_TO_CLIENT, now);
        let server =
            Session::encrypted_for_fuzzing(Role::Server, server_config, SERVER_TO_CLIENT, CLIENT_TO_SERVER, now);
        for session in [&client, &server] {
            assert!(session.is_encrypted(), "encrypted_for_fuzzing made a session without keys");
            assert_eq!(session.connection_id(), Some(0));
        }
        let disconnect_timeout = client.config().disconnect_timeout;
        let mut rig = Rig {
            sessions: [client, server],
            flows: [Flow::default(), Flow::default()],
            fresh: [now; 2],
            now,
            next_id: 1,
            sent_bytes: 0,
            goodbye: false,
            heard_client: false,
            forged_goodbye: false,
            closed: [false; 2],
            timed_out: [false; 2],
            disconnect_timeout,
        };
        let mut commands = 0;
        while !input.is_empty() && commands < MAX_COMMANDS {
            commands += 1;
            rig.command(&mut input);
            rig.pump();
            rig.check_closes();
        }
        rig.finish();
    }

    fn session(&mut self, side: Side) -> &mut Session {
        &mut self.sessions[side.index()]
    }

    fn open(&self, side: Side) -> bool {
        let session = &self.sessions[side.index()];
        !session.wants_close() && !session.is_closed()
    }

    fn command(&mut self, input: &mut Input<'_>) {
        let command = input.u8();
        let arg = command >> 3;
        match command % 8 {
            0 => self.send(Side::Client, input),
            1 => self.send(Side::Server, input),
            2 => self.wire(if arg & 1 == 0 { Side::Client } else { Side::Server }, arg >> 1),
            3 => self.tamper(if arg & 1 == 0 { Side::Client } else { Side::Server }, arg >> 1, input),
            4 => {
                self.now += time_step(arg);
                self.timers(false);
            }
            5 => {
                for side in Side::BOTH {
                    self.deliver_all(side);
                }
            }
            6 => {
                for side in Side::BOTH {
                    for _ in 0..=arg % 4 {
                        self.deliver_first(side);
                    }
                }
            }
            _ => {
                if arg & 0x0f == 0x0f {
                    let side = if arg & 0x10 == 0 { Side::Client } else { Side::Server };
                    self.goodbye = true;
                    let reason = match side {
                        Side::Client => DisconnectReason::ClientRequest,
                        Side::Server => DisconnectReason::ServerLogic,
                    };
                    self.session(side).disconnect(reason, "the host is done");
                } else {
                    // A driver with a coarse clock runs the timers early.
                    self.timers(true);
                }
            }
        }
    }

    /// The client sends an operation, or the server an event, tagged with a fresh id.
    fn send(&mut self, from: Side, input: &mut Input<'_>) {
        let options = options(input.u8());
        let code = input.u8();
        let fill = fill_len(input.u8());
        if self.sent_bytes + fill > MAX_SENT_BYTES {
            return;
        }
        let id = self.next_id;
        let params = params(id, fill);
        let (result, encrypted) = match from {
            Side::Client => (
                self.session(from).send_operation_parts(code, &params, options),
                options.encrypt || DEFAULT_MUST_ENCRYPT.contains(code),
            ),
            Side::Server => {
                (self.session(from).send_event(&EventData { code, sender: id, params }, options), options.encrypt)
            }
        };
        match result {
            Ok(()) => {}
            // Closing, or the backlog is over its bound.
            Err(SessionError::NotConnected | SessionError::OutputFull) => return,
            Err(error) => panic!("{from:?} could not send: {error:?}"),
        }
        self.next_id += 1;
        self.sent_bytes += fill;
        let flow = &mut self.flows[from.index()];
        let sent =
            Sent { code, delivery: options.delivery, channel: options.channel, encrypted, fill, delivered: false };
        flow.sent.insert(id, sent);
        if options.delivery == Delivery::Reliable {
            flow.ordered.entry(options.channel).or_default().push_back(id);
        }
        let backlog = self.session(from).backlog();
        let bound = self.sessions[from.index()].config().max_pending_output + 64 * 1024;
        assert!(backlog <= bound, "{from:?} holds {backlog} bytes to send, above its bound");
    }

    /// Honest wire operations on the datagrams `from` sent.
    fn wire(&mut self, from: Side, op: u8) {
        let flow = &mut self.flows[from.index()];
        match op {
            0 => self.deliver_all(from),
            1 => self.deliver_first(from),
            2 => {
                flow.wire.pop_front();
            }
            3 => {
                if let Some(first) = flow.wire.front() {
                    let copy = Packet {
                        bytes: first.bytes.clone(),
                        original: first.original.clone(),
                        injected: first.injected,
                    };
                    flow.wire.insert(1, copy);
                }
            }
            4 => {
                if flow.wire.len() >= 2 {
                    flow.wire.swap(0, 1);
                }
            }
            5 => {
                if let Some(first) = flow.wire.pop_front() {
                    flow.wire.push_back(first);
                }
            }
            6 | 7 => {
                // A datagram delivered before, again (a late duplicate).
                let pick = usize::from(op & 1) * 3;
                if let Some(old) = flow.history.get(pick).cloned() {
                    self.deliver(from, Packet::honest(old));
                }
            }
            8 => flow.wire.clear(),
            _ => {
                for _ in 0..op - 8 {
                    self.deliver_first(from);
                }
            }
        }
    }

    /// Tampering with the datagrams `from` sent: a flipped bit, a truncation, injected bytes.
    fn tamper(&mut self, from: Side, op: u8, input: &mut Input<'_>) {
        let flow = &mut self.flows[from.index()];
        match op % 4 {
            0 => {
                let at = input.u16();
                if let Some(first) = flow.wire.front_mut().filter(|first| !first.bytes.is_empty()) {
                    let index = usize::from(at >> 3) % first.bytes.len();
                    first.tampered()[index] ^= 1 << (at % 8);
                }
            }
            1 => {
                let len = usize::from(input.u16());
                if let Some(first) = flow.wire.front_mut().filter(|first| !first.bytes.is_empty()) {
                    let len = len % first.bytes.len();
                    first.tampered().truncate(len);
                }
            }
            2 => {
                flow.wire.push_front(Packet::injected(input.sized().to_vec()));
            }
            _ => {
                // Past the datagram header, into the frame parser.
                let mut bytes = vec![KIND_DATA, 0, 0, 0, 0, 0, 0, 0, 0];
                bytes.extend_from_slice(input.sized());
                flow.wire.push_front(Packet::injected(bytes));
            }
        }
    }

    fn deliver_all(&mut self, from: Side) {
        while let Some(packet) = self.flows[from.index()].wire.pop_front() {
            self.deliver(from, packet);
        }
    }

    fn deliver_first(&mut self, from: Side) {
        if let Some(packet) = self.flows[from.index()].wire.pop_front() {
            self.deliver(from, packet);
        }
    }

    /// Hands one datagram `from` sent to its peer, and checks what it did there.
    fn deliver(&mut self, from: Side, packet: Packet) {
        let to = from.peer();
        let open = self.open(to);
        let now = self.now;
        // Frames of a flipped or truncated copy may open too (those before the damage): their counters
        // count as seen, so that a later honest copy is not taken for fresh. Injected bytes open nothing.
        let kind = packet.kind();
        let fresh = kind != Kind::Injected && self.note_counters(from, &packet.bytes, open);
        let fresh = fresh && kind == Kind::Honest;
        let receiver = self.session(to);
        let before = receiver.datagram_stats().expect("datagram mode");
        let mut bytes = packet.bytes.clone();
        receiver.receive_datagram(&mut bytes, from.address(), now);
        let after = receiver.datagram_stats().expect("datagram mode");
        let events = self.events(to);
        if open {
            if fresh {
                self.fresh[to.index()] = now;
                if to == Side::Server {
                    self.heard_client = true;
                }
            }
            let what = || format!("{kind:?} datagram {from:?} -> {to:?}: {:02x?}", &packet.bytes);
            match kind {
                Kind::Honest => {}
                // (Unless an earlier frame of it was the peer's Disconnect: the rest is never read.)
                Kind::Flipped => {
                    assert!(drops(&after) > drops(&before) || !self.open(to), "not dropped: {}", what())
                }
                Kind::Truncated => {}
                Kind::Injected => {
                    assert_eq!(without_drops(after), without_drops(before), "a forgery changed counters: {}", what());
                    assert!(
                        events.iter().all(|event| matches!(event, SessionEvent::Status(_))),
                        "a forgery was reported: {events:?} after {}",
                        what()
                    );
                }
            }
            if kind != Kind::Honest && to == Side::Server && !self.heard_client && !self.open(to) {
                // A forged clear Disconnect, which a server takes until it opened a frame of the
                // client (sections 3.2 and 14.6).
                self.forged_goodbye = true;
            }
        }
        if kind == Kind::Honest {
            let history = &mut self.flows[from.index()].history;
            history.push_front(packet.bytes);
            history.truncate(HISTORY);
        }
    }

    /// Records the counters of an honest datagram's frames; true if one of them is new and inside the
    /// replay window, so that the receiver must open it (when `open`).
    fn note_counters(&mut self, from: Side, datagram: &[u8], open: bool) -> bool {
        // A counter the sender has not used yet is a flipped one.
        let used = self.sessions[from.index()].next_send_counter().unwrap_or(u64::MAX);
        let flow = &mut self.flows[from.index()];
        let mut fresh = false;
        let mut at = DATAGRAM_HEADER_LEN;
        while at < datagram.len() {
            let Ok((header, header_len)) = Header::parse(&datagram[at..], DEFAULT_MAX_BODY) else { break };
            at += header_len + header.body_len as usize;
            let Some(counter) = header.counter.filter(|&counter| counter < used) else { continue };
            if !flow.counters.contains(&counter) && counter + FRESH_WINDOW > flow.newest {
                fresh = true;
            }
            if open {
                flow.counters.insert(counter);
                flow.newest = flow.newest.max(counter);
            }
        }
        fresh
    }

    /// Drains the events of `side`, checking each against what its peer sent.
    fn events(&mut self, side: Side) -> Vec<SessionEvent> {
        let events: Vec<SessionEvent> = std::iter::from_fn(|| self.session(side).poll_event()).collect();
        for event in &events {
            match (side, event) {
                (_, SessionEvent::Status(info)) => {
                    assert_ne!(info.code, StatusCode::ExceptionOnReceive, "{side:?} refused a frame: {info:?}");
                    if info.code == StatusCode::TimeoutDisconnect {
                        self.timed_out[side.index()] = true;
                    }
                    if info.code == StatusCode::TimeoutDisconnect && info.message.contains("disconnect timeout") {
                        let quiet = self.now.saturating_duration_since(self.fresh[side.index()]);
                        assert!(
                            quiet >= self.disconnect_timeout,
                            "{side:?} timed out {quiet:?} after a datagram it must have opened: {info:?}"
                        );
                    }
                }
                (Side::Server, SessionEvent::OperationRequest { request, encrypted, delivery, channel }) => {
                    let (id, bytes) = identify(&request.params);
                    self.delivered(Side::Client, id, request.op_code, *encrypted, Some((*delivery, *channel)), bytes);
                }
                (Side::Client, SessionEvent::Event { event, encrypted }) => {
                    let (id, bytes) = identify(&event.params);
                    assert_eq!(event.sender, id, "an event arrived with another sender");
                    self.delivered(Side::Server, id, event.code, *encrypted, None, bytes);
                }
                _ => panic!("{side:?} reported {event:?}"),
            }
        }
        events
    }

    /// A message of `from`'s arrived: it is one that was sent, as it was sent, by its mode's rules.
    fn delivered(
        &mut self,
        from: Side,
        id: i32,
        code: u8,
        encrypted: bool,
        mode: Option<(Delivery, u8)>,
        bytes: &[u8],
    ) {
        let flow = &mut self.flows[from.index()];
        let Some(sent) = flow.sent.get_mut(&id) else { panic!("{from:?}'s message {id} arrived, never sent") };
        let what = format!("{from:?}'s message {id} ({sent:?})");
        assert_eq!((code, encrypted), (sent.code, sent.encrypted), "{what} arrived altered");
        if let Some(mode) = mode {
            assert_eq!(mode, (sent.delivery, sent.channel), "{what} arrived with another mode or channel");
        }
        assert!(bytes == filler(id, sent.fill).as_slice(), "{what} arrived with other bytes");
        assert!(!sent.delivered, "{what} arrived twice");
        sent.delivered = true;
        match sent.delivery {
            Delivery::Reliable => {
                let next = flow.ordered.get_mut(&sent.channel).and_then(VecDeque::pop_front);
                assert_eq!(next, Some(id), "{what} arrived out of order (expected {next:?} first)");
            }
            Delivery::Unreliable => {
                let last = flow.last_sequenced.insert(sent.channel, id);
                assert!(last.is_none_or(|last| last < id), "{what} arrived after the newer {last:?}");
            }
            Delivery::ReliableUnsequenced | Delivery::UnreliableUnsequenced => {}
        }
    }

    /// Runs the due timers of both sessions (all of them with `early`) as a driver does.
    fn timers(&mut self, early: bool) {
        let now = self.now;
        for side in Side::BOTH {
            let datagrams = run_timers(self.session(side), now, early);
            self.put_on_wire(side, datagrams);
            self.events(side);
        }
    }

    /// Puts what `side` has to send on its wire.
    fn pump_side(&mut self, side: Side) {
        let now = self.now;
        let datagrams = drain(self.session(side), now);
        self.put_on_wire(side, datagrams);
    }

    fn put_on_wire(&mut self, side: Side, datagrams: Vec<Vec<u8>>) {
        let wire = &mut self.flows[side.index()].wire;
        wire.extend(datagrams.into_iter().map(Packet::honest));
        while wire.len() > MAX_WIRE {
            wire.pop_front();
        }
    }

    fn pump(&mut self) {
        for side in Side::BOTH {
            self.events(side);
            self.pump_side(side);
        }
    }

    /// A session that closed had a reason to: its host, a timeout, a forged clear Disconnect the
    /// protocol accepts, or else its peer's Disconnect (the peer closed first, for a reason of its own).
    fn check_closes(&mut self) {
        let newly: Vec<Side> =
            Side::BOTH.into_iter().filter(|&side| !self.closed[side.index()] && !self.open(side)).collect();
        let own_reason = |rig: &Rig, side: Side| {
            // Either timeout: `events` checked the disconnect timeout's; the probe limit's is the
            // input's doing whenever it holds back acknowledgements.
            rig.goodbye || rig.timed_out[side.index()] || (side == Side::Server && rig.forged_goodbye)
        };
        for &side in &newly {
            if own_reason(self, side) {
                self.closed[side.index()] = true;
            }
        }
        for &side in &newly {
            if !self.closed[side.index()] {
                assert!(
                    self.closed[side.peer().index()],
                    "{side:?} closed for no reason: {:?}, {:?}",
                    self.sessions[side.index()],
                    self.sessions[side.index()].datagram_stats()
                );
                self.closed[side.index()] = true;
            }
        }
    }

    /// Everything reliable either side sent has arrived.
    fn reliable_delivered(&self) -> bool {
        self.flows.iter().all(|flow| {
            flow.sent.values().all(|sent| {
                sent.delivered || !matches!(sent.delivery, Delivery::Reliable | Delivery::ReliableUnsequenced)
            })
        })
    }

    /// Delivers everything both ways, over and over, until neither side has anything to send.
    fn flush(&mut self) -> Flush {
        // Rounds in a row in which nothing but lone Acks went either way.
        let mut acks_only = 0;
        let mut refused = self.refused();
        for round in 1..=100_000 {
            self.pump();
            if self.flows.iter().all(|flow| flow.wire.is_empty()) {
                return Flush::Quiet;
            }
            let lone_acks = self.flows.iter().all(|flow| flow.wire.iter().all(|packet| is_lone_ack(&packet.bytes)));
            acks_only = if lone_acks { acks_only + 1 } else { 0 };
            if acks_only == 64 {
                assert!(
                    !strict(ACK_PING_PONG),
                    "the sessions answer each other's Acks with Acks for ever (section 14.12: an Ack never makes \
                     its receiver send an Ack)"
                );
                for side in Side::BOTH {
                    self.deliver_all(side);
                }
                return Flush::AcksOnly;
            }
            if round % 1024 == 0 {
                // Far more rounds than moving everything an input sends takes.
                let now_refused = self.refused();
                if round >= 4096 && now_refused > refused {
                    assert!(
                        !strict(RETRANSMIT_STARVATION),
                        "a receiver keeps refusing the same units and their sender keeps sending them again, \
                         never the one the receiver needs next"
                    );
                    return Flush::Stalled;
                }
                refused = now_refused;
            }
            for side in Side::BOTH {
                self.deliver_all(side);
            }
            self.check_closes();
        }
        panic!("the sessions never went quiet on a clean wire");
    }

    /// Units both receivers refused (over a window or the memory bound), so far.
    fn refused(&self) -> u64 {
        self.sessions.iter().map(|session| session.datagram_stats().map_or(0, |stats| stats.refused_units)).sum()
    }

    /// The wire runs clean, from timer to timer, until everything reliable has arrived; then both
    /// sessions end.
    fn finish(mut self) {
        let start = self.now;
        let mut stalled = false;
        let refused_before = self.refused();
        while self.now < start + SETTLE {
            let flush = self.flush();
            self.check_closes();
            if flush == Flush::Stalled {
                // Known finding `retransmit_starvation`: reliable delivery cannot complete.
                stalled = true;
                break;
            }
            if !self.open(Side::Client) || !self.open(Side::Server) || self.reliable_delivered() {
                break;
            }
            let next = Side::BOTH.iter().filter_map(|&side| self.sessions[side.index()].poll_timeout()).min();
            let Some(next) = next else { break };
            // When only Acks bounced (the other known finding): on a real wire they take time, and a
            // timer (the client's next ping) ends it, so the clock must move.
            let least = if flush == Flush::AcksOnly { self.now + Duration::from_millis(1) } else { self.now };
            self.now = least.max(next);
            self.timers(false);
            self.check_closes();
        }
        if !stalled && !self.reliable_delivered() && self.refused() > refused_before {
            // The same stall, over timers rather than within one flush: what is missing is refused
            // again and again: finding `retransmit_starvation` (fixed).
            assert!(
                !strict(RETRANSMIT_STARVATION),
                "reliable messages never arrived over a clean wire while the receiver kept refusing units"
            );
            stalled = true;
        }
        if self.open(Side::Client) && self.open(Side::Server) && !stalled {
            for (from, flow) in Side::BOTH.iter().zip(&self.flows) {
                for (id, sent) in &flow.sent {
                    if matches!(sent.delivery, Delivery::Reliable | Delivery::ReliableUnsequenced) {
                        assert!(
                            sent.delivered,
                            "{from:?}'s reliable message {id} ({sent:?}) never arrived over a clean wire ({:?} of it)",
                            self.now - start
                        );
                    }
                }
            }
        }
        for side in Side::BOTH {
            self.events(side);
            self.pump_side(side);
            let session = self.session(side);
            close(session);
        }
    }
}
