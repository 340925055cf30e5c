//! `stale_after`: a loaded list no source has confirmed for that long is listed under `/readyz` problems while
//! `/readyz` stays 200 (the last good list beats none), and the threshold is exported for the alert rule.

use crate::service::daemon::Daemon;
use crate::service::faults::{addresses, config};
use crate::service::upstream::{Behaviour, Upstream};
use std::time::{Duration, Instant};

async fn readyz(d: &Daemon) -> (u16, serde_json::Value) {
    let (code, body) = d.get("/readyz").await;
    (code, serde_json::from_str(&body).unwrap())
}

fn stale_problem(body: &serde_json::Value) -> Option<String> {
    body["problems"]
        .as_array()?
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| p.starts_with("list tor-exits is stale"))
        .map(str::to_string)
}

/// Polls `/readyz` until `want(body)` holds.
async fn wait_readyz(
    d: &Daemon,
    want: impl Fn(&serde_json::Value) -> bool,
) -> (u16, serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, body) = readyz(d).await;
        if want(&body) {
            return (code, body);
        }
        assert!(
            Instant::now() < deadline,
            "readyz: {body:#}\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_unconfirmed_for_stale_after_is_a_readyz_problem_and_stays_ready() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(12, 1),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &config(&up.url("/list"), "stale_after: 3s\n")).await;
    assert_eq!(d.metric("torwatch_list_stale_after_seconds").await, 3.0);
    let (code, body) = wait_readyz(&d, |b| b["ready"] == true).await;
    assert_eq!(code, 200);
    assert_eq!(stale_problem(&body), None, "fresh: {body:#}");

    // Every fetch fails from now on: three seconds later the list is stale, and still served.
    up.set(
        "/list",
        Behaviour::Status {
            code: 500,
            headers: vec![],
            body: vec![],
        },
    );
    let (code, body) = wait_readyz(&d, |b| stale_problem(b).is_some()).await;
    assert_eq!(code, 200, "a stale list is still a loaded list");
    let problem = stale_problem(&body).unwrap();
    assert!(problem.contains("(stale_after 3s)"), "{problem}");
    assert_eq!(d.get("/lists/tor-exits.txt").await.0, 200);
    let (_, page) = d.get("/").await;
    assert!(
        page.contains("<span class=\"warn\">stale</span>"),
        "the page agrees"
    );

    // A success confirms the list again.
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(12, 1),
            etag: None,
        },
    );
    let (code, _) = wait_readyz(&d, |b| stale_problem(b).is_none()).await;
    assert_eq!(code, 200);
    d.stop();
}
