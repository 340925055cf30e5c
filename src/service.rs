//! `torwatch run`: composes the subsystems. Load and validate the config before binding anything, bind
//! everything, load the last good state and publish it, run, and on a signal drain with a grace timeout.
//!
//! Reload (SIGHUP, or `POST /-/reload` when enabled) is all or nothing: the config file is read and checked like
//! at startup ([`open`]) and the next generation's inputs are bound (taking over the sockets whose address did
//! not change) while the running generation keeps going. Only when all of that succeeded does the running
//! generation stop and the next start with the new config, keeping the lists, history and HTTP listener; any
//! failure refuses the whole reload, changes nothing and is logged and counted (`result="error"`).
//!
//! Shutdown and reload stop a generation within [`DRAIN`]: every task hears the token, pollers never block on a
//! full report queue, and a running apply command's process group gets SIGTERM, then SIGKILL.

use crate::config::{Config, ConfigError, ConfigErrors, InputConfig};
use crate::http::{self, AppState, HttpMetrics, ReloadRequest};
use crate::inputs::{self, BoundInput, InputMetrics, Sockets};
use crate::keeper::metrics::KeeperMetrics;
use crate::keeper::Keeper;
use crate::last_day::saved::Saved;
use crate::last_day::HourlyHits;
use crate::matcher::geoip::Geoip;
use crate::matcher::metrics::TrafficMetrics;
use crate::pipeline::{Counting, ParseMetrics, Pipeline};
use crate::problems::Problems;
use crate::publish::{PublishMetrics, Publisher};
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
struct Lifelong {
    shared: Shared,
    keeper_metrics: Arc<KeeperMetrics>,
    publish_metrics: Arc<PublishMetrics>,
    input_metrics: Arc<InputMetrics>,
    parse_metrics: ParseMetrics,
    traffic: Arc<TrafficMetrics>,
    recent: Arc<Mutex<HourlyHits>>,
    /// The last 24 h of traffic in `state_dir`.
    saved: Arc<Saved>,
    reloads: Family<ReloadLabels, Counter>,
    problems: Arc<Problems>,
    /// `stale_after` in seconds, for the alert rule.
    stale_after: Gauge,
}

impl Lifelong {
    fn new(registry: &mut Registry, config: &Config) -> Lifelong {
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
        saved.restore(crate::clock::now());
        Lifelong {
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

    fn count_reload(&self, result: &'static str) {
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }
}

/// What a config opens before anything is bound or changed: its TLS certificates and country database.
pub struct Opened {
    pub tls: Option<TlsAcceptor>,
    pub geoip: Option<Arc<Geoip>>,
    /// Valid settings that would quietly lose everything: the config's own, and paths that match no file.
    pub warnings: Vec<ConfigError>,
}

/// Checks what `run` would refuse about a config that parsed, without binding or writing anything, and opens the
/// files it names. `check-config`, the start and every reload run exactly this, so `check-config` refuses what
/// `run` refuses. (Ports that another program holds are found only by binding them: at the start, or a reload.)
pub fn open(config: &Config) -> Result<Opened, ConfigErrors> {
    let mut errors = Vec::new();
    let mut error = |path: String, problem: String| errors.push(ConfigError { path, problem });
    if let Some(problem) = state_dir_problem(&config.state_dir) {
        error("state_dir".into(), problem);
    }
    for (i, source) in config.sources.iter().enumerate() {
        if let crate::config::SourceLocation::File(path) = &source.location {
            if std::fs::metadata(path).is_err() {
                let shown = crate::sources::fetch::redact_text(&path.to_string_lossy());
                error(
                    format!("sources[{i}].url"),
                    format!("{shown:?} is no file (a URL starts with http:// or https://)"),
                );
            }
        }
    }
    let known = crate::keeper::known_lists(config);
    for (i, file) in config.publish.iter().enumerate() {
        if !known.contains(&file.list) {
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            error(
                format!("publish[{i}].list"),
                format!(
                    "{:?} is no list of this config ({})",
                    file.list,
                    names.join(", ")
                ),
            );
        }
    }
    let tls = match config.http.tls.as_ref().map(http::server::tls_acceptor) {
        Some(Ok(acceptor)) => Some(acceptor),
        Some(Err(e)) => {
            error(String::new(), format!("{e:#}"));
            None
        }
        None => None,
    };
    let geoip = match config.matcher.geoip.as_deref().map(Geoip::open) {
        Some(Ok(db)) => Some(Arc::new(db)),
        Some(Err(e)) => {
            error("matcher.geoip".into(), e.to_string());
            None
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let mut warnings = config.warnings.clone();
    for (i, input) in config.inputs.iter().enumerate() {
        if let inputs::InputKind::File(file) = &input.kind {
            for (j, pattern) in file.paths.iter().enumerate() {
                if let Some(problem) = inputs::file::pattern_problem(pattern) {
                    warnings.push(ConfigError {
                        path: format!("inputs[{i}].paths[{j}]"),
                        problem: format!("{problem}: this path gives no lines for now"),
                    });
                }
            }
        }
    }
    Ok(Opened {
        tls,
        geoip,
        warnings,
    })
}

/// Why `state_dir` cannot be used: it is not a directory, or the nearest existing ancestor is not one.
fn state_dir_problem(dir: &Path) -> Option<String> {
    let mut at = Some(dir);
    while let Some(path) = at {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return None,
            Ok(_) if path == dir => return Some(format!("{} is not a directory", dir.display())),
            Ok(_) => {
                return Some(format!(
                    "{} cannot be created: {} is not a directory",
                    dir.display(),
                    path.display()
                ))
            }
            Err(_) => at = path.parent().filter(|p| !p.as_os_str().is_empty()),
        }
    }
    None
}

/// The tasks that run with one config.
struct Generation {
    token: CancellationToken,
    tracker: TaskTracker,
    keeper: tokio::task::JoinHandle<Keeper>,
}

/// What the next generation needs, all of it opened and bound while the running one still runs.
struct NextGeneration {
    config: Config,
    opened: Opened,
    inputs: Vec<BoundInput>,
    sockets: Sockets,
}

impl NextGeneration {
    /// Opens what `config` names and binds its inputs, taking over the sockets in `running`. Nothing running
    /// changes: on error the new sockets are closed and the running ones kept.
    async fn prepare(config: Config, running: &Sockets) -> anyhow::Result<NextGeneration> {
        let opened = open(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let specs = config.inputs.iter().map(InputConfig::spec).collect();
        let (inputs, sockets) = inputs::bind_all(specs, running).await?;
        Ok(NextGeneration {
            config,
            opened,
            inputs,
            sockets,
        })
    }
}

impl Generation {
    /// Starts the generation's tasks on inputs already bound.
    fn start(
        config: &Arc<Config>,
        keeper: Keeper,
        lifelong: &Lifelong,
        shutdown: &CancellationToken,
        bound: Vec<BoundInput>,
        geoip: Option<Arc<Geoip>>,
    ) -> Generation {
        let token = shutdown.child_token();
        let tracker = TaskTracker::new();
        let mut queues = Vec::with_capacity(config.inputs.len());
        for (index, (input, bound)) in config.inputs.iter().zip(bound).enumerate() {
            let (tx, rx) = mpsc::channel(input.queue.max(1));
            queues.push(rx);
            if let Some(addr) = bound.local_addr() {
                tracing::info!(input = %input.name, "listening on {addr}");
            }
            let counters = lifelong.input_metrics.input(&input.name);
            let (token, name) = (token.clone(), input.name.clone());
            let problems = lifelong.problems.clone();
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            tracker.spawn(async move {
                if let Err(e) = bound.run(index, tx, counters, problems, token).await {
                    tracing::error!(input = %name, "input stopped: {e:#}");
                }
            });
        }
        let counting = Counting {
            parse: &lifelong.parse_metrics,
            inputs: &lifelong.input_metrics,
            traffic: lifelong.traffic.clone(),
            recent: lifelong.recent.clone(),
        };
        let pipeline = Pipeline::new(config, lifelong.shared.clone(), counting, geoip);
        tracker.spawn(pipeline.run(queues, token.clone()));
        let publisher = Publisher {
            files: config.publish.clone(),
            shared: lifelong.shared.clone(),
            metrics: lifelong.publish_metrics.clone(),
            problems: lifelong.problems.clone(),
        };
        tracker.spawn(publisher.run(keeper.subscribe(), token.clone()));
        let keeper = tokio::spawn(keeper.run(token.clone()));
        tracker.close();
        Generation {
            token,
            tracker,
            keeper,
        }
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

enum Trigger {
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

    async fn next(&mut self, requests: &mut mpsc::Receiver<ReloadRequest>) -> Trigger {
        tokio::select! {
            _ = self.term.recv() => Trigger::Stop,
            _ = self.int.recv() => Trigger::Stop,
            _ = self.hup.recv() => Trigger::Reload(None),
            r = requests.recv() => match r {
                Some(done) => Trigger::Reload(Some(done)),
                None => Trigger::Stop,
            },
        }
    }
}

/// Reads the config file again and prepares the next generation from it; settings that need a restart must not
/// change.
async fn reread(
    path: &Path,
    running: &Config,
    sockets: &Sockets,
) -> Result<NextGeneration, String> {
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
    NextGeneration::prepare(new, sockets)
        .await
        .map_err(|e| format!("{e:#}"))
}

fn log_warnings(warnings: &[ConfigError]) {
    for w in warnings {
        tracing::warn!("config: {w}");
    }
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
    let opened = open(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
    log_warnings(&opened.warnings);
    let mut config = Arc::new(config);
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("state_dir: cannot create {}", config.state_dir.display()))?;
    let mut signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    tracing::info!("listening on {}", listener.local_addr()?);
    let specs = config.inputs.iter().map(InputConfig::spec).collect();
    let (mut inputs, mut sockets) = inputs::bind_all(specs, &Sockets::default()).await?;

    let mut registry = Registry::default();
    let lifelong = Lifelong::new(&mut registry, &config);
    let http_metrics = Arc::new(HttpMetrics::register(&mut registry));
    let mut keeper = Keeper::load(
        config.clone(),
        lifelong.shared.clone(),
        lifelong.keeper_metrics.clone(),
    )?;
    if lifelong.shared.load().ready() {
        tracing::info!(
            "serving the last good lists from {}",
            config.state_dir.display()
        );
    }

    let current = Arc::new(ArcSwap::new(config.clone()));
    let (reload_tx, mut reload_rx) = mpsc::channel(4);
    let state = AppState {
        shared: lifelong.shared.clone(),
        config: current.clone(),
        registry: Arc::new(registry),
        metrics: http_metrics,
        problems: lifelong.problems.clone(),
        reload: Some(reload_tx),
        scrapes: Some(lifelong.traffic.clone()),
    };
    let traffic = crate::status::TrafficHandle(Arc::new(crate::last_day::LastDayTraffic {
        recent: lifelong.recent.clone(),
        shared: lifelong.shared.clone(),
    }));
    let router = http::router(state.clone()).layer(axum::Extension(traffic));
    let endpoints = http::Endpoints::new(state, router);
    let server = http::server::Server::new(listener, endpoints, &config.http, opened.tls);
    let tls = server.tls.clone();
    let shutdown = CancellationToken::new();
    let server_task = tokio::spawn(server.run(shutdown.clone()));
    tokio::spawn(
        lifelong
            .saved
            .clone()
            .run(config.state_save_interval, shutdown.clone()),
    );

    let mut geoip = opened.geoip;
    loop {
        let generation = Generation::start(&config, keeper, &lifelong, &shutdown, inputs, geoip);
        let (next, done) = loop {
            match signals.next(&mut reload_rx).await {
                Trigger::Stop => {
                    tracing::info!("shutting down");
                    generation.stop().await?;
                    last_scrapes(&lifelong.traffic).await;
                    lifelong.saved.save(crate::clock::now()).await;
                    shutdown.cancel();
                    let _ = tokio::time::timeout(DRAIN, server_task).await;
                    return Ok(());
                }
                Trigger::Reload(done) => match reread(&path, &config, &sockets).await {
                    Ok(next) => break (next, done),
                    Err(e) => {
                        tracing::error!("reload refused, keeping the running config: {e}");
                        lifelong.count_reload("error");
                        if let Some(done) = done {
                            let _ = done.send(Err(e));
                        }
                    }
                },
            }
        };
        // From here nothing can fail: the next generation's files are open and its sockets bound.
        log_warnings(&next.opened.warnings);
        tls.store(next.opened.tls.map(Arc::new));
        keeper = generation.stop().await?;
        config = Arc::new(next.config);
        (inputs, sockets, geoip) = (next.inputs, next.sockets, next.opened.geoip);
        lifelong
            .stale_after
            .set(crate::status::secs(config.stale_after));
        keeper.reconfigure(config.clone());
        current.store(config.clone());
        lifelong.count_reload("ok");
        tracing::info!("config reloaded from {}", path.display());
        if let Some(done) = done {
            let _ = done.send(Ok(()));
        }
    }
}
