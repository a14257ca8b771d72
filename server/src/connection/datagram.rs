//! One UDP connection: the same connection state as over TCP (rooms, relay, authentication,
//! matchmaking, limits), driven by datagrams the listener routes here by connection id.
//!
//! Datagrams go out through the shared UDP socket straight from this shard's thread; a send the kernel
//! refuses (its buffer full) is dropped and counted, and the session's link sends it again if it
//! mattered. A client over its byte or operation budget has its datagrams dropped until the budget
//! refills: on UDP, not reading is not a way to push back.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::session::Session;
use sealnet::protocol::status::DisconnectReason;
use tokio::sync::{mpsc, watch};

use super::{pending_call, Connection, Flooding, Move, Slot, OUTBOUND_HIGH_WATER};
use crate::ops;
use crate::rooms::{Outbound, Peer};
use crate::server::stop_requested;
use crate::udp::{Datagram, Departure};
use crate::udp_batch::SendBatch;

/// Datagrams taken from the inbox in one turn before the rest of the loop gets its turn.
const DATAGRAMS_PER_TURN: usize = 64;

/// What a UDP connection carries when it moves to another shard.
struct Running {
    conn: Connection,
    socket: Arc<UdpSocket>,
    inbox: mpsc::Receiver<Datagram>,
    outbound: mpsc::Receiver<Outbound>,
    shutdown: watch::Receiver<bool>,
    shutting_down: bool,
    /// Tells the listener to forget the connection id when the connection ends, wherever it runs.
    _departure: Departure,
    batch: SendBatch,
}

/// Starts a connection whose Initial carried a valid cookie; the Initial is the inbox's first datagram.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve(
    socket: Arc<UdpSocket>,
    connection_id: u64,
    from: SocketAddr,
    inbox: mpsc::Receiver<Datagram>,
    departure: Departure,
    slot: Slot,
    peer: Arc<Peer>,
    outbound: mpsc::Receiver<Outbound>,
    shutdown: watch::Receiver<bool>,
) {
    let now = Instant::now();
    let shared = slot.shared.clone();
    let session = Session::datagram_server(
        shared.datagram_session_config.clone(),
        shared.keypair.clone(),
        connection_id,
        from,
        now,
    );
    let conn = Connection::new(slot, peer, session, now);
    let state = Box::new(Running {
        conn,
        socket,
        inbox,
        outbound,
        shutdown,
        shutting_down: false,
        _departure: departure,
        batch: SendBatch::new(),
    });
    run_here(state, None).await
}

/// Runs the connection on the shard this is polled on, answering the join that moved it here.
fn run_here(mut state: Box<Running>, join: Option<Move>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if let Some(Move { request, encrypted, delivery, channel, .. }) = join {
            ops::handle(&mut state.conn, request, encrypted, delivery, channel);
        }
        run(state).await
    })
}

/// Sends every datagram the session has ready, a batch per system call.
fn flush(conn: &mut Connection, socket: &UdpSocket, batch: &mut SendBatch) {
    let now = Instant::now();
    let counters = conn.shared.shards.counters();
    let Some(to) = conn.session.remote_address() else { return };
    let fd = socket.as_raw_fd();
    let send = |batch: &mut SendBatch, expected: usize| {
        let (bytes, datagrams) = batch.send(fd, to);
        counters.bytes_out.add(bytes as u64);
        // What the kernel did not take (its buffer full) is dropped: the link sends again what mattered.
        counters.udp[crate::metrics::udp::SEND_FAILED].add((expected - datagrams) as u64);
    };
    let mut filled = 0;
    while conn.session.poll_datagram(now, batch.next_buffer()) {
        filled += 1;
        if batch.commit() {
            send(batch, filled);
            filled = 0;
        }
    }
    send(batch, filled);
}

async fn run(mut state: Box<Running>) {
    let shared = state.conn.shared.clone();
    let id = state.conn.id;
    let peer = state.conn.peer.clone();
    let sleep = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(sleep);

    loop {
        let Running { conn, socket, inbox, outbound, shutdown, shutting_down, batch, .. } = &mut *state;
        conn.handle_session_events();
        flush(conn, socket, batch);
        if conn.session.wants_close() || conn.session.is_closed() {
            break;
        }
        if let Some(join) = conn.moving.take() {
            tracing::debug!(connection = id, shard = join.shard, "moving to the room's shard");
            shared.shards.spawn(join.shard, run_here(state, Some(join)));
            return;
        }
        let backlog = conn.session.backlog();
        let authenticating = conn.auth.is_pending();
        let matchmaking = conn.matchmaking.is_some();
        let timer = [conn.session.poll_timeout(), conn.key_exchange_at, conn.auth_deadline].into_iter().flatten().min();
        tokio::task::consume_budget().await;
        if let Some(at) = timer {
            if sleep.deadline().into_std() != at {
                sleep.as_mut().reset(at.into());
            }
        }
        tokio::select! {
            datagram = inbox.recv() => {
                let Some(first) = datagram else { break };
                let now = Instant::now();
                let mut next = Some(first);
                let mut taken = 0;
                while let Some(mut datagram) = next.take() {
                    receive(conn, &mut datagram, now);
                    taken += 1;
                    if taken < DATAGRAMS_PER_TURN {
                        next = inbox.try_recv().ok();
                    }
                }
                if let Err(Flooding) = conn.limits.read_allowed(now).map(|_| ()) {
                    tracing::warn!(connection = id, "client floods: disconnecting");
                    conn.session.disconnect(DisconnectReason::RateLimited, "sending faster than the server allows");
                }
            }
            item = outbound.recv(), if backlog < OUTBOUND_HIGH_WATER => {
                if let Some(item) = item {
                    let now = Instant::now();
                    let released = conn.deliver(item, now) + conn.drain_queue(outbound, backlog, now);
                    shared.output_budget.release(released);
                }
            }
            outcome = pending_call(&mut conn.auth), if authenticating => crate::authenticate::complete(conn, outcome),
            outcome = crate::matchmaking::pending(&mut conn.matchmaking), if matchmaking => {
                crate::matchmaking::complete(conn, outcome)
            }
            (reason, message) = peer.kicked() => conn.on_kicked(reason, message),
            () = stop_requested(shutdown), if !*shutting_down => {
                *shutting_down = true;
                conn.session.disconnect(DisconnectReason::ServerShutdown, "server shutting down");
            }
            () = &mut sleep, if timer.is_some() => conn.on_timer(Instant::now()),
        }
    }

    let Running { conn, socket, outbound, batch, .. } = &mut *state;
    conn.depart(outbound);
    if conn.session.wants_close() {
        // The goodbye goes out, several copies, each in a datagram of its own.
        flush(conn, socket, batch);
        conn.session.transport_closed(None);
    }
    count_drops(conn);
    conn.finish();
}

/// Adds what the session dropped (forged, replayed, malformed datagrams) to the server's counters.
fn count_drops(conn: &Connection) {
    use crate::metrics::udp::*;
    let Some(stats) = conn.session.datagram_stats() else { return };
    let counters = conn.shared.shards.counters();
    counters.udp[FRAMES_DROPPED_MALFORMED].add(stats.dropped_malformed);
    counters.udp[FRAMES_DROPPED_AUTHENTICATION].add(stats.dropped_authentication);
    counters.udp[FRAMES_DROPPED_REPLAY].add(stats.dropped_replay);
    counters.udp[FRAMES_DROPPED_UNEXPECTED].add(stats.dropped_unexpected);
    tracing::debug!(connection = conn.id, ?stats, "datagram link");
}

/// Feeds one datagram to the session, unless the client is over its budget (then it is dropped: the
/// link sends again what mattered, at the rate the budget allows). Only what the session accepted is
/// charged: anyone who saw the connection id can send datagrams with it, and must not spend the
/// client's budget (or get it disconnected for flooding).
fn receive(conn: &mut Connection, datagram: &mut Datagram, now: Instant) {
    let len = datagram.bytes.len();
    conn.shared.shards.counters().bytes_in.add(len as u64);
    if conn.limits.ops.blocked_until(now).is_some() || conn.limits.bytes.blocked_until(now).is_some() {
        conn.shared.shards.counters().udp[crate::metrics::udp::DROPPED_THROTTLED].add(1);
        return;
    }
    let accepted = conn.session.receive_datagram(&mut datagram.bytes, datagram.from, now);
    conn.limits.bytes.spend(accepted as f64, now);
}
