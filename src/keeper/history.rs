//! Membership over time: for every list and source, the spans of time during which the source listed each
//! address, plus what is known about the relay behind an address. Answers "is it in the list now", "was it in the
//! list at T" and "seen in the last 7 days". Pure data: no IO, no clock (callers pass `now`).
//!
//! Stored by columns, so that a list of a million addresses stays small: per list and source a [`Track`] of
//! sorted networks with the start and end of each one's latest span (spans before it, rare, in a side map), and
//! per list a sparse map of relay facts for the addresses a Tor source described. A span the source's last good
//! list still holds is *open*: it ends at the source's last success, so a fetch that confirms the same list
//! changes nothing here. The tracks of another instance's sources, which a `torwatch` source imports, are never
//! open (those sources are not polled from here): each span ends at that instance's latest sighting.

use crate::feeds::RelayInfo;
use crate::list::{ListEntry, Provenance};
use base64::Engine as _;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// A span `[from, to]` of unix seconds: the first and last successful fetch that listed the address, with no gap
/// longer than the retention between fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span(pub i64, pub i64);

/// The end of a span the source's last good list still holds: it ends at the source's last success.
const OPEN: i64 = i64::MAX;

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
    /// The source that lists it only infers it (IPv6 OR address of an exit).
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

/// One source's record of one list: sorted, distinct networks and, for each, its latest span (`last` is
/// [`OPEN`] while the source's last good list holds it). Earlier spans of an address that left and came back
/// are in `earlier`, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    nets: Vec<IpNet>,
    first: Vec<i64>,
    last: Vec<i64>,
    earlier: BTreeMap<IpNet, Vec<Span>>,
}

impl Track {
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// The networks the source's last good list holds.
    pub fn open(&self) -> impl Iterator<Item = &IpNet> + '_ {
        self.nets
            .iter()
            .zip(&self.last)
            .filter(|(_, l)| **l == OPEN)
            .map(|(n, _)| n)
    }

    /// The networks whose latest span is current for a source that last succeeded at `reference`: open, or
    /// ended within `retention` before it.
    pub fn held(&self, reference: i64, retention: i64) -> impl Iterator<Item = &IpNet> + '_ {
        let since = reference.saturating_sub(retention);
        self.nets
            .iter()
            .zip(&self.last)
            .filter(move |(_, l)| **l == OPEN || **l >= since)
            .map(|(n, _)| n)
    }

    /// The end of the latest closed span (for another instance's source: its latest sighting).
    pub fn latest(&self) -> Option<i64> {
        self.last.iter().copied().filter(|l| *l != OPEN).max()
    }

    /// Marks open the latest span of each of `nets` that ends at `at` (an older state file's last good list).
    pub fn reopen(&mut self, nets: impl IntoIterator<Item = IpNet>, at: i64) {
        for net in nets {
            if let Some(i) = self.position(&net.trunc()) {
                if self.last[i] == at {
                    self.last[i] = OPEN;
                }
            }
        }
    }

    fn position(&self, net: &IpNet) -> Option<usize> {
        self.nets.binary_search(net).ok()
    }

    /// Every span of the address at `i`, the latest with its end resolved (`OPEN` → `last_success`).
    fn spans(&self, i: usize, last_success: i64) -> impl Iterator<Item = Span> + '_ {
        let latest = Span(self.first[i], resolve(self.last[i], last_success));
        self.earlier
            .get(&self.nets[i])
            .into_iter()
            .flatten()
            .copied()
            .chain(std::iter::once(latest))
    }

    fn first_seen(&self, i: usize) -> i64 {
        self.earlier
            .get(&self.nets[i])
            .and_then(|e| e.first())
            .map_or(self.first[i], |s| s.0)
    }

    /// Keeps an ended span of `net` among its earlier ones.
    fn end(&mut self, net: IpNet, span: Span) {
        self.earlier.entry(net).or_default().push(span);
    }

    fn push(&mut self, net: IpNet, first: i64, last: i64) {
        self.nets.push(net);
        self.first.push(first);
        self.last.push(last);
    }
}

fn resolve(last: i64, last_success: i64) -> i64 {
    if last == OPEN {
        last_success
    } else {
        last
    }
}

/// One list's history: a track per source and the relay facts known per address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    pub tracks: BTreeMap<String, Track>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<IpNet, Info>,
}

impl Book {
    /// Every network any source ever listed (still in the history), sorted, with its relay facts.
    pub fn entries(&self) -> Vec<(IpNet, Option<&Info>)> {
        let mut nets: Vec<IpNet> = self
            .tracks
            .values()
            .flat_map(|t| t.nets.iter().copied())
            .collect();
        nets.sort_unstable();
        nets.dedup();
        nets.into_iter().map(|n| (n, self.info.get(&n))).collect()
    }
}

/// One observation: an address listed by a successful fetch.
pub struct Sighting<'a> {
    pub net: IpNet,
    pub relay: Option<&'a RelayInfo>,
    pub approximate: bool,
    /// When the source itself measured the address (TorDNSEL `ExitAddress`, Onionoo `last_seen`), if earlier than
    /// the fetch: the span starts there.
    pub measured: Option<i64>,
}

/// An address as another torwatch instance lists it: each of its `sources` saw it from `first` to `last`.
pub struct Imported<'a> {
    pub net: IpNet,
    pub sources: &'a [String],
    pub relays: Vec<&'a RelayInfo>,
    pub approximate: bool,
    pub first: i64,
    pub last: i64,
}

/// All lists' membership history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub lists: BTreeMap<String, Book>,
}

/// When each source last succeeded: an address stays current while its source's last good list holds it, or for
/// `retention` after that source last listed it.
pub struct CurrentRule<'a> {
    pub last_success: &'a BTreeMap<String, i64>,
    pub retention: i64,
    pub now: i64,
}

impl CurrentRule<'_> {
    fn reference(&self, source: &str) -> i64 {
        self.last_success.get(source).copied().unwrap_or(self.now)
    }

    /// Whether a latest span that ends at `last` (possibly [`OPEN`]) is current.
    fn current(&self, source: &str, last: i64) -> bool {
        last == OPEN || last >= self.reference(source) - self.retention
    }
}

impl History {
    /// Records that a successful fetch of `source` at `now` listed exactly these addresses in `list`.
    /// `previous` is the source's last success before this fetch (0: never); `gap` the longest time between two
    /// sightings that still continues a span (the retention). Addresses the fetch no longer lists end their span
    /// at `previous`, the last fetch that listed them. Returns whether anything changed.
    pub fn observe<'a>(
        &mut self,
        list: &str,
        source: &str,
        sightings: impl IntoIterator<Item = Sighting<'a>>,
        times: Times,
    ) -> bool {
        let book = self.lists.entry(list.to_string()).or_default();
        let mut seen: Vec<(IpNet, i64)> = Vec::new();
        let mut changed = false;
        for s in sightings {
            let net = s.net.trunc();
            let start = s.measured.map_or(times.now, |m| m.min(times.now));
            seen.push((net, start));
            if s.relay.is_some() || s.approximate {
                let info = book.info.entry(net).or_default();
                let before = info.clone();
                if let Some(relay) = s.relay {
                    info.absorb(relay);
                }
                info.approximate = s.approximate;
                changed |= *info != before;
            }
        }
        seen.sort_unstable();
        seen.dedup_by(|a, b| a.0 == b.0);
        let old = book.tracks.remove(source).unwrap_or_default();
        let (merged, moved) = merge(old, &seen, times);
        book.tracks.insert(source.to_string(), merged);
        changed || moved
    }

    /// Records what another torwatch instance lists in `list`: each item's sources (that instance's source names)
    /// saw it from `first` to `last`. A network new to a source takes that span whole; a known one's latest span
    /// extends to `last`, or, when more than `gap` passed since it ended (the address left that instance's list
    /// and came back), ends there and a new span starts at `last`. Networks the import does not mention keep their
    /// spans: they end where that instance last listed them. Returns whether anything changed.
    pub fn import<'a>(
        &mut self,
        list: &str,
        items: impl IntoIterator<Item = Imported<'a>>,
        gap: i64,
    ) -> bool {
        let book = self.lists.entry(list.to_string()).or_default();
        let mut rows: BTreeMap<&str, Vec<(IpNet, i64, i64)>> = BTreeMap::new();
        let mut changed = false;
        for item in items {
            let net = item.net.trunc();
            let (first, last) = (item.first.min(item.last), item.last);
            for source in item.sources {
                rows.entry(source).or_default().push((net, first, last));
            }
            if !item.relays.is_empty() || item.approximate || book.info.contains_key(&net) {
                let info = book.info.entry(net).or_default();
                let before = info.clone();
                for relay in item.relays {
                    info.absorb(relay);
                }
                info.approximate = item.approximate;
                changed |= *info != before;
            }
        }
        for (source, mut rows) in rows {
            rows.sort_unstable_by_key(|r| r.0);
            rows.dedup_by_key(|r| r.0);
            let old = book.tracks.remove(source).unwrap_or_default();
            let (merged, moved) = follow(old, &rows, gap);
            changed |= moved;
            book.tracks.insert(source.to_string(), merged);
        }
        changed
    }

    /// A fetch of `source` at `now` confirmed its last good list unchanged. If the source was silent longer than
    /// `gap`, its open spans end at `previous` and new ones start now. Returns whether anything changed.
    pub fn confirm(&mut self, source: &str, times: Times) -> bool {
        if times.previous <= 0 || times.now - times.previous <= times.gap {
            return false;
        }
        let mut changed = false;
        for book in self.lists.values_mut() {
            if let Some(track) = book.tracks.remove(source) {
                let seen: Vec<(IpNet, i64)> = track.open().map(|n| (*n, times.now)).collect();
                let (merged, moved) = merge(track, &seen, times);
                changed |= moved;
                book.tracks.insert(source.to_string(), merged);
            }
        }
        changed
    }

    /// The current members of a list, each with its provenance (completed by `fill`, then shared between
    /// entries with equal provenance).
    pub fn current(
        &self,
        list: &str,
        rule: &CurrentRule<'_>,
        fill: impl Fn(&IpNet, &mut Provenance),
    ) -> Vec<ListEntry> {
        self.members(list, rule, |source, last| rule.current(source, last), fill)
    }

    /// Members seen within `window` seconds before `now` (or still current).
    pub fn window(
        &self,
        list: &str,
        rule: &CurrentRule<'_>,
        window: i64,
        fill: impl Fn(&IpNet, &mut Provenance),
    ) -> Vec<ListEntry> {
        self.members(
            list,
            rule,
            |source, last| last >= rule.now - window || rule.current(source, last),
            fill,
        )
    }

    fn members(
        &self,
        list: &str,
        rule: &CurrentRule<'_>,
        keep: impl Fn(&str, i64) -> bool,
        fill: impl Fn(&IpNet, &mut Provenance),
    ) -> Vec<ListEntry> {
        let Some(book) = self.lists.get(list) else {
            return Vec::new();
        };
        let tracks: Vec<(&String, &Track, i64)> = book
            .tracks
            .iter()
            .map(|(s, t)| (s, t, rule.reference(s)))
            .collect();
        let mut cursor = vec![0usize; tracks.len()];
        let mut shared: HashMap<Provenance, Arc<Provenance>> = HashMap::new();
        let mut out = Vec::with_capacity(tracks.iter().map(|t| t.1.len()).max().unwrap_or(0));
        // The smallest network under any cursor: tracks are few, a scan is cheaper than a heap.
        while let Some(net) = tracks
            .iter()
            .zip(&cursor)
            .filter_map(|((_, t, _), &c)| t.nets.get(c))
            .min()
            .copied()
        {
            let mut prov = Provenance::default();
            let mut first_seen = i64::MAX;
            let mut last_seen = i64::MIN;
            for ((source, track, reference), c) in tracks.iter().zip(cursor.iter_mut()) {
                if track.nets.get(*c) != Some(&net) {
                    continue;
                }
                let i = *c;
                *c += 1;
                first_seen = first_seen.min(track.first_seen(i));
                last_seen = last_seen.max(resolve(track.last[i], *reference));
                if keep(source, track.last[i]) {
                    prov.sources.push((*source).clone());
                }
            }
            if prov.sources.is_empty() {
                continue;
            }
            prov.first_seen = first_seen;
            prov.last_seen = last_seen;
            if let Some(info) = book.info.get(&net) {
                prov.fingerprints = info.fingerprints.iter().cloned().collect();
                prov.nickname.clone_from(&info.nickname);
                prov.country.clone_from(&info.country);
                prov.as_number = info.as_number;
                prov.as_name.clone_from(&info.as_name);
                prov.approximate = info.approximate && prov.sources.len() == 1;
            }
            fill(&net, &mut prov);
            let prov = match shared.get(&prov) {
                Some(p) => p.clone(),
                None => {
                    let p = Arc::new(prov.clone());
                    shared.insert(prov, p.clone());
                    p
                }
            };
            out.push(ListEntry { net, prov });
        }
        out
    }

    /// Which sources listed `addr` (or a network holding it) in `list` at time `at`.
    pub fn lookup(
        &self,
        list: &str,
        addr: std::net::IpAddr,
        at: i64,
        rule: &CurrentRule<'_>,
    ) -> Vec<(IpNet, Provenance)> {
        let Some(book) = self.lists.get(list) else {
            return Vec::new();
        };
        let mut found: BTreeMap<IpNet, Provenance> = BTreeMap::new();
        for (source, track) in &book.tracks {
            let reference = rule.reference(source);
            for net in containing(addr) {
                let Some(i) = track.position(&net) else {
                    continue;
                };
                let open = rule.current(source, track.last[i]);
                let spans: Vec<Span> = track.spans(i, reference).collect();
                let latest = spans.len() - 1;
                let listed = spans.iter().enumerate().any(|(k, s)| {
                    s.0 <= at
                        && (at <= s.1.saturating_add(rule.retention)
                            || (k == latest && open && at <= rule.now))
                });
                let prov = found.entry(net).or_default();
                prov.first_seen = match prov.first_seen {
                    0 => spans[0].0,
                    f => f.min(spans[0].0),
                };
                prov.last_seen = prov.last_seen.max(spans[latest].1);
                if listed {
                    prov.sources.push(source.clone());
                }
            }
        }
        found
            .into_iter()
            .filter(|(_, p)| !p.sources.is_empty())
            .map(|(net, mut prov)| {
                if let Some(info) = book.info.get(&net) {
                    prov.fingerprints = info.fingerprints.iter().cloned().collect();
                    prov.nickname.clone_from(&info.nickname);
                    prov.country.clone_from(&info.country);
                    prov.as_number = info.as_number;
                    prov.as_name.clone_from(&info.as_name);
                    prov.approximate = info.approximate && prov.sources.len() == 1;
                }
                (net, prov)
            })
            .collect()
    }

    /// The times `net` was listed in `list`: each span extended by the retention, and a source's latest span
    /// left open (`i64::MAX`) while that source still lists it.
    pub fn ranges(&self, list: &str, net: &IpNet, rule: &CurrentRule<'_>) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let Some(book) = self.lists.get(list) else {
            return out;
        };
        for (source, track) in &book.tracks {
            let Some(i) = track.position(net) else {
                continue;
            };
            let open = rule.current(source, track.last[i]);
            let spans: Vec<Span> = track.spans(i, rule.reference(source)).collect();
            let latest = spans.len() - 1;
            for (k, s) in spans.into_iter().enumerate() {
                let end = if k == latest && open {
                    i64::MAX
                } else {
                    s.1.saturating_add(rule.retention)
                };
                out.push((s.0, end));
            }
        }
        out
    }

    /// Forgets spans that ended before `horizon` (and addresses left with none). The tracks of another instance's
    /// sources (`followed`: each one's latest sighting) keep the spans that end at that sighting, whatever the
    /// horizon, as that instance keeps its open spans. Returns whether anything went.
    pub fn prune(&mut self, horizon: i64, followed: &BTreeMap<String, i64>) -> bool {
        let mut changed = false;
        for book in self.lists.values_mut() {
            for (source, track) in book.tracks.iter_mut() {
                let horizon = followed.get(source).map_or(horizon, |l| horizon.min(*l));
                changed |= prune_track(track, horizon);
            }
            book.tracks.retain(|_, t| !t.is_empty());
            let before = book.info.len();
            if !book.info.is_empty() {
                let known: BTreeSet<IpNet> = book
                    .tracks
                    .values()
                    .flat_map(|t| t.nets.iter().copied())
                    .collect();
                book.info.retain(|n, _| known.contains(n));
            }
            changed |= book.info.len() != before;
        }
        let before = self.lists.len();
        self.lists.retain(|_, b| !b.tracks.is_empty());
        changed || self.lists.len() != before
    }

    /// The earliest time the history describes: the first span's start (a time a source measured counts), or
    /// `None` when it holds nothing.
    pub fn earliest(&self) -> Option<i64> {
        self.lists
            .values()
            .flat_map(|b| b.tracks.values())
            .flat_map(|t| (0..t.len()).map(move |i| t.first_seen(i)))
            .min()
    }

    /// Number of addresses known, over all lists.
    pub fn len(&self) -> usize {
        self.lists.values().map(|b| b.entries().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.values().all(|b| b.tracks.is_empty())
    }
}

/// `previous` (the source's last success before this fetch, 0: never), `now` and the longest `gap` between two
/// sightings that still continues a span.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub previous: i64,
    pub now: i64,
    pub gap: i64,
}

/// The track after a fetch that listed exactly `seen` (sorted, distinct, each with its span start if new), and
/// whether it differs from `old`.
fn merge(old: Track, seen: &[(IpNet, i64)], t: Times) -> (Track, bool) {
    let broken = t.previous > 0 && t.now - t.previous > t.gap;
    let ended = t.previous.max(0);
    rebuild(
        old,
        seen,
        |s| s.0,
        |old, step, out| match step {
            // No longer listed: an open span ends at the last fetch that listed it.
            Step::Old(i) if old.last[i] == OPEN => {
                out.push(old.nets[i], old.first[i], ended.max(old.first[i]));
                true
            }
            Step::Old(i) => {
                out.push(old.nets[i], old.first[i], old.last[i]);
                false
            }
            Step::New(&(net, start)) => {
                out.push(net, start, OPEN);
                true
            }
            Step::Both(i, _) => {
                let (net, first, last) = (old.nets[i], old.first[i], old.last[i]);
                let end = if last == OPEN { ended } else { last };
                let continues = (last == OPEN && !broken) || t.now - end <= t.gap;
                if continues {
                    out.push(net, first, OPEN);
                } else {
                    out.end(net, Span(first, end.max(first)));
                    out.push(net, t.now, OPEN);
                }
                !(continues && last == OPEN)
            }
        },
    )
}

/// The track of another instance's source after an import that listed `rows` (sorted, distinct: network, first
/// and last sighting), and whether it differs from `old`. A network the import does not list keeps its spans.
fn follow(old: Track, rows: &[(IpNet, i64, i64)], gap: i64) -> (Track, bool) {
    rebuild(
        old,
        rows,
        |r| r.0,
        |old, step, out| match step {
            Step::Old(i) => {
                out.push(old.nets[i], old.first[i], old.last[i]);
                false
            }
            Step::New(&(net, first, last)) => {
                out.push(net, first, last);
                true
            }
            Step::Both(i, &(net, _, seen)) => {
                let (first, last) = (old.first[i], old.last[i]);
                if seen <= last {
                    out.push(net, first, last);
                    false
                } else if seen.saturating_sub(last) <= gap {
                    out.push(net, first, seen);
                    true
                } else {
                    out.end(net, Span(first, last));
                    out.push(net, seen, seen);
                    true
                }
            }
        },
    )
}

/// Where a network stands in [`rebuild`]: only in the old track (at that index), only in the new rows, or in both.
enum Step<'r, R> {
    Old(usize),
    New(&'r R),
    Both(usize, &'r R),
}

/// Walks the old track's networks and `rows` (sorted by `net`, distinct) together; `step` pushes each network's
/// latest span onto the new track (ending earlier ones with [`Track::end`]) and says whether that changed anything.
/// Returns the new track and whether it differs from `old`.
fn rebuild<'r, R>(
    mut old: Track,
    rows: &'r [R],
    net: impl Fn(&R) -> IpNet,
    mut step: impl FnMut(&Track, Step<'r, R>, &mut Track) -> bool,
) -> (Track, bool) {
    let n = rows.len().max(old.nets.len());
    let mut out = Track {
        nets: Vec::with_capacity(n),
        first: Vec::with_capacity(n),
        last: Vec::with_capacity(n),
        // Every old network is kept (only `prune` forgets), so every earlier span still has its network.
        earlier: std::mem::take(&mut old.earlier),
    };
    let mut changed = false;
    let (mut i, mut j) = (0, 0);
    while i < old.nets.len() || j < rows.len() {
        let order = match (old.nets.get(i), rows.get(j)) {
            (Some(a), Some(b)) => a.cmp(&net(b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        changed |= match order {
            std::cmp::Ordering::Less => {
                i += 1;
                step(&old, Step::Old(i - 1), &mut out)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                step(&old, Step::New(&rows[j - 1]), &mut out)
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                step(&old, Step::Both(i - 1, &rows[j - 1]), &mut out)
            }
        };
    }
    (out, changed)
}

fn prune_track(track: &mut Track, horizon: i64) -> bool {
    let before = (
        track.nets.len(),
        track.earlier.values().map(Vec::len).sum::<usize>(),
    );
    let mut k = 0;
    for i in 0..track.nets.len() {
        if track.last[i] != OPEN && track.last[i] < horizon {
            continue;
        }
        track.nets[k] = track.nets[i];
        track.first[k] = track.first[i];
        track.last[k] = track.last[i];
        k += 1;
    }
    track.nets.truncate(k);
    track.first.truncate(k);
    track.last.truncate(k);
    let nets = &track.nets;
    track.earlier.retain(|n, spans| {
        spans.retain(|s| s.1 >= horizon);
        !spans.is_empty() && nets.binary_search(n).is_ok()
    });
    let after = (
        track.nets.len(),
        track.earlier.values().map(Vec::len).sum::<usize>(),
    );
    before != after
}

/// Every network that can hold `addr`: the address truncated to each prefix length.
fn containing(addr: std::net::IpAddr) -> Vec<IpNet> {
    let max = match addr {
        std::net::IpAddr::V4(_) => 32,
        std::net::IpAddr::V6(_) => 128,
    };
    (0..=max)
        .filter_map(|len| IpNet::new(addr, len).ok().map(|n| n.trunc()))
        .collect()
}

/// A track in the state file: networks and times packed into base64 columns (a million addresses take ~29 MB
/// instead of ~200 MB of JSON objects), earlier spans as a map.
#[derive(Serialize, Deserialize)]
struct TrackFile {
    /// Per network: family (4 or 6), prefix length, then 4 or 16 address bytes.
    nets: String,
    /// Little-endian i64 per network: the latest span's start.
    first: String,
    /// Little-endian i64 per network: the latest span's end (`i64::MAX` while listed).
    last: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    earlier: BTreeMap<IpNet, Vec<Span>>,
}

impl Serialize for Track {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut nets = Vec::with_capacity(self.nets.len() * 6);
        for net in &self.nets {
            match net {
                IpNet::V4(n) => {
                    nets.extend([4, n.prefix_len()]);
                    nets.extend(n.addr().octets());
                }
                IpNet::V6(n) => {
                    nets.extend([6, n.prefix_len()]);
                    nets.extend(n.addr().octets());
                }
            }
        }
        let times = |column: &[i64]| {
            let bytes: Vec<u8> = column.iter().flat_map(|t| t.to_le_bytes()).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        TrackFile {
            nets: base64::engine::general_purpose::STANDARD.encode(nets),
            first: times(&self.first),
            last: times(&self.last),
            earlier: self.earlier.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Track {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Track, D::Error> {
        let file = TrackFile::deserialize(deserializer)?;
        Track::try_from(file).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<TrackFile> for Track {
    type Error = String;

    fn try_from(file: TrackFile) -> Result<Track, String> {
        let b64 = |s: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("track column: {e}"))
        };
        let packed = b64(&file.nets)?;
        let mut nets = Vec::new();
        let mut rest = packed.as_slice();
        while let [family, len, tail @ ..] = rest {
            let net = match family {
                4 if tail.len() >= 4 => {
                    let (a, t) = tail.split_at(4);
                    rest = t;
                    let octets: [u8; 4] = a.try_into().map_err(|_| "short address")?;
                    Ipv4Net::new(Ipv4Addr::from(octets), *len).map(IpNet::V4)
                }
                6 if tail.len() >= 16 => {
                    let (a, t) = tail.split_at(16);
                    rest = t;
                    let octets: [u8; 16] = a.try_into().map_err(|_| "short address")?;
                    Ipv6Net::new(Ipv6Addr::from(octets), *len).map(IpNet::V6)
                }
                _ => return Err("track networks: bad family or short address".into()),
            }
            .map_err(|e| format!("track networks: {e}"))?;
            nets.push(net.trunc());
        }
        if !rest.is_empty() {
            return Err("track networks: trailing bytes".into());
        }
        let times = |s: &str| -> Result<Vec<i64>, String> {
            let bytes = b64(s)?;
            if bytes.len() % 8 != 0 {
                return Err("track times: not a whole number of i64".into());
            }
            Ok(bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect())
        };
        let first = times(&file.first)?;
        let last = times(&file.last)?;
        if first.len() != nets.len() || last.len() != nets.len() {
            return Err("track columns differ in length".into());
        }
        if nets.windows(2).any(|w| w[0] >= w[1]) {
            return Err("track networks are not sorted and distinct".into());
        }
        Ok(Track {
            nets,
            first,
            last,
            earlier: file.earlier,
        })
    }
}

/// Builds a track from spans per network (oldest first; the latest ends at `i64::MAX` while listed), for
/// migrating older state files and for tests.
impl FromIterator<(IpNet, Vec<Span>)> for Track {
    fn from_iter<I: IntoIterator<Item = (IpNet, Vec<Span>)>>(iter: I) -> Track {
        let mut rows: Vec<(IpNet, Vec<Span>)> = iter
            .into_iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(n, s)| (n.trunc(), s))
            .collect();
        rows.sort_by_key(|r| r.0);
        rows.dedup_by(|a, b| a.0 == b.0);
        let mut t = Track::default();
        for (net, mut spans) in rows {
            let Some(latest) = spans.pop() else { continue };
            t.push(net, latest.0, latest.1);
            if !spans.is_empty() {
                t.earlier.insert(net, spans);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn net(s: &str) -> IpNet {
        s.parse::<std::net::IpAddr>().unwrap().into()
    }

    /// A fetch of `source` at `now` that listed `addrs`; `previous` is that source's last success before it.
    fn see(h: &mut History, source: &str, addrs: &[&str], previous: i64, now: i64) {
        let sightings = addrs.iter().map(|a| Sighting {
            net: net(a),
            relay: None,
            approximate: false,
            measured: None,
        });
        h.observe(
            "tor-exits",
            source,
            sightings,
            Times {
                previous,
                now,
                gap: 24 * H,
            },
        );
    }

    fn spans(h: &History, source: &str, a: &str, last_success: i64) -> Vec<Span> {
        let t = &h.lists["tor-exits"].tracks[source];
        let i = t.position(&net(a)).unwrap();
        t.spans(i, last_success).collect()
    }

    fn nets(entries: &[ListEntry]) -> Vec<IpNet> {
        entries.iter().map(|e| e.net).collect()
    }

    #[test]
    fn imported_spans_start_whole_then_follow_the_last_sighting() {
        let mut h = History::default();
        let sources = ["bulk".to_string(), "tordnsel".to_string()];
        let item = |sources, first, last| Imported {
            net: net("185.220.101.7"),
            sources,
            relays: Vec::new(),
            approximate: false,
            first,
            last,
        };
        let import =
            |h: &mut History, items: Vec<Imported<'_>>| h.import("tor-exits", items, 24 * H);
        assert!(import(&mut h, vec![item(&sources, 0, 5 * H)]));
        let before = h.clone();
        assert!(
            !import(&mut h, vec![item(&sources, 0, 5 * H)]),
            "unchanged: nothing moves"
        );
        assert_eq!(h, before);
        assert!(import(&mut h, vec![item(&sources[..1], 0, 6 * H)]));
        // gone from the other instance's list for two days (its lists did not hold it), then back
        assert!(!import(&mut h, vec![]));
        assert!(import(&mut h, vec![item(&sources[..1], 0, 54 * H)]));
        // Never open: the spans end at the other instance's sightings, whatever the reference.
        assert_eq!(
            spans(&h, "bulk", "185.220.101.7", 99 * H),
            vec![Span(0, 6 * H), Span(54 * H, 54 * H)]
        );
        assert_eq!(
            spans(&h, "tordnsel", "185.220.101.7", 99 * H),
            vec![Span(0, 5 * H)]
        );
        let t = &h.lists["tor-exits"].tracks;
        assert_eq!(
            (t["bulk"].latest(), t["tordnsel"].latest()),
            (Some(54 * H), Some(5 * H))
        );
    }

    #[test]
    fn imported_lists_stay_current_and_kept_at_their_latest_sighting() {
        let mut h = History::default();
        let leader = ["bulk".to_string()];
        let item = |a: &str, last| Imported {
            net: net(a),
            sources: &leader,
            relays: Vec::new(),
            approximate: false,
            first: 0,
            last,
        };
        // .2 was in the other instance's list until 10 h (then its retention there ran out); .1 still is at 40 h.
        h.import(
            "tor-exits",
            vec![item("192.0.2.1", 10 * H), item("192.0.2.2", 10 * H)],
            24 * H,
        );
        h.import("tor-exits", vec![item("192.0.2.1", 40 * H)], 24 * H);
        // That source counts as succeeded at its latest sighting, also long after (the other instance unreachable).
        let last = BTreeMap::from([("bulk".to_string(), 40 * H)]);
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 400 * H,
        };
        assert_eq!(
            nets(&h.current("tor-exits", &c, |_, _| {})),
            vec![net("192.0.2.1")]
        );
        assert_eq!(
            h.lists["tor-exits"].tracks["bulk"]
                .held(40 * H, 24 * H)
                .collect::<Vec<_>>(),
            vec![&net("192.0.2.1")]
        );
        // Past the history horizon the span at the latest sighting stays, as the other instance's open span does.
        let followed = BTreeMap::from([("bulk".to_string(), 40 * H)]);
        assert!(h.prune(300 * H, &followed));
        assert_eq!(
            nets(&h.current("tor-exits", &c, |_, _| {})),
            vec![net("192.0.2.1")]
        );
        assert!(
            h.prune(300 * H, &BTreeMap::new()),
            "not followed: forgotten"
        );
        assert!(h.is_empty());
    }

    #[test]
    fn spans_continue_within_the_gap_and_restart_after() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1"], 0, 0);
        see(&mut h, "bulk", &["192.0.2.1"], 0, H);
        assert_eq!(spans(&h, "bulk", "192.0.2.1", H), vec![Span(0, H)]);
        // Left at 2 h (last listed at 1 h), back at 30 h: a new span.
        see(&mut h, "bulk", &[], H, 2 * H);
        see(&mut h, "bulk", &["192.0.2.1"], 2 * H, 30 * H);
        assert_eq!(
            spans(&h, "bulk", "192.0.2.1", 30 * H),
            vec![Span(0, H), Span(30 * H, 30 * H)]
        );
        // Confirmed after a silence longer than the gap: the span ends where the source went silent.
        assert!(h.confirm(
            "bulk",
            Times {
                previous: 31 * H,
                now: 80 * H,
                gap: 24 * H
            }
        ));
        assert_eq!(
            spans(&h, "bulk", "192.0.2.1", 80 * H),
            vec![Span(0, H), Span(30 * H, 31 * H), Span(80 * H, 80 * H)]
        );
        // A confirmation within the gap changes nothing: the open span follows the last success.
        let before = h.clone();
        assert!(!h.confirm(
            "bulk",
            Times {
                previous: 80 * H,
                now: 81 * H,
                gap: 24 * H
            }
        ));
        assert_eq!(h, before);
    }

    #[test]
    fn measured_times_start_the_span() {
        let mut h = History::default();
        h.observe(
            "tor-exits",
            "tordnsel",
            [Sighting {
                net: net("192.0.2.1"),
                relay: None,
                approximate: false,
                measured: Some(10 * H),
            }],
            Times {
                previous: 0,
                now: 30 * H,
                gap: 24 * H,
            },
        );
        assert_eq!(
            spans(&h, "tordnsel", "192.0.2.1", 30 * H),
            vec![Span(10 * H, 30 * H)]
        );
    }

    #[test]
    fn current_follows_each_sources_last_success() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1", "192.0.2.2"], 0, 0);
        see(&mut h, "bulk", &["192.0.2.1"], 0, 10 * H);
        let mut last = BTreeMap::from([("bulk".to_string(), 10 * H)]);
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 10 * H,
        };
        assert_eq!(
            h.current("tor-exits", &c, |_, _| {}).len(),
            2,
            ".2 is within retention"
        );
        last.insert("bulk".into(), 40 * H);
        see(&mut h, "bulk", &["192.0.2.1"], 10 * H, 40 * H);
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 40 * H,
        };
        assert_eq!(
            nets(&h.current("tor-exits", &c, |_, _| {})),
            vec![net("192.0.2.1")]
        );
        // A source that stopped answering keeps its last good list, however old.
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 400 * H,
        };
        assert_eq!(h.current("tor-exits", &c, |_, _| {}).len(), 1);
        // The 7-day window still has .2 (last seen at 0) at 40 h.
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 40 * H,
        };
        assert_eq!(h.window("tor-exits", &c, 7 * 24 * H, |_, _| {}).len(), 2);
    }

    #[test]
    fn members_merge_sources_and_share_provenance() {
        let mut h = History::default();
        see(&mut h, "a", &["192.0.2.1", "192.0.2.3"], 0, 5);
        see(&mut h, "b", &["192.0.2.2", "192.0.2.3"], 0, 5);
        let last = BTreeMap::from([("a".to_string(), 5), ("b".to_string(), 5)]);
        let c = CurrentRule {
            last_success: &last,
            retention: 24 * H,
            now: 5,
        };
        let m = h.current("tor-exits", &c, |_, _| {});
        let got: Vec<(String, Vec<String>)> = m
            .iter()
            .map(|e| (e.net.addr().to_string(), e.prov.sources.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("192.0.2.1".into(), vec!["a".to_string()]),
                ("192.0.2.2".into(), vec!["b".to_string()]),
                ("192.0.2.3".into(), vec!["a".to_string(), "b".to_string()]),
            ]
        );
        assert!(Arc::ptr_eq(&m[0].prov, &m[0].prov));
        let one = h.current("tor-exits", &c, |_, _| {});
        let shared = one.iter().filter(|e| e.prov.sources == ["a"]).count();
        assert_eq!(shared, 1);
    }

    #[test]
    fn lookup_before_during_and_after() {
        let mut h = History::default();
        see(&mut h, "tordnsel", &["198.51.100.7"], 0, 100 * H);
        see(&mut h, "tordnsel", &["198.51.100.7"], 100 * H, 101 * H);
        see(&mut h, "tordnsel", &[], 101 * H, 200 * H);
        let last = BTreeMap::from([("tordnsel".to_string(), 200 * H)]);
        let c = CurrentRule {
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
        see(&mut h, "bulk", &["192.0.2.1"], 0, 0);
        see(&mut h, "bulk", &["192.0.2.2"], 0, 100 * H);
        assert!(h.prune(50 * H, &BTreeMap::new()));
        assert_eq!(h.len(), 1);
        assert!(!h.prune(50 * H, &BTreeMap::new()), "nothing more to forget");
    }

    #[test]
    fn tracks_round_trip_through_their_packed_form_and_refuse_garbage() {
        let mut h = History::default();
        see(&mut h, "bulk", &["192.0.2.1", "2001:db8::1"], 0, 0);
        see(&mut h, "bulk", &["192.0.2.1"], 0, H);
        see(&mut h, "bulk", &["192.0.2.1", "2001:db8::1"], H, 90 * H);
        let text = serde_json::to_string(&h).unwrap();
        let back: History = serde_json::from_str(&text).unwrap();
        assert_eq!(back, h);
        for bad in [
            r#"{"nets":"BA==","first":"","last":""}"#,
            r#"{"nets":"!","first":"","last":""}"#,
            r#"{"nets":"BCDAAAIB","first":"AAAAAAAAAAA=","last":""}"#,
        ] {
            assert!(serde_json::from_str::<Track>(bad).is_err(), "{bad}");
        }
    }
}
