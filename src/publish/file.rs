//! Publishing one file: writes a rendered list to disk through [`crate::atomic_file`] (temp file in the same
//! directory, fsync, rename, fsync of the directory), then runs its apply command through [`super::apply`].
//! This is the IO edge of the formats: it renders nothing, knows no format and never retries; the caller counts
//! the [`PublishOutcome`].

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::apply::{self, ApplyError};
use crate::atomic_file;
use crate::formats::{ListFormat, RenderOptions};

/// One configured output file: which list, rendered how, written where, applied how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishFile {
    pub path: PathBuf,
    pub format: ListFormat,
    pub list: String,
    pub options: RenderOptions,
    /// Program and arguments, run without a shell after each successful write.
    pub apply: Option<Vec<String>>,
    pub apply_timeout: Duration,
}

/// What publishing one file did. `apply` is `None` when no command is configured or the write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    pub write: Result<(), String>,
    pub apply: Option<Result<(), ApplyError>>,
}

impl PublishOutcome {
    /// True when the file was written and, if configured, applied.
    pub fn is_ok(&self) -> bool {
        self.write.is_ok() && !matches!(self.apply, Some(Err(_)))
    }
}

/// Writes `bytes` to `spec.path` atomically, then runs the apply command if one is configured; `stop` ends a
/// running command (see [`ApplyError::Stopped`]).
pub async fn publish(spec: &PublishFile, bytes: &[u8], stop: &CancellationToken) -> PublishOutcome {
    if let Err(e) = atomic_file::write_synced(&spec.path, bytes).await {
        return PublishOutcome {
            write: Err(format!("write {}: {e}", spec.path.display())),
            apply: None,
        };
    }
    let apply = match &spec.apply {
        Some(argv) => Some(apply::run(argv, spec.apply_timeout, stop).await),
        None => None,
    };
    PublishOutcome {
        write: Ok(()),
        apply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn never() -> CancellationToken {
        CancellationToken::new()
    }

    #[tokio::test]
    async fn publish_writes_then_applies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tor-exits.txt");
        let mut spec = PublishFile {
            path: path.clone(),
            format: ListFormat::Txt,
            list: "tor-exits".to_owned(),
            options: RenderOptions::default(),
            apply: Some(argv(&["grep", "-qx", "192.0.2.1", &path.to_string_lossy()])),
            apply_timeout: Duration::from_secs(5),
        };
        let ok = publish(&spec, b"192.0.2.1\n", &never()).await;
        assert_eq!(
            ok,
            PublishOutcome {
                write: Ok(()),
                apply: Some(Ok(()))
            }
        );
        let failed = publish(&spec, b"192.0.2.2\n", &never()).await;
        assert!(
            matches!(failed.apply, Some(Err(ApplyError::Exit(1, _)))),
            "{failed:?}"
        );
        assert!(!failed.is_ok());
        spec.path = dir.path().join("missing/tor-exits.txt");
        let unwritable = publish(&spec, b"192.0.2.1\n", &never()).await;
        assert!(
            unwritable
                .write
                .as_ref()
                .is_err_and(|e| e.contains("missing/tor-exits.txt")),
            "{unwritable:?}"
        );
        assert_eq!(unwritable.apply, None);
    }
}
