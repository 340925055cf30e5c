//! The status page at `/` for people without Grafana: list sizes and freshness, each source's last outcome and the
//! last 24 hours of Tor hits. The page is rendered per request from the current snapshot and the traffic summary;
//! rendering is pure ([`render`]), the handler only reads. The page loads nothing from elsewhere and runs no script.

mod markup;
mod page;

pub use page::render;

use crate::http::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;

/// The traffic window the page shows, in seconds.
pub const WINDOW_SECS: i64 = 24 * 3600;

/// Tor traffic seen in the drop logs over a recent window, as the page shows it. Rows are sorted by the
/// provider, most hits first; the page shows at most [`ROWS`] of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// Length of the window in seconds (24 h on the page).
    pub window_secs: i64,
    /// Inbound events whose source is a Tor exit.
    pub hits: u64,
    /// Distinct exit addresses among those hits.
    pub distinct_exits: u64,
    pub top_exits: Vec<ExitRow>,
    /// ISO 3166-1 alpha-2 code (any case) → hits.
    pub countries: Vec<(String, u64)>,
    /// Destination port label (`443/tcp`, `other`, …) → hits.
    pub ports: Vec<(String, u64)>,
    /// HTTP status code answered to Tor clients (from access logs) → responses.
    pub http_status: Vec<(u16, u64)>,
    /// Outbound events whose destination is a Tor relay.
    pub outbound: u64,
}

/// An empty 24 h window.
impl Default for Traffic {
    fn default() -> Traffic {
        Traffic {
            window_secs: WINDOW_SECS,
            hits: 0,
            distinct_exits: 0,
            top_exits: Vec::new(),
            countries: Vec::new(),
            ports: Vec::new(),
            http_status: Vec::new(),
            outbound: 0,
        }
    }
}

/// One exit address and what it did in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitRow {
    pub address: String,
    /// Relay nickname from Onionoo, if known. Chosen by the relay operator: untrusted text.
    pub nickname: Option<String>,
    /// ISO 3166-1 alpha-2 code, if known.
    pub country: Option<String>,
    pub hits: u64,
    /// Unix seconds of the last hit.
    pub last_seen: i64,
}

/// At most this many rows per traffic table.
pub const ROWS: usize = 20;

/// Whatever tallies the drop-log matches: asked once per page view for the window ending at `now`.
pub trait TrafficSource: Send + Sync {
    fn traffic(&self, now: i64) -> Traffic;
}

/// The traffic source of a service that reads no drop logs: always an empty window.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTraffic;

impl TrafficSource for NoTraffic {
    fn traffic(&self, _now: i64) -> Traffic {
        Traffic::default()
    }
}

/// The handle the router carries as an [`Extension`] so that `/` can ask for the traffic summary:
/// `router.layer(Extension(TrafficHandle(source)))`. Without it the page shows an empty window.
#[derive(Clone)]
pub struct TrafficHandle(pub Arc<dyn TrafficSource>);

/// `GET|HEAD /`: the status page.
pub async fn page(
    State(state): State<AppState>,
    traffic: Option<Extension<TrafficHandle>>,
) -> Response {
    let now = crate::keeper::now();
    let snapshot = state.shared.load();
    let traffic = match traffic {
        Some(Extension(TrafficHandle(source))) => source.traffic(now),
        None => NoTraffic.traffic(now),
    };
    let body = render(&snapshot, &traffic, now);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'",
            ),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    (headers, body).into_response()
}
