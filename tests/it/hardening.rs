//! Regression tests for the attack run against torwatch: each module holds the tests of one weakness it found,
//! run against the real binary on loopback (the service tests' daemon and fake upstream are shared). Tests that
//! hold thousands of connections or files are `#[ignore]`d and run by `.ci/run`.

mod apply;
mod configs;
mod files;
mod lockout;
mod reload;
mod secrets;
mod sources;

use std::process::Command;
use std::time::{Duration, Instant};

/// A list of `n` public addresses (the list guard drops special-purpose ones).
pub fn addresses(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("185.220.{}.{}\n", 100 + i / 250, 1 + i % 250))
        .collect::<String>()
        .into_bytes()
}

/// Writes a small exit list into `dir` and returns the `sources:` section of a config that loads it (file inputs
/// wait until an exit list is loaded).
pub fn local_list(dir: &std::path::Path) -> String {
    let path = dir.join("exits.txt");
    std::fs::write(&path, addresses(5)).unwrap();
    format!(
        "sources:\n  - {{name: local, type: plain, list: tor-exits, url: \"{}\"}}\n",
        path.display()
    )
}

/// Sends `signal` (`HUP`, `TERM`) to process `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits for `child` to exit, for at most `within`; returns its exit code and how long it took.
pub fn wait_exit(child: &mut std::process::Child, within: Duration) -> Option<(i32, Duration)> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(Some(status)) = child.try_wait() {
            return Some((status.code().unwrap_or(-1), started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|r| r.starts_with(" Z")),
    }
}
