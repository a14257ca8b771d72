//! The sealnet load driver: sessions driven directly on non-blocking sockets, all on one thread, in
//! the same shape as the ENet driver (`enet_reference.c`): the same events, windows, rates, output
//! lines and checks.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::OperationRequest;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::op_code;

/// Bytes of application data per event, as in the ENet driver.
pub const EVENT_BYTES: usize = 128;
const EVENT_CODE: u8 = 1;
const RECEIVERS_ALL: i32 = 1;
/// Latency histogram: 100 ns buckets up to 100 ms (the last takes everything above).
const BUCKET_NS: u64 = 100;
const BUCKETS: usize = 1_000_000;
const APP_ID: &str = "bench";

struct Client {
    stream: TcpStream,
    session: Session,
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

fn connect(address: SocketAddr) -> std::io::Result<(TcpStream, Session)> {
    let stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    let now = Instant::now();
    let mut session = Session::client(SessionConfig::default(), now);
    session.connect(APP_ID, "bench-relay", now).map_err(std::io::Error::other)?;
    Ok((stream, session))
}

/// Writes what the session has; false when the connection failed.
fn flush(stream: &mut TcpStream, session: &mut Session) -> bool {
    while !session.pending_output().is_empty() {
        match stream.write(session.pending_output()) {
            Ok(0) => return false,
            Ok(written) => session.consume_output(written),
            Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}

/// Reads what is there into the session; false when the connection closed.
fn read_into(stream: &mut TcpStream, session: &mut Session, buffer: &mut [u8]) -> bool {
    loop {
        match stream.read(buffer) {
            Ok(0) => return false,
            Ok(read) => session.receive(&buffer[..read], Instant::now()),
            Err(error) if error.kind() == ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
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

fn percentile_us(histogram: &[u32], total: u64, p: f64) -> f64 {
    let rank = (total.saturating_sub(1) as f64 * p / 100.0) as u64;
    let mut seen = 0u64;
    for (bucket, count) in histogram.iter().enumerate() {
        seen += *count as u64;
        if seen > rank {
            return (bucket as u64 * BUCKET_NS + BUCKET_NS / 2) as f64 / 1000.0;
        }
    }
    0.0
}

struct Load {
    clients: Vec<Client>,
    totals: Totals,
    epoch: Instant,
    buffer: Vec<u8>,
    fds: Vec<libc::pollfd>,
    ready: Vec<usize>,
}

impl Load {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Waits up to `timeout`, reads what arrived, and writes what is pending.
    fn service(&mut self, timeout: Duration) {
        for (fd, client) in self.fds.iter_mut().zip(&self.clients) {
            fd.events = libc::POLLIN | if client.session.pending_output().is_empty() { 0 } else { libc::POLLOUT };
            fd.revents = 0;
        }
        wait(&mut self.fds, timeout, &mut self.ready);
        for index in 0..self.ready.len() {
            let index = self.ready[index];
            let client = &mut self.clients[index];
            if !read_into(&mut client.stream, &mut client.session, &mut self.buffer) {
                panic!("client {index}: the server closed the connection");
            }
            self.handle_events(index);
            let client = &mut self.clients[index];
            assert!(flush(&mut client.stream, &mut client.session), "client {index}: write failed");
        }
    }

    fn handle_events(&mut self, index: usize) {
        while let Some(event) = self.clients[index].session.poll_event() {
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
            let bucket = ((now.saturating_sub(sent_ns)) / BUCKET_NS) as usize;
            self.totals.histogram[bucket.min(BUCKETS - 1)] += 1;
        }
    }
}

/// `load`: CLIENTS clients in rooms of ROOM_SIZE; RATE events/s each, or (RATE = 0) WINDOW in flight.
pub fn load(address: SocketAddr, count: usize, room_size: usize, rate: f64, window: u64, seconds: f64) {
    let epoch = Instant::now();
    let mut clients = Vec::with_capacity(count);
    for index in 0..count {
        let (stream, session) = connect(address).unwrap_or_else(|e| panic!("client {index} cannot connect: {e}"));
        clients.push(Client {
            stream,
            session,
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
    let fds = clients.iter().map(|c| libc::pollfd { fd: c.stream.as_raw_fd(), events: 0, revents: 0 }).collect();
    let mut load = Load {
        clients,
        totals: Totals { histogram: vec![0; BUCKETS], ..Totals::default() },
        epoch,
        buffer: vec![0; 256 * 1024],
        fds,
        ready: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    for client in &mut load.clients {
        assert!(flush(&mut client.stream, &mut client.session));
    }
    // Keys first, then the joins, in client order, so rooms fill as in the ENet run.
    while !load.clients.iter().all(|c| c.session.is_encrypted()) {
        assert!(Instant::now() < deadline, "the key exchanges did not finish in time");
        load.service(Duration::from_millis(1));
    }
    for client in &mut load.clients {
        let mut params = Params::new();
        params.insert(255, format!("bench-room-{}", client.room));
        client.session.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::ENCRYPTED).unwrap();
        assert!(flush(&mut client.stream, &mut client.session));
    }
    while !load.clients.iter().all(|c| c.joined) {
        assert!(Instant::now() < deadline, "the joins did not finish in time");
        load.service(Duration::from_millis(1));
    }

    let mut template = Template::new();
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
                    send(client, &mut template, index, epoch);
                    sent += 1;
                }
            } else {
                while client.next_send <= now {
                    send(client, &mut template, index, epoch);
                    client.next_send += period;
                    sent += 1;
                }
                next = next.min(client.next_send);
            }
            if sent > 0 {
                assert!(flush(&mut client.stream, &mut client.session), "client {index}: write failed");
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
    let deadline = Instant::now() + Duration::from_secs(5);
    while load.clients.iter().any(|c| c.echoed < c.sent) && Instant::now() < deadline {
        load.service(Duration::from_millis(1));
    }
    // The last events to others may still be on their way after the sender's own came back.
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        load.service(Duration::from_millis(1));
    }
    let mut lost = 0;
    for receiver in &load.clients {
        for sender in load.clients.iter().filter(|c| c.room == receiver.room) {
            lost += sender.sent - receiver.received[sender.slot];
        }
    }
    println!("check lost={lost} duplicates={} reordered={}", load.totals.duplicates, load.totals.reordered);
}

/// Stamps the send time per event, as the ENet driver does.
fn send(client: &mut Client, template: &mut Template, index: usize, epoch: Instant) {
    let body = template.stamp(index as u32, client.sent, epoch.elapsed().as_nanos() as u64);
    client.session.send_encoded_operation(body, SendOptions::ENCRYPTED).expect("the event is sent");
    client.sent += 1;
}

/// `handshakes`: connects, completes the key exchange and closes, CONCURRENCY at a time.
pub fn handshakes(address: SocketAddr, concurrency: usize, seconds: f64) {
    let mut slots: Vec<(TcpStream, Session)> = (0..concurrency).map(|_| connect(address).expect("connects")).collect();
    let mut buffer = vec![0; 64 * 1024];
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(concurrency);
    let mut ready = Vec::new();
    let started = Instant::now();
    let window_start = started + Duration::from_millis(500);
    let window_end = window_start + Duration::from_secs_f64(seconds);
    let (mut done, mut counted, mut measuring) = (0u64, 0u64, false);
    while Instant::now() < window_end {
        if !measuring && Instant::now() >= window_start {
            measuring = true;
            counted = done;
            println!("start");
        }
        fds.clear();
        for (stream, session) in &mut slots {
            assert!(flush(stream, session), "handshake write failed");
            let out = if session.pending_output().is_empty() { 0 } else { libc::POLLOUT };
            fds.push(libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLIN | out, revents: 0 });
        }
        wait(&mut fds, Duration::from_millis(1), &mut ready);
        for &index in &ready {
            let (stream, session) = &mut slots[index];
            assert!(read_into(stream, session, &mut buffer), "the server closed a handshake");
            while session.poll_event().is_some() {}
            if session.is_encrypted() {
                done += 1;
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
                slots[index] = connect(address).expect("connects");
            }
        }
    }
    println!("end handshakes={}", done - counted);
    println!("check lost=0 duplicates=0 reordered=0");
}
