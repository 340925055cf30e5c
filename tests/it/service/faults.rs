//! Every upstream fault leaves the published list exactly as it was and is counted by its reason.

use crate::service::daemon::Daemon;
use crate::service::upstream::{Behaviour, Upstream};
use std::time::Duration;

pub fn addresses(n: usize, offset: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("185.220.101.{}\n", i + offset))
        .collect::<String>()
        .into_bytes()
}

fn status(code: u16, headers: &[(&str, &str)], body: &[u8]) -> Behaviour {
    Behaviour::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

const RATE_LIMIT: &[u8] = b"Umm... You can only fetch the data every 30 minutes - sorry.  It's pointless any faster as I only update every 30 minutes anyway.\nIf you keep trying to download this list too often, you may get blocked from accessing it completely.";

pub fn config(url: &str, extra: &str) -> String {
    format!(
        "sources:\n  - name: bulk\n    type: bulk\n    url: {url}\n    interval: 1s\n    timeout: 1s\n    max_body: 4KiB\n    min_entries: 2\n    max_shrink: 0.5\n{extra}inputs: []\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_keep_the_last_good_list_and_are_counted_by_reason() {
    let up = Upstream::start().await;
    let good = addresses(20, 1);
    up.set(
        "/list",
        Behaviour::Ok {
            body: good.clone(),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &config(&up.url("/list"), "")).await;
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    let (code, published) = d.get("/lists/tor-exits.txt").await;
    assert_eq!(code, 200);
    assert_eq!(published.lines().count(), 20);
    assert!(published.contains("185.220.101.20\n"));

    let mut big = addresses(20, 1);
    big.extend(std::iter::repeat_n(b'#', 8 * 1024));
    let mut garbage = addresses(19, 1);
    garbage.extend(b"not-an-address\n");
    let cases: Vec<(&str, Behaviour)> = vec![
        ("http_error", status(500, &[], b"internal error")),
        ("rate_limited", status(200, &[], RATE_LIMIT)),
        ("rate_limited", status(403, &[], RATE_LIMIT)),
        (
            "html",
            status(
                200,
                &[("content-type", "text/html")],
                b"<!DOCTYPE html><html><body>Maintenance</body></html>",
            ),
        ),
        ("empty", status(200, &[], b"")),
        (
            "too_large",
            Behaviour::Ok {
                body: big,
                etag: None,
            },
        ),
        (
            "shrink",
            Behaviour::Ok {
                body: addresses(2, 1),
                etag: None,
            },
        ),
        (
            "bad_line",
            Behaviour::Ok {
                body: garbage,
                etag: None,
            },
        ),
        ("timeout", Behaviour::Hang),
        (
            "timeout",
            Behaviour::Drip {
                chunk: b"185.220.101.1\n".to_vec(),
                every: Duration::from_millis(400),
                chunks: 20,
            },
        ),
    ];
    for (reason, behaviour) in cases {
        let series =
            format!("torwatch_source_fetches_total{{source=\"bulk\",result=\"{reason}\"}}");
        let before = d.metric(&series).await;
        up.set("/list", behaviour.clone());
        d.wait_metric(&series, before + 1.0, Duration::from_secs(15))
            .await;
        let (code, now) = d.get("/lists/tor-exits.txt").await;
        assert_eq!(code, 200, "{reason}");
        assert_eq!(
            now, published,
            "list changed after {reason} ({behaviour:?})"
        );
    }

    // 429 with Retry-After: counted, and the next attempt waits at least that long.
    let series = "torwatch_source_fetches_total{source=\"bulk\",result=\"rate_limited\"}";
    let before = d.metric(series).await;
    up.set("/list", status(429, &[("retry-after", "3")], b"slow down"));
    d.wait_metric(series, before + 1.0, Duration::from_secs(10))
        .await;
    let first = up.seen("/list").last().unwrap().at;
    up.set(
        "/list",
        Behaviour::Ok {
            body: good.clone(),
            etag: Some("\"v1\"".into()),
        },
    );
    let unchanged = "torwatch_source_fetches_total{source=\"bulk\",result=\"unchanged\"}";
    // The same body again counts as unchanged; it also brings the ETag for the next, conditional, request.
    d.wait_metric(unchanged, 1.0, Duration::from_secs(10)).await;
    let next = up
        .seen("/list")
        .into_iter()
        .find(|s| s.at > first)
        .unwrap()
        .at;
    assert!(
        next - first >= Duration::from_millis(2900),
        "Retry-After: 3 not honoured: {:?}",
        next - first
    );
    assert_eq!(d.get("/lists/tor-exits.txt").await.1, published);

    // 304 on the ETag: unchanged, and the list stays.
    d.wait_metric(unchanged, 2.0, Duration::from_secs(10)).await;
    let conditional = up
        .seen("/list")
        .into_iter()
        .rev()
        .find(|s| s.headers.contains_key("if-none-match"))
        .unwrap();
    assert_eq!(conditional.headers["if-none-match"], "\"v1\"");
    let ua = conditional.headers["user-agent"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ua.starts_with("torwatch/"), "{ua}");
    assert_eq!(d.get("/lists/tor-exits.txt").await.1, published);

    // Connection refused.
    up.stop();
    let series = "torwatch_source_fetches_total{source=\"bulk\",result=\"connect_error\"}";
    d.wait_metric(series, 1.0, Duration::from_secs(10)).await;
    assert_eq!(d.get("/lists/tor-exits.txt").await.1, published);

    // And a good new list replaces it.
    up.restart().await;
    up.set(
        "/list",
        Behaviour::Ok {
            body: addresses(15, 100),
            etag: None,
        },
    );
    let ok = d
        .metric("torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}")
        .await;
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}",
        ok + 1.0,
        Duration::from_secs(10),
    )
    .await;
    let (_, fresh) = d.get("/lists/tor-exits.txt").await;
    assert!(fresh.contains("185.220.101.114\n"), "{fresh}");
    d.stop();
}
