//! Membership over time: for every list and address, the spans of time during which each source listed it, plus
//! what is known about the relay. Answers "is it in the list now", "was it in the list at T" and "seen in the last
//! 7 days". Pure data: no IO, no clock (callers pass `now`).

use crate::feeds::RelayInfo;
use crate::lists::Provenance;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A span `[from, to]` of unix seconds: the first and last successful fetch that listed the address, with no gap
/// longer than the retention between fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span(pub i64, pub i64);

/// What torwatch knows of the relay behind an address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub fingerprints: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
    /// Every source that lists it only infers it (IPv6 OR address of an exit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

impl Info {
    /// Takes what the relay record says, keeping earlier values where the record is silent.
    pub fn absorb(&mut self, relay: &RelayInfo) {
        if !relay.fingerprint.is_empty() {
            self.fingerprints.insert(relay.fingerprint.clone());
            // A relay that changed hands: keep the set bounded.
            while self.fingerprints.len() > 8 {
                let first = self.fingerprints.iter().next().cloned();
                if let Some(f) = first {
                    self.fingerprints.remove(&f);
                }
            }
        }
        set(&mut self.nickname, &relay.nickname);
        set(&mut self.country, &relay.country);
        if relay.as_number.is_some() {
            self.as_number = relay.as_number;
        }
        set(&mut self.as_name, &relay.as_name);
    }
}

fn set(slot: &mut Option<String>, value: &Option<String>) {
    if value.is_some() {
        slot.clone_from(value);
    }
}

/// One address in one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Source name → spans, oldest first.
    pub sources: BTreeMap<String, Vec<Span>>,
    #[serde(default)]
    pub info: Info,
}

impl Record {
    pub fn first_seen(&self) -> i64 {
        self.sources
            .values()
            .filter_map(|s| s.first())
            .map(|s| s.0)
            .min()
            .unwrap_or(0)
    }

    pub fn last_seen(&self) -> i64 {
        self.sources
            .values()
            .filter_map(|s| s.last())
            .map(|s| s.1)
            .max()
            .unwrap_or(0)
    }
}

/// One observation: an address listed by a successful fetch.
pub struct Sighting<'a> {
    pub net: IpNet,
    pub relay: Option<&'a RelayInfo>,
    pub approximate: bool,
}

/// An address as another torwatch instance lists it: its sources saw it from `first` to `last`.
pub struct Imported<'a> {
    pub net: IpNet,
    pub relays: Vec<&'a RelayInfo>,
    pub approximate: bool,
    pub first: i64,
    pub last: i64,
}

/// All lists' membership history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub lists: BTreeMap<String, BTreeMap<IpNet, Record>>,
}

/// When each source last succeeded: an address stays current while its source's last good list holds it, or for
/// `retention` after that source last listed it.
pub struct Currency<'a> {
    pub last_success: &'a BTreeMap<String, i64>,
    pub retention: i64,
    pub now: i64,
}

impl Currency<'_> {
    fn current(&self, source: &str, span: &Span) -> bool {
        let reference = self.last_success.get(source).copied().unwrap_or(self.now);
        span.1 >= reference - self.retention
    }
}

impl History {
    /// Records that a successful fetch of `source` at `now` listed these addresses in `list`. `gap` is the longest
    /// time between two sightings that still continues a span (the retention).
    pub fn observe<'a>(
        &mut self,
        list: &str,
        source: &str,
        sightings: impl IntoIterator<Item = Sighting<'a>>,
        now: i64,
        gap: i64,
    ) {
        let records = self.lists.entry(list.to_string()).or_default();
        for s in sightings {
            let record = records.entry(s.net.trunc()).or_default();
            let spans = record.sources.entry(source.to_string()).or_default();
            match spans.last_mut() {
                Some(last) if now >= last.1 && now - last.1 <= gap => last.1 = now,
                Some(last) if now < last.1 => {}
                _ => spans.push(Span(now, now)),
            }
            if let Some(relay) = s.relay {
                record.info.absorb(relay);
            }
            record.info.approximate = s.approximate && record.sources.len() == 1;
        }
    }

    /// Records what another torwatch instance says of an address: each of `sources` (its source names) listed it
    /// from `first` to `last`. The first record of a source takes that span whole; later ones extend its last span,
    /// or start a new one at `last` when more than `gap` passed since that span ended (the address left the other
    /// instance's list and came back).
    pub fn import(&mut self, list: &str, sources: &[String], item: Imported<'_>, gap: i64) {
        let record = self
            .lists
            .entry(list.to_string())
            .or_default()
            .entry(item.net.trunc())
            .or_default();
        let (first, last) = (item.first.min(item.last), item.last);
        for source in sources {
            let spans = record.sources.entry(source.clone()).or_default();
            match spans.last_mut() {
                None => spans.push(Span(first, last)),
                Some(s) if last <= s.1 => {}
                Some(s) if last - s.1 <= gap => s.1 = last,
                Some(_) => spans.push(Span(last, last)),
            }
        }
        for relay in item.relays {
            record.info.absorb(relay);
        }
        record.info.approximate = item.approximate;
    }

    /// The current members of a list, with their provenance.
    pub fn current(&self, list: &str, currency: &Currency<'_>) -> Vec<(IpNet, Provenance)> {
        self.members(list, |source, spans| {
            spans.last().is_some_and(|s| currency.current(source, s))
        })
    }

    /// Members seen within `window` seconds before `now` (or still current).
    pub fn window(
        &self,
        list: &str,
        currency: &Currency<'_>,
        window: i64,
    ) -> Vec<(IpNet, Provenance)> {
        self.members(list, |source, spans| {
            spans
                .last()
                .is_some_and(|s| s.1 >= currency.now - window || currency.current(source, s))
        })
    }

    fn members(
        &self,
        list: &str,
        keep: impl Fn(&str, &[Span]) -> bool,
    ) -> Vec<(IpNet, Provenance)> {
        let Some(records) = self.lists.get(list) else {
            return Vec::new();
        };
        records
            .iter()
            .filter_map(|(net, r)| {
                let sources: Vec<String> = r
                    .sources
                    .iter()
                    .filter(|(s, spans)| keep(s, spans))
                    .map(|(s, _)| s.clone())
                    .collect();
                (!sources.is_empty()).then(|| (*net, provenance(r, sources)))
            })
            .collect()
    }

    /// Which sources listed `net` (or a network containing it) in `list` at time `at`.
    pub fn lookup(
        &self,
        list: &str,
        addr: std::net::IpAddr,
        at: i64,
        currency: &Currency<'_>,
    ) -> Vec<(IpNet, Provenance)> {
        let Some(records) = self.lists.get(list) else {
            return Vec::new();
        };
        records
            .iter()
            .filter(|(net, _)| net.contains(&addr))
            .filter_map(|(net, r)| {
                let sources: Vec<String> = r
                    .sources
                    .iter()
                    .filter(|(source, spans)| {
                        spans.iter().enumerate().any(|(i, s)| {
                            let open = i + 1 == spans.len() && currency.current(source, s);
                            s.0 <= at
                                && (at <= s.1 + currency.retention || (open && at <= currency.now))
                        })
                    })
                    .map(|(s, _)| s.clone())
                    .collect();
                (!sources.is_empty()).then(|| (*net, provenance(r, sources)))
            })
            .collect()
    }

    /// Forgets spans that ended before `horizon` (and addresses left with none).
    pub fn prune(&mut self, horizon: i64) {
        for records in self.lists.values_mut() {
            records.retain(|_, r| {
                r.sources.retain(|_, spans| {
                    spans.retain(|s| s.1 >= horizon);
                    !spans.is_empty()
                });
                !r.sources.is_empty()
            });
        }
        self.lists.retain(|_, r| !r.is_empty());
    }

    /// Number of addresses known, over all lists.
    pub fn len(&self) -> usize {
        self.lists.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn provenance(r: &Record, sources: Vec<String>) -> Provenance {
    Provenance {
        sources,
        first_seen: r.first_seen(),
        last_seen: r.last_seen(),
        fingerprints: r.info.fingerprints.iter().cloned().collect(),
        nickname: r.info.nickname.clone(),
        country: r.info.country.clone(),
        as_number: r.info.as_number,
        as_name: r.info.as_name.clone(),
        approximate: r.info.approximate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn net(s: &str) -> IpNet {
        s.parse::<std::net::IpAddr>().unwrap().into()
    }

    fn see(h: &mut History, source: &str, addrs: &[&str], now: i64) {
        let sightings = addrs.iter().map(|a| Sighting {
            net: net(a),
            relay: None,
            approximate: false,
        });
        h.observe("tor-exits", source, sightings, now, 24 * H);
    }

    #[test]
    fn imported_spans_start_whole_then_follow_the_last_sighting() {
        let mut h = History::default();
        let sources = ["bulk".to_string(), "tordnsel".to_string()];
        let item = |first, last| Imported {
            net: net("185.220.101.7"),
            relays: Vec::new(),
            approximate: false,
            first,
            last,
        };
        h.import("tor-exits", &sources, item(0, 5 * H), 24 * H);
        h.import("tor-exits", &sources, item(0, 5 * H), 24 * H); // unchanged: nothing moves
        h.import("tor-exits", &sources[..1], item(0, 6 * H), 24 * H);
        // gone from the other instance's list for two days, then back
        h.import("tor-exits", &sources[..1], item(0, 54 * H), 24 * H);
        let r = &h.lists["tor-exits"][&net("185.220.101.7")];
        assert_eq!(
            r.sources["bulk"],
            vec![Span(0, 6 * H), Span(54 * H, 54 * H)]
        );
        assert_eq!(r.sources["tordnsel"], vec![Span(0, 5 * H)]);
    }

    #[test]
    fn spans_continue_within_the_gap_and_restart_after() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1"], 0);
        see(&mut h, "bulk", &["192.0.2.1"], H);
        see(&mut h, "bulk", &["192.0.2.1"], 30 * H);
        let spans = &h.lists["tor-exits"][&net("192.0.2.1")].sources["bulk"];
        assert_eq!(spans, &vec![Span(0, H), Span(30 * H, 30 * H)]);
    }

    #[test]
    fn current_follows_each_sources_last_success() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1", "192.0.2.2"], 0);
        see(&mut h, "bulk", &["192.0.2.1"], 10 * H);
        let mut last = BTreeMap::from([("bulk".to_string(), 10 * H)]);
        let c = Currency {
            last_success: &last,
            retention: 24 * H,
            now: 10 * H,
        };
        assert_eq!(
            h.current("tor-exits", &c).len(),
            2,
            ".2 is within retention"
        );
        last.insert("bulk".into(), 40 * H);
        see(&mut h, "bulk", &["192.0.2.1"], 40 * H);
        let c = Currency {
            last_success: &last,
            retention: 24 * H,
            now: 40 * H,
        };
        let cur: Vec<_> = h
            .current("tor-exits", &c)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(cur, vec![net("192.0.2.1")]);
        // A source that stopped answering keeps its last good list, however old.
        let c = Currency {
            last_success: &last,
            retention: 24 * H,
            now: 400 * H,
        };
        assert_eq!(h.current("tor-exits", &c).len(), 1);
        // The 7-day window still has .2 (last seen at 0) at 40 h.
        let c = Currency {
            last_success: &last,
            retention: 24 * H,
            now: 40 * H,
        };
        assert_eq!(h.window("tor-exits", &c, 7 * 24 * H).len(), 2);
    }

    #[test]
    fn lookup_before_during_and_after() {
        let mut h = History::default();
        see(&mut h, "tordnsel", &["198.51.100.7"], 100 * H);
        see(&mut h, "tordnsel", &["198.51.100.7"], 101 * H);
        see(&mut h, "tordnsel", &[], 200 * H);
        let last = BTreeMap::from([("tordnsel".to_string(), 200 * H)]);
        let c = Currency {
            last_success: &last,
            retention: 24 * H,
            now: 300 * H,
        };
        let ip = "198.51.100.7".parse().unwrap();
        assert!(h.lookup("tor-exits", ip, 99 * H, &c).is_empty(), "before");
        let during = h.lookup("tor-exits", ip, 100 * H + 1800, &c);
        assert_eq!(during.len(), 1);
        assert_eq!(during[0].1.sources, vec!["tordnsel".to_string()]);
        assert_eq!(
            h.lookup("tor-exits", ip, 120 * H, &c).len(),
            1,
            "within retention after the last sighting"
        );
        assert!(h.lookup("tor-exits", ip, 130 * H, &c).is_empty(), "after");
    }

    #[test]
    fn prune_forgets_old_spans() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1"], 0);
        see(&mut h, "bulk", &["192.0.2.2"], 100 * H);
        h.prune(50 * H);
        assert_eq!(h.len(), 1);
    }
}
