//! The integration tests, in one binary: one module per area, each run against the library or the real torwatch
//! binary. Tests that need root tools or `../shared` are `#[ignore]`d with the reason and run by `.ci/run`, which
//! selects them by module path (`cargo test --test it kernel:: -- --ignored`).

mod cardinality;
mod check_config;
mod conformance;
mod explain;
mod feeds_samples;
mod fetch_faults;
mod formats_golden;
mod hardening;
mod kernel;
mod memory;
mod mikrotik_model;
mod scan_known_answer;
mod service;
mod status_page;
mod stdin_input;
mod syslog_limits;
mod syslog_real;
mod tailer_model;
mod tailer_task;
mod vendor_log_samples;

use std::path::{Path, PathBuf};

/// A folder of the shared samples (`../shared` beside the checkout, or `$TORWATCH_SHARED`), such as
/// `samples/logs`; panics, naming the path, when it is missing.
pub fn shared(folder: &str) -> PathBuf {
    let root = std::env::var_os("TORWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = root.join(folder);
    assert!(
        dir.is_dir(),
        "shared samples not found at {} (set TORWATCH_SHARED)",
        dir.display()
    );
    dir
}
