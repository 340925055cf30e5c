//! A restart serves the previous list at once, before any fetch, even with the upstream gone.

use crate::service::daemon::Daemon;
use crate::service::faults::{addresses, config};
use crate::service::upstream::{Behaviour, Upstream};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn restart_serves_the_last_good_list_before_any_fetch() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Status {
            code: 500,
            headers: vec![],
            body: vec![],
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&up.url("/list"), "");
    let d = Daemon::start(dir.path(), &cfg).await;
    assert_eq!(
        d.get("/readyz").await.0,
        503,
        "not ready before the first fetch"
    );
    assert_eq!(
        d.get("/lists/tor-exits.txt").await.0,
        503,
        "no empty 200 before the first load"
    );
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(12, 1),
            etag: None,
        },
    );
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    let (_, before) = d.get("/lists/tor-exits.txt").await;
    assert_eq!(before.lines().count(), 12);
    d.stop();

    up.stop();
    let d = Daemon::start(dir.path(), &cfg).await;
    let (code, _) = d.get("/readyz").await;
    assert_eq!(code, 200, "ready from state; log:\n{}", d.log_tail());
    assert_eq!(d.get("/lists/tor-exits.txt").await, (200, before.clone()));
    assert_eq!(d.metric("torwatch_list_loaded").await, 1.0);
    // The upstream is unreachable: the list stays.
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"bulk\",result=\"connect_error\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(d.get("/lists/tor-exits.txt").await, (200, before));
    d.stop();
}

/// What the status page shows of the last 24 h, without the times relative to now: the cards, each hour of the
/// chart and the top exits with their hits.
fn window(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for card in ["Tor hits", "Distinct exits", "Outbound to Tor"] {
        let at = page.find(&format!("<dt>{card}</dt><dd>")).expect(card);
        let rest = &page[at..];
        out.push(rest[..rest.find("</dd>").unwrap()].to_string());
    }
    for hour in page.split("<g class=\"hour\" ").skip(1) {
        out.push(hour[..hour.find('>').unwrap()].to_string());
    }
    for row in page.split("<tr><td><code>").skip(1) {
        let cells: Vec<&str> = row.split("</td>").take(4).collect();
        out.push(cells.join("|"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_24_hours_survive_a_restart() {
    // The chart's hours move on the hour: start well inside one.
    let into_hour = chrono::Utc::now().timestamp() % 3600;
    if into_hour > 3600 - 30 {
        tokio::time::sleep(Duration::from_secs((3600 - into_hour + 1) as u64)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let exits = dir.path().join("exits.txt");
    std::fs::write(
        &exits,
        (1..=10)
            .map(|i| format!("185.220.100.{i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    // Hits over the last 20 hours by their own time, from six exits.
    let now = chrono::Utc::now().timestamp();
    let mut log = String::new();
    for i in 0..60i64 {
        let at = chrono::DateTime::from_timestamp(now - i * 1200, 0).unwrap();
        log += &format!(
            "{} fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC=185.220.100.{} DST=10.0.0.5 LEN=60 \
             TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT={} WINDOW=64240 RES=0x00 SYN URGP=0\n",
            at.format("%Y-%m-%dT%H:%M:%S+00:00"),
            1 + i % 6,
            [22, 443, 3389][i as usize % 3]
        );
    }
    std::fs::write(dir.path().join("fw.log"), log).unwrap();
    let cfg = format!(
        "sources:\n  - {{ name: local, type: plain, list: tor-exits, url: {}, interval: 1h, min_entries: 1 }}\ninputs:\n  \
         - {{ name: fw, type: file, paths: [\"{}\"], start_at: beginning, poll: 100ms }}\n",
        exits.display(),
        dir.path().join("fw.log").display()
    );
    let d = Daemon::start(dir.path(), &cfg).await;
    d.wait_metric(
        "torwatch_input_parsed_total{input=\"fw\",format=\"netfilter\"}",
        60.0,
        Duration::from_secs(15),
    )
    .await;
    d.wait_metric(
        "torwatch_tor_distinct_exits_24h",
        6.0,
        Duration::from_secs(5),
    )
    .await;
    let (_, page) = d.get("/").await;
    let before = window(&page);
    assert!(before[0].ends_with(">60"), "{before:?}");
    assert!(before[1].ends_with(">6"), "{before:?}");
    assert_eq!(
        before
            .iter()
            .filter(|w| w.starts_with("data-start"))
            .count(),
        24
    );
    d.stop();

    let d = Daemon::start(dir.path(), &cfg).await;
    assert_eq!(
        d.metric("torwatch_tor_distinct_exits_24h").await,
        6.0,
        "distinct exits restored"
    );
    let (_, page) = d.get("/").await;
    assert_eq!(
        window(&page),
        before,
        "the status page's last 24 h restored"
    );
    // The file was read to its end before: nothing is counted twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, page) = d.get("/").await;
    assert_eq!(window(&page), before);
    d.stop();
}
