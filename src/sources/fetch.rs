//! Fetching a source's body from a URL or a local file: conditional requests, one timeout for the whole exchange,
//! a body size limit, `Retry-After`. The IO edge of the feeds.
//!
//! It returns bytes and never interprets them: deciding whether a body is a list, an HTML page or a rate-limit
//! message is the feed parsers' job. It keeps no state; the caller stores validators and schedules retries.
//!
//! A source URL may carry a credential (`?apikey=…`, `https://user:pass@host/`): errors and logs show it through
//! [`redact`], which keeps scheme, host, port and path only.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    RETRY_AFTER,
};
use reqwest::{redirect, StatusCode};
use tokio::io::AsyncReadExt;

/// How much of an error response's body [`FetchError::Status`] keeps.
const ERROR_BODY_LEN: usize = 1024;
/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;
const USER_AGENT: &str = concat!(
    "torwatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/torwatch/torwatch)"
);

/// Where a source's body lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Url(reqwest::Url),
    File(PathBuf),
}

/// One fetch: where, within which limits, and the validators of the last good body (for a conditional request).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub location: &'a Location,
    /// Covers connecting, the response head and the whole body.
    pub timeout: Duration,
    /// Largest accepted body, in bytes (after content decoding).
    pub max_body: u64,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// Sent as `Authorization: Bearer TOKEN` (HTTP only).
    pub bearer: Option<&'a str>,
}

/// A successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The validators still match (HTTP 304, or a file whose size and mtime did not change).
    NotModified,
    /// A new body with the validators to send next time.
    Body {
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Why a fetch failed. [`FetchError::reason`] values are metric labels.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    /// A non-2xx, non-304 answer. `body` holds its first KiB (dan.me.uk explains its rate limit there).
    #[error("http status {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    #[error("body is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Io(String),
}

impl FetchError {
    /// `connect_error`, `timeout`, `http_error`, `rate_limited` (429, or 503 with `Retry-After`), `too_large`,
    /// `io_error`.
    pub fn reason(&self) -> &'static str {
        match self {
            FetchError::Connect(_) => "connect_error",
            FetchError::Timeout => "timeout",
            FetchError::Status { status: 429, .. }
            | FetchError::Status {
                status: 503,
                retry_after: Some(_),
                ..
            } => "rate_limited",
            FetchError::Status { .. } => "http_error",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Io(_) => "io_error",
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// `torwatch/<version> (+https://github.com/torwatch/torwatch)`.
pub fn user_agent() -> String {
    USER_AGENT.to_string()
}

/// The HTTP client for sources: the given User-Agent (the default one if it is not a valid header value), gzip
/// decoding, at most five redirects and none that change the scheme (no silent https → http downgrade).
///
/// # Panics
///
/// Only if the TLS backend cannot initialise, which does not depend on any input.
pub fn client(user_agent: &str) -> reqwest::Client {
    let agent =
        HeaderValue::from_str(user_agent).unwrap_or_else(|_| HeaderValue::from_static(USER_AGENT));
    let policy = redirect::Policy::custom(|attempt| {
        let scheme_kept = attempt
            .previous()
            .last()
            .map_or(true, |p| p.scheme() == attempt.url().scheme());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if !scheme_kept {
            let message = format!(
                "refused redirect to another scheme: {}",
                redact(attempt.url())
            );
            attempt.error(message)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(agent)
        .gzip(true)
        .redirect(policy)
        .build()
        .expect("the rustls client builds from static settings")
}

/// Fetches one body. The whole exchange, body included, must finish within `req.timeout`.
pub async fn fetch(client: &reqwest::Client, req: &Request<'_>) -> Result<Fetched, FetchError> {
    let work = async {
        match req.location {
            Location::Url(url) => http(client, url, req).await,
            Location::File(path) => file(path, req).await,
        }
    };
    tokio::time::timeout(req.timeout, work)
        .await
        .map_err(|_| FetchError::Timeout)?
}

async fn http(
    client: &reqwest::Client,
    url: &reqwest::Url,
    req: &Request<'_>,
) -> Result<Fetched, FetchError> {
    let mut headers = HeaderMap::new();
    // A stored validator that is not a valid header value is not sent: the fetch becomes unconditional.
    if let Some(value) = req.etag.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(IF_NONE_MATCH, value);
    }
    if let Some(value) = req
        .last_modified
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(IF_MODIFIED_SINCE, value);
    }
    if let Some(mut value) = req
        .bearer
        .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok())
    {
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let mut response = client
        .get(url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(request_error)?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        let retry_after = retry_after.and_then(|v| parse_retry_after(v, crate::clock::system()));
        let body = error_body(&mut response).await;
        return Err(FetchError::Status {
            status: status.as_u16(),
            retry_after,
            body,
        });
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(String::from)
    };
    let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
    if response
        .content_length()
        .is_some_and(|len| len > req.max_body)
    {
        return Err(FetchError::TooLarge {
            limit: req.max_body,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if (body.len() as u64).saturating_add(chunk.len() as u64) > req.max_body {
            return Err(FetchError::TooLarge {
                limit: req.max_body,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body {
        body,
        etag,
        last_modified,
    })
}

/// The first KiB of an error response; whatever arrived if reading it fails.
async fn error_body(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LEN {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LEN);
    body
}

/// `Retry-After` as delay seconds or an HTTP-date (a date in the past is zero). Not capped: the caller bounds it.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn request_error(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    // reqwest names the URL in its message, query and all: the source's name says which one it was.
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_connect() || error.is_redirect() {
        FetchError::Connect(message)
    } else {
        FetchError::Io(message)
    }
}

/// A local file. Its validators are an ETag made of size and mtime, and the mtime as an HTTP-date; a request
/// whose ETag matches (or, without an ETag, whose Last-Modified matches) is [`Fetched::NotModified`].
async fn file(path: &Path, req: &Request<'_>) -> Result<Fetched, FetchError> {
    // A path is shown like a URL: a mistyped URL taken for a path must not show its query either.
    let shown = redact_text(&path.to_string_lossy());
    let io = |e: std::io::Error| FetchError::Io(format!("{shown}: {e}"));
    let meta = tokio::fs::metadata(path).await.map_err(io)?;
    if !meta.is_file() {
        return Err(FetchError::Io(format!("{shown}: not a regular file")));
    }
    let mtime = meta.modified().ok();
    let etag = file_etag(meta.len(), mtime);
    let last_modified = mtime.map(httpdate::fmt_http_date);
    let unchanged = match req.etag {
        Some(tag) => tag == etag,
        None => req.last_modified.is_some() && req.last_modified == last_modified.as_deref(),
    };
    if unchanged {
        return Ok(Fetched::NotModified);
    }
    if meta.len() > req.max_body {
        return Err(FetchError::TooLarge {
            limit: req.max_body,
        });
    }
    let handle = tokio::fs::File::open(path).await.map_err(io)?;
    let mut body = Vec::new();
    handle
        .take(req.max_body.saturating_add(1))
        .read_to_end(&mut body)
        .await
        .map_err(io)?;
    if body.len() as u64 > req.max_body {
        return Err(FetchError::TooLarge {
            limit: req.max_body,
        });
    }
    Ok(Fetched::Body {
        body,
        etag: Some(etag),
        last_modified,
    })
}

/// A URL as errors, logs and pages show it: scheme, host, port and path, with `?…` where a query was. Its user,
/// password, query and fragment (where API keys travel) are never shown.
pub fn redact(url: &reqwest::Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    if url.query().is_some() || url.fragment().is_some() {
        shown.push_str("?…");
    }
    shown
}

/// [`redact`] for text that may not parse as a URL (a config value, a path): a URL is redacted as one; other text
/// loses everything from its first `?` or `#`, and any `user:password@` after `://`.
pub fn redact_text(text: &str) -> String {
    if let Ok(url) = reqwest::Url::parse(text) {
        if url.has_host() {
            return redact(&url);
        }
    }
    let (kept, cut) = match text.find(['?', '#']) {
        Some(at) => (text.get(..at).unwrap_or_default(), true),
        None => (text, false),
    };
    let mut shown = match kept.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => kept.to_owned(),
    };
    if cut {
        shown.push_str("?…");
    }
    shown
}

fn file_etag(len: u64, mtime: Option<SystemTime>) -> String {
    let since = mtime
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    format!("\"{len}-{}.{:09}\"", since.as_secs(), since.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Tue, 12 Mar 2024 08:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Tue, 12 Mar 2024 08:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Tue, 12 Mar 2024 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn reasons() {
        let status = |status, retry_after| FetchError::Status {
            status,
            retry_after,
            body: Vec::new(),
        };
        assert_eq!(status(429, None).reason(), "rate_limited");
        assert_eq!(
            status(503, Some(Duration::from_secs(1))).reason(),
            "rate_limited"
        );
        assert_eq!(status(503, None).reason(), "http_error");
        assert_eq!(status(403, None).reason(), "http_error");
        assert_eq!(FetchError::Timeout.reason(), "timeout");
    }

    #[test]
    fn redaction_keeps_host_and_path_only() {
        let url = reqwest::Url::parse(
            "https://user:hunter2@feeds.example:8443/tor/list.txt?apikey=s3cret#x",
        )
        .unwrap();
        assert_eq!(redact(&url), "https://feeds.example:8443/tor/list.txt?…");
        let plain = reqwest::Url::parse("https://check.torproject.org/exit-addresses").unwrap();
        assert_eq!(
            redact(&plain),
            "https://check.torproject.org/exit-addresses"
        );
        assert_eq!(
            redact_text("htps//check.torproject.org/list?apikey=s3cret"),
            "htps//check.torproject.org/list?…"
        );
        assert_eq!(
            redact_text("gopher://me:s3cret@host/list?key=s3cret"),
            "gopher://host/list?…"
        );
        assert_eq!(redact_text("http://[::1:80/?k=s3cret"), "http://[::1:80/?…");
        assert_eq!(redact_text("/srv/lists/tor.txt"), "/srv/lists/tor.txt");
    }

    #[tokio::test]
    async fn fetch_errors_do_not_name_the_query() {
        // Nothing listens on port 9 of localhost: a connect error, which reqwest reports with the URL.
        let url = reqwest::Url::parse("http://127.0.0.1:9/list?apikey=s3cret").unwrap();
        let location = Location::Url(url);
        let request = Request {
            location: &location,
            timeout: Duration::from_secs(5),
            max_body: 1024,
            etag: None,
            last_modified: None,
            bearer: None,
        };
        let err = fetch(&client("t"), &request).await.unwrap_err();
        assert_eq!(err.reason(), "connect_error");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let path = Location::File(PathBuf::from("htps//host/list?apikey=s3cret"));
        let request = Request {
            location: &path,
            ..request
        };
        let err = fetch(&client("t"), &request).await.unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn user_agent_names_the_project() {
        assert_eq!(
            user_agent(),
            format!(
                "torwatch/{} (+https://github.com/torwatch/torwatch)",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
