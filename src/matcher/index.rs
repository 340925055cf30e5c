//! The lookup structure for one list version: "which entry holds this address?" Host addresses live in an
//! open-addressing hash table, networks in one sorted vector per prefix length, tried longest first. Built once
//! per list version; lookups allocate nothing. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4.

use crate::list::List;
use ipnet::IpNet;
use std::net::IpAddr;

/// Sorted keys with the entry index of each, for one address family.
#[derive(Debug, Clone, Default)]
struct FamilyTables<K> {
    /// Host addresses (/32 or /128) with their entry indexes.
    hosts: Hosts<K>,
    /// Networks shorter than a host, grouped by prefix length, longest first.
    prefixes: Vec<Prefixes<K>>,
}

#[derive(Debug, Clone)]
struct Prefixes<K> {
    len: u8,
    /// Network addresses (host bits zero), sorted, with their entry indexes.
    nets: Vec<K>,
    entries: Vec<u32>,
}

/// Host addresses in a linear-probing hash table at most half full; `EMPTY` marks a free slot. A slot holds the
/// key beside its entry, so a probe reads one cache line. In front of it, one bit per hash value (sixteen times as
/// many bits as slots): most addresses that are not listed are turned away by one bit, without a probe.
#[derive(Debug, Clone, Default)]
struct Hosts<K> {
    slots: Vec<(K, u32)>,
    filter: Vec<u64>,
    /// Bits of the hash used as the slot (the table has `1 << bits` slots).
    bits: u32,
    len: usize,
}

const EMPTY: u32 = u32::MAX;
/// Filter bits per table slot (a power of two).
const FILTER_BITS_PER_SLOT: usize = 16;

impl<K: AddressKey> Hosts<K> {
    fn build(items: &[(K, u32)]) -> Hosts<K> {
        let bits = (items.len().max(4) * 2)
            .next_power_of_two()
            .trailing_zeros();
        let size = 1usize << bits;
        let mut h = Hosts {
            slots: vec![(K::default(), EMPTY); size],
            filter: vec![0; (size * FILTER_BITS_PER_SLOT).div_ceil(64)],
            bits,
            len: 0,
        };
        for &(key, entry) in items {
            let bit = h.filter_bit(key);
            if let Some(word) = h.filter.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
            let mut slot = h.slot(key);
            while let Some(&(k, _)) = h.slots.get(slot).filter(|s| s.1 != EMPTY) {
                if k == key {
                    break; // a duplicate network: the first entry wins
                }
                slot = (slot + 1) & (size - 1);
            }
            if let Some(s) = h.slots.get_mut(slot).filter(|s| s.1 == EMPTY) {
                *s = (key, entry);
                h.len += 1;
            }
        }
        h
    }

    #[inline]
    fn slot(&self, key: K) -> usize {
        (key.hash() >> (64 - self.bits)) as usize
    }

    /// The key's bit in the filter: the hash's top bits, four more than the slot's.
    #[inline]
    fn filter_bit(&self, key: K) -> usize {
        (key.hash() >> (64 - self.bits - FILTER_BITS_PER_SLOT.trailing_zeros())) as usize
    }

    /// False when the filter shows that `key` is not here (most addresses): no probe needed.
    #[inline(always)]
    fn may_hold(&self, key: K) -> bool {
        let bit = self.filter_bit(key);
        self.filter
            .get(bit / 64)
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    #[inline]
    fn get(&self, key: K) -> Option<usize> {
        if self.len == 0 || !self.may_hold(key) {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.slot(key);
        loop {
            let &(k, entry) = self.slots.get(slot)?;
            if entry == EMPTY {
                return None;
            }
            if k == key {
                return Some(entry as usize);
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Bit operations the two families share.
trait AddressKey: Copy + Ord + Default {
    const BITS: u8;
    /// The address with every bit after the first `len` cleared.
    fn masked(self, len: u8) -> Self;
    /// A well-mixed 64-bit hash (the top bits are used).
    fn hash(self) -> u64;
}

impl AddressKey for u32 {
    const BITS: u8 = 32;
    #[inline]
    fn hash(self) -> u64 {
        u64::from(self).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn masked(self, len: u8) -> u32 {
        match len {
            0 => 0,
            l if l >= 32 => self,
            l => self & (u32::MAX << (32 - l)),
        }
    }
}

impl AddressKey for u128 {
    const BITS: u8 = 128;
    #[inline]
    fn hash(self) -> u64 {
        let folded = (self as u64) ^ ((self >> 64) as u64).rotate_left(29);
        (folded ^ (folded >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn masked(self, len: u8) -> u128 {
        match len {
            0 => 0,
            l if l >= 128 => self,
            l => self & (u128::MAX << (128 - l)),
        }
    }
}

impl<K: AddressKey> FamilyTables<K> {
    fn build(mut items: Vec<(K, u8, u32)>) -> FamilyTables<K> {
        items.sort_unstable();
        let mut fam = FamilyTables::default();
        let mut hosts = Vec::new();
        for (key, len, entry) in items {
            if len >= K::BITS {
                hosts.push((key, entry));
                continue;
            }
            match fam.prefixes.iter_mut().find(|p| p.len == len) {
                Some(p) => {
                    p.nets.push(key);
                    p.entries.push(entry);
                }
                None => fam.prefixes.push(Prefixes {
                    len,
                    nets: vec![key],
                    entries: vec![entry],
                }),
            }
        }
        fam.prefixes.sort_by_key(|p| std::cmp::Reverse(p.len));
        fam.hosts = Hosts::build(&hosts);
        fam
    }

    #[inline]
    fn get(&self, key: K) -> Option<usize> {
        if let Some(e) = self.hosts.get(key) {
            return Some(e);
        }
        self.prefixes.iter().find_map(|p| {
            let i = p.nets.binary_search(&key.masked(p.len)).ok()?;
            p.entries.get(i).map(|&e| e as usize)
        })
    }

    fn len(&self) -> usize {
        self.hosts.len + self.prefixes.iter().map(|p| p.nets.len()).sum::<usize>()
    }

    /// True when `key` is surely in no entry: no networks, and the hosts' filter turns it away.
    #[inline(always)]
    fn surely_absent(&self, key: K) -> bool {
        self.prefixes.is_empty() && !self.hosts.may_hold(key)
    }
}

/// Index of one list: address → position of the (most specific) entry in `List::entries` that contains it.
#[derive(Debug, Clone, Default)]
pub struct Index {
    v4: FamilyTables<u32>,
    v6: FamilyTables<u128>,
}

impl Index {
    /// Indexes every entry of `list`.
    pub fn new(list: &List) -> Index {
        Index::from_nets(list.entries.iter().map(|e| e.net))
    }

    /// Indexes networks given in entry order: the n-th network is entry n.
    pub fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> Index {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, net) in nets.into_iter().enumerate() {
            let Ok(entry) = u32::try_from(i) else { break };
            match net.trunc() {
                IpNet::V4(n) => v4.push((u32::from(n.addr()), n.prefix_len(), entry)),
                IpNet::V6(n) => v6.push((u128::from(n.addr()), n.prefix_len(), entry)),
            }
        }
        Index {
            v4: FamilyTables::build(v4),
            v6: FamilyTables::build(v6),
        }
    }

    /// The entry holding `ip`, if any. Most addresses are in no entry: an IPv4 address the hosts' filter turns away
    /// is answered here, inline, and only the others are looked up.
    #[inline(always)]
    pub fn get(&self, ip: IpAddr) -> Option<usize> {
        if let IpAddr::V4(a) = ip {
            if self.v4.surely_absent(u32::from(a)) {
                return None;
            }
        }
        self.lookup(ip)
    }

    #[inline(never)]
    fn lookup(&self, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(a) => self.v4.get(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.get(u32::from(v4)),
                None => self.v6.get(u128::from(a)),
            },
        }
    }

    /// Number of networks indexed.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(nets: &[&str]) -> Index {
        Index::from_nets(nets.iter().map(|n| n.parse::<IpNet>().unwrap()))
    }

    fn get(ix: &Index, ip: &str) -> Option<usize> {
        ix.get(ip.parse().unwrap())
    }

    #[test]
    fn hosts_prefixes_and_the_most_specific_wins() {
        let ix = index(&[
            "192.0.2.1/32",
            "198.51.100.0/24",
            "198.51.100.128/25",
            "2001:db8::7/128",
            "2001:db8:1::/48",
            "0.0.0.0/0",
        ]);
        assert_eq!(ix.len(), 6);
        assert_eq!(get(&ix, "192.0.2.1"), Some(0));
        assert_eq!(get(&ix, "198.51.100.3"), Some(1));
        assert_eq!(
            get(&ix, "198.51.100.200"),
            Some(2),
            "the /25 before the /24"
        );
        assert_eq!(get(&ix, "192.0.2.2"), Some(5), "only the default route");
        assert_eq!(get(&ix, "2001:db8::7"), Some(3));
        assert_eq!(get(&ix, "2001:db8:1:ffff::1"), Some(4));
        assert_eq!(get(&ix, "2001:db8::8"), None);
    }

    #[test]
    fn ipv4_mapped_ipv6_matches_as_ipv4() {
        let ix = index(&["192.0.2.1/32", "203.0.113.0/24"]);
        assert_eq!(get(&ix, "::ffff:192.0.2.1"), Some(0));
        assert_eq!(get(&ix, "::ffff:203.0.113.9"), Some(1));
        assert_eq!(get(&ix, "::ffff:192.0.2.2"), None);
        assert_eq!(
            get(&ix, "::192.0.2.1"),
            None,
            "IPv4-compatible is not mapped"
        );
    }

    #[test]
    fn empty_index_matches_nothing() {
        let ix = Index::default();
        assert!(ix.is_empty());
        assert_eq!(get(&ix, "192.0.2.1"), None);
        assert_eq!(get(&ix, "::"), None);
    }

    #[test]
    fn many_hosts_collide_and_still_resolve() {
        let nets: Vec<IpNet> = (0u32..5000)
            .map(|i| IpNet::from(IpAddr::V4(std::net::Ipv4Addr::from(i << 12))))
            .chain(
                (0u128..3000).map(|i| IpNet::from(IpAddr::V6(std::net::Ipv6Addr::from(i << 64)))),
            )
            .collect();
        let ix = Index::from_nets(nets.iter().copied());
        assert_eq!(ix.len(), 8000);
        for (i, n) in nets.iter().enumerate() {
            assert_eq!(ix.get(n.addr()), Some(i));
        }
        assert_eq!(ix.get(IpAddr::V4(std::net::Ipv4Addr::from(1))), None);
    }

    #[test]
    fn untruncated_networks_are_truncated() {
        let ix = index(&["10.1.2.3/8"]);
        assert_eq!(get(&ix, "10.200.0.1"), Some(0));
    }

    #[test]
    fn agrees_with_a_linear_scan() {
        let nets: Vec<IpNet> = (0u32..500)
            .map(|i| {
                let addr = std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761));
                let len = [32u8, 32, 24, 16, 28][i as usize % 5];
                IpNet::V4(ipnet::Ipv4Net::new(addr, len).unwrap()).trunc()
            })
            .collect();
        let ix = Index::from_nets(nets.iter().copied());
        for i in 0u32..5000 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(
                i.wrapping_mul(2_654_435_761) ^ (i % 7),
            ));
            let best = nets
                .iter()
                .enumerate()
                .filter(|(_, n)| n.contains(&ip))
                .max_by_key(|(j, n)| (n.prefix_len(), std::cmp::Reverse(*j)))
                .map(|(j, _)| j);
            let got = ix.get(ip);
            assert_eq!(got.map(|g| nets[g]), best.map(|b| nets[b]), "{ip}");
        }
    }
}
