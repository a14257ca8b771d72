//! What a session measures: traffic, round-trip time (smoothed as TCP does, RFC 6298) and, from
//! version 2, the server's clock.

use std::time::{Duration, Instant};

/// Counters and estimates of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// The protocol version the connection speaks; 0 until it is accepted.
    pub protocol_version: u8,
    /// Smoothed round-trip time, once a pong arrived.
    pub rtt: Option<Duration>,
    /// How much the round-trip time varies (mean deviation).
    pub rtt_variance: Option<Duration>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub frames_sent: u64,
    pub frames_received: u64,
}

/// The running measurements behind [`SessionStats`].
#[derive(Debug, Default)]
pub(super) struct Meter {
    bytes_sent: u64,
    bytes_received: u64,
    frames_sent: u64,
    frames_received: u64,
    smoothed_rtt: Option<Duration>,
    rtt_variance: Duration,
    /// The server's clock at an instant, estimated from the latest pong.
    server_clock: Option<(Instant, u64)>,
}

impl Meter {
    pub fn sent(&mut self, bytes: usize) {
        self.frames_sent += 1;
        self.bytes_sent += bytes as u64;
    }

    pub fn received_bytes(&mut self, bytes: usize) {
        self.bytes_received += bytes as u64;
    }

    pub fn received_frame(&mut self) {
        self.frames_received += 1;
    }

    /// A round-trip sample; with the server's clock when it answered, the server time is estimated
    /// as that clock plus half the round trip, at `now`.
    pub fn pong(&mut self, rtt: Duration, server_time_ms: Option<u64>, now: Instant) {
        match self.smoothed_rtt {
            None => {
                self.smoothed_rtt = Some(rtt);
                self.rtt_variance = rtt / 2;
            }
            Some(smoothed) => {
                let deviation = smoothed.abs_diff(rtt);
                self.rtt_variance = (self.rtt_variance * 3 + deviation) / 4;
                self.smoothed_rtt = Some((smoothed * 7 + rtt) / 8);
            }
        }
        if let Some(server) = server_time_ms {
            self.server_clock = Some((now, server.saturating_add((rtt / 2).as_millis() as u64)));
        }
    }

    pub fn server_time_ms(&self, now: Instant) -> Option<u64> {
        let (at, server) = self.server_clock?;
        Some(server.saturating_add(now.saturating_duration_since(at).as_millis() as u64))
    }

    pub fn snapshot(&self, protocol_version: u8) -> SessionStats {
        SessionStats {
            protocol_version,
            rtt: self.smoothed_rtt,
            rtt_variance: self.smoothed_rtt.map(|_| self.rtt_variance),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            frames_sent: self.frames_sent,
            frames_received: self.frames_received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_round_trip_is_smoothed_and_the_server_clock_runs_on() {
        let start = Instant::now();
        let mut meter = Meter::default();
        meter.pong(Duration::from_millis(100), Some(5_000), start);
        let stats = meter.snapshot(2);
        assert_eq!(
            (stats.rtt, stats.rtt_variance),
            (Some(Duration::from_millis(100)), Some(Duration::from_millis(50)))
        );
        meter.pong(Duration::from_millis(20), Some(6_000), start + Duration::from_secs(1));
        let stats = meter.snapshot(2);
        assert_eq!(stats.rtt, Some(Duration::from_millis(90)), "7/8 of 100 plus 1/8 of 20");
        assert_eq!(stats.rtt_variance, Some(Duration::from_micros(57_500)), "3/4 of 50 plus 1/4 of 80");
        assert_eq!(meter.server_time_ms(start + Duration::from_millis(1500)), Some(6_010 + 500));
    }
}
