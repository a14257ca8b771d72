//! What a datagram link counts: for operators (dropped datagrams by cause) and for tests.

use std::time::Duration;

/// Counters and estimates of one datagram connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatagramStats {
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
    /// Datagrams or frames dropped because they did not parse (bad kind, header, length, padding).
    pub dropped_malformed: u64,
    /// Frames whose tag did not verify.
    pub dropped_authentication: u64,
    /// Frames whose counter was already seen or older than the replay window.
    pub dropped_replay: u64,
    /// Clear frames where the datagram transport allows none, or frames before this end had keys.
    pub dropped_unexpected: u64,
    /// Frames past a receive window or the reassembly memory bound (not acknowledged; sent again).
    pub refused_units: u64,
    /// Reliable units received more than once (acknowledged again, delivered once).
    pub duplicates: u64,
    /// Unreliable sequenced messages older than one already delivered.
    pub stale: u64,
    /// Incomplete unreliable messages given up.
    pub expired_fragments: u64,
    /// Unreliable messages dropped at the sender because too many waited for the congestion window.
    pub unreliable_dropped: u64,
    /// Frames this end declared lost.
    pub lost_frames: u64,
    /// Reliable units sent again.
    pub retransmissions: u64,
    /// Times the peer's address changed (roaming).
    pub migrations: u64,
    /// Smoothed round-trip time from acknowledgements.
    pub smoothed_rtt: Option<Duration>,
    /// Congestion window in bytes.
    pub window: usize,
    pub bytes_in_flight: usize,
}
