//! Replacing a file atomically: readers see the old file or the new one, never a partial one. Used by everything
//! torwatch writes to disk (published lists, the keeper's state, the file-input checkpoint, the saved traffic).
//! It knows nothing of what it writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a write must survive a crash of the machine, or only of torwatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The file and its directory are fsynced: after `write` returns, the new file survives a power loss.
    Synced,
    /// No fsync: a crash of torwatch leaves the old or the new file, a crash of the machine may leave the old one.
    Unsynced,
}

/// Replaces `path` with `bytes`: a temporary file in the same directory is written (and fsynced when
/// [`Durability::Synced`]), renamed over `path`, and the directory fsynced (when synced). An existing file's
/// permissions are kept. The temporary file, named `.<name>.tmp.<pid>.<n>`, never outlives a failure.
pub fn write(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no file name in {}", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (tmp, file) = create_temp(dir, &name.to_string_lossy())?;
    let synced = durability == Durability::Synced;
    let result = fill_then_rename(file, &tmp, path, bytes, synced).and_then(|()| {
        if synced {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// [`write`] with [`Durability::Synced`], off the async runtime's threads.
pub async fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || write(&path, &bytes, Durability::Synced))
        .await
        .map_err(io::Error::other)?
}

/// Creates a fresh temporary file beside the target (`create_new`: never follows or reuses a file already
/// there, such as one left by a crashed process that had the same pid).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut tries = 0;
    loop {
        let tmp = dir.join(format!(
            ".{name}.tmp.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

fn fill_then_rename(
    mut file: File,
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    synced: bool,
) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(path) {
        file.set_permissions(meta.permissions())?;
    }
    file.write_all(bytes)?;
    if synced {
        file.sync_all()?;
    }
    drop(file);
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn replaces_content_keeps_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("torwatch.nft");
        write_synced(&path, b"first\n").await.expect("first write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_synced(&path, b"second\n")
            .await
            .expect("second write");
        assert_eq!(fs::read(&path).expect("read back"), b"second\n");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(names(dir.path()), ["torwatch.nft"]);
    }

    #[test]
    fn unsynced_writes_replace_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("offsets.json");
        write(&path, b"{}", Durability::Unsynced).expect("first write");
        write(&path, b"{\"a\":1}", Durability::Unsynced).expect("second write");
        assert_eq!(fs::read(&path).expect("read back"), b"{\"a\":1}");
        assert_eq!(names(dir.path()), ["offsets.json"]);
    }

    #[tokio::test]
    async fn into_a_missing_directory_fails_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = write_synced(&dir.path().join("nope/list.txt"), b"x")
            .await
            .expect_err("no directory");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = write(Path::new("/"), b"x", Durability::Synced).expect_err("no name");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_failed_rename_removes_the_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        fs::create_dir(&path).expect("a directory where the file goes");
        fs::write(path.join("inside"), b"x").expect("make it non-empty");
        write(&path, b"x", Durability::Synced)
            .expect_err("cannot rename over a non-empty directory");
        assert_eq!(names(dir.path()), ["state"]);
    }
}
