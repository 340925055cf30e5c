//! `GET|HEAD /lists/{list}.{format}`: the EDL endpoints. Served from the snapshot's cached renderings with
//! ETag / Last-Modified validators, 304s, gzip, and 503 (never an empty 200) for a list not loaded yet.

use super::AppState;
use crate::formats::{ListFormat, RenderOptions};
use crate::list::{Family, ListId, Window};
use crate::snapshot::Shared;
use axum::body::Body;
use axum::extract::{FromRef, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::cell::RefCell;

/// How long a firewall should wait before retrying a list that is not loaded yet.
const RETRY_AFTER_SECS: &str = "60";
const CACHE_CONTROL: &str = "public, max-age=60";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    family: Option<String>,
    aggregate: Option<String>,
    enrich: Option<String>,
    /// History window (`1d`, `7d`, `30d`): the same as requesting `tor-exits-7d`.
    window: Option<String>,
}

fn flag(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") | Some("") => Ok(true),
        Some(v) => Err(format!("{v:?} is not a boolean (true, false)")),
    }
}

/// A request refused before any list is looked at: the status and its text.
type Rejection = (StatusCode, String);

fn bad_request(message: String) -> Rejection {
    (StatusCode::BAD_REQUEST, format!("{message}\n"))
}

/// What a request asks for: the list name (window applied), the format and the rendering options.
struct Wanted<'a> {
    name: &'a str,
    format: ListFormat,
    opts: RenderOptions,
}

/// Reads the path and query; `Err` is the 404 or 400 to send.
fn wanted(uri: &Uri) -> Result<Wanted<'_>, Rejection> {
    let file = uri.path().strip_prefix("/lists/").unwrap_or_default();
    let Some((name, ext)) = file.rsplit_once('.') else {
        return Err((
            StatusCode::NOT_FOUND,
            "not found: use /lists/NAME.FORMAT\n".into(),
        ));
    };
    let Some(format) = ListFormat::from_ext(ext) else {
        return Err((StatusCode::NOT_FOUND, format!("unknown format {ext:?}\n")));
    };
    let query = match uri.query() {
        None => ListQuery::default(),
        Some(_) => match Query::<ListQuery>::try_from_uri(uri) {
            Ok(Query(q)) => q,
            Err(_) => {
                return Err(bad_request(
                    "unknown query parameter (family, aggregate, enrich, window)".into(),
                ))
            }
        },
    };
    let family = match query.family.as_deref() {
        None | Some("all") | Some("") => None,
        Some("ipv4") | Some("4") => Some(Family::Ipv4),
        Some("ipv6") | Some("6") => Some(Family::Ipv6),
        Some(f) => {
            return Err(bad_request(format!(
                "family: {f:?} is not one of ipv4, ipv6"
            )))
        }
    };
    let aggregate =
        flag(query.aggregate.as_deref()).map_err(|e| bad_request(format!("aggregate: {e}")))?;
    let enrich = flag(query.enrich.as_deref()).map_err(|e| bad_request(format!("enrich: {e}")))?;
    let name = match query.window.as_deref() {
        None => name,
        Some(w) => match (ListId::parse(name), Window::from_name(w)) {
            (_, None) => {
                return Err(bad_request(format!(
                    "window: {w:?} is not one of 1d, 7d, 30d"
                )))
            }
            (ListId::Exits, Some(w)) => ListId::ExitsWithin(w).name(),
            (_, Some(_)) => {
                return Err((
                    StatusCode::NOT_FOUND,
                    format!("no list {name:?} with a window (only tor-exits has them)\n"),
                ))
            }
        },
    };
    Ok(Wanted {
        name,
        format,
        opts: RenderOptions {
            family,
            aggregate,
            enrich,
        },
    })
}

/// The handler takes only the snapshot handle: one reference count per request, not the whole [`AppState`].
impl FromRef<AppState> for Shared {
    fn from_ref(state: &AppState) -> Shared {
        state.shared.clone()
    }
}

/// The routed handler (the connection's hot path answers list requests before the router; see
/// [`super::Endpoints`]).
pub async fn get(State(shared): State<Shared>, request: Request) -> Response {
    respond(&shared, request.method(), request.uri(), request.headers())
}

/// Answers a `GET` or `HEAD` of a list, reading the request in place (no copy of its headers): this is the hot
/// path a firewall fleet polls.
pub fn respond(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let wanted = match wanted(uri) {
        Ok(w) => w,
        Err(refusal) => return refusal.into_response(),
    };
    let snapshot = shared.load();
    let name = wanted.name;
    let Some(renders) = snapshot.renders.get(name) else {
        if snapshot.known.contains(name) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, RETRY_AFTER_SECS)],
                format!("list {name} is not loaded yet\n"),
            )
                .into_response();
        }
        return (StatusCode::NOT_FOUND, format!("no list {name:?}\n")).into_response();
    };
    let rendered = renders.get(wanted.format, &wanted.opts);
    let gzip = accepts_gzip(headers);
    let (body, etag) = if gzip {
        (rendered.gzip(), rendered.etag_gzip.as_str())
    } else {
        (&rendered.body, rendered.etag.as_str())
    };
    let updated = renders.list.updated;
    let mut response = if not_modified(headers, etag, updated) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body.clone()))
    };
    let ok = response.status() == StatusCode::OK;
    let mut h = HeaderMap::with_capacity(8);
    if ok {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(wanted.format.content_type()),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    if let Some(v) = VALIDATORS.with(|c| c.borrow_mut().etag(etag)) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::LAST_MODIFIED,
        VALIDATORS.with(|c| c.borrow_mut().last_modified(updated)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    *response.headers_mut() = h;
    response
}

thread_local! {
    /// The validator headers this thread sent last: a fleet polls the same few renderings, so the header values
    /// are built once per list version instead of once per request.
    static VALIDATORS: RefCell<Validators> = RefCell::new(Validators::default());
}

#[derive(Default)]
struct Validators {
    /// The last ETags (identity and gzip forms alternate).
    etags: [Option<HeaderValue>; 2],
    next: usize,
    last_modified: Option<(i64, HeaderValue)>,
}

impl Validators {
    fn etag(&mut self, etag: &str) -> Option<HeaderValue> {
        if let Some(v) = self
            .etags
            .iter()
            .flatten()
            .find(|v| v.as_bytes() == etag.as_bytes())
        {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(etag).ok()?;
        if let Some(slot) = self.etags.get_mut(self.next % 2) {
            *slot = Some(v.clone());
        }
        self.next = self.next.wrapping_add(1);
        Some(v)
    }

    fn last_modified(&mut self, secs: i64) -> HeaderValue {
        match &self.last_modified {
            Some((s, v)) if *s == secs => v.clone(),
            _ => {
                let v = http_date(secs);
                self.last_modified = Some((secs, v.clone()));
                v
            }
        }
    }
}

/// `Last-Modified` for unix seconds.
fn http_date(secs: i64) -> HeaderValue {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0).unsigned_abs());
    let text = httpdate::HttpDate::from(at).to_string();
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// `If-None-Match` wins over `If-Modified-Since` (RFC 9110 §13.2.2).
fn not_modified(headers: &HeaderMap, etag: &str, updated: i64) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*");
    }
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(since) = httpdate::parse_http_date(ims) {
            let since = since
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            return updated <= since;
        }
    }
    false
}

/// True when the client accepts gzip with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    accept.split(',').any(|part| {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn path_and_query() {
        let u = uri("/lists/tor-exits.nftables?family=6&aggregate=yes");
        let w = wanted(&u).unwrap();
        assert_eq!(w.name, "tor-exits");
        assert_eq!(w.format, ListFormat::Nft);
        assert_eq!(w.opts.family, Some(Family::Ipv6));
        assert!(w.opts.aggregate && !w.opts.enrich);
        let u = uri("/lists/tor-exits.csv?window=30d&enrich");
        let w = wanted(&u).unwrap();
        assert_eq!((w.name, w.opts.enrich), ("tor-exits-30d", true));
        for (u, code) in [
            ("/lists/tor-exits", 404),
            ("/lists/tor-exits.exe", 404),
            ("/lists/tor-exits.txt?window=1h", 400),
            ("/lists/tor-relays.txt?window=7d", 404),
            ("/lists/tor-exits-7d.txt?window=7d", 404),
            ("/lists/tor-exits.txt?family=ipv4&x=1", 400),
            ("/lists/tor-exits.txt?aggregate=2", 400),
        ] {
            assert_eq!(
                wanted(&uri(u)).err().map(|r| r.0.as_u16()),
                Some(code),
                "{u}"
            );
        }
    }

    #[test]
    fn validators_are_reused_and_never_mixed_up() {
        let mut v = Validators::default();
        let a = v.etag("\"aa\"").unwrap();
        let b = v.etag("\"aa-gz\"").unwrap();
        assert_eq!(v.etag("\"aa\"").unwrap(), a);
        assert_eq!(v.etag("\"aa-gz\"").unwrap(), b);
        assert_eq!(v.etag("\"bb\"").unwrap(), "\"bb\"");
        assert_eq!(v.etag("\"aa\"").unwrap(), "\"aa\"");
        assert!(v.etag("\"bad\nvalue\"").is_none());
        assert_eq!(v.last_modified(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            v.last_modified(1_764_385_200),
            "Sat, 29 Nov 2025 03:00:00 GMT"
        );
        assert_eq!(v.last_modified(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn gzip_negotiation() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip, deflate, br") && h("GZIP") && h("*") && h("br;q=1, gzip;q=0.1"));
        assert!(!h("gzip;q=0") && !h("identity") && !h("x-gzip2"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
