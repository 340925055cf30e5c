//! `torwatch lookup IP --at TIME` against the history the real service recorded: an address listed by one fetch
//! and gone from later ones is found during, and not before or after (past the retention).

use crate::daemon::Daemon;
use crate::faults::addresses;
use crate::upstream::{Behaviour, Upstream};
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
    let (code, out) = lookup(&config, "193.11.114.77", before);
    assert_eq!(code, 1, "before: {out}");
    assert!(out.contains("\"tor\":false"), "{out}");
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
}
