//! File-input offsets (the checkpoint): for each file a tailer follows, its identity and the offset up to which the
//! consumer has processed its lines, kept in one JSON file per input and replaced atomically. Owns that file; reads
//! no logs.
//!
//! The offset only moves when the consumer commits an [`Ack`], so the file never records a line that was not
//! processed. Every commit rewrites the file (temp + rename, no fsync: cheap, and it survives the process dying);
//! the tailer's periodic and final flushes also fsync, which covers power loss up to the last flush. A commit is a
//! small blocking write on the caller's thread (tens of microseconds, once per batch of up to 512 lines).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Durability};

/// One followed file as recorded on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOffset {
    /// Where the file was last seen.
    pub path: String,
    /// Device and inode of the file.
    pub dev: u64,
    pub ino: u64,
    /// Fingerprint: FNV-1a of the first `fp_len` bytes (up to 256).
    pub fp_len: u32,
    pub fp: u64,
    /// Bytes processed: the next line starts here.
    pub offset: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    version: u32,
    files: Vec<FileOffset>,
}

const VERSION: u32 = 1;

struct FileSlot {
    /// Bumped when the file restarts from 0 (truncation): acks of earlier generations are stale.
    generation: u32,
    entry: FileOffset,
    /// The tailer closed the file at this offset: the slot goes once the consumer has processed up to it.
    retire_at: Option<u64>,
}

#[derive(Default)]
struct Table {
    slots: BTreeMap<u64, FileSlot>,
    /// Written since the last fsync.
    dirty: bool,
}

/// The checkpoint file of one input, shared by its tailer and the [`Ack`]s in flight.
pub struct OffsetFile {
    path: PathBuf,
    state: Mutex<Table>,
}

/// Acknowledges that the consumer has processed a batch: commit it after the lines were handled, in order.
/// Dropping it without committing means "not processed": after a restart those lines are read again.
#[derive(Debug)]
pub struct Ack {
    store: Arc<OffsetFile>,
    id: u64,
    generation: u32,
    end: u64,
}

impl std::fmt::Debug for OffsetFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Ack {
    /// Records the batch as processed and persists the new offset (the file is rewritten, without fsync).
    pub fn commit(self) {
        let mut state = self.store.lock();
        let Some(slot) = state.slots.get_mut(&self.id) else {
            return;
        };
        if slot.generation != self.generation || self.end <= slot.entry.offset {
            return;
        }
        slot.entry.offset = self.end;
        if slot.retire_at.is_some_and(|at| self.end >= at) {
            state.slots.remove(&self.id);
        }
        if let Err(e) = self.store.write(&mut state, Durability::Unsynced) {
            tracing::warn!(path = %self.store.path.display(), error = %e, "cannot write checkpoint");
        }
    }

    /// The offset this ack moves the file to.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Whether committing this ack makes committing `earlier` pointless: the same file of the same store, read
    /// as far or further.
    pub fn covers(&self, earlier: &Ack) -> bool {
        Arc::ptr_eq(&self.store, &earlier.store)
            && self.id == earlier.id
            && self.generation == earlier.generation
            && self.end >= earlier.end
    }
}

impl OffsetFile {
    /// Opens the checkpoint at `path`, returning the entries it held. A missing file is an empty checkpoint; an
    /// unreadable one is an error naming the path (the operator decides: fix or delete it).
    pub fn open(path: PathBuf) -> anyhow::Result<(Arc<OffsetFile>, Vec<FileOffset>)> {
        let entries = match fs::read(&path) {
            Ok(bytes) => {
                let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("checkpoint {} is not valid: {e}", path.display())
                })?;
                anyhow::ensure!(
                    disk.version == VERSION,
                    "checkpoint {} has version {}",
                    path.display(),
                    disk.version
                );
                disk.files
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot read checkpoint {}: {e}",
                    path.display()
                ))
            }
        };
        let store = OffsetFile {
            path,
            state: Mutex::new(Table::default()),
        };
        Ok((Arc::new(store), entries))
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts recording a file under the tailer's `id`, and persists at once (so a rotated file is found again
    /// after a crash).
    pub fn track(&self, id: u64, entry: FileOffset) -> io::Result<()> {
        let mut state = self.lock();
        state.slots.insert(
            id,
            FileSlot {
                generation: 0,
                entry,
                retire_at: None,
            },
        );
        self.write(&mut state, Durability::Unsynced)
    }

    /// The file restarted from offset 0 (truncated): older acks no longer apply. Returns the new generation.
    pub fn restart(&self, id: u64, entry: FileOffset) -> io::Result<u32> {
        let mut state = self.lock();
        let generation = state
            .slots
            .get(&id)
            .map_or(0, |s| s.generation.wrapping_add(1));
        state.slots.insert(
            id,
            FileSlot {
                generation,
                entry,
                retire_at: None,
            },
        );
        self.write(&mut state, Durability::Unsynced)?;
        Ok(generation)
    }

    /// Updates path and fingerprint of a followed file. Persisted with the next write, except the first fingerprint
    /// of a file that was empty, which is written at once (a rotated file is only found again by its fingerprint).
    pub fn update(&self, id: u64, path: &str, fp_len: u32, fp: u64) -> io::Result<()> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(slot) = state.slots.get_mut(&id) else {
            return Ok(());
        };
        let first_fingerprint = slot.entry.fp_len == 0 && fp_len > 0;
        if slot.entry.path != path {
            path.clone_into(&mut slot.entry.path);
        }
        slot.entry.fp_len = fp_len;
        slot.entry.fp = fp;
        state.dirty = true;
        if first_fingerprint {
            self.write(state, Durability::Unsynced)?;
        }
        Ok(())
    }

    /// The tailer closed the file after reading up to `end`: forget it once processed up to there.
    pub fn retire(&self, id: u64, end: u64) -> io::Result<()> {
        let mut state = self.lock();
        let Some(slot) = state.slots.get_mut(&id) else {
            return Ok(());
        };
        if slot.entry.offset >= end {
            state.slots.remove(&id);
        } else {
            slot.retire_at = Some(end);
        }
        self.write(&mut state, Durability::Unsynced)
    }

    /// An ack for lines of file `id` (generation `generation`) ending at `end`.
    pub fn ack(self: &Arc<Self>, id: u64, generation: u32, end: u64) -> Ack {
        Ack {
            store: Arc::clone(self),
            id,
            generation,
            end,
        }
    }

    /// Writes the checkpoint and fsyncs it, if anything changed since the last fsync (periodically and at shutdown).
    pub fn flush(&self) -> io::Result<()> {
        let mut state = self.lock();
        if !state.dirty {
            return Ok(());
        }
        self.write(&mut state, Durability::Synced)
    }

    fn write(&self, state: &mut Table, durability: Durability) -> io::Result<()> {
        let disk = OnDisk {
            version: VERSION,
            files: state.slots.values().map(|s| s.entry.clone()).collect(),
        };
        let body = serde_json::to_vec_pretty(&disk).map_err(io::Error::other)?;
        state.dirty = true;
        atomic_file::write(&self.path, &body, durability)?;
        state.dirty = durability == Durability::Unsynced;
        Ok(())
    }
}

/// FNV-1a, 64 bit: the fingerprint of a file's first bytes.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn entry(offset: u64) -> FileOffset {
        FileOffset {
            path: "/var/log/fw.log".into(),
            dev: 1,
            ino: 2,
            fp_len: 4,
            fp: fingerprint(b"abcd"),
            offset,
        }
    }

    fn on_disk(path: &Path) -> Vec<FileOffset> {
        OffsetFile::open(path.to_path_buf()).expect("reopen").1
    }

    #[test]
    fn acks_move_the_offset_forward_only_and_persist_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fw.json");
        let (store, entries) = OffsetFile::open(path.clone()).expect("open");
        assert!(entries.is_empty());
        store.track(7, entry(10)).expect("track");
        let (first, second) = (store.ack(7, 0, 50), store.ack(7, 0, 90));
        assert_eq!(first.end(), 50);
        second.commit();
        first.commit();
        assert_eq!(on_disk(&path), [entry(90)]);
    }

    #[test]
    fn acks_from_before_a_truncation_are_stale() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fw.json");
        let (store, _) = OffsetFile::open(path.clone()).expect("open");
        store.track(1, entry(0)).expect("track");
        let stale = store.ack(1, 0, 500);
        assert_eq!(store.restart(1, entry(0)).expect("restart"), 1);
        stale.commit();
        assert_eq!(on_disk(&path), [entry(0)]);
        store.ack(1, 1, 20).commit();
        assert_eq!(on_disk(&path), [entry(20)]);
    }

    #[test]
    fn a_retired_file_goes_once_processed_to_its_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fw.json");
        let (store, _) = OffsetFile::open(path.clone()).expect("open");
        store.track(1, entry(0)).expect("track");
        let last = store.ack(1, 0, 300);
        store.retire(1, 300).expect("retire");
        assert_eq!(on_disk(&path), [entry(0)], "kept until processed");
        last.commit();
        assert!(on_disk(&path).is_empty());
        assert!(store.flush().is_ok());
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fw.json");
        fs::write(&path, b"{\"version\":1,\"files\":[").expect("write");
        let err = OffsetFile::open(path.clone())
            .expect_err("damaged")
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}
