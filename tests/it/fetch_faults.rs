//! The fetcher against a real HTTP server on 127.0.0.1 (port 0) that misbehaves on purpose, and against local files.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use torwatch::feeds::{self, FeedError, FeedKind};
use torwatch::sources::fetch::{self, FetchError, Fetched, Location, Request};

const ETAG: &str = "\"v1\"";
const LAST_MODIFIED: &str = "Tue, 12 Mar 2024 08:00:00 GMT";
const MAX_BODY: u64 = 1024;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/feeds")
            .join(path),
    )
    .unwrap()
}

fn list() -> Vec<u8> {
    fixture("accept/danme--raw.txt")
}

fn rate_limit_text() -> Vec<u8> {
    fixture("reject/danme--rate_limited--umm.txt")
}

/// Honours If-None-Match and If-Modified-Since exactly.
async fn conditional(headers: HeaderMap) -> Response {
    let matches = |name, value: &str| headers.get(name).is_some_and(|v| v == value);
    if matches(header::IF_NONE_MATCH, ETAG) || matches(header::IF_MODIFIED_SINCE, LAST_MODIFIED) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [(header::ETAG, ETAG), (header::LAST_MODIFIED, LAST_MODIFIED)],
        list(),
    )
        .into_response()
}

/// One byte at once, then one byte every 300 ms: the head arrives quickly, the body never in time.
fn drip() -> Response {
    let bytes = futures_util::stream::unfold(0u32, |n| async move {
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        (n < 20).then(|| (Ok::<_, std::io::Error>(vec![b'1']), n + 1))
    });
    Body::from_stream(bytes).into_response()
}

/// A body of `len` bytes sent in chunks, without Content-Length.
fn chunked(len: usize) -> Response {
    let chunks = (0..len / 256).map(|_| Ok::<_, std::io::Error>(vec![b'1'; 256]));
    Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

fn gzipped() -> Response {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&list()).unwrap();
    (
        [(header::CONTENT_ENCODING, "gzip")],
        encoder.finish().unwrap(),
    )
        .into_response()
}

struct Server {
    addr: SocketAddr,
    agents: Arc<Mutex<Vec<String>>>,
}

async fn start() -> Server {
    let agents = Arc::new(Mutex::new(Vec::new()));
    let seen = agents.clone();
    let app = Router::new()
        .route("/list", get(conditional))
        .route(
            "/500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/429",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "7")],
                    "slow down",
                )
            }),
        )
        .route("/ratelimit/200", get(|| async { rate_limit_text() }))
        .route(
            "/ratelimit/403",
            get(|| async { (StatusCode::FORBIDDEN, rate_limit_text()) }),
        )
        .route(
            "/html",
            get(|| async { fixture("reject/plain--html--bad-gateway.html") }),
        )
        .route("/empty", get(|| async { "" }))
        .route("/big", get(|| async { vec![b'1'; MAX_BODY as usize + 1] }))
        .route(
            "/big-chunked",
            get(|| async { chunked(4 * MAX_BODY as usize) }),
        )
        .route(
            "/exact-chunked",
            get(|| async { chunked(MAX_BODY as usize) }),
        )
        .route("/drip", get(|| async { drip() }))
        .route("/gzip", get(|| async { gzipped() }))
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/list")]) }),
        )
        .route(
            "/to-https",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "https://127.0.0.1:1/list")],
                )
            }),
        )
        .route(
            "/ua",
            get(move |headers: HeaderMap| async move {
                let agent = headers
                    .get(header::USER_AGENT)
                    .map(|v| v.to_str().unwrap().to_string());
                seen.lock().unwrap().push(agent.unwrap_or_default());
                list()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, agents }
}

struct Call<'a> {
    location: Location,
    timeout: Duration,
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn url(addr: SocketAddr, path: &str) -> Self {
        let url = reqwest::Url::parse(&format!("http://{addr}{path}")).unwrap();
        Call {
            location: Location::Url(url),
            timeout: Duration::from_secs(5),
            etag: None,
            last_modified: None,
        }
    }

    fn file(path: PathBuf) -> Self {
        Call {
            location: Location::File(path),
            ..Call::url(([127, 0, 0, 1], 1).into(), "/")
        }
    }

    async fn run(&self) -> Result<Fetched, FetchError> {
        let client = fetch::client(&fetch::user_agent());
        let request = Request {
            location: &self.location,
            timeout: self.timeout,
            max_body: MAX_BODY,
            etag: self.etag,
            last_modified: self.last_modified,
            bearer: None,
        };
        fetch::fetch(&client, &request).await
    }
}

fn body(fetched: Result<Fetched, FetchError>) -> Vec<u8> {
    match fetched {
        Ok(Fetched::Body { body, .. }) => body,
        other => panic!("expected a body, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = Call::url(dead, "/list").run().await.unwrap_err();
    assert_eq!(err.reason(), "connect_error", "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let call = Call {
        timeout: Duration::from_millis(400),
        ..Call::url(addr, "/list")
    };
    let started = Instant::now();
    assert!(matches!(call.run().await, Err(FetchError::Timeout)));
    // Far above the timeout, so that a slow machine cannot fail it; the server never answers on its own.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_body_times_out() {
    let server = start().await;
    let call = Call {
        timeout: Duration::from_millis(800),
        ..Call::url(server.addr, "/drip")
    };
    let started = Instant::now();
    let got = call.run().await;
    assert!(matches!(got, Err(FetchError::Timeout)), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn http_errors_carry_status_retry_after_and_body() {
    let server = start().await;
    let err = Call::url(server.addr, "/500").run().await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Status { status: 500, retry_after: None, body } if body == b"boom")
    );
    assert_eq!(err.reason(), "http_error");

    let err = Call::url(server.addr, "/429").run().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.reason(), "rate_limited");
}

#[tokio::test]
async fn the_rate_limit_text_is_left_to_the_parser() {
    let server = start().await;
    let text = body(Call::url(server.addr, "/ratelimit/200").run().await);
    assert!(matches!(
        feeds::parse(FeedKind::Danme, &text),
        Err(FeedError::RateLimited(_))
    ));

    match Call::url(server.addr, "/ratelimit/403").run().await {
        Err(FetchError::Status {
            status: 403, body, ..
        }) => {
            assert_eq!(body, rate_limit_text());
            assert!(matches!(
                feeds::parse(FeedKind::Danme, &body),
                Err(FeedError::RateLimited(_))
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn html_and_empty_bodies_are_fetched_then_rejected_by_the_parser() {
    let server = start().await;
    let html = body(Call::url(server.addr, "/html").run().await);
    assert_eq!(feeds::parse(FeedKind::Plain, &html), Err(FeedError::Html));
    let empty = body(Call::url(server.addr, "/empty").run().await);
    assert_eq!(feeds::parse(FeedKind::Plain, &empty), Err(FeedError::Empty));
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_or_without_content_length() {
    let server = start().await;
    for path in ["/big", "/big-chunked"] {
        let got = Call::url(server.addr, path).run().await;
        assert!(
            matches!(got, Err(FetchError::TooLarge { limit: MAX_BODY })),
            "{path}: {got:?}"
        );
    }
    assert_eq!(
        body(Call::url(server.addr, "/exact-chunked").run().await).len(),
        MAX_BODY as usize
    );
}

/// A server that announces a huge Content-Length, sends one byte and stalls: only the up-front check can end this
/// before the timeout.
#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_refused_at_once() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await.unwrap();
            let head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n1";
            socket.write_all(head).await.unwrap();
            held.push(socket);
        }
    });
    let call = Call {
        timeout: Duration::from_secs(3),
        ..Call::url(addr, "/list")
    };
    let got = call.run().await;
    assert!(
        matches!(got, Err(FetchError::TooLarge { limit: MAX_BODY })),
        "{got:?}"
    );
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_scheme() {
    let server = start().await;
    assert_eq!(body(Call::url(server.addr, "/moved").run().await), list());
    let err = Call::url(server.addr, "/to-https").run().await.unwrap_err();
    assert_eq!(err.reason(), "connect_error");
    assert!(err.to_string().contains("another scheme"), "{err}");
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let server = start().await;
    assert_eq!(body(Call::url(server.addr, "/gzip").run().await), list());
}

#[tokio::test]
async fn validators_round_trip_to_not_modified() {
    let server = start().await;
    let first = Call::url(server.addr, "/list").run().await.unwrap();
    let want = Fetched::Body {
        body: list(),
        etag: Some(ETAG.into()),
        last_modified: Some(LAST_MODIFIED.into()),
    };
    assert_eq!(first, want);

    let by_etag = Call {
        etag: Some(ETAG),
        ..Call::url(server.addr, "/list")
    };
    assert_eq!(by_etag.run().await.unwrap(), Fetched::NotModified);
    let by_date = Call {
        last_modified: Some(LAST_MODIFIED),
        ..Call::url(server.addr, "/list")
    };
    assert_eq!(by_date.run().await.unwrap(), Fetched::NotModified);
    let stale = Call {
        etag: Some("\"v0\""),
        ..Call::url(server.addr, "/list")
    };
    assert_eq!(body(stale.run().await), list());
}

#[tokio::test]
async fn the_user_agent_is_sent() {
    let server = start().await;
    body(Call::url(server.addr, "/ua").run().await);
    let agents = server.agents.lock().unwrap().clone();
    assert_eq!(agents, [fetch::user_agent()]);
    assert!(agents[0].starts_with("torwatch/"));
}

#[tokio::test]
async fn local_files_are_read_limited_and_conditional() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.txt");
    std::fs::write(&path, list()).unwrap();

    let Fetched::Body {
        body: first,
        etag,
        last_modified,
    } = Call::file(path.clone()).run().await.unwrap()
    else {
        panic!("expected a body")
    };
    assert_eq!(first, list());
    assert!(last_modified
        .as_deref()
        .is_some_and(|d| httpdate::parse_http_date(d).is_ok()));
    let etag = etag.unwrap();
    let again = Call {
        etag: Some(&etag),
        ..Call::file(path.clone())
    };
    assert_eq!(again.run().await.unwrap(), Fetched::NotModified);

    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"10.0.0.1\n")
        .unwrap();
    let changed = Call {
        etag: Some(&etag),
        ..Call::file(path.clone())
    };
    assert_eq!(body(changed.run().await).len(), list().len() + 9);

    std::fs::write(&path, vec![b'1'; MAX_BODY as usize + 1]).unwrap();
    assert!(matches!(
        Call::file(path).run().await,
        Err(FetchError::TooLarge { .. })
    ));
    let missing = Call::file(dir.path().join("missing.txt"))
        .run()
        .await
        .unwrap_err();
    assert_eq!(missing.reason(), "io_error");
    assert!(missing.to_string().contains("missing.txt"), "{missing}");
    assert_eq!(
        Call::file(dir.path().to_path_buf())
            .run()
            .await
            .unwrap_err()
            .reason(),
        "io_error"
    );
}
