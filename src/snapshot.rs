//! The immutable view of everything published: the loaded lists and each source's status. The keeper builds a new
//! one and swaps it in atomically; HTTP handlers, publishers and the matcher read the current one without locks.

use crate::lists::List;
use crate::rendered::Renders;
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
        self.lists.contains_key(crate::keeper::EXITS)
    }
}

/// The shared handle: one writer (the keeper), many readers.
pub type Shared = Arc<ArcSwap<Snapshot>>;

pub fn shared() -> Shared {
    Arc::new(ArcSwap::from_pointee(Snapshot::default()))
}
