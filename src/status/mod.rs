//! The status page at `/` for people without Grafana: list sizes and freshness, each source's last outcome and the
//! last 24 hours of Tor hits. The page is rendered per request from the current snapshot and the traffic summary;
//! rendering is pure ([`render`]), the handler only reads. The page loads nothing from elsewhere and runs no script.

mod chart;
mod markup;
mod page;
mod traffic;

pub use page::render;
pub use traffic::{ExitRow, HourRow, LoginRow, Traffic, ROWS, WINDOW_SECS};

use crate::http::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;

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
    let now = crate::clock::now();
    let snapshot = state.shared.load();
    let stale_after = secs(state.config.load().stale_after);
    let traffic = match traffic {
        Some(Extension(TrafficHandle(source))) => source.traffic(now),
        None => NoTraffic.traffic(now),
    };
    let body = render(&snapshot, &traffic, now, stale_after);
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

/// Whole seconds of a duration, as the page and `/readyz` count them.
pub fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
