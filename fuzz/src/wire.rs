//! What the session targets share: taking a session's output as a transport would (checking that it is
//! well-formed), answering a server's events as a host would, and reading statuses.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use sealnet::protocol::frame::{Header, MessageType};
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionError, SessionEvent, StatusInfo};
use sealnet::protocol::status::{DisconnectReason, StatusCode};

use crate::noise::RESPONDER_STATIC;

/// The server's static key, shared by every session of the process.
pub fn server_key() -> Arc<Keypair> {
    static KEY: OnceLock<Arc<Keypair>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(Keypair::from_secret_bytes(RESPONDER_STATIC))).clone()
}

/// The receiving end of one session's output: bytes the transport has taken but that do not yet make
/// a whole frame stay here.
#[derive(Default)]
pub struct Outbound {
    partial: Vec<u8>,
}

impl Outbound {
    /// Takes up to `limit` bytes of `session`'s output (all of it for `None`) and returns the whole
    /// frames among what has been taken so far, each checked to be well-formed.
    pub fn take(&mut self, session: &mut Session, limit: Option<usize>) -> Vec<Vec<u8>> {
        let pending = session.pending_output();
        let taken = limit.map_or(pending.len(), |limit| limit.min(pending.len()));
        self.partial.extend_from_slice(&pending[..taken]);
        session.consume_output(taken);
        let mut frames = Vec::new();
        let config = session.config();
        let mut at = 0;
        while at < self.partial.len() {
            let rest = &self.partial[at..];
            let (header, header_len) = match Header::parse(rest, config.max_frame_body) {
                Ok(parsed) => parsed,
                Err(sealnet::protocol::frame::FrameError::Incomplete { .. }) => break,
                Err(error) => {
                    panic!("the session wrote a bad frame header ({error}): {:02x?}", &rest[..rest.len().min(32)])
                }
            };
            check_sent_header(&header, config.max_clear_body);
            let len = header_len + header.body_len as usize;
            if rest.len() < len {
                break;
            }
            frames.push(rest[..len].to_vec());
            at += len;
        }
        self.partial.drain(..at);
        frames
    }

    /// Bytes taken that are not yet a whole frame.
    pub fn partial_len(&self) -> usize {
        self.partial.len()
    }
}

/// What a stream transport's sender must never write.
fn check_sent_header(header: &Header, max_clear_body: u32) {
    assert!(header.sequence.is_none() && header.fragment.is_none(), "datagram extension on a stream: {header:?}");
    if header.message_type.is_pre_key() {
        assert!(header.counter.is_none(), "authenticated key-exchange frame: {header:?}");
    }
    if header.counter.is_none() {
        assert!(header.body_len <= max_clear_body, "clear frame above the clear limit: {header:?}");
    }
}

/// The message type of a whole frame written by a session.
pub fn frame_type(frame: &[u8]) -> MessageType {
    MessageType::from_u8(frame[1]).expect("checked when taken")
}

/// Status events among `events`.
pub fn statuses(events: &[SessionEvent]) -> impl Iterator<Item = &StatusInfo> {
    events.iter().filter_map(|event| match event {
        SessionEvent::Status(info) => Some(info),
        _ => None,
    })
}

/// The session found fault with what it received (anything but a key-exchange failure).
pub fn receive_failures(events: &[SessionEvent]) -> impl Iterator<Item = &StatusInfo> {
    statuses(events).filter(|info| info.code == StatusCode::ExceptionOnReceive)
}

/// How a fuzzed server host answers an AuthOnce key exchange ([`SessionEvent::AuthOnceRequest`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthOnceAnswer {
    /// Refuses the token (TokenRefused), as a server does with an expired or forged one.
    #[default]
    Refuse,
    /// Admits it with the secret the token carries, as [`token_secret`] with this salt makes it (a
    /// salt other than the client's stands for a wrong secret).
    Admit { salt: u8 },
}

/// The secret a server token "carries" in the fuzz targets: a fixed function of the token and a salt,
/// standing in for opening a sealed token (docs/auth.md section 5).
pub fn token_secret(token: &[u8], salt: u8) -> [u8; 32] {
    let mut secret = [0u8; 32];
    for (index, byte) in secret.iter_mut().enumerate() {
        let from_token = token.get(index % token.len().max(1)).copied().unwrap_or(0);
        *byte = from_token.rotate_left(index as u32 % 8) ^ salt.wrapping_mul(0x9d) ^ (index as u8).wrapping_mul(0x3b);
    }
    secret
}

/// How a fuzzed server host answers its session's events.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerHost {
    pub refuse_connect: bool,
    pub refuse_key_exchange: bool,
    /// Answer each operation with a response echoing its parameters, encrypted as it came.
    pub echo: bool,
    pub auth_once: AuthOnceAnswer,
}

impl ServerHost {
    /// Drains and answers `session`'s events, returning them.
    pub fn serve(&self, session: &mut Session, now: Instant) -> Vec<SessionEvent> {
        let mut seen = Vec::new();
        // Answering can add events (statuses), never more than a few per answer.
        while let Some(event) = session.poll_event() {
            match &event {
                SessionEvent::ConnectRequest { .. } => {
                    let answer = if self.refuse_connect {
                        session.refuse(DisconnectReason::UnknownAppId, "unknown app")
                    } else {
                        session.accept(now)
                    };
                    expect_answered(session, answer);
                }
                SessionEvent::KeyExchangeRequest => {
                    let answer = if self.refuse_key_exchange {
                        session.refuse_key_exchange(DisconnectReason::RateLimited, "too many key exchanges")
                    } else {
                        session.admit_key_exchange()
                    };
                    expect_answered(session, answer);
                }
                SessionEvent::AuthOnceRequest { token } => {
                    assert!(!token.is_empty(), "an AuthOnce request without a token was reported");
                    let answer = match self.auth_once {
                        AuthOnceAnswer::Refuse => {
                            session.refuse_key_exchange(DisconnectReason::TokenRefused, "the token has expired")
                        }
                        AuthOnceAnswer::Admit { salt } => session.admit_auth_once(&token_secret(token, salt)),
                    };
                    expect_answered(session, answer);
                }
                SessionEvent::OperationRequest { request, encrypted, .. } if self.echo => {
                    let response = OperationResponse {
                        op_code: request.op_code,
                        return_code: 0,
                        debug_message: None,
                        params: request.params.clone(),
                    };
                    let options = SendOptions { encrypt: *encrypted, ..SendOptions::RELIABLE };
                    match session.send_response(&response, options) {
                        Ok(())
                        | Err(
                            SessionError::OutputFull
                            | SessionError::NotConnected
                            | SessionError::MessageTooLarge { .. }
                            | SessionError::ClearMessageTooLarge { .. }
                            | SessionError::CounterExhausted
                            | SessionError::KeyUsageExhausted,
                        ) => {}
                        Err(error) => panic!("echoing a received operation failed: {error:?}"),
                    }
                }
                SessionEvent::OperationRequest { .. } | SessionEvent::Status(_) => {}
                SessionEvent::OperationResponse { .. } | SessionEvent::Event { .. } => {
                    panic!("a server session reported a client event: {event:?}")
                }
            }
            seen.push(event);
        }
        seen
    }
}

/// Answering a ConnectRequest, KeyExchangeRequest or AuthOnceRequest right after it was reported fails only if a later
/// frame of the same read has closed the session since.
fn expect_answered(session: &Session, answer: Result<(), SessionError>) {
    if let Err(error) = answer {
        assert!(
            matches!(error, SessionError::InvalidState(_)) && (session.wants_close() || session.is_closed()),
            "answering a request failed: {error:?} in {:?}",
            session.state()
        );
    }
}

/// A client host drains its events; a client session must never report a server's events.
pub fn drain_client(session: &mut Session) -> Vec<SessionEvent> {
    let events: Vec<_> = std::iter::from_fn(|| session.poll_event()).collect();
    for event in &events {
        assert!(
            !matches!(
                event,
                SessionEvent::ConnectRequest { .. }
                    | SessionEvent::KeyExchangeRequest
                    | SessionEvent::AuthOnceRequest { .. }
                    | SessionEvent::OperationRequest { .. }
            ),
            "a client session reported a server event: {event:?}"
        );
    }
    events
}

/// Ends a session the way a driver does and checks it ends cleanly.
pub fn close(session: &mut Session) {
    session.transport_closed(None);
    assert!(session.is_closed());
    assert_eq!(session.poll_timeout(), None);
    assert!(session.pending_output().is_empty());
    let events: Vec<_> = std::iter::from_fn(|| session.poll_event()).collect();
    assert!(
        statuses(&events).any(|info| info.code == StatusCode::Disconnect),
        "a closed session reported no Disconnect status: {events:?}"
    );
    session.transport_closed(None);
    assert!(session.poll_event().is_none(), "closing twice reported again");
}
