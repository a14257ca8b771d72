//! The seam between the peer and its byte transport. TCP is the transport today; the datagram (UDP)
//! and WebSocket-over-TLS transports plug in here with the same frame format.

use std::io::{self, Read, Write};

/// Which transport a peer uses (Photon's `ConnectionProtocol` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TransportKind {
    Tcp = 1,
}

/// A connected byte stream the I/O thread can poll.
pub trait Transport: Read + Write + mio::event::Source + Send {
    /// Closes the write side after the last frame, so the server sees a clean end of stream.
    fn close(&mut self);
}

impl Transport for mio::net::TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// Whether a non-blocking TCP connect has completed; an error if it failed.
pub(crate) fn connect_finished(stream: &mio::net::TcpStream) -> io::Result<bool> {
    if let Some(error) = stream.take_error()? {
        return Err(error);
    }
    match stream.peer_addr() {
        Ok(_) => {
            stream.set_nodelay(true)?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(error) => Err(error),
    }
}

/// A host and port to connect to, resolved on the I/O thread so name lookups never block the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses "host:port" or "[v6]:port".
    pub fn parse(address: &str) -> Option<Target> {
        let (host, port) = address.rsplit_once(':')?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() || host.contains(char::is_whitespace) {
            return None;
        }
        Some(Target { host: host.to_owned(), port: port.parse().ok()? })
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn addresses_parse() {
        assert_eq!(Target::parse("127.0.0.1:4530"), Some(Target { host: "127.0.0.1".into(), port: 4530 }));
        assert_eq!(Target::parse("[::1]:9"), Some(Target { host: "::1".into(), port: 9 }));
        assert_eq!(Target::parse("game.example:80"), Some(Target { host: "game.example".into(), port: 80 }));
        for bad in ["", "nohost", ":80", "host:", "host:99999", "a b:1"] {
            assert_eq!(Target::parse(bad), None, "{bad}");
        }
    }
}
