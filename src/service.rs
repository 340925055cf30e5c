//! `torwatch run`: composes the subsystems. Load and validate the config before binding anything, bind
//! everything, load the last good state and publish it, run, and on a signal drain with a grace timeout.

use crate::config::Config;
use crate::http::{self, AppState, HttpMetrics};
use crate::keeper::metrics::KeeperMetrics;
use crate::keeper::Keeper;
use crate::publisher::{PublishMetrics, Publisher};
use anyhow::Context;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn build_info(reg: &mut Registry) {
    let info: Family<BuildLabels, Gauge> = Family::default();
    info.get_or_create(&BuildLabels {
        version: env!("CARGO_PKG_VERSION"),
    })
    .set(1);
    reg.register(
        "torwatch_build_info",
        "torwatch build information; always 1",
        info,
    );
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("state_dir: cannot create {}", config.state_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    tracing::info!("listening on {}", listener.local_addr()?);

    let mut registry = Registry::default();
    build_info(&mut registry);
    let keeper_metrics = Arc::new(KeeperMetrics::register(&mut registry));
    let http_metrics = Arc::new(HttpMetrics::register(&mut registry));
    let publish_metrics = Arc::new(PublishMetrics::register(&mut registry));

    let shared = crate::snapshot::shared();
    let keeper = Keeper::load(config.clone(), shared.clone(), keeper_metrics)?;
    if shared.load().ready() {
        tracing::info!(
            "serving the last good lists from {}",
            config.state_dir.display()
        );
    }

    let problems: Arc<arc_swap::ArcSwap<Vec<String>>> = Arc::default();
    let publisher = Publisher {
        files: config.publish.clone(),
        shared: shared.clone(),
        metrics: publish_metrics,
        problems: problems.clone(),
    };
    let state = AppState {
        shared: shared.clone(),
        config: config.clone(),
        registry: Arc::new(registry),
        metrics: http_metrics,
        problems,
    };
    let server = http::server::Server::new(listener, http::router(state), &config.http)?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    tracker.spawn(publisher.run(keeper.subscribe(), shutdown.clone()));
    tracker.spawn(keeper.run(tracker.clone(), shutdown.clone()));
    tracker.spawn(server.run(shutdown.clone()));
    tracker.close();

    wait_for_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("tasks did not finish within {DRAIN:?}");
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
