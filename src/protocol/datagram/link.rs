//! One connection's datagram link: what a session in datagram mode uses below its messages.
//!
//! The session hands the link whole messages (and its clear key-exchange frames); the link numbers,
//! fragments, seals (with the session's sealer), coalesces and paces them into datagrams, keeps reliable
//! units until acknowledged, and sends them again when lost. On the receiving side the session opens
//! each frame and asks the link what to do with it (acknowledge, deliver, buffer, drop).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::ack::{AckFrame, AckTracker};
use super::receive::{Receiver, Verdict};
use super::recovery::{Recovery, SentFrame, Timeout, PROBES};
use super::send::{frame_overhead, SendQueues, Unit};
use super::{start_datagram, DatagramConfig, DatagramStats, COOKIE_LEN, DATAGRAM_HEADER_LEN, KIND_DATA};
use super::{KIND_INITIAL, MIN_INITIAL_LEN};
use crate::protocol::frame::{Delivery, Header, MessageType};
use crate::protocol::sealing::{append_header_frame, SealError, Sealer};
use crate::protocol::session::Role;

/// The path may carry at most this many times what it has received until it is validated.
const AMPLIFICATION_FACTOR: u64 = 3;

/// Something the session must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// Too many probe timeouts without an acknowledgement.
    ConnectionLost,
}

/// A clear key-exchange frame sent again until it is answered.
struct Resend {
    frame: Vec<u8>,
    /// Sent inside an Initial (the Connect), otherwise in a Data datagram.
    initial: bool,
    next: Option<Instant>,
    interval: Duration,
}

/// The server's copies of its clear answers, for repeated requests.
#[derive(Default)]
struct Answers {
    connect_ack: Option<Vec<u8>>,
    handshake_init: Option<Vec<u8>>,
    handshake_reply: Option<Vec<u8>>,
}

/// Where the server sends, and how far it may trust that address.
struct Path {
    remote: Option<SocketAddr>,
    validated: bool,
    received: u64,
    sent: u64,
    /// Until validated: the random value of the Ping sent there; its Pong from there validates.
    challenge: Option<u64>,
    /// The challenge Ping is still to be sent.
    challenge_due: bool,
}

pub(crate) struct Link {
    config: DatagramConfig,
    role: Role,
    connection_id: u64,
    resend: Option<Resend>,
    cookie: Option<[u8; COOKIE_LEN]>,
    retries: u32,
    clear_out: std::collections::VecDeque<Vec<u8>>,
    answers: Answers,
    path: Path,
    queues: SendQueues,
    recovery: Recovery,
    acks: AckTracker,
    ack_scratch: AckFrame,
    ack_body: Vec<u8>,
    pub(crate) receiver: Receiver,
    /// Probes still to send, each in a datagram of its own, outside the congestion window.
    probes: u8,
    closing: bool,
    acked_scratch: Vec<Unit>,
    lost_scratch: Vec<Unit>,
    stats: DatagramStats,
    /// Bytes of frames accepted from the datagram being received.
    accepted: usize,
    /// When the link was made: a time already past, for "due at once".
    created: Instant,
}

/// Retries a client follows while it waits for ConnectAck: more would let a forged Retry keep it busy.
const MAX_RETRIES: u32 = 4;

impl Link {
    pub fn new(
        config: DatagramConfig,
        role: Role,
        connection_id: u64,
        remote: Option<SocketAddr>,
        max_body: u32,
        now: Instant,
    ) -> Self {
        let config = config.clamped();
        let recovery =
            Recovery::new(config.max_datagram, config.initial_rtt, config.max_ack_delay, config.max_probe_timeouts);
        let receiver = Receiver::new(config.max_reassembly, max_body as usize, config.reassembly_timeout);
        Link {
            role,
            connection_id,
            resend: None,
            cookie: None,
            retries: 0,
            clear_out: Default::default(),
            answers: Answers::default(),
            path: Path { remote, validated: true, received: 0, sent: 0, challenge: None, challenge_due: false },
            queues: SendQueues::default(),
            recovery,
            acks: AckTracker::default(),
            ack_scratch: AckFrame::default(),
            ack_body: Vec::new(),
            receiver,
            probes: 0,
            closing: false,
            acked_scratch: Vec::new(),
            lost_scratch: Vec::new(),
            stats: DatagramStats::default(),
            accepted: 0,
            created: now,
            config,
        }
    }

    pub fn connection_id(&self) -> u64 {
        self.connection_id
    }

    pub fn set_connection_id(&mut self, connection_id: u64) {
        self.connection_id = connection_id;
    }

    /// Server: the client's address, proven by its cookie.
    pub fn set_remote(&mut self, remote: SocketAddr) {
        self.path.remote = Some(remote);
    }

    pub fn remote(&self) -> Option<SocketAddr> {
        self.path.remote
    }

    /// Payload bytes waiting to be sent or acknowledged.
    pub fn backlog(&self) -> usize {
        self.queues.queued_bytes
    }

    /// The largest frame that fits one datagram.
    fn max_frame(&self) -> usize {
        self.config.max_datagram - DATAGRAM_HEADER_LEN
    }

    /// The largest clear frame that can go: a clear frame travels alone, unfragmented.
    pub fn max_clear_frame(&self) -> usize {
        self.max_frame()
    }

    // ---- sending ----

    /// A clear key-exchange frame (or a clear Disconnect) to send.
    pub fn send_clear(&mut self, message_type: MessageType, frame: Vec<u8>) {
        match (self.role, message_type) {
            (Role::Client, MessageType::Connect) => {
                self.resend = Some(Resend { frame, initial: true, next: None, interval: self.config.pre_key_resend })
            }
            (Role::Client, MessageType::HandshakeInit | MessageType::HandshakeInitPsk) => {
                self.resend = Some(Resend { frame, initial: false, next: None, interval: self.config.pre_key_resend })
            }
            (Role::Server, MessageType::ConnectAck) => {
                self.answers.connect_ack = Some(frame.clone());
                self.clear_out.push_back(frame);
            }
            (Role::Server, MessageType::HandshakeReply) => {
                self.answers.handshake_reply = Some(frame.clone());
                self.clear_out.push_back(frame);
            }
            (_, MessageType::Disconnect) => {
                self.resend = None;
                self.closing = true;
                for _ in 1..self.config.disconnect_copies {
                    self.clear_out.push_back(frame.clone());
                }
                self.clear_out.push_back(frame);
            }
            _ => self.clear_out.push_back(frame),
        }
    }

    /// An authenticated message to send.
    pub fn send_message(
        &mut self,
        message_type: MessageType,
        encrypt: bool,
        delivery: Delivery,
        channel: u8,
        body: Vec<u8>,
    ) {
        let max_frame = self.max_frame();
        if message_type == MessageType::Disconnect {
            // The last words: sent several times, so that one survives loss; nothing after them.
            self.closing = true;
            self.queues.clear();
            for _ in 1..self.config.disconnect_copies {
                self.queues.push_message(message_type, encrypt, delivery, channel, body.clone(), max_frame, usize::MAX);
            }
        }
        let waiting = if self.closing { usize::MAX } else { self.config.max_waiting_unreliable };
        self.queues.push_message(message_type, encrypt, delivery, channel, body, max_frame, waiting);
    }

    /// Client: the request it kept sending was answered.
    pub fn answered(&mut self) {
        self.resend = None;
    }

    /// Client: the server asked for proof of address. Returns false when the Retry is ignored.
    pub fn on_retry(&mut self, cookie: &[u8]) -> bool {
        let waiting = self.resend.as_ref().is_some_and(|r| r.initial);
        if !waiting || self.retries >= MAX_RETRIES || cookie.len() != COOKIE_LEN {
            return false;
        }
        self.retries += 1;
        self.cookie = Some(cookie.try_into().expect("length checked"));
        // At once, and the schedule starts over: the Retry shows the path works.
        if let Some(resend) = self.resend.as_mut() {
            resend.next = None;
            resend.interval = self.config.pre_key_resend;
        }
        true
    }

    /// Server: a repeated Initial from the client's address: send the ConnectAck again.
    pub fn on_repeated_connect(&mut self) {
        if let Some(ack) = self.answers.connect_ack.clone() {
            self.queue_answer(ack);
        }
    }

    /// A clear answer to a repeated request, unless the same one already waits (one answer per
    /// request, however many copies of it a datagram held).
    fn queue_answer(&mut self, answer: Vec<u8>) {
        if !self.clear_out.contains(&answer) {
            self.clear_out.push_back(answer);
        }
    }

    /// Server: remembers the HandshakeInit being answered, to recognise a repeat.
    pub fn remember_handshake_init(&mut self, frame: &[u8]) {
        self.answers.handshake_init = Some(frame.to_vec());
    }

    /// Server: a HandshakeInit after the exchange: the same one again gets the same reply.
    pub fn on_repeated_handshake_init(&mut self, frame: &[u8]) -> bool {
        if self.answers.handshake_init.as_deref() != Some(frame) {
            return false;
        }
        if let Some(reply) = self.answers.handshake_reply.clone() {
            self.queue_answer(reply);
        }
        true
    }

    /// The peer showed it holds the keys: its repeated clear requests are over.
    pub fn keys_confirmed(&mut self) {
        self.answers = Answers::default();
    }

    /// Builds the next datagram into `out`. Returns false when there is nothing to send now.
    /// `quiet`: the peer said goodbye; only clear frames already queued (a refusal) still go.
    pub fn poll_datagram(
        &mut self,
        now: Instant,
        sealer: Option<&mut Sealer>,
        version: u8,
        out: &mut Vec<u8>,
        quiet: bool,
    ) -> Result<bool, SealError> {
        if self.poll_resend(now, out) {
            self.count_sent(out.len());
            return Ok(true);
        }
        start_datagram(out, KIND_DATA, self.connection_id);
        let limit = self.send_limit();
        // A clear frame travels alone (section 14.6): one datagram for each request it answers.
        if let Some(frame) = self.clear_out.pop_front() {
            out.extend_from_slice(&frame);
        } else if let Some(sealer) = sealer.filter(|_| !quiet) {
            self.fill_sealed(now, sealer, version, out, limit)?;
        }
        if out.len() == DATAGRAM_HEADER_LEN {
            return Ok(false);
        }
        self.count_sent(out.len());
        Ok(true)
    }

    fn count_sent(&mut self, len: usize) {
        self.stats.datagrams_sent += 1;
        self.path.sent += len as u64;
    }

    /// How long this datagram may get: the configured size, and on a path not yet validated what the
    /// amplification limit leaves.
    fn send_limit(&self) -> usize {
        if self.path.validated {
            return self.config.max_datagram;
        }
        let budget = (self.path.received * AMPLIFICATION_FACTOR).saturating_sub(self.path.sent);
        (budget as usize).min(self.config.max_datagram)
    }

    /// Client: the Initial or HandshakeInit, when its resend time has come.
    fn poll_resend(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        let Some(resend) = self.resend.as_mut() else { return false };
        if resend.next.is_some_and(|next| next > now) {
            return false;
        }
        if resend.next.is_some() {
            resend.interval = (resend.interval * 2).min(self.config.max_pre_key_resend);
        }
        resend.next = Some(now + resend.interval);
        if resend.initial {
            start_datagram(out, KIND_INITIAL, self.connection_id);
            match &self.cookie {
                Some(cookie) => {
                    out.push(COOKIE_LEN as u8);
                    out.extend_from_slice(cookie);
                }
                None => out.push(0),
            }
            out.extend_from_slice(&resend.frame);
            // Padded, so no answer before the address is proven is larger than the request.
            out.resize(out.len().max(MIN_INITIAL_LEN), 0);
        } else {
            start_datagram(out, KIND_DATA, self.connection_id);
            out.extend_from_slice(&resend.frame);
        }
        true
    }

    /// Adds the acknowledgement and as many sealed units as the window and the datagram allow.
    fn fill_sealed(
        &mut self,
        now: Instant,
        sealer: &mut Sealer,
        version: u8,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), SealError> {
        // Only a unit makes an Ack worth sending now: an Ack must never draw an Ack.
        let sendable = self.next_unit().is_some_and(|unit| self.probes > 0 || self.may_send(unit));
        let ack_due = self.acks.due().is_some_and(|due| due <= now);
        // A goodbye goes alone: nothing is acknowledged after it.
        let wanted = !self.closing && self.acks.wanted() && (ack_due || sendable);
        if wanted && self.acks.peek(now, &mut self.ack_scratch) {
            self.ack_body.clear();
            self.ack_scratch.encode(&mut self.ack_body);
            let room = limit.saturating_sub(out.len());
            // An Ack that does not fit stays owed, for the next datagram.
            if self.ack_body.len() + frame_overhead(false, false) <= room {
                let header =
                    unit_header(version, MessageType::Ack, false, Delivery::UnreliableUnsequenced, 0, None, None);
                let counter = sealer.next_counter();
                let start = out.len();
                let body = &self.ack_body;
                append_header_frame(out, header, Some(sealer), u32::MAX, |b| b.extend_from_slice(body))?;
                let size = out.len() - start;
                self.acks.mark_sent();
                self.track(counter, SentFrame { sent_at: now, size, eliciting: false, unit: None });
            }
        }
        while let Some(unit) = self.next_unit() {
            let len = unit.frame_len();
            if out.len() + len > limit {
                break;
            }
            let probe = self.probes > 0;
            if !probe && !self.may_send(unit) {
                break;
            }
            let unit = self.take_next_unit().expect("peeked");
            let unit_is_goodbye = unit.message_type == MessageType::Disconnect;
            let header = unit_header(
                version,
                unit.message_type,
                unit.encrypt,
                unit.delivery,
                unit.channel,
                unit.sequence,
                unit.fragment,
            );
            let counter = sealer.next_counter();
            let start = out.len();
            append_header_frame(out, header, Some(sealer), u32::MAX, |b| b.extend_from_slice(unit.payload.bytes()))?;
            let size = out.len() - start;
            let reliable = unit.is_reliable();
            if !reliable {
                self.queues.sent_unreliable(&unit);
            }
            let unit = reliable.then_some(unit);
            self.track(counter, SentFrame { sent_at: now, size, eliciting: true, unit });
            if probe {
                self.probes -= 1;
                break;
            }
            if self.closing && unit_is_goodbye {
                // Each copy of the goodbye in a datagram of its own.
                break;
            }
        }
        // Probes with nothing to carry them are not kept owing (the session probes with a Ping).
        if self.next_unit().is_none() {
            self.probes = 0;
        }
        Ok(())
    }

    /// Whether the congestion window lets `unit` go now. Pings and pongs are tiny and paced by their
    /// timers; holding them back behind a full window would let a lossy path look dead.
    fn may_send(&self, unit: &Unit) -> bool {
        self.closing
            || matches!(unit.message_type, MessageType::Ping | MessageType::Pong)
            || self.recovery.fits(unit.frame_len())
    }

    /// Records a sent frame; a reliable unit the log had to give up goes out again.
    fn track(&mut self, counter: u64, frame: SentFrame) {
        if let Some(unit) = self.recovery.on_sent(counter, frame) {
            let mut lost = std::mem::take(&mut self.lost_scratch);
            lost.push(unit);
            self.queues.requeue(&mut lost);
            self.lost_scratch = lost;
        }
    }

    fn next_unit(&self) -> Option<&Unit> {
        if self.closing {
            return self.queues.unreliable.front();
        }
        self.queues.retransmit.front().or(self.queues.reliable.front()).or(self.queues.unreliable.front())
    }

    fn take_next_unit(&mut self) -> Option<Unit> {
        if self.closing {
            return self.queues.unreliable.pop_front();
        }
        if let Some(unit) = self.queues.retransmit.pop_front() {
            self.stats.retransmissions += 1;
            return Some(unit);
        }
        self.queues.reliable.pop_front().or_else(|| self.queues.unreliable.pop_front())
    }

    // ---- receiving ----

    /// A datagram arrived from `from`; true if it came over the current path.
    pub fn on_datagram(&mut self, from: SocketAddr, len: usize) -> bool {
        self.stats.datagrams_received += 1;
        let on_path = self.path.remote.is_none_or(|remote| remote == from);
        if on_path {
            self.path.received += len as u64;
        }
        on_path
    }

    /// Server: an authenticated frame with the newest counter came from another address: the client
    /// moved. The new path carries little until an acknowledgement shows the client receives there.
    pub fn migrate(&mut self, to: SocketAddr, len: usize) {
        if self.role != Role::Server || self.path.remote == Some(to) {
            return;
        }
        self.stats.migrations += 1;
        // An unpredictable value the client must echo from there: acknowledgements would not do, as
        // the key holder could acknowledge blindly what it never received at that address. The top
        // bit keeps it from reading as a round-trip time.
        let challenge = getrandom::u64().ok().map(|value| value | 1 << 63);
        self.path = Path {
            remote: Some(to),
            validated: false,
            received: len as u64,
            sent: 0,
            challenge,
            challenge_due: challenge.is_some(),
        };
    }

    /// The Ping to send on a new path, once.
    pub fn take_challenge(&mut self) -> Option<u64> {
        if !std::mem::take(&mut self.path.challenge_due) {
            return None;
        }
        self.path.challenge
    }

    /// A Pong arrived: the echo of the challenge, from the new path, validates it.
    pub fn on_pong(&mut self, echo: u64, from_path: bool) {
        if !self.path.validated && from_path && self.path.challenge == Some(echo) {
            self.path.validated = true;
            self.path.challenge = None;
        }
    }

    /// Counts a frame of the datagram being received as accepted (verified, or a key-exchange frame).
    pub fn accept(&mut self, bytes: usize) {
        self.accepted += bytes;
    }

    pub fn take_accepted(&mut self) -> usize {
        std::mem::take(&mut self.accepted)
    }

    /// This end queued its goodbye.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Records an opened frame for acknowledgement.
    pub fn record(&mut self, counter: u64, eliciting: bool, now: Instant) {
        self.acks.record(counter, eliciting, now, self.config.max_ack_delay);
    }

    /// Acknowledges at once what was recorded (a duplicate arrived).
    pub fn ack_now(&mut self) {
        self.acks.ack_now();
    }

    /// What to do with an opened unit (any type but Ack).
    pub fn on_unit(&mut self, header: &Header, body: &[u8], now: Instant) -> Result<Verdict, super::receive::Broken> {
        self.receiver.on_unit(header, body, now)
    }

    /// An Ack arrived (opened): acknowledged units leave, lost ones go out again.
    pub fn on_ack(&mut self, ack: &AckFrame, now: Instant) {
        let mut acked = std::mem::take(&mut self.acked_scratch);
        let mut lost = std::mem::take(&mut self.lost_scratch);
        self.recovery.on_ack(ack, now, &mut acked, &mut lost);
        for unit in acked.drain(..) {
            self.queues.acknowledged(&unit);
        }
        self.queues.requeue(&mut lost);
        self.acked_scratch = acked;
        self.lost_scratch = lost;
    }

    // ---- timers ----

    pub fn poll_timeout(&self) -> Option<Instant> {
        let resend = self.resend.as_ref().map(|r| r.next.unwrap_or(self.created));
        [resend, self.acks.due(), self.recovery.deadline(), self.receiver.deadline()].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<LinkEvent> {
        self.receiver.expire(now);
        if self.recovery.deadline().is_some_and(|at| at <= now) {
            let mut lost = std::mem::take(&mut self.lost_scratch);
            let outcome = self.recovery.on_timeout(now, &mut lost);
            self.queues.requeue(&mut lost);
            self.lost_scratch = lost;
            match outcome {
                Timeout::ConnectionLost => return Some(LinkEvent::ConnectionLost),
                Timeout::Probe => self.probes = PROBES,
                Timeout::Nothing => {}
            }
        }
        None
    }

    /// Whether a probe must be sent and there is no unit to carry it (the session sends a Ping).
    pub fn wants_probe_ping(&self) -> bool {
        self.probes > 0 && self.next_unit().is_none()
    }

    pub fn stats(&self) -> DatagramStats {
        let counts = self.receiver.counts;
        DatagramStats {
            refused_units: counts.refused,
            duplicates: counts.duplicates,
            stale: counts.stale,
            expired_fragments: counts.expired,
            unreliable_dropped: self.queues.unreliable_dropped,
            lost_frames: self.recovery.lost_frames,
            smoothed_rtt: self.recovery.smoothed_rtt(),
            window: self.recovery.window(),
            bytes_in_flight: self.recovery.bytes_in_flight(),
            ..self.stats
        }
    }

    pub fn count_drop(&mut self, what: DropKind) {
        match what {
            DropKind::Malformed => self.stats.dropped_malformed += 1,
            DropKind::Authentication => self.stats.dropped_authentication += 1,
            DropKind::Replay => self.stats.dropped_replay += 1,
            DropKind::Unexpected => self.stats.dropped_unexpected += 1,
        }
    }
}

/// Why the session dropped a received datagram or frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropKind {
    Malformed,
    Authentication,
    Replay,
    Unexpected,
}

fn unit_header(
    version: u8,
    message_type: MessageType,
    encrypted: bool,
    delivery: Delivery,
    channel: u8,
    sequence: Option<u32>,
    fragment: Option<crate::protocol::frame::Fragment>,
) -> Header {
    Header { version, message_type, encrypted, delivery, channel, body_len: 0, counter: None, sequence, fragment }
}
