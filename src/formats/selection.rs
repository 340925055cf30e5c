//! Which networks a rendering shows: the family filter and CIDR aggregation, with the provenance of merged
//! networks combined. Shared by every format; pure, no IO.

use std::borrow::Cow;

use ipnet::IpNet;

use super::RenderOptions;
use crate::list::{Family, List, ListEntry, Provenance};

/// One output line's worth: a network and what is known about it.
pub(super) struct Row<'a> {
    pub net: IpNet,
    pub prov: Cow<'a, Provenance>,
}

fn wanted(list: &List, family: Option<Family>) -> impl Iterator<Item = &ListEntry> + '_ {
    list.entries.iter().filter(move |e| match family {
        Some(f) => Family::of(&e.net) == f,
        None => true,
    })
}

/// The networks to render, sorted (IPv4 first), aggregated when asked.
pub(super) fn nets(list: &List, opts: &RenderOptions) -> Vec<IpNet> {
    let nets: Vec<IpNet> = wanted(list, opts.family).map(|e| e.net).collect();
    if opts.aggregate {
        IpNet::aggregate(&nets)
    } else {
        nets
    }
}

/// The rows to render, sorted; an aggregated network carries the combined provenance of the entries it covers.
pub(super) fn rows<'a>(list: &'a List, opts: &RenderOptions) -> Vec<Row<'a>> {
    let entries: Vec<&ListEntry> = wanted(list, opts.family).collect();
    if !opts.aggregate {
        return entries
            .into_iter()
            .map(|e| Row {
                net: e.net,
                prov: Cow::Borrowed(&*e.prov),
            })
            .collect();
    }
    let aggregates = IpNet::aggregate(&entries.iter().map(|e| e.net).collect());
    let mut rows = Vec::with_capacity(aggregates.len());
    let mut rest = entries.as_slice();
    for net in aggregates {
        // Both sequences are sorted and every entry lies in exactly one aggregate, so each group is a prefix.
        let n = rest.iter().take_while(|e| net.contains(&e.net)).count();
        let (group, tail) = rest.split_at(n);
        rest = tail;
        let prov = match group {
            [one] => Cow::Borrowed(&*one.prov),
            _ => Cow::Owned(combined(group)),
        };
        rows.push(Row { net, prov });
    }
    rows
}

/// Drops networks that lie inside an earlier one (nft interval sets reject overlapping elements). Input sorted.
pub(super) fn without_contained(nets: Vec<IpNet>) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = Vec::with_capacity(nets.len());
    for net in nets {
        if out.last().is_some_and(|last| last.contains(&net)) {
            continue;
        }
        out.push(net);
    }
    out
}

/// The provenance of several entries merged into one network: union of sources and fingerprints, earliest first
/// and latest last sighting, single-valued facts only where all entries agree, approximate only if all are.
fn combined(group: &[&ListEntry]) -> Provenance {
    let provs: Vec<&Provenance> = group.iter().map(|e| &*e.prov).collect();
    let mut sources: Vec<String> = provs
        .iter()
        .flat_map(|p| p.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let mut fingerprints: Vec<String> = provs
        .iter()
        .flat_map(|p| p.fingerprints.iter().cloned())
        .collect();
    fingerprints.sort();
    fingerprints.dedup();
    Provenance {
        sources,
        first_seen: provs.iter().map(|p| p.first_seen).min().unwrap_or_default(),
        last_seen: provs.iter().map(|p| p.last_seen).max().unwrap_or_default(),
        fingerprints,
        nickname: agreed(provs.iter().map(|p| &p.nickname)),
        country: agreed(provs.iter().map(|p| &p.country)),
        as_number: agreed(provs.iter().map(|p| &p.as_number)),
        as_name: agreed(provs.iter().map(|p| &p.as_name)),
        approximate: !provs.is_empty() && provs.iter().all(|p| p.approximate),
    }
}

/// The value every item has, or `None` when one lacks it or two differ.
fn agreed<'a, T: Clone + PartialEq + 'a>(
    mut values: impl Iterator<Item = &'a Option<T>>,
) -> Option<T> {
    let first = values.next()?.as_ref()?;
    values
        .all(|v| v.as_ref() == Some(first))
        .then(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(net: &str, country: &str, source: &str, seen: i64) -> ListEntry {
        ListEntry {
            net: net.parse().expect("test network"),
            prov: Provenance {
                sources: vec![source.to_owned()],
                first_seen: seen,
                last_seen: seen + 10,
                country: Some(country.to_owned()),
                ..Provenance::default()
            }
            .into(),
        }
    }

    #[test]
    fn aggregated_rows_combine_provenance() {
        let list = List::new(
            "tor-exits",
            1,
            0,
            vec![
                entry("192.0.2.0/32", "de", "bulk", 100),
                entry("192.0.2.1/32", "nl", "tordnsel", 50),
                entry("198.51.100.7/32", "fr", "bulk", 70),
                entry("2001:db8::1/128", "se", "onionoo", 80),
            ],
        );
        let opts = RenderOptions {
            aggregate: true,
            ..RenderOptions::default()
        };
        let rows = rows(&list, &opts);
        let got: Vec<String> = rows.iter().map(|r| r.net.to_string()).collect();
        assert_eq!(got, ["192.0.2.0/31", "198.51.100.7/32", "2001:db8::1/128"]);
        let merged = &rows[0].prov;
        assert_eq!(merged.sources, ["bulk", "tordnsel"]);
        assert_eq!((merged.first_seen, merged.last_seen), (50, 110));
        assert_eq!(merged.country, None);
        assert_eq!(rows[1].prov.country.as_deref(), Some("fr"));
    }

    #[test]
    fn family_filter_and_containment() {
        let list = List::new(
            "x",
            1,
            0,
            vec![
                entry("10.0.0.0/24", "de", "a", 0),
                entry("10.0.0.5/32", "de", "a", 0),
                entry("10.0.1.0/24", "de", "a", 0),
                entry("2001:db8::/32", "de", "a", 0),
                entry("2001:db8::1/128", "de", "a", 0),
            ],
        );
        let v6 = RenderOptions {
            family: Some(Family::Ipv6),
            ..RenderOptions::default()
        };
        assert_eq!(nets(&list, &v6).len(), 2);
        let kept = without_contained(nets(&list, &RenderOptions::default()));
        let got: Vec<String> = kept.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["10.0.0.0/24", "10.0.1.0/24", "2001:db8::/32"]);
    }
}
