//! CPU time from /proc/stat, to tell how much of a run the hypervisor took away (steal).
//!
//! On a shared virtual machine, steal is time a virtual CPU was ready to run but the host ran
//! something else; a latency figure measured under heavy steal says more about the neighbours than
//! about the backend, so the load generator prints it beside the percentiles.

/// The machine-wide `cpu` line's counters, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    busy: u64,
    idle: u64,
    steal: u64,
}

impl CpuTimes {
    /// `None` where /proc/stat is missing or unreadable (not Linux).
    pub fn now() -> Option<CpuTimes> {
        parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// (steal, busy) over the interval from `self` to `later`, each as a percentage of all CPU time.
    pub fn shares_until(&self, later: &CpuTimes) -> (f64, f64) {
        let steal = later.steal.saturating_sub(self.steal) as f64;
        let busy = later.busy.saturating_sub(self.busy) as f64;
        let idle = later.idle.saturating_sub(self.idle) as f64;
        let total = steal + busy + idle;
        if total == 0.0 {
            return (0.0, 0.0);
        }
        (100.0 * steal / total, 100.0 * busy / total)
    }
}

/// Fields after `cpu`: user nice system idle iowait irq softirq steal (guest time is already part of
/// user and nice, so it is not added again).
fn parse(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(CpuTimes { busy: get(0) + get(1) + get(2) + get(5) + get(6), idle: get(3) + get(4), steal: get(7) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_share() {
        let before = parse("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n").unwrap();
        let after = parse("cpu  200 0 100 1600 10 0 0 90 0 0\n").unwrap();
        let (steal, busy) = before.shares_until(&after);
        // 50 steal, 150 busy, 800 idle out of 1000.
        assert!((steal - 5.0).abs() < 1e-9 && (busy - 15.0).abs() < 1e-9, "{steal} {busy}");
        assert!(parse("intr 1 2\n").is_none());
    }
}
