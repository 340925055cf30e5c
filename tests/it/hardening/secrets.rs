//! Secrets on unauthenticated pages: a source URL's query string (`?apikey=…`) and credentials used to appear on
//! `/readyz` and the status page inside fetch errors, and so did the tail of a failing apply command's stderr.
//! Secrets are planted in every place a URL can carry one and in an apply command's error output; then
//! `/readyz`, the status page and every log line at INFO or above are searched for them.

use crate::hardening::addresses;
use crate::service::daemon::{free_port, Daemon};
use crate::service::upstream::{Behaviour, Upstream};
use std::time::Duration;

const URL_SECRET: &str = "planted-url-s3cret";
const STDERR_SECRET: &str = "planted-stderr-s3cret";

/// The log's entries at INFO or above (an entry's continuation lines belong to it).
fn info_and_above(log: &str) -> Vec<String> {
    let mut entries: Vec<(bool, String)> = Vec::new();
    for line in log.lines() {
        match line.split_whitespace().nth(1) {
            Some(level @ ("TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR"))
                if line.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                entries.push((!matches!(level, "TRACE" | "DEBUG"), line.to_owned()));
            }
            _ => match entries.last_mut() {
                Some((_, entry)) => {
                    entry.push('\n');
                    entry.push_str(line);
                }
                None => entries.push((true, line.to_owned())),
            },
        }
    }
    entries
        .into_iter()
        .filter(|(shown, _)| *shown)
        .map(|(_, e)| e)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_planted_secret_reaches_readyz_the_status_page_or_the_log() {
    let up = Upstream::start().await;
    up.set(
        "/ok",
        Behaviour::Ok {
            body: addresses(10),
            etag: None,
        },
    );
    // A redirect to another scheme is refused; the error names where it pointed.
    up.set(
        "/moved",
        Behaviour::Status {
            code: 302,
            headers: vec![(
                "location".into(),
                format!("https://127.0.0.1:1/elsewhere?token={URL_SECRET}"),
            )],
            body: Vec::new(),
        },
    );
    up.set(
        "/denied",
        Behaviour::Status {
            code: 403,
            headers: Vec::new(),
            body: b"no".to_vec(),
        },
    );
    let closed = free_port();
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("tor-exits.txt");
    let config = format!(
        r#"sources:
  - {{name: good, type: plain, list: tor-exits, url: "{ok}?apikey={URL_SECRET}", interval: 1s}}
  - {{name: refused, type: plain, list: tor-exits, url: "http://127.0.0.1:{closed}/list?apikey={URL_SECRET}", interval: 1s}}
  - {{name: moved, type: plain, list: tor-exits, url: "http://user:{URL_SECRET}@{host}/moved?key={URL_SECRET}", interval: 1s}}
  - {{name: denied, type: plain, list: tor-exits, url: "{denied}?key={URL_SECRET}#{URL_SECRET}", interval: 1s}}
inputs: []
publish:
  - path: {published}
    format: txt
    apply: [sh, -c, "echo 'nft: cannot apply, token={STDERR_SECRET}' >&2; exit 1"]
"#,
        ok = up.url("/ok"),
        host = up.addr,
        denied = up.url("/denied"),
        published = published.display(),
    );
    let d = Daemon::start(dir.path(), &config).await;
    for (source, result) in [
        ("good", "ok"),
        ("refused", "connect_error"),
        ("moved", "connect_error"),
        ("denied", "http_error"),
    ] {
        d.wait_metric(
            &format!("torwatch_source_fetches_total{{source=\"{source}\",result=\"{result}\"}}"),
            1.0,
            Duration::from_secs(20),
        )
        .await;
    }
    d.wait_metric(
        &format!(
            "torwatch_publish_applies_total{{file=\"{}\",result=\"error\"}}",
            published.display()
        ),
        1.0,
        Duration::from_secs(20),
    )
    .await;

    let (code, readyz) = d.get("/readyz").await;
    assert_eq!(code, 200, "{readyz}");
    let (code, page) = d.get("/").await;
    assert_eq!(code, 200);
    let log = std::fs::read_to_string(&d.log).unwrap();
    let shown = info_and_above(&log);
    assert!(!shown.is_empty());

    // The errors are there, with what helps: where the redirect pointed (no query), how the command failed.
    assert!(
        readyz.contains("refused redirect to another scheme: https://127.0.0.1:1/elsewhere?…"),
        "{readyz}"
    );
    assert!(
        readyz.contains("apply command exited with code 1 (its error output is in the log)"),
        "{readyz}"
    );
    assert!(
        page.contains("refused redirect to another scheme"),
        "{page}"
    );
    for (place, text) in [("/readyz", &readyz), ("the status page", &page)] {
        assert!(
            !text.contains(URL_SECRET),
            "{place} shows the URL secret:\n{text}"
        );
        assert!(
            !text.contains(STDERR_SECRET),
            "{place} shows the apply stderr:\n{text}"
        );
    }
    for entry in &shown {
        assert!(
            !entry.contains(URL_SECRET),
            "a log entry shows the URL secret: {entry}"
        );
    }
    // The operator still finds the command's own words in the log.
    assert!(
        shown
            .iter()
            .any(|e| e.contains("ERROR") && e.contains(STDERR_SECRET)),
        "the apply error output is logged"
    );
}
