//! Many sources and hostile `Retry-After` values. With more sources than the keeper's report queue holds, a
//! reload and a shutdown used to hang for good (pollers blocked on a full queue the keeper no longer read);
//! `Retry-After: 18446744073709551615` disabled a source until a restart, and a restart forgot any wait.

use crate::hardening::{addresses, signal, wait_exit};
use crate::service::daemon::Daemon;
use crate::service::upstream::{Behaviour, Upstream};
use std::time::{Duration, Instant};

const SOURCES: usize = 300;
/// What the issue asks of a reload and a shutdown with 300 sources.
const WITHIN: Duration = Duration::from_secs(5);

fn many_sources(url: &str) -> String {
    let mut config = String::from("sources:\n");
    for i in 0..SOURCES {
        config.push_str(&format!(
            "  - {{name: s{i:03}, type: plain, list: tor-exits, url: \"{url}\", interval: 1s, timeout: 5s}}\n"
        ));
    }
    config.push_str("inputs: []\n");
    config
}

/// The sum of `torwatch_source_fetches_total` over every source and result.
async fn fetches(d: &Daemon) -> f64 {
    let (_, text) = d.get("/metrics").await;
    text.lines()
        .filter(|l| l.starts_with("torwatch_source_fetches_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_300_sources_sighup_and_sigterm_finish_within_5_s() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(50),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), &many_sources(&up.url("/list"))).await;
    // Every source fetches at once and reports: far more reports than the 64 the keeper's queue holds are in
    // flight, and the keeper merges them one at a time.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fetches(&d).await < 10.0 {
        assert!(Instant::now() < deadline, "{}", d.log_tail());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let started = Instant::now();
    signal(d.child.id(), "HUP");
    d.wait_metric(
        "torwatch_config_reloads_total{result=\"ok\"}",
        1.0,
        Duration::from_secs(60),
    )
    .await;
    let reload = started.elapsed();
    let before = fetches(&d).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while fetches(&d).await < before + 10.0 {
        assert!(
            Instant::now() < deadline,
            "no fetch after the reload: {}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    signal(d.child.id(), "TERM");
    let (code, stop) = wait_exit(&mut d.child, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no exit 60 s after SIGTERM: {}", d.log_tail()));
    println!(
        "{SOURCES} sources: SIGHUP reloaded in {} ms, SIGTERM exited in {} ms",
        reload.as_millis(),
        stop.as_millis()
    );
    assert_eq!(code, 0);
    assert!(reload < WITHIN, "reload took {reload:?}");
    assert!(stop < WITHIN, "shutdown took {stop:?}");
}

fn one_source(url: &str, extra: &str) -> String {
    format!(
        "sources:\n  - name: feed\n    type: plain\n    list: tor-exits\n    url: \"{url}\"\n    interval: 1s\n{extra}inputs: []\n"
    )
}

/// Times of the requests `up` saw for `path` after `after`.
fn requests_after(up: &Upstream, path: &str, after: Instant) -> Vec<Instant> {
    up.seen(path)
        .into_iter()
        .map(|s| s.at)
        .filter(|at| *at > after)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_retry_after_is_capped_at_max_retry_wait() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Status {
            code: 503,
            headers: vec![("retry-after".into(), u64::MAX.to_string())],
            body: b"busy".to_vec(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        &one_source(&up.url("/list"), "    max_retry_wait: 3s\n"),
    )
    .await;
    let series = "torwatch_source_fetches_total{source=\"feed\",result=\"rate_limited\"}";
    d.wait_metric(series, 1.0, Duration::from_secs(10)).await;
    let first = up.seen("/list").last().unwrap().at;
    // The next attempt comes after at most max_retry_wait, not after 584 billion years.
    d.wait_metric(series, 2.0, Duration::from_secs(15)).await;
    let second = requests_after(&up, "/list", first)[0];
    let gap = second - first;
    println!("Retry-After u64::MAX with max_retry_wait 3s: retried after {gap:?}");
    assert!(
        gap >= Duration::from_millis(2900) && gap < Duration::from_secs(10),
        "{gap:?}"
    );
    assert!(std::fs::read_to_string(&d.log)
        .unwrap()
        .contains("capped at max_retry_wait (3s)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_the_wait_a_retry_after_asked_for() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Status {
            code: 429,
            headers: vec![("retry-after".into(), "8".into())],
            body: b"slow down".to_vec(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = one_source(&up.url("/list"), "");
    let d = Daemon::start(dir.path(), &config).await;
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"feed\",result=\"rate_limited\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    let refused = up.seen("/list").last().unwrap().at;
    d.stop();
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(5),
            etag: None,
        },
    );
    // The server asked for 8 s: a restart must not fetch sooner (before, it fetched at once).
    let d = Daemon::start(dir.path(), &config).await;
    let restarted = Instant::now();
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"feed\",result=\"ok\"}",
        1.0,
        Duration::from_secs(30),
    )
    .await;
    let next = requests_after(&up, "/list", refused)[0];
    println!(
        "Retry-After 8 s, restart {} ms later: next fetch {} ms after the refused one",
        (restarted - refused).as_millis(),
        (next - refused).as_millis()
    );
    assert!(
        next - refused >= Duration::from_millis(7500),
        "fetched {:?} after a Retry-After of 8 s",
        next - refused
    );
}
