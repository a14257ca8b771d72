//! The seam between the peer and its transports: which one a connection uses, and the byte stream
//! the TCP path drives. TCP carries the session's frames back to back; UDP carries them in the
//! datagrams of protocol version 3, whose link (in the core) acknowledges, orders and retransmits.
//! WebSocket over TLS plugs in here later, as another stream.

use std::io::{self, Read, Write};

/// Which transport a connection uses (Photon's `ConnectionProtocol` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TransportKind {
    /// UDP, protocol version 3: delivery modes and channels apply, the key exchange is always
    /// automatic and no operation travels unauthenticated.
    Udp = 0,
    /// TCP, protocol versions 1 and 2: everything is reliable and ordered.
    Tcp = 1,
}

impl TransportKind {
    /// The transport a Photon `ConnectionProtocol` number names, if this library has it (WebSocket,
    /// 4, and WebSocketSecure, 5, not yet).
    pub fn from_number(number: u32) -> Option<TransportKind> {
        match number {
            0 => Some(TransportKind::Udp),
            1 => Some(TransportKind::Tcp),
            _ => None,
        }
    }
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
    use super::{Target, TransportKind};

    #[test]
    fn transports_have_photons_numbers() {
        for kind in [TransportKind::Udp, TransportKind::Tcp] {
            assert_eq!(TransportKind::from_number(kind as u32), Some(kind));
        }
        assert_eq!(TransportKind::Udp as u8, 0);
        assert_eq!(TransportKind::Tcp as u8, 1);
        for reserved in [2, 3, 4, 5, u32::MAX] {
            assert_eq!(TransportKind::from_number(reserved), None, "{reserved}");
        }
    }

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
