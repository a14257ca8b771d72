//! The host's result queue: what the I/O thread learned, waiting for `poll_event` or `drain_events`.
//!
//! It has a lock of its own, apart from the session's, so a host draining results never waits for the
//! I/O thread's socket work or decoding. Its size is bounded in results and in bytes (decoded size),
//! because a peer on the path can choose how large each result is.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::PeerEvent;
use crate::protocol::codec::decoded_size;

/// What one result is charged against the byte bound: its parameters' decoded size and its text.
pub(crate) fn cost(event: &PeerEvent) -> usize {
    std::mem::size_of::<PeerEvent>()
        + match event {
            PeerEvent::Status(info) => info.message.len(),
            PeerEvent::OperationResponse { response, .. } => {
                decoded_size(&response.params) + response.debug_message.as_ref().map_or(0, String::len)
            }
            PeerEvent::Event { event, .. } => decoded_size(&event.params),
        }
}

/// Why a result was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    Count { limit: usize },
    Bytes { limit: usize },
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Overflow::Count { limit } => write!(f, "result queue full ({limit} results)"),
            Overflow::Bytes { limit } => write!(f, "result queue full ({limit} bytes)"),
        }
    }
}

/// How a wait for results ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// At least one result is queued.
    Ready,
    /// Nothing arrived within the timeout.
    TimedOut,
    /// Nothing is queued and nothing will arrive: no connection is running.
    NotConnected,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<PeerEvent>,
    bytes: usize,
    /// An I/O thread is running and may still add results.
    live: bool,
}

pub(crate) struct Results {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// The queue's length, readable without the lock, so a waiter can spin briefly before parking.
    queued: AtomicUsize,
    max_events: usize,
    max_bytes: usize,
}

/// How long a waiter spins before it parks. A result usually follows a request within tens of
/// microseconds; catching it spinning saves the waiter's wake-up (a futex, and in a virtual machine an
/// interprocessor interrupt), which costs about as much.
const SPIN: Duration = Duration::from_micros(50);

impl Results {
    pub fn new(max_events: usize, max_bytes: usize) -> Self {
        Results {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            queued: AtomicUsize::new(0),
            max_events,
            max_bytes,
        }
    }

    /// Queues results in order. Statuses are always taken (a connection reports a handful); other
    /// results are refused once a bound is reached, and the first refusal is returned.
    pub fn push(&self, batch: impl IntoIterator<Item = PeerEvent>) -> Result<(), Overflow> {
        let mut queue = self.queue.lock();
        let before = queue.events.len();
        let mut overflow = None;
        for event in batch {
            let size = cost(&event);
            if !matches!(event, PeerEvent::Status(_)) {
                let refusal = if queue.events.len() >= self.max_events {
                    Some(Overflow::Count { limit: self.max_events })
                } else if queue.bytes + size > self.max_bytes {
                    Some(Overflow::Bytes { limit: self.max_bytes })
                } else {
                    None
                };
                if let Some(refusal) = refusal {
                    overflow.get_or_insert(refusal);
                    continue;
                }
            }
            queue.bytes += size;
            queue.events.push_back(event);
        }
        if queue.events.len() > before {
            self.queued.store(queue.events.len(), Ordering::Release);
            self.ready.notify_all();
        }
        overflow.map_or(Ok(()), Err)
    }

    pub fn pop(&self) -> Option<PeerEvent> {
        let mut queue = self.queue.lock();
        let event = queue.events.pop_front()?;
        queue.bytes = queue.bytes.saturating_sub(cost(&event));
        self.queued.store(queue.events.len(), Ordering::Release);
        Some(event)
    }

    /// Moves every result into `into` (swapping buffers when `into` is empty, so no copy).
    pub fn drain(&self, into: &mut VecDeque<PeerEvent>) {
        let mut queue = self.queue.lock();
        if into.is_empty() {
            std::mem::swap(into, &mut queue.events);
        } else {
            into.extend(queue.events.drain(..));
        }
        queue.bytes = 0;
        self.queued.store(0, Ordering::Release);
    }

    /// Marks whether an I/O thread is running; waiters are woken either way.
    pub fn set_live(&self, live: bool) {
        self.queue.lock().live = live;
        self.ready.notify_all();
    }

    /// Blocks until a result is queued, `timeout` passes, or no connection is running.
    pub fn wait(&self, timeout: Duration) -> WaitOutcome {
        let started = Instant::now();
        let spin_until = started + SPIN.min(timeout);
        while Instant::now() < spin_until {
            if self.queued.load(Ordering::Acquire) > 0 {
                return WaitOutcome::Ready;
            }
            std::hint::spin_loop();
        }
        let deadline = started.checked_add(timeout);
        let mut queue = self.queue.lock();
        loop {
            if !queue.events.is_empty() {
                return WaitOutcome::Ready;
            }
            if !queue.live {
                return WaitOutcome::NotConnected;
            }
            match deadline {
                Some(deadline) => {
                    if self.ready.wait_until(&mut queue, deadline).timed_out() && queue.events.is_empty() {
                        return if queue.live { WaitOutcome::TimedOut } else { WaitOutcome::NotConnected };
                    }
                }
                None => self.ready.wait(&mut queue),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::{Params, Value};
    use crate::protocol::message::EventData;
    use crate::protocol::session::StatusInfo;
    use crate::protocol::status::StatusCode;

    fn event(bytes: usize) -> PeerEvent {
        let params = Params::from_iter([(245u8, Value::Bytes(vec![0; bytes]))]);
        PeerEvent::Event { event: EventData { code: 1, sender: 1, params }, encrypted: true }
    }

    fn status() -> PeerEvent {
        PeerEvent::Status(StatusInfo { code: StatusCode::Disconnect, reason: 0, message: "bye".into() })
    }

    #[test]
    fn bounds_apply_to_count_and_bytes_but_never_to_statuses() {
        let results = Results::new(2, 100_000);
        assert_eq!(results.push([event(1), event(1)]), Ok(()));
        assert_eq!(results.push([event(1), status()]), Err(Overflow::Count { limit: 2 }));
        let mut all = VecDeque::new();
        results.drain(&mut all);
        assert_eq!(all.len(), 3, "two events and the status");

        let results = Results::new(100, 10_000);
        assert_eq!(results.push([event(4000)]), Ok(()));
        assert_eq!(results.push([event(4000), event(4000)]), Err(Overflow::Bytes { limit: 10_000 }));
        assert!(results.pop().is_some());
        assert!(results.pop().is_some());
        assert!(results.pop().is_none());
        assert_eq!(results.push([event(4000), event(4000)]), Ok(()), "popping released the bytes");
    }

    #[test]
    fn wait_reports_ready_timeout_and_no_connection() {
        let results = std::sync::Arc::new(Results::new(10, 10_000));
        assert_eq!(results.wait(Duration::from_millis(1)), WaitOutcome::NotConnected);
        results.set_live(true);
        assert_eq!(results.wait(Duration::from_millis(5)), WaitOutcome::TimedOut);
        let pusher = {
            let results = results.clone();
            std::thread::spawn(move || results.push([status()]))
        };
        assert_eq!(results.wait(Duration::from_secs(20)), WaitOutcome::Ready);
        pusher.join().unwrap().unwrap();
        results.pop();
        let closer = {
            let results = results.clone();
            std::thread::spawn(move || results.set_live(false))
        };
        assert_eq!(results.wait(Duration::from_secs(20)), WaitOutcome::NotConnected);
        closer.join().unwrap();
    }
}
