//! One connection: a task that owns a server-role [`Session`] and its TCP stream.
//!
//! The task feeds received bytes to the session, writes what the session produces, runs its timers,
//! and answers what it reports. Events relayed by other members arrive through the connection's bounded
//! outbound queue and are sealed here, under this connection's keys. The queue is only read while the
//! unsent output is small, so a client that does not read lets its queue fill, and is then
//! disconnected (see `rooms`), instead of growing server memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::session::{Session, SessionError, SessionEvent, StatusInfo};
use sealnet::protocol::status::{DisconnectReason, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::ops;
use crate::rooms::{Membership, Outbound, Peer, MAX_QUEUED_BYTES};
use crate::server::{stop_requested, Shared};

/// Unsent bytes above which queued events wait in the queue instead of being sealed.
const OUTBOUND_HIGH_WATER: usize = 256 * 1024;
/// Unsent bytes above which the client's input is not read (TCP pushes back on it).
const READ_PAUSE: usize = 1024 * 1024;
/// How long a closing connection may take to deliver its final frames.
const FLUSH_LIMIT: Duration = Duration::from_secs(1);
const READ_BUFFER: usize = 64 * 1024;

/// The state of one connection that operation handlers work on.
pub(crate) struct Connection {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) session: Session,
    pub(crate) peer: Arc<Peer>,
    pub(crate) membership: Option<Membership>,
    /// False when the server was full as this connection arrived: its Connect is refused.
    admitted: bool,
}

impl Connection {
    /// Leaves the current room, telling the remaining members. Returns whether it was in one.
    pub(crate) fn leave_room(&mut self) -> bool {
        let Some(membership) = self.membership.take() else { return false };
        let remaining = self.shared.rooms.leave(&membership);
        tracing::debug!(connection = self.id, actor = membership.actor, remaining = remaining.len(), "left room");
        true
    }

    /// Answers everything the session reported since the last call.
    fn handle_session_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::ConnectRequest { app_id, client_version } => {
                    self.on_connect_request(&app_id, &client_version)
                }
                SessionEvent::OperationRequest { request, encrypted, delivery, channel } => {
                    ops::handle(self, request, encrypted, delivery, channel)
                }
                SessionEvent::Status(status) => self.on_status(status),
                // Client-role events never reach a server session.
                SessionEvent::OperationResponse { .. } | SessionEvent::Event { .. } => {}
            }
        }
    }

    fn on_connect_request(&mut self, app_id: &str, client_version: &str) {
        let refusal = if !self.admitted {
            Some((DisconnectReason::ServerFull, "server full"))
        } else if !self.shared.config.app_ids.iter().any(|id| id == app_id) {
            Some((DisconnectReason::UnknownAppId, "unknown app id"))
        } else {
            None
        };
        let result = match refusal {
            Some((reason, message)) => {
                tracing::info!(connection = self.id, app_id = ?app_id, reason = ?reason, "connection refused");
                self.session.refuse(reason, message)
            }
            None => {
                tracing::info!(connection = self.id, app_id = ?app_id, client_version = ?client_version, "connection accepted");
                self.session.accept(Instant::now())
            }
        };
        if let Err(problem) = result {
            tracing::warn!(connection = self.id, %problem, "could not answer connect");
        }
    }

    fn on_status(&mut self, status: StatusInfo) {
        let StatusInfo { code, reason, message } = status;
        match code {
            StatusCode::EncryptionEstablished => {
                self.peer.set_encrypted();
                tracing::debug!(connection = self.id, "encryption established");
            }
            StatusCode::Connect | StatusCode::Disconnect | StatusCode::DisconnectByServerLogic => {
                tracing::debug!(connection = self.id, status = code.name(), reason, message, "status");
            }
            _ => tracing::info!(connection = self.id, status = code.name(), reason, message, "connection problem"),
        }
    }

    /// Seals one queued item for this client.
    fn deliver(&mut self, item: Outbound) {
        self.peer.taken(&item);
        let Outbound::Event { body, options } = item;
        match self.session.send_encoded_event(&body, options) {
            Ok(()) => {}
            Err(SessionError::OutputFull) => {
                tracing::warn!(connection = self.id, "output full: disconnecting slow consumer");
                self.session.disconnect(DisconnectReason::SlowConsumer, "output full: not reading fast enough");
            }
            Err(problem) => tracing::debug!(connection = self.id, %problem, "event not sent"),
        }
    }
}

impl Drop for Connection {
    /// A connection task that ends in any way, a panic included, leaves its room.
    fn drop(&mut self) {
        self.leave_room();
    }
}

/// Output taken from the session and not yet written.
#[derive(Default)]
struct WriteBuffer {
    data: Vec<u8>,
    written: usize,
}

impl WriteBuffer {
    fn pending(&self) -> &[u8] {
        &self.data[self.written..]
    }

    fn len(&self) -> usize {
        self.data.len() - self.written
    }

    fn advance(&mut self, count: usize) {
        self.written += count;
        if self.written >= self.data.len() {
            self.data.clear();
            self.written = 0;
        }
    }

    fn take_from(&mut self, session: &mut Session) {
        if session.pending_output().is_empty() {
            return;
        }
        if self.written > 0 {
            self.data.drain(..self.written);
            self.written = 0;
        }
        session.take_output(&mut self.data);
    }
}

/// Counts a connection for `max_connections` while it lives.
pub(crate) struct Slot {
    pub(crate) shared: Arc<Shared>,
    pub(crate) admitted: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.release(self.admitted);
    }
}

/// Runs one connection until it is closed.
pub(crate) async fn serve(stream: TcpStream, id: u64, slot: Slot, mut shutdown: watch::Receiver<bool>) {
    let shared = slot.shared.clone();
    let session = Session::server(shared.session_config.clone(), shared.keypair.clone(), Instant::now());
    let (peer, mut outbound) = Peer::new(id, shared.config.outbound_queue, MAX_QUEUED_BYTES);
    let mut conn = Connection { id, shared, session, peer: peer.clone(), membership: None, admitted: slot.admitted };
    let (mut reader, mut writer) = stream.into_split();
    let mut read_buffer = vec![0u8; READ_BUFFER];
    let mut output = WriteBuffer::default();
    let mut shutting_down = false;

    loop {
        conn.handle_session_events();
        output.take_from(&mut conn.session);
        if conn.session.wants_close() || conn.session.is_closed() {
            break;
        }
        let unsent = output.len();
        let timer = conn.session.poll_timeout();
        tokio::select! {
            result = writer.write(output.pending()), if unsent > 0 => match result {
                Ok(0) => conn.session.transport_closed(Some((StatusCode::SendError, "connection closed while writing"))),
                Ok(written) => output.advance(written),
                Err(_) => conn.session.transport_closed(Some((StatusCode::SendError, "write failed"))),
            },
            result = reader.read(&mut read_buffer), if unsent < READ_PAUSE => match result {
                Ok(0) => conn.session.transport_closed(None),
                Ok(read) => conn.session.receive(&read_buffer[..read], Instant::now()),
                Err(_) => conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "read failed"))),
            },
            item = outbound.recv(), if unsent < OUTBOUND_HIGH_WATER => {
                if let Some(item) = item {
                    conn.deliver(item);
                    drain_queue(&mut conn, &mut outbound, unsent);
                }
            }
            (reason, message) = peer.kicked() => conn.session.disconnect(reason, message),
            () = stop_requested(&mut shutdown), if !shutting_down => {
                shutting_down = true;
                conn.session.disconnect(DisconnectReason::ServerShutdown, "server shutting down");
            }
            _ = sleep_until(timer), if timer.is_some() => conn.session.handle_timeout(Instant::now()),
        }
    }

    conn.leave_room();
    if conn.session.wants_close() {
        output.take_from(&mut conn.session);
        let _ = tokio::time::timeout(FLUSH_LIMIT, close_gracefully(&mut reader, &mut writer, &mut output)).await;
        conn.session.transport_closed(None);
    }
    conn.handle_session_events();
    tracing::info!(connection = id, "connection closed");
    drop(slot);
}

/// Moves more queued events into the session while the unsent output stays small.
fn drain_queue(conn: &mut Connection, outbound: &mut mpsc::Receiver<Outbound>, unsent: usize) {
    while unsent + conn.session.pending_output().len() < OUTBOUND_HIGH_WATER && !conn.session.wants_close() {
        match outbound.try_recv() {
            Ok(item) => conn.deliver(item),
            Err(_) => break,
        }
    }
}

/// Writes the final frames, half-closes, then reads until the client closes its side, so the close
/// does not turn into a reset that could discard the final frames before the client reads them.
async fn close_gracefully(reader: &mut OwnedReadHalf, writer: &mut OwnedWriteHalf, output: &mut WriteBuffer) {
    while output.len() > 0 {
        match writer.write(output.pending()).await {
            Ok(0) | Err(_) => return,
            Ok(written) => output.advance(written),
        }
    }
    if writer.shutdown().await.is_err() {
        return;
    }
    let mut discard = [0u8; 4096];
    while let Ok(read) = reader.read(&mut discard).await {
        if read == 0 {
            break;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
