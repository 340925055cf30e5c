//! The status page at `/` for people without Grafana: list sizes and freshness, each source's last outcome and the
//! last 24 hours of Tor hits. The page is rendered per request from the current snapshot and the traffic summary;
//! rendering is pure ([`render`]); the HTTP handler (in `http`) only reads and calls it. The page loads nothing from
//! elsewhere and runs no script. Nothing here knows of HTTP.

mod chart;
mod markup;
mod page;
mod traffic;

pub use page::render;
pub use traffic::{ExitRow, HourRow, LoginRow, Traffic, ROWS, WINDOW_SECS};

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

/// Whole seconds of a duration, as the page and `/readyz` count them.
pub fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
