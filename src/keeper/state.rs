//! The keeper's persisted state: each source's status and validators, the list versions, and the membership
//! history (whose open spans are each source's last good list). Saved atomically (temp file, fsync, rename, fsync
//! of the directory) so a crash leaves the old or the new file, never half of one. A state file of the first
//! format (each source's whole last feed, the history as one object per address) is read and migrated.

use super::history::{Book, History, Info, Span, Track};
use crate::atomic_file::{self, Durability};
use crate::feeds::{Feed, RelayInfo};
use anyhow::Context;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FILE: &str = "lists.json";
/// The history, saved only when it changed (a confirming fetch changes only `lists.json`).
const HISTORY: &str = "history.json";
const FORMAT: u32 = 2;

/// What the keeper remembers of one source. Its last good list is the history's open spans of that source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// A list from this source passed validation once (and is kept as its last good list).
    #[serde(default)]
    pub loaded: bool,
    /// Entry count of the last good list.
    #[serde(default)]
    pub entries: usize,
    /// The relays the last good list described (Onionoo: for enrichment by fingerprint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<RelayInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Unix seconds of the last accepted or unchanged fetch (0: never).
    pub last_success: i64,
    /// Unix seconds of the last attempt (0: never).
    pub last_attempt: i64,
    /// Outcome of the last attempt, a `torwatch_source_fetches_total` result label.
    #[serde(default)]
    pub last_result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Consecutive failed attempts.
    #[serde(default)]
    pub failures: u32,
    /// Entries the list guard dropped from the last fetch, by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_dropped: BTreeMap<String, usize>,
    /// Unix seconds before which a failing source is not fetched again (backoff and `Retry-After`); 0: no wait.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_at: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Version and change time of a published list, so ETags survive a restart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMeta {
    pub version: u64,
    pub updated: i64,
    /// [`crate::list::digest`] of the contents that version has (0: not known, as in older state files).
    #[serde(default)]
    pub digest: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedState {
    pub format: u32,
    pub sources: BTreeMap<String, SourceState>,
    /// Kept in `history.json` (the first format had it here).
    #[serde(default)]
    pub history: History,
    #[serde(default)]
    pub lists: BTreeMap<String, ListMeta>,
}

impl SavedState {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    pub fn history_path(dir: &Path) -> PathBuf {
        dir.join(HISTORY)
    }

    /// Loads the state file; `Ok(None)` when there is none yet. Temporary files left by a crash during a save
    /// are removed first (the state file itself is always whole: it is only ever replaced by rename).
    pub fn load(dir: &Path) -> anyhow::Result<Option<SavedState>> {
        let stale = [format!(".{FILE}.tmp"), format!(".{HISTORY}.tmp")];
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if stale.iter().any(|s| name.starts_with(s)) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let path = SavedState::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let version: Version = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a torwatch state file", path.display()))?;
        let state = match version.format {
            FORMAT => {
                let mut state: SavedState = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a torwatch state file", path.display()))?;
                let path = SavedState::history_path(dir);
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        let file: HistoryFile =
                            serde_json::from_slice(&bytes).with_context(|| {
                                format!("{} is not a torwatch history file", path.display())
                            })?;
                        state.history = History { lists: file.lists };
                        state.catch_up(file.sources);
                    }
                    // Without its history no source's last good list is known: fetch again rather than
                    // publish empty lists.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        for s in state.sources.values_mut() {
                            s.loaded = false;
                        }
                    }
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", path.display()))
                    }
                }
                state
            }
            1 => serde_json::from_slice::<v1::FirstFormat>(&bytes)
                .with_context(|| format!("{} is not a torwatch state file", path.display()))?
                .migrate(),
            other => anyhow::bail!("{}: unknown state format {other}", path.display()),
        };
        Ok(Some(state))
    }

    /// The bytes of `lists.json` and, with `history`, of `history.json`.
    pub fn to_bytes(&self, history: bool) -> anyhow::Result<Files> {
        #[derive(Serialize)]
        struct Versioned<'a> {
            format: u32,
            sources: &'a BTreeMap<String, SourceState>,
            lists: &'a BTreeMap<String, ListMeta>,
        }
        let state = serde_json::to_vec(&Versioned {
            format: FORMAT,
            sources: &self.sources,
            lists: &self.lists,
        })?;
        let history = if history {
            let sources = self
                .sources
                .iter()
                .filter(|(_, s)| s.loaded && s.last_success > 0)
                .map(|(name, s)| {
                    let mark = Confirmed {
                        last_success: s.last_success,
                        entries: s.entries,
                    };
                    (name.clone(), mark)
                })
                .collect();
            Some(serde_json::to_vec(&HistoryFileOut {
                lists: &self.history.lists,
                sources,
            })?)
        } else {
            None
        };
        Ok(Files { state, history })
    }

    /// Saves both files.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        self.to_bytes(true)?.write(dir)
    }

    /// Takes over, for each source the history was written after `lists.json` had last saved, the last success
    /// and entry count the history was written with. A crash between the two renames leaves such a pair: the
    /// history's spans are relative to the fetch that closed them, and judged against the older last success,
    /// the addresses that fetch dropped would still count as current (with a short retention the lists would be
    /// the union of two lists no source gave). The older list's validators are dropped with it: sent for the
    /// newer list, a 304 would confirm a list the source no longer serves.
    fn catch_up(&mut self, marks: BTreeMap<String, Confirmed>) {
        for (name, mark) in marks {
            let st = self.sources.entry(name).or_default();
            if st.loaded && st.last_success >= mark.last_success {
                continue;
            }
            st.loaded = true;
            st.entries = mark.entries;
            st.last_success = mark.last_success;
            st.last_attempt = st.last_attempt.max(mark.last_success);
            st.etag = None;
            st.last_modified = None;
            st.failures = 0;
            st.last_error = None;
        }
    }
}

/// A source's last success and entry count when the history was written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Confirmed {
    last_success: i64,
    entries: usize,
}

/// `history.json`: the history and what each source had confirmed when it was written (absent in files written
/// before it was recorded).
#[derive(Deserialize)]
struct HistoryFile {
    lists: BTreeMap<String, Book>,
    #[serde(default)]
    sources: BTreeMap<String, Confirmed>,
}

#[derive(Serialize)]
struct HistoryFileOut<'a> {
    lists: &'a BTreeMap<String, Book>,
    sources: BTreeMap<String, Confirmed>,
}

/// The serialized state, ready to be written (off the keeper's task).
pub struct Files {
    pub state: Vec<u8>,
    pub history: Option<Vec<u8>>,
}

impl Files {
    pub fn len(&self) -> usize {
        self.state.len() + self.history.as_ref().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the history first: a crash between the two leaves a history newer than `lists.json`, and the
    /// history carries what `lists.json` lacks then (see [`SavedState::catch_up`]).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        if let Some(history) = &self.history {
            write_atomic(&SavedState::history_path(dir), history)?;
        }
        write_atomic(&SavedState::path(dir), &self.state)
    }
}

/// The first state format, read to migrate it.
mod v1 {
    use super::*;

    #[derive(Deserialize)]
    pub struct FirstFormat {
        sources: BTreeMap<String, Source>,
        history: FirstHistory,
        #[serde(default)]
        lists: BTreeMap<String, super::ListMeta>,
    }

    #[derive(Deserialize)]
    struct Source {
        feed: Option<Feed>,
        etag: Option<String>,
        last_modified: Option<String>,
        last_success: i64,
        last_attempt: i64,
        #[serde(default)]
        last_result: String,
        last_error: Option<String>,
        #[serde(default)]
        failures: u32,
    }

    #[derive(Deserialize)]
    struct FirstHistory {
        lists: BTreeMap<String, BTreeMap<IpNet, Record>>,
    }

    #[derive(Deserialize)]
    struct Record {
        sources: BTreeMap<String, Vec<Span>>,
        #[serde(default)]
        info: Info,
    }

    impl FirstFormat {
        /// The same state in the current format: each source's last good feed becomes its open spans.
        pub fn migrate(self) -> super::SavedState {
            let mut history = super::History::default();
            for (list, records) in self.history.lists {
                let mut rows: BTreeMap<String, Vec<(IpNet, Vec<Span>)>> = BTreeMap::new();
                let mut book = Book::default();
                for (net, record) in records {
                    for (source, spans) in record.sources {
                        rows.entry(source).or_default().push((net, spans));
                    }
                    if record.info != Info::default() {
                        book.info.insert(net, record.info);
                    }
                }
                for (source, rows) in rows {
                    let mut track: Track = rows.into_iter().collect();
                    if let Some(st) = self.sources.get(&source) {
                        if let Some(feed) = &st.feed {
                            let nets = feed.exits.iter().chain(&feed.relays_or).map(|a| a.net);
                            track.reopen(nets, st.last_success);
                        }
                    }
                    book.tracks.insert(source, track);
                }
                history.lists.insert(list, book);
            }
            let sources = self
                .sources
                .into_iter()
                .map(|(name, s)| {
                    let state = SourceState {
                        loaded: s.feed.is_some(),
                        entries: s.feed.as_ref().map_or(0, crate::feeds::validate::entries),
                        relays: s.feed.map(|f| f.relays).unwrap_or_default(),
                        etag: s.etag,
                        last_modified: s.last_modified,
                        last_success: s.last_success,
                        last_attempt: s.last_attempt,
                        last_result: s.last_result,
                        last_error: s.last_error,
                        failures: s.failures,
                        last_dropped: BTreeMap::new(),
                        retry_at: 0,
                    };
                    (name, state)
                })
                .collect();
            super::SavedState {
                format: FORMAT,
                sources,
                history,
                lists: self.lists,
            }
        }
    }
}

/// Replaces `path` (fsynced), creating its directory first.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    atomic_file::write(path, bytes, Durability::Synced)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SavedState::load(dir.path()).unwrap().is_none());
        let mut s = SavedState::default();
        s.sources.insert(
            "bulk".into(),
            SourceState {
                last_success: 7,
                etag: Some("\"x\"".into()),
                ..Default::default()
            },
        );
        s.save(dir.path()).unwrap();
        let back = SavedState::load(dir.path()).unwrap().unwrap();
        assert_eq!(back.sources["bulk"].etag.as_deref(), Some("\"x\""));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "lists.json and history.json, no temp file left behind"
        );
    }

    #[test]
    fn temp_files_of_a_crashed_save_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        SavedState::default().save(dir.path()).unwrap();
        std::fs::write(dir.path().join(".lists.json.tmp.4242.0"), b"{half").unwrap();
        std::fs::write(dir.path().join(".history.json.tmp.4242.0"), b"{half").unwrap();
        assert!(SavedState::load(dir.path()).unwrap().is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_first_format_state_file_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        // Written by the first format: bulk listed .1 since 100 (its last good list), .2 from 100 to 150.
        let old = r#"{"format":1,"sources":{"bulk":{"feed":{"exits":[{"net":"185.220.101.1/32"}]},
            "etag":"\"e\"","last_success":200,"last_attempt":200,"last_result":"ok"}},
            "history":{"lists":{"tor-exits":{
              "185.220.101.1/32":{"sources":{"bulk":[[100,200]]}},
              "185.220.101.2/32":{"sources":{"bulk":[[100,150]]},"info":{"nickname":"relay2"}}}}},
            "lists":{"tor-exits":{"version":7,"updated":150}}}"#;
        std::fs::write(SavedState::path(dir.path()), old).unwrap();
        let s = SavedState::load(dir.path()).unwrap().unwrap();
        assert_eq!(s.format, FORMAT);
        let bulk = &s.sources["bulk"];
        assert!(bulk.loaded);
        assert_eq!(bulk.entries, 1);
        assert_eq!(bulk.etag.as_deref(), Some("\"e\""));
        assert_eq!(s.lists["tor-exits"].version, 7);
        let book = &s.history.lists["tor-exits"];
        let open: Vec<String> = book.tracks["bulk"].open().map(|n| n.to_string()).collect();
        assert_eq!(open, ["185.220.101.1/32"], "the last good feed is open");
        assert_eq!(book.info.len(), 1);
        // Saved again, it loads in the current format.
        s.save(dir.path()).unwrap();
        assert_eq!(SavedState::load(dir.path()).unwrap().unwrap(), s);
    }

    #[test]
    fn without_its_history_no_source_counts_as_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SavedState::default();
        s.sources.insert(
            "bulk".into(),
            SourceState {
                loaded: true,
                entries: 3,
                ..Default::default()
            },
        );
        s.save(dir.path()).unwrap();
        std::fs::remove_file(SavedState::history_path(dir.path())).unwrap();
        let back = SavedState::load(dir.path()).unwrap().unwrap();
        assert!(
            !back.sources["bulk"].loaded,
            "fetched again, not published empty"
        );
    }

    #[test]
    fn a_history_written_after_lists_json_brings_the_sources_it_was_written_with() {
        let dir = tempfile::tempdir().unwrap();
        // `lists.json` saved before bulk's first list; the history saved after it, then the process killed.
        let mut s = SavedState::default();
        s.sources.insert("bulk".into(), SourceState::default());
        s.save(dir.path()).unwrap();
        s.sources.insert(
            "bulk".into(),
            SourceState {
                loaded: true,
                entries: 2,
                last_success: 300,
                ..Default::default()
            },
        );
        let files = s.to_bytes(true).unwrap();
        std::fs::write(SavedState::history_path(dir.path()), files.history.unwrap()).unwrap();
        let back = SavedState::load(dir.path()).unwrap().unwrap();
        let bulk = &back.sources["bulk"];
        assert!(bulk.loaded, "its last good list is the history's");
        assert_eq!((bulk.last_success, bulk.entries), (300, 2));
        // A history file from before the sources were recorded in it loads as it did.
        std::fs::write(SavedState::history_path(dir.path()), br#"{"lists":{}}"#).unwrap();
        let back = SavedState::load(dir.path()).unwrap().unwrap();
        assert!(!back.sources["bulk"].loaded);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(SavedState::path(dir.path()), b"{\"format\":2,").unwrap();
        assert!(SavedState::load(dir.path()).is_err());
        std::fs::write(SavedState::path(dir.path()), b"{\"format\":9}").unwrap();
        assert!(SavedState::load(dir.path()).is_err());
    }
}
