//! A session in datagram mode (UDP, protocol version 3): received datagrams in, datagrams to send out.
//!
//! Every datagram or frame that fails a check is dropped and counted, never fatal: anyone on the
//! path can send a datagram with a forged source, so none may end a connection. Only a frame whose
//! tag verified (which only the key holder can make) and that then breaks the rules ends it, as on a
//! stream. The key-exchange failure is the one exception among clear frames, as on a stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::inbound::Violation;
use super::{Phase, Role, Session};
use crate::protocol::datagram::{
    parse_header, AckFrame, DatagramStats, DropKind, Link, Verdict, COOKIE_LEN, DATAGRAM_HEADER_LEN, KIND_DATA,
    KIND_INITIAL, KIND_RETRY,
};
use crate::protocol::frame::{Header, MessageType, TAG_LEN};
use crate::protocol::message::{Ping, Pong};
use crate::protocol::noise::Keypair;
use crate::protocol::sealing::{open_frame, OpenError, SealError, Sealer, SendOptions};
use crate::protocol::status::DisconnectReason;

/// A random, nonzero connection id, or `None` if the system's random source fails.
pub(super) fn random_connection_id() -> Option<u64> {
    loop {
        let id = getrandom::u64().ok()?;
        if id != 0 {
            return Some(id);
        }
    }
}

/// Queues one message on the link: authenticated when keys exist; without keys only a Disconnect
/// may go (in clear), since the datagram transport carries no operation in clear.
pub(super) fn queue(
    link: &mut Link,
    sealer: Option<&Sealer>,
    version: u8,
    message_type: MessageType,
    options: SendOptions,
    max_body: u32,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Result<(), SealError> {
    if sealer.is_none() {
        if message_type != MessageType::Disconnect || options.encrypt {
            return Err(SealError::NoKeys);
        }
        let mut frame = Vec::new();
        crate::protocol::sealing::append_versioned_frame(
            &mut frame,
            version,
            message_type,
            options,
            None,
            max_body,
            write_body,
        )?;
        link.send_clear(message_type, frame);
        return Ok(());
    }
    let mut body = Vec::new();
    write_body(&mut body);
    let len = body.len() + TAG_LEN;
    if len > max_body as usize {
        return Err(SealError::TooLarge { len, max: max_body });
    }
    link.send_message(message_type, options.encrypt, options.delivery, options.channel, body);
    Ok(())
}

impl Session {
    /// A server session for a datagram connection whose Initial carried a valid cookie (see
    /// [`Endpoint`](crate::protocol::datagram::Endpoint)); pass that Initial to
    /// [`receive_datagram`](Self::receive_datagram) next. `config.transport` must be datagram.
    pub fn datagram_server(
        config: super::SessionConfig,
        static_key: Arc<Keypair>,
        connection_id: u64,
        from: SocketAddr,
        now: Instant,
    ) -> Self {
        let mut session = Self::server(config, static_key, now);
        if let Some(link) = session.link.as_mut() {
            link.set_connection_id(connection_id);
            link.set_remote(from);
        }
        session
    }

    /// The connection id of a datagram session (0 before a client's `connect`).
    pub fn connection_id(&self) -> Option<u64> {
        self.link.as_ref().map(|link| link.connection_id())
    }

    /// Server, datagram mode: the client's current address, where datagrams go.
    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.link.as_ref().and_then(|link| link.remote())
    }

    /// Bytes the session holds for sending: unsent output on a stream; queued and unacknowledged
    /// message bytes on datagrams.
    pub fn backlog(&self) -> usize {
        self.output.len() + self.queued_bytes + self.link.as_ref().map_or(0, |link| link.backlog())
    }

    /// Counters of the datagram link (`None` on a stream).
    pub fn datagram_stats(&self) -> Option<DatagramStats> {
        self.link.as_ref().map(|link| link.stats())
    }

    /// Datagram mode: builds the next datagram to send into `out` (replacing its contents). Call until
    /// it returns false, after every received datagram, timeout and send.
    pub fn poll_datagram(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        if matches!(self.phase, Phase::Closed) || (self.role == Role::Client && matches!(self.phase, Phase::Idle)) {
            return false;
        }
        let Some(link) = self.link.as_mut() else { return false };
        // The peer said goodbye (or this server refused it): nothing more but a queued refusal.
        let quiet = matches!(self.phase, Phase::Closing) && !link.is_closing();
        match link.poll_datagram(now, self.sealer.as_mut(), self.version, out, quiet) {
            Ok(sent) => {
                if sent {
                    self.stats.sent(out.len());
                }
                sent
            }
            Err(error) => {
                // The key is spent: the session ends (its Disconnect is queued for the next call).
                let _ = self.seal_error(error);
                out.len() > DATAGRAM_HEADER_LEN
            }
        }
    }

    /// Datagram mode: takes one received datagram (decrypted in place) that came from `from`. Returns
    /// the bytes of the frames it accepted (verified, or clear frames of the key exchange): what a
    /// server charges to the client's budget, since anyone can send the rest.
    pub fn receive_datagram(&mut self, datagram: &mut [u8], from: SocketAddr, now: Instant) -> usize {
        self.receive_datagram_frames(datagram, from, now);
        self.link.as_mut().map_or(0, |link| link.take_accepted())
    }

    fn receive_datagram_frames(&mut self, datagram: &mut [u8], from: SocketAddr, now: Instant) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        let Some(link) = self.link.as_mut() else { return };
        let Some((kind, connection_id)) = parse_header(datagram) else {
            link.count_drop(DropKind::Malformed);
            return;
        };
        if connection_id != link.connection_id() {
            link.count_drop(DropKind::Malformed);
            return;
        }
        let on_path = link.on_datagram(from, datagram.len());
        self.stats.received_bytes(datagram.len());
        match (self.role, kind) {
            (Role::Server, KIND_INITIAL) => self.receive_initial(datagram, on_path, now),
            (Role::Client, KIND_RETRY) => {
                let cookie = retry_cookie(datagram);
                let link = self.link.as_mut().expect("checked");
                if !cookie.is_some_and(|cookie| link.on_retry(cookie)) {
                    link.count_drop(DropKind::Unexpected);
                }
            }
            (_, KIND_DATA) => self.receive_frames(datagram, from, on_path, now),
            _ => self.count_drop(DropKind::Unexpected),
        }
    }

    fn count_drop(&mut self, what: DropKind) {
        if let Some(link) = self.link.as_mut() {
            link.count_drop(what);
        }
    }

    fn receive_initial(&mut self, datagram: &[u8], on_path: bool, now: Instant) {
        let Ok(initial) = crate::protocol::datagram::parse_initial(datagram) else {
            self.count_drop(DropKind::Malformed);
            return;
        };
        if !on_path {
            self.count_drop(DropKind::Unexpected);
            return;
        }
        if !matches!(self.phase, Phase::Idle) {
            // The ConnectAck was lost, or is late: the client asks again.
            self.link.as_mut().expect("datagram mode").on_repeated_connect();
            return;
        }
        let mut frame = initial.frame.to_vec();
        let (header, header_len) = match Header::parse(&frame, self.config.max_body(false)) {
            Ok(parsed) => parsed,
            Err(_) => return self.count_drop(DropKind::Malformed),
        };
        self.first_frame = false;
        self.clear_frame(&mut frame, &header, header_len, true, now);
    }

    fn receive_frames(&mut self, datagram: &mut [u8], from: SocketAddr, on_path: bool, now: Instant) {
        let total = datagram.len();
        let mut at = DATAGRAM_HEADER_LEN;
        while at < datagram.len() && !matches!(self.phase, Phase::Closing | Phase::Closed) {
            if datagram[at] == 0 {
                if datagram[at..].iter().any(|&b| b != 0) {
                    self.count_drop(DropKind::Malformed);
                }
                return;
            }
            let max_body = self.config.max_body(self.opener.is_some());
            let (header, header_len) = match Header::parse(&datagram[at..], max_body) {
                Ok(parsed) => parsed,
                Err(_) => return self.count_drop(DropKind::Malformed),
            };
            let frame_len = header_len + header.body_len as usize;
            if datagram.len() - at < frame_len {
                return self.count_drop(DropKind::Malformed);
            }
            let frame = &mut datagram[at..at + frame_len];
            at += frame_len;
            // A header that fails its checks leaves nothing after it to trust (section 14.7).
            let bad_version = header.version != self.expected_version(&header);
            let clear_with_extensions =
                header.counter.is_none() && (header.sequence.is_some() || header.fragment.is_some());
            if bad_version || clear_with_extensions || (header.message_type.is_pre_key() && header.counter.is_some()) {
                return self.count_drop(DropKind::Malformed);
            }
            self.first_frame = false;
            match header.counter {
                None => self.clear_frame(frame, &header, header_len, on_path, now),
                Some(counter) => self.sealed_frame(frame, &header, header_len, counter, (from, on_path, total), now),
            }
        }
    }

    /// A clear frame: only the key exchange's, and a Disconnect under the rule of section 3.2, and
    /// only from the connection's address (a clear frame proves nothing about its sender).
    fn clear_frame(&mut self, frame: &mut [u8], header: &Header, header_len: usize, on_path: bool, now: Instant) {
        let link = self.link.as_mut().expect("datagram mode");
        if !on_path {
            link.count_drop(DropKind::Unexpected);
            return;
        }
        let allowed = match (self.role, header.message_type) {
            (Role::Server, MessageType::Connect) => matches!(self.phase, Phase::Idle),
            (Role::Client, MessageType::ConnectAck) => matches!(self.phase, Phase::AwaitingAck),
            (Role::Client, MessageType::HandshakeReply) => matches!(self.phase, Phase::KeyExchange(_)),
            (Role::Server, MessageType::HandshakeInit | MessageType::HandshakeInitPsk) => {
                if !matches!(self.phase, Phase::Connected) {
                    // A repeat of the one answered gets the same reply; anything else is dropped.
                    if !link.on_repeated_handshake_init(frame) {
                        link.count_drop(DropKind::Unexpected);
                    }
                    return;
                }
                link.remember_handshake_init(frame);
                true
            }
            // A client without keys says goodbye in clear; a server without keys refuses in clear.
            (Role::Server, MessageType::Disconnect) => self.opener.as_ref().is_none_or(|opener| !opener.has_opened()),
            (Role::Client, MessageType::Disconnect) => self.opener.is_none(),
            _ => false,
        };
        if !allowed {
            link.count_drop(DropKind::Unexpected);
            return;
        }
        link.accept(frame.len());
        if let Err(violation) = self.process_frame(frame, header, header_len, now) {
            // A failed key exchange ends the attempt as on a stream; anything else in clear could be
            // forged by anyone and is dropped.
            if matches!(violation.reason, DisconnectReason::KeyExchangeFailed | DisconnectReason::VersionMismatch) {
                self.fail(violation);
            } else {
                self.count_drop(DropKind::Malformed);
            }
        }
    }

    fn sealed_frame(
        &mut self,
        frame: &mut [u8],
        header: &Header,
        header_len: usize,
        counter: u64,
        (from, on_path, len): (SocketAddr, bool, usize),
        now: Instant,
    ) {
        let Some(opener) = self.opener.as_mut() else {
            // Sent under keys this end does not have yet (its HandshakeReply was lost): sent again.
            return self.count_drop(DropKind::Unexpected);
        };
        let first = !opener.has_opened();
        let body = match open_frame(frame, header, header_len, Some(&mut *opener)) {
            Ok(body) => body,
            Err(OpenError::Replay(_)) => return self.count_drop(DropKind::Replay),
            Err(OpenError::Authentication(_)) => return self.count_drop(DropKind::Authentication),
            Err(_) => return self.count_drop(DropKind::Unexpected),
        };
        self.last_receive = now;
        self.stats.received_frame();
        let newest = opener.newest() == Some(counter);
        let link = self.link.as_mut().expect("datagram mode");
        link.accept(header_len + header.body_len as usize);
        if first {
            link.keys_confirmed();
        }
        // Roaming: only a verified frame newer than any before moves the path (a replayed or forged
        // datagram from elsewhere never opens).
        let mut from_path = on_path;
        if self.role == Role::Server && !on_path && newest {
            link.migrate(from, len);
            from_path = true;
            if let Some(challenge) = link.take_challenge() {
                // The new address must answer this one before it gets more than 3x what it sent.
                let options = self.control_options();
                let _ =
                    self.send_message(MessageType::Ping, options, |out| Ping { timestamp_ms: challenge }.encode(out));
            }
        }
        let link = self.link.as_mut().expect("datagram mode");
        if header.message_type == MessageType::Ack {
            link.record(counter, false, now);
            match AckFrame::decode(body) {
                Ok(ack) => link.on_ack(&ack, now),
                Err(error) => self.fail(Violation::protocol(error.to_string())),
            }
            return;
        }
        if header.message_type == MessageType::Pong && self.role == Role::Server {
            if let Ok(pong) = Pong::decode(body, &self.limits()) {
                self.link.as_mut().expect("datagram mode").on_pong(pong.echo_ms, from_path);
            }
        }
        let link = self.link.as_mut().expect("datagram mode");
        let verdict = match link.on_unit(header, body, now) {
            Ok(verdict) => verdict,
            Err(broken) => return self.fail(Violation::protocol(broken.0)),
        };
        if verdict == Verdict::Refused {
            return;
        }
        link.record(counter, true, now);
        if verdict == Verdict::Duplicate {
            link.ack_now();
        }
        if verdict == Verdict::DeliverNow {
            let result =
                self.dispatch(header.message_type, body, header.encrypted, header.delivery, header.channel, None, now);
            if let Err(violation) = result {
                return self.fail(violation);
            }
        }
        while let Some(message) = self.link.as_mut().and_then(|link| link.receiver.pop_ready()) {
            if matches!(self.phase, Phase::Closing | Phase::Closed) {
                return;
            }
            let result = self.dispatch(
                message.message_type,
                &message.body,
                message.encrypted,
                message.delivery,
                message.channel,
                None,
                now,
            );
            if let Err(violation) = result {
                return self.fail(violation);
            }
        }
    }
}

/// The cookie of a Retry datagram, if it is well formed.
fn retry_cookie(datagram: &[u8]) -> Option<&[u8]> {
    let rest = datagram.get(DATAGRAM_HEADER_LEN..)?;
    let (&len, cookie) = rest.split_first()?;
    (len as usize == COOKIE_LEN && cookie.len() == COOKIE_LEN).then_some(cookie)
}
