//! The per-exit series stay bounded: 10,000 distinct exits hit over simulated time with a cap of 2,000 and an idle
//! timeout never produce more than 2,000 `torwatch_tor_hits_by_exit_total` series, and idle series disappear.

use ipnet::IpNet;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use torwatch::config::Config;
use torwatch::event::{Action, Event, Proto};
use torwatch::lists::{List, ListEntry, Provenance};
use torwatch::matcher::{Matcher, TrafficMetrics};
use torwatch::snapshot::Snapshot;

const EXITS: u32 = 10_000;
const CAP: usize = 2_000;
const IDLE: i64 = 3600;

fn exit(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i))
}

fn snapshot() -> Snapshot {
    let entries = (0..EXITS)
        .map(|i| ListEntry {
            net: IpNet::from(exit(i)),
            prov: Provenance {
                nickname: Some(format!("relay{i}")),
                country: Some(["de", "nl", "us"][i as usize % 3].into()),
                ..Provenance::default()
            }
            .into(),
        })
        .collect();
    let list = List::new("tor-exits", 1, 0, entries);
    Snapshot {
        lists: BTreeMap::from([("tor-exits".to_string(), Arc::new(list))]),
        ..Snapshot::default()
    }
}

/// Series per metric family in the text exposition.
fn series(reg: &Registry) -> BTreeMap<String, usize> {
    let mut text = String::new();
    encode(&mut text, reg).unwrap();
    let mut count = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        *count.entry(name.to_string()).or_default() += 1;
    }
    count
}

fn by_exit(reg: &Registry) -> usize {
    series(reg)
        .get("torwatch_tor_hits_by_exit_total")
        .copied()
        .unwrap_or(0)
}

#[test]
fn exit_series_never_exceed_the_cap_and_idle_ones_go() {
    let config = Config::parse(&format!(
        "matcher:\n  exit_series_cap: {CAP}\n  exit_series_idle: {IDLE}s\n  top_ports: 3\n  ports: [22, 443]\n"
    ))
    .unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("kernel");
    let snap = snapshot();
    let matcher = Matcher::new(&snap);
    let mut now = 1_764_000_000;
    let mut max_seen = 0;
    // Phase 1: every exit hits, 100 new exits per simulated minute, eviction every minute.
    for i in 0..EXITS {
        let src = exit(i);
        let ev = Event {
            src_ip: Some(src),
            dst_ip: Some("192.0.2.1".parse().unwrap()),
            dst_port: Some([22, 443, 8080, 8081, 8082, 8083, 9000][i as usize % 7]),
            proto: Some(Proto::Tcp),
            action: Some(Action::Drop),
            ..Event::default()
        };
        let hit = matcher
            .classify(&ev)
            .expect("every generated source is an exit");
        metrics.record(&input, &ev, &hit, now);
        if i % 100 == 99 {
            now += 60;
            metrics.evict(now);
            let n = by_exit(&reg);
            assert!(n <= CAP, "{n} exit series after {i} exits");
            max_seen = max_seen.max(n);
        }
    }
    assert_eq!(max_seen, CAP, "the cap is reached, not undershot");
    let s = series(&reg);
    assert_eq!(s["torwatch_tor_distinct_exits_24h"], 1);
    assert!(s["torwatch_tor_hits_by_port_total"] <= 2 + 3 + 1, "{s:?}");
    assert_eq!(s["torwatch_tor_hits_by_country_total"], 3);
    assert_eq!(s["torwatch_tor_hits_total"], 1);
    let text = {
        let mut t = String::new();
        encode(&mut t, &reg).unwrap();
        t
    };
    assert!(
        text.contains("torwatch_tor_distinct_exits_24h 10000"),
        "distinct exits count every exit, capped series or not"
    );
    assert!(text.contains("port=\"other\""));

    // Phase 2: quiet for longer than the idle time: the per-exit series are gone.
    now += IDLE + 1;
    metrics.evict(now);
    assert_eq!(by_exit(&reg), 0);
    assert_eq!(metrics.exit_series(), 0);

    // Phase 3: new exits get series again; after 24 h without hits the distinct gauge is 0.
    for i in 0..10 {
        let ev = Event {
            src_ip: Some(exit(EXITS - 1 - i)),
            ..Event::default()
        };
        let hit = matcher.classify(&ev).unwrap();
        metrics.record(&input, &ev, &hit, now);
    }
    assert_eq!(by_exit(&reg), 10);
    metrics.evict(now + 24 * 3600 + 1);
    let mut t = String::new();
    encode(&mut t, &reg).unwrap();
    assert!(t.contains("torwatch_tor_distinct_exits_24h 0"), "{t}");
    assert_eq!(by_exit(&reg), 0);
}
