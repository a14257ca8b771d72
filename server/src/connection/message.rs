//! One WebSocket connection (WSS, or plain WebSocket where the configuration allows it): the same
//! connection state as over TCP and UDP (rooms, relay, authentication, matchmaking, limits), with one
//! sealnet frame per binary WebSocket message (docs/protocol.md, version 4).
//!
//! Each binary message goes whole to the session, which ends the connection when it is not exactly
//! one frame. A text message, or one the WebSocket layer refuses (larger than the largest frame, or
//! against RFC 6455), ends it here. Either way the client gets a Disconnect that says why, then a
//! WebSocket close. What the session sends is cut into its frames, a binary message each.
//!
//! As over TCP, a message is read only while the unsent output is small and the client is within its
//! budgets; the WebSocket layer answers pings itself, and they count against the byte budget like
//! everything else read. A join of a room another shard runs moves the connection there with its TLS
//! and WebSocket state, its socket registered anew with that shard's event loop.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use sealnet::protocol::frame::{frames, MAX_HEADER_LEN};
use sealnet::protocol::session::Session;
use sealnet::protocol::status::{DisconnectReason, StatusCode};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use super::{pending_call, Connection, Move, Slot, Turn, WriteBuffer, FLUSH_LIMIT, OUTBOUND_HIGH_WATER};
use crate::metrics::wss_refused;
use crate::ops;
use crate::rooms::{Outbound, Peer};
use crate::server::stop_requested;
use crate::shards::Shards;
use crate::wss::{Endpoint, Link};

/// What the WebSocket layer reads from the socket at a time (TLS keeps its own records' buffers).
const READ_BUFFER: usize = 16 * 1024;
/// Output the WebSocket layer gathers before it writes (each batch is flushed anyway).
const WRITE_BUFFER: usize = 16 * 1024;

type Ws = WebSocketStream<Link>;

/// What a WebSocket connection carries when it moves to another shard.
struct Running {
    conn: Connection,
    ws: Ws,
    /// Frames taken from the session and not yet handed to the WebSocket layer.
    output: WriteBuffer,
    /// Messages handed to the WebSocket layer and not yet flushed to the socket.
    unflushed: bool,
    outbound: mpsc::Receiver<Outbound>,
    shutdown: watch::Receiver<bool>,
    shutting_down: bool,
    /// The WebSocket close code and text to end with (a normal close unless set).
    close: Option<(CloseCode, &'static str)>,
    /// The socket failed: nothing more can be sent on it.
    broken: bool,
}

/// The WebSocket layer's bounds. A message carries one frame, so none may be larger than the largest
/// frame (nor may any fragment of one); its buffers stay small, since an idle connection should cost
/// little.
pub(crate) fn websocket_config(max_frame_body: u32) -> WebSocketConfig {
    let largest = max_frame_body as usize + MAX_HEADER_LEN;
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        // Messages are handed over only while the layer is ready for more, so its buffer never holds
        // much more than a batch and a message; beyond this the client is not reading.
        .max_write_buffer_size(WRITE_BUFFER + 2 * largest)
        .max_message_size(Some(largest))
        .max_frame_size(Some(largest))
}

/// Runs one WebSocket connection: the TLS and WebSocket handshakes, then its session until it closes.
pub(crate) async fn serve(
    stream: std::net::TcpStream,
    slot: Slot,
    peer: Arc<Peer>,
    outbound: mpsc::Receiver<Outbound>,
    mut shutdown: watch::Receiver<bool>,
    endpoint: Arc<Endpoint>,
) {
    let shared = slot.shared.clone();
    let websocket = websocket_config(shared.secure_session_config.max_frame_body);
    let Some(ws) = crate::wss::establish(&endpoint, stream, &slot, &peer, &mut shutdown, websocket).await else {
        return;
    };
    let now = Instant::now();
    let session = Session::server(shared.secure_session_config.clone(), shared.keypair.clone(), now);
    let conn = Connection::new(slot, peer, session, now);
    let state = Box::new(Running {
        conn,
        ws,
        output: WriteBuffer::default(),
        unflushed: false,
        outbound,
        shutdown,
        shutting_down: false,
        close: None,
        broken: false,
    });
    run(state).await
}

/// Runs the connection on the shard this is polled on: registers its socket with this shard's loop,
/// answers the join that moved it here (if it moved), and carries on.
fn run_here(mut state: Box<Running>, join: Option<Move>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if let Err(error) = state.ws.get_mut().socket_mut().attach() {
            let Running { conn, outbound, .. } = &mut *state;
            tracing::warn!(connection = conn.id, %error, "could not register the connection: closing it");
            conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "could not register the socket")));
            conn.depart(outbound);
            conn.finish();
            return;
        }
        if let Some(Move { request, encrypted, delivery, channel, .. }) = join {
            ops::handle(&mut state.conn, request, encrypted, delivery, channel);
        }
        run(state).await
    })
}

/// What one turn of the socket did.
enum Io {
    /// Frames of this many bytes went to the WebSocket layer.
    Wrote(usize),
    Message(Message),
    ReadFailed(tungstenite::Error),
    WriteFailed(tungstenite::Error),
    /// The client closed (after the WebSocket close, or without one).
    Ended,
}

/// Hands the output's frames to the WebSocket layer while it takes them (a binary message each),
/// flushes once all are handed over, and, when `readable`, reads the next message.
fn exchange<'a>(
    ws: &'a mut Ws,
    output: &'a mut WriteBuffer,
    unflushed: &'a mut bool,
    readable: bool,
) -> impl Future<Output = Io> + 'a {
    poll_fn(move |cx| {
        let mut wrote = 0;
        while output.len() > 0 {
            match Pin::new(&mut *ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Io::WriteFailed(error)),
                Poll::Pending => break,
            }
            // The session emits whole frames only; anything else would be its bug, and is dropped
            // rather than sent as a message that is not a frame.
            let Some(frame) = frames(output.pending()).next() else {
                tracing::error!(bytes = output.len(), "session output is not whole frames: dropped");
                output.advance(output.len());
                break;
            };
            let len = frame.len();
            let message = Message::Binary(Bytes::copy_from_slice(frame));
            if let Err(error) = Pin::new(&mut *ws).start_send(message) {
                return Poll::Ready(Io::WriteFailed(error));
            }
            output.advance(len);
            wrote += len;
            *unflushed = true;
        }
        if *unflushed && output.len() == 0 {
            match Pin::new(&mut *ws).poll_flush(cx) {
                Poll::Ready(Ok(())) => *unflushed = false,
                Poll::Ready(Err(error)) => return Poll::Ready(Io::WriteFailed(error)),
                Poll::Pending => {}
            }
        }
        if wrote > 0 {
            return Poll::Ready(Io::Wrote(wrote));
        }
        if readable {
            match Pin::new(&mut *ws).poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => return Poll::Ready(Io::Message(message)),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Io::ReadFailed(error)),
                Poll::Ready(None) => return Poll::Ready(Io::Ended),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
}

/// Ends the connection for a message that is no sealnet frame: a Disconnect saying why, then a
/// WebSocket close with `code`.
fn refuse(
    conn: &mut Connection,
    close: &mut Option<(CloseCode, &'static str)>,
    refusal: usize,
    code: CloseCode,
    why: &'static str,
) {
    conn.shared.shards.counters().wss_refused[refusal].add(1);
    tracing::info!(connection = conn.id, why, "WebSocket message refused: disconnecting");
    *close = Some((code, why));
    conn.session.disconnect(DisconnectReason::ProtocolViolation, why);
}

/// Takes one message the client sent.
fn on_message(conn: &mut Connection, close: &mut Option<(CloseCode, &'static str)>, message: Message) {
    let now = Instant::now();
    let len = message.len();
    conn.limits.bytes.spend(len as f64, now);
    conn.shared.shards.counters().bytes_in.add(len as u64);
    match message {
        Message::Binary(frame) => conn.session.receive_message(&frame, now),
        Message::Text(_) => refuse(
            conn,
            close,
            wss_refused::TEXT,
            CloseCode::Unsupported,
            "a text WebSocket message: sealnet frames travel in binary messages",
        ),
        // The client's close: it said goodbye, or just goes, as at the end of a TCP stream.
        Message::Close(_) => conn.session.transport_closed(None),
        // Pings are answered by the WebSocket layer; pongs and raw frames need nothing.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
    }
}

/// The WebSocket layer could not read a message.
fn on_read_failure(
    conn: &mut Connection,
    close: &mut Option<(CloseCode, &'static str)>,
    broken: &mut bool,
    error: tungstenite::Error,
) {
    use tungstenite::Error;
    match error {
        Error::Capacity(_) => refuse(
            conn,
            close,
            wss_refused::TOO_LARGE,
            CloseCode::Size,
            "a WebSocket message larger than the largest sealnet frame",
        ),
        Error::Utf8(_) => refuse(
            conn,
            close,
            wss_refused::TEXT,
            CloseCode::Unsupported,
            "a text WebSocket message: sealnet frames travel in binary messages",
        ),
        // The client closed its socket without a WebSocket close: it went away.
        Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => conn.session.transport_closed(None),
        Error::Protocol(problem) => {
            tracing::debug!(connection = conn.id, %problem, "WebSocket protocol violation");
            refuse(
                conn,
                close,
                wss_refused::WEBSOCKET_PROTOCOL,
                CloseCode::Protocol,
                "a WebSocket frame against RFC 6455 (unmasked, fragmented control frame, reserved bits or opcode)",
            )
        }
        Error::ConnectionClosed | Error::AlreadyClosed => conn.session.transport_closed(None),
        _ => {
            *broken = true;
            conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "read failed")));
        }
    }
}

/// Runs a connection on this shard until it is closed or moves to another shard.
async fn run(mut state: Box<Running>) {
    let shared = state.conn.shared.clone();
    let id = state.conn.id;
    let peer = state.conn.peer.clone();
    // One timer for the connection's life on this shard, moved to each new deadline.
    let sleep = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(sleep);

    loop {
        let Running { conn, ws, output, unflushed, outbound, shutdown, shutting_down, close, broken } = &mut *state;
        conn.handle_session_events();
        output.take_from(&mut conn.session);
        if conn.session.wants_close() || conn.session.is_closed() {
            break;
        }
        if let Some(join) = conn.moving.take() {
            match ws.get_mut().socket_mut().detach() {
                Ok(()) => {
                    tracing::debug!(connection = id, shard = join.shard, "moving to the room's shard");
                    shared.shards.spawn(join.shard, run_here(state, Some(join)));
                }
                Err(error) => {
                    tracing::warn!(connection = id, %error, "could not move the connection: closing it");
                    conn.session.transport_closed(Some((StatusCode::ExceptionOnReceive, "could not move the socket")));
                    conn.depart(outbound);
                    conn.finish();
                }
            }
            return;
        }
        let unsent = output.len();
        let Some(Turn { readable, timer, authenticating, matchmaking }) = conn.turn(unsent) else { continue };
        // Every message counts against the task's turn, so a client that always has more to read does
        // not keep the others of its shard waiting.
        tokio::task::consume_budget().await;
        if let Some(at) = timer {
            if sleep.deadline().into_std() != at {
                sleep.as_mut().reset(at.into());
            }
        }
        tokio::select! {
            io = exchange(ws, output, unflushed, readable) => match io {
                Io::Wrote(bytes) => shared.shards.counters().bytes_out.add(bytes as u64),
                Io::Message(message) => on_message(conn, close, message),
                Io::ReadFailed(error) => on_read_failure(conn, close, broken, error),
                Io::WriteFailed(tungstenite::Error::WriteBufferFull(_)) => {
                    conn.on_kicked(DisconnectReason::SlowConsumer, "output full: not reading fast enough")
                }
                Io::WriteFailed(_) => {
                    *broken = true;
                    conn.session.transport_closed(Some((StatusCode::SendError, "write failed")));
                }
                Io::Ended => conn.session.transport_closed(None),
            },
            item = outbound.recv(), if unsent < OUTBOUND_HIGH_WATER => {
                if let Some(item) = item {
                    let now = Instant::now();
                    let released = conn.deliver(item, now) + conn.drain_queue(outbound, unsent, now);
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

    let Running { conn, ws, output, outbound, close, broken, .. } = &mut *state;
    conn.depart(outbound);
    if !*broken {
        output.take_from(&mut conn.session);
        let _ = tokio::time::timeout(FLUSH_LIMIT, close_gracefully(ws, output, *close, &shared.shards)).await;
    }
    if conn.session.wants_close() {
        conn.session.transport_closed(None);
    }
    conn.finish();
}

/// Sends the final frames and the WebSocket close, waits for the client's close (dropping what it
/// still sends), then closes TLS and the socket, reading until the client closes its side too, so the
/// close does not turn into a reset that could discard the final frames before the client reads them.
async fn close_gracefully(ws: &mut Ws, output: &mut WriteBuffer, close: Option<(CloseCode, &str)>, shards: &Shards) {
    loop {
        let next = frames(output.pending()).next().map(Bytes::copy_from_slice);
        let Some(frame) = next else { break };
        let len = frame.len();
        if ws.feed(Message::Binary(frame)).await.is_err() {
            return;
        }
        output.advance(len);
        shards.counters().bytes_out.add(len as u64);
    }
    let (code, reason) = close.unwrap_or((CloseCode::Normal, ""));
    // Refused when the client closed first; its close's answer, queued already, still goes out.
    if ws.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await.is_err() {
        let _ = ws.flush().await;
    }
    while let Some(Ok(_)) = ws.next().await {}
    crate::wss::close_link(ws.get_mut()).await;
}
