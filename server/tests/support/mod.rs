//! A test client: drives a client-role `Session` over a tokio `TcpStream`, plus a way to start a server
//! in-process. Every wait is bounded by [`WAIT`], so a broken server fails a test instead of hanging it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, StatusInfo};
use sealnet::protocol::status::{op_code, StatusCode};
use sealnet_server::{Config, Plugin, RunningServer, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub mod realtime;
pub mod udp;

/// An authentication provider that accepts every connection token as the player of that name, user
/// id "user-NAME" (players known by their user id, as a rejoin needs).
pub struct Everyone;

impl sealnet_server::auth::AuthProvider for Everyone {
    fn name(&self) -> &str {
        "everyone"
    }

    fn authenticate(&self, request: sealnet_server::auth::AuthRequest) -> sealnet_server::auth::ProviderFuture {
        use sealnet_server::auth::{AuthContext, WebhookOutcome};
        let name = String::from_utf8_lossy(&request.connection_token).into_owned();
        let context = AuthContext { user_id: format!("user-{name}"), nickname: name, data: Vec::new() };
        Box::pin(async move { WebhookOutcome::Accepted(context) })
    }
}

/// The longest any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(20);

pub const ROOM_NAME: u8 = 255;
pub const ACTOR_NR: u8 = 254;
pub const ACTOR_LIST: u8 = 252;
pub const CODE: u8 = 244;
pub const DATA: u8 = 245;
pub const RECEIVER_GROUP: u8 = 246;
pub const SKIPPED: u8 = 241;
pub const DELIVERED: u8 = 240;
pub const EVENT_JOIN: u8 = 255;
pub const EVENT_LEAVE: u8 = 254;

/// A config for in-process servers: any free port, app id "demo" (the key is generated in memory).
/// Clients may send as fast as they like: the tests of the rate limits set their own.
pub fn test_config() -> Config {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.limits.ops_per_second = 1e9;
    config.limits.ops_burst = 1e9;
    config.limits.bytes_per_second = 1e12;
    config.limits.bytes_burst = 1e12;
    config
}

pub async fn start_server(config: Config) -> RunningServer {
    start_server_with(config, Vec::new()).await
}

pub async fn start_server_with(config: Config, plugins: Vec<Arc<dyn Plugin>>) -> RunningServer {
    let keypair = Keypair::generate().expect("random source");
    let server = plugins.into_iter().fold(Server::new(config, keypair), Server::with_plugin);
    server.start().await.expect("server starts")
}

/// A connected test client.
pub struct Client {
    pub session: Session,
    stream: TcpStream,
    read_buffer: Vec<u8>,
    /// Application events (responses and events) received and not yet taken.
    inbox: VecDeque<SessionEvent>,
    /// Every status the session reported, in order.
    pub statuses: Vec<StatusInfo>,
    /// Status events not yet taken by [`Client::status`].
    status_inbox: VecDeque<StatusInfo>,
}

impl Client {
    /// Opens the TCP connection and sends Connect; does not wait for the answer.
    pub async fn start(addr: SocketAddr, app_id: &str, config: SessionConfig) -> Client {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr)).await.expect("connect in time").unwrap();
        Self::start_on(stream, app_id, config)
    }

    /// Like [`start`](Self::start) over a socket with a tiny receive buffer, for slow-reader tests.
    pub async fn start_small_buffer(addr: SocketAddr, app_id: &str, config: SessionConfig) -> Client {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = tokio::time::timeout(WAIT, socket.connect(addr)).await.expect("connect in time").unwrap();
        Self::start_on(stream, app_id, config)
    }

    fn start_on(stream: TcpStream, app_id: &str, config: SessionConfig) -> Client {
        stream.set_nodelay(true).unwrap();
        let now = Instant::now();
        let mut session = Session::client(config, now);
        session.connect(app_id, "test", now).expect("connect queued");
        Client {
            session,
            stream,
            read_buffer: vec![0; 64 * 1024],
            inbox: VecDeque::new(),
            statuses: Vec::new(),
            status_inbox: VecDeque::new(),
        }
    }

    /// Connects with app id "demo" and waits for the key exchange to finish.
    pub async fn encrypted(addr: SocketAddr) -> Client {
        let mut client = Client::start(addr, "demo", SessionConfig::default()).await;
        client.status(StatusCode::EncryptionEstablished).await;
        assert!(client.session.is_encrypted());
        client
    }

    /// Connects with app id "demo" without a key exchange: this client has no keys.
    pub async fn plain(addr: SocketAddr) -> Client {
        let config = SessionConfig { auto_key_exchange: false, ..SessionConfig::default() };
        let mut client = Client::start(addr, "demo", config).await;
        client.status(StatusCode::Connect).await;
        assert!(!client.session.is_encrypted());
        client
    }

    /// One step of I/O: writes pending output, reads what arrived, or runs a due timer.
    async fn pump(&mut self) {
        if self.session.wants_close() {
            self.close_transport().await;
            return;
        }
        assert!(!self.session.is_closed(), "the connection is closed; nothing more will arrive");
        let timer = self.session.poll_timeout();
        let (mut reader, mut writer) = self.stream.split();
        let output = self.session.pending_output();
        tokio::select! {
            written = writer.write(output), if !output.is_empty() => match written {
                Ok(count) => self.session.consume_output(count),
                Err(error) => self.session.transport_closed(Some((StatusCode::SendError, &error.to_string()))),
            },
            read = reader.read(&mut self.read_buffer) => match read {
                Ok(0) => self.session.transport_closed(None),
                Ok(count) => self.session.receive(&self.read_buffer[..count], Instant::now()),
                Err(error) => self.session.transport_closed(Some((StatusCode::ExceptionOnReceive, &error.to_string()))),
            },
            _ = sleep_until(timer) => self.session.handle_timeout(Instant::now()),
        }
        self.collect();
    }

    async fn close_transport(&mut self) {
        let output = self.session.pending_output().to_vec();
        let _ = self.stream.write_all(&output).await;
        let _ = self.stream.shutdown().await;
        self.session.transport_closed(None);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::Status(status) => {
                    self.statuses.push(status.clone());
                    self.status_inbox.push_back(status);
                }
                other => self.inbox.push_back(other),
            }
        }
    }

    /// Writes all pending output (reading meanwhile, so neither side can block the other).
    pub async fn flush(&mut self) {
        let flushed = async {
            while !self.session.pending_output().is_empty() && !self.session.is_closed() {
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, flushed).await.expect("output written in time");
    }

    /// Waits for the next application event (response or event), without waiting on statuses.
    pub async fn next(&mut self) -> SessionEvent {
        let next = async {
            loop {
                if let Some(event) = self.inbox.pop_front() {
                    return event;
                }
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, next).await.expect("an event in time")
    }

    /// The next application event if one has already arrived, reading what the socket holds without
    /// waiting for more.
    pub fn try_next(&mut self) -> Option<SessionEvent> {
        while self.inbox.is_empty() && !self.session.wants_close() && !self.session.is_closed() {
            match self.stream.try_read(&mut self.read_buffer) {
                Ok(0) => self.session.transport_closed(None),
                Ok(count) => self.session.receive(&self.read_buffer[..count], Instant::now()),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => self.session.transport_closed(Some((StatusCode::ExceptionOnReceive, &error.to_string()))),
            }
            self.collect();
        }
        self.inbox.pop_front()
    }

    /// Waits until the session reports `code`, skipping other statuses.
    pub async fn status(&mut self, code: StatusCode) -> StatusInfo {
        let found = async {
            loop {
                while let Some(status) = self.status_inbox.pop_front() {
                    if status.code == code {
                        return status;
                    }
                }
                self.pump().await;
            }
        };
        match tokio::time::timeout(WAIT, found).await {
            Ok(status) => status,
            Err(_) => panic!("no {code:?} status in time; statuses so far: {:?}", self.statuses),
        }
    }

    /// Drives the connection until the session reports `code` or the connection closes.
    pub async fn until_closed_or(&mut self, code: StatusCode) {
        let done = async {
            while !self.session.is_closed() && !self.statuses.iter().any(|status| status.code == code) {
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, done).await.expect("the status or the close in time");
    }

    /// Drives the connection until it is closed (by either side), keeping what arrives.
    pub async fn until_closed(&mut self) {
        let closed = async {
            while !self.session.is_closed() {
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, closed).await.expect("the connection closes in time");
    }

    /// Sends an operation and writes it out.
    pub async fn send(&mut self, op: u8, params: Params, options: SendOptions) {
        self.session.send_operation(&OperationRequest { op_code: op, params }, options).expect("operation queued");
        self.flush().await;
    }

    /// Waits for the next application event and insists it is the response to `op`.
    pub async fn response(&mut self, op: u8) -> (OperationResponse, bool) {
        match self.next().await {
            SessionEvent::OperationResponse { response, encrypted } if response.op_code == op => (response, encrypted),
            other => panic!("expected a response to operation {op}, got {other:?}"),
        }
    }

    /// Waits for the next application event and insists it is an event.
    pub async fn event(&mut self) -> (EventData, bool) {
        match self.next().await {
            SessionEvent::Event { event, encrypted } => (event, encrypted),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Joins a room (encrypted when this client has keys) and returns (actor, actors in the room).
    /// The Join event the server sends this client is left in the inbox.
    pub async fn join(&mut self, room: &str) -> (i32, Vec<i32>) {
        let mut params = Params::new();
        params.insert(ROOM_NAME, room);
        self.send(op_code::JOIN_ROOM, params, self.default_options()).await;
        let (response, _) = self.response(op_code::JOIN_ROOM).await;
        assert_eq!(response.return_code, 0, "join refused: {:?}", response.debug_message);
        (int(response.params.get(ACTOR_NR)), ints(response.params.get(ACTOR_LIST)))
    }

    /// Joins and consumes this client's own Join event.
    pub async fn join_and_settle(&mut self, room: &str) -> (i32, Vec<i32>) {
        let joined = self.join(room).await;
        let (event, _) = self.event().await;
        assert_eq!((event.code, event.sender), (EVENT_JOIN, joined.0));
        joined
    }

    /// Raises an event.
    pub async fn raise(&mut self, code: i32, data: Option<Value>, group: Option<i32>, options: SendOptions) {
        let mut params = Params::new();
        params.insert(CODE, code);
        if let Some(data) = data {
            params.insert(DATA, data);
        }
        if let Some(group) = group {
            params.insert(RECEIVER_GROUP, group);
        }
        self.send(op_code::RAISE_EVENT, params, options).await;
    }

    /// A round trip through the server: an unknown operation, answered in order with every response
    /// sent before it. Anything the server would have answered earlier is in the inbox afterwards.
    pub async fn barrier(&mut self) {
        self.send(1, Params::new(), SendOptions::RELIABLE).await;
        let (response, _) = self.response(1).await;
        assert_eq!(response.return_code, sealnet::protocol::status::return_code::INVALID_OPERATION);
    }

    /// Writes raw bytes, bypassing the session.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub fn default_options(&self) -> SendOptions {
        if self.session.is_encrypted() {
            SendOptions::ENCRYPTED
        } else {
            SendOptions::RELIABLE
        }
    }
}

pub fn int(value: Option<&Value>) -> i32 {
    match value {
        Some(Value::Int(value)) => *value,
        other => panic!("expected an Int, got {other:?}"),
    }
}

/// An actor list: packed on version-2 connections, an Array of Int on version 1.
pub fn ints(value: Option<&Value>) -> Vec<i32> {
    match value {
        Some(Value::IntArray(items)) => items.clone(),
        Some(Value::Array(items)) => items.iter().map(|item| int(Some(item))).collect(),
        other => panic!("expected an actor list, got {other:?}"),
    }
}

pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Starts a server built by `build` from a fresh one (for providers, token keys, clocks).
pub async fn start_built(config: Config, build: impl FnOnce(Server) -> Server) -> RunningServer {
    let keypair = Keypair::generate().expect("random source");
    build(Server::new(config, keypair)).start().await.expect("server starts")
}

// The admin listener, over a real socket.

/// One HTTP/1.1 GET; returns the status code and the body.
pub async fn get(admin: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(admin).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut reply)).await.unwrap().unwrap();
    let status = reply.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

pub fn metric(body: &str, name: &str) -> Option<u64> {
    body.lines().find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
}

/// Scrapes /metrics until `done` holds for the body (the shards write their counters as they go).
pub async fn metrics_until(admin: SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, body) = get(admin, "/metrics").await;
        if done(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "the metrics never got there:\n{body}");
        tokio::task::yield_now().await;
    }
}
