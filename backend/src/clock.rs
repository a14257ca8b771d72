//! Wall-clock time as the database stores it: milliseconds since the Unix epoch.
//!
//! Every function that compares against "now" takes it as an argument instead of reading the clock
//! itself, so the callers decide (and tests can create sessions that are already in the past).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 for a clock set before 1970, which nothing here expects).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whole seconds since the Unix epoch, the unit of the webhook's timestamp header.
pub fn now_s() -> i64 {
    now_ms().div_euclid(1000)
}

/// A duration in milliseconds as `1h02m`, `29m59s` or `42s`, for the admin listing.
pub fn format_remaining(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, _) => format!("{h}h{min:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_is_compact() {
        assert_eq!(format_remaining(-5), "0s");
        assert_eq!(format_remaining(42_900), "42s");
        assert_eq!(format_remaining(29 * 60_000 + 59_000), "29m59s");
        assert_eq!(format_remaining(3_720_000), "1h02m");
    }
}
