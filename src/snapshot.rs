//! The immutable view of everything published: the loaded lists and each source's status. The keeper builds a new
//! one and swaps it in atomically; HTTP handlers, publishers and the matcher read the current one without locks.

use crate::formats::cache::Renders;
use crate::list::{List, ListId};
use arc_swap::ArcSwap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Status of one source, as shown on `/readyz`, the status page and in `lookup`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: &'static str,
    pub enabled: bool,
    pub list: String,
    pub entries: usize,
    pub last_success: i64,
    pub last_attempt: i64,
    pub last_result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Entries the list guard dropped from the last fetch, by reason.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Lists that have been loaded (from state or a fetch). A known list that is absent here was never loaded and
    /// must not be published (HTTP 503), never as empty.
    pub lists: BTreeMap<String, Arc<List>>,
    /// Renderings of each loaded list, computed on first use and shared while the list version stays.
    pub renders: BTreeMap<String, Arc<Renders>>,
    /// Every list name the configuration defines.
    pub known: BTreeSet<String>,
    pub sources: Vec<SourceStatus>,
    /// Unix seconds when this snapshot was built.
    pub built: i64,
    /// Why the last state save failed, shown on `/readyz` until a save succeeds.
    pub state_error: Option<String>,
}

impl Snapshot {
    /// True once the exit list is loaded.
    pub fn ready(&self) -> bool {
        self.lists.contains_key(ListId::Exits.name())
    }

    /// The latest success of any source that feeds `list` (the exit sources feed the history windows, Onionoo and
    /// a follower's source of its leader's `tor-relays` the relays); 0 when none ever succeeded.
    pub fn confirmed(&self, list: &str) -> i64 {
        let list = ListId::parse(list);
        self.sources
            .iter()
            .filter(|s| list.fed_by(&s.list, s.kind == "onionoo"))
            .map(|s| s.last_success)
            .max()
            .unwrap_or(0)
    }

    /// Whether a loaded list counts as stale at `now`: no source has confirmed it for longer than `stale_after`
    /// seconds.
    pub fn is_stale(&self, list: &str, stale_after: i64, now: i64) -> bool {
        let confirmed = self.confirmed(list);
        confirmed == 0 || now.saturating_sub(confirmed) > stale_after
    }

    /// One line per loaded list that is stale at `now`, for `/readyz`.
    pub fn stale(&self, stale_after: i64, now: i64) -> Vec<String> {
        self.lists
            .keys()
            .filter(|name| self.is_stale(name, stale_after, now))
            .map(|name| match self.confirmed(name) {
                0 => format!("list {name} is stale: no source has confirmed it"),
                at => format!(
                    "list {name} is stale: last confirmed {}s ago (stale_after {stale_after}s)",
                    now.saturating_sub(at)
                ),
            })
            .collect()
    }
}

/// The shared handle: one writer (the keeper), many readers.
pub type Shared = Arc<ArcSwap<Snapshot>>;

pub fn shared() -> Shared {
    Arc::new(ArcSwap::from_pointee(Snapshot::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::ListId;
    const EXITS: &str = ListId::Exits.name();
    const RELAYS: &str = ListId::Relays.name();

    #[test]
    fn confirmed_follows_the_lists_a_source_feeds() {
        let source = |name: &str, kind: &'static str, list: &str, at: i64| SourceStatus {
            name: name.into(),
            kind,
            list: list.into(),
            last_success: at,
            ..SourceStatus::default()
        };
        let snapshot = Snapshot {
            sources: vec![
                source("bulk", "bulk", EXITS, 100),
                source("onionoo", "onionoo", EXITS, 200),
                source("drop", "plain", "spamhaus", 50),
            ],
            ..Snapshot::default()
        };
        assert_eq!(snapshot.confirmed(EXITS), 200);
        assert_eq!(snapshot.confirmed("tor-exits-7d"), 200);
        assert_eq!(snapshot.confirmed(RELAYS), 200);
        assert_eq!(snapshot.confirmed("spamhaus"), 50);
        assert_eq!(snapshot.confirmed("other"), 0);
        // a follower: its leader's two lists, each confirmed by its own source
        let follower = Snapshot {
            sources: vec![
                source("leader", "torwatch", EXITS, 300),
                source("leader-relays", "torwatch", RELAYS, 290),
            ],
            ..Snapshot::default()
        };
        assert_eq!(follower.confirmed(EXITS), 300);
        assert_eq!(follower.confirmed("tor-exits-30d"), 300);
        assert_eq!(follower.confirmed(RELAYS), 290);
    }

    #[test]
    fn a_list_is_stale_after_stale_after_without_a_confirmation() {
        let snapshot = Snapshot {
            lists: BTreeMap::from([
                (
                    EXITS.to_string(),
                    Arc::new(crate::list::List::new(EXITS, 1, 0, Vec::new())),
                ),
                (
                    "mine".to_string(),
                    Arc::new(crate::list::List::new("mine", 1, 0, Vec::new())),
                ),
            ]),
            sources: vec![SourceStatus {
                name: "bulk".into(),
                kind: "bulk",
                list: EXITS.into(),
                last_success: 1000,
                ..SourceStatus::default()
            }],
            ..Snapshot::default()
        };
        assert!(
            !snapshot.is_stale(EXITS, 3600, 4600),
            "exactly stale_after: not yet"
        );
        assert!(snapshot.is_stale(EXITS, 3600, 4601));
        assert_eq!(
            snapshot.stale(3600, 4601),
            [
                "list mine is stale: no source has confirmed it",
                "list tor-exits is stale: last confirmed 3601s ago (stale_after 3600s)",
            ]
        );
        assert_eq!(
            snapshot.stale(3600, 2000),
            ["list mine is stale: no source has confirmed it"]
        );
    }
}
