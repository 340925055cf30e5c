//! Counters that Prometheus' `increase()` reads right. `increase()` only counts what happens between two samples of
//! a series: the hits a series holds at the first scrape that shows it are lost to every panel and rule. So a traffic
//! series, whenever it is made (the first hit of an exit, a port, a country; the first hits after a start; an exit
//! that comes back after eviction), counts nothing until a scrape that began after it was made has ended, showing
//! it at 0; its hits wait until then. Removing a series is safe once a scrape has shown its last count
//! ([`Gated::shown`]): Prometheus keeps the samples, and a series made again under the same labels starts from a 0
//! that a scrape sees, which `increase()` reads as a counter reset.
//!
//! Every `/metrics` request counts as a scrape; a second scraper (a person's `curl`, a second Prometheus) can take
//! the scrape that shows a new series at 0, and the first then misses the hits that waited.

use prometheus_client::metrics::counter::Counter;

/// The scrapes of `/metrics` so far: the number of the last one that began and the highest number of one that ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scrapes {
    begun: u64,
    ended: u64,
}

impl Scrapes {
    /// A scrape begins; returns its number (give it to [`Scrapes::end`]).
    pub fn begin(&mut self) -> u64 {
        self.begun += 1;
        self.begun
    }

    /// Scrape `number` has encoded every series.
    pub fn end(&mut self, number: u64) {
        self.ended = self.ended.max(number.min(self.begun));
    }

    /// Whether any scrape has ended.
    pub fn any(&self) -> bool {
        self.ended > 0
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

    #[test]
    fn hits_wait_for_a_scrape_that_shows_zero() {
        let mut s = Scrapes::default();
        let c = Counter::default();
        let mut g = Gated::new(c.clone(), &s);
        g.inc(&s);
        g.inc(&s);
        assert_eq!(
            (c.get(), g.total()),
            (0, 2),
            "nothing shown before a scrape"
        );
        let n = s.begin();
        g.settle(&s);
        g.inc(&s);
        assert_eq!(c.get(), 0, "the scrape that shows 0 is still encoding");
        s.end(n);
        assert!(!g.shown(&s), "the waiting hits are not in the counter yet");
        g.settle(&s);
        assert_eq!(c.get(), 3, "after it, the waiting hits count");
        g.inc(&s);
        assert_eq!(c.get(), 4, "and new hits count at once");
        assert!(!g.shown(&s));
        let n = s.begin();
        assert!(!g.shown(&s), "the scrape has not ended");
        s.end(n);
        assert!(g.shown(&s));
    }

    #[test]
    fn a_scrape_that_began_before_the_series_does_not_count_as_showing_it() {
        let mut s = Scrapes::default();
        let early = s.begin();
        let c = Counter::default();
        let mut g = Gated::new(c.clone(), &s);
        g.inc(&s);
        s.end(early);
        g.settle(&s);
        assert_eq!(c.get(), 0);
        let next = s.begin();
        s.end(next);
        g.settle(&s);
        assert_eq!(c.get(), 1);
    }

    #[test]
    fn scrapes_that_end_out_of_order() {
        let mut s = Scrapes::default();
        let a = s.begin();
        let b = s.begin();
        s.end(b);
        s.end(a);
        assert_eq!(s.ended, b, "the highest ended number stays");
        s.end(99);
        assert_eq!(s.ended, b, "no scrape ends before it begins");
    }
}
