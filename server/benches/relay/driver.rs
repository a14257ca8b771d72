//! The sealnet load driver: sessions driven directly on non-blocking sockets, all on one thread, in
//! the same shape as the ENet driver (`enet_reference.c`): the same events, windows, rates, output
//! lines and checks.
//!
//! Over TCP each client is a stream carrying a stream-mode session. Over UDP each client is a
//! connected non-blocking `UdpSocket` carrying a datagram-mode session (protocol version 3), whose
//! timers (acknowledgement delay, loss detection, probes, pings) the driver runs every millisecond,
//! as the ENet driver services every host every few milliseconds for ENet's own timers.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::datagram::{DatagramConfig, MAX_UDP_PAYLOAD};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, Transport};
use sealnet::protocol::status::{op_code, DisconnectReason};

/// Bytes of application data per event, as in the ENet driver.
pub const EVENT_BYTES: usize = 128;
const EVENT_CODE: u8 = 1;
const RECEIVERS_ALL: i32 = 1;
/// Latency histogram, as in the ENet driver: 100 ns buckets up to 100 ms, then 100 µs buckets up to
/// 10 s (the last takes everything above), so that a lossy link's retransmissions are measured too.
const FINE_NS: u64 = 100;
const FINE_BUCKETS: usize = 1_000_000;
const COARSE_NS: u64 = 100_000;
const BUCKETS: usize = FINE_BUCKETS + 99_000;
/// How long the driver waits, after its window, for everything sent to reach every room member.
const DRAIN: Duration = Duration::from_secs(10);
/// How often the UDP driver runs the sessions' timers.
const TIMER_SWEEP: Duration = Duration::from_millis(1);
/// Kernel buffers of each UDP client socket: ENet's own choice for its hosts (256 KiB).
const UDP_BUFFER_BYTES: libc::c_int = 256 * 1024;
const APP_ID: &str = "bench";

/// How the driver's clients reach the server, and how they send their events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Stream sessions over TCP, events encrypted.
    Tcp,
    /// Datagram sessions over UDP, events reliable on channel 0, encrypted or only authenticated.
    Udp { encrypt: bool },
}

impl Wire {
    pub fn parse(name: &str) -> Option<Wire> {
        match name {
            "tcp" => Some(Wire::Tcp),
            "udp" => Some(Wire::Udp { encrypt: true }),
            "udp-plain" => Some(Wire::Udp { encrypt: false }),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Wire::Tcp => "tcp",
            Wire::Udp { encrypt: true } => "udp",
            Wire::Udp { encrypt: false } => "udp-plain",
        }
    }

    fn event_options(self) -> SendOptions {
        match self {
            Wire::Tcp => SendOptions::ENCRYPTED,
            Wire::Udp { encrypt } => SendOptions { encrypt, delivery: Delivery::Reliable, channel: 0 },
        }
    }

    fn is_udp(self) -> bool {
        matches!(self, Wire::Udp { .. })
    }

    fn session_config(self) -> SessionConfig {
        match self {
            Wire::Tcp => SessionConfig::default(),
            Wire::Udp { .. } => {
                SessionConfig { transport: Transport::Datagram(DatagramConfig::default()), ..SessionConfig::default() }
            }
        }
    }
}

/// A client's socket.
enum Socket {
    Tcp(TcpStream),
    /// Connected to the server (or to the lossy link's relay in front of it), which is `from` for
    /// every datagram received.
    Udp(UdpSocket, SocketAddr),
}

enum Got {
    Some,
    Empty,
    Closed,
}

/// One client connection: its socket and its session.
struct Conn {
    socket: Socket,
    session: Session,
}

impl Conn {
    fn open(address: SocketAddr, wire: Wire) -> std::io::Result<Conn> {
        let socket = match wire {
            Wire::Tcp => {
                let stream = TcpStream::connect(address)?;
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                Socket::Tcp(stream)
            }
            Wire::Udp { .. } => {
                let local: SocketAddr =
                    if address.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { "[::]:0".parse().unwrap() };
                let socket = UdpSocket::bind(local)?;
                socket.connect(address)?;
                socket.set_nonblocking(true)?;
                set_buffers(&socket);
                Socket::Udp(socket, address)
            }
        };
        let mut conn = Conn { socket, session: Session::client(wire.session_config(), Instant::now()) };
        conn.start()?;
        Ok(conn)
    }

    /// Begins a connection attempt on this socket with a fresh session (its first datagram or bytes
    /// go out with the next flush).
    fn start(&mut self) -> std::io::Result<()> {
        let now = Instant::now();
        let config = self.session.config().clone();
        self.session = Session::client(config, now);
        self.session.connect(APP_ID, "bench-relay", now).map_err(std::io::Error::other)
    }

    fn fd(&self) -> RawFd {
        match &self.socket {
            Socket::Tcp(stream) => stream.as_raw_fd(),
            Socket::Udp(socket, _) => socket.as_raw_fd(),
        }
    }

    /// Whether the driver must wait for room to write (a UDP send never waits: a datagram the kernel
    /// refuses is dropped, and the session's link sends it again if it mattered).
    fn wants_write(&self) -> bool {
        matches!(self.socket, Socket::Tcp(_)) && !self.session.pending_output().is_empty()
    }

    /// Writes what the session has; false when the connection failed.
    fn flush(&mut self, out: &mut Vec<u8>) -> bool {
        let session = &mut self.session;
        match &mut self.socket {
            Socket::Tcp(stream) => {
                while !session.pending_output().is_empty() {
                    match stream.write(session.pending_output()) {
                        Ok(0) => return false,
                        Ok(written) => session.consume_output(written),
                        Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
                        Err(error) if error.kind() == ErrorKind::Interrupted => {}
                        Err(_) => return false,
                    }
                }
                true
            }
            Socket::Udp(socket, _) => {
                let now = Instant::now();
                while session.poll_datagram(now, out) {
                    match socket.send(out) {
                        Ok(_) => {}
                        // A full buffer, or the ICMP error of an earlier datagram: this one is lost.
                        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::ConnectionRefused) => {}
                        Err(error) if error.kind() == ErrorKind::Interrupted => {}
                        Err(_) => return false,
                    }
                }
                true
            }
        }
    }

    /// Reads one read's worth (TCP) or one datagram (UDP) into the session.
    fn read_some(&mut self, buffer: &mut [u8]) -> Got {
        let session = &mut self.session;
        loop {
            let error = match &mut self.socket {
                Socket::Tcp(stream) => match stream.read(buffer) {
                    Ok(0) => return Got::Closed,
                    Ok(read) => {
                        session.receive(&buffer[..read], Instant::now());
                        return Got::Some;
                    }
                    Err(error) => error,
                },
                Socket::Udp(socket, from) => match socket.recv(buffer) {
                    Ok(len) => {
                        session.receive_datagram(&mut buffer[..len], *from, Instant::now());
                        return Got::Some;
                    }
                    // The ICMP error of an earlier datagram (the server was not there yet).
                    Err(error) if error.kind() == ErrorKind::ConnectionRefused => continue,
                    Err(error) => error,
                },
            };
            match error.kind() {
                ErrorKind::WouldBlock => return Got::Empty,
                ErrorKind::Interrupted => {}
                _ => return Got::Closed,
            }
        }
    }

    /// Reads everything there is into the session; false when the connection closed.
    fn read(&mut self, buffer: &mut [u8]) -> bool {
        loop {
            match self.read_some(buffer) {
                Got::Some => {}
                Got::Empty => return true,
                Got::Closed => return false,
            }
        }
    }

    /// Runs the session's timers if one is due; true if it ran.
    fn run_timers(&mut self, now: Instant) -> bool {
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
            return true;
        }
        false
    }
}

/// Receive and send buffers as ENet sizes its own (as root the FORCE variants pass the sysctl caps).
fn set_buffers(socket: &UdpSocket) {
    for option in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: a valid socket and a pointer to a c_int of the length given.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&UDP_BUFFER_BYTES as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

struct Client {
    conn: Conn,
    room: usize,
    slot: usize,
    sent: u64,
    echoed: u64,
    next_send: Instant,
    /// Next sequence number expected from each member of the room, and how many arrived.
    expected: Vec<u64>,
    received: Vec<u64>,
    joined: bool,
}

#[derive(Default)]
struct Totals {
    deliveries: u64,
    duplicates: u64,
    reordered: u64,
    measuring: bool,
    histogram: Vec<u32>,
}

/// A RaiseEvent body encoded once; each send patches the sender, sequence number and time into
/// the event data, so the driver spends its time on the wire, not on encoding.
struct Template {
    body: Vec<u8>,
    data_at: usize,
}

impl Template {
    fn new() -> Template {
        let marker = [0xA5u8; EVENT_BYTES];
        let mut params = Params::new();
        params.insert(244, EVENT_CODE as i32);
        params.insert(245, Value::Bytes(marker.to_vec()));
        params.insert(246, RECEIVERS_ALL);
        let mut body = Vec::new();
        OperationRequest::encode_parts(op_code::RAISE_EVENT, &params, &mut body);
        let data_at = body.windows(EVENT_BYTES).position(|w| w == marker).expect("the data is in the body");
        body[data_at..data_at + EVENT_BYTES].fill(0);
        Template { body, data_at }
    }

    fn stamp(&mut self, sender: u32, seq: u64, sent_ns: u64) -> &[u8] {
        let data = &mut self.body[self.data_at..];
        data[..4].copy_from_slice(&sender.to_le_bytes());
        data[8..16].copy_from_slice(&seq.to_le_bytes());
        data[16..24].copy_from_slice(&sent_ns.to_le_bytes());
        &self.body
    }
}

/// Waits up to `timeout` for input on any of `fds` (or room to write, where asked); returns the
/// indexes that are ready.
fn wait(fds: &mut [libc::pollfd], timeout: Duration, ready: &mut Vec<usize>) {
    let timeout = libc::timespec { tv_sec: timeout.as_secs() as _, tv_nsec: timeout.subsec_nanos() as _ };
    // SAFETY: `fds` is a valid array of pollfd for the length given; the timeout lives across the call.
    unsafe { libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &timeout, std::ptr::null()) };
    ready.clear();
    ready.extend(fds.iter().enumerate().filter(|(_, fd)| fd.revents != 0).map(|(index, _)| index));
}

fn bucket(latency_ns: u64) -> usize {
    let fine_end = FINE_BUCKETS as u64 * FINE_NS;
    if latency_ns < fine_end {
        (latency_ns / FINE_NS) as usize
    } else {
        (FINE_BUCKETS + ((latency_ns - fine_end) / COARSE_NS) as usize).min(BUCKETS - 1)
    }
}

fn bucket_middle_ns(bucket: usize) -> u64 {
    if bucket < FINE_BUCKETS {
        bucket as u64 * FINE_NS + FINE_NS / 2
    } else {
        FINE_BUCKETS as u64 * FINE_NS + (bucket - FINE_BUCKETS) as u64 * COARSE_NS + COARSE_NS / 2
    }
}

fn percentile_us(histogram: &[u32], total: u64, p: f64) -> f64 {
    let rank = (total.saturating_sub(1) as f64 * p / 100.0) as u64;
    let mut seen = 0u64;
    for (bucket, count) in histogram.iter().enumerate() {
        seen += *count as u64;
        if seen > rank {
            return bucket_middle_ns(bucket) as f64 / 1000.0;
        }
    }
    0.0
}

struct Load {
    clients: Vec<Client>,
    totals: Totals,
    epoch: Instant,
    buffer: Vec<u8>,
    out: Vec<u8>,
    fds: Vec<libc::pollfd>,
    ready: Vec<usize>,
    /// UDP: when the sessions' timers are next run.
    next_sweep: Option<Instant>,
}

impl Load {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Waits up to `timeout`, reads what arrived, writes what is pending, and (UDP) runs the timers.
    fn service(&mut self, timeout: Duration) {
        for (fd, client) in self.fds.iter_mut().zip(&self.clients) {
            fd.events = libc::POLLIN | if client.conn.wants_write() { libc::POLLOUT } else { 0 };
            fd.revents = 0;
        }
        let timeout = match self.next_sweep {
            Some(at) => timeout.min(at.saturating_duration_since(Instant::now())),
            None => timeout,
        };
        wait(&mut self.fds, timeout, &mut self.ready);
        for index in 0..self.ready.len() {
            let index = self.ready[index];
            // Events are taken as each read or datagram comes in, so their arrival times are exact.
            loop {
                match self.clients[index].conn.read_some(&mut self.buffer) {
                    Got::Some => self.handle_events(index),
                    Got::Empty => break,
                    Got::Closed => panic!("client {index}: the server closed the connection"),
                }
            }
            let client = &mut self.clients[index];
            assert!(client.conn.flush(&mut self.out), "client {index}: write failed");
        }
        let now = Instant::now();
        if self.next_sweep.is_some_and(|at| now >= at) {
            self.next_sweep = Some(now + TIMER_SWEEP);
            for index in 0..self.clients.len() {
                if self.clients[index].conn.run_timers(now) {
                    self.handle_events(index);
                    assert!(self.clients[index].conn.flush(&mut self.out), "client {index}: write failed");
                }
            }
        }
    }

    fn handle_events(&mut self, index: usize) {
        while let Some(event) = self.clients[index].conn.session.poll_event() {
            match event {
                SessionEvent::Event { event, .. } if event.code == EVENT_CODE => {
                    let Some(Value::Bytes(data)) = event.params.get(245) else { continue };
                    self.on_event(index, data);
                }
                SessionEvent::OperationResponse { response, .. } if response.op_code == op_code::JOIN_ROOM => {
                    assert_eq!(response.return_code, 0, "join refused: {:?}", response.debug_message);
                    self.clients[index].joined = true;
                }
                SessionEvent::Status(status) if status.code.name() == "Disconnect" => {
                    panic!("client {index} disconnected: {} {}", status.reason, status.message)
                }
                _ => {}
            }
        }
    }

    fn on_event(&mut self, index: usize, data: &[u8]) {
        if data.len() < 24 {
            return;
        }
        let sender = u32::from_le_bytes(data[..4].try_into().unwrap()) as usize;
        if sender >= self.clients.len() {
            return;
        }
        let seq = u64::from_le_bytes(data[8..16].try_into().unwrap());
        let sent_ns = u64::from_le_bytes(data[16..24].try_into().unwrap());
        let slot = self.clients[sender].slot;
        let now = self.now_ns();
        let client = &mut self.clients[index];
        if seq < client.expected[slot] {
            self.totals.duplicates += 1;
            return;
        }
        if seq > client.expected[slot] {
            self.totals.reordered += 1;
        }
        client.expected[slot] = seq + 1;
        client.received[slot] += 1;
        if sender == index {
            client.echoed += 1;
        }
        if self.totals.measuring {
            self.totals.deliveries += 1;
            self.totals.histogram[bucket(now.saturating_sub(sent_ns))] += 1;
        }
    }

    /// Events sent and not (yet) delivered to a member of the sender's room, summed over members.
    fn missing(&self) -> u64 {
        let mut missing = 0;
        for receiver in &self.clients {
            for sender in self.clients.iter().filter(|c| c.room == receiver.room) {
                missing += sender.sent.saturating_sub(receiver.received[sender.slot]);
            }
        }
        missing
    }
}

/// `load`: CLIENTS clients in rooms of ROOM_SIZE; RATE events/s each, or (RATE = 0) WINDOW in flight.
pub fn load(address: SocketAddr, wire: Wire, count: usize, room_size: usize, rate: f64, window: u64, seconds: f64) {
    let epoch = Instant::now();
    let mut clients = Vec::with_capacity(count);
    for index in 0..count {
        let conn = Conn::open(address, wire).unwrap_or_else(|e| panic!("client {index} cannot connect: {e}"));
        clients.push(Client {
            conn,
            room: index / room_size,
            slot: index % room_size,
            sent: 0,
            echoed: 0,
            next_send: epoch,
            expected: vec![0; room_size],
            received: vec![0; room_size],
            joined: false,
        });
    }
    let fds = clients.iter().map(|c| libc::pollfd { fd: c.conn.fd(), events: 0, revents: 0 }).collect();
    let mut load = Load {
        clients,
        totals: Totals { histogram: vec![0; BUCKETS], ..Totals::default() },
        epoch,
        buffer: vec![0; (256 * 1024).max(MAX_UDP_PAYLOAD + 1)],
        out: Vec::with_capacity(2048),
        fds,
        ready: Vec::new(),
        next_sweep: wire.is_udp().then(Instant::now),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    for client in &mut load.clients {
        assert!(client.conn.flush(&mut load.out));
    }
    // Keys first, then the joins, in client order, so rooms fill as in the ENet run. The room names
    // are this run's own, so nothing left of an earlier run shares them.
    let run = std::process::id();
    while !load.clients.iter().all(|c| c.conn.session.is_encrypted()) {
        assert!(Instant::now() < deadline, "the key exchanges did not finish in time");
        load.service(Duration::from_millis(1));
    }
    for client in &mut load.clients {
        let mut params = Params::new();
        params.insert(255, format!("bench-room-{run}-{}", client.room));
        client.conn.session.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
        assert!(client.conn.flush(&mut load.out));
    }
    while !load.clients.iter().all(|c| c.joined) {
        assert!(Instant::now() < deadline, "the joins did not finish in time");
        load.service(Duration::from_millis(1));
    }

    let mut template = Template::new();
    let options = wire.event_options();
    let period = if rate > 0.0 { Duration::from_secs_f64(1.0 / rate) } else { Duration::ZERO };
    let started = Instant::now();
    for (index, client) in load.clients.iter_mut().enumerate() {
        client.next_send = started + period.mul_f64(index as f64 / count as f64);
    }
    let window_start = started + Duration::from_secs(1);
    let window_end = window_start + Duration::from_secs_f64(seconds);
    let mut sent_at_start = 0;
    loop {
        let now = Instant::now();
        if !load.totals.measuring && now >= window_start {
            load.totals.measuring = true;
            sent_at_start = load.clients.iter().map(|c| c.sent).sum::<u64>();
            println!("start");
        }
        if now >= window_end {
            break;
        }
        let mut next = now + Duration::from_millis(1);
        let epoch = load.epoch;
        for (index, client) in load.clients.iter_mut().enumerate() {
            let mut sent = 0;
            if period.is_zero() {
                while client.sent - client.echoed < window {
                    send(client, &mut template, index, epoch, options);
                    sent += 1;
                }
            } else {
                while client.next_send <= now {
                    send(client, &mut template, index, epoch, options);
                    client.next_send += period;
                    sent += 1;
                }
                next = next.min(client.next_send);
            }
            if sent > 0 {
                assert!(client.conn.flush(&mut load.out), "client {index}: write failed");
            }
        }
        load.service(next.saturating_duration_since(Instant::now()));
    }
    load.totals.measuring = false;
    let sent = load.clients.iter().map(|c| c.sent).sum::<u64>() - sent_at_start;
    let total = load.totals.deliveries;
    let histogram = &load.totals.histogram;
    println!(
        "end deliveries={total} sent={sent} p50_us={:.1} p90_us={:.1} p99_us={:.1}",
        percentile_us(histogram, total, 50.0),
        percentile_us(histogram, total, 90.0),
        percentile_us(histogram, total, 99.0)
    );
    // Everything sent must arrive at every member of the sender's room.
    let deadline = Instant::now() + DRAIN;
    while load.missing() > 0 && Instant::now() < deadline {
        load.service(Duration::from_millis(1));
    }
    println!("check lost={} duplicates={} reordered={}", load.missing(), load.totals.duplicates, load.totals.reordered);
    if std::env::var_os("SEALNET_BENCH_LINK_STATS").is_some() {
        link_stats(&load.clients);
    }
    // A TCP connection ends with its socket; a UDP one says goodbye (several copies), as ENet's do.
    for client in &mut load.clients {
        client.conn.session.disconnect(DisconnectReason::ClientRequest, "");
        let _ = client.conn.flush(&mut load.out);
    }
}

/// The clients' datagram links summed, on stderr (`SEALNET_BENCH_LINK_STATS`), to see where a UDP
/// run's time goes: retransmissions, frames declared lost, datagrams dropped.
fn link_stats(clients: &[Client]) {
    let stats: Vec<_> = clients.iter().filter_map(|c| c.conn.session.datagram_stats()).collect();
    if stats.is_empty() {
        return;
    }
    let sum = |f: &dyn Fn(&sealnet::protocol::datagram::DatagramStats) -> u64| stats.iter().map(f).sum::<u64>();
    eprintln!(
        "client links: datagrams sent {} received {}, retransmissions {}, lost frames {}, duplicates {}, \
         dropped malformed/auth/replay/unexpected {}/{}/{}/{}; first client {:?}",
        sum(&|s| s.datagrams_sent),
        sum(&|s| s.datagrams_received),
        sum(&|s| s.retransmissions),
        sum(&|s| s.lost_frames),
        sum(&|s| s.duplicates),
        sum(&|s| s.dropped_malformed),
        sum(&|s| s.dropped_authentication),
        sum(&|s| s.dropped_replay),
        sum(&|s| s.dropped_unexpected),
        stats[0]
    );
}

/// Stamps the send time per event, as the ENet driver does.
fn send(client: &mut Client, template: &mut Template, index: usize, epoch: Instant, options: SendOptions) {
    let body = template.stamp(index as u32, client.sent, epoch.elapsed().as_nanos() as u64);
    client.conn.session.send_encoded_operation(body, options).expect("the event is sent");
    client.sent += 1;
}

/// `handshakes`: connects, completes the key exchange and closes, CONCURRENCY at a time. Over UDP a
/// slot keeps its socket (as an ENet host does) and says goodbye with the session's Disconnect.
pub fn handshakes(address: SocketAddr, wire: Wire, concurrency: usize, seconds: f64) {
    let mut slots: Vec<Conn> = (0..concurrency).map(|_| Conn::open(address, wire).expect("connects")).collect();
    let mut buffer = vec![0; 64 * 1024];
    let mut out = Vec::with_capacity(2048);
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(concurrency);
    let mut ready = Vec::new();
    let started = Instant::now();
    let window_start = started + Duration::from_millis(500);
    let window_end = window_start + Duration::from_secs_f64(seconds);
    let (mut done, mut counted, mut measuring) = (0u64, 0u64, false);
    let mut next_sweep = Instant::now();
    while Instant::now() < window_end {
        if !measuring && Instant::now() >= window_start {
            measuring = true;
            counted = done;
            println!("start");
        }
        fds.clear();
        for conn in &mut slots {
            assert!(conn.flush(&mut out), "handshake write failed");
            let out = if conn.wants_write() { libc::POLLOUT } else { 0 };
            fds.push(libc::pollfd { fd: conn.fd(), events: libc::POLLIN | out, revents: 0 });
        }
        wait(&mut fds, Duration::from_millis(1), &mut ready);
        if wire.is_udp() && Instant::now() >= next_sweep {
            // The Initial and HandshakeInit are sent again when lost.
            let now = Instant::now();
            next_sweep = now + TIMER_SWEEP;
            for conn in &mut slots {
                conn.run_timers(now);
            }
        }
        for &index in &ready {
            let conn = &mut slots[index];
            assert!(conn.read(&mut buffer), "the server closed a handshake");
            while conn.session.poll_event().is_some() {}
            if !conn.session.is_encrypted() {
                continue;
            }
            done += 1;
            match &conn.socket {
                Socket::Tcp(stream) => {
                    // Closed with a reset: the driver's side keeps no TIME_WAIT entry per handshake.
                    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
                    // SAFETY: a valid socket and a linger struct of the size given.
                    unsafe {
                        libc::setsockopt(
                            stream.as_raw_fd(),
                            libc::SOL_SOCKET,
                            libc::SO_LINGER,
                            (&linger as *const libc::linger).cast(),
                            std::mem::size_of::<libc::linger>() as libc::socklen_t,
                        )
                    };
                    slots[index] = Conn::open(address, wire).expect("connects");
                }
                Socket::Udp(..) => {
                    conn.session.disconnect(DisconnectReason::ClientRequest, "");
                    assert!(conn.flush(&mut out), "handshake write failed");
                    conn.session.transport_closed(None);
                    conn.start().expect("connects");
                }
            }
        }
    }
    println!("end handshakes={}", done - counted);
    println!("check lost=0 duplicates=0 reordered=0");
}
