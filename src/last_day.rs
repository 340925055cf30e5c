//! The last 24 hours of Tor hits for the status page: hourly buckets of counts per kind, exit, country and port,
//! merged on request. A hit goes into the hour of its log line's own time (the time torwatch read it when the line
//! has none, or a time ahead of the clock), so a backlog read after a stop lands in the hours it happened. Bounded:
//! at most `MAX_KEYS` keys per map per bucket (further keys are folded into "other"). Pure data; `saved` keeps it
//! across restarts.

pub mod saved;

use crate::event::{Action, Kind, Service};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

const HOUR: i64 = 3600;
const BUCKETS: usize = 24;
/// Most distinct keys one bucket keeps per map.
pub const MAX_KEYS: usize = 4096;
/// A log line's time this far ahead of the clock is still taken (as now); further ahead it is not believed.
const AHEAD: i64 = 300;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Bucket {
    hour: i64,
    hits: u64,
    outbound: u64,
    /// Inbound hits by kind, in the order of [`Kind::ALL`].
    #[serde(default)]
    kinds: [u64; 3],
    /// Exit → (hits, last hit).
    exits: FxHashMap<IpAddr, (u64, i64)>,
    countries: FxHashMap<String, u64>,
    ports: FxHashMap<u16, u64>,
    other_ports: u64,
    http: FxHashMap<u16, u64>,
    /// Inbound login attempts: [`Logins`] slots.
    #[serde(default)]
    logins: Logins,
}

/// Login attempts by service ([`Service::ALL`], then none named) and result (failed, succeeded, no outcome).
pub type Logins = [[u64; 3]; 5];

/// The [`Logins`] slots of a login attempt's service and action.
fn login_slot(service: Option<Service>, action: Option<Action>) -> (usize, usize) {
    let s = service.map_or(Service::ALL.len(), Service::slot);
    let a = match action {
        Some(Action::Allow) => 1,
        Some(Action::Fail | Action::Drop | Action::Reject) => 0,
        None => 2,
    };
    (s, a)
}

/// Rolling per-hour counts.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HourlyHits {
    buckets: Vec<Bucket>,
    /// Hits counted since the start: tells a saver whether anything changed.
    #[serde(skip)]
    changes: u64,
}

/// One inbound hit as the window counts it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// The hour it goes in: see [`HourlyHits::place`].
    pub at: i64,
    pub exit: IpAddr,
    pub country: &'a str,
    pub port: Option<u16>,
    pub http: Option<u16>,
    pub kind: Kind,
    /// For a login attempt, its service and action.
    pub login: Option<(Option<Service>, Option<Action>)>,
}

/// One hour of the chart: its start (unix seconds) and inbound hits by kind ([`Kind::ALL`] order).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Hour {
    pub start: i64,
    pub kinds: [u64; 3],
}

/// Merged counts for a window.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DaySummary {
    pub hits: u64,
    pub outbound: u64,
    /// Exit, hits, last hit (unix seconds).
    pub exits: Vec<(IpAddr, u64, i64)>,
    pub countries: Vec<(String, u64)>,
    /// Port label (number or `other`) and count.
    pub ports: Vec<(String, u64)>,
    /// HTTP status answered to Tor clients → responses.
    pub http: Vec<(u16, u64)>,
    /// The 24 hours ending with the current one, oldest first.
    pub hourly: Vec<Hour>,
    /// Inbound login attempts.
    pub logins: Logins,
}

impl HourlyHits {
    /// Where a hit at `now` whose log line says `time` goes: that time, or `now` when the line has none or one
    /// further ahead than a few minutes (a clock or a zone-less stamp off); `None` when it is older than 24 h.
    pub fn place(time: Option<i64>, now: i64) -> Option<i64> {
        match time {
            None => Some(now),
            Some(t) if t > now + AHEAD => Some(now),
            Some(t) if t.div_euclid(HOUR) <= now.div_euclid(HOUR) - BUCKETS as i64 => None,
            Some(t) => Some(t.min(now)),
        }
    }

    /// Hits counted since the start (not saved).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Whether the saved buckets have the shape this build keeps (24, or none yet).
    pub fn is_valid(&self) -> bool {
        self.buckets.is_empty() || self.buckets.len() == BUCKETS
    }

    fn bucket(&mut self, now: i64) -> &mut Bucket {
        self.changes += 1;
        let hour = now.div_euclid(HOUR);
        if self.buckets.len() != BUCKETS {
            self.buckets = vec![Bucket::default(); BUCKETS];
        }
        let slot = hour.rem_euclid(BUCKETS as i64) as usize;
        let b = &mut self.buckets[slot];
        if b.hour != hour {
            *b = Bucket {
                hour,
                ..Bucket::default()
            };
        }
        b
    }

    /// Counts an inbound hit in the hour of `seen.at`.
    pub fn inbound(&mut self, seen: Seen<'_>) {
        let Seen {
            at,
            exit,
            country,
            port,
            http,
            kind,
            login,
        } = seen;
        let b = self.bucket(at);
        b.hits += 1;
        if let Some((service, action)) = login {
            let (s, a) = login_slot(service, action);
            if let Some(n) = b.logins.get_mut(s).and_then(|r| r.get_mut(a)) {
                *n += 1;
            }
        }
        if let Some(n) = b.kinds.get_mut(kind.slot()) {
            *n += 1;
        }
        if let Some((n, last)) = b.exits.get_mut(&exit) {
            *n += 1;
            *last = (*last).max(at);
        } else if b.exits.len() < MAX_KEYS {
            b.exits.insert(exit, (1, at));
        }
        if let Some(code) = http {
            if let Some(n) = b.http.get_mut(&code) {
                *n += 1;
            } else if b.http.len() < MAX_KEYS {
                b.http.insert(code, 1);
            }
        }
        if let Some(n) = b.countries.get_mut(country) {
            *n += 1;
        } else if b.countries.len() < MAX_KEYS {
            b.countries.insert(country.to_string(), 1);
        }
        if let Some(p) = port {
            if let Some(n) = b.ports.get_mut(&p) {
                *n += 1;
            } else if b.ports.len() < MAX_KEYS {
                b.ports.insert(p, 1);
            } else {
                b.other_ports += 1;
            }
        }
    }

    /// Counts an outbound hit in the hour of `at` (see [`HourlyHits::place`]).
    pub fn outbound(&mut self, at: i64) {
        let b = self.bucket(at);
        b.hits += 1;
        b.outbound += 1;
    }

    /// Distinct exits with hits in the last 24 hours (counting each bucket's kept exits).
    pub fn distinct(&self, now: i64) -> usize {
        let hour = now.div_euclid(HOUR);
        let mut seen = std::collections::HashSet::new();
        for b in self
            .buckets
            .iter()
            .filter(|b| b.hour > hour - BUCKETS as i64 && b.hour <= hour)
        {
            seen.extend(b.exits.keys().copied());
        }
        seen.len()
    }

    /// The last 24 hours, top `n` of each map.
    pub fn summary(&self, now: i64, n: usize) -> DaySummary {
        let hour = now.div_euclid(HOUR);
        let mut s = DaySummary::default();
        let mut exits: HashMap<IpAddr, (u64, i64)> = HashMap::new();
        let mut http: HashMap<u16, u64> = HashMap::new();
        let mut countries: HashMap<String, u64> = HashMap::new();
        let mut ports: HashMap<String, u64> = HashMap::new();
        s.hourly = (hour - BUCKETS as i64 + 1..=hour)
            .map(|h| Hour {
                start: h * HOUR,
                kinds: [0; 3],
            })
            .collect();
        for b in self
            .buckets
            .iter()
            .filter(|b| b.hour > hour - BUCKETS as i64 && b.hour <= hour)
        {
            let slot = usize::try_from(b.hour - (hour - BUCKETS as i64 + 1)).unwrap_or(0);
            if let Some(h) = s.hourly.get_mut(slot) {
                h.kinds = b.kinds;
            }
            s.hits += b.hits;
            s.outbound += b.outbound;
            for (sum, row) in s.logins.iter_mut().zip(&b.logins) {
                for (n, m) in sum.iter_mut().zip(row) {
                    *n += m;
                }
            }
            for (k, (n, last)) in &b.exits {
                let e = exits.entry(*k).or_default();
                e.0 += n;
                e.1 = e.1.max(*last);
            }
            for (k, v) in &b.http {
                *http.entry(*k).or_default() += v;
            }
            for (k, v) in &b.countries {
                *countries.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &b.ports {
                *ports.entry(k.to_string()).or_default() += v;
            }
            if b.other_ports > 0 {
                *ports.entry("other".into()).or_default() += b.other_ports;
            }
        }
        let mut exits: Vec<(IpAddr, u64, i64)> =
            exits.into_iter().map(|(a, (n, l))| (a, n, l)).collect();
        exits.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        exits.truncate(n);
        s.exits = exits;
        s.http = top(http, n);
        s.countries = top(countries, n);
        s.ports = top(ports, n);
        s
    }
}

fn top<K: Ord + Clone>(map: HashMap<K, u64>, n: usize) -> Vec<(K, u64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// The status page's view of the last 24 hours, with nicknames and countries from the current exit list.
pub struct LastDayTraffic {
    pub recent: std::sync::Arc<std::sync::Mutex<HourlyHits>>,
    pub shared: crate::snapshot::Shared,
}

/// Rows shown per table.
const ROWS: usize = 20;

impl crate::status::TrafficSource for LastDayTraffic {
    fn traffic(&self, now: i64) -> crate::status::Traffic {
        let summary = match self.recent.lock() {
            Ok(r) => r.summary(now, ROWS),
            Err(_) => DaySummary::default(),
        };
        let distinct = match self.recent.lock() {
            Ok(r) => r.distinct(now),
            Err(_) => 0,
        };
        let snapshot = self.shared.load();
        let exits = snapshot.lists.get(crate::list::ListId::Exits.name());
        let top_exits = summary
            .exits
            .iter()
            .map(|(addr, hits, last)| {
                let prov = exits.and_then(|l| {
                    let host = ipnet::IpNet::from(*addr);
                    l.entries
                        .binary_search_by(|e| e.net.cmp(&host))
                        .ok()
                        .map(|i| &l.entries[i].prov)
                });
                crate::status::ExitRow {
                    address: addr.to_string(),
                    nickname: prov.and_then(|p| p.nickname.clone()),
                    country: prov.and_then(|p| p.country.clone()),
                    hits: *hits,
                    last_seen: *last,
                }
            })
            .collect();
        crate::status::Traffic {
            hourly: summary
                .hourly
                .iter()
                .map(|h| crate::status::HourRow {
                    start: h.start,
                    kinds: h.kinds,
                })
                .collect(),
            window_secs: BUCKETS as i64 * HOUR,
            hits: summary.hits - summary.outbound,
            distinct_exits: distinct as u64,
            top_exits,
            countries: summary.countries,
            ports: summary.ports,
            http_status: summary.http,
            outbound: summary.outbound,
            logins: login_rows(&summary.logins),
        }
    }
}

/// The status page's rows of login attempts: one per service that had any, in [`Service::ALL`] order, then those
/// that named none.
fn login_rows(logins: &Logins) -> Vec<crate::status::LoginRow> {
    let names = Service::ALL.map(Service::as_str);
    logins
        .iter()
        .enumerate()
        .filter(|(_, row)| row.iter().any(|&n| n > 0))
        .map(|(i, row)| crate::status::LoginRow {
            service: names.get(i).copied().unwrap_or("other"),
            failed: row[0],
            succeeded: row[1],
            no_outcome: row[2],
        })
        .collect()
}

#[cfg(test)]
mod tests;
