//! A UDP test client: drives a client-role `Session` in datagram mode over a tokio `UdpSocket`. Every
//! wait is bounded by [`WAIT`](super::WAIT).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::datagram::DatagramConfig;
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, StatusInfo, Transport};
use sealnet::protocol::status::{op_code, StatusCode};
use tokio::net::UdpSocket;

use super::{int, ints, sleep_until, ACTOR_LIST, ACTOR_NR, CODE, DATA, EVENT_JOIN, ROOM_NAME, WAIT};

pub fn datagram_config() -> SessionConfig {
    SessionConfig { transport: Transport::Datagram(DatagramConfig::default()), ..SessionConfig::default() }
}

pub struct UdpClient {
    pub session: Session,
    pub socket: UdpSocket,
    pub server: SocketAddr,
    buffer: Vec<u8>,
    out: Vec<u8>,
    /// Every datagram this client sent, kept when `record` is on (for replay tests).
    pub sent: Vec<Vec<u8>>,
    pub record: bool,
    inbox: VecDeque<SessionEvent>,
    pub statuses: Vec<StatusInfo>,
    status_inbox: VecDeque<StatusInfo>,
}

impl UdpClient {
    /// Binds a socket on `local` (port 0) and sends the first Initial.
    pub async fn start_from(local: SocketAddr, server: SocketAddr, config: SessionConfig) -> UdpClient {
        let socket = UdpSocket::bind(local).await.unwrap();
        let now = Instant::now();
        let mut session = Session::client(config, now);
        session.connect("demo", "test", now).expect("connect queued");
        let mut client = UdpClient {
            session,
            socket,
            server,
            buffer: vec![0; 65_536],
            out: Vec::new(),
            sent: Vec::new(),
            record: false,
            inbox: VecDeque::new(),
            statuses: Vec::new(),
            status_inbox: VecDeque::new(),
        };
        client.send_ready().await;
        client
    }

    pub async fn start(server: SocketAddr) -> UdpClient {
        Self::start_from("127.0.0.1:0".parse().unwrap(), server, datagram_config()).await
    }

    /// Connects and waits for the key exchange to finish.
    pub async fn encrypted(server: SocketAddr) -> UdpClient {
        let mut client = Self::start(server).await;
        client.status(StatusCode::EncryptionEstablished).await;
        client
    }

    /// Sends every datagram the session has ready.
    pub async fn send_ready(&mut self) {
        while self.session.poll_datagram(Instant::now(), &mut self.out) {
            if self.record {
                self.sent.push(self.out.clone());
            }
            let _ = self.socket.send_to(&self.out, self.server).await;
        }
    }

    /// Moves to a new socket (a new source port), as a NAT rebinding or a network change does.
    pub async fn rebind(&mut self) -> SocketAddr {
        let local = SocketAddr::new(self.socket.local_addr().unwrap().ip(), 0);
        self.socket = UdpSocket::bind(local).await.unwrap();
        self.socket.local_addr().unwrap()
    }

    /// One step: receives a datagram or runs a due timer, then sends what is ready.
    async fn pump(&mut self) {
        if self.session.wants_close() {
            self.send_ready().await;
            self.session.transport_closed(None);
            self.collect();
            return;
        }
        assert!(!self.session.is_closed(), "the connection is closed; nothing more will arrive");
        let timer = self.session.poll_timeout();
        tokio::select! {
            received = self.socket.recv_from(&mut self.buffer) => {
                if let Ok((len, from)) = received {
                    let mut datagram = self.buffer[..len].to_vec();
                    self.session.receive_datagram(&mut datagram, from, Instant::now());
                }
            }
            _ = sleep_until(timer) => self.session.handle_timeout(Instant::now()),
        }
        self.send_ready().await;
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

    /// Keeps the connection going (acknowledgements, retransmissions, pings) while the test waits on
    /// something else; events that arrive are kept for later. Never returns.
    pub async fn drive(&mut self) -> ! {
        loop {
            self.pump().await;
        }
    }

    pub async fn until_closed(&mut self) {
        let closed = async {
            while !self.session.is_closed() {
                self.pump().await;
            }
        };
        tokio::time::timeout(WAIT, closed).await.expect("the connection closes in time");
    }

    pub async fn send(&mut self, op: u8, params: Params, options: SendOptions) {
        self.session.send_operation(&OperationRequest { op_code: op, params }, options).expect("operation queued");
        self.send_ready().await;
    }

    pub async fn response(&mut self, op: u8) -> (OperationResponse, bool) {
        match self.next().await {
            SessionEvent::OperationResponse { response, encrypted } if response.op_code == op => (response, encrypted),
            other => panic!("expected a response to operation {op}, got {other:?}"),
        }
    }

    pub async fn event(&mut self) -> (EventData, bool) {
        match self.next().await {
            SessionEvent::Event { event, encrypted } => (event, encrypted),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    pub async fn join(&mut self, room: &str) -> (i32, Vec<i32>) {
        let mut params = Params::new();
        params.insert(ROOM_NAME, room);
        self.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
        let (response, _) = self.response(op_code::JOIN_ROOM).await;
        assert_eq!(response.return_code, 0, "join refused: {:?}", response.debug_message);
        (int(response.params.get(ACTOR_NR)), ints(response.params.get(ACTOR_LIST)))
    }

    pub async fn join_and_settle(&mut self, room: &str) -> (i32, Vec<i32>) {
        let joined = self.join(room).await;
        let (event, _) = self.event().await;
        assert_eq!((event.code, event.sender), (EVENT_JOIN, joined.0));
        joined
    }

    pub async fn raise(&mut self, code: i32, data: Option<Value>, options: SendOptions) {
        let mut params = Params::new();
        params.insert(CODE, code);
        if let Some(data) = data {
            params.insert(DATA, data);
        }
        self.send(op_code::RAISE_EVENT, params, options).await;
    }

    /// A round trip: an unknown operation, answered in order after everything sent before it.
    pub async fn barrier(&mut self) {
        self.send(1, Params::new(), SendOptions::RELIABLE).await;
        let (response, _) = self.response(1).await;
        assert_eq!(response.return_code, sealnet::protocol::status::return_code::INVALID_OPERATION);
    }
}
