//! Rate limits: token buckets for what one client sends and for key exchanges, and the flood meter
//! that tells a client being throttled now and then from one that floods.
//!
//! Per-connection buckets are plain values owned by the connection's task (no atomics on the relay
//! path); the key-exchange buckets are shared, behind one lock taken once per key exchange.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A token bucket: `rate` tokens a second up to `burst`. Spending may overdraw it; the debt is
/// repaid by refilling before anything more is allowed.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket { rate, burst, tokens: burst, refilled: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
    }

    /// Takes `amount`, overdrawing if need be.
    pub fn spend(&mut self, amount: f64, now: Instant) {
        self.refill(now);
        self.tokens -= amount;
    }

    /// `None` while tokens are left; otherwise when the debt will have been repaid.
    pub fn blocked_until(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        (self.tokens < 0.0).then(|| now + Duration::from_secs_f64(-self.tokens / self.rate))
    }

    /// Reserves one token: how long to wait for it, or `None` if that would be longer than `max_wait`
    /// (then nothing is taken).
    pub fn reserve(&mut self, max_wait: Duration, now: Instant) -> Option<Duration> {
        self.refill(now);
        let wait = if self.tokens >= 1.0 { 0.0 } else { (1.0 - self.tokens) / self.rate };
        if wait > max_wait.as_secs_f64() {
            return None;
        }
        self.tokens -= 1.0;
        Some(Duration::from_secs_f64(wait))
    }

    /// Returns a reserved token that was not used.
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// The address a limit applies to: an IPv4 address, or the /64 an IPv6 address belongs to (one
/// host can use a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(u128);

impl Source {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Source(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(u128::from(u32::from(v4))),
                None => Source((u128::from(v6) >> 64) << 64 | 1 << 32),
            },
        }
    }
}

/// How long key exchanges wait for their turn, from a server-wide budget and one per source.
pub struct KeyExchangeLimiter {
    state: Mutex<KeyExchangeBuckets>,
    per_source_rate: f64,
    per_source_burst: f64,
    max_wait: Duration,
}

struct KeyExchangeBuckets {
    global: TokenBucket,
    per_source: HashMap<Source, TokenBucket>,
}

/// Sources remembered before idle (full) buckets are forgotten.
const MAX_TRACKED_SOURCES: usize = 16_384;

impl KeyExchangeLimiter {
    pub fn new(rate: f64, burst: f64, per_source_rate: f64, per_source_burst: f64, max_wait: Duration) -> Self {
        let now = Instant::now();
        KeyExchangeLimiter {
            state: Mutex::new(KeyExchangeBuckets {
                global: TokenBucket::new(rate, burst, now),
                per_source: HashMap::new(),
            }),
            per_source_rate,
            per_source_burst,
            max_wait,
        }
    }

    /// How long a key exchange from `source` must wait, or `None` when it should be refused.
    pub fn admit(&self, source: Source, now: Instant) -> Option<Duration> {
        let mut state = self.state.lock();
        if state.per_source.len() >= MAX_TRACKED_SOURCES {
            state.per_source.retain(|_, bucket| !bucket.is_full(now));
        }
        let (rate, burst) = (self.per_source_rate, self.per_source_burst);
        let KeyExchangeBuckets { global, per_source } = &mut *state;
        let bucket = per_source.entry(source).or_insert_with(|| TokenBucket::new(rate, burst, now));
        let own_wait = bucket.reserve(self.max_wait, now)?;
        match global.reserve(self.max_wait, now) {
            Some(global_wait) => Some(own_wait.max(global_wait)),
            None => {
                bucket.give_back();
                None
            }
        }
    }
}

/// Tells a client that is throttled now and then from one that floods: over each window, how much
/// of the time it spent throttled.
#[derive(Debug, Clone)]
pub struct FloodMeter {
    window: Duration,
    window_start: Instant,
    throttled: Duration,
}

impl FloodMeter {
    pub fn new(window: Duration, now: Instant) -> Self {
        FloodMeter { window, window_start: now, throttled: Duration::ZERO }
    }

    /// Records `spent` throttled. Returns true once the client spent most of a whole window
    /// throttled (it is flooding); a window that ends without that starts the count over.
    pub fn record(&mut self, spent: Duration, now: Instant) -> bool {
        self.throttled += spent;
        if now.saturating_duration_since(self.window_start) < self.window {
            return false;
        }
        let flooding = self.throttled * 5 >= self.window * 4;
        self.window_start = now;
        self.throttled = Duration::ZERO;
        flooding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 5.0, start);
        bucket.spend(5.0, start);
        assert_eq!(bucket.blocked_until(start), None, "the burst is allowed");
        bucket.spend(2.0, start);
        let until = bucket.blocked_until(start).expect("overdrawn");
        assert!((until - start).as_secs_f64() > 0.19 && (until - start).as_secs_f64() < 0.21);
        assert_eq!(bucket.blocked_until(start + Duration::from_millis(201)), None, "the debt is repaid");
    }

    #[test]
    fn reservations_wait_their_turn_up_to_a_limit() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2.0, start);
        let max = Duration::from_millis(250);
        assert_eq!(bucket.reserve(max, start), Some(Duration::ZERO));
        assert_eq!(bucket.reserve(max, start), Some(Duration::ZERO));
        let wait = bucket.reserve(max, start).unwrap();
        assert!(wait > Duration::from_millis(90) && wait < Duration::from_millis(110), "{wait:?}");
        assert!(bucket.reserve(max, start).is_some(), "200 ms");
        assert_eq!(bucket.reserve(max, start), None, "300 ms is over the limit");
    }

    #[test]
    fn the_key_exchange_limiter_has_a_budget_per_source_and_overall() {
        let start = Instant::now();
        let limiter = KeyExchangeLimiter::new(100.0, 3.0, 1.0, 2.0, Duration::ZERO);
        let a = Source::of("10.0.0.1".parse().unwrap());
        let b = Source::of("10.0.0.2".parse().unwrap());
        assert!(limiter.admit(a, start).is_some());
        assert!(limiter.admit(a, start).is_some());
        assert_eq!(limiter.admit(a, start), None, "a used its own burst");
        assert!(limiter.admit(b, start).is_some());
        assert_eq!(limiter.admit(b, start), None, "the global burst is used up");
    }

    #[test]
    fn ipv6_sources_are_their_slash_64() {
        let one = Source::of("2001:db8:1:2::1".parse().unwrap());
        let same = Source::of("2001:db8:1:2:ffff::9".parse().unwrap());
        let other = Source::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(one, same);
        assert_ne!(one, other);
        assert_eq!(Source::of("::ffff:10.0.0.1".parse().unwrap()), Source::of("10.0.0.1".parse().unwrap()));
        assert_ne!(Source::of("::1".parse().unwrap()), Source::of("0.0.0.1".parse().unwrap()));
    }

    #[test]
    fn only_a_client_throttled_most_of_a_window_is_flooding() {
        let start = Instant::now();
        let window = Duration::from_secs(1);
        let mut meter = FloodMeter::new(window, start);
        assert!(!meter.record(Duration::from_millis(300), start + Duration::from_millis(500)));
        assert!(!meter.record(Duration::from_millis(100), start + window), "400 ms of 1 s");
        assert!(!meter.record(Duration::from_millis(500), start + window + Duration::from_millis(500)));
        assert!(meter.record(Duration::from_millis(400), start + window * 2), "900 ms of 1 s");
    }
}
