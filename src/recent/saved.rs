//! The last 24 hours across restarts: the status page's hourly hits ([`Recent`]) and the distinct exits behind
//! `torwatch_tor_distinct_exits_24h`, saved in `state_dir/traffic.json` every minute and when torwatch stops, and
//! restored at start. A stop and start lose nothing; a crash loses at most the last minute. Owns that file.

use super::Recent;
use crate::matcher::TrafficMetrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the windows are saved.
pub const EVERY: Duration = Duration::from_secs(60);
const FILE: &str = "traffic.json";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: u32,
    /// Unix seconds of the save.
    saved: i64,
    recent: Recent,
    /// Exit → last hit (unix seconds).
    distinct: Vec<(String, i64)>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    result: &'static str,
}

/// The saved windows of one state directory.
pub struct Saved {
    path: PathBuf,
    recent: Arc<Mutex<Recent>>,
    traffic: Arc<TrafficMetrics>,
    ok: Counter,
    error: Counter,
}

impl Saved {
    /// Registers `torwatch_traffic_state_writes_total` and returns the saver of `state_dir`'s windows.
    pub fn register(
        reg: &mut Registry,
        state_dir: &Path,
        recent: Arc<Mutex<Recent>>,
        traffic: Arc<TrafficMetrics>,
    ) -> Saved {
        let writes = Family::<WriteLabels, Counter>::default();
        reg.register(
            "torwatch_traffic_state_writes",
            "Saves of the last 24 h of traffic (the status page's hits, the distinct exits) by outcome",
            writes.clone(),
        );
        let ok = writes.get_or_create(&WriteLabels { result: "ok" }).clone();
        let error = writes
            .get_or_create(&WriteLabels { result: "error" })
            .clone();
        Saved {
            path: state_dir.join(FILE),
            recent,
            traffic,
            ok,
            error,
        }
    }

    /// Restores the saved windows, if any. A file that cannot be read is moved aside (`traffic.json.unreadable`)
    /// and torwatch starts with empty windows: they are counts for people, not the lists.
    pub fn restore(&self, now: i64) {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::error!(
                    "cannot read {}: {e}; starting with empty traffic windows",
                    self.path.display()
                );
                return;
            }
        };
        let disk = match serde_json::from_slice::<OnDisk>(&bytes) {
            Ok(d) if d.format == FORMAT && d.recent.is_valid() => d,
            Ok(d) => {
                self.aside(&format!("unknown format {}", d.format));
                return;
            }
            Err(e) => {
                self.aside(&e.to_string());
                return;
            }
        };
        if let Ok(mut r) = self.recent.lock() {
            *r = disk.recent;
        }
        self.traffic.restore_distinct(disk.distinct, now);
        tracing::info!(
            "restored the last 24 h of traffic saved {}s ago from {}",
            now.saturating_sub(disk.saved),
            self.path.display()
        );
    }

    fn aside(&self, why: &str) {
        let aside = self.path.with_extension("json.unreadable");
        let moved = std::fs::rename(&self.path, &aside);
        tracing::error!(
            "{} is unreadable ({why}); starting with empty traffic windows{}",
            self.path.display(),
            match moved {
                Ok(()) => format!(", the file kept as {}", aside.display()),
                Err(e) => format!(" (cannot move it aside: {e})"),
            }
        );
    }

    /// Saves the windows now.
    pub async fn save(&self, now: i64) {
        let recent = match self.recent.lock() {
            Ok(r) => r.clone(),
            Err(_) => return,
        };
        let disk = OnDisk {
            format: FORMAT,
            saved: now,
            recent,
            distinct: self.traffic.distinct_exits(),
        };
        let result = match serde_json::to_vec(&disk) {
            Ok(bytes) => crate::publish::write_atomic(&self.path, &bytes)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => {
                self.ok.inc();
            }
            Err(e) => {
                self.error.inc();
                tracing::error!(
                    "cannot save the traffic windows to {}: {e}",
                    self.path.display()
                );
            }
        };
    }

    /// Saves every [`EVERY`] until shutdown (the last save is the caller's, once the pipeline has drained).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => self.save(crate::keeper::now()).await,
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
