//! The exit list keeper: schedules the sources, merges what they accept into the lists with their history,
//! persists the last good state and publishes each new [`Snapshot`] by swapping it atomically. It is the only
//! writer of the lists; readers never wait for it, and a failed or rejected fetch changes nothing but counters.

pub mod history;
pub mod metrics;
pub mod poll;
pub mod state;

use crate::clock::now;
use crate::config::{Config, SourceConfig};
use crate::feeds::{validate, Feed, FeedAddr, FeedKind, RelayInfo};
use crate::formats::cache::Renders;
use crate::list::{Family, List, ListId, Provenance, Window};
use crate::snapshot::{Shared, Snapshot, SourceStatus};
use history::{CurrentRule, History, Imported, Info, Sighting, Times};
use ipnet::IpNet;
use metrics::{DropLabels, KeeperMetrics, ListFamilyLabels, ListLabels, ResultLabels, WriteLabels};
use poll::{FetchOutcome, PollReport, Poller};
use state::{ListMeta, SavedState};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub struct Keeper {
    config: Arc<Config>,
    state: SavedState,
    shared: Shared,
    metrics: Arc<KeeperMetrics>,
    changed: watch::Sender<u64>,
    /// Why the last state save failed; `None` after a successful one.
    state_error: Option<String>,
    /// The history changed since the last save.
    history_changed: bool,
    /// The state changed since the last save.
    dirty: bool,
    /// When the last save started.
    last_save: Option<tokio::time::Instant>,
}

/// A save in flight.
struct Saving {
    /// Writes the files and says how long that took.
    task: tokio::task::JoinHandle<anyhow::Result<Duration>>,
    /// How long serializing took.
    serialized: Duration,
    /// It writes the history too.
    history: bool,
    bytes: usize,
}

impl Keeper {
    /// Loads the persisted state and publishes it at once, before any fetch. A state file that cannot be read is
    /// an error: starting empty would forget the last good list.
    pub fn load(
        config: Arc<Config>,
        shared: Shared,
        metrics: Arc<KeeperMetrics>,
    ) -> anyhow::Result<Keeper> {
        let state = SavedState::load(&config.state_dir)?.unwrap_or_default();
        let (changed, _) = watch::channel(0);
        let mut keeper = Keeper {
            config,
            state,
            shared,
            metrics,
            changed,
            state_error: None,
            // The first save writes the history too (it may have been read from an older format).
            history_changed: true,
            dirty: false,
            last_save: None,
        };
        for s in &keeper.config.sources {
            for result in metrics::RESULTS {
                let labels = ResultLabels {
                    source: s.name.clone(),
                    result: result.to_string(),
                };
                let _ = keeper.metrics.fetches.get_or_create(&labels);
            }
            for reason in crate::feeds::guard::Reason::ALL {
                let _ = keeper.metrics.dropped.get_or_create(&DropLabels {
                    source: s.name.clone(),
                    reason: reason.as_str(),
                });
            }
            if let Some(st) = keeper.state.sources.get(&s.name) {
                let labels = KeeperMetrics::source(&s.name);
                keeper
                    .metrics
                    .last_success
                    .get_or_create(&labels)
                    .set(st.last_success);
                keeper
                    .metrics
                    .last_attempt
                    .get_or_create(&labels)
                    .set(st.last_attempt);
                keeper
                    .metrics
                    .entries
                    .get_or_create(&labels)
                    .set(st.entries as i64);
            }
        }
        keeper.publish(now());
        Ok(keeper)
    }

    /// A receiver that sees a new value whenever a new snapshot is published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Takes a new configuration (on reload), keeping the state; the next `run` uses it.
    pub fn reconfigure(&mut self, config: Arc<Config>) {
        self.config = config;
        self.publish(now());
    }

    /// Runs the pollers and merges their reports until shutdown, saves the state and hands the keeper back (a
    /// reload runs it again with a new config).
    pub async fn run(mut self, shutdown: CancellationToken) -> Keeper {
        let tracker = TaskTracker::new();
        let (tx, mut rx) = mpsc::channel(64);
        let user_agent = self
            .config
            .user_agent
            .clone()
            .unwrap_or_else(crate::sources::fetch::user_agent);
        let client = crate::sources::fetch::client(&user_agent);
        for (index, source) in self
            .config
            .sources
            .iter()
            .enumerate()
            .filter(|(_, s)| s.enabled)
        {
            let poller = self.poller(index, source, client.clone());
            tracker.spawn(poller.run(tx.clone(), shutdown.clone()));
        }
        drop(tx);
        // A save runs off this task, at most once per `state_save_interval` and only after a change.
        let mut saving: Option<Saving> = None;
        loop {
            let due = self.save_due().filter(|_| saving.is_none());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                report = rx.recv() => match report {
                    Some(r) => self.apply(r),
                    None => shutdown.cancelled().await,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    saving = self.start_save();
                }
                done = async { saving.as_mut().map(|s| &mut s.task).expect("guarded").await }, if saving.is_some() => {
                    if let Some(s) = saving.take() {
                        self.saved(s, done);
                    }
                }
            }
        }
        tracker.close();
        tracker.wait().await;
        if let Some(mut s) = saving.take() {
            let done = (&mut s.task).await;
            self.saved(s, done);
        }
        if self.dirty {
            if let Some(mut s) = self.start_save() {
                let done = (&mut s.task).await;
                self.saved(s, done);
            }
        }
        self
    }

    /// When the next save may start: `None` while nothing changed since the last one.
    fn save_due(&self) -> Option<tokio::time::Instant> {
        if !self.dirty {
            return None;
        }
        Some(match self.last_save {
            Some(at) => at + self.config.state_save_interval,
            None => tokio::time::Instant::now(),
        })
    }

    /// Serializes the state (the history only if it changed) and writes it on a blocking thread.
    fn start_save(&mut self) -> Option<Saving> {
        let started = std::time::Instant::now();
        self.last_save = Some(tokio::time::Instant::now());
        let history = self.history_changed;
        let files = match self.state.to_bytes(history) {
            Ok(f) => f,
            Err(e) => {
                self.save_failed(&e);
                return None;
            }
        };
        self.dirty = false;
        self.history_changed = false;
        let dir = self.config.state_dir.clone();
        let bytes = files.len();
        let serialized = started.elapsed();
        Some(Saving {
            task: tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                files.write(&dir).map(|()| started.elapsed())
            }),
            serialized,
            history,
            bytes,
        })
    }

    /// Counts a finished save; a failed one is tried again after the interval.
    fn saved(&mut self, s: Saving, done: Result<anyhow::Result<Duration>, tokio::task::JoinError>) {
        let result = done.unwrap_or_else(|e| Err(anyhow::anyhow!("state save task: {e}")));
        match result {
            Ok(written) => {
                self.state_error = None;
                self.metrics
                    .state_save_duration
                    .set((s.serialized + written).as_secs_f64());
                self.metrics.state_bytes.set(s.bytes as i64);
                self.metrics
                    .state_writes
                    .get_or_create(&WriteLabels { result: "ok" })
                    .inc();
            }
            Err(e) => {
                self.dirty = true;
                self.history_changed |= s.history;
                self.save_failed(&e);
            }
        }
        self.refresh_state_error();
    }

    fn save_failed(&mut self, e: &anyhow::Error) {
        tracing::error!("saving state, serving from memory: {e:#}");
        self.state_error = Some(format!("state: {e:#}"));
        self.metrics
            .state_writes
            .get_or_create(&WriteLabels { result: "error" })
            .inc();
    }

    /// Shows the state's save outcome on `/readyz` without waiting for the next fetch.
    fn refresh_state_error(&mut self) {
        let current = self.shared.load_full();
        if current.state_error != self.state_error {
            let mut snapshot = (*current).clone();
            snapshot.state_error = self.state_error.clone();
            self.shared.store(Arc::new(snapshot));
        }
    }

    fn poller(&self, index: usize, source: &SourceConfig, client: reqwest::Client) -> Poller {
        let st = self
            .state
            .sources
            .get(&source.name)
            .cloned()
            .unwrap_or_default();
        let now = now();
        let min_gap = if source.kind == FeedKind::Danme {
            crate::config::DANME_MIN_INTERVAL.as_secs() as i64
        } else {
            0
        };
        let due = if st.last_success > 0 {
            st.last_success + source.interval.as_secs() as i64
        } else {
            0
        };
        // A failing source waits out its backoff and Retry-After across a restart, never longer than its
        // max_retry_wait (or the provider's minimum) from now.
        let cap = now + (source.max_retry_wait.as_secs() as i64).max(min_gap);
        let due = due.max(st.last_attempt + min_gap).max(st.retry_at.min(cap));
        Poller {
            index,
            config: source.clone(),
            client,
            etag: st.etag.clone().filter(|_| st.loaded),
            last_modified: st.last_modified.clone().filter(|_| st.loaded),
            previous: st.loaded.then_some(st.entries),
            cover: last_good(&self.state, source, self.config.retention.as_secs() as i64),
            failures: st.failures,
            // Counted in milliseconds: `due` is a whole second, and starting up to a second early would ask
            // before a Retry-After ran out.
            first_delay: Duration::from_millis(
                due.saturating_mul(1000)
                    .saturating_sub(crate::clock::now_ms())
                    .max(0) as u64,
            ),
        }
    }

    /// Merges one poller report.
    pub fn apply(&mut self, report: PollReport) {
        let Some(source) = self.config.sources.get(report.source) else {
            return;
        };
        let name = source.name.clone();
        let labels = KeeperMetrics::source(&name);
        let result = report.outcome.result();
        self.metrics
            .duration
            .get_or_create(&labels)
            .observe(report.duration.as_secs_f64());
        self.metrics
            .last_attempt
            .get_or_create(&labels)
            .set(report.at);
        for (reason, n) in &report.dropped.counts {
            self.metrics
                .dropped
                .get_or_create(&DropLabels {
                    source: name.clone(),
                    reason: reason.as_str(),
                })
                .inc_by(*n as u64);
        }
        if !report.dropped.is_empty() {
            tracing::warn!(
                source = %name,
                dropped = report.dropped.total(),
                "the list guard refused entries that must never be published: {}",
                report.dropped.describe()
            );
        }
        let st = self.state.sources.entry(name.clone()).or_default();
        st.last_attempt = report.at;
        st.last_dropped = report
            .dropped
            .counts
            .iter()
            .map(|(r, n)| (r.as_str().to_string(), *n))
            .collect();
        st.last_result = result.to_string();
        st.retry_at = report.retry_at;
        match report.outcome {
            FetchOutcome::Failed { reason, message } => {
                tracing::warn!(source = %name, reason, "fetch failed, keeping the last good list: {message}");
                st.failures = st.failures.saturating_add(1);
                st.last_error = Some(message);
                self.metrics.up.get_or_create(&labels).set(0);
            }
            FetchOutcome::Accepted {
                feed,
                etag,
                last_modified,
            } => {
                let entries = validate::entries(&feed);
                tracing::info!(source = %name, entries, "new list accepted");
                st.loaded = true;
                st.entries = entries;
                st.etag = etag;
                st.last_modified = last_modified;
                st.relays = if source.kind == FeedKind::Onionoo {
                    feed.relays.clone()
                } else {
                    Vec::new()
                };
                let times = Times {
                    previous: st.last_success,
                    now: report.at,
                    gap: self.config.retention.as_secs() as i64,
                };
                observe(&mut self.state.history, source, &feed, times);
                self.history_changed = true;
                self.confirm(report.source, report.at);
            }
            FetchOutcome::Unchanged => {
                tracing::debug!(source = %name, "unchanged");
                if st.loaded {
                    let times = Times {
                        previous: st.last_success,
                        now: report.at,
                        gap: self.config.retention.as_secs() as i64,
                    };
                    self.history_changed |= self.state.history.confirm(&name, times);
                    self.confirm(report.source, report.at);
                }
            }
        }
        let horizon = report.at
            - self.config.history.as_secs() as i64
            - self.config.retention.as_secs() as i64;
        let followed = followed(&self.state);
        self.history_changed |= self.state.history.prune(horizon, &followed);
        self.dirty = true;
        self.publish(report.at);
        // Counted last, so whoever sees the outcome counted also sees the lists it produced.
        self.metrics
            .fetches
            .get_or_create(&ResultLabels {
                source: name,
                result: result.to_string(),
            })
            .inc();
    }

    /// A fetch of source `index` at `at` confirmed its (possibly new) last good feed.
    fn confirm(&mut self, index: usize, at: i64) {
        let source = &self.config.sources[index];
        let Some(st) = self.state.sources.get_mut(&source.name) else {
            return;
        };
        st.last_success = at;
        st.failures = 0;
        st.last_error = None;
        let labels = KeeperMetrics::source(&source.name);
        self.metrics.up.get_or_create(&labels).set(1);
        self.metrics.last_success.get_or_create(&labels).set(at);
        self.metrics
            .entries
            .get_or_create(&labels)
            .set(st.entries as i64);
    }

    /// Builds a new snapshot from the state and swaps it in.
    fn publish(&mut self, now: i64) {
        let previous = self.shared.load_full();
        let mut snapshot = build(&self.config, &mut self.state, &previous, now);
        snapshot.state_error = self.state_error.clone();
        self.metrics.loaded.set(i64::from(snapshot.ready()));
        for (name, list) in &snapshot.lists {
            for family in [Family::Ipv4, Family::Ipv6] {
                let labels = ListFamilyLabels {
                    list: name.clone(),
                    family: family.as_str().into(),
                };
                self.metrics
                    .list_entries
                    .get_or_create(&labels)
                    .set(list.count(family) as i64);
            }
            let labels = ListLabels { list: name.clone() };
            self.metrics
                .list_changed
                .get_or_create(&labels)
                .set(list.updated);
            let confirmed = confirmed_at(&self.config, &self.state, name);
            self.metrics
                .list_updated
                .get_or_create(&labels)
                .set(confirmed);
        }
        self.shared.store(Arc::new(snapshot));
        self.changed.send_modify(|v| *v += 1);
    }
}

/// The lists a source feeds.
fn feeds_list(source: &SourceConfig, list: &str) -> bool {
    ListId::parse(list).fed_by(&source.list, source.kind == FeedKind::Onionoo)
}

/// When any source of the list last confirmed it.
fn confirmed_at(config: &Config, state: &SavedState, list: &str) -> i64 {
    config
        .sources
        .iter()
        .filter(|s| feeds_list(s, list))
        .filter_map(|s| state.sources.get(&s.name))
        .filter(|st| st.loaded)
        .map(|st| st.last_success)
        .max()
        .unwrap_or(0)
}

/// Records the addresses of an accepted feed in the history: its exits in the source's list, Onionoo's OR
/// addresses in `tor-relays`. A time the source measured (TorDNSEL `ExitAddress`, the relay's `last_seen`) starts a
/// new span where it is earlier than the fetch. A `torwatch` source's feed is imported ([`follow`]).
fn observe(history: &mut History, source: &SourceConfig, feed: &Feed, times: Times) {
    if source.kind == FeedKind::Torwatch {
        return follow(history, source, feed, times);
    }
    let relay = |a: &FeedAddr| a.relay.and_then(|i| feed.relays.get(i as usize));
    let sightings = |addrs: &'_ [FeedAddr], approximate: bool| -> Vec<Sighting<'_>> {
        addrs
            .iter()
            .map(|a| Sighting {
                net: a.net,
                relay: relay(a),
                approximate: approximate && a.approximate,
                measured: a.seen.or_else(|| relay(a).and_then(|r| r.last_seen)),
            })
            .collect()
    };
    history.observe(
        &source.list,
        &source.name,
        sightings(&feed.exits, true),
        times,
    );
    if !feed.relays_or.is_empty() {
        history.observe(
            ListId::Relays.name(),
            &source.name,
            sightings(&feed.relays_or, false),
            times,
        );
    }
}

/// A `torwatch` source's feed: each address goes into the history under the other instance's source names, with
/// its times (the last sighting never later than this fetch), so that lookups, windows and `scan` answer as that
/// instance does. Those spans are never open: that instance's sources are not polled from here, and they count as
/// succeeded at their latest sighting ([`last_successes`]).
fn follow(history: &mut History, source: &SourceConfig, feed: &Feed, times: Times) {
    let relay = |i: &u32| feed.relays.get(*i as usize);
    let mut items = Vec::with_capacity(feed.exits.len());
    let mut own = Vec::new();
    for a in &feed.exits {
        match feed.origin(&a.net) {
            Some(o) => items.push(Imported {
                net: a.net,
                sources: &o.sources,
                relays: o.relays.iter().filter_map(relay).collect(),
                approximate: a.approximate,
                first: o.first_seen,
                last: a.seen.unwrap_or(times.now).min(times.now),
            }),
            // An address without the other instance's word for it (none in a well-formed list) is this source's.
            None => own.push(Sighting {
                net: a.net,
                relay: a.relay.as_ref().and_then(relay),
                approximate: a.approximate,
                measured: None,
            }),
        }
    }
    history.import(&source.list, items, times.gap);
    let tracked = history
        .lists
        .get(&source.list)
        .is_some_and(|b| b.tracks.contains_key(&source.name));
    if !own.is_empty() || tracked {
        history.observe(&source.list, &source.name, own, times);
    }
}

/// What a source's last good list covers, for the guard's `max_cover`: its open spans, and for a `torwatch` source
/// the addresses of its list it holds under the other instance's source names.
fn last_good(
    state: &SavedState,
    source: &SourceConfig,
    retention: i64,
) -> crate::feeds::guard::Coverage {
    let own = state
        .history
        .lists
        .values()
        .filter_map(|b| b.tracks.get(&source.name))
        .flat_map(|t| t.open());
    let followed = if source.kind == FeedKind::Torwatch {
        followed(state)
    } else {
        BTreeMap::new()
    };
    let imported = state
        .history
        .lists
        .get(&source.list)
        .into_iter()
        .flat_map(|b| &b.tracks)
        .filter_map(|(name, t)| followed.get(name).map(|at| t.held(*at, retention)))
        .flatten();
    crate::feeds::guard::Coverage::of(own.chain(imported))
}

/// Every list the configuration defines.
pub fn known_lists(config: &Config) -> BTreeSet<String> {
    let windows = Window::ALL.map(ListId::ExitsWithin);
    let mut known: BTreeSet<String> = [ListId::Exits]
        .into_iter()
        .chain(windows)
        .map(|id| id.name().to_owned())
        .collect();
    for s in &config.sources {
        known.insert(s.list.clone());
        if s.kind == FeedKind::Onionoo {
            known.insert(ListId::Relays.name().to_owned());
        }
    }
    known
}

/// When each source with a last good list last succeeded. The sources of another instance that a `torwatch`
/// source follows ([`followed`]) succeeded, as far as this instance knows, at their latest sighting: so a follower
/// keeps its leader's last list as long as the leader does, also while the leader cannot be reached. Used by the
/// service, `lookup` and `scan`, so that they agree.
pub fn last_successes(state: &SavedState) -> BTreeMap<String, i64> {
    let mut out = followed(state);
    for (name, st) in state.sources.iter().filter(|(_, st)| st.loaded) {
        out.insert(name.clone(), st.last_success);
    }
    out
}

/// The sources of another instance that this one follows, with their latest sighting in any list: the history's
/// tracks of names no source here has (only a `torwatch` source's import writes those).
pub fn followed(state: &SavedState) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for book in state.history.lists.values() {
        for (name, track) in &book.tracks {
            if state.sources.contains_key(name) {
                continue;
            }
            if let Some(last) = track.latest() {
                let at = out.entry(name.clone()).or_insert(last);
                *at = (*at).max(last);
            }
        }
    }
    out
}

/// Builds the snapshot for `now` from the state, bumping list versions whose contents changed.
pub fn build(config: &Config, state: &mut SavedState, previous: &Snapshot, now: i64) -> Snapshot {
    let last_success = last_successes(state);
    let rule = CurrentRule {
        last_success: &last_success,
        retention: config.retention.as_secs() as i64,
        now,
    };
    let enrich = Enrichment::new(config, state);
    let known = known_lists(config);
    let mut built = Vec::new();
    for name in &known {
        let loaded = config
            .sources
            .iter()
            .any(|s| feeds_list(s, name) && state.sources.get(&s.name).is_some_and(|st| st.loaded));
        if !loaded {
            continue;
        }
        let fill = |net: &IpNet, prov: &mut Provenance| enrich.fill(net, prov);
        let entries = match ListId::parse(name) {
            ListId::ExitsWithin(w) => {
                state
                    .history
                    .window(ListId::Exits.name(), &rule, w.secs(), fill)
            }
            _ => state.history.current(name, &rule, fill),
        };
        // `exclude` means never blocked: excluded ranges are carved out of wider networks, not only dropped.
        let mut entries = crate::list::exclude(entries, &config.exclude);
        if !config.exclude.is_empty() {
            entries.sort_by_key(|e| e.net);
            entries.dedup_by(|a, b| a.net == b.net);
        }
        built.push((name.clone(), entries));
    }
    drop(enrich);
    let mut lists = BTreeMap::new();
    let mut renders = BTreeMap::new();
    for (name, entries) in built {
        let meta = state.lists.entry(name.clone()).or_insert(ListMeta {
            version: 0,
            updated: now,
            digest: 0,
        });
        // The version, and with it every format's ETag and Last-Modified, moves only when the contents do: a
        // fetch that confirms the same list (304, or the same entries) changes nothing a firewall sees.
        let digest = crate::list::digest(&entries);
        if meta.version == 0 || meta.digest != digest {
            meta.version += 1;
            meta.updated = now;
            meta.digest = digest;
        }
        let reuse = previous
            .lists
            .get(&name)
            .filter(|l| l.version == meta.version);
        let (list, render) = match (reuse, previous.renders.get(&name)) {
            (Some(l), Some(r)) => (l.clone(), r.clone()),
            _ => {
                let list = Arc::new(List::new(name.clone(), meta.version, meta.updated, entries));
                (list.clone(), Arc::new(Renders::new(list)))
            }
        };
        lists.insert(name.clone(), list);
        renders.insert(name, render);
    }
    let sources = config
        .sources
        .iter()
        .map(|s| {
            let st = state.sources.get(&s.name).cloned().unwrap_or_default();
            SourceStatus {
                name: s.name.clone(),
                kind: s.kind.as_str(),
                enabled: s.enabled,
                list: s.list.clone(),
                entries: st.entries,
                last_success: st.last_success,
                last_attempt: st.last_attempt,
                last_result: st.last_result,
                last_error: st.last_error,
                dropped: st.last_dropped,
            }
        })
        .collect();
    Snapshot {
        lists,
        renders,
        known,
        sources,
        built: now,
        state_error: None,
    }
}

/// Relay details from Onionoo, joined to addresses by fingerprint or by address.
struct Enrichment<'a> {
    by_fingerprint: HashMap<&'a str, &'a RelayInfo>,
    /// What any list's history knows of an address (Onionoo's OR and exit addresses carry country, AS, …).
    by_addr: HashMap<IpNet, &'a Info>,
}

impl<'a> Enrichment<'a> {
    fn new(config: &Config, state: &'a SavedState) -> Enrichment<'a> {
        let mut e = Enrichment {
            by_fingerprint: HashMap::new(),
            by_addr: HashMap::new(),
        };
        for s in config
            .sources
            .iter()
            .filter(|s| s.kind == FeedKind::Onionoo)
        {
            let Some(st) = state.sources.get(&s.name) else {
                continue;
            };
            for r in &st.relays {
                e.by_fingerprint.insert(r.fingerprint.as_str(), r);
            }
        }
        for book in state.history.lists.values() {
            for (net, info) in &book.info {
                if info.country.is_some() || info.nickname.is_some() || info.as_number.is_some() {
                    e.by_addr.entry(*net).or_insert(info);
                }
            }
        }
        e
    }

    fn fill(&self, net: &IpNet, prov: &mut Provenance) {
        let (nickname, country, as_number, as_name) = match prov
            .fingerprints
            .iter()
            .find_map(|f| self.by_fingerprint.get(f.as_str()))
        {
            Some(r) => (&r.nickname, &r.country, r.as_number, &r.as_name),
            None => match self.by_addr.get(net) {
                Some(i) => (&i.nickname, &i.country, i.as_number, &i.as_name),
                None => return,
            },
        };
        if prov.nickname.is_none() {
            prov.nickname.clone_from(nickname);
        }
        if prov.country.is_none() {
            prov.country.clone_from(country);
        }
        if prov.as_number.is_none() {
            prov.as_number = as_number;
        }
        if prov.as_name.is_none() {
            prov.as_name.clone_from(as_name);
        }
    }
}

/// The span of time the history can answer for: from its earliest span (a first fetch of TorDNSEL already covers
/// the day its measurements describe) to `now`; `None` when no source ever delivered a list.
pub fn covered(state: &SavedState, now: i64) -> Option<(i64, i64)> {
    if !state.sources.values().any(|s| s.loaded) {
        return None;
    }
    let from = state.history.earliest()?;
    Some((from.min(now), now))
}

/// The answer to `torwatch lookup`: per list, the matching networks and their sources at `at`.
pub fn lookup(
    config: &Config,
    state: &SavedState,
    addr: std::net::IpAddr,
    at: i64,
    now: i64,
) -> Vec<(String, IpNet, Provenance)> {
    let last_success = last_successes(state);
    let rule = CurrentRule {
        last_success: &last_success,
        retention: config.retention.as_secs() as i64,
        now,
    };
    let mut out = Vec::new();
    for list in state.history.lists.keys() {
        for (net, prov) in state.history.lookup(list, addr, at, &rule) {
            out.push((list.clone(), net, prov));
        }
    }
    out
}

#[cfg(test)]
mod tests;
