//! The published lists: immutable, sorted sets of networks with their provenance. What every output format renders
//! and what the matcher indexes. Pure data, no IO.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Where an address came from and what is known about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    pub prov: Provenance,
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
        entries.sort_by(|a, b| a.net.cmp(&b.net));
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
