//! The status page rendered from fixed snapshots: the "nothing loaded yet" state, a loaded list with traffic,
//! hostile strings from feeds and logs, and golden files of whole pages (`UPDATE_GOLDEN=1 cargo test --test it
//! status_page::` rewrites them; review the diff before committing it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use torwatch::list::{List, ListEntry, Provenance};
use torwatch::snapshot::{Snapshot, SourceStatus};
use torwatch::status::{render, ExitRow, HourRow, LoginRow, Traffic, TrafficHandle, TrafficSource};

/// 2026-11-29 04:00:00 UTC.
const NOW: i64 = 1_795_924_800;
/// The default `stale_after`: 3 h.
const STALE: i64 = 3 * 3600;

fn known() -> BTreeSet<String> {
    ["tor-exits", "tor-exits-1d", "tor-exits-7d", "tor-exits-30d"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn source(name: &str, kind: &'static str) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        kind,
        enabled: true,
        list: "tor-exits".into(),
        ..SourceStatus::default()
    }
}

/// A list of `v4` IPv4 and `v6` IPv6 host addresses.
fn list(name: &str, v4: usize, v6: usize, updated: i64) -> Arc<List> {
    let prov = Provenance {
        sources: vec!["tordnsel".into()],
        first_seen: updated,
        last_seen: updated,
        ..Provenance::default()
    };
    let v4 = (0..v4).map(|i| format!("185.{}.{}.{}/32", 220 + i / 65536, i / 256 % 256, i % 256));
    let v6 = (0..v6).map(|i| format!("2001:db8::{i:x}/128"));
    let entries = v4
        .chain(v6)
        .map(|n| ListEntry {
            net: n.parse().unwrap(),
            prov: prov.clone().into(),
        })
        .collect();
    Arc::new(List::new(name, 3, updated, entries))
}

fn nothing_loaded() -> Snapshot {
    let mut bulk = source("bulk", "bulk");
    bulk.last_attempt = NOW - 40;
    bulk.last_result = "connect_error".into();
    bulk.last_error = Some("connecting to http://127.0.0.1:9/list: connection refused".into());
    let mut danme = source("danme", "danme");
    danme.enabled = false;
    Snapshot {
        known: known(),
        sources: vec![bulk, danme],
        built: NOW - 40,
        ..Snapshot::default()
    }
}

fn loaded() -> Snapshot {
    let mut lists = BTreeMap::new();
    lists.insert(
        "tor-exits".to_string(),
        list("tor-exits", 1_230, 4, NOW - 7_200),
    );
    lists.insert(
        "tor-exits-1d".to_string(),
        list("tor-exits-1d", 1_300, 4, NOW - 7_200),
    );
    let mut tordnsel = source("tordnsel", "tordnsel");
    tordnsel.entries = 1_230;
    tordnsel.last_success = NOW - 300;
    tordnsel.last_attempt = NOW - 300;
    tordnsel.last_result = "unchanged".into();
    let mut bulk = source("bulk", "bulk");
    bulk.entries = 1_228;
    bulk.last_success = NOW - 4_000;
    bulk.last_attempt = NOW - 200;
    bulk.last_result = "too_few".into();
    bulk.last_error = Some("129 entries is under the floor of 500".into());
    Snapshot {
        lists,
        known: known(),
        sources: vec![tordnsel, bulk],
        built: NOW - 200,
        ..Snapshot::default()
    }
}

fn exit(i: usize, nickname: &str, country: &str, hits: u64) -> ExitRow {
    ExitRow {
        address: format!("185.220.101.{i}"),
        nickname: Some(nickname.into()),
        country: Some(country.into()),
        hits,
        last_seen: NOW - 60 * i as i64,
    }
}

fn traffic(rows: usize) -> Traffic {
    Traffic {
        window_secs: 86_400,
        hits: 5_678,
        distinct_exits: 321,
        top_exits: (1..=rows)
            .map(|i| exit(i, &format!("relay{i}"), "de", 1_000 / i as u64))
            .collect(),
        countries: vec![
            ("de".into(), 3_000),
            ("us".into(), 1_500),
            ("nl".into(), 1_178),
        ],
        ports: (0..rows)
            .map(|i| (format!("{}/tcp", 20 + i), 100))
            .collect(),
        http_status: vec![(200, 40), (403, 12), (404, 7)],
        outbound: 9,
        hourly: (0..24)
            .map(|i| HourRow {
                start: NOW - (23 - i) * 3600,
                kinds: [
                    100 + 10 * i as u64,
                    (i % 4) as u64 * 7,
                    u64::from(i == 20) * 400,
                ],
            })
            .collect(),
        logins: vec![
            LoginRow {
                service: "ssh",
                failed: 1_200,
                succeeded: 1,
                no_outcome: 30,
            },
            LoginRow {
                service: "vpn",
                failed: 40,
                succeeded: 0,
                no_outcome: 2,
            },
        ],
    }
}

/// Checks that elements open and close in order, so a broken template cannot hide.
fn assert_balanced(html: &str) {
    const CHECKED: &[&str] = &[
        "html",
        "head",
        "body",
        "header",
        "main",
        "footer",
        "section",
        "div",
        "p",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "code",
        "time",
        "a",
        "strong",
        "h1",
        "h2",
        "style",
        "svg",
        "g",
        "figure",
        "figcaption",
        "details",
        "summary",
        "pattern",
        "defs",
        "desc",
        "title",
        "text",
    ];
    let mut stack: Vec<&str> = Vec::new();
    for tag in html.split('<').skip(1) {
        let end = tag.find([' ', '>', '\n']).unwrap_or(tag.len());
        let name = &tag[..end];
        if let Some(closing) = name.strip_prefix('/') {
            if CHECKED.contains(&closing) {
                assert_eq!(
                    stack.pop(),
                    Some(closing),
                    "unexpected </{closing}> in:\n{html}"
                );
            }
        } else if CHECKED.contains(&name) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
}

#[test]
fn nothing_loaded_says_so_and_shows_why() {
    let html = render(&nothing_loaded(), &Traffic::default(), NOW, STALE);
    assert_balanced(&html);
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"60\">"));
    assert!(html.contains("No exit list loaded yet."));
    assert!(html.contains("<dt>Exit addresses</dt><dd>not loaded</dd>"));
    assert_eq!(
        html.matches("<span class=\"bad\">not loaded</span>")
            .count(),
        4,
        "every known list"
    );
    assert!(html.contains("<span class=\"bad\">connect_error</span>"));
    assert!(html.contains("connecting to http://127.0.0.1:9/list: connection refused"));
    assert!(html.contains("<span class=\"mute\">disabled</span>"));
    assert!(html.contains(
        "<h2 id=\"traffic\">Tor traffic, last 24 h</h2>\n<p>No Tor hits in this window.</p>"
    ));
}

#[test]
fn loaded_list_and_traffic_show_their_numbers() {
    let html = render(&loaded(), &traffic(30), NOW, STALE);
    assert_balanced(&html);
    assert!(!html.contains("No exit list loaded yet"));
    assert!(html.contains("<dt>Exit addresses</dt><dd>1,234</dd>"));
    assert!(html.contains("<dt>Exit list confirmed</dt><dd>5 min ago</dd>"));
    assert!(html.contains("<dt>Tor hits</dt><dd>5,678</dd>"));
    assert!(html.contains("<dt>Distinct exits</dt><dd>321</dd>"));
    assert!(html.contains("<dt>Outbound to Tor</dt><dd>9</dd>"));
    assert!(html.contains(
        "<dt>Logins from Tor</dt><dd>1,273 <strong class=\"bad\">(1 succeeded)</strong></dd>"
    ));
    assert!(html.contains("<caption>Tor exits trying to log in</caption>"));
    assert!(html.contains(
        "<td>ssh</td><td class=\"n\">1,200</td><td class=\"n\"><strong class=\"bad\">1</strong></td>\
         <td class=\"n\">30</td>"
    ));
    assert!(html.contains(
        "<td>vpn</td><td class=\"n\">40</td><td class=\"n\">0</td><td class=\"n\">2</td>"
    ));
    // tor-exits: fresh, 1,234 addresses, 1,230 IPv4, 4 IPv6; the 7d and 30d windows not loaded.
    assert!(html.contains(
        "<a href=\"/lists/tor-exits.txt\">tor-exits</a></th><td><span class=\"ok\">fresh</span></td>\
         <td class=\"n\">1,234</td><td class=\"n\">1,230</td><td class=\"n\">4</td>"
    ));
    assert_eq!(html.matches("<span class=\"ok\">fresh</span>").count(), 2);
    assert_eq!(
        html.matches("<span class=\"bad\">not loaded</span>")
            .count(),
        2
    );
    // Tables stop at 20 rows even when the provider sends more.
    assert!(html.contains("185.220.101.20<"));
    assert!(!html.contains("185.220.101.21<"));
    assert!(html.contains("<td>relay1</td><td>DE</td><td class=\"n\">1,000</td>"));
    assert!(html.contains("<td>DE</td><td class=\"n\">3,000</td><td class=\"n\">52.8 %</td>"));
    assert!(html.contains("<td>20/tcp</td>"));
    assert!(html.contains("<span class=\"bad\">403</span>"));
    assert!(html.contains("<span class=\"bad\">too_few</span>"));
    assert!(html.contains("129 entries is under the floor of 500"));
}

#[test]
fn a_list_no_source_confirmed_lately_is_stale() {
    let mut snapshot = loaded();
    for s in &mut snapshot.sources {
        s.last_success = NOW - 3 * 86_400;
    }
    let html = render(&snapshot, &Traffic::default(), NOW, STALE);
    assert!(html.contains("<dt>Exit list confirmed</dt><dd>3 d ago</dd>"));
    assert_eq!(html.matches("<span class=\"warn\">stale</span>").count(), 2);
    assert!(!html.contains("fresh</span>"));
}

#[test]
fn stale_follows_the_configured_threshold() {
    let mut snapshot = loaded();
    for s in &mut snapshot.sources {
        s.last_success = NOW - 2 * 3600;
    }
    let fresh = render(&snapshot, &Traffic::default(), NOW, STALE);
    assert!(!fresh.contains("stale</span>"), "2 h old, stale after 3 h");
    assert!(
        fresh.contains("has succeeded for 3 h."),
        "the page names the threshold"
    );
    let stale = render(&snapshot, &Traffic::default(), NOW, 3600);
    assert_eq!(
        stale.matches("<span class=\"warn\">stale</span>").count(),
        2
    );
    assert!(stale.contains("has succeeded for 1 h."));
}

#[test]
fn hostile_strings_are_escaped() {
    let evil = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>";
    let mut snapshot = loaded();
    snapshot.sources[1].name = evil.into();
    snapshot.sources[1].last_result = evil.into();
    snapshot.sources[1].last_error = Some(format!("body starts with {evil}\u{1b}[31m"));
    let name = format!("x\"><script>{evil}");
    snapshot.lists.insert(name.clone(), list(&name, 2, 0, NOW));
    let mut t = traffic(3);
    t.top_exits[0].nickname = Some(evil.into());
    t.top_exits[1].country = Some(evil.into());
    t.top_exits[2].address = evil.into();
    t.countries.push((evil.into(), 1));
    t.ports.push((evil.into(), 1));
    let html = render(&snapshot, &t, NOW, STALE);
    assert_balanced(&html);
    assert!(!html.contains("<script"), "a script element got through");
    assert!(!html.contains("<img"), "an img element got through");
    assert!(!html.contains('\u{1b}'), "a control character got through");
    assert!(html.contains(
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;img src=x onerror=alert(2)&gt;"
    ));
    assert!(html.contains("<a href=\"/lists/x%22%3E%3Cscript%3E%3Cscript%3Ealert%281%29"));
}

#[test]
fn long_errors_are_cut() {
    let mut snapshot = nothing_loaded();
    snapshot.sources[0].last_error = Some("e".repeat(10_000));
    let html = render(&snapshot, &Traffic::default(), NOW, STALE);
    assert!(html.contains(&format!("{}…</td>", "e".repeat(300))));
    assert!(!html.contains(&"e".repeat(301)));
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/status")
}

fn check_golden(file: &str, html: &str) {
    let path = golden_dir().join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, html).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        want == html,
        "{} differs; UPDATE_GOLDEN=1 rewrites it",
        path.display()
    );
}

#[test]
fn golden_pages() {
    check_golden(
        "nothing-loaded.html",
        &render(&nothing_loaded(), &Traffic::default(), NOW, STALE),
    );
    check_golden("loaded.html", &render(&loaded(), &traffic(5), NOW, STALE));
}

/// Size and render time for a 2,000-entry list and full 20-row tables; the time is printed, never asserted.
#[test]
fn a_full_page_stays_small() {
    let mut snapshot = loaded();
    snapshot
        .lists
        .insert("tor-exits".into(), list("tor-exits", 1_990, 10, NOW - 60));
    let t = traffic(20);
    let html = render(&snapshot, &t, NOW, STALE);
    // The tables take some 22 KiB, the hourly chart and its table some 12 KiB.
    assert!(html.len() < 40 * 1024, "page is {} bytes", html.len());
    let runs = 2_000;
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..runs {
        bytes += render(&snapshot, &t, NOW, STALE).len();
    }
    let each = start.elapsed() / runs;
    assert_eq!(bytes, html.len() * runs as usize);
    eprintln!(
        "status page: {} bytes, rendered in {each:?} each",
        html.len()
    );
}

/// A traffic source that always reports the same window.
struct Fixed(Traffic);

impl TrafficSource for Fixed {
    fn traffic(&self, _now: i64) -> Traffic {
        self.0.clone()
    }
}

async fn get(router: axum::Router, method: &str) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri("/")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_router_serves_the_page_with_the_traffic_it_is_given() {
    let config = torwatch::config::Config::parse("sources: []\ninputs: []\n").unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    let state = torwatch::http::AppState {
        shared: torwatch::snapshot::shared(),
        config: Arc::new(arc_swap::ArcSwap::from_pointee(config)),
        reload: None,
        metrics: Arc::new(torwatch::http::HttpMetrics::register(&mut registry)),
        registry: Arc::new(registry),
        problems: Arc::default(),
        scrapes: None,
    };
    state.shared.store(Arc::new(loaded()));

    let (code, headers, body) = get(torwatch::http::router(state.clone()), "GET").await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert!(body.contains("<dt>Exit addresses</dt><dd>1,234</dd>"));
    assert!(
        body.contains("<p>No Tor hits in this window.</p>"),
        "no traffic source: an empty window"
    );

    let handle = TrafficHandle(Arc::new(Fixed(traffic(3))));
    let router = torwatch::http::router(state).layer(axum::Extension(handle));
    let (code, _, body) = get(router.clone(), "GET").await;
    assert_eq!(code, 200);
    assert!(body.contains("<dt>Tor hits</dt><dd>5,678</dd>"));
    assert!(body.contains("<td>relay3</td>"));
    let (code, headers, body) = get(router, "HEAD").await;
    assert_eq!((code, body.as_str()), (200, ""));
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
}
