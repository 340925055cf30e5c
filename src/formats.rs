//! Output formats for the published lists: pure renderers from a [`List`] to bytes, one module per format behind
//! [`render`]. They do no IO and know nothing of tokio; callers cache the result per list version and options.
//!
//! Every renderer sees the same [`selection`] of the list (family filter, optional aggregation), writes only
//! `IpNet` values through `Display` (so nothing but validated address literals ever reaches a firewall), is
//! deterministic (sorted, and stamped with the list's own time, not the clock) and ends with a newline.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat};
use ipnet::IpNet;

use crate::list::{Family, List};

pub mod cache;
mod check_point;
mod csv;
mod f5;
mod ipset;
mod json;
mod nft;
#[cfg(test)]
mod properties;
mod rsc;
mod selection;
mod srx;
mod txt;

pub use json::{JsonEntry, JsonList};

/// The closed set of output formats. The file extension of an EDL URL names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListFormat {
    /// One address or CIDR per line, hosts bare: PAN-OS EDL, FortiGate threat feed, Cisco FMC, Sophos, pfSense.
    Txt,
    /// `src_ip,desc` lookup for Splunk / ELK, optionally enriched.
    Csv,
    /// Addresses with provenance, for automation.
    Json,
    /// nftables script for `nft -f`: sets in `table inet torwatch`, replaced in one transaction.
    Nft,
    /// `ipset restore` script: fill a temporary set, swap, destroy.
    Ipset,
    /// MikroTik RouterOS script for `/import`: address lists.
    Rsc,
    /// Juniper SRX dynamic address feed: one CIDR per line, hosts as /32 and /128.
    Srx,
    /// F5 BIG-IP external data group file of type address: `host …,` / `network …,` lines.
    F5,
    /// Check Point Generic Data Center JSON (sk167210).
    CheckPoint,
}

impl ListFormat {
    pub const ALL: [ListFormat; 9] = [
        ListFormat::Txt,
        ListFormat::Csv,
        ListFormat::Json,
        ListFormat::Nft,
        ListFormat::Ipset,
        ListFormat::Rsc,
        ListFormat::Srx,
        ListFormat::F5,
        ListFormat::CheckPoint,
    ];

    /// The format an extension (or config name) names; `plain`, `nftables` and `mikrotik` are accepted aliases.
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext {
            "plain" => Some(ListFormat::Txt),
            "nftables" => Some(ListFormat::Nft),
            "mikrotik" => Some(ListFormat::Rsc),
            _ => Self::ALL.into_iter().find(|f| f.ext() == ext),
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            ListFormat::Txt => "txt",
            ListFormat::Csv => "csv",
            ListFormat::Json => "json",
            ListFormat::Nft => "nft",
            ListFormat::Ipset => "ipset",
            ListFormat::Rsc => "rsc",
            ListFormat::Srx => "srx",
            ListFormat::F5 => "f5",
            ListFormat::CheckPoint => "checkpoint",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ListFormat::Csv => "text/csv; charset=utf-8",
            ListFormat::Json | ListFormat::CheckPoint => "application/json",
            _ => "text/plain; charset=utf-8",
        }
    }
}

/// What a caller may ask of a rendering besides the format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    /// Only this family; both when `None`.
    pub family: Option<Family>,
    /// Merge adjacent and overlapping networks into the fewest CIDRs.
    pub aggregate: bool,
    /// Extra provenance columns (csv only).
    pub enrich: bool,
}

/// Renders `list` in `format`. Never fails: every entry is a validated network.
pub fn render(format: ListFormat, list: &List, opts: &RenderOptions) -> Vec<u8> {
    let out = match format {
        ListFormat::Txt => txt::render(list, opts),
        ListFormat::Csv => csv::render(list, opts),
        ListFormat::Json => json::render(list, opts),
        ListFormat::Nft => nft::render(list, opts),
        ListFormat::Ipset => ipset::render(list, opts),
        ListFormat::Rsc => rsc::render(list, opts),
        ListFormat::Srx => srx::render(list, opts),
        ListFormat::F5 => f5::render(list, opts),
        ListFormat::CheckPoint => check_point::render(list, opts),
    };
    out.into_bytes()
}

/// Writes a network the way most firewalls read it: a host as a bare address, anything wider as a CIDR.
fn push_addr(out: &mut String, net: &IpNet) {
    let _ = if is_host(net) {
        write!(out, "{}", net.addr())
    } else {
        write!(out, "{net}")
    };
}

fn is_host(net: &IpNet) -> bool {
    net.prefix_len() == net.max_prefix_len()
}

/// Unix seconds as RFC 3339 UTC (`2026-11-29T03:00:00Z`); out-of-range values clamp to the epoch.
fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The `# torwatch <list> version N, M entries, generated <time>` line (with its newline) for formats that allow
/// comments. Control characters in the name become `_`, so a name cannot end the comment early.
fn push_header(out: &mut String, list: &List, count: usize) {
    out.push_str("# torwatch ");
    out.extend(
        list.name
            .chars()
            .map(|c| if c.is_control() { '_' } else { c }),
    );
    let _ = writeln!(
        out,
        " version {}, {} entries, generated {}",
        list.version,
        count,
        rfc3339(list.updated)
    );
}

/// The families a rendering covers, in output order.
fn families(opts: &RenderOptions) -> &'static [Family] {
    match opts.family {
        Some(Family::Ipv4) => &[Family::Ipv4],
        Some(Family::Ipv6) => &[Family::Ipv6],
        None => &[Family::Ipv4, Family::Ipv6],
    }
}

/// The firewall-side base name of a list's sets: `tor-exits` → `tor_exit`, `tor-relays` → `tor_relay`,
/// `tor-exits-7d` → `tor_exit_7d`, others with `-` → `_`. Anything but `[A-Za-z0-9_]` becomes `_`, and a name
/// that would not start with a letter gets a `l_` prefix, so the result is a valid nft identifier.
fn set_base(list_name: &str) -> String {
    let mapped = if let Some(rest) = list_name.strip_prefix("tor-exits") {
        format!("tor_exit{rest}")
    } else if let Some(rest) = list_name.strip_prefix("tor-relays") {
        format!("tor_relay{rest}")
    } else {
        list_name.to_owned()
    };
    let clean: String = mapped
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    match clean.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => clean,
        _ => format!("l_{clean}"),
    }
}

/// The suffix that tells a family's set from the other's: `v4`, `v6`.
fn family_suffix(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "v4",
        Family::Ipv6 => "v6",
    }
}

#[cfg(test)]
mod tests;
