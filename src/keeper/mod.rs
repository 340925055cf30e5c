//! The exit list keeper: schedules the sources, merges what they accept into the lists with their history,
//! persists the last good state and publishes each new [`Snapshot`] by swapping it atomically. It is the only
//! writer of the lists; readers never wait for it, and a failed or rejected fetch changes nothing but counters.

pub mod history;
pub mod metrics;
pub mod poll;
pub mod state;

use crate::config::{Config, SourceConfig};
use crate::feeds::{validate, Feed, FeedKind, RelayInfo};
use crate::lists::{Family, List, ListEntry, Provenance};
use crate::rendered::Renders;
use crate::snapshot::{Shared, Snapshot, SourceStatus};
use history::{Currency, History, Imported, Sighting};
use ipnet::IpNet;
use metrics::{DropLabels, KeeperMetrics, ListFamilyLabels, ListLabels, ResultLabels, WriteLabels};
use poll::{Outcome, Poller, Report};
use state::{ListMeta, SourceState, State};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The exit list.
pub const EXITS: &str = "tor-exits";
/// All relays' OR addresses, for outbound detection.
pub const RELAYS: &str = "tor-relays";
/// History windows published as `tor-exits-1d`, `-7d`, `-30d`.
pub const WINDOWS: [(&str, i64); 3] = [("1d", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)];

pub struct Keeper {
    config: Arc<Config>,
    state: State,
    shared: Shared,
    metrics: Arc<KeeperMetrics>,
    changed: watch::Sender<u64>,
    /// Why the last state save failed; `None` after a successful one.
    state_error: Option<String>,
}

impl Keeper {
    /// Loads the persisted state and publishes it at once, before any fetch. A state file that cannot be read is
    /// an error: starting empty would forget the last good list.
    pub fn load(
        config: Arc<Config>,
        shared: Shared,
        metrics: Arc<KeeperMetrics>,
    ) -> anyhow::Result<Keeper> {
        let state = State::load(&config.state_dir)?.unwrap_or_default();
        let (changed, _) = watch::channel(0);
        let mut keeper = Keeper {
            config,
            state,
            shared,
            metrics,
            changed,
            state_error: None,
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
                    .set(st.feed.as_ref().map_or(0, validate::entries) as i64);
            }
        }
        keeper.publish(now(), false);
        Ok(keeper)
    }

    /// A receiver that sees a new value whenever a new snapshot is published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Takes a new configuration (on reload), keeping the state; the next `run` uses it.
    pub fn reconfigure(&mut self, config: Arc<Config>) {
        self.config = config;
        self.publish(now(), false);
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
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                report = rx.recv() => match report {
                    Some(r) => self.apply(r),
                    None => shutdown.cancelled().await,
                },
            }
        }
        tracker.close();
        tracker.wait().await;
        self.save();
        self
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
            etag: st.feed.as_ref().and(st.etag.clone()),
            last_modified: st.feed.as_ref().and(st.last_modified.clone()),
            previous: st.feed.as_ref().map(validate::entries),
            cover: st.feed.as_ref().map_or_else(Default::default, |f| {
                crate::feeds::guard::Coverage::of(
                    f.exits.iter().chain(&f.relays_or).map(|a| &a.net),
                )
            }),
            failures: st.failures,
            first_delay: Duration::from_secs(due.saturating_sub(now).max(0) as u64),
        }
    }

    /// Merges one poller report.
    pub fn apply(&mut self, report: Report) {
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
            Outcome::Failed { reason, message } => {
                tracing::warn!(source = %name, reason, "fetch failed, keeping the last good list: {message}");
                st.failures = st.failures.saturating_add(1);
                st.last_error = Some(message);
                self.metrics.up.get_or_create(&labels).set(0);
            }
            Outcome::Accepted {
                feed,
                etag,
                last_modified,
            } => {
                tracing::info!(source = %name, entries = validate::entries(&feed), "new list accepted");
                st.feed = Some(feed);
                st.etag = etag;
                st.last_modified = last_modified;
                self.confirm(report.source, report.at);
            }
            Outcome::Unchanged => {
                tracing::debug!(source = %name, "unchanged");
                if st.feed.is_some() {
                    self.confirm(report.source, report.at);
                }
            }
        }
        let horizon = report.at
            - self.config.history.as_secs() as i64
            - self.config.retention.as_secs() as i64;
        self.state.history.prune(horizon);
        self.publish(report.at, true);
        // Counted last, so whoever sees the outcome counted also sees the lists it produced.
        self.metrics
            .fetches
            .get_or_create(&ResultLabels {
                source: name,
                result: result.to_string(),
            })
            .inc();
    }

    /// Saves the state, counts the outcome and remembers a failure for `/readyz`.
    fn save(&mut self) {
        let result = match self.state.save(&self.config.state_dir) {
            Ok(()) => {
                self.state_error = None;
                "ok"
            }
            Err(e) => {
                tracing::error!("saving state, serving from memory: {e:#}");
                self.state_error = Some(format!("state: {e:#}"));
                "error"
            }
        };
        self.metrics
            .state_writes
            .get_or_create(&WriteLabels { result })
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
        let Some(feed) = &st.feed else { return };
        self.metrics
            .entries
            .get_or_create(&labels)
            .set(validate::entries(feed) as i64);
        observe(
            &mut self.state.history,
            source,
            feed,
            at,
            self.config.retention.as_secs() as i64,
        );
    }

    /// Builds a new snapshot from the state and swaps it in. With `save`, the state (with the list versions the
    /// build assigned) is saved first, so a crash never leaves published files newer than the state.
    fn publish(&mut self, now: i64, save: bool) {
        let previous = self.shared.load_full();
        let mut snapshot = build(&self.config, &mut self.state, &previous, now);
        if save {
            self.save();
        }
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

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The lists a source feeds.
fn feeds_list(source: &SourceConfig, list: &str) -> bool {
    match list {
        RELAYS => source.kind == FeedKind::Onionoo || source.list == RELAYS,
        _ => source.list == list || (list.starts_with(EXITS) && source.list == EXITS),
    }
}

/// When any source of the list last confirmed it.
fn confirmed_at(config: &Config, state: &State, list: &str) -> i64 {
    config
        .sources
        .iter()
        .filter(|s| feeds_list(s, list))
        .filter_map(|s| state.sources.get(&s.name))
        .filter(|st| st.feed.is_some())
        .map(|st| st.last_success)
        .max()
        .unwrap_or(0)
}

fn observe(history: &mut History, source: &SourceConfig, feed: &Feed, at: i64, gap: i64) {
    if source.kind == FeedKind::Torwatch {
        return follow(history, source, feed, at, gap);
    }
    let sightings = |addrs: &'_ [crate::feeds::FeedAddr]| -> Vec<(IpNet, Option<usize>, bool)> {
        addrs
            .iter()
            .map(|a| (a.net, a.relay.map(|r| r as usize), a.approximate))
            .collect()
    };
    let relay = |i: Option<usize>| i.and_then(|i| feed.relays.get(i));
    let exits = sightings(&feed.exits);
    history.observe(
        &source.list,
        &source.name,
        exits.iter().map(|(net, r, approx)| Sighting {
            net: *net,
            relay: relay(*r),
            approximate: *approx,
        }),
        at,
        gap,
    );
    if !feed.relays_or.is_empty() {
        let relays = sightings(&feed.relays_or);
        history.observe(
            RELAYS,
            &source.name,
            relays.iter().map(|(net, r, _)| Sighting {
                net: *net,
                relay: relay(*r),
                approximate: false,
            }),
            at,
            gap,
        );
    }
}

/// A `torwatch` source's feed: each address goes into the history under the other instance's source names, with
/// its times (never later than this fetch), so that lookups, windows and `scan` answer as that instance does.
fn follow(history: &mut History, source: &SourceConfig, feed: &Feed, at: i64, gap: i64) {
    for a in &feed.exits {
        let relay = |i: &u32| feed.relays.get(*i as usize);
        match feed.origin(&a.net) {
            Some(o) => {
                let item = Imported {
                    net: a.net,
                    relays: o.relays.iter().filter_map(relay).collect(),
                    approximate: a.approximate,
                    first: o.first_seen,
                    last: a.seen.unwrap_or(at).min(at),
                };
                history.import(&source.list, &o.sources, item, gap);
            }
            None => history.observe(
                &source.list,
                &source.name,
                [Sighting {
                    net: a.net,
                    relay: a.relay.as_ref().and_then(relay),
                    approximate: a.approximate,
                }],
                at,
                gap,
            ),
        }
    }
}

/// Every list the configuration defines.
pub fn known_lists(config: &Config) -> BTreeSet<String> {
    let mut known = BTreeSet::from([EXITS.to_string()]);
    for (w, _) in WINDOWS {
        known.insert(format!("{EXITS}-{w}"));
    }
    for s in &config.sources {
        known.insert(s.list.clone());
        if s.kind == FeedKind::Onionoo {
            known.insert(RELAYS.into());
        }
    }
    known
}

/// When each source with a last good list last succeeded. The sources of another instance that a `torwatch`
/// source follows (the names its last good feed gives) succeeded, as far as this instance knows, at their latest
/// sighting: so a follower keeps its leader's last list as long as the leader does, also while the leader cannot be
/// reached. Used by the service, `lookup` and `scan`, so that they agree.
pub fn last_successes(state: &State) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = state
        .sources
        .iter()
        .filter(|(_, st)| st.feed.is_some())
        .map(|(n, st)| (n.clone(), st.last_success))
        .collect();
    let followed: BTreeSet<&str> = state
        .sources
        .values()
        .filter_map(|st| st.feed.as_ref())
        .flat_map(|f| &f.origins)
        .flat_map(|o| &o.sources)
        .map(String::as_str)
        .filter(|name| !state.sources.contains_key(*name))
        .collect();
    if followed.is_empty() {
        return out;
    }
    for record in state.history.lists.values().flat_map(BTreeMap::values) {
        for (name, spans) in &record.sources {
            let Some(last) = spans.last().filter(|_| followed.contains(name.as_str())) else {
                continue;
            };
            let at = out.entry(name.clone()).or_insert(last.1);
            *at = (*at).max(last.1);
        }
    }
    out
}

/// Builds the snapshot for `now` from the state, bumping list versions whose contents changed.
pub fn build(config: &Config, state: &mut State, previous: &Snapshot, now: i64) -> Snapshot {
    let last_success = last_successes(state);
    let currency = Currency {
        last_success: &last_success,
        retention: config.retention.as_secs() as i64,
        now,
    };
    let enrich = Enrichment::new(config, state);
    let known = known_lists(config);
    let mut built = Vec::new();
    for name in &known {
        let loaded = config.sources.iter().any(|s| {
            feeds_list(s, name)
                && state
                    .sources
                    .get(&s.name)
                    .is_some_and(|st| st.feed.is_some())
        });
        if !loaded {
            continue;
        }
        let window = WINDOWS
            .iter()
            .find(|(w, _)| *name == format!("{EXITS}-{w}"))
            .map(|(_, secs)| *secs);
        let members = match window {
            Some(secs) => state.history.window(EXITS, &currency, secs),
            None => state.history.current(name, &currency),
        };
        let entries: Vec<ListEntry> = members
            .into_iter()
            .map(|(net, mut prov)| {
                enrich.fill(&net, &mut prov);
                ListEntry { net, prov }
            })
            .collect();
        // `exclude` means never blocked: excluded ranges are carved out of wider networks, not only dropped.
        let mut entries = crate::lists::exclude(entries, &config.exclude);
        entries.sort_by_key(|e| e.net);
        entries.dedup_by(|a, b| a.net == b.net);
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
        let digest = crate::lists::digest(&entries);
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
                entries: st.feed.as_ref().map_or(0, validate::entries),
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
    by_addr: HashMap<IpNet, &'a RelayInfo>,
}

impl<'a> Enrichment<'a> {
    fn new(config: &Config, state: &'a State) -> Enrichment<'a> {
        let mut e = Enrichment {
            by_fingerprint: HashMap::new(),
            by_addr: HashMap::new(),
        };
        for s in config
            .sources
            .iter()
            .filter(|s| s.kind == FeedKind::Onionoo)
        {
            let Some(feed) = state.sources.get(&s.name).and_then(|st| st.feed.as_ref()) else {
                continue;
            };
            for r in &feed.relays {
                e.by_fingerprint.insert(r.fingerprint.as_str(), r);
            }
            for a in feed.relays_or.iter().chain(&feed.exits) {
                if let Some(r) = a.relay.and_then(|i| feed.relays.get(i as usize)) {
                    e.by_addr.insert(a.net, r);
                }
            }
        }
        e
    }

    fn fill(&self, net: &IpNet, prov: &mut Provenance) {
        let relay = prov
            .fingerprints
            .iter()
            .find_map(|f| self.by_fingerprint.get(f.as_str()))
            .or_else(|| self.by_addr.get(net))
            .copied();
        let Some(r) = relay else { return };
        if prov.nickname.is_none() {
            prov.nickname.clone_from(&r.nickname);
        }
        if prov.country.is_none() {
            prov.country.clone_from(&r.country);
        }
        if prov.as_number.is_none() {
            prov.as_number = r.as_number;
        }
        if prov.as_name.is_none() {
            prov.as_name.clone_from(&r.as_name);
        }
    }
}

/// The answer to `torwatch lookup`: per list, the matching networks and their sources at `at`.
pub fn lookup(
    config: &Config,
    state: &State,
    addr: std::net::IpAddr,
    at: i64,
    now: i64,
) -> Vec<(String, IpNet, Provenance)> {
    let last_success = last_successes(state);
    let currency = Currency {
        last_success: &last_success,
        retention: config.retention.as_secs() as i64,
        now,
    };
    let mut out = Vec::new();
    for list in state.history.lists.keys() {
        for (net, prov) in state.history.lookup(list, addr, at, &currency) {
            out.push((list.clone(), net, prov));
        }
    }
    out
}

impl SourceState {
    /// Entry count of the last good feed.
    pub fn entries(&self) -> usize {
        self.feed.as_ref().map_or(0, validate::entries)
    }
}
