//! The TCP path: connection attempts to every resolved address (see [`Attempts`]), then the byte
//! stream, read in chunks and written as far as the socket takes it.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Instant;

use mio::{Events, Registry};

use super::{Driver, Failure, ReadTurn, READ_TURN};
use crate::peer::connect::Attempts;
use crate::peer::transport::Transport;
use crate::protocol::session::Session;
use crate::protocol::status::StatusCode;

/// One read, fed to the session at once.
const READ_CHUNK: usize = 64 * 1024;

/// Connection attempts, once the addresses are known.
pub(super) struct Opening {
    first_token: usize,
    attempts: Option<Attempts>,
}

impl Opening {
    /// Attempts use tokens from `first_token` upwards, one per address.
    pub fn new(first_token: usize) -> Self {
        Opening { first_token, attempts: None }
    }
}

impl super::Opening for Opening {
    type Wire = Wire<mio::net::TcpStream>;

    fn start(&mut self, addresses: Vec<SocketAddr>, _: &Registry, now: Instant) -> Result<(), Failure> {
        self.attempts = Some(Attempts::new(addresses, self.first_token, now));
        Ok(())
    }

    fn poll(&mut self, registry: &Registry, events: &Events, now: Instant) -> Result<Option<Self::Wire>, Failure> {
        let Some(attempts) = self.attempts.as_mut() else { return Ok(None) };
        attempts.start_due(registry, now);
        if let Some(stream) = attempts.check(|token| events.iter().any(|event| event.token() == token)) {
            return Ok(Some(Wire::new(stream)));
        }
        if attempts.exhausted() {
            return Err((StatusCode::ExceptionOnConnect, format!("cannot connect: {}", attempts.report())));
        }
        Ok(None)
    }

    fn next_due(&self) -> Option<Instant> {
        self.attempts.as_ref().and_then(Attempts::next_start)
    }
}

/// A connected stream with the output taken from the session and not yet written.
pub(super) struct Wire<T> {
    stream: T,
    read_buffer: Vec<u8>,
    outgoing: Outgoing,
}

impl<T: Transport> Wire<T> {
    fn new(stream: T) -> Self {
        Wire { stream, read_buffer: vec![0; READ_CHUNK], outgoing: Outgoing::default() }
    }
}

impl<T: Transport> super::Wire for Wire<T> {
    /// Reads up to [`READ_TURN`] bytes, feeding each chunk to the session.
    fn read_turn(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<ReadTurn, Failure> {
        let mut total = 0;
        loop {
            match self.stream.read(&mut self.read_buffer) {
                Ok(0) => return Ok(ReadTurn { ended: true, more: false }),
                Ok(read) => {
                    if !driver.take_bytes(&self.read_buffer[..read], now) {
                        return Ok(ReadTurn::default());
                    }
                    total += read;
                    if total >= READ_TURN {
                        return Ok(ReadTurn { ended: false, more: true });
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(ReadTurn::default()),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err((StatusCode::ExceptionOnReceive, error.to_string())),
            }
        }
    }

    fn write(&mut self, driver: &mut Driver<'_>, _: Instant) -> Result<(), Failure> {
        self.outgoing.take_from(driver.session);
        self.outgoing.write_to(&mut self.stream)
    }

    fn unsent(&self) -> usize {
        self.outgoing.data.len() - self.outgoing.written
    }

    fn close(&mut self) {
        self.stream.close();
    }
}

/// Output taken from the session and not yet written.
#[derive(Default)]
struct Outgoing {
    data: Vec<u8>,
    written: usize,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.written == self.data.len()
    }

    fn take_from(&mut self, session: &mut Session) {
        if self.is_empty() {
            self.data.clear();
            self.written = 0;
        }
        session.take_output(&mut self.data);
    }

    /// Writes until done or the socket is full.
    fn write_to(&mut self, stream: &mut impl Transport) -> Result<(), Failure> {
        while !self.is_empty() {
            match stream.write(&self.data[self.written..]) {
                Ok(written) => self.written += written,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err((StatusCode::SendError, error.to_string())),
            }
        }
        Ok(())
    }
}
