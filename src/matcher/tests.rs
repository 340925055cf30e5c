//! Classification and the exposition of the traffic metrics.

use super::*;
use crate::event::{Action, Proto};
use crate::list::Provenance;

const EXITS: &str = ListId::Exits.name();
const RELAYS: &str = ListId::Relays.name();
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

fn list(name: &str, nets: &[(&str, Option<&str>)]) -> Arc<List> {
    let entries = nets
        .iter()
        .map(|(n, country)| ListEntry {
            net: n.parse().unwrap(),
            prov: Provenance {
                country: country.map(str::to_string),
                nickname: Some("n".into()),
                ..Provenance::default()
            }
            .into(),
        })
        .collect();
    Arc::new(List::new(name, 3, 0, entries))
}

fn snapshot() -> Snapshot {
    let exits = list(
        EXITS,
        &[("185.220.101.7/32", Some("DE")), ("2001:db8::7/128", None)],
    );
    let relays = list(RELAYS, &[("198.51.100.0/24", Some("nl"))]);
    Snapshot {
        lists: BTreeMap::from([(EXITS.to_string(), exits), (RELAYS.to_string(), relays)]),
        ..Snapshot::default()
    }
}

fn ev(src: &str, dst: &str) -> Event<'static> {
    Event {
        src_ip: Some(src.parse().unwrap()),
        dst_ip: Some(dst.parse().unwrap()),
        dst_port: Some(22),
        proto: Some(Proto::Tcp),
        action: Some(Action::Drop),
        ..Event::default()
    }
}

#[test]
fn inbound_from_exits_outbound_to_relays_inbound_wins() {
    let snap = snapshot();
    let m = Matcher::new(&snap);
    let hit = m.classify(&ev("185.220.101.7", "192.0.2.1")).unwrap();
    assert_eq!(hit.direction, Direction::Inbound);
    assert_eq!(&*hit.labels.addr, "185.220.101.7");
    assert_eq!(&*hit.labels.country, "de", "lower case");
    let hit = m
        .classify(&ev("::ffff:185.220.101.7", "192.0.2.1"))
        .unwrap();
    assert_eq!(
        hit.direction,
        Direction::Inbound,
        "mapped IPv6 matches as IPv4"
    );
    let hit = m.classify(&ev("192.0.2.1", "198.51.100.9")).unwrap();
    assert_eq!(hit.direction, Direction::Outbound);
    assert_eq!(&*hit.labels.addr, "198.51.100.0/24");
    let hit = m.classify(&ev("185.220.101.7", "198.51.100.9")).unwrap();
    assert_eq!(hit.direction, Direction::Inbound, "both: inbound wins");
    assert!(
        m.classify(&ev("198.51.100.9", "185.220.101.7")).is_none(),
        "wrong ways round"
    );
    let hit = m.classify(&ev("2001:db8::7", "2001:db8::1")).unwrap();
    assert_eq!(&*hit.labels.country, UNKNOWN);
    assert!(m.is_current(&snap));
    assert!(!m.is_current(&Snapshot::default()));
}

#[test]
fn events_without_addresses_or_lists_do_not_match() {
    assert!(Matcher::new(&Snapshot::default())
        .classify(&ev("185.220.101.7", "192.0.2.1"))
        .is_none());
    let snap = snapshot();
    assert!(Matcher::new(&snap).classify(&Event::default()).is_none());
}

/// One scrape of `/metrics` as the HTTP handler makes it.
fn scrape(metrics: &TrafficMetrics, reg: &Registry) -> String {
    let n = metrics.scrape_begin("prometheus");
    let mut text = String::new();
    encode(&mut text, reg).unwrap();
    metrics.scrape_end("prometheus", n);
    text
}

#[test]
fn exposition_uses_the_contract_names_and_labels() {
    let config = crate::config::Config::parse("matcher:\n  ports: [22]\n  top_ports: 0\n").unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("kernel");
    let snap = snapshot();
    let m = Matcher::new(&snap);
    let mut e = ev("185.220.101.7", "192.0.2.1");
    for port in [22, 22, 8080] {
        e.dst_port = Some(port);
        let hit = m.classify(&e).unwrap();
        metrics.record(&input, &e, &hit, 1000);
    }
    let web = Event {
        kind: crate::event::Kind::Web,
        src_ip: e.src_ip,
        http_status: Some(404),
        action: Some(Action::Allow),
        ..Event::default()
    };
    metrics.record(&input, &web, &m.classify(&web).unwrap(), 1000);
    let out = ev("192.0.2.1", "198.51.100.9");
    metrics.record(&input, &out, &m.classify(&out).unwrap(), 1000);
    let first = scrape(&metrics, &reg);
    assert!(
        first.contains(
            r#"torwatch_tor_hits_by_exit_total{exit="185.220.101.7",nickname="n",country="de"} 0"#
        ),
        "a new series is first shown at 0:\n{first}"
    );
    assert!(
        !first
            .lines()
            .any(|l| l.starts_with("torwatch_tor_hits") && !l.ends_with(" 0")),
        "{first}"
    );
    let text = scrape(&metrics, &reg);
    for want in [
        r#"torwatch_tor_hits_total{input="kernel",direction="inbound",action="drop",proto="tcp",kind="traffic"} 3"#,
        r#"torwatch_tor_hits_total{input="kernel",direction="inbound",action="allow",proto="unknown",kind="web"} 1"#,
        r#"torwatch_tor_hits_total{input="kernel",direction="outbound",action="drop",proto="tcp",kind="traffic"} 1"#,
        r#"torwatch_tor_hits_by_port_total{direction="inbound",port="22"} 2"#,
        r#"torwatch_tor_hits_by_port_total{direction="inbound",port="other"} 1"#,
        r#"torwatch_tor_hits_by_port_total{direction="outbound",port="22"} 1"#,
        r#"torwatch_tor_hits_by_country_total{country="de"} 4"#,
        r#"torwatch_tor_hits_by_exit_total{exit="185.220.101.7",nickname="n",country="de"} 4"#,
        "torwatch_tor_distinct_exits_24h 1",
        r#"torwatch_tor_http_responses_total{code_class="4xx",code="404"} 1"#,
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(
        !text.contains("nl"),
        "outbound hits have no country or exit series"
    );
}

#[test]
fn logins_from_exits_are_counted_by_service_and_action() {
    use crate::event::{Kind, Service};
    let config = crate::config::Config::parse("matcher:\n  top_ports: 0\n").unwrap();
    let mut reg = Registry::default();
    let metrics = TrafficMetrics::register(&mut reg, &config.matcher);
    let input = metrics.input("auth");
    let snap = snapshot();
    let m = Matcher::new(&snap);
    let login = |src: &str, action, service| Event {
        kind: Kind::Auth,
        src_ip: Some(src.parse().unwrap()),
        proto: Some(Proto::Tcp),
        action,
        service,
        ..Event::default()
    };
    let events = [
        login("185.220.101.7", Some(Action::Fail), Some(Service::Ssh)),
        login("185.220.101.7", Some(Action::Fail), Some(Service::Ssh)),
        login("185.220.101.7", Some(Action::Allow), Some(Service::Ssh)),
        login("2001:db8::7", None, Some(Service::Vpn)),
        login("185.220.101.7", Some(Action::Fail), None),
        // Not from an exit: no hit at all.
        login("192.0.2.50", Some(Action::Allow), Some(Service::Ssh)),
        // A web request whose basic authentication failed is a login attempt too.
        Event {
            kind: Kind::Web,
            src_ip: Some("185.220.101.7".parse().unwrap()),
            action: Some(Action::Fail),
            service: Some(Service::Web),
            ..Event::default()
        },
        // A firewall drop is none.
        ev("185.220.101.7", "192.0.2.1"),
    ];
    for e in &events {
        if let Some(hit) = m.classify(e) {
            metrics.record(&input, e, &hit, 1000);
        }
    }
    let first = scrape(&metrics, &reg);
    assert!(
        first.contains(r#"torwatch_tor_logins_total{input="auth",service="ssh",action="fail"} 0"#),
        "a new series is first shown at 0:\n{first}"
    );
    let text = scrape(&metrics, &reg);
    for want in [
        r#"torwatch_tor_logins_total{input="auth",service="ssh",action="fail"} 2"#,
        r#"torwatch_tor_logins_total{input="auth",service="ssh",action="allow"} 1"#,
        r#"torwatch_tor_logins_total{input="auth",service="vpn",action="unknown"} 1"#,
        r#"torwatch_tor_logins_total{input="auth",service="other",action="fail"} 1"#,
        r#"torwatch_tor_logins_total{input="auth",service="web",action="fail"} 1"#,
        r#"torwatch_tor_hits_total{input="auth",direction="inbound",action="allow",proto="tcp",kind="auth"} 1"#,
        r#"torwatch_tor_hits_total{input="auth",direction="inbound",action="fail",proto="tcp",kind="auth"} 3"#,
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    let logins: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("torwatch_tor_logins_total{"))
        .collect();
    assert_eq!(logins.len(), 5, "{logins:#?}");
}
