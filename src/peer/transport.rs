//! The seam between the peer and its transports: which one a connection uses, where it goes, and
//! the byte stream the TCP path drives. TCP carries the session's frames back to back; UDP carries
//! them in the datagrams of protocol version 3, whose link (in the core) acknowledges, orders and
//! retransmits; WSS carries one frame per binary WebSocket message over TLS (protocol version 4).

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
    /// WebSocket over TLS, protocol version 4: TLS protects every frame, so no key exchange runs and
    /// the Encrypt option is satisfied by the transport. The address is a `wss://host:port/path` URL.
    WebSocketSecure = 5,
}

impl TransportKind {
    /// The transport a Photon `ConnectionProtocol` number names, if this library has it (plain
    /// WebSocket, 4, is not offered: see [`WebSocketTarget::parse`]).
    pub fn from_number(number: u32) -> Option<TransportKind> {
        match number {
            0 => Some(TransportKind::Udp),
            1 => Some(TransportKind::Tcp),
            5 => Some(TransportKind::WebSocketSecure),
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

/// A WSS server: where to connect, and the URL the upgrade request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebSocketTarget {
    /// The host (an IPv6 address without brackets) and port, resolved like a TCP address. The host
    /// is also the name the server's certificate must carry.
    pub target: Target,
    /// The URL as the upgrade request sends it (normalised: lower-case host, the default port left
    /// out, at least "/" as path).
    pub url: String,
}

impl WebSocketTarget {
    /// Parses a `wss://host[:port][/path][?query]` URL, held to stricter rules than the URL
    /// standard: nothing is silently dropped (whitespace or control characters, which the standard
    /// strips, are refused), and what would be ignored or misleading is refused too: credentials
    /// (a WebSocket client sends none from the URL) and a fragment (never sent).
    ///
    /// Plain `ws://` is refused, even to a loopback host: a WebSocket session runs no key exchange
    /// and reports itself encrypted because TLS protects it, which plain WebSocket would make untrue.
    /// Native clients have TCP and UDP, with their own encryption, for development.
    pub fn parse(address: &str) -> Result<WebSocketTarget, String> {
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a WSS address must not contain whitespace or control characters".to_owned());
        }
        let url = url::Url::parse(address)
            .map_err(|error| format!("{address:?} is not a wss://host:port/path URL ({error})"))?;
        match url.scheme() {
            "wss" => {}
            "ws" => {
                return Err(format!(
                    "{address:?} is plain WebSocket (ws://), which this peer does not speak: use wss:// (TLS is \
                     what protects a WebSocket connection, which runs no key exchange)"
                ))
            }
            other => {
                return Err(format!("{address:?} has scheme {other:?}; a WSS address is a wss://host:port/path URL"))
            }
        }
        // The standard reads "wss:host", "wss:///host" and backslashes as "wss://host/"; a typo
        // there must not reach some other host.
        let written_out = address.get(..6).is_some_and(|scheme| scheme.eq_ignore_ascii_case("wss://"))
            && !address[6..].starts_with('/');
        if address.contains('\\') || !written_out {
            return Err(format!("{address:?} must be written wss://host[:port][/path]"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a WSS address must not carry a user name or password".to_owned());
        }
        if url.fragment().is_some() {
            return Err("a WSS address must not have a #fragment (it is never sent)".to_owned());
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(format!("{address:?} names no host")),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        if port == 0 {
            return Err("a WSS address must not have port 0".to_owned());
        }
        Ok(WebSocketTarget { target: Target { host, port }, url: url.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, TransportKind, WebSocketTarget};

    #[test]
    fn transports_have_photons_numbers() {
        for kind in [TransportKind::Udp, TransportKind::Tcp, TransportKind::WebSocketSecure] {
            assert_eq!(TransportKind::from_number(kind as u32), Some(kind));
        }
        assert_eq!(TransportKind::Udp as u8, 0);
        assert_eq!(TransportKind::Tcp as u8, 1);
        assert_eq!(TransportKind::WebSocketSecure as u8, 5);
        for reserved in [2, 3, 4, 6, u32::MAX] {
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

    #[test]
    fn wss_urls_parse_strictly() {
        let parsed = |address: &str| WebSocketTarget::parse(address).unwrap();
        let target = parsed("wss://Game.Example:4531/realtime?region=eu");
        assert_eq!(target.target, Target { host: "game.example".into(), port: 4531 });
        assert_eq!(target.url, "wss://game.example:4531/realtime?region=eu");
        let target = parsed("wss://game.example");
        assert_eq!((target.target.port, target.url.as_str()), (443, "wss://game.example/"));
        let target = parsed("wss://[::1]:9/");
        assert_eq!(target.target, Target { host: "::1".into(), port: 9 });
        assert_eq!(parsed("wss://127.0.0.1:9").target.host, "127.0.0.1");

        for (bad, why) in [
            ("", "not a wss://host:port/path URL"),
            ("127.0.0.1:4531", "not a wss://host:port/path URL"),
            ("game.example:4531", "scheme"),
            ("https://game.example/", "scheme"),
            ("ws://127.0.0.1:9/", "plain WebSocket"),
            ("wss://user:secret@game.example/", "user name or password"),
            ("wss://game.example/#room", "fragment"),
            ("wss://game.example:0/", "port 0"),
            ("wss://game.example:99999/", "not a wss://host:port/path URL"),
            (" wss://game.example/", "whitespace"),
            ("wss://game.example/a b", "whitespace"),
            ("wss://game.\texample/", "whitespace"),
            ("wss:///path", "must be written"),
            ("wss:game.example", "must be written"),
            ("wss:\\\\game.example\\", "must be written"),
        ] {
            let error = WebSocketTarget::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }
}
