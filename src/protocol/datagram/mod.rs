//! The datagram transport (UDP, protocol version 3): the layout of a datagram, the server's stateless
//! retry cookie, and the link that gives each frame its delivery mode (acknowledgements,
//! retransmission, ordering per channel, fragmentation, congestion control, roaming).
//!
//! Everything here is sans-IO like the rest of the core: a [`Session`](super::session::Session) in
//! datagram mode takes received datagrams with `receive_datagram` and hands out datagrams to send with
//! `poll_datagram`; the server's [`Endpoint`] answers connection attempts before any state exists.
//!
//! ```text
//!  0        1                                  9
//! +--------+----------------------------------+---------------------------------+
//! |  kind  |  connection id (u64)             |  kind-specific payload          |
//! +--------+----------------------------------+---------------------------------+
//!   0xA1 Initial: cookie_len u8, cookie, one Connect frame, zero padding (>= 1200 bytes in all)
//!   0xA2 Retry:   cookie_len u8 (20), cookie
//!   0xA3 Data:    frames back to back; a 0x00 byte where a frame would start begins zero padding
//! ```

mod ack;
mod cookie;
mod endpoint;
mod link;
mod receive;
mod recovery;
mod send;
mod stats;

use std::time::Duration;

pub use ack::{AckFrame, MAX_ACK_RANGES};
pub use cookie::COOKIE_LEN;
pub(crate) use endpoint::parse_initial;
pub use endpoint::{DropReason, Endpoint, Incoming, RETRY_LEN};
pub(crate) use link::{DropKind, Link, LinkEvent};
pub(crate) use receive::Verdict;
pub use stats::DatagramStats;

/// Datagram kind: the client's connection attempt, carrying its Connect frame.
pub const KIND_INITIAL: u8 = 0xA1;
/// Datagram kind: the server's stateless answer to an Initial without a valid cookie.
pub const KIND_RETRY: u8 = 0xA2;
/// Datagram kind: frames of an established connection.
pub const KIND_DATA: u8 = 0xA3;
/// Kind byte and connection id.
pub const DATAGRAM_HEADER_LEN: usize = 9;
/// Every Initial is at least this long, so nothing the server answers before the client has proven
/// its address (a 30-byte Retry) is larger than what it was sent.
pub const MIN_INITIAL_LEN: usize = 1200;
/// The largest datagram a sender builds by default (Photon's MTU; it fits every real path's 1280-byte
/// IPv6 minimum with the IP and UDP headers).
pub const DEFAULT_MAX_DATAGRAM: usize = 1200;
/// The largest UDP payload over IPv4; a receiver accepts anything up to it.
pub const MAX_UDP_PAYLOAD: usize = 65_507;
/// Reliable units a sender may have outstanding per channel and sequence space, and how far ahead
/// of the next in-order unit a receiver buffers.
pub const RELIABLE_WINDOW: u32 = 1024;

/// Settings of the datagram link.
#[derive(Debug, Clone)]
pub struct DatagramConfig {
    /// Largest datagram this end sends (UDP payload bytes).
    pub max_datagram: usize,
    /// Longest an acknowledgement is held back for piggybacking.
    pub max_ack_delay: Duration,
    /// RTT assumed before the first sample.
    pub initial_rtt: Duration,
    /// Consecutive probe timeouts without any acknowledgement before the connection is lost.
    pub max_probe_timeouts: u32,
    /// First interval of the pre-key retransmission (Initial, HandshakeInit), doubled each time.
    pub pre_key_resend: Duration,
    /// Longest interval of the pre-key retransmission.
    pub max_pre_key_resend: Duration,
    /// Bytes of incomplete messages and out-of-order reliable units a connection may hold.
    pub max_reassembly: usize,
    /// How long an incomplete unreliable message waits for its missing fragments.
    pub reassembly_timeout: Duration,
    /// Unreliable messages that may wait for room in the congestion window; the oldest goes first.
    pub max_waiting_unreliable: usize,
    /// Copies of the final Disconnect, each in its own datagram, so that it survives loss.
    pub disconnect_copies: u32,
}

impl Default for DatagramConfig {
    fn default() -> Self {
        DatagramConfig {
            max_datagram: DEFAULT_MAX_DATAGRAM,
            max_ack_delay: Duration::from_millis(20),
            initial_rtt: Duration::from_millis(100),
            max_probe_timeouts: 10,
            pre_key_resend: Duration::from_millis(250),
            max_pre_key_resend: Duration::from_secs(2),
            max_reassembly: 2 * crate::protocol::frame::DEFAULT_MAX_BODY as usize,
            reassembly_timeout: Duration::from_secs(5),
            max_waiting_unreliable: 256,
            disconnect_copies: 3,
        }
    }
}

impl DatagramConfig {
    /// The same settings within what the link can work with.
    pub(crate) fn clamped(mut self) -> Self {
        // Room for the datagram header, the longest frame header, a tag and some body.
        self.max_datagram = self.max_datagram.clamp(576, MAX_UDP_PAYLOAD);
        self.max_probe_timeouts = self.max_probe_timeouts.max(1);
        self.disconnect_copies = self.disconnect_copies.clamp(1, 8);
        self.max_waiting_unreliable = self.max_waiting_unreliable.max(1);
        self
    }
}

/// The kind and connection id of a datagram, or `None` if it is too short or of no known kind.
pub fn parse_header(datagram: &[u8]) -> Option<(u8, u64)> {
    let (&kind, rest) = datagram.split_first()?;
    if !matches!(kind, KIND_INITIAL | KIND_RETRY | KIND_DATA) || rest.len() < 8 {
        return None;
    }
    Some((kind, u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"))))
}

/// Writes a datagram header at the start of `out` (cleared first).
pub(crate) fn start_datagram(out: &mut Vec<u8>, kind: u8, connection_id: u64) {
    out.clear();
    out.push(kind);
    out.extend_from_slice(&connection_id.to_be_bytes());
}

/// Serial-number comparison of 32-bit sequence numbers (RFC 1982): `a` is newer than `b`.
pub(crate) fn seq_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_only_for_known_kinds() {
        let mut out = Vec::new();
        start_datagram(&mut out, KIND_DATA, 0x0102_0304_0506_0708);
        assert_eq!(parse_header(&out), Some((KIND_DATA, 0x0102_0304_0506_0708)));
        assert_eq!(parse_header(&out[..8]), None);
        out[0] = 0x01;
        assert_eq!(parse_header(&out), None, "a frame's version byte is no datagram kind");
    }

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, u32::MAX));
        assert!(!seq_newer(5, 5));
        assert!(!seq_newer(0, 1));
    }
}
