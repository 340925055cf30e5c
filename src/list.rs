//! The published lists: immutable, sorted sets of networks with their provenance. What every output format renders
//! and what the matcher indexes. Pure data, no IO.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Which list a name means: the exit list, a window of the exits' history, the relays, or another list (a plain
/// source's, or another instance's that a follower copies). The names are the ones URLs, config, files and metrics
/// use: [`ListId::name`] gives them and [`ListId::parse`] reads them; nothing else spells a list's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListId<'a> {
    /// `tor-exits`: the exits listed now.
    Exits,
    /// `tor-exits-1d`, `tor-exits-7d`, `tor-exits-30d`: every exit listed within the window.
    ExitsWithin(Window),
    /// `tor-relays`: every relay's OR addresses, for outbound detection.
    Relays,
    /// Any other list, by its configured name.
    Named(&'a str),
}

impl<'a> ListId<'a> {
    /// The list a name means.
    pub fn parse(name: &'a str) -> ListId<'a> {
        match name {
            "tor-exits" => ListId::Exits,
            "tor-relays" => ListId::Relays,
            _ => Window::ALL
                .into_iter()
                .find(|w| ListId::ExitsWithin(*w).name() == name)
                .map_or(ListId::Named(name), ListId::ExitsWithin),
        }
    }

    /// The list's name.
    pub const fn name(self) -> &'a str {
        match self {
            ListId::Exits => "tor-exits",
            ListId::ExitsWithin(Window::Day) => "tor-exits-1d",
            ListId::ExitsWithin(Window::Week) => "tor-exits-7d",
            ListId::ExitsWithin(Window::Month) => "tor-exits-30d",
            ListId::Relays => "tor-relays",
            ListId::Named(name) => name,
        }
    }

    /// Whether a source configured to feed the list named `source_list` (an Onionoo source when `onionoo`) feeds
    /// this one: its own list, the exit sources the windows too, and an Onionoo source the relays as well.
    pub fn fed_by(self, source_list: &str, onionoo: bool) -> bool {
        let fed = ListId::parse(source_list);
        fed == self
            || (matches!(self, ListId::ExitsWithin(_)) && fed == ListId::Exits)
            || (self == ListId::Relays && onionoo)
    }
}

impl std::fmt::Display for ListId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A window of the exits' history that a list is published for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Day, Window::Week, Window::Month];

    /// The name of a window in a list's name and in the `window` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "1d",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }

    /// The window named `name`.
    pub fn from_name(name: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == name)
    }

    /// How far back the window reaches, in seconds.
    pub fn secs(self) -> i64 {
        match self {
            Window::Day => 86_400,
            Window::Week => 7 * 86_400,
            Window::Month => 30 * 86_400,
        }
    }
}

/// Where an address came from and what is known about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// Names of the configured sources that list it, sorted.
    pub sources: Vec<String>,
    /// Unix seconds: first and last time a successful fetch contained it.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Relay fingerprints (40 hex digits), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprints: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// ISO 3166-1 alpha-2, lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
    /// True when every source inferred it rather than measured it (IPv6 OR address of an exit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

/// One network in a list. Host addresses are /32 or /128 networks; all are truncated (canonical).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub net: IpNet,
    /// Shared between entries with the same provenance (a million addresses of one feed share one).
    pub prov: Arc<Provenance>,
}

/// An immutable list snapshot: entries sorted by network (IPv4 before IPv6), no duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {
    /// `tor-exits`, `tor-relays`, `tor-exits-7d`, or a plain source's list name.
    pub name: String,
    /// Increases whenever the contents change; part of the ETag.
    pub version: u64,
    /// Unix seconds when these contents were produced (Last-Modified).
    pub updated: i64,
    pub entries: Vec<ListEntry>,
}

/// Address family filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::Ipv4,
            IpNet::V6(_) => Family::Ipv6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

impl List {
    /// Builds a list, sorting and de-duplicating the entries (the first of equal networks wins).
    pub fn new(
        name: impl Into<String>,
        version: u64,
        updated: i64,
        mut entries: Vec<ListEntry>,
    ) -> List {
        for e in &mut entries {
            e.net = e.net.trunc();
        }
        entries.sort_by_key(|e| e.net);
        entries.dedup_by(|a, b| a.net == b.net);
        List {
            name: name.into(),
            version,
            updated,
            entries,
        }
    }

    pub fn count(&self, family: Family) -> usize {
        self.entries
            .iter()
            .filter(|e| Family::of(&e.net) == family)
            .count()
    }
}

/// `entries` without any address of `exclude`: an entry that holds an excluded range is replaced by the fewest
/// networks that cover the rest of it (a `/1` minus a `/24` becomes 23 networks), each with the entry's
/// provenance; an entry inside an excluded range is dropped.
pub fn exclude(entries: Vec<ListEntry>, exclude: &[IpNet]) -> Vec<ListEntry> {
    if exclude.is_empty() {
        return entries;
    }
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let overlapping: Vec<IpNet> = exclude
            .iter()
            .filter(|x| x.contains(&entry.net) || entry.net.contains(*x))
            .copied()
            .collect();
        if overlapping.is_empty() {
            out.push(entry);
            continue;
        }
        let mut pieces = Vec::new();
        carve(entry.net, &overlapping, &mut pieces);
        out.extend(pieces.into_iter().map(|net| ListEntry {
            net,
            prov: entry.prov.clone(),
        }));
    }
    out
}

/// Pushes the networks of `net` outside every one of `exclude` (all of which overlap `net`).
fn carve(net: IpNet, exclude: &[IpNet], out: &mut Vec<IpNet>) {
    if exclude.iter().any(|x| x.contains(&net)) {
        return;
    }
    // Two networks that overlap and neither contains the other cannot be: CIDRs nest or are disjoint.
    let inside: Vec<IpNet> = exclude
        .iter()
        .filter(|x| net.contains(*x))
        .copied()
        .collect();
    if inside.is_empty() {
        out.push(net);
        return;
    }
    let Ok(halves) = net.subnets(net.prefix_len() + 1) else {
        return;
    };
    for half in halves {
        carve(half, &inside, out);
    }
}

/// A digest of what a list publishes: its networks and their provenance except `last_seen` (which moves with
/// every fetch that confirms an address). Equal digests, equal contents: the version stays.
pub fn digest(entries: &[ListEntry]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    entries.len().hash(&mut h);
    for e in entries {
        e.net.hash(&mut h);
        let p = &e.prov;
        (
            &p.sources,
            p.first_seen,
            &p.fingerprints,
            &p.nickname,
            &p.country,
            p.as_number,
            &p.as_name,
            p.approximate,
        )
            .hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn list_names_read_back_as_the_list_they_name() {
        let ids = [
            (ListId::Exits, "tor-exits"),
            (ListId::ExitsWithin(Window::Day), "tor-exits-1d"),
            (ListId::ExitsWithin(Window::Week), "tor-exits-7d"),
            (ListId::ExitsWithin(Window::Month), "tor-exits-30d"),
            (ListId::Relays, "tor-relays"),
            (ListId::Named("blocklist"), "blocklist"),
            // Only the published windows are windows.
            (ListId::Named("tor-exits-2d"), "tor-exits-2d"),
            (ListId::Named("tor-exits-eu"), "tor-exits-eu"),
        ];
        for (id, name) in ids {
            assert_eq!(id.name(), name);
            assert_eq!(id.to_string(), name);
            assert_eq!(ListId::parse(name), id);
        }
        for w in Window::ALL {
            assert_eq!(Window::from_name(w.as_str()), Some(w));
        }
        assert_eq!(Window::from_name("2d"), None);
    }

    #[test]
    fn which_sources_feed_a_list() {
        let week = ListId::ExitsWithin(Window::Week);
        assert!(ListId::Exits.fed_by("tor-exits", false));
        assert!(week.fed_by("tor-exits", false));
        assert!(!ListId::Exits.fed_by("tor-relays", true));
        assert!(ListId::Relays.fed_by("tor-exits", true));
        assert!(ListId::Relays.fed_by("tor-relays", false));
        assert!(!ListId::Relays.fed_by("tor-exits", false));
        assert!(ListId::Named("blocklist").fed_by("blocklist", false));
        assert!(!ListId::Named("blocklist").fed_by("tor-exits", true));
        // A list whose name starts like the exits' is not theirs.
        assert!(!ListId::Named("tor-exits-eu").fed_by("tor-exits", false));
    }

    fn entry(net: IpNet) -> ListEntry {
        ListEntry {
            net,
            prov: Default::default(),
        }
    }

    fn nets(entries: &[ListEntry]) -> Vec<String> {
        entries.iter().map(|e| e.net.to_string()).collect()
    }

    #[test]
    fn a_wide_network_minus_a_small_one_is_its_covering_set() {
        let got = exclude(
            vec![entry("0.0.0.0/1".parse().unwrap())],
            &["10.1.2.0/24".parse().unwrap()],
        );
        assert_eq!(got.len(), 23, "{:?}", nets(&got));
        assert!(got
            .iter()
            .all(|e| !e.net.contains(&"10.1.2.7".parse::<IpAddr>().unwrap())));
        let inside = exclude(
            vec![entry("10.1.2.7/32".parse().unwrap())],
            &["10.0.0.0/8".parse().unwrap()],
        );
        assert!(inside.is_empty());
        let apart = exclude(
            vec![entry("185.220.101.1/32".parse().unwrap())],
            &["10.0.0.0/8".parse().unwrap()],
        );
        assert_eq!(nets(&apart), ["185.220.101.1/32"]);
    }

    fn v4net() -> impl Strategy<Value = IpNet> {
        (any::<u32>(), 0u8..=32).prop_map(|(a, len)| {
            IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(a), len).unwrap()).trunc()
        })
    }

    fn covered(entries: &[ListEntry], a: u32) -> bool {
        let ip = IpAddr::V4(Ipv4Addr::from(a));
        entries.iter().any(|e| e.net.contains(&ip))
    }

    proptest! {
        #[test]
        fn carving_keeps_every_listed_address_that_is_not_excluded(
            listed in proptest::collection::vec(v4net(), 1..8),
            excluded in proptest::collection::vec(v4net(), 1..5),
            probes in proptest::collection::vec(any::<u32>(), 64),
        ) {
            let before: Vec<ListEntry> = listed.iter().copied().map(entry).collect();
            let after = exclude(before.clone(), &excluded);
            for e in &after {
                for x in &excluded {
                    prop_assert!(!e.net.contains(x) && !x.contains(&e.net), "{} overlaps {}", e.net, x);
                }
            }
            // Probe random addresses and every edge of every network involved.
            let mut points = probes;
            for n in listed.iter().chain(&excluded) {
                let (lo, hi) = crate::feeds::guard::bounds(n);
                let (lo, hi) = (lo as u32, hi as u32);
                points.extend([lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)]);
            }
            for a in points {
                let ip = IpAddr::V4(Ipv4Addr::from(a));
                let is_excluded = excluded.iter().any(|x| x.contains(&ip));
                prop_assert_eq!(covered(&after, a), covered(&before, a) && !is_excluded, "{}", ip);
            }
        }
    }
}
