//! What the datagram targets share: addresses, a datagram session's configuration, draining a session
//! with `poll_datagram` as its driver does, and the checks on every datagram a session sends
//! (docs/protocol.md, sections 14.2, 14.6, 14.7 and 14.12).

use std::net::SocketAddr;
use std::time::Instant;

use sealnet::protocol::datagram::{
    parse_header, DatagramConfig, DatagramStats, DATAGRAM_HEADER_LEN, KIND_DATA, KIND_INITIAL, MIN_INITIAL_LEN,
};
use sealnet::protocol::frame::{Delivery, Header, MessageType, DATAGRAM_VERSION, DEFAULT_MAX_BODY};
use sealnet::protocol::message::Versions;
use sealnet::protocol::session::{Role, Session, SessionConfig, Transport};

/// Where the client sends from.
pub fn client_address() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 50_000))
}

/// Somewhere else: a spoofed source, or a client that moved.
pub fn other_address() -> SocketAddr {
    SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], 50_000))
}

/// The server's address, where the client's datagrams go.
pub fn server_address() -> SocketAddr {
    SocketAddr::from(([198, 51, 100, 2], 5055))
}

/// A session configuration in datagram mode, speaking version 3 (the transport's only version).
pub fn datagram_session_config(datagram: DatagramConfig) -> SessionConfig {
    SessionConfig {
        versions: Versions { min: DATAGRAM_VERSION, max: DATAGRAM_VERSION },
        transport: Transport::Datagram(datagram),
        ..SessionConfig::default()
    }
}

/// The datagram settings of a session (it must be in datagram mode).
pub fn datagram_settings(session: &Session) -> &DatagramConfig {
    match &session.config().transport {
        Transport::Datagram(config) => config,
        Transport::Stream | Transport::Secure => panic!("a datagram target built a stream or secure session"),
    }
}

/// The largest datagram `session` may send: its setting, clamped as the link clamps it.
pub fn max_datagram(session: &Session) -> usize {
    datagram_settings(session).max_datagram.clamp(576, sealnet::protocol::datagram::MAX_UDP_PAYLOAD)
}

/// Polls `session` until it has nothing more to send now, checking each datagram; returns them.
/// A driver calls this after every received datagram, timeout and send, so it must end.
pub fn drain(session: &mut Session, now: Instant) -> Vec<Vec<u8>> {
    // Far more than any input here can queue (messages are capped by the targets, and the window
    // limits what goes out at once).
    const MAX_POLLS: usize = 50_000;
    let mut sent = Vec::new();
    let mut out = Vec::new();
    for _ in 0..MAX_POLLS {
        if !session.poll_datagram(now, &mut out) {
            return sent;
        }
        check_sent_datagram(session, &out);
        sent.push(out.clone());
    }
    panic!("poll_datagram kept returning datagrams ({MAX_POLLS} in a row): {session:?}");
}

/// Whether the finding `name` fails its target: always, unless `SEALNET_FUZZ_TOLERATE` names it (a
/// comma-separated list), which lets a long fuzzing run get past a finding while its fix is under way.
/// The findings so far are fixed in the core, each with a regression seed (fuzz/README.md).
pub fn strict(name: &str) -> bool {
    !std::env::var("SEALNET_FUZZ_TOLERATE").is_ok_and(|value| value.split(',').any(|item| item.trim() == name))
}

/// Rounds of `handle_timeout` and `poll_datagram` a driver may need before no timer is due: the link
/// handles one of its deadlines per call (a loss deadline, then a probe timeout due at the same time),
/// so a second round at once is normal; one that never settles would spin its driver.
const MAX_TIMER_ROUNDS: usize = 4;

/// Runs the timers of `session` as a driver does, when due (or once at once with `early`): handle the
/// timeout, send what it has to send, and again while a timer is still due. Returns what it sent.
pub fn run_timers(session: &mut Session, now: Instant, early: bool) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    if !early && session.poll_timeout().is_none_or(|due| due > now) {
        return sent;
    }
    for _ in 0..MAX_TIMER_ROUNDS {
        session.handle_timeout(now);
        sent.extend(drain(session, now));
        if session.poll_timeout().is_none_or(|due| due > now) {
            return sent;
        }
    }
    panic!("a timer stayed due after {MAX_TIMER_ROUNDS} rounds of handle_timeout and poll_datagram: {session:?}");
}

/// The frames of a datagram a session wrote, checked for what a sender must never write.
fn check_sent_datagram(session: &Session, datagram: &[u8]) {
    let role = session.role();
    let connection_id = session.connection_id().expect("a datagram session has a connection id");
    let what = || format!("{role:?} sent {:02x?}", &datagram[..datagram.len().min(64)]);
    let (kind, id) = parse_header(datagram).unwrap_or_else(|| panic!("a datagram without a valid header: {}", what()));
    assert_eq!(id, connection_id, "a datagram with another connection id: {}", what());
    if kind == KIND_INITIAL {
        // Only a client's Initial, which is padded to at least 1200 bytes whatever the setting.
        assert_eq!(role, Role::Client, "a server sent an Initial: {}", what());
        assert!(datagram.len() >= MIN_INITIAL_LEN, "a short Initial: {}", what());
        return;
    }
    assert_eq!(kind, KIND_DATA, "a session sent a datagram of kind {kind:#x}: {}", what());
    let max = max_datagram(session);
    assert!(datagram.len() <= max, "a datagram of {} bytes, above the {max}-byte setting: {}", datagram.len(), what());

    let mut headers = Vec::new();
    let mut frames = Vec::new();
    let mut at = DATAGRAM_HEADER_LEN;
    while at < datagram.len() {
        let (header, header_len) = Header::parse(&datagram[at..], DEFAULT_MAX_BODY)
            .unwrap_or_else(|error| panic!("a frame header that does not parse ({error}) at {at}: {}", what()));
        let len = header_len + header.body_len as usize;
        assert!(datagram.len() - at >= len, "a frame beyond the end of its datagram: {}", what());
        check_sent_frame(role, &header, headers.len(), &what);
        headers.push(header);
        frames.push(&datagram[at..at + len]);
        at += len;
    }
    assert!(!headers.is_empty(), "a Data datagram without frames: {}", what());
    // Clear frames travel alone (section 14.6).
    if headers.iter().any(|header| header.counter.is_none()) {
        // Finding repeated_handshake_init (fixed): a datagram of k copies of the HandshakeInit got k
        // HandshakeReplies, packed together.
        let repeated_replies = headers.iter().all(|header| header.message_type == MessageType::HandshakeReply)
            && frames.iter().all(|frame| *frame == frames[0]);
        assert!(
            headers.len() == 1 || (repeated_replies && !strict("repeated_handshake_init")),
            "a clear frame shares its datagram: {headers:?} in {}",
            what()
        );
    }
    let acks = headers.iter().filter(|header| header.message_type == MessageType::Ack).count();
    assert!(acks <= 1, "{acks} Acks in one datagram: {}", what());
}

fn check_sent_frame(role: Role, header: &Header, index: usize, what: &dyn Fn() -> String) {
    let Some(_) = header.counter else {
        let allowed: &[MessageType] = match role {
            Role::Server => &[MessageType::ConnectAck, MessageType::HandshakeReply, MessageType::Disconnect],
            Role::Client => &[MessageType::HandshakeInit, MessageType::Disconnect],
        };
        assert!(
            allowed.contains(&header.message_type),
            "a clear {:?} in a Data datagram: {}",
            header.message_type,
            what()
        );
        assert!(
            header.sequence.is_none() && header.fragment.is_none() && !header.encrypted,
            "a clear frame with extensions: {header:?} in {}",
            what()
        );
        return;
    };
    assert!(!header.message_type.is_pre_key(), "an authenticated key-exchange frame: {header:?} in {}", what());
    assert_eq!(header.version, DATAGRAM_VERSION, "an authenticated frame of another version: {header:?} in {}", what());
    let sequenced = header.delivery != Delivery::UnreliableUnsequenced;
    assert_eq!(header.sequence.is_some(), sequenced, "extensions that do not match the mode: {header:?} in {}", what());
    if let Some(fragment) = header.fragment {
        assert!(fragment.count >= 2 && fragment.index < fragment.count, "a bad fragment: {header:?} in {}", what());
    }
    if matches!(header.message_type, MessageType::Ack | MessageType::Ping | MessageType::Pong | MessageType::Disconnect)
    {
        assert!(
            header.delivery == Delivery::UnreliableUnsequenced && header.channel == 0 && header.fragment.is_none(),
            "a control frame not sent mode 2 on channel 0: {header:?} in {}",
            what()
        );
    }
    if header.message_type == MessageType::Ack {
        assert!(!header.encrypted, "an encrypted Ack: {}", what());
        assert_eq!(index, 0, "an Ack that is not the datagram's first frame: {}", what());
    }
}

/// The sum of a session's drop counters (section 14.17).
pub fn drops(stats: &DatagramStats) -> u64 {
    stats.dropped_malformed + stats.dropped_authentication + stats.dropped_replay + stats.dropped_unexpected
}

/// The counters a dropped datagram may change: everything else must stay as it was.
pub fn without_drops(stats: DatagramStats) -> DatagramStats {
    DatagramStats {
        datagrams_received: 0,
        dropped_malformed: 0,
        dropped_authentication: 0,
        dropped_replay: 0,
        dropped_unexpected: 0,
        ..stats
    }
}
