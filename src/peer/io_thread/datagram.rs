//! The UDP path: one connected socket to the first resolved address that takes one, read one
//! datagram at a time and written one datagram per `poll_datagram`.
//!
//! The session's link does everything a stream gets from TCP (acknowledgements, retransmission,
//! ordering, pacing); this side only moves datagrams. Nothing the network says about a datagram ends
//! the connection here: ICMP port unreachable (ECONNREFUSED on a connected socket) may be forged or
//! stale and a server may be restarting, so only the session's own timeouts decide that the server is
//! gone.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Events, Interest, Registry, Token};

use super::{Driver, Failure, ReadTurn, READ_TURN};
use crate::protocol::status::StatusCode;

/// Room for the largest UDP payload, so no datagram is ever cut short by the read.
const RECEIVE_BUFFER: usize = 64 * 1024;
/// Datagrams read in one turn of the loop (besides [`READ_TURN`] bytes), so a flood of small ones
/// cannot keep requests and timers waiting.
const DATAGRAMS_PER_TURN: usize = 256;
/// Kernel buffer asked for each direction. The default (about 200 KiB on Linux) overflows when a
/// room's traffic arrives in a burst after a stall, and every datagram lost there costs the link a
/// retransmission round trip. The kernel may grant less (its maximum); that is not an error.
const SOCKET_BUFFER: usize = 1024 * 1024;

/// Opens the socket as soon as the addresses are known: a UDP connect only sets the peer address.
pub(super) struct Opening {
    token: Token,
    opened: Option<Wire>,
}

impl Opening {
    pub fn new(token: Token) -> Self {
        Opening { token, opened: None }
    }
}

impl super::Opening for Opening {
    type Wire = Wire;

    /// Takes the first address, in the resolver's order, that a socket can be connected to; a local
    /// refusal (no route for that family) moves on to the next, and the report names each.
    fn start(&mut self, addresses: Vec<SocketAddr>, registry: &Registry, _: Instant) -> Result<(), Failure> {
        let mut errors = Vec::new();
        for server in addresses {
            match Wire::open(server, registry, self.token) {
                Ok(wire) => {
                    self.opened = Some(wire);
                    return Ok(());
                }
                Err(error) => errors.push(format!("{server}: {error}")),
            }
        }
        Err((StatusCode::ExceptionOnConnect, format!("cannot open a UDP socket: {}", errors.join("; "))))
    }

    fn poll(&mut self, _: &Registry, _: &Events, _: Instant) -> Result<Option<Wire>, Failure> {
        Ok(self.opened.take())
    }

    fn next_due(&self) -> Option<Instant> {
        None
    }
}

/// A UDP socket connected to the server, so it receives from that address only.
pub(super) struct Wire {
    socket: UdpSocket,
    server: SocketAddr,
    /// Reused for every datagram received.
    incoming: Vec<u8>,
    /// The datagram being sent, kept when the socket's buffer is full until it is writable again.
    outgoing: Vec<u8>,
    unsent: bool,
}

impl Wire {
    fn open(server: SocketAddr, registry: &Registry, token: Token) -> io::Result<Wire> {
        let local: SocketAddr = match server {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let mut socket = UdpSocket::bind(local)?;
        set_buffer_sizes(&socket);
        socket.connect(server)?;
        registry.register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Wire { socket, server, incoming: vec![0; RECEIVE_BUFFER], outgoing: Vec::new(), unsent: false })
    }
}

impl super::Wire for Wire {
    fn read_turn(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<ReadTurn, Failure> {
        let (mut bytes, mut datagrams) = (0, 0);
        loop {
            match self.socket.recv(&mut self.incoming) {
                Ok(len) => {
                    if !driver.take_datagram(&mut self.incoming[..len], self.server, now) {
                        return Ok(ReadTurn::default());
                    }
                    bytes += len;
                    datagrams += 1;
                    if bytes >= READ_TURN || datagrams >= DATAGRAMS_PER_TURN {
                        return Ok(ReadTurn { ended: false, more: true });
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(ReadTurn::default()),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => driver.refused_datagrams += 1,
                Err(error) => {
                    let message = format!("receiving from {} over UDP: {error}", self.server);
                    return Err((StatusCode::ExceptionOnReceive, message));
                }
            }
        }
    }

    fn write(&mut self, driver: &mut Driver<'_>, now: Instant) -> Result<(), Failure> {
        loop {
            if !self.unsent {
                if !driver.session.poll_datagram(now, &mut self.outgoing) {
                    return Ok(());
                }
                self.unsent = true;
            }
            match self.socket.send(&self.outgoing) {
                Ok(_) => self.unsent = false,
                // Kept, and sent when the socket reports it is writable again.
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                // The report of an earlier datagram, returned instead of sending this one: this one
                // counts as lost, and the link sends its reliable content again.
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {
                    driver.refused_datagrams += 1;
                    self.unsent = false;
                }
                Err(error) if is_transient(&error) => self.unsent = false,
                Err(error) => {
                    let message = format!("sending to {} over UDP: {error}", self.server);
                    return Err((StatusCode::SendError, message));
                }
            }
        }
    }

    fn unsent(&self) -> usize {
        if self.unsent {
            self.outgoing.len()
        } else {
            0
        }
    }

    /// Nothing to say to the socket: the session's Disconnect datagrams were the goodbye.
    fn close(&mut self) {}
}

/// A send refused for lack of kernel buffers (ENOBUFS, which macOS and the BSDs return when an
/// interface queue is full) is a datagram lost on the way, not a broken socket.
fn is_transient(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ENOBUFS)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

/// Asks for [`SOCKET_BUFFER`] bytes of kernel buffer each way; a refusal leaves the defaults, which
/// work, only with more loss under bursts.
#[cfg(unix)]
fn set_buffer_sizes(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size = SOCKET_BUFFER as libc::c_int;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: the descriptor is the open socket `socket` owns, and the value is a c_int whose
        // size is passed with it, as setsockopt requires for these options.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

#[cfg(not(unix))]
fn set_buffer_sizes(_: &UdpSocket) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_socket_buffers_are_enlarged() {
        use std::os::fd::AsRawFd;
        let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let read = |option| {
            let mut value: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: an open socket, and a c_int with its length for the kernel to fill.
            let rc = unsafe {
                libc::getsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    option,
                    (&mut value as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            assert_eq!(rc, 0);
            value
        };
        let before = (read(libc::SO_RCVBUF), read(libc::SO_SNDBUF));
        set_buffer_sizes(&socket);
        let after = (read(libc::SO_RCVBUF), read(libc::SO_SNDBUF));
        // Linux doubles what it grants (bookkeeping) and caps it at net.core.*mem_max, which may be
        // below the default on a small machine: never smaller, larger wherever the cap allows.
        assert!(after.0 >= before.0 && after.1 >= before.1, "{before:?} -> {after:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_socket_opens_for_the_first_address_that_takes_one() {
        let poll = mio::Poll::new().unwrap();
        let start = |opening: &mut Opening, addresses: &[&str]| {
            let addresses = addresses.iter().map(|a| a.parse().unwrap()).collect();
            super::super::Opening::start(opening, addresses, poll.registry(), Instant::now())
        };
        // Linux refuses to connect a socket to the broadcast address without SO_BROADCAST.
        let mut opening = Opening::new(Token(1));
        start(&mut opening, &["255.255.255.255:9", "127.0.0.1:9"]).unwrap();
        let wire = opening.opened.take().expect("a socket");
        assert_eq!(wire.server, "127.0.0.1:9".parse().unwrap());
        assert_eq!(wire.socket.peer_addr().unwrap(), wire.server);

        let error = start(&mut Opening::new(Token(1)), &["255.255.255.255:9"]).unwrap_err();
        assert_eq!(error.0, StatusCode::ExceptionOnConnect);
        assert!(error.1.contains("255.255.255.255:9"), "{}", error.1);
    }
}
