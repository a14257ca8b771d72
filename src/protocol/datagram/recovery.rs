//! The sender's side of reliability: what was sent under which counter, round-trip estimates, loss
//! detection (three counters later, or 9/8 of a round trip), the probe timeout, and a NewReno
//! congestion window in bytes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::ack::AckFrame;
use super::send::Unit;

/// A frame sent this many counters before an acknowledged one is lost (fast retransmit on gaps).
const PACKET_THRESHOLD: u64 = 3;
/// Smallest probe timeout: below it a jittery path sees spurious retransmissions.
const MIN_PTO: Duration = Duration::from_millis(50);
/// The congestion window never grows past this (an application-limited sender would inflate it).
const MAX_WINDOW: usize = 16 * 1024 * 1024;
/// Datagrams in flight at the start. Game traffic is small and steady; a larger first window than
/// TCP's lets a burst (a join, a level load) out in one round trip.
const INITIAL_WINDOW: usize = 32;
/// The window never shrinks below this many datagrams. Wireless paths lose packets that no queue
/// dropped; halving down to two datagrams on each such loss (NewReno's floor) starves a game's
/// steady stream for nothing, while 16 datagrams per round trip cannot congest a path that carries
/// a game at all.
const MIN_WINDOW: usize = 16;
/// Probes sent at each probe timeout.
pub(crate) const PROBES: u8 = 2;
/// Oldest entries are given up (as lost) beyond this many frames awaiting an acknowledgement.
const MAX_TRACKED: usize = 1 << 16;

/// One authenticated frame sent and not yet acknowledged or declared lost.
pub(crate) struct SentFrame {
    pub sent_at: Instant,
    /// Datagram bytes the frame took; counted in flight when ack-eliciting.
    pub size: usize,
    pub eliciting: bool,
    /// A reliable unit to send again if this frame is lost.
    pub unit: Option<Unit>,
}

/// What a timeout asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    Nothing,
    /// Send one probe now, outside the congestion window.
    Probe,
    /// Too many probe timeouts in a row without an acknowledgement.
    ConnectionLost,
}

pub(crate) struct Recovery {
    /// Counter of `sent[0]`.
    base: u64,
    sent: VecDeque<Option<SentFrame>>,
    largest_acked: Option<u64>,
    srtt: Duration,
    rttvar: Duration,
    latest_rtt: Duration,
    min_rtt: Option<Duration>,
    has_sample: bool,
    max_ack_delay: Duration,
    pto_count: u32,
    max_probe_timeouts: u32,
    last_eliciting_sent: Option<Instant>,
    bytes_in_flight: usize,
    window: usize,
    slow_start_threshold: usize,
    recovery_start: Option<Instant>,
    mtu: usize,
    loss_time: Option<Instant>,
    /// Frames declared lost, ever (reliable or not).
    pub lost_frames: u64,
}

impl Recovery {
    pub fn new(mtu: usize, initial_rtt: Duration, max_ack_delay: Duration, max_probe_timeouts: u32) -> Self {
        Recovery {
            base: 0,
            sent: VecDeque::new(),
            largest_acked: None,
            srtt: initial_rtt,
            rttvar: initial_rtt / 2,
            latest_rtt: initial_rtt,
            min_rtt: None,
            has_sample: false,
            max_ack_delay,
            pto_count: 0,
            max_probe_timeouts,
            last_eliciting_sent: None,
            bytes_in_flight: 0,
            window: INITIAL_WINDOW * mtu,
            slow_start_threshold: usize::MAX,
            recovery_start: None,
            mtu,
            loss_time: None,
            lost_frames: 0,
        }
    }

    pub fn smoothed_rtt(&self) -> Option<Duration> {
        self.has_sample.then_some(self.srtt)
    }

    pub fn window(&self) -> usize {
        self.window
    }

    pub fn bytes_in_flight(&self) -> usize {
        self.bytes_in_flight
    }

    /// Whether an ack-eliciting frame of `size` bytes fits the congestion window.
    pub fn fits(&self, size: usize) -> bool {
        self.bytes_in_flight + size <= self.window
    }

    /// Records a sent frame. Returns a reliable unit given up to keep the log bounded (to be sent again).
    #[must_use]
    pub fn on_sent(&mut self, counter: u64, frame: SentFrame) -> Option<Unit> {
        if self.sent.is_empty() {
            self.base = counter;
        }
        let index = counter.saturating_sub(self.base) as usize;
        // Counters are consecutive; a counter used outside the link (there is none today) leaves a hole.
        while self.sent.len() < index {
            self.sent.push_back(None);
        }
        if frame.eliciting {
            self.bytes_in_flight += frame.size;
            self.last_eliciting_sent = Some(frame.sent_at);
        }
        self.sent.push_back(Some(frame));
        let mut given_up = None;
        if self.sent.len() > MAX_TRACKED {
            if let Some(Some(oldest)) = self.sent.pop_front() {
                self.forget(&oldest);
                self.lost_frames += 1;
                given_up = oldest.unit;
            }
            self.base += 1;
            self.trim();
        }
        given_up
    }

    fn forget(&mut self, frame: &SentFrame) {
        if frame.eliciting {
            self.bytes_in_flight -= frame.size;
        }
    }

    /// Takes the frames an Ack acknowledges: their reliable units go to `acked`, and frames the Ack
    /// shows lost go to `lost` (reliable ones as units to send again). Returns the count of newly
    /// acknowledged frames.
    pub fn on_ack(&mut self, ack: &AckFrame, now: Instant, acked: &mut Vec<Unit>, lost: &mut Vec<Unit>) -> usize {
        let end = self.base + self.sent.len() as u64;
        // Counters never sent are ignored: an Ack cannot claim more than was sent.
        let Some(largest) = ack.largest().map(|largest| largest.min(end.saturating_sub(1))) else { return 0 };
        let mut newly = 0;
        let mut largest_newly_acked: Option<(Instant, bool)> = None;
        for &(low, high) in &ack.ranges {
            // Only what is tracked: a hostile range of 2^64 counters costs no more than the log.
            let low = low.max(self.base);
            let high = high.min(end.saturating_sub(1));
            if low > high || self.sent.is_empty() {
                continue;
            }
            for counter in low..=high {
                let index = (counter - self.base) as usize;
                let Some(frame) = self.sent[index].take() else { continue };
                newly += 1;
                if counter == largest {
                    largest_newly_acked = Some((frame.sent_at, frame.eliciting));
                }
                self.forget(&frame);
                if frame.eliciting {
                    self.on_frame_acked(frame.size, frame.sent_at);
                }
                if let Some(unit) = frame.unit {
                    acked.push(unit);
                }
            }
        }
        if newly == 0 {
            return 0;
        }
        self.largest_acked = Some(self.largest_acked.map_or(largest, |known| known.max(largest)));
        if let Some((sent_at, true)) = largest_newly_acked {
            let delay = Duration::from_micros(ack.ack_delay_us).min(self.max_ack_delay);
            self.sample_rtt(now.saturating_duration_since(sent_at), delay);
        }
        // An acknowledgement shows the path works: probes start over.
        self.pto_count = 0;
        self.detect_lost(now, lost);
        self.trim();
        newly
    }

    fn sample_rtt(&mut self, latest: Duration, ack_delay: Duration) {
        let min_rtt = self.min_rtt.map_or(latest, |min| min.min(latest));
        self.min_rtt = Some(min_rtt);
        let adjusted = if latest >= min_rtt + ack_delay { latest - ack_delay } else { latest };
        self.latest_rtt = latest;
        if !self.has_sample {
            self.srtt = adjusted;
            self.rttvar = adjusted / 2;
            self.has_sample = true;
            return;
        }
        let deviation = self.srtt.abs_diff(adjusted);
        self.rttvar = (self.rttvar * 3 + deviation) / 4;
        self.srtt = (self.srtt * 7 + adjusted) / 8;
    }

    fn loss_delay(&self) -> Duration {
        (self.srtt.max(self.latest_rtt) * 9 / 8).max(Duration::from_millis(1))
    }

    /// Declares lost what was sent well before the largest acknowledged frame.
    pub fn detect_lost(&mut self, now: Instant, lost: &mut Vec<Unit>) {
        self.loss_time = None;
        let Some(largest) = self.largest_acked else { return };
        let delay = self.loss_delay();
        let mut congestion_from: Option<Instant> = None;
        for index in 0..self.sent.len() {
            let counter = self.base + index as u64;
            if counter >= largest {
                break;
            }
            let Some(frame) = &self.sent[index] else { continue };
            let late = frame.sent_at + delay;
            if largest - counter >= PACKET_THRESHOLD || late <= now {
                let frame = self.sent[index].take().expect("checked above");
                self.forget(&frame);
                self.lost_frames += 1;
                if frame.eliciting {
                    congestion_from = Some(congestion_from.map_or(frame.sent_at, |at| at.max(frame.sent_at)));
                }
                if let Some(unit) = frame.unit {
                    lost.push(unit);
                }
            } else {
                self.loss_time = Some(self.loss_time.map_or(late, |at| at.min(late)));
            }
        }
        if let Some(sent_at) = congestion_from {
            self.on_congestion(sent_at, now);
        }
    }

    fn on_frame_acked(&mut self, size: usize, sent_at: Instant) {
        if self.recovery_start.is_some_and(|start| sent_at <= start) {
            return;
        }
        // A sender that does not fill its window learns nothing about the path: the window grows
        // only while at least half of it is in use.
        if (self.bytes_in_flight + size) * 2 < self.window {
            return;
        }
        if self.window < self.slow_start_threshold {
            self.window += size;
        } else {
            self.window += (self.mtu * size / self.window).max(1);
        }
        self.window = self.window.min(MAX_WINDOW);
    }

    /// Once per round trip at most: halve the window.
    fn on_congestion(&mut self, sent_at: Instant, now: Instant) {
        if self.recovery_start.is_some_and(|start| sent_at <= start) {
            return;
        }
        self.recovery_start = Some(now);
        self.window = (self.window / 2).max(MIN_WINDOW * self.mtu);
        self.slow_start_threshold = self.window;
    }

    fn trim(&mut self) {
        while let Some(None) = self.sent.front() {
            self.sent.pop_front();
            self.base += 1;
        }
    }

    fn probe_timeout(&self) -> Duration {
        let base = (self.srtt + (self.rttvar * 4).max(Duration::from_millis(1)) + self.max_ack_delay).max(MIN_PTO);
        base.saturating_mul(1 << self.pto_count.min(16))
    }

    /// The next time [`on_timeout`](Self::on_timeout) has work.
    pub fn deadline(&self) -> Option<Instant> {
        let probe = (self.bytes_in_flight > 0).then(|| self.last_eliciting_sent.map(|at| at + self.probe_timeout()));
        [self.loss_time, probe.flatten()].into_iter().flatten().min()
    }

    /// A loss or probe deadline passed. Lost reliable units go to `lost` to be sent again.
    pub fn on_timeout(&mut self, now: Instant, lost: &mut Vec<Unit>) -> Timeout {
        if self.loss_time.is_some_and(|at| at <= now) {
            self.detect_lost(now, lost);
            self.trim();
            return Timeout::Nothing;
        }
        let probe_due =
            self.bytes_in_flight > 0 && self.last_eliciting_sent.is_some_and(|at| at + self.probe_timeout() <= now);
        if !probe_due {
            return Timeout::Nothing;
        }
        self.pto_count += 1;
        if self.pto_count > self.max_probe_timeouts {
            return Timeout::ConnectionLost;
        }
        // The two oldest reliable units go out again as probes (two, so that one lost probe or its
        // lost acknowledgement does not cost another backoff); with none, what is in flight is
        // unreliable and given up.
        let mut probed = 0;
        for index in 0..self.sent.len() {
            if probed == PROBES {
                break;
            }
            if self.sent[index].as_ref().is_some_and(|frame| frame.unit.is_some()) {
                let frame = self.sent[index].take().expect("checked");
                self.forget(&frame);
                lost.extend(frame.unit);
                probed += 1;
            }
        }
        if probed == 0 {
            for slot in self.sent.iter_mut() {
                if let Some(frame) = slot.take() {
                    if frame.eliciting {
                        self.bytes_in_flight -= frame.size;
                        self.lost_frames += 1;
                    }
                }
            }
        }
        self.trim();
        // The probe restarts the timer from when it is sent.
        self.last_eliciting_sent = Some(now);
        Timeout::Probe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(at: Instant) -> SentFrame {
        SentFrame { sent_at: at, size: 100, eliciting: true, unit: None }
    }

    fn ack(ranges: Vec<(u64, u64)>) -> AckFrame {
        AckFrame { ack_delay_us: 0, ranges }
    }

    #[test]
    fn a_gap_of_three_counters_is_a_loss_and_halves_the_window() {
        let now = Instant::now();
        let mut recovery = Recovery::new(1200, Duration::from_millis(100), Duration::from_millis(20), 10);
        for counter in 0..5 {
            let _ = recovery.on_sent(counter, frame(now));
        }
        let window = recovery.window();
        let (mut acked, mut lost) = (Vec::new(), Vec::new());
        let later = now + Duration::from_millis(10);
        assert_eq!(recovery.on_ack(&ack(vec![(3, 4)]), later, &mut acked, &mut lost), 2);
        // Counter 0 is 4 below the largest acknowledged, counter 1 is 3 below: both lost.
        assert_eq!(recovery.lost_frames, 2);
        assert!(recovery.window() < window + 200);
        assert_eq!(recovery.bytes_in_flight(), 100, "counter 2 is still in flight");
        assert!(recovery.deadline().is_some());
    }

    #[test]
    fn huge_hostile_ranges_cost_only_the_log() {
        let now = Instant::now();
        let mut recovery = Recovery::new(1200, Duration::from_millis(100), Duration::from_millis(20), 10);
        let _ = recovery.on_sent(0, frame(now));
        let (mut acked, mut lost) = (Vec::new(), Vec::new());
        assert_eq!(recovery.on_ack(&ack(vec![(0, u64::MAX - 1)]), now, &mut acked, &mut lost), 1);
        assert_eq!(recovery.bytes_in_flight(), 0);
    }

    #[test]
    fn probe_timeouts_back_off_and_end_in_a_lost_connection() {
        let start = Instant::now();
        let mut recovery = Recovery::new(1200, Duration::from_millis(100), Duration::from_millis(20), 3);
        let _ = recovery.on_sent(0, frame(start));
        let mut lost = Vec::new();
        let mut now = start;
        let mut gaps = Vec::new();
        loop {
            let due = recovery.deadline().expect("something is in flight");
            gaps.push(due - now);
            now = due;
            match recovery.on_timeout(now, &mut lost) {
                Timeout::Probe => {
                    let _ = recovery.on_sent(recovery.base + recovery.sent.len() as u64, frame(now));
                }
                Timeout::ConnectionLost => break,
                Timeout::Nothing => {}
            }
        }
        assert_eq!(gaps.len(), 4);
        assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "backoff: {gaps:?}");
    }
}
