//! The WSS path: the TCP connection attempts of the stream path, then a TLS handshake (rustls) and
//! the WebSocket upgrade (tungstenite), both non-blocking on the loop's socket, then one sealnet
//! frame per binary WebSocket message (protocol version 4).
//!
//! Nothing here blocks: every step runs as far as the socket allows and resumes on the next wake-up,
//! and the session's connect deadline bounds the whole opening (the loop enforces it while this
//! opening is under way), so a server that accepts TCP and then says nothing cannot hold the peer.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Events, Registry};
use rustls::{ClientConfig, ClientConnection};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::{ClientHandshake, Response};
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Bytes, Message, WebSocket};

use super::{Driver, Failure, ReadTurn, READ_TURN};
use crate::peer::connect::Attempts;
use crate::peer::tls::{self, Trust};
use crate::peer::transport::WebSocketTarget;
use crate::protocol::frame::{frames, MAX_HEADER_LEN};
use crate::protocol::status::StatusCode;

/// WebSocket bytes gathered before tungstenite writes them to TLS; every write turn flushes anyway,
/// so this only groups a turn's frames into fewer TLS records.
const WRITE_BUFFER: usize = 64 * 1024;
/// tungstenite's read buffer (allocated once per connection).
const READ_BUFFER: usize = 64 * 1024;

/// From the resolved addresses to an upgraded WebSocket: TCP, then TLS, then the upgrade.
pub(super) struct Opening {
    first_token: usize,
    server: WebSocketTarget,
    trust: Trust,
    /// The largest message the session may receive or send: a larger one is refused by tungstenite
    /// before it is buffered whole.
    max_message: usize,
    stage: Stage,
}

enum Stage {
    /// Waiting for the addresses.
    Resolving,
    Connecting {
        attempts: Attempts,
        config: Arc<ClientConfig>,
    },
    Tls(TlsStream),
    Upgrading(MidHandshake<ClientHandshake<TlsStream>>),
    /// Failed, or handed over to the loop: nothing more to do.
    Done,
}

/// Where a step of the upgrade left the opening.
enum Upgrade {
    Waiting(MidHandshake<ClientHandshake<TlsStream>>),
    Upgraded(WebSocket<TlsStream>),
}

impl Opening {
    /// Attempts use tokens from `first_token` upwards, one per address.
    pub fn new(first_token: usize, server: WebSocketTarget, trust: Trust, max_frame_body: u32) -> Self {
        // A message holds one frame: its body and the largest header.
        let max_message = max_frame_body as usize + MAX_HEADER_LEN;
        Opening { first_token, server, trust, max_message, stage: Stage::Resolving }
    }

    fn websocket_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .write_buffer_size(WRITE_BUFFER)
            .max_message_size(Some(self.max_message))
            .max_frame_size(Some(self.max_message))
    }

    /// Runs the stages as far as the socket allows; the WebSocket once upgraded.
    fn advance(&mut self, registry: &Registry, events: &Events, now: Instant) -> Result<Option<Wire>, Failure> {
        loop {
            let upgrade = match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Resolving => {
                    self.stage = Stage::Resolving;
                    return Ok(None);
                }
                Stage::Done => return Ok(None),
                Stage::Connecting { mut attempts, config } => {
                    attempts.start_due(registry, now);
                    if let Some(tcp) = attempts.check(|token| events.iter().any(|event| event.token() == token)) {
                        let name = tls::server_name(&self.server.target.host)
                            .map_err(|message| (StatusCode::ServerAddressInvalid, message))?;
                        let connection = ClientConnection::new(config, name)
                            .map_err(|error| (StatusCode::ExceptionOnConnect, format!("cannot start TLS: {error}")))?;
                        self.stage = Stage::Tls(TlsStream { connection, tcp });
                        continue;
                    }
                    if attempts.exhausted() {
                        return Err((StatusCode::ExceptionOnConnect, format!("cannot connect: {}", attempts.report())));
                    }
                    self.stage = Stage::Connecting { attempts, config };
                    return Ok(None);
                }
                Stage::Tls(mut stream) => {
                    if !stream.handshake(&self.trust, &self.server.target.host)? {
                        self.stage = Stage::Tls(stream);
                        return Ok(None);
                    }
                    let request = self.server.url.as_str().into_client_request().map_err(|e| self.refused(e))?;
                    let handshake = ClientHandshake::start(stream, request, Some(self.websocket_config()))
                        .map_err(|error| self.refused(error))?;
                    self.step(handshake.handshake())?
                }
                Stage::Upgrading(handshake) => self.step(handshake.handshake())?,
            };
            match upgrade {
                Upgrade::Waiting(handshake) => {
                    self.stage = Stage::Upgrading(handshake);
                    return Ok(None);
                }
                Upgrade::Upgraded(socket) => return Ok(Some(Wire::new(socket))),
            }
        }
    }

    fn step(
        &self,
        outcome: Result<(WebSocket<TlsStream>, Response), HandshakeError<ClientHandshake<TlsStream>>>,
    ) -> Result<Upgrade, Failure> {
        match outcome {
            Ok((socket, _)) => Ok(Upgrade::Upgraded(socket)),
            Err(HandshakeError::Interrupted(handshake)) => Ok(Upgrade::Waiting(handshake)),
            Err(HandshakeError::Failure(error)) => Err(self.refused(error)),
        }
    }

    /// Why the upgrade failed, in words that point at the likely cause.
    fn refused(&self, error: tungstenite::Error) -> Failure {
        let url = &self.server.url;
        let message = match error {
            tungstenite::Error::Http(response) => {
                format!("the server refused the WebSocket upgrade for {url}: HTTP {}", response.status())
            }
            tungstenite::Error::Io(error) if error.kind() == ErrorKind::UnexpectedEof => {
                format!("the server closed the connection during the WebSocket upgrade for {url}")
            }
            other => format!("the WebSocket upgrade for {url} failed: {other}"),
        };
        (StatusCode::ExceptionOnConnect, message)
    }
}

impl super::Opening for Opening {
    type Wire = Wire;

    /// Builds the TLS configuration here, on the I/O thread (the system's trust store is read from
    /// disk), and starts the TCP attempts.
    fn start(&mut self, addresses: Vec<SocketAddr>, _: &Registry, now: Instant) -> Result<(), Failure> {
        let config = self.trust.client_config()?;
        self.stage = Stage::Connecting { attempts: Attempts::new(addresses, self.first_token, now), config };
        Ok(())
    }

    fn poll(&mut self, registry: &Registry, events: &Events, now: Instant) -> Result<Option<Wire>, Failure> {
        self.advance(registry, events, now)
    }

    fn next_due(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Connecting { attempts, .. } => attempts.next_start(),
            _ => None,
        }
    }
}

/// TLS over the non-blocking socket: reads and writes return WouldBlock when the socket does, and
/// anything rustls has to send (records, alerts) goes out as the socket takes it.
pub(super) struct TlsStream {
    connection: ClientConnection,
    tcp: TcpStream,
}

impl TlsStream {
    /// Runs the TLS handshake as far as the socket allows: `true` once it is complete.
    fn handshake(&mut self, trust: &Trust, host: &str) -> Result<bool, Failure> {
        let broken = |error: io::Error| {
            (StatusCode::ExceptionOnConnect, format!("the TLS handshake with {host} failed: {error}"))
        };
        loop {
            if !self.connection.is_handshaking() {
                return Ok(true);
            }
            let mut progressed = false;
            if self.connection.wants_write() {
                match self.connection.write_tls(&mut self.tcp) {
                    Ok(_) => progressed = true,
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(error) => return Err(broken(error)),
                }
            }
            if self.connection.wants_read() {
                match self.connection.read_tls(&mut self.tcp) {
                    Ok(0) => {
                        let message = format!(
                            "{host} closed the connection during the TLS handshake (is this the server's WSS port?)"
                        );
                        return Err((StatusCode::ExceptionOnConnect, message));
                    }
                    Ok(_) => {
                        progressed = true;
                        if let Err(error) = self.connection.process_new_packets() {
                            // The alert rustls queued tells the server why; the socket may refuse it.
                            let _ = self.connection.write_tls(&mut self.tcp);
                            return Err(tls::failure(&error, trust, host));
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(error) => return Err(broken(error)),
                }
            }
            if !progressed {
                return Ok(false);
            }
        }
    }

    /// Sends what rustls holds until done or the socket is full (WouldBlock).
    fn write_pending(&mut self) -> io::Result<()> {
        while self.connection.wants_write() {
            match self.connection.write_tls(&mut self.tcp) {
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Sends what rustls holds as far as the socket takes it now; the rest goes with a later write.
    fn write_some(&mut self) -> io::Result<()> {
        match self.write_pending() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Ends the TLS session (close_notify), then the TCP stream's sending side, as far as the socket
    /// takes them now.
    fn close(&mut self) {
        self.connection.send_close_notify();
        let _ = self.write_pending();
        let _ = self.tcp.shutdown(Shutdown::Write);
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Records rustls still holds (a reply to a key update, the rest of an earlier write) go first.
        self.write_some()?;
        loop {
            match self.connection.reader().read(buf) {
                // 0 is the server's close_notify: a clean end of the stream.
                Ok(read) => return Ok(read),
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
            // Returns WouldBlock once the socket is drained; 0 at its end, after which the reader
            // above reports either the close_notify or UnexpectedEof.
            self.connection.read_tls(&mut self.tcp)?;
            if let Err(error) = self.connection.process_new_packets() {
                let _ = self.write_some();
                return Err(io::Error::new(ErrorKind::InvalidData, error));
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let written = self.connection.writer().write(buf)?;
            if written > 0 || buf.is_empty() {
                self.write_some()?;
                return Ok(written);
            }
            // rustls' buffer is full: make room, or report the socket full.
            self.write_pending()?;
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.connection.writer().flush()?;
        self.write_pending()
    }
}

/// An upgraded WebSocket: each binary message in is one frame for the session, each frame of the
/// session's output one binary message out.
pub(super) struct Wire {
    socket: WebSocket<TlsStream>,
    /// The session's output, cut into frames.
    output: Vec<u8>,
    /// Bytes handed to the WebSocket since its last complete flush: what the socket may not have
    /// taken yet (tungstenite does not say how much of its buffer is left).
    unflushed: usize,
}

impl Wire {
    fn new(socket: WebSocket<TlsStream>) -> Self {
        Wire { socket, output: Vec::new(), unflushed: 0 }
    }

    fn flush(&mut self) -> Result<(), Failure> {
        match self.socket.flush() {
            Ok(()) => {
                self.unflushed = 0;
                Ok(())
            }
            Err(tungstenite::Error::Io(error)) if error.kind() == ErrorKind::WouldBlock => Ok(()),
            // The close handshake is over: nothing more can be sent, and the read side ends the turn.
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                self.unflushed = 0;
                Ok(())
            }
            Err(error) => Err((StatusCode::SendError, format!("sending over WSS: {error}"))),
        }
    }
}

impl super::Wire for Wire {
    /// Reads messages until the socket is drained or [`READ_TURN`] bytes were read.
    fn read_turn(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<ReadTurn, Failure> {
        let mut total = 0;
        loop {
            match self.socket.read() {
                Ok(Message::Binary(message)) => {
                    if !driver.take_message(&message, now) {
                        return Ok(ReadTurn::default());
                    }
                    total += message.len();
                    if total >= READ_TURN {
                        return Ok(ReadTurn { ended: false, more: true });
                    }
                }
                Ok(Message::Text(_)) => {
                    let message = "the server sent a text WebSocket message; sealnet frames travel in binary messages";
                    return Err((StatusCode::ExceptionOnReceive, message.to_owned()));
                }
                // Pongs are answered by tungstenite (sent with the next write or read); a Close is
                // answered likewise, and the read after it reports the end.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_)) => {}
                Err(tungstenite::Error::Io(error)) if error.kind() == ErrorKind::WouldBlock => {
                    return Ok(ReadTurn::default())
                }
                Err(tungstenite::Error::Io(error)) if error.kind() == ErrorKind::Interrupted => {}
                // The end of the stream, cleanly or not (many servers close TCP without close_notify
                // or a Close frame): the session knows whether it expected it.
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Ok(ReadTurn { ended: true, more: false })
                }
                Err(tungstenite::Error::Io(error)) if error.kind() == ErrorKind::UnexpectedEof => {
                    return Ok(ReadTurn { ended: true, more: false })
                }
                Err(tungstenite::Error::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake)) => {
                    return Ok(ReadTurn { ended: true, more: false })
                }
                Err(error) => return Err((StatusCode::ExceptionOnReceive, format!("receiving over WSS: {error}"))),
            }
        }
    }

    fn write(&mut self, driver: &mut Driver<'_>, _: Instant) -> Result<(), Failure> {
        self.output.clear();
        driver.session.take_output(&mut self.output);
        if !self.socket.can_write() {
            // The server closed the WebSocket: what the session still sends has nowhere to go.
            return self.flush();
        }
        for frame in frames(&self.output) {
            match self.socket.write(Message::Binary(Bytes::copy_from_slice(frame))) {
                Ok(()) => {}
                // The message is in tungstenite's buffer (its bound is unlimited): the socket is full.
                Err(tungstenite::Error::Io(error)) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Err((StatusCode::SendError, format!("sending over WSS: {error}"))),
            }
            self.unflushed += frame.len();
        }
        // Always: pongs and a Close reply tungstenite queued while reading go out here too.
        self.flush()
    }

    fn unsent(&self) -> usize {
        self.unflushed
    }

    /// A WebSocket Close (Normal), then TLS close_notify and the end of the TCP stream; the session's
    /// Disconnect went before them.
    fn close(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
        self.socket.get_mut().close();
    }
}
