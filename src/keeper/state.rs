//! The keeper's persisted state: each source's last good feed and validators, and the membership history. Saved
//! atomically (temp file, fsync, rename, fsync of the directory) so a crash leaves the old or the new file, never
//! half of one.

use super::history::History;
use crate::feeds::Feed;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const FILE: &str = "lists.json";
const FORMAT: u32 = 1;

/// What the keeper remembers of one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// The last list that passed validation.
    pub feed: Option<Feed>,
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
    /// [`crate::lists::digest`] of the contents that version has (0: not known, as in older state files).
    #[serde(default)]
    pub digest: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub sources: BTreeMap<String, SourceState>,
    pub history: History,
    #[serde(default)]
    pub lists: BTreeMap<String, ListMeta>,
}

impl State {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// Loads the state file; `Ok(None)` when there is none yet. Temporary files left by a crash during a save
    /// are removed first (the state file itself is always whole: it is only ever replaced by rename).
    pub fn load(dir: &Path) -> anyhow::Result<Option<State>> {
        let stale = format!(".{FILE}.tmp");
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&stale) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let path = State::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state: State = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a torwatch state file", path.display()))?;
        anyhow::ensure!(
            state.format == FORMAT,
            "{}: unknown state format {}",
            path.display(),
            state.format
        );
        Ok(Some(state))
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let mut state = self.clone();
        state.format = FORMAT;
        let bytes = serde_json::to_vec(&state)?;
        write_atomic(&State::path(dir), &bytes)
    }
}

/// Writes `bytes` to `path` so that readers and crashes see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(State::load(dir.path()).unwrap().is_none());
        let mut s = State::default();
        s.sources.insert(
            "bulk".into(),
            SourceState {
                last_success: 7,
                etag: Some("\"x\"".into()),
                ..Default::default()
            },
        );
        s.save(dir.path()).unwrap();
        let back = State::load(dir.path()).unwrap().unwrap();
        assert_eq!(back.sources["bulk"].etag.as_deref(), Some("\"x\""));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn temp_files_of_a_crashed_save_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        State::default().save(dir.path()).unwrap();
        std::fs::write(dir.path().join(".lists.json.tmp4242"), b"{half").unwrap();
        assert!(State::load(dir.path()).unwrap().is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(State::path(dir.path()), b"{\"format\":1,").unwrap();
        assert!(State::load(dir.path()).is_err());
    }
}
