//! A restart serves the previous list at once, before any fetch, even with the upstream gone.

use crate::daemon::Daemon;
use crate::faults::{addresses, config};
use crate::upstream::{Behaviour, Upstream};
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
