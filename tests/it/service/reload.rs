//! SIGHUP and `POST /-/reload`: an invalid config is refused and counted while the old one keeps running; a valid
//! one takes effect without dropping the lists.

use crate::service::daemon::Daemon;
use crate::service::faults::addresses;
use crate::service::upstream::{Behaviour, Upstream};
use std::process::Command;
use std::time::Duration;

fn source(url: &str) -> String {
    format!("http:\n  admin:\n    reload: true\nsources:\n  - name: bulk\n    type: bulk\n    url: {url}\n    interval: 1s\n    min_entries: 1\ninputs: []\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_refuses_bad_config_and_applies_good_one() {
    let up = Upstream::start().await;
    up.set(
        "/a",
        Behaviour::Ok {
            body: addresses(5, 1),
            etag: None,
        },
    );
    up.set(
        "/b",
        Behaviour::Ok {
            body: addresses(7, 50),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &source(&up.url("/a"))).await;
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    let (_, before) = d.get("/lists/tor-exits.txt").await;
    assert_eq!(before.lines().count(), 5);

    // A broken file: refused, counted, the old config keeps running.
    d.rewrite(
        dir.path(),
        "sources:\n  - name: bulk\n    type: bulk\n    interval: 5x\n",
    );
    Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status()
        .unwrap();
    d.wait_metric(
        "torwatch_config_reloads_total{result=\"error\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(d.get("/lists/tor-exits.txt").await, (200, before.clone()));
    assert!(std::fs::read_to_string(&d.log)
        .unwrap()
        .contains("sources[0].interval: \"5x\" is not a duration"));

    // The same through the admin endpoint: 400 with the errors.
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/-/reload", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("sources[0].url: is required"));

    // A good file pointing at another list: applied, the lists are served throughout.
    d.rewrite(dir.path(), &source(&up.url("/b")));
    let r = client
        .post(format!("{}/-/reload", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        d.metric("torwatch_config_reloads_total{result=\"ok\"}")
            .await,
        1.0
    );
    assert_eq!(d.get("/readyz").await.0, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, now) = d.get("/lists/tor-exits.txt").await;
        if now.contains("185.220.101.56\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new source not used: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.stop();
}
