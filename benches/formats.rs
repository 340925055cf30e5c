//! Render time of every output format for a 2,000-entry list with full provenance (1,500 IPv4, 500 IPv6).
//! Prints the median of repeated runs; asserts nothing. `cargo bench --bench formats`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use torwatch::formats::{render, ListFormat, RenderOptions};
use torwatch::list::{List, ListEntry, Provenance};

const RUNS: usize = 200;

fn list() -> List {
    let v4 = (0..1500u32).map(|i| IpAddr::from(Ipv4Addr::from(0xb9dc_0000 + i * 3)));
    let v6 =
        (0..500u128).map(|i| IpAddr::from(Ipv6Addr::from((0x2a0b_f4c2u128 << 96) + (i << 64) + 1)));
    let entries = v4
        .chain(v6)
        .enumerate()
        .map(|(i, addr)| ListEntry {
            net: IpNet::from(addr),
            prov: Provenance {
                sources: vec!["onionoo".into(), "tordnsel".into()],
                first_seen: 1_790_000_000 + i as i64,
                last_seen: 1_795_000_000,
                fingerprints: vec![format!("{i:040X}")],
                nickname: Some(format!("relay{i}")),
                country: Some("de".into()),
                as_number: Some(60729),
                as_name: Some("Stiftung Erneuerbare Freiheit".into()),
                approximate: addr.is_ipv6(),
            }
            .into(),
        })
        .collect();
    List::new("tor-exits", 1, 1_795_000_000, entries)
}

fn median(format: ListFormat, list: &List, opts: &RenderOptions) -> (Duration, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = render(format, black_box(list), opts);
        times.push(start.elapsed());
        size = black_box(out).len();
    }
    times.sort();
    (times[RUNS / 2], size)
}

fn main() {
    let list = list();
    let plain = RenderOptions::default();
    let aggregate = RenderOptions {
        aggregate: true,
        ..plain
    };
    let enrich = RenderOptions {
        enrich: true,
        ..plain
    };
    println!(
        "{:<22} {:>10} {:>10}",
        "format (2,000 entries)", "median", "bytes"
    );
    for format in ListFormat::ALL {
        let mut cases = vec![("", plain), (" aggregate", aggregate)];
        if format == ListFormat::Csv {
            cases.push((" enrich", enrich));
        }
        for (label, opts) in cases {
            let (t, size) = median(format, &list, &opts);
            println!(
                "{:<22} {:>8.0}µs {:>10}",
                format!("{}{label}", format.ext()),
                t.as_secs_f64() * 1e6,
                size
            );
        }
    }
}
