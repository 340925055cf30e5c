//! The per-exit series stay bounded and add up: 10,000 distinct exits hit over simulated time with a cap of 2,000
//! and an idle timeout never produce more than 2,000 `torwatch_tor_hits_by_exit_total` series, and idle series
//! disappear; when the cap is full, a heavy exit takes the place of the lightest idle series, the rest is counted
//! as `exit="other"`, and what a scraper reads with `increase()` (modelled here as Prometheus computes it, counter
//! resets and series that come and go included) adds up to every hit, per exit and over all exits.

use ipnet::IpNet;
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use torwatch::config::Config;
use torwatch::event::{Action, Event, Proto};
use torwatch::list::{List, ListEntry, Provenance};
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

/// A scraper that keeps, per series, what Prometheus' `increase()` over all its samples gives: each rise between
/// two samples, and after a drop (a counter reset) the new value; the first sample of a series counts nothing.
#[derive(Default)]
struct Scraper {
    last: BTreeMap<String, f64>,
    increase: BTreeMap<String, f64>,
}

impl Scraper {
    /// One scrape, as the `/metrics` handler makes it.
    fn scrape(&mut self, metrics: &TrafficMetrics, reg: &Registry) -> String {
        let n = metrics.scrape_begin("prometheus");
        let mut text = String::new();
        encode(&mut text, reg).unwrap();
        metrics.scrape_end("prometheus", n);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let value: f64 = value.parse().unwrap();
            if let Some(prev) = self.last.insert(series.to_string(), value) {
                let rise = if value >= prev { value - prev } else { value };
                *self.increase.entry(series.to_string()).or_default() += rise;
            }
        }
        text
    }

    /// The increase of every series whose name and labels start with `prefix`, summed.
    fn sum(&self, prefix: &str) -> f64 {
        self.increase
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
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
    let mut prom = Scraper::default();
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
            prom.scrape(&metrics, &reg);
            metrics.evict(now);
            let n = by_exit(&reg);
            assert!(
                n <= CAP + 1,
                "{n} exit series after {i} exits (cap and other)"
            );
            max_seen = max_seen.max(n);
        }
    }
    assert_eq!(max_seen, CAP + 1, "the cap is reached, not undershot");
    prom.scrape(&metrics, &reg);
    prom.scrape(&metrics, &reg);
    assert_eq!(
        prom.sum("torwatch_tor_hits_by_exit_total{"),
        f64::from(EXITS),
        "the series, other included, add up to every hit"
    );
    let s = series(&reg);
    assert_eq!(s["torwatch_tor_distinct_exits_24h"], 1);
    assert!(s["torwatch_tor_hits_by_port_total"] <= 2 + 3 + 1, "{s:?}");
    assert_eq!(s["torwatch_tor_hits_by_country_total"], 3);
    assert_eq!(s["torwatch_tor_hits_total"], 1);
    assert!(s["torwatch_tor_hits_by_exit_total"] <= CAP + 1, "{s:?}");
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
    assert!(text.contains("exit=\"other\""));

    // Phase 2: quiet for longer than the idle time: the per-exit series are gone.
    now += IDLE + 1;
    prom.scrape(&metrics, &reg);
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
    prom.scrape(&metrics, &reg);
    prom.scrape(&metrics, &reg);
    metrics.evict(now + 24 * 3600 + 1);
    let mut t = String::new();
    encode(&mut t, &reg).unwrap();
    assert!(t.contains("torwatch_tor_distinct_exits_24h 0"), "{t}");
    assert_eq!(by_exit(&reg), 0);
}

fn hit(
    metrics: &TrafficMetrics,
    matcher: &Matcher,
    input: &torwatch::matcher::InputHandle,
    i: u32,
    now: i64,
) {
    let ev = Event {
        src_ip: Some(exit(i)),
        dst_port: Some(443),
        proto: Some(Proto::Tcp),
        action: Some(Action::Drop),
        ..Event::default()
    };
    let hit = matcher.classify(&ev).expect("an exit");
    metrics.record(input, &ev, &hit, now);
}

fn exit_label(i: u32) -> String {
    format!("torwatch_tor_hits_by_exit_total{{exit=\"{}\",", exit(i))
}

#[test]
fn a_heavy_exit_after_a_full_cap_gets_its_own_series_and_every_hit_adds_up() {
    let config =
        Config::parse("matcher:\n  exit_series_cap: 50\n  exit_series_idle: 1h\n").unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("kernel");
    let snap = snapshot();
    let matcher = Matcher::new(&snap);
    let mut prom = Scraper::default();
    let mut now = 1_764_000_000;
    // 60 exits with one hit each: 50 get a series, 10 are counted as other.
    for i in 0..60 {
        hit(&metrics, &matcher, &input, i, now);
        now += 1;
        prom.scrape(&metrics, &reg);
    }
    assert_eq!(metrics.exit_series(), 50);
    // A minute later (the one-hit series are idle), an exit with 100 hits.
    now += 60;
    for _ in 0..100 {
        hit(&metrics, &matcher, &input, 1000, now);
        now += 1;
        prom.scrape(&metrics, &reg);
    }
    prom.scrape(&metrics, &reg);
    let text = prom.scrape(&metrics, &reg);
    assert_eq!(metrics.exit_series(), 50, "still capped");
    assert!(
        text.contains(&exit_label(1000)),
        "the heavy exit has its own series:\n{text}"
    );
    // Its first hit went to other (one hit weighs no more than the lightest series); the second took a place.
    assert_eq!(prom.sum(&exit_label(1000)), 99.0);
    assert_eq!(
        prom.sum("torwatch_tor_hits_by_exit_total{exit=\"other\""),
        11.0
    );
    for i in 0..50 {
        assert_eq!(prom.sum(&exit_label(i)), 1.0, "exit {i}: its hit is read");
    }
    assert_eq!(prom.sum("torwatch_tor_hits_by_exit_total{"), 160.0);
    assert_eq!(
        prom.sum("torwatch_tor_hits_total{"),
        160.0,
        "the sum over exits equals the inbound hits"
    );
    assert_eq!(prom.sum("torwatch_tor_hits_by_port_total{"), 160.0);
    assert_eq!(prom.sum("torwatch_tor_hits_by_country_total{"), 160.0);
}

#[test]
fn an_evicted_exit_that_comes_back_is_read_in_full() {
    let config =
        Config::parse("matcher:\n  exit_series_cap: 10\n  exit_series_idle: 10m\n").unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("kernel");
    let snap = snapshot();
    let matcher = Matcher::new(&snap);
    let mut prom = Scraper::default();
    let mut now = 1_764_000_000;
    for _ in 0..3 {
        hit(&metrics, &matcher, &input, 7, now);
    }
    prom.scrape(&metrics, &reg);
    prom.scrape(&metrics, &reg);
    now += 3600;
    metrics.evict(now);
    assert_eq!(metrics.exit_series(), 0, "evicted once shown");
    prom.scrape(&metrics, &reg);
    // Back, with hits between two scrapes: the new series is shown at 0 first.
    hit(&metrics, &matcher, &input, 7, now);
    hit(&metrics, &matcher, &input, 7, now);
    let text = prom.scrape(&metrics, &reg);
    assert!(
        text.contains(&format!(
            "{}nickname=\"relay7\",country=\"nl\"}} 0",
            exit_label(7)
        )),
        "{text}"
    );
    prom.scrape(&metrics, &reg);
    assert_eq!(prom.sum(&exit_label(7)), 5.0);
    assert_eq!(prom.sum("torwatch_tor_hits_total{"), 5.0);
}

#[test]
fn a_series_that_is_never_scraped_keeps_its_hits_and_is_never_evicted() {
    let config = Config::parse("matcher:\n  exit_series_idle: 1s\n").unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("kernel");
    let snap = snapshot();
    let matcher = Matcher::new(&snap);
    hit(&metrics, &matcher, &input, 1, 1_764_000_000);
    metrics.evict(1_764_100_000);
    assert_eq!(metrics.exit_series(), 1, "its hit was never shown");
    let mut prom = Scraper::default();
    prom.scrape(&metrics, &reg);
    prom.scrape(&metrics, &reg);
    assert_eq!(prom.sum(&exit_label(1)), 1.0);
}
