//! The wall clock: the one place the service reads the time of day. Everything else is handed the time it works
//! with (the parsers a `now` for stamps without a year, the keeper the time of a poll), so that it can be tested
//! at any time and reads no clock of its own.

use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock now.
pub fn system() -> SystemTime {
    SystemTime::now()
}

/// Unix seconds now (0 for a clock set before 1970).
pub fn now() -> i64 {
    system()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix milliseconds now (0 for a clock set before 1970).
pub fn now_ms() -> i64 {
    system()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z: a clock reading before it is no reading.
        assert!(super::now() > 1_767_225_600);
        let (s, ms) = (super::now(), super::now_ms());
        assert!((ms / 1000 - s).abs() <= 1, "{s} s, {ms} ms");
    }
}
