//! The IO edge of the feeds: fetching bodies (`fetch`) and the retry arithmetic (`backoff`), plus the one random
//! draw the retries need.

pub mod backoff;
pub mod fetch;

/// A jitter draw, uniform in `[0, 1)`, for [`backoff::Backoff::delay`]: the clock hashed with the random keys the
/// standard library seeds from the operating system for every hasher. Spreading retries needs no more than that.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        crate::clock::system()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    // The top 53 bits as a fraction: every value exact in an f64, never 1.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests;
