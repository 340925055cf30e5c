//! A list changes only when its contents do: an upstream answering 304 and then the same body again, polled every
//! second, changes nothing a firewall sees (every format's body, ETag and Last-Modified, the list version, the
//! published files, the apply commands, `torwatch_list_changed_timestamp_seconds`); one real change then makes
//! exactly one new version, one write and one apply per file.

use crate::service::daemon::Daemon;
use crate::service::upstream::{Behaviour, Upstream};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FORMATS: [&str; 9] = [
    "txt",
    "csv",
    "json",
    "nft",
    "ipset",
    "rsc",
    "srx",
    "f5",
    "checkpoint",
];

fn body(n: u32) -> Vec<u8> {
    (1..=n)
        .map(|i| format!("185.220.101.{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// What a firewall (or the operator) can see of the list at one moment.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    http: BTreeMap<&'static str, (String, String, String)>,
    files: BTreeMap<&'static str, (u64, Vec<u8>)>,
    applies: usize,
    version: u64,
    changed: String,
    writes: BTreeMap<&'static str, String>,
}

async fn seen(d: &Daemon, base: &str, dir: &Path) -> Seen {
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut http = BTreeMap::new();
    for f in FORMATS {
        let r = client
            .get(format!("{base}/lists/tor-exits.{f}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{f}");
        let h = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (etag, modified) = (h("etag"), h("last-modified"));
        http.insert(f, (etag, modified, r.text().await.unwrap()));
    }
    let (_, metrics) = d.get("/metrics").await;
    let mut files = BTreeMap::new();
    let mut writes = BTreeMap::new();
    for f in FORMATS {
        let path = file(dir, f);
        let meta = std::fs::metadata(&path).unwrap();
        files.insert(f, (meta.ino(), std::fs::read(&path).unwrap()));
        let series = format!(
            "torwatch_publish_writes_total{{file=\"{}\",result=\"ok\"}} ",
            path.display()
        );
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&series))
            .unwrap_or_else(|| panic!("no {series}"));
        writes.insert(f, line.to_string());
    }
    let changed = metrics
        .lines()
        .find(|l| l.starts_with("torwatch_list_changed_timestamp_seconds{list=\"tor-exits\"}"))
        .expect("list_changed gauge")
        .to_string();
    let (_, ready) = d.get("/readyz").await;
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    Seen {
        http,
        files,
        applies: std::fs::read_to_string(dir.join("applies.log"))
            .unwrap_or_default()
            .lines()
            .count(),
        version: ready["lists"]["tor-exits"]["version"].as_u64().unwrap(),
        changed,
        writes,
    }
}

fn file(dir: &Path, format: &str) -> PathBuf {
    dir.join(format!("out/tor-exits.{format}"))
}

/// Waits until the apply commands ran `n` times in all.
async fn applied(d: &Daemon, applies: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = std::fs::read_to_string(applies)
            .unwrap_or_default()
            .lines()
            .count();
        if got >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{got} of {n} applies; log:\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_polls(up: &Upstream, path: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while up.seen(path).len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} polls",
            up.seen(path).len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_polls_change_nothing_and_one_change_publishes_once() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Ok {
            body: body(20),
            etag: Some("\"v1\"".into()),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let applies = dir.path().join("applies.log");
    let mut publish = String::from("publish:\n");
    for f in FORMATS {
        publish.push_str(&format!(
            "  - path: {}\n    format: {f}\n    list: tor-exits\n    apply: [sh, -c, 'echo {f} >> {}']\n",
            file(dir.path(), f).display(),
            applies.display()
        ));
    }
    let cfg = format!(
        "sources:\n  - name: bulk\n    type: bulk\n    url: {}\n    interval: 1s\n    timeout: 2s\ninputs: []\n{publish}",
        up.url("/list")
    );
    let d = Daemon::start(dir.path(), &cfg).await;
    let base = d.base.clone();
    applied(&d, &applies, FORMATS.len()).await;
    let before = seen(&d, &base, dir.path()).await;
    assert_eq!(before.applies, FORMATS.len(), "one apply per file");
    assert_eq!(before.version, 1);

    // Five polls answered 304, then five answered 200 with the same body.
    let polls = up.seen("/list").len();
    wait_polls(&up, "/list", polls + 5).await;
    up.set(
        "/list",
        Behaviour::Ok {
            body: body(20),
            etag: None,
        },
    );
    wait_polls(&up, "/list", polls + 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = seen(&d, &base, dir.path()).await;
    assert!(
        d.metric("torwatch_source_fetches_total{source=\"bulk\",result=\"unchanged\"}")
            .await
            >= 10.0,
        "ten unchanged polls; log:\n{}",
        d.log_tail()
    );
    for f in FORMATS {
        assert_eq!(
            before.http[f], after.http[f],
            "{f}: ETag, Last-Modified and body"
        );
        assert_eq!(
            before.files[f], after.files[f],
            "{f}: the file was not rewritten"
        );
    }
    assert_eq!(before, after, "nothing visible changed");

    // One real change: one new version, one write and one apply per file, and then quiet again.
    up.set(
        "/list",
        Behaviour::Ok {
            body: body(21),
            etag: None,
        },
    );
    applied(&d, &applies, 2 * FORMATS.len()).await;
    let polls = up.seen("/list").len();
    wait_polls(&up, "/list", polls + 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let changed = seen(&d, &base, dir.path()).await;
    assert_eq!(changed.version, 2);
    assert_eq!(
        changed.applies,
        2 * FORMATS.len(),
        "exactly one more apply per file"
    );
    assert_ne!(changed.changed, before.changed);
    for f in FORMATS {
        let series = changed.writes[f].rsplit_once(' ').unwrap().1;
        assert_eq!(series, "2", "{f}: exactly one more write");
        assert_ne!(changed.http[f].0, before.http[f].0, "{f}: new ETag");
        assert_ne!(changed.files[f].0, before.files[f].0, "{f}: a new file");
        assert!(
            String::from_utf8_lossy(&changed.files[f].1).contains("185.220.101.21"),
            "{f}"
        );
    }
    let lines: Vec<String> = std::fs::read_to_string(&applies)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut per_format: BTreeMap<String, usize> = BTreeMap::new();
    for l in lines {
        *per_format.entry(l).or_default() += 1;
    }
    assert!(per_format.values().all(|n| *n == 2), "{per_format:?}");
}
