//! The file tailer: follows the files matching an input's globs, through rotation by rename, copytruncate and
//! delete/recreate, and checkpoints how far the consumer got. Owns discovery and file lifetimes; does not parse.
//!
//! Guarantees and their limits:
//! - A line is delivered once its newline is written; a last line without newline is delivered only when its file
//!   is closed after rotation or deletion.
//! - A file is known by device + inode + a fingerprint of its first 256 bytes. Seen for the first time, a file is
//!   read from its end (`start_at: end`, the default) or its start (`beginning`); files that appear later, and files
//!   that replace a checkpointed path while torwatch was down, are read from their start. A checkpointed file
//!   resumes at its offset; if its head changed (copytruncate, or a reused inode) it is read from 0.
//! - After a rename, the old inode is drained to its end (and followed for `rotate_grace` while it still grows)
//!   before it is closed; the new file at the path is read from 0. A checkpointed file renamed while torwatch was
//!   down is found again in its directory by inode and fingerprint, and finished.
//! - A truncation in place (copytruncate) is found at the next poll when the file is shorter than what was read,
//!   or its first bytes or the bytes just before the read position changed (so also when it grew past the old
//!   position again within one poll); the file is then read from 0 and the truncation counted
//!   (`torwatch_input_truncations_total`).
//! - The checkpoint records only what the consumer committed (see [`super::checkpoint`]): a restart, even after
//!   the task was aborted or the process killed, neither skips nor repeats lines. Remaining windows:
//!   - power loss repeats the lines committed since the last fsync (at most about a second);
//!   - lines written after the last read and before a copytruncate are lost (they live only in the copy): at
//!     most one poll interval of lines, each time a truncation is counted;
//!   - a file truncated and refilled within one poll with the same first 256 bytes and the same 64 bytes before
//!     the read position is taken for the same file: the lines between are lost (so are they when this happens
//!     while torwatch is down, where only the first bytes are compared);
//!   - lines not yet read from a file deleted after the last poll before a stop, or while torwatch was down, are
//!     lost; so is a file rotated away before torwatch ever saw it, or before it held a first byte;
//!   - a file that is rotated away while torwatch is down is found again only in its own directory.
//!
//! Paths that yield nothing — a path that does not exist or a glob that matches no file, a directory, a file that
//! cannot be opened, files beyond `max_files` — are counted (`torwatch_input_path_problems`), listed on
//! `/readyz`, and logged when they appear and when they clear. At most `max_files` files are followed (each holds
//! a descriptor): beyond it, the most recently modified are.
//!
//! Reads are plain blocking reads of at most 128 KiB on the runtime thread: regular files in the page cache.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::batch::{Outbox, Stopped};
use super::checkpoint::{Entry, Store};
use super::metrics::PathProblem;
use super::tailed::{Identity, Read, Tailed};
use super::{FileSpec, StartAt};
use crate::problems::Problems;

/// Bytes read from one file per poll before the others (and the parsers) get their turn: small enough that the
/// lines read are still in the processor's cache when they are parsed (`bench/service_backlog.sh`: 8 MiB cost a
/// fifth more time in all than 1 MiB).
const READ_BUDGET: usize = 1 << 20;
/// How often the checkpoint is fsynced while lines flow.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Follows the files of one input.
pub struct Tailer {
    spec: FileSpec,
    max_message: usize,
    store: Arc<Store>,
    /// Checkpoint entries not yet matched to a file (until the first poll has run).
    resume: Vec<Entry>,
    first_poll: bool,
    files: Vec<Tailed>,
    next_id: u64,
    name: String,
    /// The paths that yield nothing, as last reported.
    reported: Vec<(PathProblem, String)>,
    /// Matching files not followed because of `max_files`.
    over_cap: usize,
    /// Where the problems are listed for `/readyz`.
    problems: Option<Arc<Problems>>,
    out: Outbox,
}

impl Tailer {
    /// Opens the checkpoint of input `name` (`<checkpoint_dir>/<name>.json`); reads nothing yet.
    pub fn open(
        name: &str,
        spec: FileSpec,
        max_message: usize,
        out: Outbox,
    ) -> anyhow::Result<Tailer> {
        for pattern in &spec.paths {
            glob::Pattern::new(pattern)
                .map_err(|e| anyhow::anyhow!("bad path pattern {pattern:?}: {e}"))?;
        }
        fs::create_dir_all(&spec.checkpoint_dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", spec.checkpoint_dir.display()))?;
        let file_name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let (store, resume) = Store::open(spec.checkpoint_dir.join(format!("{file_name}.json")))?;
        let tailer = Tailer {
            spec,
            max_message,
            store,
            resume,
            first_poll: true,
            files: Vec::new(),
            next_id: 0,
            name: name.to_owned(),
            reported: Vec::new(),
            over_cap: 0,
            problems: None,
            out: out.with_max_lines(super::batch::FILE_BATCH_LINES),
        };
        Ok(tailer)
    }

    /// Lists the paths that yield nothing in `problems` (for `/readyz`) from the next poll on.
    pub fn report_to(&mut self, problems: Arc<Problems>) {
        self.problems = Some(problems);
    }

    /// The paths that yield nothing, as last found.
    pub fn path_problems(&self) -> &[(PathProblem, String)] {
        &self.reported
    }

    /// One pass: finds files, reads each (drained files first) and sends their lines. Returns true when a file
    /// still had more to read than one pass allows.
    pub async fn poll(&mut self, shutdown: &CancellationToken) -> Result<bool, Stopped> {
        self.discover();
        self.files.sort_by_key(|f| (f.gone_since.is_none(), f.id));
        let mut more = false;
        let mut closed = Vec::new();
        for at in 0..self.files.len() {
            let Some(file) = self.files.get_mut(at) else {
                break;
            };
            match file.check_truncation(&self.store) {
                Ok(true) => {
                    self.out.counters.truncations.inc();
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(path = %file.path, error = %e, "cannot check file"),
            }
            match file
                .read(&mut self.out, &self.store, READ_BUDGET, shutdown)
                .await?
            {
                Ok(Read::Budget) => more = true,
                Ok(Read::Eof { .. }) => {
                    let idle = file.last_growth.elapsed() >= self.spec.rotate_grace;
                    if file.gone_since.is_some() && idle {
                        if let Err(e) = file.finish(&mut self.out, &self.store, shutdown).await? {
                            tracing::warn!(path = %file.path, error = %e, "cannot write checkpoint");
                        }
                        closed.push(file.id);
                    }
                }
                Err(e) => tracing::warn!(path = %file.path, error = %e, "cannot read file"),
            }
        }
        self.files.retain(|f| !closed.contains(&f.id));
        Ok(more)
    }

    /// Writes and fsyncs the checkpoint.
    pub fn flush(&self) -> io::Result<()> {
        self.store.flush()
    }

    /// Matches the globs against the followed files: new files are opened (up to `max_files`), files gone from
    /// the globs start draining, and the paths that yield nothing are reported.
    fn discover(&mut self) {
        let mut found = Vec::new();
        let mut problems = Vec::new();
        for pattern in &self.spec.paths {
            if let Some(problem) = scan(pattern, &mut found) {
                problems.push(problem);
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        let mut seen = HashSet::new();
        let mut fresh = Vec::new();
        for (path, meta) in found {
            if !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            if let Some(file) = self
                .files
                .iter_mut()
                .find(|f| (f.identity.dev, f.identity.ino) == (meta.dev(), meta.ino()))
            {
                let path = path.to_string_lossy();
                if file.path != path {
                    file.path = path.into_owned();
                    let Identity { fp_len, fp, .. } = file.identity;
                    if let Err(e) = self.store.update(file.id, &file.path, fp_len, fp) {
                        tracing::warn!(path = %file.path, error = %e, "cannot write checkpoint");
                    }
                }
                continue;
            }
            fresh.push((path, meta));
        }
        let room = self.spec.max_files.saturating_sub(self.files.len());
        self.over_cap = fresh.len().saturating_sub(room);
        if fresh.len() > room {
            // The most recently written files are the ones being logged to.
            fresh.sort_by_key(|(_, meta)| std::cmp::Reverse(meta.modified().ok()));
            problems.push((
                PathProblem::OverCap,
                format!(
                    "{} more files match, not followed: {} are (max_files: {})",
                    fresh.len() - room,
                    self.files.len() + room,
                    self.spec.max_files
                ),
            ));
            fresh.truncate(room);
        }
        for (path, _) in fresh {
            if let Err(e) = self.follow(&path) {
                problems.push((
                    PathProblem::Unreadable,
                    format!("{} cannot be read: {e}", path.display()),
                ));
            }
        }
        let now = Instant::now();
        for file in &mut self.files {
            if file.gone_since.is_none() && !seen.contains(&(file.identity.dev, file.identity.ino))
            {
                file.gone_since = Some(now);
            }
        }
        if self.first_poll {
            self.first_poll = false;
            self.find_rotated();
        }
        self.out.counters.files.set(self.files.len() as i64);
        self.report(problems);
    }

    /// Counts the problems by kind and, when they changed, lists them for `/readyz` and logs the change.
    fn report(&mut self, mut problems: Vec<(PathProblem, String)>) {
        problems.sort();
        if problems == self.reported {
            return;
        }
        for problem in PathProblem::ALL {
            let n = match problem {
                PathProblem::OverCap => self.over_cap,
                _ => problems.iter().filter(|(p, _)| *p == problem).count(),
            };
            self.out.counters.path_problem(problem).set(n as i64);
        }
        for (_, text) in problems.iter().filter(|p| !self.reported.contains(p)) {
            tracing::warn!(input = %self.name, "{text}: no lines from it");
        }
        for (_, text) in self.reported.iter().filter(|p| !problems.contains(p)) {
            tracing::info!(input = %self.name, "resolved: {text}");
        }
        self.reported = problems;
        self.publish_problems();
    }

    fn publish_problems(&self) {
        if let Some(list) = &self.problems {
            let texts = self
                .reported
                .iter()
                .map(|(_, text)| format!("input {}: {text}", self.name))
                .collect();
            list.set(&format!("input:{}", self.name), texts);
        }
    }

    /// Takes the input's problems off `/readyz` and its gauges (the input stops).
    fn clear_problems(&mut self) {
        self.over_cap = 0;
        self.report(Vec::new());
        self.out.counters.files.set(0);
    }

    /// Starts following the file at `path`, at its checkpointed offset, its start or its end.
    fn follow(&mut self, path: &Path) -> io::Result<()> {
        let file = File::open(path)?;
        let id = Identity::of(&file)?;
        if self
            .files
            .iter()
            .any(|f| (f.identity.dev, f.identity.ino) == (id.dev, id.ino))
        {
            return Ok(());
        }
        let checkpointed = self
            .resume
            .iter()
            .position(|e| (e.dev, e.ino) == (id.dev, id.ino));
        let offset = match checkpointed.map(|at| self.resume.swap_remove(at)) {
            Some(e) if e.offset <= id.size && Identity::head_matches(&file, e.fp_len, e.fp)? => {
                e.offset
            }
            Some(_) => 0,
            None if !self.first_poll => 0,
            None if self.resume.iter().any(|e| Path::new(&e.path) == path) => 0,
            None => match self.spec.start_at {
                StartAt::Beginning => 0,
                StartAt::End => end_of_last_line(&file, id.size, self.max_message)?,
            },
        };
        self.open_at(path, file, offset, None)
    }

    fn open_at(
        &mut self,
        path: &Path,
        file: File,
        offset: u64,
        gone: Option<Instant>,
    ) -> io::Result<()> {
        let id = self.next_id;
        self.next_id += 1;
        let mut tailed = Tailed::new(id, path, file, offset, self.max_message)?;
        tailed.gone_since = gone;
        self.store.track(id, tailed.entry(offset))?;
        self.files.push(tailed);
        Ok(())
    }

    /// After a restart: checkpointed files no glob matched any more were rotated while torwatch was down. Looks for
    /// them by inode and fingerprint in their directory and drains them.
    fn find_rotated(&mut self) {
        for entry in std::mem::take(&mut self.resume) {
            if entry.fp_len == 0 {
                continue;
            }
            let dir = Path::new(&entry.path).parent().unwrap_or(Path::new("."));
            let Ok(listing) = fs::read_dir(dir) else {
                continue;
            };
            for candidate in listing
                .filter_map(Result::ok)
                .filter(|d| d.ino() == entry.ino)
            {
                let path = candidate.path();
                let Ok(file) = File::open(&path) else {
                    continue;
                };
                let Ok(id) = Identity::of(&file) else {
                    continue;
                };
                let same = (id.dev, id.ino) == (entry.dev, entry.ino) && entry.offset <= id.size;
                if same && Identity::head_matches(&file, entry.fp_len, entry.fp).unwrap_or(false) {
                    if let Err(e) = self.open_at(&path, file, entry.offset, Some(Instant::now())) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot follow rotated file");
                    }
                    break;
                }
            }
        }
    }
}

/// Adds the regular files `pattern` names to `found`, or says why it names none: a literal path that does not
/// exist, is no regular file or cannot be looked up; a glob that matches no regular file (directories it matches
/// are passed over) or whose directories cannot be listed.
fn scan(pattern: &str, found: &mut Vec<(PathBuf, fs::Metadata)>) -> Option<(PathProblem, String)> {
    if !pattern.contains(['*', '?', '[']) {
        return match fs::metadata(pattern) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Some((PathProblem::Missing, format!("{pattern} does not exist")))
            }
            Err(e) => Some((
                PathProblem::Unreadable,
                format!("{pattern} cannot be read: {e}"),
            )),
            Ok(meta) if meta.is_dir() => Some((
                PathProblem::NotAFile,
                format!("{pattern} is a directory, not a file (a glob such as {pattern}/*.log reads its files)"),
            )),
            Ok(meta) if !meta.is_file() => Some((
                PathProblem::NotAFile,
                format!("{pattern} is not a regular file"),
            )),
            Ok(meta) => {
                found.push((PathBuf::from(pattern), meta));
                None
            }
        };
    }
    let paths = match glob::glob(pattern) {
        Ok(paths) => paths,
        Err(e) => {
            return Some((
                PathProblem::Missing,
                format!("{pattern} is not a valid glob: {e}"),
            ))
        }
    };
    let before = found.len();
    let mut unlisted = None;
    for entry in paths {
        match entry {
            Ok(path) => {
                if let Some(meta) = fs::metadata(&path).ok().filter(|m| m.is_file()) {
                    found.push((path, meta));
                }
            }
            Err(e) => {
                unlisted.get_or_insert_with(|| {
                    format!("{} cannot be listed: {}", e.path().display(), e.error())
                });
            }
        }
    }
    match unlisted {
        _ if found.len() > before => None,
        Some(text) => Some((PathProblem::Unreadable, text)),
        None => Some((PathProblem::Missing, format!("{pattern} matches no file"))),
    }
}

/// Why a configured path or glob yields no lines right now (`None`: it names at least one readable file).
pub fn pattern_problem(pattern: &str) -> Option<String> {
    let mut found = Vec::new();
    if let Some((_, text)) = scan(pattern, &mut found) {
        return Some(text);
    }
    let unreadable: Vec<_> = found
        .iter()
        .filter_map(|(path, _)| File::open(path).err().map(|e| (path, e)))
        .collect();
    match unreadable.first() {
        Some((path, e)) if unreadable.len() == found.len() => {
            Some(format!("{} cannot be read: {e}", path.display()))
        }
        _ => None,
    }
}

/// Offset just after the last newline among the last `max_message` bytes before `size` (or `size`).
fn end_of_last_line(file: &File, size: u64, max_message: usize) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let window = (max_message as u64).min(size);
    let mut tail = vec![0u8; usize::try_from(window).unwrap_or(0)];
    let start = size - window;
    let got = file.read_at(&mut tail, start)?;
    Ok(
        match tail.get(..got).and_then(|t| memchr::memrchr(b'\n', t)) {
            Some(at) => start + at as u64 + 1,
            None => size,
        },
    )
}

/// Runs the tailer until shutdown, polling every `spec.poll`; the checkpoint is fsynced at least every second while
/// lines flow, and at the end. Its paths that yield nothing are listed in `problems` while it runs.
pub async fn run(
    name: &str,
    spec: FileSpec,
    max_message: usize,
    out: Outbox,
    problems: Arc<Problems>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let poll = spec.poll;
    let mut tailer = Tailer::open(name, spec, max_message, out)?;
    tailer.report_to(problems);
    let mut synced = Instant::now();
    loop {
        let more = match tailer.poll(&shutdown).await {
            Ok(more) => more,
            Err(Stopped::Shutdown | Stopped::Closed) => break,
        };
        if synced.elapsed() >= SYNC_EVERY {
            if let Err(e) = tailer.flush() {
                tracing::warn!(input = name, error = %e, "cannot write checkpoint");
            }
            synced = Instant::now();
        }
        if more {
            tokio::task::yield_now().await;
        } else {
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }
    tailer.clear_problems();
    tailer
        .flush()
        .map_err(|e| anyhow::anyhow!("cannot write checkpoint of input {name}: {e}"))
}
