//! The Ack message (type 0x0B): which frame counters arrived, as ranges, and the receiver's side that
//! records them and decides when to acknowledge.

use std::time::{Duration, Instant};

use crate::protocol::codec::{put_varint, CodecError, Reader};

/// Ranges one Ack carries at most; a receiver refuses more, and forgets its oldest beyond them.
pub const MAX_ACK_RANGES: usize = 32;

/// Ack-eliciting frames received before an acknowledgement goes out at once.
const ACK_EVERY: u32 = 2;

/// A decoded Ack: inclusive counter ranges, newest first, disjoint and not adjacent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckFrame {
    /// Microseconds between receiving the largest counter and sending this Ack.
    pub ack_delay_us: u64,
    /// `(lowest, highest)`, newest range first.
    pub ranges: Vec<(u64, u64)>,
}

/// Why an Ack body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckError {
    Codec(CodecError),
    /// A range reaches below counter 0, or there are more than [`MAX_ACK_RANGES`].
    BadRange(&'static str),
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckError::Codec(error) => write!(f, "malformed Ack: {error}"),
            AckError::BadRange(what) => write!(f, "malformed Ack: {what}"),
        }
    }
}

impl From<CodecError> for AckError {
    fn from(error: CodecError) -> Self {
        AckError::Codec(error)
    }
}

impl AckFrame {
    pub fn largest(&self) -> Option<u64> {
        self.ranges.first().map(|&(_, high)| high)
    }

    /// `largest, ack_delay, first_range, range_count, (gap, length)*`, all varints.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let Some(&(low, high)) = self.ranges.first() else { return };
        put_varint(out, high);
        put_varint(out, self.ack_delay_us);
        put_varint(out, high - low);
        put_varint(out, (self.ranges.len() - 1) as u64);
        let mut previous_low = low;
        for &(low, high) in &self.ranges[1..] {
            put_varint(out, previous_low - high - 2);
            put_varint(out, high - low);
            previous_low = low;
        }
    }

    pub fn decode(body: &[u8]) -> Result<AckFrame, AckError> {
        let mut reader = Reader::new(body);
        let largest = reader.varint()?;
        let ack_delay_us = reader.varint()?;
        let first = reader.varint()?;
        let count = reader.varint()?;
        if count >= MAX_ACK_RANGES as u64 {
            return Err(AckError::BadRange("too many ranges"));
        }
        let low = largest.checked_sub(first).ok_or(AckError::BadRange("a range below counter 0"))?;
        let mut ranges = Vec::with_capacity(count as usize + 1);
        ranges.push((low, largest));
        let mut previous_low = low;
        for _ in 0..count {
            let gap = reader.varint()?;
            let length = reader.varint()?;
            let high = previous_low
                .checked_sub(gap)
                .and_then(|v| v.checked_sub(2))
                .ok_or(AckError::BadRange("a range below counter 0"))?;
            let low = high.checked_sub(length).ok_or(AckError::BadRange("a range below counter 0"))?;
            ranges.push((low, high));
            previous_low = low;
        }
        reader.finish()?;
        Ok(AckFrame { ack_delay_us, ranges })
    }

    /// Whether `counter` is acknowledged.
    pub fn contains(&self, counter: u64) -> bool {
        self.ranges.iter().any(|&(low, high)| (low..=high).contains(&counter))
    }
}

/// The receiving side: counters opened so far (the newest [`MAX_ACK_RANGES`] ranges) and when the next
/// Ack is due.
#[derive(Debug, Default)]
pub(crate) struct AckTracker {
    /// `(lowest, highest)`, newest first.
    ranges: Vec<(u64, u64)>,
    largest_at: Option<Instant>,
    /// Ack-eliciting frames received since the last Ack was sent.
    unacked_eliciting: u32,
    /// Something arrived that the sender should hear about at once (a gap, a reordered frame).
    immediate: bool,
    /// The delayed-ack deadline, set by the first unacknowledged ack-eliciting frame.
    deadline: Option<Instant>,
    /// There is something not yet acknowledged.
    dirty: bool,
}

impl AckTracker {
    /// Records an opened frame's counter.
    pub fn record(&mut self, counter: u64, eliciting: bool, now: Instant, max_delay: Duration) {
        let newest = self.ranges.first().map(|&(_, high)| high);
        let in_order = newest.is_none_or(|high| counter == high + 1);
        if newest.is_none_or(|high| counter > high) {
            self.largest_at = Some(now);
        }
        self.insert(counter);
        self.dirty = true;
        if eliciting {
            self.unacked_eliciting += 1;
            if !in_order {
                self.immediate = true;
            }
            if self.unacked_eliciting >= ACK_EVERY {
                self.immediate = true;
            }
            self.deadline.get_or_insert(now + max_delay);
        }
    }

    /// Ranges are newest first; the first range whose low end is at most one above `counter` is
    /// where it belongs (every newer range lies more than one above it).
    fn insert(&mut self, counter: u64) {
        let Some(index) = self.ranges.iter().position(|&(low, _)| counter >= low.saturating_sub(1)) else {
            self.ranges.push((counter, counter));
            self.ranges.truncate(MAX_ACK_RANGES);
            return;
        };
        let (low, high) = self.ranges[index];
        if (low..=high).contains(&counter) {
            return;
        }
        if counter > high + 1 {
            self.ranges.insert(index, (counter, counter));
        } else if counter == high + 1 {
            self.ranges[index].1 = counter;
        } else {
            // counter == low - 1: it may close the gap to the next older range.
            self.ranges[index].0 = counter;
            if self.ranges.get(index + 1).is_some_and(|&(_, older_high)| older_high + 1 == counter) {
                self.ranges[index].0 = self.ranges[index + 1].0;
                self.ranges.remove(index + 1);
            }
        }
        self.ranges.truncate(MAX_ACK_RANGES);
    }

    /// The peer sent something again: it did not hear the last acknowledgement.
    pub fn ack_now(&mut self) {
        if self.dirty {
            self.immediate = true;
        }
    }

    /// When an Ack must go out even if nothing else is sent.
    pub fn due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        if self.immediate {
            return self.largest_at.or(self.deadline);
        }
        self.deadline
    }

    /// Whether an Ack is wanted in the next datagram (any unacknowledged frame).
    pub fn wanted(&self) -> bool {
        self.dirty
    }

    /// The Ack to send now, without marking it sent (it may not fit the datagram).
    pub fn peek(&self, now: Instant, out: &mut AckFrame) -> bool {
        if !self.dirty || self.ranges.is_empty() {
            return false;
        }
        out.ranges.clear();
        out.ranges.extend_from_slice(&self.ranges);
        out.ack_delay_us = self.largest_at.map_or(0, |at| now.saturating_duration_since(at).as_micros() as u64);
        true
    }

    /// The Ack from [`peek`](Self::peek) went out: nothing is owed until the next frame arrives.
    pub fn mark_sent(&mut self) {
        self.dirty = false;
        self.immediate = false;
        self.unacked_eliciting = 0;
        self.deadline = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ranges_of(counters: &[u64]) -> Vec<(u64, u64)> {
        let mut tracker = AckTracker::default();
        let now = Instant::now();
        for &c in counters {
            tracker.record(c, true, now, Duration::from_millis(20));
        }
        tracker.ranges.clone()
    }

    #[test]
    fn counters_merge_into_ranges_newest_first() {
        assert_eq!(ranges_of(&[0, 1, 2]), vec![(0, 2)]);
        assert_eq!(ranges_of(&[0, 2]), vec![(2, 2), (0, 0)]);
        assert_eq!(ranges_of(&[0, 2, 1]), vec![(0, 2)]);
        assert_eq!(ranges_of(&[5, 3, 1, 4]), vec![(3, 5), (1, 1)]);
        assert_eq!(ranges_of(&[9, 9, 9]), vec![(9, 9)]);
    }

    #[test]
    fn the_oldest_ranges_are_forgotten_beyond_the_limit() {
        let counters: Vec<u64> = (0..40).map(|i| i * 2).collect();
        let ranges = ranges_of(&counters);
        assert_eq!(ranges.len(), MAX_ACK_RANGES);
        assert_eq!(ranges[0], (78, 78));
        assert_eq!(ranges[MAX_ACK_RANGES - 1], (16, 16));
    }

    #[test]
    fn a_worked_example_encodes_as_the_spec_shows() {
        // Counters 7..=9 and 2..=4: largest 9, first range 2, one more range, gap 9-... = 7-4-2 = 1.
        let ack = AckFrame { ack_delay_us: 300, ranges: vec![(7, 9), (2, 4)] };
        let mut out = Vec::new();
        ack.encode(&mut out);
        assert_eq!(out, [0x09, 0xAC, 0x02, 0x02, 0x01, 0x01, 0x02]);
        assert_eq!(AckFrame::decode(&out), Ok(ack));
    }

    #[test]
    fn hostile_acks_are_refused() {
        // First range below zero.
        assert!(AckFrame::decode(&[0x01, 0x00, 0x05, 0x00]).is_err());
        // 32 extra ranges.
        let mut body = vec![0x7F, 0x00, 0x00, 32];
        body.extend(std::iter::repeat_n([0, 0], 32).flatten());
        assert!(AckFrame::decode(&body).is_err());
        // Trailing bytes.
        assert!(AckFrame::decode(&[0x01, 0x00, 0x00, 0x00, 0x00]).is_err());
    }

    proptest! {
        #[test]
        fn tracker_ranges_cover_exactly_what_was_recorded(counters in proptest::collection::vec(0u64..62, 1..80)) {
            // Counters below 62 make at most 31 ranges: nothing is forgotten.
            let ranges = ranges_of(&counters);
            let ack = AckFrame { ack_delay_us: 0, ranges };
            let mut out = Vec::new();
            ack.encode(&mut out);
            let decoded = AckFrame::decode(&out).unwrap();
            for c in 0..62u64 {
                prop_assert_eq!(decoded.contains(c), counters.contains(&c), "counter {}", c);
            }
        }
    }
}
