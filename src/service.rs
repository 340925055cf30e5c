//! `torwatch run`: composes the subsystems. Load and validate the config before binding anything, bind
//! everything, load the last good state and publish it, run, and on a signal drain with a grace timeout.
//!
//! Reload (SIGHUP, or `POST /-/reload` when enabled) re-reads the config file; an invalid one is refused, logged
//! and counted, and the running generation keeps going. A valid one stops the current generation (pollers,
//! publisher) and starts the next with the new config, keeping the lists, history and HTTP listener.

use crate::config::Config;
use crate::http::{self, AppState, HttpMetrics, ReloadRequest};
use crate::inputs::{self, InputMetrics};
use crate::keeper::metrics::KeeperMetrics;
use crate::keeper::Keeper;
use crate::matcher::geoip::Geoip;
use crate::matcher::metrics::TrafficMetrics;
use crate::pipeline::{Counting, ParseMetrics, Pipeline};
use crate::publisher::{PublishMetrics, Publisher};
use crate::recent::saved::Saved;
use crate::recent::Recent;
use crate::snapshot::Shared;
use anyhow::Context;
use arc_swap::ArcSwap;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

/// Metrics and shared handles that live as long as the process, across reloads.
struct Shell {
    shared: Shared,
    keeper_metrics: Arc<KeeperMetrics>,
    publish_metrics: Arc<PublishMetrics>,
    input_metrics: Arc<InputMetrics>,
    parse_metrics: ParseMetrics,
    traffic: Arc<TrafficMetrics>,
    recent: Arc<Mutex<Recent>>,
    /// The last 24 h of traffic in `state_dir`.
    saved: Arc<Saved>,
    reloads: Family<ReloadLabels, Counter>,
    problems: Arc<ArcSwap<Vec<String>>>,
    /// `stale_after` in seconds, for the alert rule.
    stale_after: Gauge,
}

impl Shell {
    fn new(registry: &mut Registry, config: &Config) -> Shell {
        let info: Family<BuildLabels, Gauge> = Family::default();
        info.get_or_create(&BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
        registry.register(
            "torwatch_build_info",
            "torwatch build information; always 1",
            info,
        );
        let reloads: Family<ReloadLabels, Counter> = Family::default();
        for result in ["ok", "error"] {
            let _ = reloads.get_or_create(&ReloadLabels { result });
        }
        registry.register(
            "torwatch_config_reloads",
            "Config reloads by outcome",
            reloads.clone(),
        );
        let stale_after = Gauge::default();
        stale_after.set(crate::status::secs(config.stale_after));
        registry.register(
            "torwatch_list_stale_after_seconds",
            "A list no source has confirmed for this long is stale (the stale_after setting)",
            stale_after.clone(),
        );
        let traffic = Arc::new(TrafficMetrics::register(registry, &config.matcher));
        let recent = Arc::default();
        let saved = Saved::register(
            registry,
            &config.state_dir,
            Arc::clone(&recent),
            traffic.clone(),
        );
        saved.restore(crate::keeper::now());
        Shell {
            shared: crate::snapshot::shared(),
            keeper_metrics: Arc::new(KeeperMetrics::register(registry)),
            publish_metrics: Arc::new(PublishMetrics::register(registry)),
            input_metrics: Arc::new(InputMetrics::register(registry)),
            parse_metrics: ParseMetrics::register(registry),
            traffic,
            recent,
            saved: Arc::new(saved),
            reloads,
            problems: Arc::default(),
            stale_after,
        }
    }
}

/// The tasks that run with one config.
struct Generation {
    token: CancellationToken,
    tracker: TaskTracker,
    keeper: tokio::task::JoinHandle<Keeper>,
}

impl Generation {
    /// Binds the inputs and starts the generation's tasks. With `strict`, an input that cannot bind is an error
    /// (at startup); otherwise (on reload) it is logged and left out.
    async fn start(
        config: &Arc<Config>,
        keeper: Keeper,
        shell: &Shell,
        shutdown: &CancellationToken,
        strict: bool,
    ) -> anyhow::Result<Generation> {
        let token = shutdown.child_token();
        let tracker = TaskTracker::new();
        let mut queues = Vec::with_capacity(config.inputs.len());
        for (index, input) in config.inputs.iter().enumerate() {
            let (tx, rx) = mpsc::channel(input.queue.max(1));
            queues.push(rx);
            let bound = match inputs::bind(input.spec(&config.state_dir)).await {
                Ok(b) => b,
                Err(e) if strict => {
                    return Err(e.context(format!("inputs[{index}] ({})", input.name)))
                }
                Err(e) => {
                    tracing::error!(input = %input.name, "input left out: {e:#}");
                    continue;
                }
            };
            if let Some(addr) = bound.local_addr() {
                tracing::info!(input = %input.name, "listening on {addr}");
            }
            let counters = shell.input_metrics.input(&input.name);
            let (token, name) = (token.clone(), input.name.clone());
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            tracker.spawn(async move {
                if let Err(e) = bound.run(index, tx, counters, token).await {
                    tracing::error!(input = %name, "input stopped: {e:#}");
                }
            });
        }
        let geoip = match &config.matcher.geoip {
            Some(path) => {
                Some(Arc::new(Geoip::open(path).with_context(|| {
                    format!("matcher.geoip: {}", path.display())
                })?))
            }
            None => None,
        };
        let counting = Counting {
            parse: &shell.parse_metrics,
            inputs: &shell.input_metrics,
            traffic: shell.traffic.clone(),
            recent: shell.recent.clone(),
        };
        let pipeline = Pipeline::new(config, shell.shared.clone(), counting, geoip);
        tracker.spawn(pipeline.run(queues, token.clone()));
        let publisher = Publisher {
            files: config.publish.clone(),
            shared: shell.shared.clone(),
            metrics: shell.publish_metrics.clone(),
            problems: shell.problems.clone(),
        };
        tracker.spawn(publisher.run(keeper.subscribe(), token.clone()));
        let keeper = tokio::spawn(keeper.run(token.clone()));
        tracker.close();
        Ok(Generation {
            token,
            tracker,
            keeper,
        })
    }

    /// Stops every task of the generation and returns the keeper (with its state saved).
    async fn stop(self) -> anyhow::Result<Keeper> {
        self.token.cancel();
        if tokio::time::timeout(DRAIN, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("tasks did not finish within {DRAIN:?}");
        }
        self.keeper.await.context("keeper task failed")
    }
}

enum Event {
    Stop,
    Reload(Option<ReloadRequest>),
}

struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self, requests: &mut mpsc::Receiver<ReloadRequest>) -> Event {
        tokio::select! {
            _ = self.term.recv() => Event::Stop,
            _ = self.int.recv() => Event::Stop,
            _ = self.hup.recv() => Event::Reload(None),
            r = requests.recv() => match r {
                Some(done) => Event::Reload(Some(done)),
                None => Event::Stop,
            },
        }
    }
}

/// Reads the config file again (and the TLS certificates it names); settings that need a restart must not change.
fn reread(path: &Path, running: &Config) -> Result<(Config, Option<TlsAcceptor>), String> {
    let new = Config::load(path).map_err(|e| e.to_string())?;
    if new.listen != running.listen {
        return Err(format!(
            "listen: changing {} to {} needs a restart",
            running.listen, new.listen
        ));
    }
    if new.state_dir != running.state_dir {
        return Err("state_dir: changing it needs a restart".into());
    }
    if let Some(path) = &new.matcher.geoip {
        Geoip::open(path).map_err(|e| format!("matcher.geoip: {}: {e}", path.display()))?;
    }
    let tls = new
        .http
        .tls
        .as_ref()
        .map(http::server::tls_acceptor)
        .transpose()
        .map_err(|e| format!("{e:#}"))?;
    Ok((new, tls))
}

/// While a scraper keeps scraping, waits for the scrapes that show every hit counted (two scrape intervals at most,
/// and never longer than [`DRAIN`]), so that Prometheus reads the last hits before a stop.
async fn last_scrapes(traffic: &TrafficMetrics) {
    let Some(interval) = traffic.scrape_interval() else {
        return;
    };
    let wait = async {
        while !traffic.shown() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let limit = (2 * interval + Duration::from_millis(500)).min(DRAIN);
    if tokio::time::timeout(limit, wait).await.is_err() {
        tracing::warn!("stopping before a scrape showed the last counts");
    }
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn run(path: PathBuf, config: Config) -> anyhow::Result<()> {
    let mut config = Arc::new(config);
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("state_dir: cannot create {}", config.state_dir.display()))?;
    let mut signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    tracing::info!("listening on {}", listener.local_addr()?);

    let mut registry = Registry::default();
    let shell = Shell::new(&mut registry, &config);
    let http_metrics = Arc::new(HttpMetrics::register(&mut registry));
    let mut keeper = Keeper::load(
        config.clone(),
        shell.shared.clone(),
        shell.keeper_metrics.clone(),
    )?;
    if shell.shared.load().ready() {
        tracing::info!(
            "serving the last good lists from {}",
            config.state_dir.display()
        );
    }

    let current = Arc::new(ArcSwap::new(config.clone()));
    let (reload_tx, mut reload_rx) = mpsc::channel(4);
    let state = AppState {
        shared: shell.shared.clone(),
        config: current.clone(),
        registry: Arc::new(registry),
        metrics: http_metrics,
        problems: shell.problems.clone(),
        reload: Some(reload_tx),
        scrapes: Some(shell.traffic.clone()),
    };
    let traffic = crate::status::TrafficHandle(Arc::new(crate::recent::RecentTraffic {
        recent: shell.recent.clone(),
        shared: shell.shared.clone(),
    }));
    let router = http::router(state.clone()).layer(axum::Extension(traffic));
    let endpoints = http::Endpoints::new(state, router);
    let server = http::server::Server::new(listener, endpoints, &config.http)?;
    let tls = server.tls.clone();
    let shutdown = CancellationToken::new();
    let server_task = tokio::spawn(server.run(shutdown.clone()));
    tokio::spawn(shell.saved.clone().run(shutdown.clone()));

    let mut strict = true;
    loop {
        let generation = Generation::start(&config, keeper, &shell, &shutdown, strict).await?;
        strict = false;
        let (new, done) = loop {
            match signals.next(&mut reload_rx).await {
                Event::Stop => {
                    tracing::info!("shutting down");
                    generation.stop().await?;
                    last_scrapes(&shell.traffic).await;
                    shell.saved.save(crate::keeper::now()).await;
                    shutdown.cancel();
                    let _ = tokio::time::timeout(DRAIN, server_task).await;
                    return Ok(());
                }
                Event::Reload(done) => match reread(&path, &config) {
                    Ok((new, acceptor)) => {
                        tls.store(acceptor.map(Arc::new));
                        break (new, done);
                    }
                    Err(e) => {
                        tracing::error!("reload refused, keeping the running config: {e}");
                        shell
                            .reloads
                            .get_or_create(&ReloadLabels { result: "error" })
                            .inc();
                        if let Some(done) = done {
                            let _ = done.send(Err(e));
                        }
                    }
                },
            }
        };
        keeper = generation.stop().await?;
        config = Arc::new(new);
        shell
            .stale_after
            .set(crate::status::secs(config.stale_after));
        keeper.reconfigure(config.clone());
        current.store(config.clone());
        shell
            .reloads
            .get_or_create(&ReloadLabels { result: "ok" })
            .inc();
        tracing::info!("config reloaded from {}", path.display());
        if let Some(done) = done {
            let _ = done.send(Ok(()));
        }
    }
}
