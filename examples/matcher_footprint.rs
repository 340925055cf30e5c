//! Footprint and speed of the matcher: builds 30 days of hourly history for a rolling set of exits, the current
//! list, its index and 2,000 per-exit series, then prints the resident memory and the index lookup rate.

use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;
use torwatch::config::Config;
use torwatch::event::{Action, Event, Proto};
use torwatch::keeper::history::{CurrentRule, History, Sighting, Times};
use torwatch::list::{List, ListEntry};
use torwatch::matcher::{Index, Matcher, TrafficMetrics};
use torwatch::snapshot::Snapshot;

const POOL: u32 = 3_000;
const LISTED: u32 = 2_000;
const H: i64 = 3600;

fn addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(
        0x4d00_0000u32.wrapping_add(i.wrapping_mul(2_654_435_761) >> 8),
    ))
}

fn status(key: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.trim_start_matches(key).trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let start = 1_764_000_000;
    let mut history = History::default();
    for fetch in 0..30 * 24 {
        let now = start + fetch * H;
        let shift = (fetch / 24) as u32 * 30;
        let sightings = (0..LISTED).map(|i| Sighting {
            net: addr((i + shift) % POOL).into(),
            relay: None,
            approximate: false,
            measured: None,
        });
        let times = Times {
            previous: if fetch == 0 { 0 } else { now - H },
            now,
            gap: 24 * H,
        };
        history.observe("tor-exits", "tordnsel", sightings, times);
    }
    let now = start + 30 * 24 * H;
    let last = BTreeMap::from([("tordnsel".to_string(), now - H)]);
    let rule = CurrentRule {
        last_success: &last,
        retention: 24 * H,
        now,
    };
    let entries: Vec<ListEntry> = history.current("tor-exits", &rule, |_, _| {});
    let list = Arc::new(List::new("tor-exits", 1, now, entries));
    let snapshot = Snapshot {
        lists: BTreeMap::from([("tor-exits".to_string(), list.clone())]),
        ..Snapshot::default()
    };
    let matcher = Matcher::new(&snapshot);
    let config =
        Config::parse("matcher:\n  exit_series_cap: 2000\n").unwrap_or_else(|e| panic!("{e}"));
    let mut registry = Registry::default();
    let metrics = TrafficMetrics::register(&mut registry, &config.matcher);
    let input = metrics.input("kernel");
    for e in &list.entries {
        let ev = Event {
            src_ip: Some(e.net.addr()),
            dst_port: Some(22),
            proto: Some(Proto::Tcp),
            action: Some(Action::Drop),
            ..Event::default()
        };
        if let Some(hit) = matcher.classify(&ev) {
            metrics.record(&input, &ev, &hit, now);
        }
    }
    println!(
        "history: {} addresses; list: {} entries; exit series: {}",
        history.len(),
        list.entries.len(),
        metrics.exit_series()
    );
    println!("VmRSS {}  VmHWM {}", status("VmRSS:"), status("VmHWM:"));
    lookups(&Index::new(&list));
}

fn lookups(index: &Index) {
    let probes: Vec<IpAddr> = (0..1_000_000u32).map(|i| addr(i % (4 * POOL))).collect();
    let t = Instant::now();
    let mut found = 0usize;
    for _ in 0..20 {
        found += probes.iter().filter(|ip| index.get(**ip).is_some()).count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "index: {:.1} M lookups/s ({} of 20 M found)",
        20.0 / secs,
        found
    );
}
