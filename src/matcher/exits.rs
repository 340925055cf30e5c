//! The per-exit series (`torwatch_tor_hits_by_exit_total`) with their hard cap and idle eviction, and the record of
//! which exits were seen in the last 24 hours. Allocates only when an exit is seen for the first time.

use super::metrics::ExitLabels;
use super::EntryLabels;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::collections::HashMap;

/// How long an exit counts towards the distinct-exits gauge after its last hit.
pub const DISTINCT_WINDOW: i64 = 24 * 3600;

/// Bound on the distinct-exits record, whatever the list holds (a list of wide networks could otherwise grow it).
const DISTINCT_MAX: usize = 1 << 20;

struct Series {
    labels: ExitLabels,
    counter: Counter,
    last: i64,
}

/// Exit address → its live series, never more than `cap` of them.
pub struct ExitSeries {
    family: Family<ExitLabels, Counter>,
    series: HashMap<Box<str>, Series>,
    cap: usize,
    idle: i64,
}

impl ExitSeries {
    pub fn new(family: Family<ExitLabels, Counter>, cap: usize, idle: i64) -> ExitSeries {
        ExitSeries {
            family,
            series: HashMap::new(),
            cap,
            idle,
        }
    }

    /// Counts one hit of the exit. A new exit gets a series only while fewer than `cap` exist.
    pub fn hit(&mut self, exit: &EntryLabels, now: i64) {
        if let Some(s) = self.series.get_mut(&*exit.addr) {
            if s.labels.nickname == *exit.nickname && s.labels.country == *exit.country {
                s.counter.inc();
                s.last = s.last.max(now);
                return;
            }
            // The relay behind the address changed name or country: retire the old series.
            self.family.remove(&s.labels);
            self.series.remove(&*exit.addr);
        }
        if self.series.len() >= self.cap {
            return;
        }
        let labels = ExitLabels {
            exit: exit.addr.to_string(),
            nickname: exit.nickname.to_string(),
            country: exit.country.to_string(),
        };
        let counter = self.family.get_or_create(&labels).clone();
        counter.inc();
        self.series.insert(
            exit.addr.clone(),
            Series {
                labels,
                counter,
                last: now,
            },
        );
    }

    /// Removes the series of exits not hit for longer than the idle time. Returns how many were removed.
    pub fn evict(&mut self, now: i64) -> usize {
        let before = self.series.len();
        let family = &self.family;
        let idle = self.idle;
        self.series.retain(|_, s| {
            let keep = now.saturating_sub(s.last) <= idle;
            if !keep {
                family.remove(&s.labels);
            }
            keep
        });
        before - self.series.len()
    }

    /// Number of live series.
    pub fn count(&self) -> usize {
        self.series.len()
    }
}

/// Exit address → last hit, for the distinct exits of the last 24 hours.
#[derive(Default)]
pub struct Distinct {
    last: HashMap<Box<str>, i64>,
}

impl Distinct {
    /// Notes a hit; returns the number of distinct exits now recorded.
    pub fn hit(&mut self, exit: &str, now: i64) -> usize {
        let room = self.last.len() < DISTINCT_MAX;
        match self.last.get_mut(exit) {
            Some(t) => *t = (*t).max(now),
            None if room => {
                self.last.insert(exit.into(), now);
            }
            None => {}
        }
        self.last.len()
    }

    /// Forgets exits last hit more than 24 h before `now`; returns how many remain.
    pub fn prune(&mut self, now: i64) -> usize {
        self.last
            .retain(|_, t| now.saturating_sub(*t) <= DISTINCT_WINDOW);
        self.last.len()
    }
}
