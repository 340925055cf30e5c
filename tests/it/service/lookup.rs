//! `torwatch lookup IP --at TIME` against the history the real service recorded: an address listed by one fetch
//! and gone from later ones is found during, and not before or after (past the retention).

use crate::service::daemon::Daemon;
use crate::service::faults::addresses;
use crate::service::upstream::{Behaviour, Upstream};
use std::process::Command;
use std::time::Duration;

fn lookup(config: &std::path::Path, ip: &str, at: i64) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["lookup", ip, "--json", "--at", &at.to_string(), "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_before_during_and_after() {
    let up = Upstream::start().await;
    let mut with = addresses(10, 1);
    with.extend(b"193.11.114.77\n");
    up.set(
        "/list",
        Behaviour::Ok {
            body: with,
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "retention: 2s\nhistory: 1h\nsources:\n  - name: bulk\n    type: bulk\n    url: {}\n    interval: 1s\n    min_entries: 1\n    max_shrink: 0.9\ninputs: []\n",
        up.url("/list")
    );
    let before = chrono::Utc::now().timestamp() - 60;
    let d = Daemon::start(dir.path(), &cfg).await;
    let ok = "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}";
    d.wait_metric(ok, 1.0, Duration::from_secs(10)).await;
    let during = chrono::Utc::now().timestamp();
    assert!(d
        .get("/lists/tor-exits.txt")
        .await
        .1
        .contains("193.11.114.77\n"));
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(10, 1),
            etag: None,
        },
    );
    d.wait_metric(ok, 2.0, Duration::from_secs(10)).await;
    // Past the 2 s retention the address leaves the list.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!d
        .get("/lists/tor-exits.txt")
        .await
        .1
        .contains("193.11.114.77\n"));
    // The 1-day history window still has it.
    assert!(d
        .get("/lists/tor-exits-1d.txt")
        .await
        .1
        .contains("193.11.114.77\n"));
    assert!(d
        .get("/lists/tor-exits.txt?window=1d")
        .await
        .1
        .contains("193.11.114.77\n"));
    let after = chrono::Utc::now().timestamp();
    d.stop();

    let config = dir.path().join("torwatch.yaml");
    // Before the first fetch the history knows nothing: unknown (3), never "no".
    let (code, out) = lookup(&config, "193.11.114.77", before);
    assert_eq!(code, 3, "before the history: {out}");
    assert!(
        out.contains("\"tor\":null") && out.contains("\"covered\":{"),
        "{out}"
    );
    let (code, out) = lookup(&config, "193.11.114.77", after + 3600);
    assert_eq!(code, 3, "in the future: {out}");
    let (code, out) = lookup(&config, "193.11.114.77", during);
    assert_eq!(code, 0, "during: {out}");
    assert!(
        out.contains("\"tor\":true") && out.contains("\"bulk\""),
        "{out}"
    );
    let (code, out) = lookup(&config, "193.11.114.77", after);
    assert_eq!(code, 1, "after: {out}");
    // An address still listed is a Tor exit now.
    let (code, _) = lookup(&config, "185.220.101.3", after);
    assert_eq!(code, 0);
    // An address never listed, at a time the history covers: no (1).
    let (code, out) = lookup(&config, "8.8.8.8", during);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"tor\":false"), "{out}");
    // A time that is not one: a usage error (2), not an answer.
    let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["lookup", "8.8.8.8", "--at", "yesterday-ish", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_any_state_the_answer_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("torwatch.yaml");
    std::fs::write(
        &config,
        format!(
            "state_dir: {}
sources: []
inputs: []
",
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let (code, out) = lookup(&config, "185.220.101.3", now);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("\"tor\":null") && out.contains("\"covered\":null"),
        "{out}"
    );
}

/// A TorDNSEL document measured an exit an hour before torwatch first fetched it: the history starts there, so a
/// lookup half an hour before the first fetch answers "listed".
#[tokio::test(flavor = "multi_thread")]
async fn a_time_tordnsel_measured_before_the_first_fetch_is_listed() {
    let now = chrono::Utc::now().timestamp();
    let stamp = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let doc = format!(
        "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
Published {p}
LastStatus {l}
ExitAddress 185.220.101.44 {m}
",
        p = stamp(now - 7200),
        l = stamp(now - 600),
        m = stamp(now - 3600),
    );
    let up = Upstream::start().await;
    up.set(
        "/exit-addresses",
        Behaviour::Ok {
            body: doc.into_bytes(),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "sources:\n  - name: tordnsel\n    type: tordnsel\n    url: {}\n    interval: 1h\ninputs: []\n",
        up.url("/exit-addresses")
    );
    let d = Daemon::start(dir.path(), &cfg).await;
    let ok = "torwatch_source_fetches_total{source=\"tordnsel\",result=\"ok\"}";
    d.wait_metric(ok, 1.0, Duration::from_secs(10)).await;
    d.wait_metric(
        "torwatch_state_writes_total{result=\"ok\"}",
        1.0,
        Duration::from_secs(20),
    )
    .await;
    d.stop();
    let config = dir.path().join("torwatch.yaml");
    let (code, out) = lookup(&config, "185.220.101.44", now - 1800);
    assert_eq!(code, 0, "measured before the first fetch: {out}");
    assert!(out.contains("\"tordnsel\""), "{out}");
    let (code, out) = lookup(&config, "185.220.101.44", now - 7200);
    assert_eq!(
        code, 3,
        "before the measurement the history knows nothing: {out}"
    );
}
