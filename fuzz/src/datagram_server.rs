//! A fresh datagram server session (`Session::datagram_server`, as the server creates one for an
//! Initial whose cookie verified), fed a sequence of arbitrary datagrams (from the connection's
//! address or from another one) with simulated time, timers and a host in between, its output drained
//! with `poll_datagram` after each step as a driver does (docs/protocol.md, sections 14.5 to 14.7 and
//! 14.17).
//!
//! Checked besides "no panic, hang or unbounded allocation": every datagram it sends is a Data
//! datagram of its connection id, at most its maximum datagram size, of well-formed frames (clear ones
//! only of the kinds a server sends in clear, alone in their datagram); nothing it receives is ever
//! fatal as a refused frame (nothing the input sends can carry a valid tag); the path never moves
//! (nothing authenticated arrives); timers settle once run and the output drained; a silent client is
//! dropped; the session ends cleanly.

use std::time::{Duration, Instant};

use sealnet::protocol::datagram::{DatagramConfig, DEFAULT_MAX_DATAGRAM, MAX_UDP_PAYLOAD};
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::{DisconnectReason, StatusCode};

use crate::datagram_wire::{client_address, datagram_session_config, drain, drops, other_address, run_timers};
use crate::input::{base_time, time_step, Input};
use crate::wire::{close, server_key, ServerHost};

/// The connection id the endpoint accepted (any nonzero value; seeds use it in their datagrams).
pub const CONNECTION_ID: u64 = 0x5ea1_5ea1_0000_0001;
/// Longer than the connect and disconnect timeouts (10 s).
const SILENCE: Duration = Duration::from_secs(11);
const MAX_COMMANDS: usize = 256;

/// The maximum datagram sizes a flag byte chooses from.
pub const MAX_DATAGRAMS: [usize; 4] = [DEFAULT_MAX_DATAGRAM, 576, 1500, MAX_UDP_PAYLOAD];

pub fn datagram_server_session(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let datagram = DatagramConfig {
        max_datagram: MAX_DATAGRAMS[usize::from(flags & 3)],
        max_reassembly: if flags & 0x40 != 0 { 4096 } else { DatagramConfig::default().max_reassembly },
        disconnect_copies: if flags & 0x80 != 0 { 1 } else { DatagramConfig::default().disconnect_copies },
        ..DatagramConfig::default()
    };
    let config = SessionConfig {
        gate_key_exchange: flags & 4 != 0,
        max_clear_body: if flags & 0x20 != 0 { 256 } else { SessionConfig::default().max_clear_body },
        ..datagram_session_config(datagram)
    };
    let host = ServerHost {
        refuse_connect: flags & 0x18 == 0x18,
        refuse_key_exchange: flags & 0x18 == 0x10,
        echo: false,
        ..ServerHost::default()
    };
    let mut now = base_time();
    let mut session = Session::datagram_server(config, server_key(), CONNECTION_ID, client_address(), now);
    assert_eq!(session.connection_id(), Some(CONNECTION_ID));

    let mut commands = 0;
    while !input.is_empty() && commands < MAX_COMMANDS && !session.wants_close() {
        commands += 1;
        let command = input.u8();
        match command % 8 {
            0..=5 => {
                let mut datagram = input.sized().to_vec();
                let from = if command % 8 == 5 { other_address() } else { client_address() };
                let before = session.datagram_stats().expect("datagram mode");
                session.receive_datagram(&mut datagram, from, now);
                let after = session.datagram_stats().expect("datagram mode");
                assert!(after.datagrams_received <= before.datagrams_received + 1);
                assert!(drops(&after) >= drops(&before));
            }
            6 => {
                now += time_step(command >> 3);
                run_timers(&mut session, now, false);
            }
            _ => {
                if command >> 3 == 31 {
                    session.disconnect(DisconnectReason::ServerLogic, "host closes");
                } else {
                    run_timers(&mut session, now, true);
                }
            }
        }
        step(&mut session, now, &host);
    }
    if !session.wants_close() {
        now += SILENCE;
        run_timers(&mut session, now, false);
        assert!(session.wants_close(), "a silent client was not dropped: {session:?}");
    }
    // The goodbyes go out, then the driver forgets the connection.
    step(&mut session, now, &host);
    assert!(session.poll_timeout().is_none(), "a closing session wants its timers run");
    close(&mut session);
}

/// What the driver does after each received datagram and timeout: the host answers the events, and
/// everything the session has to send goes out.
fn step(session: &mut Session, now: Instant, host: &ServerHost) {
    let events = host.serve(session, now);
    for event in &events {
        match event {
            // The one refusal a clear frame may cause: a HandshakeInit whose payload names another
            // version ends the attempt (sections 14.6 and 14.17), as a failed key exchange does
            // (which reports no such status).
            SessionEvent::Status(info) => assert!(
                info.code != StatusCode::ExceptionOnReceive || info.reason == DisconnectReason::VersionMismatch as u16,
                "unauthenticated datagrams ended the connection as a refused frame: {info:?}"
            ),
            SessionEvent::OperationRequest { .. } => panic!("an operation arrived without keys: {event:?}"),
            _ => {}
        }
    }
    drain(session, now);
    // Nothing authenticated arrives, so the path never moves.
    assert_eq!(session.remote_address(), Some(client_address()), "the path moved without an authenticated frame");
    assert_eq!(session.datagram_stats().expect("datagram mode").migrations, 0);
}
