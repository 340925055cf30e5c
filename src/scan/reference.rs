//! What `scan` matches against: an exit list read from a feed file, the current lists of a state directory, or the
//! state's membership history, so that each event is matched against the list of its own time. Built once before
//! the scan; matching an event is an index lookup plus, for history, a bisection of that address's spans.

use crate::event::{Addresses, Direction, Event};
use crate::feeds::{self, FeedKind};
use crate::keeper::history::{CurrentRule, History};
use crate::keeper::state::SavedState;
use crate::list::{List, ListEntry, ListId, Provenance};
use crate::matcher::{Geoip, IndexedList};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

/// How long an address stays in the list after the last fetch that listed it (the service's default retention).
pub const RETENTION: i64 = 24 * 3600;

/// Per entry, the merged time ranges during which it was listed, flattened into one vector.
#[derive(Debug, Default)]
struct Spans {
    /// Entry → (first span, number of spans).
    ranges: Vec<(u32, u32)>,
    spans: Vec<(i64, i64)>,
    /// Entry → listed now (for events that carry no time).
    current: Vec<bool>,
}

impl Spans {
    fn covers(&self, entry: usize, at: Option<i64>) -> bool {
        let Some(at) = at else {
            return self.current.get(entry).copied().unwrap_or(false);
        };
        let Some(&(first, n)) = self.ranges.get(entry) else {
            return false;
        };
        let (first, n) = (first as usize, n as usize);
        let Some(spans) = self.spans.get(first..first + n) else {
            return false;
        };
        let after = spans.partition_point(|s| s.0 <= at);
        after > 0 && spans.get(after - 1).is_some_and(|s| at <= s.1)
    }

    fn push(&mut self, mut spans: Vec<(i64, i64)>, current: bool) {
        spans.sort_unstable();
        let first = u32::try_from(self.spans.len()).unwrap_or(u32::MAX);
        let mut n = 0u32;
        for (from, to) in spans {
            match self.spans.last_mut() {
                Some(last) if n > 0 && from <= last.1 => last.1 = last.1.max(to),
                _ => {
                    self.spans.push((from, to));
                    n += 1;
                }
            }
        }
        self.ranges.push((first, n));
        self.current.push(current);
    }
}

/// One list to match, with the time ranges of its entries when matching at the time of the event.
#[derive(Debug, Default)]
pub struct Listed {
    pub side: IndexedList,
    spans: Option<Spans>,
}

impl Listed {
    #[inline]
    fn get(&self, ip: std::net::IpAddr, at: Option<i64>) -> Option<usize> {
        let i = self.side.position(ip)?;
        match &self.spans {
            Some(spans) => spans.covers(i, at).then_some(i),
            None => Some(i),
        }
    }
}

/// The exit list and, from a state directory, the relay list.
#[derive(Debug, Default)]
pub struct Reference {
    pub exits: Listed,
    pub relays: Listed,
}

impl Reference {
    /// Reads an exit list file in any source format: TorDNSEL (also CollecTor), Onionoo details, or plain/bulk.
    pub fn from_file(path: &Path, geoip: Option<&Geoip>) -> anyhow::Result<Reference> {
        let body =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let feed = [FeedKind::Tordnsel, FeedKind::Onionoo, FeedKind::Plain]
            .into_iter()
            .find_map(|kind| feeds::parse(kind, &body).ok())
            .with_context(|| format!("{} is not an exit list", path.display()))?;
        let entries = feed
            .exits
            .iter()
            .map(|a| ListEntry {
                net: a.net,
                prov: a
                    .relay
                    .and_then(|r| feed.relays.get(r as usize))
                    .map(|r| Provenance {
                        nickname: r.nickname.clone(),
                        country: r.country.clone(),
                        ..Provenance::default()
                    })
                    .unwrap_or_default()
                    .into(),
            })
            .collect();
        let list = List::new(ListId::Exits.name(), 1, 0, entries);
        Ok(Reference {
            exits: Listed {
                side: IndexedList::new(Some(Arc::new(list)), geoip),
                spans: None,
            },
            relays: Listed::default(),
        })
    }

    /// The lists of a state directory: current members, or with `at_time_of_event` every address ever listed with
    /// the times it was.
    pub fn from_state(
        dir: &Path,
        at_time_of_event: bool,
        geoip: Option<&Geoip>,
        now: i64,
    ) -> anyhow::Result<Reference> {
        let state = SavedState::load(dir)?
            .with_context(|| format!("no torwatch state in {}", dir.display()))?;
        let last_success = crate::keeper::last_successes(&state);
        let rule = CurrentRule {
            last_success: &last_success,
            retention: RETENTION,
            now,
        };
        let build = |name: &str| from_history(&state.history, name, &rule, at_time_of_event, geoip);
        Ok(Reference {
            exits: build(ListId::Exits.name()),
            relays: build(ListId::Relays.name()),
        })
    }

    /// Whether the source is an exit or the destination a relay in the lists at any time: false means that
    /// [`Reference::classify`] gives nothing for the event of these addresses.
    pub fn may_hold(&self, a: &Addresses) -> bool {
        a.src.is_some_and(|ip| self.exits.side.contains(ip))
            || a.dst.is_some_and(|ip| self.relays.side.contains(ip))
    }

    /// Inbound when the source was a listed exit (at the event's time), else outbound when the destination was a
    /// listed relay. Returns the direction and the entry index in that list.
    pub fn classify(&self, ev: &Event<'_>) -> Option<(Direction, usize)> {
        self.classify_addresses(&ev.addresses(), ev.time)
    }

    /// [`Reference::classify`] of an event with these addresses and time.
    #[inline]
    pub fn classify_addresses(&self, a: &Addresses, at: Option<i64>) -> Option<(Direction, usize)> {
        if let Some(i) = a.src.and_then(|ip| self.exits.get(ip, at)) {
            return Some((Direction::Inbound, i));
        }
        // Without a relay list (an exit list file), no lookup at all: it is every line's second one.
        if self.relays.side.is_empty() {
            return None;
        }
        let i = a.dst.and_then(|ip| self.relays.get(ip, at))?;
        Some((Direction::Outbound, i))
    }

    /// Whether an event is matched against the lists of its own time, so that [`Reference::classify`] needs it.
    pub fn by_time(&self) -> bool {
        self.exits.spans.is_some() || self.relays.spans.is_some()
    }
}

fn from_history(
    history: &History,
    name: &str,
    rule: &CurrentRule<'_>,
    at_time_of_event: bool,
    geoip: Option<&Geoip>,
) -> Listed {
    let current: Vec<ListEntry> = history.current(name, rule, |_, _| {});
    let book = history.lists.get(name);
    let Some(book) = book.filter(|_| at_time_of_event) else {
        return Listed {
            side: IndexedList::new(Some(Arc::new(List::new(name, 1, 0, current))), geoip),
            spans: None,
        };
    };
    let entries = book
        .entries()
        .into_iter()
        .map(|(net, info)| ListEntry {
            net,
            prov: Arc::new(Provenance {
                nickname: info.and_then(|i| i.nickname.clone()),
                country: info.and_then(|i| i.country.clone()),
                ..Provenance::default()
            }),
        })
        .collect();
    let list = List::new(name, 1, 0, entries);
    let current: std::collections::HashSet<_> = current.iter().map(|c| c.net).collect();
    let mut spans = Spans::default();
    for entry in &list.entries {
        let is_current = current.contains(&entry.net);
        spans.push(history.ranges(name, &entry.net, rule), is_current);
    }
    Listed {
        side: IndexedList::new(Some(Arc::new(list)), geoip),
        spans: Some(spans),
    }
}

impl crate::reader::Lists for Reference {
    #[inline]
    fn may_hold(&self, addresses: &Addresses) -> bool {
        Reference::may_hold(self, addresses)
    }

    #[inline]
    fn classify(&self, a: &Addresses, time: Option<i64>) -> Option<crate::reader::Match> {
        let (direction, entry) = self.classify_addresses(a, time)?;
        let addr = match direction {
            Direction::Inbound => a.src?,
            Direction::Outbound => a.dst?,
        };
        Some(crate::reader::Match {
            direction,
            entry,
            addr,
        })
    }

    fn by_time(&self) -> bool {
        Reference::by_time(self)
    }
}
