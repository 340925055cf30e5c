//! Count rules a parsed feed must pass before it may replace the source's last good one: a floor, and a limit on
//! how far the list may shrink from one good fetch to the next.
//!
//! Pure: no IO, no clock. The caller stores [`entries`] of each accepted feed and passes it back as `previous`.

use ipnet::IpNet;

use super::{Feed, FeedError};

/// Per-source count rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountRules {
    /// Fewer entries than this rejects the feed (`BelowFloor`).
    pub min_entries: usize,
    /// Largest accepted drop against the previous good count, as a fraction: 0.5 accepts down to half.
    pub max_shrink: f64,
}

/// The number of entries a feed counts for: distinct exit networks, or — for a feed that lists no exits at all but
/// relay OR addresses (an Onionoo query without exits) — distinct OR networks. Distinct, because TorDNSEL lists an
/// address once per relay that used it and Onionoo lists an address once per role.
pub fn entries(feed: &Feed) -> usize {
    let list = if feed.exits.is_empty() {
        &feed.relays_or
    } else {
        &feed.exits
    };
    let mut nets: Vec<IpNet> = list.iter().map(|a| a.net).collect();
    nets.sort_unstable();
    nets.dedup();
    nets.len()
}

/// Checks `feed` against `rules`, given the [`entries`] of the source's last good feed, if any.
///
/// `BelowFloor` when `entries < min_entries`; `Shrink` when `entries < previous × (1 − max_shrink)`. A
/// `max_shrink` outside `[0, 1]` is clamped into it (1 disables the shrink rule, 0 forbids any shrinking).
pub fn check(feed: &Feed, rules: &CountRules, previous: Option<usize>) -> Result<(), FeedError> {
    let count = entries(feed);
    if count < rules.min_entries {
        return Err(FeedError::BelowFloor {
            count,
            floor: rules.min_entries,
        });
    }
    if let Some(previous) = previous {
        let max_shrink = if rules.max_shrink.is_nan() {
            1.0
        } else {
            rules.max_shrink.clamp(0.0, 1.0)
        };
        let allowed = previous as f64 * (1.0 - max_shrink);
        if (count as f64) < allowed {
            return Err(FeedError::Shrink {
                count,
                previous,
                max_shrink,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::FeedAddr;

    fn feed(n: u32) -> Feed {
        let exits = (0..n)
            .map(|i| FeedAddr::listed(std::net::IpAddr::from(std::net::Ipv4Addr::from(i)).into()))
            .collect();
        Feed {
            exits,
            ..Feed::default()
        }
    }

    const RULES: CountRules = CountRules {
        min_entries: 10,
        max_shrink: 0.5,
    };

    #[test]
    fn floor_and_shrink() {
        assert_eq!(
            check(&feed(9), &RULES, None),
            Err(FeedError::BelowFloor {
                count: 9,
                floor: 10
            })
        );
        assert_eq!(check(&feed(10), &RULES, None), Ok(()));
        assert_eq!(check(&feed(50), &RULES, Some(100)), Ok(()));
        assert_eq!(
            check(&feed(49), &RULES, Some(100)),
            Err(FeedError::Shrink {
                count: 49,
                previous: 100,
                max_shrink: 0.5
            })
        );
        assert_eq!(check(&feed(500), &RULES, Some(100)), Ok(()));
    }

    #[test]
    fn duplicates_count_once() {
        let mut f = feed(3);
        f.exits.extend(f.exits.clone());
        assert_eq!(entries(&f), 3);
        let relays_only = Feed {
            relays_or: f.exits.clone(),
            ..Feed::default()
        };
        assert_eq!(entries(&relays_only), 3);
    }
}
