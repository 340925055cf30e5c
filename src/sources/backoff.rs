//! Retry delays after failed fetches: exponential, capped, with "equal jitter".
//!
//! Pure arithmetic: no clock, no randomness of its own. The caller draws `jitter` (uniform in `[0, 1)`), which keeps
//! this testable and lets the caller seed it.
//!
//! How the waits combine: after a failure the caller waits
//! `max(backoff.delay(failures, jitter), retry_after.unwrap_or(0), source minimum interval)` — a server's
//! `Retry-After` can lengthen the wait but never shorten it below the backoff, and nothing ever brings a fetch
//! closer than the provider's hard minimum (dan.me.uk: 30 minutes). [`Backoff::wait`] computes exactly that.

use std::time::Duration;

/// Exponential backoff: `base`, `2·base`, `4·base`, … capped at `max`, then jittered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay after `failures` consecutive failures (0 failures: no delay).
    ///
    /// Equal jitter: half of the capped exponential step is fixed, the other half is scaled by `jitter` (clamped
    /// into `[0, 1)`; NaN counts as 0). Unlike full jitter, the delay never collapses to zero, so a failing source
    /// is never hammered; unlike no jitter, many instances that failed together spread their retries out.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let Some(exponent) = failures.checked_sub(1) else {
            return Duration::ZERO;
        };
        let factor = 2u32.checked_pow(exponent.min(31)).unwrap_or(u32::MAX);
        let step = self
            .base
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0 - f64::EPSILON)
        };
        let half = step / 2;
        half + half.mul_f64(jitter)
    }

    /// The wait before the next fetch after `failures` failures: the largest of the backoff delay, the server's
    /// `Retry-After` and the source's minimum interval.
    pub fn wait(
        &self,
        failures: u32,
        jitter: f64,
        retry_after: Option<Duration>,
        min_interval: Duration,
    ) -> Duration {
        self.delay(failures, jitter)
            .max(retry_after.unwrap_or(Duration::ZERO))
            .max(min_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_secs(300),
    };

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn grows_then_caps() {
        let got: Vec<f64> = (0..8).map(|f| secs(B.delay(f, 0.0))).collect();
        assert_eq!(got, [0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 150.0, 150.0]);
        assert_eq!(secs(B.delay(u32::MAX, 0.0)), 150.0);
    }

    #[test]
    fn jitter_spreads_the_upper_half() {
        assert_eq!(secs(B.delay(3, 0.5)), 30.0);
        assert!(secs(B.delay(3, 0.999_999)) < 40.0);
        assert_eq!(B.delay(3, 7.0), B.delay(3, 1.0 - f64::EPSILON));
        assert_eq!(B.delay(3, f64::NAN), B.delay(3, 0.0));
        assert_eq!(B.delay(3, -1.0), B.delay(3, 0.0));
    }

    #[test]
    fn retry_after_and_minimum_interval_only_lengthen() {
        let min = Duration::from_secs(1800);
        assert_eq!(
            B.wait(1, 0.0, Some(Duration::from_secs(7)), Duration::ZERO),
            Duration::from_secs(7)
        );
        assert_eq!(
            B.wait(3, 0.0, Some(Duration::from_secs(7)), Duration::ZERO),
            Duration::from_secs(20)
        );
        assert_eq!(B.wait(3, 0.0, Some(Duration::from_secs(7)), min), min);
    }
}
