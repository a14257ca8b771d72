//! A room's event cache: events raised with Cache AddToRoomCache (247 = 4), which every player who
//! joins later receives, in the order they were raised, before any live event. The cache is bounded
//! in events and bytes per room; a RaiseEvent that would exceed it is refused, never dropped.

use std::collections::VecDeque;
use std::sync::Arc;

use sealnet::protocol::sealing::SendOptions;

/// One cached event, encoded once, as it was relayed.
#[derive(Debug, Clone)]
pub struct CachedEvent {
    pub sender: i32,
    pub code: u8,
    pub body: Arc<[u8]>,
    pub needs_version: u8,
    pub options: SendOptions,
}

/// The cache is full: the event was neither cached nor relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheFull {
    pub max_events: usize,
    pub max_bytes: usize,
}

impl CacheFull {
    pub fn message(&self) -> String {
        format!(
            "the room's event cache is full (at most {} events and {} bytes): remove cached events first; \
             the event was not relayed",
            self.max_events, self.max_bytes
        )
    }
}

/// The cached events of one room, oldest first.
#[derive(Debug, Default)]
pub struct EventCache {
    events: VecDeque<CachedEvent>,
    bytes: usize,
}

impl EventCache {
    /// Adds an event at the end, unless that would exceed `max_events` or `max_bytes`.
    pub fn add(&mut self, event: CachedEvent, max_events: usize, max_bytes: usize) -> Result<(), CacheFull> {
        if self.events.len() >= max_events || self.bytes + event.body.len() > max_bytes {
            return Err(CacheFull { max_events, max_bytes });
        }
        self.bytes += event.body.len();
        self.events.push_back(event);
        Ok(())
    }

    /// Removes the events `remove` picks; returns how many.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&CachedEvent) -> bool) -> usize {
        let before = self.events.len();
        let mut bytes = self.bytes;
        self.events.retain(|event| {
            let gone = remove(event);
            if gone {
                bytes -= event.body.len();
            }
            !gone
        });
        self.bytes = bytes;
        before - self.events.len()
    }

    /// Removes the events of `code` (0: any code) from the senders in `senders` (`None`: any sender).
    pub fn remove(&mut self, code: u8, senders: Option<&[i32]>) -> usize {
        self.remove_where(|event| {
            (code == 0 || event.code == code)
                && senders.is_none_or(|senders| senders.binary_search(&event.sender).is_ok())
        })
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &CachedEvent> {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sender: i32, code: u8, size: usize) -> CachedEvent {
        CachedEvent { sender, code, body: Arc::from(vec![0u8; size]), needs_version: 1, options: SendOptions::RELIABLE }
    }

    fn codes(cache: &EventCache) -> Vec<(i32, u8)> {
        cache.iter().map(|event| (event.sender, event.code)).collect()
    }

    #[test]
    fn removal_by_code_and_sender_keeps_the_order_of_the_rest() {
        let mut cache = EventCache::default();
        for (sender, code) in [(1, 5), (2, 5), (1, 6), (3, 5), (2, 7)] {
            cache.add(event(sender, code, 10), 100, 1000).unwrap();
        }
        assert_eq!(cache.remove(5, Some(&[1, 3])), 2);
        assert_eq!(codes(&cache), [(2, 5), (1, 6), (2, 7)]);
        assert_eq!(cache.remove(0, Some(&[2])), 2, "code 0 is every code");
        assert_eq!(codes(&cache), [(1, 6)]);
        assert_eq!(cache.remove(6, None), 1);
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.bytes, 0);
    }

    #[test]
    fn the_cache_is_bounded_in_events_and_bytes() {
        let mut cache = EventCache::default();
        cache.add(event(1, 1, 60), 2, 100).unwrap();
        assert_eq!(cache.add(event(1, 1, 41), 2, 100), Err(CacheFull { max_events: 2, max_bytes: 100 }));
        cache.add(event(1, 1, 40), 2, 100).unwrap();
        assert!(cache.add(event(1, 1, 0), 2, 100).is_err(), "two events at most");
        cache.remove(1, None);
        cache.add(event(1, 1, 100), 2, 100).unwrap();
    }
}
