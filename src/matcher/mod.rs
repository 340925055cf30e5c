//! Matching events against the lists: an event is inbound Tor traffic when its source is in `tor-exits`, outbound
//! when its destination is in `tor-relays` (inbound wins when both hold). Owns the per-list indexes, the per-entry
//! labels (address text, nickname, country) and the traffic metrics. Built once per list version; classifying an
//! event allocates nothing and does no IO.

mod exits;
pub mod gate;
pub mod geoip;
pub mod index;
pub mod label;
pub mod metrics;

pub use geoip::Geoip;
pub use index::Index;
pub use label::Label;
pub use metrics::{InputHandle, TrafficMetrics};

use crate::event::{Direction, Event};
use crate::lists::ListId;
use crate::lists::{List, ListEntry};
use crate::snapshot::Snapshot;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

/// Labels of one list entry, resolved when the matcher is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLabels {
    /// The address (`192.0.2.1`) for a host entry, the network (`192.0.2.0/24`) otherwise.
    pub addr: Label,
    /// Relay nickname, empty when unknown.
    pub nickname: Label,
    /// ISO 3166-1 alpha-2, lower case; `unknown` when neither the list nor the country database knows it.
    pub country: Label,
}

impl EntryLabels {
    fn of(entry: &ListEntry, geoip: Option<&Geoip>, interner: &mut label::Interner) -> EntryLabels {
        let addr = match entry.net {
            IpNet::V4(n) if n.prefix_len() == 32 => n.addr().to_string(),
            IpNet::V6(n) if n.prefix_len() == 128 => n.addr().to_string(),
            net => net.to_string(),
        };
        let country = entry
            .prov
            .country
            .as_deref()
            .map(str::to_ascii_lowercase)
            .or_else(|| geoip.and_then(|g| g.country(entry.net.addr())))
            .unwrap_or_else(|| UNKNOWN.to_string());
        EntryLabels {
            addr: Label::new(&addr),
            nickname: interner.label(entry.prov.nickname.as_deref().unwrap_or("")),
            country: interner.label(&country),
        }
    }
}

/// Label value for a country nobody knows.
pub const UNKNOWN: &str = "unknown";

/// One indexed list with its labels.
#[derive(Debug, Clone, Default)]
pub struct Side {
    list: Option<Arc<List>>,
    index: Index,
    labels: Vec<EntryLabels>,
}

impl Side {
    pub fn new(list: Option<Arc<List>>, geoip: Option<&Geoip>) -> Side {
        let Some(list) = list else {
            return Side::default();
        };
        let mut interner = label::Interner::default();
        Side {
            index: Index::new(&list),
            labels: list
                .entries
                .iter()
                .map(|e| EntryLabels::of(e, geoip, &mut interner))
                .collect(),
            list: Some(list),
        }
    }

    /// The version of the indexed list (`None`: no list loaded).
    pub fn version(&self) -> Option<u64> {
        self.list.as_ref().map(|l| l.version)
    }

    pub fn get(&self, ip: IpAddr) -> Option<(usize, &ListEntry, &EntryLabels)> {
        self.entry(self.position(ip)?)
    }

    /// Whether an entry holds `ip`: the index alone, without the entry.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.position(ip).is_some()
    }

    /// The position of the entry holding `ip`: the index alone, without reading the entry.
    #[inline]
    pub fn position(&self, ip: IpAddr) -> Option<usize> {
        self.index.get(ip)
    }

    /// Entry `i` of the indexed list with its labels.
    pub fn entry(&self, i: usize) -> Option<(usize, &ListEntry, &EntryLabels)> {
        let entry = self.list.as_ref()?.entries.get(i)?;
        Some((i, entry, self.labels.get(i)?))
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// A matched event: which way it went and which list entry it hit.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'m> {
    /// Inbound: the source is a Tor exit. Outbound: the destination is a Tor relay.
    pub direction: Direction,
    /// The event's address that matched (source when inbound, destination when outbound).
    pub addr: IpAddr,
    /// Position of the entry in its list.
    pub index: usize,
    pub entry: &'m ListEntry,
    pub labels: &'m EntryLabels,
}

/// The exit and relay indexes of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub exits: Side,
    pub relays: Side,
}

impl Matcher {
    /// Indexes `tor-exits` and `tor-relays` of the snapshot; countries come from the lists only.
    pub fn new(snapshot: &Snapshot) -> Matcher {
        Matcher::with_geoip(snapshot, None)
    }

    /// Like [`Matcher::new`], filling countries the lists lack from a country database.
    pub fn with_geoip(snapshot: &Snapshot, geoip: Option<&Geoip>) -> Matcher {
        Matcher::from_lists(
            snapshot.lists.get(ListId::Exits.name()).cloned(),
            snapshot.lists.get(ListId::Relays.name()).cloned(),
            geoip,
        )
    }

    pub fn from_lists(
        exits: Option<Arc<List>>,
        relays: Option<Arc<List>>,
        geoip: Option<&Geoip>,
    ) -> Matcher {
        Matcher {
            exits: Side::new(exits, geoip),
            relays: Side::new(relays, geoip),
        }
    }

    /// True while the snapshot still holds the list versions this matcher indexed (no rebuild needed).
    pub fn is_current(&self, snapshot: &Snapshot) -> bool {
        let version = |name: &str| snapshot.lists.get(name).map(|l| l.version);
        self.exits.version() == version(ListId::Exits.name())
            && self.relays.version() == version(ListId::Relays.name())
    }

    /// Whether the source is an exit or the destination a relay: false means [`Matcher::classify`] gives nothing
    /// for an event with these addresses.
    pub fn may_hold(&self, a: &crate::event::Addresses) -> bool {
        a.src.is_some_and(|ip| self.exits.contains(ip))
            || a.dst.is_some_and(|ip| self.relays.contains(ip))
    }

    /// The hit of a [`crate::reader::Match`] against these lists, with the entry and its labels.
    pub fn hit(&self, m: crate::reader::Match) -> Option<Hit<'_>> {
        let side = match m.direction {
            Direction::Inbound => &self.exits,
            Direction::Outbound => &self.relays,
        };
        let (index, entry, labels) = side.entry(m.entry)?;
        Some(Hit {
            direction: m.direction,
            addr: m.addr,
            index,
            entry,
            labels,
        })
    }

    /// Classifies an event: inbound when its source is a Tor exit, outbound when its destination is a Tor relay.
    pub fn classify(&self, ev: &Event<'_>) -> Option<Hit<'_>> {
        if let Some(src) = ev.src_ip {
            if let Some((index, entry, labels)) = self.exits.get(src) {
                return Some(Hit {
                    direction: Direction::Inbound,
                    addr: src,
                    index,
                    entry,
                    labels,
                });
            }
        }
        let dst = ev.dst_ip?;
        let (index, entry, labels) = self.relays.get(dst)?;
        Some(Hit {
            direction: Direction::Outbound,
            addr: dst,
            index,
            entry,
            labels,
        })
    }
}

impl crate::reader::Lists for Matcher {
    #[inline]
    fn may_hold(&self, addresses: &crate::event::Addresses) -> bool {
        Matcher::may_hold(self, addresses)
    }

    /// The current lists: the time does not matter.
    #[inline]
    fn classify(
        &self,
        a: &crate::event::Addresses,
        _time: Option<i64>,
    ) -> Option<crate::reader::Match> {
        if let Some(src) = a.src {
            if let Some(entry) = self.exits.position(src) {
                return Some(crate::reader::Match {
                    direction: Direction::Inbound,
                    entry,
                    addr: src,
                });
            }
        }
        let dst = a.dst?;
        let entry = self.relays.position(dst)?;
        Some(crate::reader::Match {
            direction: Direction::Outbound,
            entry,
            addr: dst,
        })
    }
}

#[cfg(test)]
mod tests;
