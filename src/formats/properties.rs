//! Property tests over random lists: every format renders any list without panicking, and what the plain,
//! aggregated and nft renderings hold is exactly the list's address space.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::{render, selection, ListFormat, RenderOptions};
use crate::list::{Family, List, ListEntry};

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 8u8..=32).prop_map(|(a, p)| {
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(a), p)
                    .unwrap_or_default()
                    .trunc(),
            )
        }),
        (any::<u128>(), 16u8..=128).prop_map(|(a, p)| {
            IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from(a), p)
                    .unwrap_or_default()
                    .trunc(),
            )
        }),
        // Dense neighbours, so that aggregation and containment really happen.
        (0u32..64, 28u8..=32).prop_map(|(a, p)| {
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(0xc000_0200 + a), p)
                    .unwrap_or_default()
                    .trunc(),
            )
        }),
    ]
}

fn list() -> impl Strategy<Value = List> {
    (any::<String>(), proptest::collection::vec(net(), 0..60)).prop_map(|(name, nets)| {
        let entries = nets
            .into_iter()
            .map(|net| ListEntry {
                net,
                prov: Default::default(),
            })
            .collect();
        List::new(name, 3, 1_795_000_000, entries)
    })
}

fn options() -> impl Strategy<Value = RenderOptions> {
    let family = prop_oneof![
        Just(None),
        Just(Some(Family::Ipv4)),
        Just(Some(Family::Ipv6))
    ];
    (family, any::<bool>(), any::<bool>()).prop_map(|(family, aggregate, enrich)| RenderOptions {
        family,
        aggregate,
        enrich,
    })
}

fn parse_line(line: &str) -> IpNet {
    line.parse::<IpNet>()
        .or_else(|_| line.parse::<IpAddr>().map(IpNet::from))
        .unwrap_or_else(|e| panic!("line {line:?} is not an address: {e}"))
}

fn text(format: ListFormat, list: &List, opts: &RenderOptions) -> String {
    String::from_utf8(render(format, list, opts)).expect("utf-8 output")
}

proptest! {
    #[test]
    fn every_format_renders_any_list(list in list(), opts in options()) {
        for format in ListFormat::ALL {
            let out = render(format, &list, &opts);
            prop_assert!(out.is_empty() || out.ends_with(b"\n"), "{:?} lacks a final newline", format);
        }
        let json: serde_json::Value = serde_json::from_str(&text(ListFormat::Json, &list, &opts))
            .expect("json output parses");
        prop_assert_eq!(json["count"].as_u64(), json["entries"].as_array().map(|a| a.len() as u64));
        serde_json::from_str::<serde_json::Value>(&text(ListFormat::CheckPoint, &list, &opts))
            .expect("checkpoint output parses");
    }

    #[test]
    fn txt_holds_exactly_the_list(list in list(), opts in options()) {
        let got: Vec<IpNet> = text(ListFormat::Txt, &list, &opts).lines().map(parse_line).collect();
        let want: Vec<IpNet> = list
            .entries
            .iter()
            .map(|e| e.net)
            .filter(|n| opts.family.is_none() || opts.family == Some(Family::of(n)))
            .collect();
        prop_assert_eq!(IpNet::aggregate(&got), IpNet::aggregate(&want));
        if opts.aggregate {
            prop_assert_eq!(&got, &IpNet::aggregate(&got));
        } else {
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn nft_elements_never_overlap_and_cover_the_list(list in list(), opts in options()) {
        let out = text(ListFormat::Nft, &list, &opts);
        let mut elements = Vec::new();
        for line in out.lines() {
            if let Some(body) = line.strip_prefix("add element inet torwatch ") {
                let inner = body.split_once("{ ").and_then(|(_, r)| r.strip_suffix(" }")).expect("braces");
                elements.extend(inner.split(", ").map(parse_line));
            } else {
                let known = ["#", "table inet torwatch {", "\tset ", "\t\ttype ", "\t\tflags interval", "\t}", "}",
                    "flush set inet torwatch "];
                prop_assert!(known.iter().any(|k| line.starts_with(k)), "unexpected nft line {:?}", line);
            }
        }
        let distinct: BTreeSet<IpNet> = elements.iter().copied().collect();
        prop_assert_eq!(distinct.len(), elements.len());
        prop_assert_eq!(selection::without_contained(elements.clone()), elements.clone());
        let want = selection::nets(&list, &opts);
        prop_assert_eq!(IpNet::aggregate(&elements), IpNet::aggregate(&want));
    }
}
