//! Finding and connecting to the server: name resolution off the I/O thread, then every resolved
//! address tried in turn, alternating IPv6 and IPv4, a new attempt starting while earlier ones are
//! still pending (RFC 8305, "happy eyeballs"), so one unreachable address does not fail the connect.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token, Waker};

use super::transport::Target;

/// How long an attempt runs alone before the next address is tried alongside it (RFC 8305 §5).
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Turns a host name and port into addresses. The default asks the system resolver; tests supply
/// their own to control the answer and its timing.
#[derive(Clone)]
pub struct Resolver(Arc<ResolveFn>);

type ResolveFn = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

impl Resolver {
    pub fn new(resolve: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static) -> Self {
        Resolver(Arc::new(resolve))
    }

    fn system() -> Self {
        Resolver::new(|host, port| (host, port).to_socket_addrs().map(Iterator::collect))
    }
}

impl Default for Resolver {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

/// A name lookup under way.
pub(crate) enum Lookup {
    Done(io::Result<Vec<SocketAddr>>),
    /// Running on a thread of its own, which wakes the I/O thread when done. Nobody joins that thread:
    /// a peer torn down meanwhile does not wait for the resolver, whose answer is then dropped.
    Pending(mpsc::Receiver<io::Result<Vec<SocketAddr>>>),
}

impl Lookup {
    pub fn start(resolver: &Resolver, target: &Target, waker: Arc<Waker>) -> Lookup {
        if let Ok(ip) = target.host.parse::<IpAddr>() {
            return Lookup::Done(Ok(vec![SocketAddr::new(ip, target.port)]));
        }
        let (sender, receiver) = mpsc::channel();
        let (resolver, host, port) = (resolver.clone(), target.host.clone(), target.port);
        let spawned = std::thread::Builder::new().name("sealnet-dns".into()).spawn(move || {
            let _ = sender.send((resolver.0)(&host, port));
            let _ = waker.wake();
        });
        match spawned {
            Ok(_) => Lookup::Pending(receiver),
            Err(error) => Lookup::Done(Err(error)),
        }
    }

    /// The answer, once there is one.
    pub fn poll(&mut self) -> Option<io::Result<Vec<SocketAddr>>> {
        match self {
            Lookup::Done(result) => Some(std::mem::replace(result, Ok(Vec::new()))),
            Lookup::Pending(receiver) => match receiver.try_recv() {
                Ok(result) => Some(result),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => {
                    Some(Err(io::Error::other("the resolver thread ended without an answer")))
                }
            },
        }
    }
}

/// Orders addresses for connection attempts: the families alternate, starting with the family of the
/// first address the resolver returned (its preference), each family keeping its own order.
pub(crate) fn interleave(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else { return addresses };
    let first_is_v6 = first.is_ipv6();
    let (preferred, other): (Vec<_>, Vec<_>) = addresses.into_iter().partition(|a| a.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(preferred.len() + other.len());
    let (mut preferred, mut other) = (preferred.into_iter(), other.into_iter());
    loop {
        match (preferred.next(), other.next()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// Connection attempts to a list of addresses, at most one new attempt per [`ATTEMPT_DELAY`], the
/// first to connect winning.
pub(crate) struct Attempts {
    addresses: Vec<SocketAddr>,
    next: usize,
    next_start: Instant,
    running: Vec<(Token, SocketAddr, TcpStream)>,
    errors: Vec<String>,
    first_token: usize,
}

impl Attempts {
    /// Attempts use tokens from `first_token` upwards, one per address.
    pub fn new(addresses: Vec<SocketAddr>, first_token: usize, now: Instant) -> Self {
        Attempts {
            addresses: interleave(addresses),
            next: 0,
            next_start: now,
            running: Vec::new(),
            errors: Vec::new(),
            first_token,
        }
    }

    /// Starts the next attempt when it is due (or when nothing is running).
    pub fn start_due(&mut self, registry: &Registry, now: Instant) {
        while self.next < self.addresses.len() && (now >= self.next_start || self.running.is_empty()) {
            let address = self.addresses[self.next];
            let token = Token(self.first_token + self.next);
            self.next += 1;
            self.next_start = now + ATTEMPT_DELAY;
            let started = TcpStream::connect(address).and_then(|mut stream| {
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                Ok(stream)
            });
            match started {
                Ok(stream) => self.running.push((token, address, stream)),
                Err(error) => self.errors.push(format!("{address}: {error}")),
            }
        }
    }

    /// Checks the attempts that saw readiness; returns the first that connected. Failed ones are
    /// dropped and their errors kept for the report.
    pub fn check(&mut self, ready: impl Fn(Token) -> bool) -> Option<TcpStream> {
        let mut index = 0;
        while index < self.running.len() {
            let (token, address, stream) = &mut self.running[index];
            if !ready(*token) {
                index += 1;
                continue;
            }
            match super::transport::connect_finished(stream) {
                Ok(true) => {
                    let (_, _, stream) = self.running.swap_remove(index);
                    return Some(stream);
                }
                Ok(false) => index += 1,
                Err(error) => {
                    self.errors.push(format!("{address}: {error}"));
                    self.running.swap_remove(index);
                }
            }
        }
        None
    }

    /// When the next attempt is due, if one remains.
    pub fn next_start(&self) -> Option<Instant> {
        (self.next < self.addresses.len()).then_some(self.next_start)
    }

    /// Every address was tried and none is still connecting.
    pub fn exhausted(&self) -> bool {
        self.next >= self.addresses.len() && self.running.is_empty()
    }

    /// What went wrong with each address, for the failure status.
    pub fn report(&self) -> String {
        if self.errors.is_empty() {
            return "no address to connect to".to_owned();
        }
        self.errors.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_alternate_starting_with_the_resolvers_first_choice() {
        let resolved = addresses(&["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1", "10.0.0.2:1"]);
        let ordered = addresses(&["[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"]);
        assert_eq!(interleave(resolved), ordered);
        let resolved = addresses(&["10.0.0.1:1", "[::1]:1"]);
        assert_eq!(interleave(resolved.clone()), resolved);
        assert_eq!(interleave(Vec::new()), Vec::new());
    }
}
