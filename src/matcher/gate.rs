//! Counters that Prometheus' `increase()` reads right. `increase()` only counts what happens between two samples of
//! a series: the hits a series holds at the first scrape that shows it are lost to every panel and rule. So a traffic
//! series, whenever it is made (the first hit of an exit, a port, a country; the first hits after a start; an exit
//! that comes back after eviction), counts nothing until every scraper has ended a scrape that began after it was
//! made, showing it at 0; its hits wait until then. Removing a series is safe once every scraper has seen its last
//! count ([`Gated::shown`]): Prometheus keeps the samples, and a series made again under the same labels starts
//! from a 0 that a scrape sees, which `increase()` reads as a counter reset.
//!
//! A scraper is a client (address and User-Agent) that requested `/metrics`; it counts while it keeps coming (its
//! last scrape is less than twice its interval plus ten seconds old; two minutes after a first scrape). A person's
//! `curl` therefore holds new series back for up to two minutes (their hits wait, none is lost), and a second
//! Prometheus sees every hit as well as the first.

use prometheus_client::metrics::counter::Counter;

/// Scrapers kept at most (the least recently seen goes first).
const MAX_SCRAPERS: usize = 16;
/// How long a scraper seen once counts, in milliseconds; one with an interval counts for twice it plus `GRACE`.
const FIRST: u64 = 120_000;
const GRACE: u64 = 10_000;

/// Where the scrapes stand, as the series read it: the number of the last scrape that began, and the highest
/// number that every scraper has ended a scrape at or after (0 while some scraper has ended none, or none scrapes).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scrapes {
    begun: u64,
    ended: u64,
}

#[derive(Debug, Clone, Copy)]
struct Scraper {
    id: u64,
    /// The number of its last ended scrape (0: none yet).
    ended: u64,
    /// Milliseconds (of the caller's clock) when its last scrape began, and since the one before.
    last: u64,
    interval: Option<u64>,
}

impl Scraper {
    fn alive(&self, now: u64) -> bool {
        let keep = self.interval.map_or(FIRST, |i| 2 * i + GRACE);
        now.saturating_sub(self.last) <= keep
    }
}

/// The scrapers of `/metrics` and their scrapes.
#[derive(Debug, Default, Clone)]
pub struct Scrapers {
    begun: u64,
    scrapers: Vec<Scraper>,
}

impl Scrapers {
    /// Scraper `id` begins a scrape at `now` (milliseconds); returns its number (give it to [`Scrapers::end`]).
    pub fn begin(&mut self, id: u64, now: u64) -> u64 {
        self.begun += 1;
        self.scrapers.retain(|s| s.id == id || s.alive(now));
        match self.scrapers.iter_mut().find(|s| s.id == id) {
            Some(s) => {
                s.interval = Some(now.saturating_sub(s.last));
                s.last = now;
            }
            None => {
                if self.scrapers.len() >= MAX_SCRAPERS {
                    if let Some(oldest) =
                        (0..self.scrapers.len()).min_by_key(|&i| self.scrapers[i].last)
                    {
                        self.scrapers.swap_remove(oldest);
                    }
                }
                self.scrapers.push(Scraper {
                    id,
                    ended: 0,
                    last: now,
                    interval: None,
                });
            }
        }
        self.begun
    }

    /// Scraper `id`'s scrape `number` has encoded every series.
    pub fn end(&mut self, id: u64, number: u64) {
        if let Some(s) = self.scrapers.iter_mut().find(|s| s.id == id) {
            s.ended = s.ended.max(number.min(self.begun));
        }
    }

    /// Forgets scrapers that stopped coming.
    pub fn expire(&mut self, now: u64) {
        self.scrapers.retain(|s| s.alive(now));
    }

    /// The view the series count by.
    pub fn view(&self) -> Scrapes {
        Scrapes {
            begun: self.begun,
            ended: self.scrapers.iter().map(|s| s.ended).min().unwrap_or(0),
        }
    }

    /// Whether any scraper is counted.
    pub fn any(&self) -> bool {
        !self.scrapers.is_empty()
    }

    /// The longest interval between two scrapes of one scraper still counted.
    pub fn interval(&self) -> Option<u64> {
        self.scrapers.iter().filter_map(|s| s.interval).max()
    }
}

/// A counter series that counts only after a scrape has shown it at 0.
#[derive(Debug, Clone)]
pub struct Gated {
    counter: Counter,
    /// Hits not yet in the counter (while the series waits for its first scrape).
    waiting: u64,
    /// [`Scrapes::begun`] when the series was made.
    born: u64,
    /// [`Scrapes::begun`] at the last hit.
    counted: u64,
    live: bool,
}

impl Gated {
    /// A series just made (its counter at 0), at the scrapes so far.
    pub fn new(counter: Counter, scrapes: &Scrapes) -> Gated {
        Gated {
            counter,
            waiting: 0,
            born: scrapes.begun,
            counted: scrapes.begun,
            live: false,
        }
    }

    /// Counts one hit.
    #[inline]
    pub fn inc(&mut self, scrapes: &Scrapes) {
        self.counted = scrapes.begun;
        if self.live {
            self.counter.inc();
            return;
        }
        self.waiting += 1;
        self.settle(scrapes);
    }

    /// Moves the waiting hits into the counter once a scrape that began after the series was made has ended.
    #[inline]
    pub fn settle(&mut self, scrapes: &Scrapes) {
        if !self.live && scrapes.ended > self.born {
            self.live = true;
            if self.waiting > 0 {
                self.counter.inc_by(self.waiting);
                self.waiting = 0;
                self.counted = scrapes.begun;
            }
        }
    }

    /// Whether a scrape has shown every hit counted: the series can go without losing any.
    pub fn shown(&self, scrapes: &Scrapes) -> bool {
        self.live && scrapes.ended > self.counted
    }

    /// Hits counted, waiting ones included.
    pub fn total(&self) -> u64 {
        self.counter.get() + self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROM: u64 = 1;
    const CURL: u64 = 2;

    fn scrape(s: &mut Scrapers, id: u64, now: u64) {
        let n = s.begin(id, now);
        s.end(id, n);
    }

    #[test]
    fn hits_wait_for_a_scrape_that_shows_zero() {
        let mut s = Scrapers::default();
        let c = Counter::default();
        let mut g = Gated::new(c.clone(), &s.view());
        g.inc(&s.view());
        g.inc(&s.view());
        assert_eq!(
            (c.get(), g.total()),
            (0, 2),
            "nothing shown before a scrape"
        );
        let n = s.begin(PROM, 0);
        g.settle(&s.view());
        g.inc(&s.view());
        assert_eq!(c.get(), 0, "the scrape that shows 0 is still encoding");
        s.end(PROM, n);
        assert!(
            !g.shown(&s.view()),
            "the waiting hits are not in the counter yet"
        );
        g.settle(&s.view());
        assert_eq!(c.get(), 3, "after it, the waiting hits count");
        g.inc(&s.view());
        assert_eq!(c.get(), 4, "and new hits count at once");
        assert!(!g.shown(&s.view()));
        let n = s.begin(PROM, 1000);
        assert!(!g.shown(&s.view()), "the scrape has not ended");
        s.end(PROM, n);
        assert!(g.shown(&s.view()));
    }

    #[test]
    fn a_scrape_that_began_before_the_series_does_not_count_as_showing_it() {
        let mut s = Scrapers::default();
        let early = s.begin(PROM, 0);
        let c = Counter::default();
        let mut g = Gated::new(c.clone(), &s.view());
        g.inc(&s.view());
        s.end(PROM, early);
        g.settle(&s.view());
        assert_eq!(c.get(), 0);
        scrape(&mut s, PROM, 1000);
        g.settle(&s.view());
        assert_eq!(c.get(), 1);
    }

    #[test]
    fn every_scraper_sees_the_zero() {
        let mut s = Scrapers::default();
        scrape(&mut s, PROM, 0);
        // A person's curl, once, before the series is made.
        scrape(&mut s, CURL, 500);
        scrape(&mut s, PROM, 1000);
        let c = Counter::default();
        let mut g = Gated::new(c.clone(), &s.view());
        g.inc(&s.view());
        scrape(&mut s, PROM, 2000);
        g.settle(&s.view());
        assert_eq!(
            c.get(),
            0,
            "the curl has not seen the series at 0: the hit waits"
        );
        // Both scrape again: both have seen the 0.
        scrape(&mut s, CURL, 2500);
        g.settle(&s.view());
        assert_eq!(c.get(), 1);
        // A second series; the curl does not come back: two minutes after its last scrape it no longer counts.
        let d = Counter::default();
        let mut h = Gated::new(d.clone(), &s.view());
        h.inc(&s.view());
        scrape(&mut s, PROM, 3000);
        h.settle(&s.view());
        assert_eq!(d.get(), 0);
        s.expire(2500 + FIRST + 1);
        scrape(&mut s, PROM, 2500 + FIRST + 1);
        h.settle(&s.view());
        assert_eq!(d.get(), 1);
        assert!(!s.scrapers.iter().any(|x| x.id == CURL));
    }

    #[test]
    fn a_slow_scraper_counts_between_its_scrapes() {
        let mut s = Scrapers::default();
        scrape(&mut s, PROM, 0);
        scrape(&mut s, PROM, 60_000);
        s.expire(60_000 + 2 * 60_000 + GRACE);
        assert!(s.any(), "two intervals and the grace");
        s.expire(60_000 + 2 * 60_000 + GRACE + 1);
        assert!(!s.any());
        assert_eq!(s.view().ended, 0, "no scraper: nothing is released");
    }

    #[test]
    fn scrapes_that_end_out_of_order_and_many_scrapers() {
        let mut s = Scrapers::default();
        let a = s.begin(PROM, 0);
        let b = s.begin(PROM, 1);
        s.end(PROM, b);
        s.end(PROM, a);
        assert_eq!(s.view().ended, b, "the highest ended number stays");
        s.end(PROM, 99);
        assert_eq!(s.view().ended, b, "no scrape ends before it begins");
        for id in 10..40 {
            scrape(&mut s, id, 2);
        }
        assert_eq!(s.scrapers.len(), MAX_SCRAPERS);
    }
}
