//! The EDL endpoints on a real socket: every format's body against the renderer, filters, validators and 304s,
//! HEAD, gzip, 503 before the first load, 404/400, and the request counter.

use crate::service::daemon::Daemon;
use crate::service::upstream::{Behaviour, Upstream};
use reqwest::header::{self, HeaderMap};
use reqwest::Method;
use std::io::Read;
use std::time::Duration;
use torwatch::formats::{self, ListFormat, RenderOptions};
use torwatch::list::{Family, List, ListEntry, Provenance};

/// A plain list as a vendor publishes it: unsorted, a comment, hosts and networks of both families. 185.220.101.6
/// and .7 aggregate into a /31.
pub const LIST: &str =
    "# exits, as published upstream\n185.220.101.7\n185.220.101.6\n185.220.101.8\n\
193.11.114.0/28\n2a0b:f4c2::1\n2a0b:f4c2:0:1::/64\n";

pub const TXT: &str =
    "185.220.101.6\n185.220.101.7\n185.220.101.8\n193.11.114.0/28\n2a0b:f4c2::1\n2a0b:f4c2:0:1::/64\n";

/// The config of one `plain` source named `edl` feeding `tor-exits` from `url`, plus `extra` top-level YAML.
pub fn config(url: &str, extra: &str) -> String {
    format!(
        "sources:\n  - name: edl\n    type: plain\n    url: {url}\n    list: tor-exits\n    interval: 1h\n    timeout: 2s\n{extra}inputs: []\n"
    )
}

pub const FETCHED: &str = "torwatch_source_fetches_total{source=\"edl\",result=\"ok\"}";

/// An upstream serving [`LIST`] and a daemon that has loaded it.
pub async fn loaded(dir: &std::path::Path, extra: &str) -> (Upstream, Daemon) {
    let up = Upstream::start().await;
    up.set(
        "/exits",
        Behaviour::Ok {
            body: LIST.as_bytes().to_vec(),
            etag: None,
        },
    );
    let d = Daemon::start(dir, &config(&up.url("/exits"), extra)).await;
    wait_ready(&d).await;
    (up, d)
}

/// Polls `/readyz` (open whatever the access rules) until the exit list is loaded.
pub async fn wait_ready(d: &Daemon) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while d.get("/readyz").await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "never ready; log:\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client that neither asks for nor decodes gzip on its own.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

pub async fn send(
    c: &reqwest::Client,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = c.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    Reply {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

fn time(rfc3339: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// The list the service holds, rebuilt from its JSON rendering (which carries every fact a renderer uses).
fn list_from_json(body: &[u8]) -> List {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
    let entries = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let a = e["address"].as_str().unwrap();
            let net = a
                .parse()
                .or_else(|_| a.parse::<std::net::IpAddr>().map(Into::into))
                .unwrap();
            ListEntry {
                net,
                prov: Provenance {
                    sources: serde_json::from_value(e["sources"].clone()).unwrap(),
                    first_seen: time(&e["first_seen"]),
                    last_seen: time(&e["last_seen"]),
                    ..Provenance::default()
                }
                .into(),
            }
        })
        .collect();
    List {
        name: doc["list"].as_str().unwrap().into(),
        version: doc["version"].as_u64().unwrap(),
        updated: time(&doc["updated"]),
        entries,
    }
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn option_sets() -> Vec<(&'static str, RenderOptions)> {
    let o = |family, aggregate, enrich| RenderOptions {
        family,
        aggregate,
        enrich,
    };
    vec![
        ("", o(None, false, false)),
        ("?family=ipv4", o(Some(Family::Ipv4), false, false)),
        ("?family=ipv6", o(Some(Family::Ipv6), false, false)),
        ("?aggregate=true", o(None, true, false)),
        (
            "?family=ipv4&aggregate=1",
            o(Some(Family::Ipv4), true, false),
        ),
        ("?enrich=true", o(None, false, true)),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_and_filter_is_the_renderer_output() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, d) = loaded(dir.path(), "").await;
    let c = client();
    let json = send(
        &c,
        Method::GET,
        &format!("{}/lists/tor-exits.json", d.base),
        &[],
    )
    .await;
    assert_eq!(json.status, 200);
    let list = list_from_json(&json.body);
    assert_eq!(list.entries.len(), 6, "{}", json.text());
    assert!(list.entries.iter().all(|e| e.prov.sources == ["edl"]));

    for format in ListFormat::ALL {
        for (query, opts) in option_sets() {
            let url = format!("{}/lists/tor-exits.{}{query}", d.base, format.ext());
            let r = send(&c, Method::GET, &url, &[]).await;
            assert_eq!(r.status, 200, "{url}");
            assert_eq!(
                r.header(header::CONTENT_TYPE),
                format.content_type(),
                "{url}"
            );
            assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=60");
            assert_eq!(r.header(header::VARY), "Accept-Encoding");
            assert!(r.headers.get(header::CONTENT_ENCODING).is_none(), "{url}");
            let expected = formats::render(format, &list, &opts);
            assert_eq!(
                r.text(),
                String::from_utf8(expected).unwrap(),
                "{url} differs from the renderer"
            );
        }
    }
    for (alias, format) in [("plain", "txt"), ("nftables", "nft"), ("mikrotik", "rsc")] {
        let a = send(
            &c,
            Method::GET,
            &format!("{}/lists/tor-exits.{alias}", d.base),
            &[],
        )
        .await;
        let b = send(
            &c,
            Method::GET,
            &format!("{}/lists/tor-exits.{format}", d.base),
            &[],
        )
        .await;
        assert_eq!((a.status, &a.body), (200, &b.body), "{alias}");
    }

    // Exact text for what firewalls and SIEMs parse by hand.
    let get = |path: &str| {
        let url = format!("{}{path}", d.base);
        let c = c.clone();
        async move { send(&c, Method::GET, &url, &[]).await.text().to_string() }
    };
    assert_eq!(get("/lists/tor-exits.txt").await, TXT);
    assert_eq!(
        get("/lists/tor-exits.txt?family=ipv4").await,
        "185.220.101.6\n185.220.101.7\n185.220.101.8\n193.11.114.0/28\n"
    );
    assert_eq!(
        get("/lists/tor-exits.txt?family=ipv6").await,
        "2a0b:f4c2::1\n2a0b:f4c2:0:1::/64\n"
    );
    assert_eq!(
        get("/lists/tor-exits.txt?aggregate=true").await,
        "185.220.101.6/31\n185.220.101.8\n193.11.114.0/28\n2a0b:f4c2::1\n2a0b:f4c2:0:1::/64\n"
    );
    assert_eq!(
        get("/lists/tor-exits.csv").await,
        "src_ip,desc\n185.220.101.6,TorExitNode\n185.220.101.7,TorExitNode\n185.220.101.8,TorExitNode\n\
         193.11.114.0/28,TorExitNode\n2a0b:f4c2::1,TorExitNode\n2a0b:f4c2:0:1::/64,TorExitNode\n"
    );
    let enriched = get("/lists/tor-exits.csv?enrich=true").await;
    let mut lines = enriched.lines();
    assert_eq!(
        lines.next(),
        Some("src_ip,desc,country,as_number,as_name,nickname,fingerprints,first_seen,last_seen,sources")
    );
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("185.220.101.6,TorExitNode,,,,,,20") && first.ends_with("Z,edl"),
        "{first}"
    );

    // The 7-day window: by path and by query, the same list.
    let by_path = get("/lists/tor-exits-7d.txt").await;
    assert_eq!(by_path, TXT);
    assert_eq!(get("/lists/tor-exits.txt?window=7d").await, by_path);
    let w = send(
        &c,
        Method::GET,
        &format!("{}/lists/tor-exits-7d.json", d.base),
        &[],
    )
    .await;
    assert_eq!(list_from_json(&w.body).name, "tor-exits-7d");
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_head_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (_up, d) = loaded(dir.path(), "").await;
    let c = client();
    let url = format!("{}/lists/tor-exits.txt", d.base);
    let full = send(&c, Method::GET, &url, &[]).await;
    assert_eq!((full.status, full.text()), (200, TXT));
    let etag = full.header(header::ETAG).to_string();
    let modified = full.header(header::LAST_MODIFIED).to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(full.header(header::CONTENT_LENGTH), TXT.len().to_string());

    // If-None-Match: the current tag (alone, in a list, weak, or *) is a 304 with the validators and no body.
    for inm in [
        etag.clone(),
        format!("\"stale\", {etag}"),
        format!("W/{etag}"),
        "*".into(),
    ] {
        let r = send(&c, Method::GET, &url, &[("if-none-match", &inm)]).await;
        assert_eq!(r.status, 304, "{inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.header(header::ETAG), etag);
        assert_eq!(r.header(header::LAST_MODIFIED), modified);
        assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=60");
        assert_eq!(r.header(header::VARY), "Accept-Encoding");
    }
    let r = send(&c, Method::GET, &url, &[("if-none-match", "\"0123abcd\"")]).await;
    assert_eq!(
        (r.status, r.text()),
        (200, TXT),
        "a stale tag gets the list"
    );
    // If-None-Match wins over If-Modified-Since.
    let r = send(
        &c,
        Method::GET,
        &url,
        &[
            ("if-none-match", "\"0123abcd\""),
            ("if-modified-since", &modified),
        ],
    )
    .await;
    assert_eq!(r.status, 200);

    // If-Modified-Since: at or after Last-Modified is a 304; a second before is a 200.
    let r = send(&c, Method::GET, &url, &[("if-modified-since", &modified)]).await;
    assert_eq!(r.status, 304);
    let at = httpdate::parse_http_date(&modified).unwrap();
    let earlier = httpdate::fmt_http_date(at - Duration::from_secs(1));
    let r = send(&c, Method::GET, &url, &[("if-modified-since", &earlier)]).await;
    assert_eq!((r.status, r.text()), (200, TXT));
    let r = send(
        &c,
        Method::GET,
        &url,
        &[("if-modified-since", "not a date")],
    )
    .await;
    assert_eq!(r.status, 200);

    // HEAD: the GET headers, no body.
    let head = send(&c, Method::HEAD, &url, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::ETAG,
        header::LAST_MODIFIED,
        header::CACHE_CONTROL,
        header::VARY,
    ] {
        assert_eq!(head.header(h.clone()), full.header(h.clone()), "{h}");
    }
    let r = send(&c, Method::HEAD, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);

    // gzip when asked (not when refused with q=0), decompressing to the same body, with its own tag.
    for ae in ["gzip", "deflate, gzip;q=0.5", "*"] {
        let gz = send(&c, Method::GET, &url, &[("accept-encoding", ae)]).await;
        assert_eq!(gz.status, 200, "{ae}");
        assert_eq!(gz.header(header::CONTENT_ENCODING), "gzip", "{ae}");
        assert_eq!(gz.header(header::VARY), "Accept-Encoding");
        assert_eq!(gz.header(header::CONTENT_LENGTH), gz.body.len().to_string());
        assert_eq!(gunzip(&gz.body), TXT.as_bytes(), "{ae}");
        assert_ne!(gz.header(header::ETAG), etag);
        let again = send(
            &c,
            Method::GET,
            &url,
            &[
                ("accept-encoding", ae),
                ("if-none-match", gz.header(header::ETAG)),
            ],
        )
        .await;
        assert_eq!(again.status, 304, "{ae}");
    }
    for ae in ["identity", "gzip;q=0", "br"] {
        let r = send(&c, Method::GET, &url, &[("accept-encoding", ae)]).await;
        assert!(r.headers.get(header::CONTENT_ENCODING).is_none(), "{ae}");
        assert_eq!((r.status, r.text()), (200, TXT), "{ae}");
    }
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn not_loaded_unknown_and_bad_requests() {
    let up = Upstream::start().await;
    up.set(
        "/exits",
        Behaviour::Status {
            code: 500,
            headers: vec![],
            body: b"upstream down".to_vec(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &config(&up.url("/exits"), "")).await;
    d.wait_metric(
        "torwatch_source_fetches_total{source=\"edl\",result=\"http_error\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    let c = client();
    for path in [
        "/lists/tor-exits.txt",
        "/lists/tor-exits-7d.nft",
        "/lists/tor-exits.csv?window=1d",
    ] {
        let r = send(&c, Method::GET, &format!("{}{path}", d.base), &[]).await;
        assert_eq!(
            r.status, 503,
            "{path}: never an empty 200 before the first load"
        );
        assert_eq!(r.header(header::RETRY_AFTER), "60");
        assert!(r.text().contains("not loaded"), "{}", r.text());
    }

    up.set(
        "/exits",
        Behaviour::Ok {
            body: LIST.as_bytes().to_vec(),
            etag: None,
        },
    );
    let d = {
        // The source polls hourly: a restart fetches at once.
        d.stop();
        Daemon::start(dir.path(), &config(&up.url("/exits"), "")).await
    };
    d.wait_metric(FETCHED, 1.0, Duration::from_secs(10)).await;
    let count = |code: u16| {
        let series = format!("torwatch_http_requests_total{{endpoint=\"lists\",code=\"{code}\"}}");
        let d = &d;
        async move { d.metric(&series).await }
    };
    let (ok, missing, bad) = (count(200).await, count(404).await, count(400).await);
    for path in [
        "/lists/nope.txt",
        "/lists/tor-exits.xlsx",
        "/lists/tor-exits",
        "/lists/tor-relays.txt",
        "/lists/tor-exits-2d.txt",
    ] {
        let r = send(&c, Method::GET, &format!("{}{path}", d.base), &[]).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    for query in [
        "family=ipv5",
        "aggregate=maybe",
        "enrich=2",
        "bogus=1",
        "window=2d",
        "window=",
    ] {
        let r = send(
            &c,
            Method::GET,
            &format!("{}/lists/tor-exits.txt?{query}", d.base),
            &[],
        )
        .await;
        assert_eq!(r.status, 400, "{query}: {}", r.text());
    }
    for _ in 0..3 {
        let r = send(
            &c,
            Method::GET,
            &format!("{}/lists/tor-exits.txt", d.base),
            &[],
        )
        .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(count(200).await, ok + 3.0);
    assert_eq!(count(404).await, missing + 5.0);
    assert_eq!(count(400).await, bad + 6.0);
    d.stop();
}
