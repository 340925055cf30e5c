//! The per-exit series (`torwatch_tor_hits_by_exit_total`) and the record of which exits were seen in the last 24
//! hours. At most `cap` exits have a series; when all are taken, a new exit with more hits than the lightest idle
//! series takes its place, and the hits of exits without a series go to the `exit="other"` series, so the series
//! always add up to the inbound hits. Allocates only when an exit is seen for the first time.

use super::gate::{Gated, Scrapes};
use super::{EntryLabels, Label};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use rustc_hash::FxHashMap;

/// How long an exit counts towards the distinct-exits gauge after its last hit.
pub const DISTINCT_WINDOW: i64 = 24 * 3600;

/// Bound on the distinct-exits record and on the exits waiting outside the cap, whatever the list holds (a list of
/// wide networks could otherwise grow them).
const DISTINCT_MAX: usize = 1 << 20;

/// A series not hit for this long (seconds) is idle: it may give way to a heavier exit.
pub const REPLACE_IDLE: i64 = 60;

/// The label value of the series that counts the hits of exits without their own.
pub const OTHER: &str = "other";

/// The labels of a per-exit series: the exit's address (or `other`), its relay nickname and its country.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExitLabels {
    pub exit: String,
    pub nickname: String,
    pub country: String,
}

struct Series {
    labels: ExitLabels,
    /// The nickname and country of `labels`, as the entry's labels compare.
    nickname: Label,
    country: Label,
    counter: Gated,
    last: i64,
}

/// Exit address → its live series, never more than `cap` of them, plus `other`.
pub struct ExitSeries {
    family: Family<ExitLabels, Counter>,
    series: FxHashMap<Label, Series>,
    cap: usize,
    idle: i64,
    /// Exits hit while every series was taken → hits since then (all counted in `other`), last hit.
    outside: FxHashMap<Label, (u64, i64)>,
    other: Option<Series>,
    /// Idle series that may give way, heaviest first (the lightest is popped); rebuilt when used up, at most once
    /// a second.
    victims: Vec<(u64, Label)>,
    victims_at: i64,
}

impl ExitSeries {
    pub fn new(family: Family<ExitLabels, Counter>, cap: usize, idle: i64) -> ExitSeries {
        ExitSeries {
            family,
            series: FxHashMap::default(),
            cap,
            idle,
            outside: FxHashMap::default(),
            other: None,
            victims: Vec::new(),
            victims_at: i64::MIN,
        }
    }

    /// Counts one hit of the exit: in its series, in a new one while fewer than `cap` exist or when it has more
    /// hits than the lightest idle series (which goes), else in `other`.
    pub fn hit(&mut self, exit: &EntryLabels, now: i64, scrapes: &Scrapes) {
        if let Some(s) = super::label::get_rekeyed(&mut self.series, &exit.addr) {
            let same = s.nickname == exit.nickname && s.country == exit.country;
            if same && !(s.nickname.same(&exit.nickname) && s.country.same(&exit.country)) {
                // Compared by pointer from now on.
                s.nickname = exit.nickname.clone();
                s.country = exit.country.clone();
            }
            // A relay that changed name or country gets a new series once the old one's count has been shown.
            if same || !s.counter.shown(scrapes) {
                s.counter.inc(scrapes);
                s.last = s.last.max(now);
                return;
            }
            self.family.remove(&s.labels);
            self.series.remove(&exit.addr);
        }
        if self.series.len() < self.cap {
            self.start(exit, now, scrapes);
            return;
        }
        let room = self.outside.len() < DISTINCT_MAX;
        let hits = match self.outside.get_mut(&exit.addr) {
            Some(o) => {
                o.0 += 1;
                o.1 = o.1.max(now);
                o.0
            }
            None if room => {
                self.outside.insert(exit.addr.clone(), (1, now));
                1
            }
            None => 0,
        };
        if let Some(victim) = self.victim(hits, now, scrapes) {
            if let Some(s) = self.series.remove(&victim) {
                self.family.remove(&s.labels);
            }
            self.outside.remove(&exit.addr);
            self.start(exit, now, scrapes);
            return;
        }
        let family = &self.family;
        let other = self.other.get_or_insert_with(|| {
            let labels = other();
            Series {
                counter: Gated::new(family.get_or_create(&labels).clone(), scrapes),
                labels,
                nickname: Label::new(""),
                country: Label::new(""),
                last: now,
            }
        });
        other.counter.inc(scrapes);
        other.last = other.last.max(now);
    }

    fn start(&mut self, exit: &EntryLabels, now: i64, scrapes: &Scrapes) {
        let labels = ExitLabels {
            exit: exit.addr.to_string(),
            nickname: exit.nickname.to_string(),
            country: exit.country.to_string(),
        };
        let mut counter = Gated::new(self.family.get_or_create(&labels).clone(), scrapes);
        counter.inc(scrapes);
        self.series.insert(
            exit.addr.clone(),
            Series {
                labels,
                nickname: exit.nickname.clone(),
                country: exit.country.clone(),
                counter,
                last: now,
            },
        );
    }

    /// The lightest idle series whose count has been shown, when an exit with `hits` outweighs it.
    fn victim(&mut self, hits: u64, now: i64, scrapes: &Scrapes) -> Option<Label> {
        let usable = |s: &Series| s.counter.shown(scrapes) && now - s.last >= REPLACE_IDLE;
        if self.victims.is_empty() && now > self.victims_at {
            self.victims_at = now;
            self.victims = self
                .series
                .iter()
                .filter(|(_, s)| usable(s))
                .map(|(a, s)| (s.counter.total(), a.clone()))
                .collect();
            self.victims
                .sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| (*b.1).cmp(&*a.1)));
        }
        while let Some((total, addr)) = self.victims.last() {
            // Hit since the list was made, or gone: not a candidate any more.
            let valid = self
                .series
                .get(addr)
                .is_some_and(|s| usable(s) && s.counter.total() == *total);
            if !valid {
                self.victims.pop();
                continue;
            }
            if hits > *total {
                return self.victims.pop().map(|(_, a)| a);
            }
            return None;
        }
        None
    }

    /// Removes the series of exits not hit for longer than the idle time (once their count has been shown) and
    /// forgets exits outside the cap as long idle. Returns how many series were removed.
    pub fn evict(&mut self, now: i64, scrapes: &Scrapes) -> usize {
        let before = self.series.len();
        let family = &self.family;
        let idle = self.idle;
        let keep = |s: &Series| {
            let keep = now.saturating_sub(s.last) <= idle || !s.counter.shown(scrapes);
            if !keep {
                family.remove(&s.labels);
            }
            keep
        };
        self.series.retain(|_, s| keep(s));
        if self.other.as_ref().is_some_and(|o| !keep(o)) {
            self.other = None;
        }
        self.outside.retain(|_, o| now.saturating_sub(o.1) <= idle);
        before - self.series.len()
    }

    /// Moves waiting hits into the counters that a scrape has shown at 0.
    pub fn settle(&mut self, scrapes: &Scrapes) {
        for s in self.series.values_mut() {
            s.counter.settle(scrapes);
        }
        if let Some(o) = &mut self.other {
            o.counter.settle(scrapes);
        }
    }

    /// Whether a scrape has shown every hit counted.
    pub fn shown(&self, scrapes: &Scrapes) -> bool {
        self.series.values().all(|s| s.counter.shown(scrapes))
            && self
                .other
                .as_ref()
                .map_or(true, |o| o.counter.shown(scrapes))
    }

    /// Number of live series, `other` not included.
    pub fn count(&self) -> usize {
        self.series.len()
    }
}

fn other() -> ExitLabels {
    ExitLabels {
        exit: OTHER.into(),
        nickname: String::new(),
        country: String::new(),
    }
}

/// Exit address → last hit, for the distinct exits of the last 24 hours.
#[derive(Default)]
pub struct Distinct {
    last: FxHashMap<Label, i64>,
}

impl Distinct {
    /// Notes a hit; returns the number of distinct exits now recorded.
    pub fn hit(&mut self, exit: &Label, now: i64) -> usize {
        let room = self.last.len() < DISTINCT_MAX;
        match super::label::get_rekeyed(&mut self.last, exit) {
            Some(t) => *t = (*t).max(now),
            None if room => {
                self.last.insert(exit.clone(), now);
            }
            None => {}
        }
        self.last.len()
    }

    /// Every exit recorded with its last hit.
    pub fn entries(&self) -> Vec<(String, i64)> {
        self.last.iter().map(|(a, t)| (a.to_string(), *t)).collect()
    }

    /// Adds saved exits (a later hit already recorded wins); returns the number recorded after forgetting those
    /// older than 24 h at `now`.
    pub fn restore(&mut self, saved: Vec<(String, i64)>, now: i64) -> usize {
        for (exit, at) in saved {
            self.hit(&Label::new(&exit), at);
        }
        self.prune(now)
    }

    /// Forgets exits last hit more than 24 h before `now`; returns how many remain.
    pub fn prune(&mut self, now: i64) -> usize {
        self.last
            .retain(|_, t| now.saturating_sub(*t) <= DISTINCT_WINDOW);
        self.last.len()
    }
}
