//! The receiver's side of the delivery modes: ordering per channel, duplicate suppression above the
//! replay window, the freshness rule of unreliable sequenced messages, and reassembly of fragments,
//! all within one memory bound per connection.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{seq_newer, RELIABLE_WINDOW};
use crate::protocol::frame::{Delivery, Fragment, Header, MessageType};
use crate::protocol::replay::ReplayWindow;

/// A 32-bit sequence number as a position on an unbounded line, next to the newest one seen (the
/// replay window that suppresses duplicates counts in 64 bits; the wire number wraps).
fn extend(newest: Option<u64>, sequence: u32) -> u64 {
    let Some(newest) = newest else { return sequence as u64 };
    let offset = sequence.wrapping_sub(newest as u32) as i32;
    newest.saturating_add_signed(offset as i64)
}

/// Incomplete messages of the unordered modes held at once.
const MAX_PARTIALS: usize = 16;
/// Channels that may be assembling a reliable ordered message at once when a new one would start over
/// the memory bound.
const MAX_ORDERED_PARTIALS: usize = 4;
/// The smallest payload of a fragment other than the last: a sender's fragments fill a datagram of at
/// least 576 bytes, so anything smaller only serves to inflate the receiver's bookkeeping.
pub(crate) const MIN_FRAGMENT_PAYLOAD: usize = 256;
/// What an incomplete message costs besides its payload: its bookkeeping, and a slot per fragment.
const PARTIAL_OVERHEAD: usize = 128;
const PIECE_OVERHEAD: usize = std::mem::size_of::<Option<Vec<u8>>>();
/// What a buffered out-of-order unit costs besides its body.
const HELD_OVERHEAD: usize = 64;

/// What became of a received unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand the unit's body to the session now (it is a whole message), then [`Receiver::pop_ready`].
    DeliverNow,
    /// Kept, or discarded as stale; acknowledge it, then [`Receiver::pop_ready`].
    Taken,
    /// Already received: the sender did not hear the acknowledgement, so acknowledge it at once.
    Duplicate,
    /// Not kept (beyond a window or the memory bound): do not acknowledge, the sender sends it again.
    Refused,
}

/// A message assembled from buffered units.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub message_type: MessageType,
    pub encrypted: bool,
    pub delivery: Delivery,
    pub channel: u8,
    pub body: Vec<u8>,
}

/// An authenticated peer broke the datagram rules (only the key holder could have sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Broken(pub &'static str);

struct Held {
    header: Header,
    body: Vec<u8>,
}

#[derive(Default)]
struct ChannelIn {
    /// Next reliable ordered sequence number to deliver.
    next: u32,
    buffered: BTreeMap<u32, Held>,
    /// The reliable ordered message whose fragments are being delivered in order.
    ordered: Option<Partial>,
    unsequenced: ReplayWindow,
    unreliable_last: Option<u32>,
}

struct Partial {
    channel: u8,
    delivery: Delivery,
    group: u32,
    sequence: Option<u32>,
    message_type: MessageType,
    encrypted: bool,
    pieces: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
    piece_len: Option<usize>,
    last_len: Option<usize>,
    started: Instant,
}

impl Partial {
    fn new(header: &Header, fragment: Fragment, now: Instant) -> Self {
        Partial {
            channel: header.channel,
            delivery: header.delivery,
            group: fragment.group,
            sequence: header.sequence,
            message_type: header.message_type,
            encrypted: header.encrypted,
            pieces: (0..fragment.count).map(|_| None).collect(),
            received: 0,
            bytes: 0,
            piece_len: None,
            last_len: None,
            started: now,
        }
    }

    /// What this message counts against the memory bound: its payload so far and its bookkeeping.
    fn cost(&self) -> usize {
        overhead(self.pieces.len()) + self.bytes
    }

    /// Adds a fragment; `Ok(true)` once every fragment is in.
    fn add(&mut self, header: &Header, fragment: Fragment, body: &[u8], max_message: usize) -> Result<bool, Broken> {
        if fragment.count as usize != self.pieces.len()
            || header.message_type != self.message_type
            || header.encrypted != self.encrypted
        {
            return Err(Broken("fragments of one message disagree on their count, type or flags"));
        }
        let last = fragment.index as usize + 1 == self.pieces.len();
        if last {
            if body.is_empty() {
                return Err(Broken("an empty last fragment"));
            }
            self.last_len = Some(body.len());
        } else {
            if body.len() < MIN_FRAGMENT_PAYLOAD {
                return Err(Broken("a fragment shorter than fragments may be"));
            }
            match self.piece_len {
                Some(len) if len != body.len() => return Err(Broken("fragments of one message differ in length")),
                _ => self.piece_len = Some(body.len()),
            }
        }
        if let (Some(piece), Some(last)) = (self.piece_len, self.last_len) {
            if last > piece {
                return Err(Broken("a last fragment longer than the others"));
            }
        }
        let slot = &mut self.pieces[fragment.index as usize];
        if slot.is_some() {
            return Ok(false);
        }
        self.bytes += body.len();
        if self.bytes > max_message {
            return Err(Broken("a fragmented message larger than the frame body limit"));
        }
        *slot = Some(body.to_vec());
        self.received += 1;
        Ok(self.received == self.pieces.len())
    }

    fn assemble(self) -> Delivered {
        debug_assert_eq!(self.received, self.pieces.len());
        let mut body = Vec::with_capacity(self.bytes);
        for piece in self.pieces.into_iter().flatten() {
            body.extend_from_slice(&piece);
        }
        Delivered {
            message_type: self.message_type,
            encrypted: self.encrypted,
            delivery: self.delivery,
            channel: self.channel,
            body,
        }
    }
}

/// The bookkeeping cost of an incomplete message of `count` fragments.
fn overhead(count: usize) -> usize {
    PARTIAL_OVERHEAD + count * PIECE_OVERHEAD
}

/// Counts of what the receiver discarded.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReceiveCounts {
    pub duplicates: u64,
    pub stale: u64,
    pub refused: u64,
    pub expired: u64,
}

pub(crate) struct Receiver {
    channels: Vec<Option<Box<ChannelIn>>>,
    partials: Vec<Partial>,
    ready: VecDeque<Delivered>,
    held: usize,
    max_held: usize,
    max_message: usize,
    timeout: Duration,
    pub counts: ReceiveCounts,
}

impl Receiver {
    pub fn new(max_held: usize, max_message: usize, timeout: Duration) -> Self {
        Receiver {
            channels: Vec::new(),
            partials: Vec::new(),
            ready: VecDeque::new(),
            held: 0,
            max_held,
            max_message,
            timeout,
            counts: ReceiveCounts::default(),
        }
    }

    fn channel(&mut self, channel: u8) -> &mut ChannelIn {
        let index = channel as usize;
        if self.channels.len() <= index {
            self.channels.resize_with(index + 1, || None);
        }
        self.channels[index].get_or_insert_with(Default::default)
    }

    pub fn pop_ready(&mut self) -> Option<Delivered> {
        self.ready.pop_front()
    }

    /// Takes one authenticated unit (its tag verified) of any type but Ack.
    pub fn on_unit(&mut self, header: &Header, body: &[u8], now: Instant) -> Result<Verdict, Broken> {
        let sequenced = !matches!(header.delivery, Delivery::UnreliableUnsequenced);
        if header.sequence.is_some() != sequenced {
            return Err(Broken("the sequence extension does not match the delivery mode"));
        }
        if let Some(fragment) = header.fragment {
            if fragment.count < 2 || fragment.index >= fragment.count {
                return Err(Broken("a fragment index outside its count"));
            }
            // More fragments than a message of the body limit can have at the smallest fragment size.
            if fragment.count as usize > self.max_message / MIN_FRAGMENT_PAYLOAD + 1 {
                return Err(Broken("more fragments than a message may have"));
            }
        }
        match (header.delivery, header.sequence) {
            (Delivery::Reliable, Some(sequence)) => self.reliable_ordered(header, sequence, body, now),
            (Delivery::ReliableUnsequenced, Some(sequence)) => self.reliable_unsequenced(header, sequence, body, now),
            (Delivery::Unreliable, Some(sequence)) => self.unreliable_sequenced(header, sequence, body, now),
            _ => match header.fragment {
                None => Ok(Verdict::DeliverNow),
                Some(fragment) => self.keyed_fragment(header, fragment, body, now),
            },
        }
    }

    fn reliable_ordered(
        &mut self,
        header: &Header,
        sequence: u32,
        body: &[u8],
        now: Instant,
    ) -> Result<Verdict, Broken> {
        let (max_held, held) = (self.max_held, self.held);
        let channel = self.channel(header.channel);
        // Serial arithmetic: `ahead` below 2^31 is newer than `next`, from 2^31 on it is older.
        let ahead = sequence.wrapping_sub(channel.next);
        if ahead >= 1 << 31 || channel.buffered.contains_key(&sequence) {
            self.counts.duplicates += 1;
            return Ok(Verdict::Duplicate);
        }
        if ahead > 0 {
            if ahead >= RELIABLE_WINDOW || held + HELD_OVERHEAD + body.len() > max_held {
                self.counts.refused += 1;
                return Ok(Verdict::Refused);
            }
            channel.buffered.insert(sequence, Held { header: *header, body: body.to_vec() });
            self.held += HELD_OVERHEAD + body.len();
            return Ok(Verdict::Taken);
        }
        // The next unit is always taken, so that the channel makes progress; only a new fragmented
        // message waits, over the bound, while enough others are being assembled (they complete, as
        // their units are taken, and free the memory).
        let starts_message = header.fragment.is_some_and(|f| f.index == 0);
        if starts_message && held > max_held && self.ordered_partials() >= MAX_ORDERED_PARTIALS {
            self.counts.refused += 1;
            return Ok(Verdict::Refused);
        }
        let channel = self.channel(header.channel);
        channel.next = channel.next.wrapping_add(1);
        let verdict = match header.fragment {
            None => Verdict::DeliverNow,
            Some(fragment) => {
                self.ordered_fragment(header, fragment, body, now)?;
                Verdict::Taken
            }
        };
        self.drain_ordered(header.channel, now)?;
        Ok(verdict)
    }

    /// Moves the channel's buffered units that are now in order to the ready queue.
    fn drain_ordered(&mut self, channel: u8, now: Instant) -> Result<(), Broken> {
        loop {
            let state = self.channel(channel);
            let next = state.next;
            let Some(held) = state.buffered.remove(&next) else { return Ok(()) };
            state.next = next.wrapping_add(1);
            self.held -= HELD_OVERHEAD + held.body.len();
            match held.header.fragment {
                None => self.ready.push_back(Delivered {
                    message_type: held.header.message_type,
                    encrypted: held.header.encrypted,
                    delivery: held.header.delivery,
                    channel,
                    body: held.body,
                }),
                Some(fragment) => self.ordered_fragment(&held.header, fragment, &held.body, now)?,
            }
        }
    }

    fn ordered_fragment(
        &mut self,
        header: &Header,
        fragment: Fragment,
        body: &[u8],
        now: Instant,
    ) -> Result<(), Broken> {
        let max_message = self.max_message;
        let channel = self.channel(header.channel);
        if fragment.index == 0 {
            if channel.ordered.is_some() {
                return Err(Broken("a new fragmented message before the previous one ended"));
            }
            channel.ordered = Some(Partial::new(header, fragment, now));
            self.held += overhead(fragment.count as usize);
        }
        let channel = self.channel(header.channel);
        let Some(partial) = channel.ordered.as_mut() else {
            return Err(Broken("a fragment without the start of its message"));
        };
        // Each fragment has its own sequence number, so in order means every earlier fragment is in.
        if partial.group != fragment.group || fragment.index as usize != partial.received {
            return Err(Broken("fragments of a reliable message out of order"));
        }
        let before = partial.bytes;
        let complete = partial.add(header, fragment, body, max_message)?;
        let added = partial.bytes - before;
        self.held += added;
        if complete {
            let partial = self.channel(header.channel).ordered.take().expect("present");
            self.held -= partial.cost();
            self.ready.push_back(partial.assemble());
        }
        Ok(())
    }

    fn reliable_unsequenced(
        &mut self,
        header: &Header,
        sequence: u32,
        body: &[u8],
        now: Instant,
    ) -> Result<Verdict, Broken> {
        let channel = self.channel(header.channel);
        let extended = extend(channel.unsequenced.newest(), sequence);
        if channel.unsequenced.check(extended).is_err() {
            // Older than the window means delivered: the sender never runs that far ahead.
            self.counts.duplicates += 1;
            return Ok(Verdict::Duplicate);
        }
        // Decided before the unit is recorded as seen: a refused unit must be taken when it comes again.
        if let Some(fragment) = header.fragment {
            if !self.admits_fragment(header, fragment, body) {
                self.counts.refused += 1;
                return Ok(Verdict::Refused);
            }
        }
        let channel = self.channel(header.channel);
        channel.unsequenced.commit(extended);
        match header.fragment {
            None => Ok(Verdict::DeliverNow),
            Some(fragment) => self.keyed_fragment(header, fragment, body, now),
        }
    }

    fn unreliable_sequenced(
        &mut self,
        header: &Header,
        sequence: u32,
        body: &[u8],
        now: Instant,
    ) -> Result<Verdict, Broken> {
        let channel = self.channel(header.channel);
        if channel.unreliable_last.is_some_and(|last| !seq_newer(sequence, last)) {
            self.counts.stale += 1;
            return Ok(Verdict::Taken);
        }
        match header.fragment {
            None => {
                channel.unreliable_last = Some(sequence);
                self.drop_older_partials(header.channel, sequence);
                Ok(Verdict::DeliverNow)
            }
            Some(fragment) => self.keyed_fragment(header, fragment, body, now),
        }
    }

    /// Channels assembling a reliable ordered message.
    fn ordered_partials(&self) -> usize {
        self.channels.iter().flatten().filter(|channel| channel.ordered.is_some()).count()
    }

    /// Whether a fragment of an unordered mode may be taken: always when its message is being
    /// assembled, and for a new message while fewer than [`MAX_PARTIALS`] are and it fits the bound.
    /// Over the bound a reliable unsequenced message may still start when no other of its mode is
    /// incomplete, so that two large ones cannot hold the memory between them for good.
    fn admits_fragment(&self, header: &Header, fragment: Fragment, body: &[u8]) -> bool {
        let known = self
            .partials
            .iter()
            .any(|p| p.channel == header.channel && p.delivery == header.delivery && p.group == fragment.group);
        if known {
            return true;
        }
        let cost = overhead(fragment.count as usize) + body.len();
        let reliable = header.delivery == Delivery::ReliableUnsequenced;
        let alone = reliable && !self.partials.iter().any(|p| p.delivery == Delivery::ReliableUnsequenced);
        self.partials.len() < MAX_PARTIALS && (self.held + cost <= self.max_held || alone)
    }

    /// Incomplete unreliable sequenced messages older than a delivered one can never be delivered.
    fn drop_older_partials(&mut self, channel: u8, delivered: u32) {
        let before = self.partials.len();
        let mut freed = 0;
        self.partials.retain(|p| {
            let stale = p.channel == channel
                && p.delivery == Delivery::Unreliable
                && p.sequence.is_some_and(|s| !seq_newer(s, delivered));
            if stale {
                freed += p.cost();
            }
            !stale
        });
        self.held -= freed;
        self.counts.expired += (before - self.partials.len()) as u64;
    }

    /// Fragments reassembled by their group (every mode but reliable ordered).
    fn keyed_fragment(
        &mut self,
        header: &Header,
        fragment: Fragment,
        body: &[u8],
        now: Instant,
    ) -> Result<Verdict, Broken> {
        let reliable = header.delivery == Delivery::ReliableUnsequenced;
        let index = self
            .partials
            .iter()
            .position(|p| p.channel == header.channel && p.delivery == header.delivery && p.group == fragment.group);
        let index = match index {
            Some(index) => index,
            None => {
                if !self.admits_fragment(header, fragment, body) {
                    // Unreliable: gone (and acknowledged). Reliable ones were refused before this.
                    self.counts.refused += 1;
                    return Ok(Verdict::Taken);
                }
                self.partials.push(Partial::new(header, fragment, now));
                self.held += overhead(fragment.count as usize);
                self.partials.len() - 1
            }
        };
        if !reliable && self.held + body.len() > self.max_held {
            self.counts.refused += 1;
            return Ok(Verdict::Taken);
        }
        if self.partials[index].sequence != header.sequence && header.delivery == Delivery::Unreliable {
            return Err(Broken("fragments of one unreliable message with different sequence numbers"));
        }
        let before = self.partials[index].bytes;
        let complete = self.partials[index].add(header, fragment, body, self.max_message)?;
        self.held += self.partials[index].bytes - before;
        if complete {
            let partial = self.partials.swap_remove(index);
            self.held -= partial.cost();
            if let (Delivery::Unreliable, Some(sequence)) = (partial.delivery, partial.sequence) {
                let channel = self.channel(partial.channel);
                if channel.unreliable_last.is_some_and(|last| !seq_newer(sequence, last)) {
                    self.counts.stale += 1;
                    return Ok(Verdict::Taken);
                }
                channel.unreliable_last = Some(sequence);
                let channel_number = partial.channel;
                self.ready.push_back(partial.assemble());
                self.drop_older_partials(channel_number, sequence);
                return Ok(Verdict::Taken);
            }
            self.ready.push_back(partial.assemble());
        }
        Ok(Verdict::Taken)
    }

    /// When the oldest incomplete unreliable message expires.
    pub fn deadline(&self) -> Option<Instant> {
        self.partials
            .iter()
            .filter(|p| p.delivery != Delivery::ReliableUnsequenced)
            .map(|p| p.started)
            .min()
            .map(|started| started + self.timeout)
    }

    /// Drops incomplete unreliable messages older than the reassembly timeout.
    pub fn expire(&mut self, now: Instant) {
        let timeout = self.timeout;
        let mut freed = 0;
        let mut expired = 0;
        self.partials.retain(|p| {
            let old = p.delivery != Delivery::ReliableUnsequenced && p.started + timeout <= now;
            if old {
                freed += p.cost();
                expired += 1;
            }
            !old
        });
        self.held -= freed;
        self.counts.expired += expired;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::Header;

    fn unit(delivery: Delivery, sequence: u32) -> Header {
        let mut header = Header::new(MessageType::Event, 20);
        header.delivery = delivery;
        header.sequence = Some(sequence);
        header.counter = Some(0);
        header
    }

    fn fragment(delivery: Delivery, sequence: Option<u32>, group: u32, index: u16, count: u16) -> Header {
        let mut header = Header::new(MessageType::Event, 0);
        header.delivery = delivery;
        header.sequence = sequence;
        header.counter = Some(0);
        header.fragment = Some(Fragment { group, index, count });
        header
    }

    #[test]
    fn fragment_bookkeeping_cannot_be_inflated() {
        let now = Instant::now();
        let mut receiver = Receiver::new(1 << 20, 1 << 19, Duration::from_secs(5));
        let piece = [7u8; MIN_FRAGMENT_PAYLOAD];
        // A count no message within the body limit needs, and fragments too small to be honest.
        let huge = fragment(Delivery::UnreliableUnsequenced, None, 1, 0, u16::MAX);
        assert!(receiver.on_unit(&huge, &piece, now).is_err());
        let tiny = fragment(Delivery::UnreliableUnsequenced, None, 2, 0, 4);
        assert!(receiver.on_unit(&tiny, &[1], now).is_err());
        let empty_last = fragment(Delivery::UnreliableUnsequenced, None, 3, 3, 4);
        assert!(receiver.on_unit(&empty_last, &[], now).is_err());
        // Incomplete messages of the unordered modes are capped; a reliable one past the cap is not
        // acknowledged (it comes again), and nothing is held for it.
        let mut receiver = Receiver::new(1 << 20, 1 << 19, Duration::from_secs(5));
        for group in 0..MAX_PARTIALS as u32 {
            let start = fragment(Delivery::ReliableUnsequenced, Some(group), group, 0, 2000);
            assert_eq!(receiver.on_unit(&start, &piece, now), Ok(Verdict::Taken));
        }
        let held = receiver.held;
        assert!(held >= MAX_PARTIALS * (2000 * PIECE_OVERHEAD + MIN_FRAGMENT_PAYLOAD), "bookkeeping is counted");
        let one_more = fragment(Delivery::ReliableUnsequenced, Some(99), 99, 0, 2000);
        assert_eq!(receiver.on_unit(&one_more, &piece, now), Ok(Verdict::Refused));
        assert_eq!(receiver.held, held);
        // Expiry and completion give back exactly what was counted.
        let mut receiver = Receiver::new(1 << 20, 1 << 19, Duration::from_secs(5));
        for index in 0..3 {
            let part = fragment(Delivery::UnreliableUnsequenced, None, 5, index, 3);
            let body: &[u8] = if index == 2 { &[1, 2, 3] } else { &piece };
            receiver.on_unit(&part, body, now).unwrap();
        }
        assert_eq!(receiver.pop_ready().map(|m| m.body.len()), Some(2 * MIN_FRAGMENT_PAYLOAD + 3));
        let part = fragment(Delivery::UnreliableUnsequenced, None, 6, 0, 3);
        receiver.on_unit(&part, &piece, now).unwrap();
        receiver.expire(now + Duration::from_secs(6));
        assert_eq!(receiver.held, 0);
    }

    #[test]
    fn sequence_numbers_wrap_in_every_sequenced_mode() {
        let now = Instant::now();
        let mut receiver = Receiver::new(1 << 20, 1 << 19, Duration::from_secs(5));
        receiver.channel(0).next = u32::MAX - 1;
        receiver.channel(0).unreliable_last = Some(u32::MAX);
        for sequence in [u32::MAX - 1, u32::MAX, 0, 1] {
            let verdict = receiver.on_unit(&unit(Delivery::Reliable, sequence), b"x", now);
            assert_eq!(verdict, Ok(Verdict::DeliverNow), "reliable {sequence}");
        }
        assert_eq!(receiver.on_unit(&unit(Delivery::Reliable, u32::MAX), b"x", now), Ok(Verdict::Duplicate));
        assert_eq!(receiver.on_unit(&unit(Delivery::Unreliable, 0), b"x", now), Ok(Verdict::DeliverNow));
        assert_eq!(receiver.on_unit(&unit(Delivery::Unreliable, u32::MAX), b"x", now), Ok(Verdict::Taken));
        for sequence in [u32::MAX - 1, u32::MAX, 0, 1] {
            let verdict = receiver.on_unit(&unit(Delivery::ReliableUnsequenced, sequence), b"x", now);
            assert_eq!(verdict, Ok(Verdict::DeliverNow), "unsequenced {sequence}");
        }
        let again = receiver.on_unit(&unit(Delivery::ReliableUnsequenced, u32::MAX), b"x", now);
        assert_eq!(again, Ok(Verdict::Duplicate));
    }
}
