//! Latency samples and their percentiles.

use std::time::Duration;

/// Latencies of one phase, sorted once when it ends.
#[derive(Default)]
pub struct Latencies {
    samples: Vec<Duration>,
    pub failed: u64,
}

impl Latencies {
    pub fn with_capacity(n: usize) -> Self {
        Latencies { samples: Vec::with_capacity(n), failed: 0 }
    }

    pub fn record(&mut self, latency: Duration) {
        self.samples.push(latency);
    }

    pub fn merge(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
        self.failed += other.failed;
    }

    pub fn ok(&self) -> usize {
        self.samples.len()
    }

    pub fn sort(&mut self) {
        self.samples.sort_unstable();
    }

    /// The `q` quantile (nearest rank) of the sorted samples; zero when there are none.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.samples.len() as f64).ceil() as usize).clamp(1, self.samples.len());
        self.samples[rank - 1]
    }

    pub fn max(&self) -> Duration {
        self.samples.last().copied().unwrap_or_default()
    }

    /// `p50 0.41 ms, p95 0.83 ms, p99 1.50 ms, max 4.10 ms`.
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(self.quantile(0.50)),
            ms(self.quantile(0.95)),
            ms(self.quantile(0.99)),
            ms(self.max())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut l = Latencies::default();
        assert_eq!(l.quantile(0.5), Duration::ZERO);
        for ms in (1..=100).rev() {
            l.record(Duration::from_millis(ms));
        }
        l.sort();
        assert_eq!(l.quantile(0.50), Duration::from_millis(50));
        assert_eq!(l.quantile(0.95), Duration::from_millis(95));
        assert_eq!(l.quantile(0.99), Duration::from_millis(99));
        assert_eq!(l.quantile(1.0), Duration::from_millis(100));
        assert_eq!(l.max(), Duration::from_millis(100));
    }
}
