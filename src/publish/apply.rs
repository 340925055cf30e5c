//! Running a published file's apply command (`nft -f …`, `ipset restore …`): no shell, its own process group,
//! a timeout, and on shutdown SIGTERM then SIGKILL to the whole group, so nothing it started outlives torwatch.
//! Failures keep the exit code and the end of stderr.

use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::AsyncReadExt as _;
use tokio::process::{ChildStderr, Command};
use tokio_util::sync::CancellationToken;

/// How much of an apply command's stderr an [`ApplyError::Exit`] keeps (the end, where the error usually is).
const STDERR_TAIL: usize = 1024;

/// How long to wait for the rest of stderr once a failed command has exited.
const STDERR_GRACE: Duration = Duration::from_millis(500);

/// On shutdown, how long a running apply command's process group has between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why an apply command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("apply command could not run: {0}")]
    Spawn(String),
    /// Exit code (128 + signal number when killed by a signal) and the tail of stderr.
    #[error("apply command exited with code {0}: {1}")]
    Exit(i32, String),
    /// It ran past `apply_timeout`; its process group was killed.
    #[error("apply command timed out and was killed")]
    Timeout,
    /// torwatch stopped (or reloaded) while it ran: its process group got SIGTERM, then SIGKILL after
    /// [`STOP_GRACE`].
    #[error("apply command stopped by shutdown")]
    Stopped,
}

impl ApplyError {
    /// The `result` label of `torwatch_publish_applies_total`.
    pub fn result_label(&self) -> &'static str {
        match self {
            ApplyError::Spawn(_) | ApplyError::Exit(..) | ApplyError::Stopped => "error",
            ApplyError::Timeout => "timeout",
        }
    }

    /// The failure as unauthenticated pages may show it: without the command's error output, which can hold
    /// anything the command printed (the log has it).
    pub fn summary(&self) -> String {
        match self {
            ApplyError::Exit(code, _) => {
                format!("apply command exited with code {code} (its error output is in the log)")
            }
            other => other.to_string(),
        }
    }
}

/// Runs `argv` (no shell) in its own process group; on timeout the whole group is killed, so a wrapper script
/// cannot leave its children running. When `stop` is cancelled first, the group gets SIGTERM, and SIGKILL if it
/// has not ended [`STOP_GRACE`] later: nothing it started outlives torwatch.
pub async fn run(
    argv: &[String],
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<(), ApplyError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| ApplyError::Spawn("empty command".to_owned()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ApplyError::Spawn(format!("{program}: {e}")))?;
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(nix::unistd::Pid::from_raw);
    let stderr = tokio::spawn(read_tail(child.stderr.take()));
    let signal_group = |signal| {
        if let Some(pid) = group {
            let _ = nix::sys::signal::killpg(pid, signal);
        }
    };
    let kill_group = || signal_group(Signal::SIGKILL);
    let waited = tokio::select! {
        waited = tokio::time::timeout(timeout, child.wait()) => waited,
        () = stop.cancelled() => {
            signal_group(Signal::SIGTERM);
            // The group, not only the command: a child it started may outlive it.
            let deadline = tokio::time::Instant::now() + STOP_GRACE;
            while group.is_some_and(group_alive) && tokio::time::Instant::now() < deadline {
                let _ = child.try_wait();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            kill_group();
            let _ = child.kill().await;
            stderr.abort();
            return Err(ApplyError::Stopped);
        }
    };
    match waited {
        Ok(Ok(status)) if status.success() => {
            stderr.abort();
            Ok(())
        }
        Ok(Ok(status)) => {
            let tail = match tokio::time::timeout(STDERR_GRACE, stderr).await {
                Ok(Ok(tail)) => tail,
                _ => String::new(),
            };
            Err(ApplyError::Exit(exit_code(status), tail))
        }
        Ok(Err(e)) => {
            kill_group();
            stderr.abort();
            Err(ApplyError::Spawn(format!("{program}: wait: {e}")))
        }
        Err(_) => {
            kill_group();
            let _ = child.kill().await;
            stderr.abort();
            Err(ApplyError::Timeout)
        }
    }
}

/// Whether any process of group `pid` is still there (or a zombie of it not reaped yet).
fn group_alive(pid: nix::unistd::Pid) -> bool {
    nix::sys::signal::killpg(pid, None).is_ok()
}

fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Reads a stream to its end, keeping the last [`STDERR_TAIL`] bytes, as trimmed text.
async fn read_tail(stream: Option<ChildStderr>) -> String {
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::with_capacity(2 * STDERR_TAIL);
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        kept.extend_from_slice(chunk);
        if kept.len() > 2 * STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    let start = kept.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(kept.get(start..).unwrap_or_default())
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[tokio::test]
    async fn apply_success_and_spawn_failure() {
        assert_eq!(
            run(&argv(&["true"]), Duration::from_secs(5), &never()).await,
            Ok(())
        );
        let err = run(
            &argv(&["/nonexistent/torwatch-apply"]),
            Duration::from_secs(5),
            &never(),
        )
        .await;
        assert!(
            matches!(&err, Err(ApplyError::Spawn(m)) if m.contains("/nonexistent/torwatch-apply")),
            "{err:?}"
        );
        assert!(matches!(
            run(&[], Duration::from_secs(1), &never()).await,
            Err(ApplyError::Spawn(_))
        ));
    }

    #[tokio::test]
    async fn apply_failure_keeps_exit_code_and_stderr_tail() {
        let script = "head -c 5000 /dev/zero | tr '\\0' x >&2; echo; echo 'Error: conflicting intervals' >&2; exit 3";
        let err = run(
            &argv(&["sh", "-c", script]),
            Duration::from_secs(5),
            &never(),
        )
        .await;
        let Err(ApplyError::Exit(code, tail)) = err else {
            panic!("expected exit error, got {err:?}");
        };
        assert_eq!(code, 3);
        assert!(tail.ends_with("Error: conflicting intervals"), "{tail}");
        assert!(tail.len() <= STDERR_TAIL, "{}", tail.len());
    }

    #[tokio::test]
    async fn apply_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let started = Instant::now();
        // Two seconds give `sh` time to write the pid file before the timeout, even on a slow machine.
        let err = run(
            &argv(&["sh", "-c", &script]),
            Duration::from_secs(2),
            &never(),
        )
        .await;
        assert_eq!(err, Err(ApplyError::Timeout));
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{:?}",
            started.elapsed()
        );
        let pid = fs::read_to_string(&pidfile)
            .expect("pid file")
            .trim()
            .to_owned();
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + Duration::from_secs(2);
        // The grandchild is killed; once reaped by init its /proc entry disappears (or shows a zombie).
        while proc.exists() && !is_zombie(&proc) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !proc.exists() || is_zombie(&proc),
            "sleep {pid} survived the timeout"
        );
    }

    fn never() -> CancellationToken {
        CancellationToken::new()
    }

    /// Waits until process `pid` is gone (or a zombie), for at most `within`.
    async fn gone(pid: &str, within: Duration) -> bool {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + within;
        while proc.exists() && !is_zombie(&proc) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        !proc.exists() || is_zombie(&proc)
    }

    #[tokio::test]
    async fn on_stop_the_group_gets_term_then_kill() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A child that ends on SIGTERM and one that ignores it: the first goes at once, the second at SIGKILL.
        let polite = dir.path().join("polite");
        let stubborn = dir.path().join("stubborn");
        let script = format!(
            "sleep 60 & echo $! > {}; sh -c 'trap \"\" TERM; echo $$ > {}; while :; do sleep 1; done' & wait",
            polite.display(),
            stubborn.display()
        );
        let stop = CancellationToken::new();
        let run = tokio::spawn({
            let stop = stop.clone();
            async move {
                run(
                    &argv(&["sh", "-c", &script]),
                    Duration::from_secs(60),
                    &stop,
                )
                .await
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(polite.exists() && stubborn.exists()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let read = |p: &Path| fs::read_to_string(p).expect("pid file").trim().to_owned();
        let (polite, stubborn) = (read(&polite), read(&stubborn));
        let started = Instant::now();
        stop.cancel();
        assert_eq!(run.await.expect("join"), Err(ApplyError::Stopped));
        let took = started.elapsed();
        assert!(
            gone(&polite, Duration::from_secs(2)).await,
            "sleep {polite} outlived the stop"
        );
        assert!(
            gone(&stubborn, Duration::from_secs(2)).await,
            "{stubborn} ignored TERM and outlived the stop"
        );
        // The stubborn one held the group for the grace period, not for the 60 s timeout.
        assert!(
            took >= STOP_GRACE && took < Duration::from_secs(30),
            "{took:?}"
        );
    }

    fn is_zombie(proc: &Path) -> bool {
        fs::read_to_string(proc.join("stat"))
            .is_ok_and(|s| s.rsplit(')').next().is_some_and(|r| r.starts_with(" Z")))
    }
}
