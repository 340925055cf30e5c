//! A fleet on loopback: a leader fetches from the fake upstream and requires a bearer token for its lists; a
//! follower takes `tor-exits` and `tor-relays` from the leader (`type: torwatch`). The follower serves the leader's
//! entries with the leader's provenance, answers `lookup` and `scan --state-dir` as the leader does, asks the leader
//! with conditional GETs, keeps its list while the leader is down (and says it is stale after `stale_after`) and
//! catches up when it returns.

use crate::service::daemon::{sample, Daemon};
use crate::service::upstream::{Behaviour, Upstream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "fleet-token-0123456789abcdef";

/// An Onionoo details document: exits with nicknames, countries, AS, and one relay that is no exit.
fn onionoo() -> Vec<u8> {
    let relay = |n: u32, exit: bool, country: &str| {
        format!(
            r#"{{"nickname":"relay{n}","fingerprint":"{n:040X}","or_addresses":["185.220.102.{n}:443"],{}"flags":[{}"Running"],"country":"{country}","as":"AS{}","as_name":"Net {n}"}}"#,
            if exit {
                format!(r#""exit_addresses":["185.220.101.{n}"],"#)
            } else {
                String::new()
            },
            if exit { r#""Exit","# } else { "" },
            60_000 + n
        )
    };
    let relays: Vec<String> = (1..=6)
        .map(|n| relay(n, n != 6, ["de", "nl", "us"][n as usize % 3]))
        .collect();
    format!(
        r#"{{"version":"8.0","relays":[{}],"bridges":[]}}"#,
        relays.join(",")
    )
    .into_bytes()
}

fn ok(body: Vec<u8>) -> Behaviour {
    Behaviour::Ok {
        body,
        etag: Some("\"v1\"".into()),
    }
}

fn run(args: &[&str], config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The entries of a `json` list, without the document's version and time (which are each instance's own).
async fn entries(d: &Daemon, list: &str) -> serde_json::Value {
    let (code, body) = d.get(&format!("/lists/{list}.json")).await;
    assert_eq!(code, 200, "{list}: {body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    doc["entries"].clone()
}

/// Whether `/readyz` lists `tor-exits` as stale.
async fn stale(d: &Daemon) -> bool {
    let (_, body) = d.get("/readyz").await;
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    r["problems"].as_array().is_some_and(|p| {
        p.iter().any(|p| {
            p.as_str()
                .is_some_and(|p| p.starts_with("list tor-exits is stale"))
        })
    })
}

/// The leader's entries, fetched with the token.
async fn leader_entries(base: &str, list: &str) -> serde_json::Value {
    let body = reqwest::Client::new()
        .get(format!("{base}/lists/{list}.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    doc["entries"].clone()
}

async fn wait_until(what: &str, within: Duration, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the state saved in `dir` holds the history of `sources` in `list`, for each `(list, sources)`:
/// `lookup` and `scan --state-dir` read it from there, and a running instance saves at most once per
/// `state_save_interval`.
async fn wait_saved(dir: &Path, lists: &[(&str, &[&str])]) {
    let what = format!("the state in {} to hold {lists:?}", dir.display());
    wait_until(&what, Duration::from_secs(30), async || {
        let Ok(Some(state)) = torwatch::keeper::state::SavedState::load(dir) else {
            return false;
        };
        lists.iter().all(|(list, sources)| {
            state
                .history
                .lists
                .get(*list)
                .is_some_and(|b| sources.iter().all(|s| b.tracks.contains_key(*s)))
        })
    })
    .await;
}

fn follower_config(leader: &Daemon, token_file: Option<&Path>) -> String {
    let token = token_file.map_or(String::new(), |p| {
        format!("    token_file: {}\n", p.display())
    });
    format!(
        "stale_after: 2s\nsources:\n  - name: leader\n    type: torwatch\n    url: {base}\n    interval: 1s\n{token}  - name: leader-relays\n    type: torwatch\n    url: {base}\n    list: tor-relays\n    interval: 1s\n{token}inputs: []\n",
        base = leader.base
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_serves_and_answers_as_its_leader() {
    let up = Upstream::start().await;
    up.set("/onionoo", ok(onionoo()));
    up.set(
        "/bulk",
        ok(b"185.220.101.1\n185.220.101.2\n185.220.101.9\n".to_vec()),
    );
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let leader_dir = dir.path().join("leader");
    std::fs::create_dir(&leader_dir).unwrap();
    let leader_cfg = format!(
        "sources:\n  - {{ name: onionoo, type: onionoo, url: {}, interval: 1h, min_entries: 1 }}\n  - {{ name: bulk, type: bulk, url: {}, interval: 1h, min_entries: 1 }}\ninputs: []\nhttp:\n  lists:\n    auth: {{ type: bearer, token_file: {} }}\n",
        up.url("/onionoo"),
        up.url("/bulk"),
        token_file.display()
    );
    let leader = Daemon::start(&leader_dir, &leader_cfg).await;
    for source in ["onionoo", "bulk"] {
        let series = format!("torwatch_source_fetches_total{{source=\"{source}\",result=\"ok\"}}");
        leader
            .wait_metric(&series, 1.0, Duration::from_secs(10))
            .await;
    }

    // Without the token the leader refuses, and the follower publishes nothing rather than an empty list.
    let stranger_dir = dir.path().join("stranger");
    std::fs::create_dir(&stranger_dir).unwrap();
    let stranger = Daemon::start(&stranger_dir, &follower_config(&leader, None)).await;
    let refused = "torwatch_source_fetches_total{source=\"leader\",result=\"http_error\"}";
    stranger
        .wait_metric(refused, 1.0, Duration::from_secs(10))
        .await;
    assert_eq!(stranger.get("/lists/tor-exits.txt").await.0, 503);
    stranger.stop();

    let follower_dir = dir.path().join("follower");
    std::fs::create_dir(&follower_dir).unwrap();
    let follower = Daemon::start(&follower_dir, &follower_config(&leader, Some(&token_file))).await;
    for source in ["leader", "leader-relays"] {
        let series = format!("torwatch_source_fetches_total{{source=\"{source}\",result=\"ok\"}}");
        follower
            .wait_metric(&series, 1.0, Duration::from_secs(10))
            .await;
    }
    // Get the leader's lists as the follower does, and compare entry by entry: addresses, sources, first and last
    // seen, fingerprints, nickname, country, AS.
    let base = leader.base.clone();
    for list in ["tor-exits", "tor-relays"] {
        let follow = entries(&follower, list).await;
        assert_eq!(follow, leader_entries(&base, list).await, "{list} differs");
        assert!(follow.as_array().is_some_and(|e| !e.is_empty()));
    }
    let exits = entries(&follower, "tor-exits").await;
    let first = exits
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "185.220.101.1")
        .unwrap();
    assert_eq!(first["sources"], serde_json::json!(["bulk", "onionoo"]));
    assert_eq!(first["nickname"], "relay1");
    assert_eq!(first["country"], "nl");

    // Conditional GETs: the unchanged list is answered 304 by the leader.
    let unchanged = "torwatch_source_fetches_total{source=\"leader\",result=\"unchanged\"}";
    follower
        .wait_metric(unchanged, 2.0, Duration::from_secs(10))
        .await;
    let leader_304 = leader
        .metric("torwatch_http_requests_total{endpoint=\"lists\",code=\"304\"}")
        .await;
    assert!(leader_304 >= 2.0, "the leader answered {leader_304} 304s");

    // lookup and scan --state-dir answer alike. The follower's state is read by a second process while it runs,
    // once both instances saved what they fetched.
    let saved: &[(&str, &[&str])] = &[
        ("tor-exits", &["bulk", "onionoo"]),
        ("tor-relays", &["onionoo"]),
    ];
    wait_saved(&leader_dir.join("state"), saved).await;
    wait_saved(&follower_dir.join("state"), saved).await;
    let log = dir.path().join("kern.log");
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00");
    let line = |src: &str, dst: &str, port: u16| {
        format!("{now} fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC= SRC={src} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT={port} WINDOW=64240 RES=0x00 SYN URGP=0\n")
    };
    let text = [
        line("185.220.101.1", "203.0.113.5", 22),
        line("185.220.101.1", "203.0.113.5", 443),
        line("185.220.101.3", "203.0.113.5", 3389),
        line("185.220.101.9", "203.0.113.5", 80),
        line("8.8.8.8", "203.0.113.5", 22),
        line("203.0.113.9", "185.220.102.6", 9001),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let leader_config = leader_dir.join("torwatch.yaml");
    let follower_config = follower_dir.join("torwatch.yaml");
    // The same time for both (a lookup without --at asks about the second it runs in).
    let now = chrono::Utc::now().timestamp().to_string();
    let days_ago = (chrono::Utc::now().timestamp() - 3 * 86_400).to_string();
    for args in [
        vec!["lookup", "185.220.101.1", "--at", &now],
        vec!["lookup", "185.220.101.1", "--json", "--at", &now],
        vec!["lookup", "185.220.102.6", "--at", &now],
        vec!["lookup", "8.8.8.8", "--at", &now],
        vec!["lookup", "185.220.101.3", "--at", &days_ago],
    ] {
        let (lc, lo) = run(&args, &leader_config);
        let (fc, fo) = run(&args, &follower_config);
        assert_eq!((fc, asked_now(&fo)), (lc, asked_now(&lo)), "{args:?}");
    }
    let (code, out) = run(&["lookup", "185.220.101.1"], &follower_config);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("bulk, onionoo") && out.contains("relay1"),
        "{out}"
    );
    let log = log.to_str().unwrap();
    for extra in [&[][..], &["--at-time-of-event"][..]] {
        let scan = |state: &Path| {
            let mut args = vec!["scan", "--json", "--state-dir", state.to_str().unwrap()];
            args.extend_from_slice(extra);
            args.push(log);
            let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let (l, f) = (
            scan(&leader_dir.join("state")),
            scan(&follower_dir.join("state")),
        );
        assert_eq!(f, l, "scan {extra:?}");
        // four from exits, one to a relay
        assert_eq!(l["tor_hits"], 5, "scan {extra:?}: {l}");
    }

    // The leader goes away: the follower keeps serving the same list and says why it is not refreshed.
    let before = follower.get("/lists/tor-exits.json").await.1;
    leader.stop();
    let failed = "torwatch_source_fetches_total{source=\"leader\",result=\"connect_error\"}";
    follower
        .wait_metric(failed, 1.0, Duration::from_secs(10))
        .await;
    assert_eq!(follower.get("/lists/tor-exits.json").await.1, before);
    assert_eq!(follower.get("/readyz").await.0, 200);
    let (_, metrics) = follower.get("/metrics").await;
    assert_eq!(
        sample(&metrics, "torwatch_source_up{source=\"leader\"}"),
        0.0
    );
    // Past its stale_after the follower says so on /readyz, and stays ready: the last good list beats none.
    wait_until(
        "the follower to report its list stale",
        Duration::from_secs(10),
        async || stale(&follower).await,
    )
    .await;
    assert_eq!(follower.get("/readyz").await.0, 200);
    assert_eq!(follower.get("/lists/tor-exits.json").await.1, before);

    // It returns (on the same port, with its state): the follower catches up.
    let leader = Daemon::start_on(&leader_dir, &base).await;
    let series = "torwatch_source_up{source=\"leader\"}";
    follower
        .wait_metric(series, 1.0, Duration::from_secs(15))
        .await;
    wait_until(
        "the follower to equal the leader again",
        Duration::from_secs(10),
        async || entries(&follower, "tor-exits").await == leader_entries(&base, "tor-exits").await,
    )
    .await;
    wait_until(
        "the follower to be fresh again",
        Duration::from_secs(10),
        async || !stale(&follower).await,
    )
    .await;
    // Only the leader ever asked the upstream.
    assert!(up.seen("/onionoo").len() == 1 && up.seen("/bulk").len() == 1);
    follower.stop();
    leader.stop();
}

/// A lookup's output without the end of the covered span, which is the moment the question was asked (two
/// lookups run one after the other may straddle a second).
fn asked_now(out: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(out) {
        Ok(mut v) => {
            if let Some(c) = v.get_mut("covered").and_then(|c| c.as_object_mut()) {
                c.remove("to");
            }
            v.to_string()
        }
        Err(_) => out.to_owned(),
    }
}
