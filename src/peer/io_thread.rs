//! The peer's background thread: connect, read, write, run timers, queue results.

use std::io::{self, ErrorKind};
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use super::transport::{Target, Transport};
use super::Shared;
use crate::protocol::status::{DisconnectReason, StatusCode};

const SOCKET: Token = Token(0);
const WAKE: Token = Token(1);
const READ_CHUNK: usize = 64 * 1024;
/// How long a closing connection may take to flush its final Disconnect frame.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

type Failure = (StatusCode, String);

pub(crate) fn run(shared: Arc<Shared>, target: Target) {
    let outcome = drive(&shared, target);
    let mut inner = shared.inner.lock();
    if let Some(session) = inner.session.as_mut() {
        match &outcome {
            Err((code, message)) => session.transport_closed(Some((*code, message))),
            Ok(()) => session.transport_closed(None),
        }
    }
    inner.collect_events(shared.config.max_queued_events);
    inner.waker = None;
}

fn failure(code: StatusCode) -> impl Fn(io::Error) -> Failure {
    move |error| (code, error.to_string())
}

fn drive(shared: &Shared, target: Target) -> Result<(), Failure> {
    let mut poll = Poll::new().map_err(failure(StatusCode::Exception))?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(failure(StatusCode::Exception))?);
    shared.inner.lock().waker = Some(waker);

    let address = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(failure(StatusCode::DnsExceptionOnConnect))?
        .next()
        .ok_or((StatusCode::DnsExceptionOnConnect, format!("no address found for {}", target.host)))?;
    let mut stream = TcpStream::connect(address).map_err(failure(StatusCode::ExceptionOnConnect))?;
    poll.registry()
        .register(&mut stream, SOCKET, Interest::READABLE | Interest::WRITABLE)
        .map_err(failure(StatusCode::ExceptionOnConnect))?;
    pump(shared, &mut poll, &mut stream)
}

fn pump(shared: &Shared, poll: &mut Poll, stream: &mut impl Transport) -> Result<(), Failure> {
    let mut events = Events::with_capacity(8);
    let mut read_buffer = vec![0u8; READ_CHUNK];
    let mut connected = false;
    let mut close_deadline: Option<Instant> = None;
    loop {
        let timeout = {
            let inner = shared.inner.lock();
            let session_timeout = inner.session.as_ref().and_then(|s| s.poll_timeout());
            [session_timeout, close_deadline]
                .into_iter()
                .flatten()
                .min()
                .map(|at| at.saturating_duration_since(Instant::now()))
        };
        if let Err(error) = poll.poll(&mut events, timeout) {
            if error.kind() != ErrorKind::Interrupted {
                return Err((StatusCode::Exception, error.to_string()));
            }
        }
        let socket_ready = events.iter().any(|event| event.token() == SOCKET);
        if !connected && socket_ready {
            connected = stream.connect_finished().map_err(failure(StatusCode::ExceptionOnConnect))?;
        }
        let now = Instant::now();
        let mut inner = shared.inner.lock();
        let limit = shared.config.max_queued_events;
        let shutdown = inner.shutdown;
        let session = inner.session.as_mut().expect("the I/O thread runs only with a session");
        if shutdown && !session.wants_close() {
            session.disconnect(DisconnectReason::ClientRequest, "client disconnected");
        }
        let mut end_of_stream = false;
        if connected {
            loop {
                match stream.read(&mut read_buffer) {
                    Ok(0) => {
                        end_of_stream = true;
                        break;
                    }
                    Ok(read) => session.receive(&read_buffer[..read], now),
                    Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(error) => {
                        inner.collect_events(limit);
                        return Err((StatusCode::ExceptionOnReceive, error.to_string()));
                    }
                }
                if session.wants_close() {
                    break;
                }
            }
        }
        session.handle_timeout(now);
        // Collecting may itself close the session (a host that lets its queue overflow), so it runs
        // before the output is written and the close is decided.
        inner.collect_events(limit);
        let session = inner.session.as_mut().expect("the I/O thread runs only with a session");
        if connected {
            while !session.pending_output().is_empty() {
                match stream.write(session.pending_output()) {
                    Ok(written) => session.consume_output(written),
                    Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(error) => return Err((StatusCode::SendError, error.to_string())),
                }
            }
        }
        let flushed = session.pending_output().is_empty();
        if session.wants_close() {
            let deadline = *close_deadline.get_or_insert(now + CLOSE_LINGER);
            if flushed || !connected || now >= deadline || shutdown {
                stream.close();
                return Ok(());
            }
        }
        if end_of_stream || session.is_closed() {
            return Ok(());
        }
    }
}
