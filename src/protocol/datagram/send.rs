//! The sender's queues: messages become units (one frame each, a fragment of a large message or the
//! whole of a small one), with their sequence numbers per channel and sequence space.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{seq_newer, RELIABLE_WINDOW};
use crate::protocol::frame::{Delivery, Fragment, MessageType, COUNTER_LEN, FIXED_HEADER_LEN, FRAGMENT_LEN};
use crate::protocol::frame::{SEQUENCE_LEN, TAG_LEN};

/// The body of one unit: a whole message, or a slice of a fragmented one (shared, not copied).
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Whole(Vec<u8>),
    Part(Arc<Vec<u8>>, u32, u32),
}

impl Payload {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Whole(body) => body,
            Payload::Part(message, start, end) => &message[*start as usize..*end as usize],
        }
    }
}

/// One frame's worth of a message, kept until acknowledged when reliable.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub message_type: MessageType,
    pub encrypt: bool,
    pub delivery: Delivery,
    pub channel: u8,
    pub sequence: Option<u32>,
    pub fragment: Option<Fragment>,
    pub payload: Payload,
}

impl Unit {
    pub fn is_reliable(&self) -> bool {
        matches!(self.delivery, Delivery::Reliable | Delivery::ReliableUnsequenced)
    }

    /// Bytes this unit takes in a datagram: header, body and tag.
    pub fn frame_len(&self) -> usize {
        frame_overhead(self.sequence.is_some(), self.fragment.is_some()) + self.payload.bytes().len()
    }
}

/// Header and tag bytes of an authenticated frame.
pub(crate) fn frame_overhead(sequenced: bool, fragment: bool) -> usize {
    FIXED_HEADER_LEN
        + COUNTER_LEN
        + if sequenced { SEQUENCE_LEN } else { 0 }
        + if fragment { FRAGMENT_LEN } else { 0 }
        + TAG_LEN
}

/// The sequence space a delivery mode uses, or `None` for UnreliableUnsequenced.
pub(crate) fn space(delivery: Delivery) -> Option<usize> {
    match delivery {
        Delivery::Reliable => Some(0),
        Delivery::ReliableUnsequenced => Some(1),
        Delivery::Unreliable => Some(2),
        Delivery::UnreliableUnsequenced => None,
    }
}

/// Which reliable sequence numbers of one channel and space are still unacknowledged.
#[derive(Debug, Default)]
struct Outstanding {
    /// The oldest unacknowledged sequence number (or the next to be sent when none is).
    base: u32,
    /// Acknowledged flags from `base` on.
    acked: VecDeque<bool>,
}

impl Outstanding {
    fn next(&self) -> u32 {
        self.base.wrapping_add(self.acked.len() as u32)
    }

    fn has_room(&self) -> bool {
        (self.acked.len() as u32) < RELIABLE_WINDOW
    }

    fn acknowledge(&mut self, sequence: u32) {
        let offset = sequence.wrapping_sub(self.base) as usize;
        if let Some(flag) = self.acked.get_mut(offset) {
            *flag = true;
        }
        while self.acked.front() == Some(&true) {
            self.acked.pop_front();
            self.base = self.base.wrapping_add(1);
        }
    }
}

/// A channel's sending state.
#[derive(Debug, Default)]
struct ChannelOut {
    reliable: [Outstanding; 2],
    /// Next unreliable-sequenced sequence number.
    unreliable_next: u32,
    /// Reliable units waiting for their sequence window.
    waiting: VecDeque<Unit>,
}

/// Messages waiting to be sealed.
#[derive(Debug, Default)]
pub(crate) struct SendQueues {
    channels: Vec<Option<Box<ChannelOut>>>,
    /// Reliable units numbered and ready, oldest first.
    pub reliable: VecDeque<Unit>,
    /// Lost reliable units to send again, before anything new.
    pub retransmit: VecDeque<Unit>,
    /// Unreliable units, oldest first.
    pub unreliable: VecDeque<Unit>,
    /// Unreliable messages waiting (their first units in `unreliable`).
    unreliable_messages: usize,
    /// Per-direction counter of fragmented messages.
    next_group: u32,
    /// Payload bytes queued (all three queues and the channels' waiting lists).
    pub queued_bytes: usize,
    /// Unreliable messages dropped because too many waited.
    pub unreliable_dropped: u64,
}

impl SendQueues {
    fn channel(&mut self, channel: u8) -> &mut ChannelOut {
        let index = channel as usize;
        if self.channels.len() <= index {
            self.channels.resize_with(index + 1, || None);
        }
        self.channels[index].get_or_insert_with(Default::default)
    }

    /// Splits a message into units and queues them. `max_frame` is the largest frame a datagram takes.
    #[allow(clippy::too_many_arguments)]
    pub fn push_message(
        &mut self,
        message_type: MessageType,
        encrypt: bool,
        delivery: Delivery,
        channel: u8,
        body: Vec<u8>,
        max_frame: usize,
        max_waiting_unreliable: usize,
    ) {
        let sequenced = space(delivery).is_some();
        let whole_room = max_frame - frame_overhead(sequenced, false);
        self.queued_bytes += body.len();
        let template =
            |payload, fragment| Unit { message_type, encrypt, delivery, channel, sequence: None, fragment, payload };
        let reliable = matches!(delivery, Delivery::Reliable | Delivery::ReliableUnsequenced);
        // Every fragment of an unreliable sequenced message carries the message's one number.
        let unreliable_sequence = (delivery == Delivery::Unreliable).then(|| {
            let out = self.channel(channel);
            let sequence = out.unreliable_next;
            out.unreliable_next = sequence.wrapping_add(1);
            sequence
        });
        let enqueue = |queues: &mut Self, mut unit: Unit| {
            if reliable {
                queues.channel(channel).waiting.push_back(unit);
            } else {
                unit.sequence = unreliable_sequence;
                queues.unreliable.push_back(unit);
            }
        };
        if body.len() <= whole_room {
            enqueue(self, template(Payload::Whole(body), None));
        } else {
            let room = max_frame - frame_overhead(sequenced, true);
            let count = body.len().div_ceil(room);
            let group = self.next_group;
            self.next_group = self.next_group.wrapping_add(1);
            let shared = Arc::new(body);
            for index in 0..count {
                let start = index * room;
                let end = (start + room).min(shared.len());
                let fragment = Fragment { group, index: index as u16, count: count as u16 };
                enqueue(self, template(Payload::Part(shared.clone(), start as u32, end as u32), Some(fragment)));
            }
        }
        if reliable {
            self.release(channel);
        } else {
            self.unreliable_messages += 1;
            self.bound_unreliable(max_waiting_unreliable);
        }
    }

    /// Unreliable messages beyond the bound go, oldest first: newer state matters more to a game.
    fn bound_unreliable(&mut self, max_messages: usize) {
        // Counted in units; a fragmented message counts once per fragment, which only drops sooner.
        while self.unreliable.len() > max_messages.max(1).saturating_mul(4) || self.unreliable_messages > max_messages {
            let Some(first) = self.unreliable.pop_front() else { break };
            self.queued_bytes -= first.payload.bytes().len();
            self.count_gone(&first);
            // The rest of a fragmented message is useless without this part.
            if let Some(fragment) = first.fragment {
                while self.unreliable.front().is_some_and(|u| u.fragment.is_some_and(|f| f.group == fragment.group)) {
                    let unit = self.unreliable.pop_front().expect("checked");
                    self.queued_bytes -= unit.payload.bytes().len();
                }
            }
            self.unreliable_dropped += 1;
        }
    }

    /// A waiting unreliable unit left the queue: the message it starts no longer waits.
    fn count_gone(&mut self, unit: &Unit) {
        if unit.fragment.is_none_or(|f| f.index == 0) {
            self.unreliable_messages = self.unreliable_messages.saturating_sub(1);
        }
    }

    /// Numbers the channel's waiting reliable units as far as its windows allow.
    fn release(&mut self, channel: u8) {
        let Some(out) = self.channels.get_mut(channel as usize).and_then(Option::as_mut) else { return };
        while let Some(unit) = out.waiting.front() {
            let window = &mut out.reliable[space(unit.delivery).expect("reliable")];
            if !window.has_room() {
                break;
            }
            let mut unit = out.waiting.pop_front().expect("checked");
            unit.sequence = Some(window.next());
            window.acked.push_back(false);
            self.reliable.push_back(unit);
        }
    }

    /// A reliable unit was acknowledged: its window may let waiting units go.
    pub fn acknowledged(&mut self, unit: &Unit) {
        self.queued_bytes = self.queued_bytes.saturating_sub(unit.payload.bytes().len());
        let (Some(space), Some(sequence)) = (space(unit.delivery), unit.sequence) else { return };
        let out = self.channel(unit.channel);
        out.reliable[space].acknowledge(sequence);
        if !out.waiting.is_empty() {
            self.release(unit.channel);
        }
    }

    /// Payload bytes of a unit that left the queues for good (sent unreliable, or dropped).
    pub fn sent_unreliable(&mut self, unit: &Unit) {
        self.queued_bytes = self.queued_bytes.saturating_sub(unit.payload.bytes().len());
        self.count_gone(unit);
    }

    /// Drops everything waiting (a goodbye supersedes it).
    pub fn clear(&mut self) {
        self.reliable.clear();
        self.retransmit.clear();
        self.unreliable.clear();
        self.unreliable_messages = 0;
        for channel in self.channels.iter_mut().flatten() {
            channel.waiting.clear();
        }
        self.queued_bytes = 0;
    }

    /// Lost reliable units are sent again, in sequence order, ahead of new ones.
    pub fn requeue(&mut self, lost: &mut Vec<Unit>) {
        lost.sort_by(|a, b| match (a.sequence, b.sequence) {
            (Some(x), Some(y)) if seq_newer(x, y) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if seq_newer(y, x) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Equal,
        });
        // Behind those lost before: the oldest loss (often the unit the receiver waits for) goes first.
        self.retransmit.extend(lost.drain(..));
    }
}
