//! Metrics the keeper owns: source fetch outcomes and list health (`torwatch_source_*`, `torwatch_list_*`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub source: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    pub source: String,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListLabels {
    pub list: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListFamilyLabels {
    pub list: String,
    pub family: String,
}

/// Every `result` label value, created at zero so `increase()` sees the first failure.
pub const RESULTS: [&str; 15] = [
    "ok",
    "unchanged",
    "connect_error",
    "timeout",
    "http_error",
    "rate_limited",
    "too_large",
    "empty",
    "html",
    "bad_line",
    "malformed",
    "below_floor",
    "shrink",
    "max_cover",
    "io_error",
];

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

pub struct KeeperMetrics {
    pub fetches: Family<ResultLabels, Counter>,
    pub dropped: Family<DropLabels, Counter>,
    pub last_success: Family<SourceLabels, Gauge>,
    pub last_attempt: Family<SourceLabels, Gauge>,
    pub entries: Family<SourceLabels, Gauge>,
    pub up: Family<SourceLabels, Gauge>,
    pub duration: Family<SourceLabels, Histogram, fn() -> Histogram>,
    pub list_entries: Family<ListFamilyLabels, Gauge>,
    pub list_updated: Family<ListLabels, Gauge>,
    pub list_changed: Family<ListLabels, Gauge>,
    pub loaded: Gauge,
    pub state_writes: Family<WriteLabels, Counter>,
}

impl KeeperMetrics {
    pub fn register(reg: &mut Registry) -> KeeperMetrics {
        let m = KeeperMetrics {
            fetches: Family::default(),
            dropped: Family::default(),
            last_success: Family::default(),
            last_attempt: Family::default(),
            entries: Family::default(),
            up: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            list_entries: Family::default(),
            list_updated: Family::default(),
            list_changed: Family::default(),
            loaded: Gauge::default(),
            state_writes: Family::default(),
        };
        for result in ["ok", "error"] {
            let _ = m.state_writes.get_or_create(&WriteLabels { result });
        }
        reg.register(
            "torwatch_source_fetches",
            "Exit list fetches by source and outcome",
            m.fetches.clone(),
        );
        reg.register(
            "torwatch_source_dropped_entries",
            "Feed entries the list guard refused, by source and reason",
            m.dropped.clone(),
        );
        reg.register(
            "torwatch_source_last_success_timestamp_seconds",
            "Unix time of the last successful or unchanged fetch (0: never)",
            m.last_success.clone(),
        );
        reg.register(
            "torwatch_source_last_attempt_timestamp_seconds",
            "Unix time of the last fetch attempt",
            m.last_attempt.clone(),
        );
        reg.register(
            "torwatch_source_entries",
            "Addresses in the source's last good list",
            m.entries.clone(),
        );
        reg.register(
            "torwatch_source_up",
            "1 when the source's last fetch succeeded",
            m.up.clone(),
        );
        reg.register(
            "torwatch_source_fetch_duration_seconds",
            "Duration of each fetch",
            m.duration.clone(),
        );
        reg.register(
            "torwatch_list_entries",
            "Entries per published list and address family",
            m.list_entries.clone(),
        );
        reg.register(
            "torwatch_list_updated_timestamp_seconds",
            "Unix time the list's sources last confirmed it",
            m.list_updated.clone(),
        );
        reg.register(
            "torwatch_list_changed_timestamp_seconds",
            "Unix time the list's contents last changed",
            m.list_changed.clone(),
        );
        reg.register(
            "torwatch_list_loaded",
            "1 once the exit list is loaded (from state or a fetch)",
            m.loaded.clone(),
        );
        reg.register(
            "torwatch_state_writes",
            "State file saves by outcome",
            m.state_writes.clone(),
        );
        m
    }

    pub fn source(name: &str) -> SourceLabels {
        SourceLabels {
            source: name.to_string(),
        }
    }
}
