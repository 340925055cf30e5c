//! The HTTP surface: the published lists, `/metrics`, `/healthz`, `/readyz` and the status page, each endpoint
//! group behind its own access rules. Handlers only read the current snapshot; they never wait for the keeper.

pub mod access;
pub mod edl;
mod exposition;
pub mod server;

use crate::config::{Access, Config};
use crate::snapshot::Shared;
use crate::status::{NoTraffic, TrafficHandle, TrafficSource};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use server::Peer;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub code: u16,
}

/// Metrics the HTTP surface owns.
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    /// The series of list requests answered 200 and 304, resolved on first use: the hot path counts without
    /// looking the family up.
    lists_ok: std::sync::OnceLock<Counter>,
    lists_not_modified: std::sync::OnceLock<Counter>,
    /// Idle connections closed to make room for a new client at the connection cap.
    pub connections_evicted: Counter,
}

impl HttpMetrics {
    pub fn register(reg: &mut Registry) -> HttpMetrics {
        let m = HttpMetrics {
            requests: Family::default(),
            lists_ok: std::sync::OnceLock::new(),
            lists_not_modified: std::sync::OnceLock::new(),
            connections_evicted: Counter::default(),
        };
        reg.register(
            "torwatch_http_connections_evicted",
            "Idle connections closed to make room for a new client at the connection cap",
            m.connections_evicted.clone(),
        );
        reg.register(
            "torwatch_http_requests",
            "HTTP requests served, by endpoint group and status code",
            m.requests.clone(),
        );
        m
    }

    /// Counts one request of `group` answered with `status`.
    fn count(&self, group: Group, status: StatusCode) {
        let cached = match (group, status) {
            (Group::Lists, StatusCode::OK) => Some(&self.lists_ok),
            (Group::Lists, StatusCode::NOT_MODIFIED) => Some(&self.lists_not_modified),
            _ => None,
        };
        let labels = || RequestLabels {
            endpoint: group.label(),
            code: status.as_u16(),
        };
        match cached {
            Some(slot) => slot
                .get_or_init(|| self.requests.get_or_create(&labels()).clone())
                .inc(),
            None => self.requests.get_or_create(&labels()).inc(),
        };
    }
}

/// Everything handlers need.
#[derive(Clone)]
pub struct AppState {
    pub shared: Shared,
    /// The current config; replaced on reload.
    pub config: Arc<arc_swap::ArcSwap<Config>>,
    /// Where `POST /-/reload` sends its request (only when `http.admin.reload` is on).
    pub reload: Option<tokio::sync::mpsc::Sender<ReloadRequest>>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<HttpMetrics>,
    /// Extra detail for `/readyz`: publish and apply failures, inputs whose paths yield nothing.
    pub problems: Arc<crate::problems::Problems>,
    /// Told when a scrape of `/metrics` begins and ends.
    pub scrapes: Option<Arc<dyn ScrapeWatch>>,
}

/// Whatever needs to know when a scrape of `/metrics` begins and when it has encoded every series, and by whom
/// (the traffic metrics count a new series only once every scraper has seen it at 0).
pub trait ScrapeWatch: Send + Sync {
    /// Scraper `who` (its address and User-Agent) begins a scrape; returns its number.
    fn begin(&self, who: &str) -> u64;
    /// Scraper `who`'s scrape `number` has encoded every series.
    fn end(&self, who: &str, number: u64);
}

/// A reload request and where to send its outcome.
pub type ReloadRequest = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Endpoint groups, for access rules and metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Lists,
    Metrics,
    Status,
    Health,
}

impl Group {
    fn of(path: &str) -> Group {
        match path {
            "/metrics" | "/-/reload" => Group::Metrics,
            "/healthz" | "/readyz" => Group::Health,
            p if p.starts_with("/lists/") => Group::Lists,
            _ => Group::Status,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Group::Lists => "lists",
            Group::Metrics => "metrics",
            Group::Status => "status",
            Group::Health => "health",
        }
    }

    fn access(self, config: &Config) -> Option<&Access> {
        match self {
            Group::Lists => Some(&config.http.lists),
            Group::Metrics => Some(&config.http.metrics),
            Group::Status => Some(&config.http.status),
            Group::Health => None,
        }
    }
}

pub fn router(state: AppState) -> Router {
    let timeout = state.config.load().http.request_timeout;
    Router::new()
        .route("/", get(status_page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/-/reload", axum::routing::post(reload))
        .route("/lists/{file}", get(edl::get))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .with_state(state)
}

/// Applies the endpoint group's access rules and counts the request.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let group = Group::of(request.uri().path());
    let peer = request.extensions().get::<Peer>().map(|p| p.0.ip());
    let config = state.config.load();
    let response = match group.access(&config) {
        Some(access) => match access::check(access, peer, request.headers()) {
            Ok(()) => next.run(request).await,
            Err(refusal) => refusal.response(&access.auth),
        },
        None => next.run(request).await,
    };
    state.metrics.count(group, response.status());
    response
}

/// What every connection serves: `GET` and `HEAD` of a list are answered in place, with the access rules and the
/// request count of the router's guard (the path a firewall fleet polls: no routing, no per-request clone of the
/// router and its state, no timer); every other request goes through the router.
#[derive(Clone)]
pub struct Endpoints {
    state: AppState,
    router: Router,
}

impl Endpoints {
    pub fn new(state: AppState, router: Router) -> Endpoints {
        Endpoints { state, router }
    }

    /// Counts connections evicted at the cap.
    pub fn evictions(&self) -> Counter {
        self.state.metrics.connections_evicted.clone()
    }

    /// The hyper service of one connection from `peer`.
    pub fn connection(&self, peer: std::net::SocketAddr) -> Connection {
        Connection {
            endpoints: self.clone(),
            peer,
        }
    }

    fn list(
        &self,
        request: &hyper::Request<hyper::body::Incoming>,
        peer: std::net::IpAddr,
    ) -> Response {
        let config = self.state.config.load();
        let access = &config.http.lists;
        let response = match access::check(access, Some(peer), request.headers()) {
            Ok(()) => edl::respond(
                &self.state.shared,
                request.method(),
                request.uri(),
                request.headers(),
            ),
            Err(refusal) => refusal.response(&access.auth),
        };
        self.state.metrics.count(Group::Lists, response.status());
        response
    }
}

/// One connection's service (see [`Endpoints`]).
pub struct Connection {
    endpoints: Endpoints,
    peer: std::net::SocketAddr,
}

type Routed = futures_util::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Connection {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::Either<
        std::future::Ready<Result<Response, std::convert::Infallible>>,
        Routed,
    >;

    fn call(&self, mut request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        use futures_util::future::Either;
        let list = matches!(
            *request.method(),
            axum::http::Method::GET | axum::http::Method::HEAD
        ) && request.uri().path().starts_with("/lists/");
        if list {
            return Either::Left(std::future::ready(Ok(self
                .endpoints
                .list(&request, self.peer.ip()))));
        }
        request.extensions_mut().insert(Peer(self.peer));
        let routed = tower::ServiceExt::oneshot(
            self.endpoints.router.clone(),
            request.map(axum::body::Body::new),
        );
        Either::Right(Box::pin(routed))
    }
}

/// `POST /-/reload`: re-reads the config like SIGHUP does; refused unless `http.admin.reload` is on.
async fn reload(State(state): State<AppState>) -> Response {
    let enabled = state.config.load().http.admin_reload;
    let Some(tx) = state.reload.as_ref().filter(|_| enabled) else {
        return (
            StatusCode::NOT_FOUND,
            "reload endpoint is off (http.admin.reload)\n",
        )
            .into_response();
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    if tx.send(done).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match outcome.await {
        Ok(Ok(())) => (StatusCode::OK, "reloaded\n").into_response(),
        Ok(Err(e)) => (
            StatusCode::BAD_REQUEST,
            format!("reload refused, old config kept:\n{e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// `GET|HEAD /`: the status page ([`crate::status::render`]), with the traffic summary of the router's
/// [`TrafficHandle`] (an empty window without one).
async fn status_page(
    State(state): State<AppState>,
    traffic: Option<Extension<TrafficHandle>>,
) -> Response {
    let now = crate::clock::now();
    let snapshot = state.shared.load();
    let stale_after = crate::status::secs(state.config.load().stale_after);
    let traffic = match traffic {
        Some(Extension(TrafficHandle(source))) => source.traffic(now),
        None => NoTraffic.traffic(now),
    };
    let body = crate::status::render(&snapshot, &traffic, now, stale_after);
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

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once the exit list is loaded (stale or not: the last good list beats none); the body explains what is loaded
/// and what is failing, stale lists included.
async fn readyz(State(state): State<AppState>) -> Response {
    let snapshot = state.shared.load();
    let listed = state.problems.list();
    let stale_after = crate::status::secs(state.config.load().stale_after);
    let stale = snapshot.stale(stale_after, crate::clock::now());
    let problems: Vec<&String> = listed
        .iter()
        .chain(&snapshot.state_error)
        .chain(&stale)
        .collect();
    let body = serde_json::json!({
        "ready": snapshot.ready(),
        "lists": snapshot.lists.iter().map(|(n, l)| (n.clone(), serde_json::json!({
            "entries": l.entries.len(), "version": l.version, "updated": l.updated,
        }))).collect::<serde_json::Map<_, _>>(),
        "sources": snapshot.sources,
        "problems": problems,
    });
    let status = if snapshot.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body:#}\n"),
    )
        .into_response()
}

async fn metrics(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
) -> Response {
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    let who = format!(
        "{} {}",
        peer.map_or_else(String::new, |p| p.0 .0.ip().to_string()),
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    let scrape = state.scrapes.as_ref().map(|w| (w, w.begin(&who)));
    let encoded = exposition::encode(&state.registry, openmetrics);
    if let Some((watch, number)) = scrape {
        watch.end(&who, number);
    }
    match encoded {
        Ok((content_type, body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response(),
    }
}
