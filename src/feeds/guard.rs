//! The list guard: what no source may ever put in a list, applied to every parsed feed before validation, so that
//! one bad feed line cannot block the whole internet (or a firewall's own networks) at every firewall.
//!
//! Three rules. Addresses of the IANA special-purpose registries ([`SPECIAL`]: this-network, private, loopback,
//! link-local, documentation, multicast, …) are dropped. A network wider than the source's `min_prefix` is dropped.
//! A feed whose accepted entries cover more than `max_cover` addresses beyond the source's previous good list is
//! rejected whole ([`check_cover`]). Every dropped entry is counted by [`Reason`]. Pure: no IO, no clock.

use ipnet::IpNet;
use std::collections::BTreeMap;

use super::{Feed, FeedAddr, FeedError};

/// Why an entry was dropped. `as_str()` values are metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Wider than the source's `min_prefix`.
    TooWide,
    ThisNetwork,
    Private,
    SharedAddressSpace,
    Loopback,
    LinkLocal,
    IetfProtocol,
    Documentation,
    Benchmarking,
    Multicast,
    Reserved,
    Broadcast,
    Unspecified,
    Ipv4Mapped,
    Ipv4Compatible,
    Translation,
    Discard,
    UniqueLocal,
    SiteLocal,
    Srv6,
    Orchid,
}

impl Reason {
    pub const ALL: [Reason; 21] = [
        Reason::TooWide,
        Reason::ThisNetwork,
        Reason::Private,
        Reason::SharedAddressSpace,
        Reason::Loopback,
        Reason::LinkLocal,
        Reason::IetfProtocol,
        Reason::Documentation,
        Reason::Benchmarking,
        Reason::Multicast,
        Reason::Reserved,
        Reason::Broadcast,
        Reason::Unspecified,
        Reason::Ipv4Mapped,
        Reason::Ipv4Compatible,
        Reason::Translation,
        Reason::Discard,
        Reason::UniqueLocal,
        Reason::SiteLocal,
        Reason::Srv6,
        Reason::Orchid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooWide => "too_wide",
            Reason::ThisNetwork => "this_network",
            Reason::Private => "private",
            Reason::SharedAddressSpace => "shared_address_space",
            Reason::Loopback => "loopback",
            Reason::LinkLocal => "link_local",
            Reason::IetfProtocol => "ietf_protocol",
            Reason::Documentation => "documentation",
            Reason::Benchmarking => "benchmarking",
            Reason::Multicast => "multicast",
            Reason::Reserved => "reserved",
            Reason::Broadcast => "broadcast",
            Reason::Unspecified => "unspecified",
            Reason::Ipv4Mapped => "ipv4_mapped",
            Reason::Ipv4Compatible => "ipv4_compatible",
            Reason::Translation => "translation",
            Reason::Discard => "discard",
            Reason::UniqueLocal => "unique_local",
            Reason::SiteLocal => "site_local",
            Reason::Srv6 => "srv6",
            Reason::Orchid => "orchid",
        }
    }
}

/// One special-purpose range: never published, whatever a source says.
#[derive(Debug, Clone, Copy)]
pub struct Special {
    pub net: &'static str,
    pub reason: Reason,
    /// Where the range is defined.
    pub rfc: &'static str,
}

const fn special(net: &'static str, reason: Reason, rfc: &'static str) -> Special {
    Special { net, reason, rfc }
}

/// The IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its successors) as far as they name
/// addresses that are not globally reachable, or that no host on the internet can be: none of them is a Tor exit
/// or a sender worth blocking, and several (`0.0.0.0/8`, `127.0.0.0/8`, the private ranges) would cut a firewall
/// off from itself. Listed most specific first where ranges nest, so an entry gets the narrowest reason.
pub const SPECIAL: [Special; 31] = [
    // IPv4
    special("255.255.255.255/32", Reason::Broadcast, "RFC 919"),
    special("0.0.0.0/8", Reason::ThisNetwork, "RFC 791"),
    special("10.0.0.0/8", Reason::Private, "RFC 1918"),
    special("100.64.0.0/10", Reason::SharedAddressSpace, "RFC 6598"),
    special("127.0.0.0/8", Reason::Loopback, "RFC 1122"),
    special("169.254.0.0/16", Reason::LinkLocal, "RFC 3927"),
    special("172.16.0.0/12", Reason::Private, "RFC 1918"),
    special("192.0.0.0/24", Reason::IetfProtocol, "RFC 6890"),
    special("192.0.2.0/24", Reason::Documentation, "RFC 5737"),
    special("192.88.99.0/24", Reason::Reserved, "RFC 7526"),
    special("192.168.0.0/16", Reason::Private, "RFC 1918"),
    special("198.18.0.0/15", Reason::Benchmarking, "RFC 2544"),
    special("198.51.100.0/24", Reason::Documentation, "RFC 5737"),
    special("203.0.113.0/24", Reason::Documentation, "RFC 5737"),
    special("224.0.0.0/4", Reason::Multicast, "RFC 5771"),
    special("240.0.0.0/4", Reason::Reserved, "RFC 1112"),
    // IPv6
    special("::/128", Reason::Unspecified, "RFC 4291"),
    special("::1/128", Reason::Loopback, "RFC 4291"),
    special("::ffff:0:0/96", Reason::Ipv4Mapped, "RFC 4291"),
    special("::/96", Reason::Ipv4Compatible, "RFC 4291"),
    special("64:ff9b:1::/48", Reason::Translation, "RFC 8215"),
    special("100::/64", Reason::Discard, "RFC 6666"),
    special("2001:2::/48", Reason::Benchmarking, "RFC 5180"),
    special("2001:10::/28", Reason::Orchid, "RFC 4843"),
    special("2001:db8::/32", Reason::Documentation, "RFC 3849"),
    special("3fff::/20", Reason::Documentation, "RFC 9637"),
    special("5f00::/16", Reason::Srv6, "RFC 9602"),
    special("fc00::/7", Reason::UniqueLocal, "RFC 4193"),
    special("fe80::/10", Reason::LinkLocal, "RFC 4291"),
    special("fec0::/10", Reason::SiteLocal, "RFC 3879"),
    special("ff00::/8", Reason::Multicast, "RFC 4291"),
];

/// A prefix length per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixLengths {
    pub ipv4: u8,
    pub ipv6: u8,
}

impl PrefixLengths {
    /// Host addresses only.
    pub const HOSTS: PrefixLengths = PrefixLengths {
        ipv4: 32,
        ipv6: 128,
    };

    fn of(&self, net: &IpNet) -> u8 {
        match net {
            IpNet::V4(_) => self.ipv4,
            IpNet::V6(_) => self.ipv6,
        }
    }
}

/// A source's guard rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The widest network a source may list, per family: a `/8` is refused where this is `/16`.
    pub min_prefix: PrefixLengths,
    /// How many addresses a fetch may add beyond the previous good list, as the size of one network of this
    /// prefix length per family (`/16`: 65,536 IPv4 addresses).
    pub max_cover: PrefixLengths,
}

impl Rules {
    /// The defaults for the Tor sources: host addresses only, at most a /16 (IPv4) or /32 (IPv6) more.
    pub const TOR: Rules = Rules {
        min_prefix: PrefixLengths::HOSTS,
        max_cover: PrefixLengths { ipv4: 16, ipv6: 32 },
    };
    /// The defaults for `plain` sources: networks up to a /16 (IPv4) or /32 (IPv6), at most that much more.
    pub const PLAIN: Rules = Rules {
        min_prefix: PrefixLengths { ipv4: 16, ipv6: 32 },
        max_cover: PrefixLengths { ipv4: 16, ipv6: 32 },
    };
}

/// How many entries of one fetch were dropped, by reason, and the first few of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    pub counts: BTreeMap<Reason, usize>,
    /// The first [`EXAMPLES`] dropped entries, for the log.
    pub examples: Vec<(IpNet, Reason)>,
}

/// How many dropped entries a [`Drops`] keeps to show.
pub const EXAMPLES: usize = 5;

impl Drops {
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn add(&mut self, net: IpNet, reason: Reason) {
        *self.counts.entry(reason).or_default() += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push((net, reason));
        }
    }

    /// `10.0.0.0/8 (private), 0.0.0.0/0 (too_wide)` for the log.
    pub fn describe(&self) -> String {
        let mut out: Vec<String> = self
            .examples
            .iter()
            .map(|(n, r)| format!("{n} ({})", r.as_str()))
            .collect();
        if self.total() > self.examples.len() {
            out.push("…".into());
        }
        out.join(", ")
    }
}

/// Why `net` may not be published by a source with `min_prefix`, if it may not.
///
/// A network inside a special range gets that range's reason; one wider than `min_prefix`, `TooWide`; one that
/// holds a special range (`192.0.0.0/16`) gets the reason of the first such range.
pub fn refuse(net: &IpNet, min_prefix: &PrefixLengths) -> Option<Reason> {
    // The usual entry, a public IPv4 host: a few integer comparisons.
    if let IpNet::V4(n) = net {
        if n.prefix_len() >= min_prefix.ipv4 {
            let a = u32::from(n.network());
            let b = u32::from(n.broadcast());
            let hit = v4_table().iter().find(|(lo, hi, _)| a <= *hi && b >= *lo);
            return match hit {
                None => None,
                Some(_) => refuse_slow(net, min_prefix),
            };
        }
    }
    refuse_slow(net, min_prefix)
}

/// The IPv4 special ranges as integer bounds.
fn v4_table() -> &'static [(u32, u32, Reason)] {
    static TABLE: std::sync::OnceLock<Vec<(u32, u32, Reason)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        table()
            .iter()
            .filter_map(|(n, r)| match n {
                IpNet::V4(v4) => Some((u32::from(v4.network()), u32::from(v4.broadcast()), *r)),
                IpNet::V6(_) => None,
            })
            .collect()
    })
}

fn refuse_slow(net: &IpNet, min_prefix: &PrefixLengths) -> Option<Reason> {
    let table = table();
    if let Some(s) = table.iter().find(|(s, _)| s.contains(net)) {
        return Some(s.1);
    }
    if net.prefix_len() < min_prefix.of(net) {
        return Some(Reason::TooWide);
    }
    table.iter().find(|(s, _)| net.contains(s)).map(|(_, r)| *r)
}

/// The special ranges, parsed once.
fn table() -> &'static [(IpNet, Reason)] {
    static TABLE: std::sync::OnceLock<Vec<(IpNet, Reason)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        SPECIAL
            .iter()
            .filter_map(|s| s.net.parse().ok().map(|n| (n, s.reason)))
            .collect()
    })
}

/// Drops every exit and relay address that [`refuse`] refuses from `feed`, and says what it dropped.
pub fn screen(feed: &mut Feed, rules: &Rules) -> Drops {
    let mut drops = Drops::default();
    let mut keep = |a: &FeedAddr| match refuse(&a.net, &rules.min_prefix) {
        Some(reason) => {
            drops.add(a.net, reason);
            false
        }
        None => true,
    };
    feed.exits.retain(&mut keep);
    feed.relays_or.retain(&mut keep);
    drops
}

/// Addresses covered by a set of networks, per family, as sorted disjoint inclusive ranges (IPv4 in 8 bytes a
/// range: a poller keeps its last good list's coverage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

/// Address counts per family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressCount {
    pub ipv4: u128,
    pub ipv6: u128,
}

impl Coverage {
    pub fn of<'a>(nets: impl IntoIterator<Item = &'a IpNet>) -> Coverage {
        let mut c = Coverage::default();
        for net in nets {
            match net {
                IpNet::V4(n) => {
                    c.v4.push((u32::from(n.network()), u32::from(n.broadcast())))
                }
                IpNet::V6(n) => {
                    c.v6.push((u128::from(n.network()), u128::from(n.broadcast())))
                }
            }
        }
        merge(&mut c.v4);
        merge(&mut c.v6);
        c.v4.shrink_to_fit();
        c.v6.shrink_to_fit();
        c
    }

    /// The addresses of a feed's exits and relays.
    pub fn of_feed(feed: &Feed) -> Coverage {
        Coverage::of(feed.exits.iter().chain(&feed.relays_or).map(|a| &a.net))
    }

    /// How many addresses are covered here and not in `previous`.
    pub fn beyond(&self, previous: &Coverage) -> AddressCount {
        AddressCount {
            ipv4: difference(&self.v4, &previous.v4),
            ipv6: difference(&self.v6, &previous.v6),
        }
    }

    pub fn size(&self) -> AddressCount {
        self.beyond(&Coverage::default())
    }
}

/// The first and last address of `net` as integers.
pub fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// An address as an integer, for ranges of either family.
trait Addr: Copy + Ord {
    fn wide(self) -> u128;
}

impl Addr for u32 {
    fn wide(self) -> u128 {
        u128::from(self)
    }
}

impl Addr for u128 {
    fn wide(self) -> u128 {
        self
    }
}

fn merge<A: Addr>(ranges: &mut Vec<(A, A)>) {
    ranges.sort_unstable();
    let mut out: Vec<(A, A)> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges.iter() {
        match out.last_mut() {
            Some(last) if lo.wide() <= last.1.wide().saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *ranges = out;
}

/// `|a \ b|` of two sorted disjoint range lists, saturating at `u128::MAX`.
fn difference<A: Addr>(a: &[(A, A)], b: &[(A, A)]) -> u128 {
    let mut total: u128 = 0;
    let mut j = 0;
    for &(lo, hi) in a {
        let (lo, hi) = (lo.wide(), hi.wide());
        let mut size = (hi - lo).saturating_add(1);
        while j < b.len() && b[j].1.wide() < lo {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].0.wide() <= hi {
            let overlap = (b[k].1.wide().min(hi) - b[k].0.wide().max(lo)).saturating_add(1);
            size = size.saturating_sub(overlap);
            k += 1;
        }
        total = total.saturating_add(size);
    }
    total
}

/// The number of addresses in a network of `prefix` bits in a family of `bits` bits.
fn block(bits: u8, prefix: u8) -> u128 {
    let host_bits = u32::from(bits.saturating_sub(prefix));
    1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
}

/// Rejects a feed whose addresses (`cover`, see [`Coverage::of_feed`]) cover more than `max_cover` beyond
/// `previous` (the source's last good list; empty on a first fetch).
pub fn check_cover(cover: &Coverage, rules: &Rules, previous: &Coverage) -> Result<(), FeedError> {
    let added = cover.beyond(previous);
    let limit = AddressCount {
        ipv4: block(32, rules.max_cover.ipv4),
        ipv6: block(128, rules.max_cover.ipv6),
    };
    let over = |family: &'static str, added: u128, limit: u128, prefix: u8| {
        (added > limit).then(|| FeedError::Cover {
            family,
            added,
            limit: format!("/{prefix}"),
        })
    };
    match over("IPv4", added.ipv4, limit.ipv4, rules.max_cover.ipv4)
        .or_else(|| over("IPv6", added.ipv6, limit.ipv6, rules.max_cover.ipv6))
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
            .unwrap()
    }

    fn feed(nets: &[&str]) -> Feed {
        Feed {
            exits: nets.iter().map(|n| FeedAddr::listed(net(n))).collect(),
            ..Feed::default()
        }
    }

    #[test]
    fn the_table_parses_and_every_reason_has_a_label() {
        assert_eq!(table().len(), SPECIAL.len());
        let labels: std::collections::HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), Reason::ALL.len());
    }

    #[test]
    fn hostile_lines_are_refused_with_their_reason() {
        let plain = Rules::PLAIN.min_prefix;
        for (entry, reason) in [
            ("0.0.0.0/0", Reason::TooWide),
            ("::/0", Reason::TooWide),
            ("0.0.0.0/1", Reason::TooWide),
            ("128.0.0.0/1", Reason::TooWide),
            ("10.0.0.0/8", Reason::Private),
            ("127.0.0.1", Reason::Loopback),
            ("224.0.0.1", Reason::Multicast),
            ("255.255.255.255", Reason::Broadcast),
            ("240.0.0.1", Reason::Reserved),
            ("0.0.0.0", Reason::ThisNetwork),
            ("100.64.1.1", Reason::SharedAddressSpace),
            ("169.254.1.1", Reason::LinkLocal),
            ("192.0.2.1", Reason::Documentation),
            ("198.18.0.1", Reason::Benchmarking),
            ("::1", Reason::Loopback),
            ("::", Reason::Unspecified),
            ("fe80::1", Reason::LinkLocal),
            ("::ffff:1.2.3.4", Reason::Ipv4Mapped),
            ("fd00::1", Reason::UniqueLocal),
            ("ff02::1", Reason::Multicast),
            ("2001:db8::1", Reason::Documentation),
            ("192.0.0.0/16", Reason::IetfProtocol),
            ("2a00::/16", Reason::TooWide),
        ] {
            assert_eq!(refuse(&net(entry), &plain), Some(reason), "{entry}");
        }
        for ok in [
            "185.220.101.1",
            "8.8.8.0/24",
            "185.0.0.0/16",
            "2a0b:f4c2::/32",
        ] {
            assert_eq!(refuse(&net(ok), &plain), None, "{ok}");
        }
        assert_eq!(
            refuse(&net("185.0.0.0/8"), &Rules::TOR.min_prefix),
            Some(Reason::TooWide)
        );
        assert_eq!(
            refuse(&net("185.220.101.0/24"), &Rules::TOR.min_prefix),
            Some(Reason::TooWide)
        );
    }

    #[test]
    fn screen_counts_by_reason_and_keeps_the_rest() {
        let mut f = feed(&[
            "185.220.101.1",
            "10.0.0.0/8",
            "10.1.2.3",
            "::1",
            "185.220.101.2",
        ]);
        let drops = screen(&mut f, &Rules::PLAIN);
        let kept: Vec<_> = f.exits.iter().map(|a| a.net.to_string()).collect();
        assert_eq!(kept, ["185.220.101.1/32", "185.220.101.2/32"]);
        assert_eq!(drops.counts[&Reason::Private], 2);
        assert_eq!(drops.counts[&Reason::Loopback], 1);
        assert_eq!(drops.total(), 3);
        assert_eq!(
            drops.describe(),
            "10.0.0.0/8 (private), 10.1.2.3/32 (private), ::1/128 (loopback)"
        );
    }

    #[test]
    fn cover_counts_only_what_is_new() {
        let before = Coverage::of(&[net("185.220.0.0/16")]);
        let after = Coverage::of(&[
            net("185.220.0.0/16"),
            net("185.221.0.0/24"),
            net("185.221.0.7"),
        ]);
        assert_eq!(after.beyond(&before).ipv4, 256);
        assert_eq!(before.beyond(&after).ipv4, 0);
        assert_eq!(Coverage::of(&[net("::/0")]).size().ipv6, u128::MAX);
        let rules = Rules::PLAIN;
        let cover = |f: &Feed| Coverage::of_feed(f);
        assert!(check_cover(
            &cover(&feed(&["185.220.0.0/16"])),
            &rules,
            &Coverage::default()
        )
        .is_ok());
        let grown = cover(&feed(&["185.220.0.0/16", "185.128.0.0/9"]));
        let err = check_cover(&grown, &rules, &before).unwrap_err();
        assert_eq!(err.reason(), "max_cover");
        assert!(err.to_string().contains("8323072"), "{err}");
        let loose = Rules {
            max_cover: PrefixLengths { ipv4: 8, ipv6: 32 },
            ..rules
        };
        assert!(check_cover(&grown, &loose, &before).is_ok());
        let v6 = cover(&feed(&["2a0b::/31"]));
        assert_eq!(
            check_cover(&v6, &rules, &Coverage::default())
                .unwrap_err()
                .reason(),
            "max_cover"
        );
    }
}
