//! The server's stateless front: an Initial without a valid cookie gets a Retry, and nothing is kept
//! or allocated for it; one with a valid cookie proves its address and may create a connection.

use std::net::SocketAddr;
use std::time::Instant;

use super::cookie::{CookieKey, COOKIE_LEN};
use super::{parse_header, DATAGRAM_HEADER_LEN, KIND_INITIAL, KIND_RETRY, MIN_INITIAL_LEN};
use crate::protocol::frame::{Header, MessageType, PROTOCOL_VERSION};
use crate::protocol::session::DEFAULT_MAX_CLEAR_BODY;

/// Bytes of a Retry datagram.
pub const RETRY_LEN: usize = DATAGRAM_HEADER_LEN + 1 + COOKIE_LEN;

/// Why the endpoint dropped a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not a datagram of this protocol, or a malformed Initial.
    Malformed,
    /// An Initial shorter than [`MIN_INITIAL_LEN`]: answering it could amplify a spoofed flood.
    ShortInitial,
    /// A datagram kind a server never receives (Retry).
    WrongDirection,
}

/// What to do with an Initial for a connection id the server does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// The cookie proves the address: create the connection and give it this datagram.
    Accept {
        connection_id: u64,
    },
    /// Send the first `len` bytes written to the retry buffer back to the source. `stale_cookie`: the
    /// Initial carried a cookie that was not valid (expired, or not issued for that address).
    Retry {
        len: usize,
        stale_cookie: bool,
    },
    Drop(DropReason),
}

/// The parts of an Initial datagram.
pub(crate) struct Initial<'a> {
    pub connection_id: u64,
    pub cookie: &'a [u8],
    /// The Connect frame, whole.
    pub frame: &'a [u8],
}

/// Splits an Initial: header, cookie, one clear Connect frame of version 1, zero padding.
pub(crate) fn parse_initial(datagram: &[u8]) -> Result<Initial<'_>, DropReason> {
    let (kind, connection_id) = parse_header(datagram).ok_or(DropReason::Malformed)?;
    if kind != KIND_INITIAL || connection_id == 0 {
        return Err(DropReason::Malformed);
    }
    if datagram.len() < MIN_INITIAL_LEN {
        return Err(DropReason::ShortInitial);
    }
    let rest = &datagram[DATAGRAM_HEADER_LEN..];
    let cookie_len = rest[0] as usize;
    if cookie_len != 0 && cookie_len != COOKIE_LEN {
        return Err(DropReason::Malformed);
    }
    let rest = &rest[1..];
    let cookie = &rest[..cookie_len];
    let rest = &rest[cookie_len..];
    let (header, header_len) = Header::parse(rest, DEFAULT_MAX_CLEAR_BODY).map_err(|_| DropReason::Malformed)?;
    let frame_len = header_len + header.body_len as usize;
    // Exactly as on TCP: flags 0x04 (clear, reliable), channel 0, no extensions.
    if header.message_type != MessageType::Connect
        || header.version != PROTOCOL_VERSION
        || header.flags() != 0x04
        || header.channel != 0
        || rest.len() < frame_len
        || rest[frame_len..].iter().any(|&b| b != 0)
    {
        return Err(DropReason::Malformed);
    }
    Ok(Initial { connection_id, cookie, frame: &rest[..frame_len] })
}

/// The stateless part of a datagram server.
pub struct Endpoint {
    key: CookieKey,
    epoch: Instant,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").finish_non_exhaustive()
    }
}

impl Endpoint {
    /// `secret` keys the cookies: random per server process (it never needs to be shared).
    pub fn new(secret: [u8; 32], now: Instant) -> Self {
        Endpoint { key: CookieKey::new(secret), epoch: now }
    }

    /// An endpoint with a fresh random secret.
    pub fn random(now: Instant) -> std::io::Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(e.to_string()))?;
        let endpoint = Self::new(secret, now);
        zeroize::Zeroize::zeroize(&mut secret);
        Ok(endpoint)
    }

    fn seconds(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.epoch).as_secs().min(u32::MAX as u64) as u32
    }

    /// Decides on a datagram whose connection id is not known. Allocates nothing and keeps nothing.
    pub fn on_unknown(&self, datagram: &[u8], from: SocketAddr, now: Instant, retry: &mut [u8; RETRY_LEN]) -> Incoming {
        match parse_header(datagram) {
            None => return Incoming::Drop(DropReason::Malformed),
            Some((KIND_RETRY, _)) => return Incoming::Drop(DropReason::WrongDirection),
            Some((KIND_INITIAL, _)) => {}
            // Data for a connection that does not exist (any more).
            Some(_) => return Incoming::Drop(DropReason::Malformed),
        }
        let initial = match parse_initial(datagram) {
            Ok(initial) => initial,
            Err(reason) => return Incoming::Drop(reason),
        };
        let seconds = self.seconds(now);
        if !initial.cookie.is_empty() && self.key.verify(initial.cookie, initial.connection_id, from, seconds) {
            return Incoming::Accept { connection_id: initial.connection_id };
        }
        // No cookie, or one that expired or was not issued for this address: a fresh one (a client
        // whose cookie went stale while its Initial was repeated gets going again).
        let cookie = self.key.issue(seconds, initial.connection_id, from);
        retry[0] = KIND_RETRY;
        retry[1..9].copy_from_slice(&initial.connection_id.to_be_bytes());
        retry[9] = COOKIE_LEN as u8;
        retry[10..].copy_from_slice(&cookie);
        Incoming::Retry { len: RETRY_LEN, stale_cookie: !initial.cookie.is_empty() }
    }
}
