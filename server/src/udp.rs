//! The UDP listener: one socket, read on the runtime that called `serve` in batches (`recvmmsg`), whose
//! datagrams go to their connection's task by connection id. A datagram for no known connection meets the stateless
//! endpoint: an Initial without a valid cookie gets a Retry (nothing is kept or allocated for it), one
//! with a valid cookie is admitted like a TCP accept and starts a connection on a shard.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use sealnet::protocol::datagram::{parse_header, Endpoint, Incoming, KIND_DATA, MAX_UDP_PAYLOAD, RETRY_LEN};
use std::os::fd::AsRawFd;

use tokio::io::Interest;
use tokio::sync::{mpsc, watch};

use crate::connection;
use crate::limits::Source;
use crate::metrics::udp as outcome;
use crate::server::Shared;
use crate::udp_batch::RecvBatch;

/// Datagrams waiting for one connection's task; more are dropped (and counted), as a full socket
/// buffer would drop them.
const INBOX: usize = 256;

/// One received datagram, on its way to its connection.
pub(crate) struct Datagram {
    pub(crate) from: SocketAddr,
    pub(crate) bytes: Vec<u8>,
}

/// Removes a connection id from the listener's table when its connection ends; the generation tells
/// this connection's entry from a newer one with the same id.
pub(crate) struct Departure {
    connection_id: u64,
    generation: u64,
    notify: mpsc::UnboundedSender<(u64, u64)>,
}

impl Drop for Departure {
    fn drop(&mut self) {
        let _ = self.notify.send((self.connection_id, self.generation));
    }
}

/// A connection the listener routes to.
struct Route {
    generation: u64,
    inbox: mpsc::Sender<Datagram>,
}

/// Binds the UDP socket with deliberate kernel buffers.
pub(crate) fn bind(address: SocketAddr, buffer_bytes: usize) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(address)?;
    socket.set_nonblocking(true)?;
    set_buffers(&socket, buffer_bytes);
    Ok(socket)
}

/// Asks for `bytes` of receive and send buffer (the kernel may cap it at `net.core.*mem_max`; as
/// root the FORCE variants pass the cap).
fn set_buffers(socket: &UdpSocket, bytes: usize) {
    use std::os::fd::AsRawFd;
    let value = bytes.min(i32::MAX as usize) as libc::c_int;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE, libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: a valid socket and a pointer to a c_int of the length given.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// Reads datagrams until the server stops, routing each to its connection or the endpoint.
pub(crate) async fn serve(socket: UdpSocket, shared: Arc<Shared>, disconnect: watch::Receiver<bool>) {
    let sender = Arc::new(match socket.try_clone() {
        Ok(sender) => sender,
        Err(error) => return tracing::error!(%error, "could not use the UDP socket"),
    });
    let socket = match tokio::net::UdpSocket::from_std(socket) {
        Ok(socket) => socket,
        Err(error) => return tracing::error!(%error, "could not register the UDP socket"),
    };
    let endpoint = match Endpoint::random(Instant::now()) {
        Ok(endpoint) => endpoint,
        Err(error) => return tracing::error!(%error, "no randomness for the UDP retry cookies"),
    };
    let (departures, mut departed) = mpsc::unbounded_channel();
    let mut router = Router {
        shared: shared.clone(),
        sender,
        endpoint,
        table: HashMap::new(),
        generations: 0,
        departures,
        disconnect,
    };
    // One more byte than the largest datagram, so that a longer one shows as truncated.
    let mut batch = RecvBatch::new(MAX_UDP_PAYLOAD + 1);
    let fd = socket.as_raw_fd();
    tracing::debug!(address = %socket.local_addr().map_or_else(|_| "?".into(), |a| a.to_string()), "UDP listening");
    loop {
        tokio::select! {
            ready = socket.readable() => {
                if ready.is_err() {
                    continue;
                }
                // Everything waiting, up to a batch per system call.
                // An error is nothing waiting after all, an ICMP error for an earlier send, or a
                // transient failure: nothing to do with it.
                if let Ok(count) = socket.try_io(Interest::READABLE, || batch.receive(fd)) {
                    for index in 0..count {
                        match batch.get(index) {
                            (datagram, Some(from), false) => router.route(datagram, from),
                            _ => shared.shards.counters().udp[outcome::DROPPED_MALFORMED].add(1),
                        }
                    }
                }
            }
            Some((connection_id, generation)) = departed.recv() => {
                // A newer connection may have taken the id since: its entry stays.
                if router.table.get(&connection_id).is_some_and(|route| route.generation == generation) {
                    router.table.remove(&connection_id);
                }
            }
        }
    }
}

/// Where each datagram goes: its connection, or the stateless endpoint.
struct Router {
    shared: Arc<Shared>,
    sender: Arc<UdpSocket>,
    endpoint: Endpoint,
    table: HashMap<u64, Route>,
    generations: u64,
    departures: mpsc::UnboundedSender<(u64, u64)>,
    disconnect: watch::Receiver<bool>,
}

impl Router {
    fn route(&mut self, datagram: &[u8], from: SocketAddr) {
        let counters = self.shared.shards.counters();
        let Some((_, connection_id)) = parse_header(datagram) else {
            counters.udp[outcome::DROPPED_MALFORMED].add(1);
            return;
        };
        if let Some(route) = self.table.get(&connection_id) {
            match route.inbox.try_send(Datagram { from, bytes: datagram.to_vec() }) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    counters.udp[outcome::DROPPED_INBOX_FULL].add(1);
                    return;
                }
                // Ended; its departure is on its way. A new Initial with this id may follow.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.table.remove(&connection_id);
                }
            }
        }
        let mut retry = [0u8; RETRY_LEN];
        match self.endpoint.on_unknown(datagram, from, Instant::now(), &mut retry) {
            Incoming::Retry { len, stale_cookie } => {
                counters.udp[outcome::RETRY_SENT].add(1);
                if stale_cookie {
                    counters.udp[outcome::STALE_COOKIE].add(1);
                }
                let _ = self.sender.send_to(&retry[..len], from);
            }
            Incoming::Accept { connection_id } => {
                self.generations += 1;
                let generation = self.generations;
                let departure = Departure { connection_id, generation, notify: self.departures.clone() };
                if let Some(inbox) = admit(&self.shared, &self.sender, connection_id, from, departure, &self.disconnect)
                {
                    let _ = inbox.try_send(Datagram { from, bytes: datagram.to_vec() });
                    self.table.insert(connection_id, Route { generation, inbox });
                }
            }
            // Data for a connection that ended (or never was).
            Incoming::Drop(_) if datagram[0] == KIND_DATA => counters.udp[outcome::DROPPED_UNKNOWN_CONNECTION].add(1),
            Incoming::Drop(_) => counters.udp[outcome::DROPPED_MALFORMED].add(1),
        }
    }
}

/// Admits a new UDP connection like a TCP accept (admission counts, a shard) and returns its inbox.
fn admit(
    shared: &Arc<Shared>,
    socket: &Arc<UdpSocket>,
    connection_id: u64,
    from: SocketAddr,
    departure: Departure,
    disconnect: &watch::Receiver<bool>,
) -> Option<mpsc::Sender<Datagram>> {
    // Draining or stopping: nobody new.
    if !shared.ready.load(Ordering::Relaxed) {
        return None;
    }
    let id = crate::server::next_connection_id();
    let source = Source::of(from.ip());
    let (peer, outbound) = connection::new_peer(shared, id);
    if let Err(refusal) = shared.admission.arrive(id, source, &peer) {
        tracing::debug!(address = %from, ?refusal, "UDP connection refused at once");
        return None;
    }
    shared.shards.counters().udp[outcome::CONNECTION_CREATED].add(1);
    tracing::debug!(connection = id, address = %from, "UDP connection");
    let slot = connection::Slot {
        shared: shared.clone(),
        id,
        source,
        address: from,
        admitted: false,
        _alive: shared.shards.connection_guard(),
    };
    let (inbox, datagrams) = mpsc::channel(INBOX);
    let task = connection::datagram::serve(
        socket.clone(),
        connection_id,
        from,
        datagrams,
        departure,
        slot,
        peer,
        outbound,
        disconnect.clone(),
    );
    shared.shards.spawn(shared.shards.for_new_connection(), task);
    Some(inbox)
}
