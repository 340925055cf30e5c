//! The last 24 hours across restarts: the status page's hourly hits ([`HourlyHits`]) and the distinct exits behind
//! `torwatch_tor_distinct_exits_24h`, saved in `state_dir/traffic.json` every `state_save_interval` (10 s by
//! default) when a hit was counted since the last save, and when torwatch stops; restored at start. A stop and
//! start lose nothing; a crash loses at most the hits of the last `state_save_interval`. Owns that file.

use super::HourlyHits;
use crate::keeper::metrics::WriteLabels;
use crate::matcher::TrafficMetrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const FILE: &str = "traffic.json";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct TrafficFile {
    format: u32,
    /// Unix seconds of the save.
    saved: i64,
    recent: HourlyHits,
    /// Exit → last hit (unix seconds).
    distinct: Vec<(String, i64)>,
}

/// The saved windows of one state directory.
pub struct Saved {
    path: PathBuf,
    recent: Arc<Mutex<HourlyHits>>,
    traffic: Arc<TrafficMetrics>,
    ok: Counter,
    error: Counter,
    /// [`HourlyHits::changes`] at the last save.
    saved: std::sync::atomic::AtomicU64,
}

impl Saved {
    /// Registers `torwatch_traffic_state_writes_total` and returns the saver of `state_dir`'s windows.
    pub fn register(
        reg: &mut Registry,
        state_dir: &Path,
        recent: Arc<Mutex<HourlyHits>>,
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
            saved: std::sync::atomic::AtomicU64::new(0),
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
        let disk = match serde_json::from_slice::<TrafficFile>(&bytes) {
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
        let changes = recent.changes();
        let disk = TrafficFile {
            format: FORMAT,
            saved: now,
            recent,
            distinct: self.traffic.distinct_exits(),
        };
        let result = match serde_json::to_vec(&disk) {
            Ok(bytes) => crate::atomic_file::write_synced(&self.path, &bytes)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => {
                self.ok.inc();
                self.saved
                    .store(changes, std::sync::atomic::Ordering::Relaxed);
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

    /// Whether a hit was counted since the last save.
    fn changed(&self) -> bool {
        let saved = self.saved.load(std::sync::atomic::Ordering::Relaxed);
        self.recent.lock().is_ok_and(|r| r.changes() != saved)
    }

    /// Saves every `every` while hits come, until shutdown (the last save is the caller's, once the pipeline has
    /// drained).
    pub async fn run(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => if self.changed() {
                    self.save(crate::clock::now()).await;
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Kind;
    use crate::last_day::Seen;

    fn saver(dir: &Path) -> Saved {
        let config = crate::config::Config::parse("").unwrap();
        let mut reg = Registry::default();
        let traffic = Arc::new(TrafficMetrics::register(&mut reg, &config.matcher));
        Saved::register(&mut reg, dir, Arc::default(), traffic)
    }

    #[tokio::test]
    async fn saved_windows_come_back_and_an_unreadable_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_800_000_000;
        let a = saver(dir.path());
        a.recent.lock().unwrap().inbound(Seen {
            at: now - 7200,
            exit: "185.220.101.1".parse().unwrap(),
            country: "de",
            port: Some(22),
            http: None,
            kind: Kind::Traffic,
            login: None,
        });
        a.traffic
            .restore_distinct(vec![("185.220.101.1".into(), now - 7200)], now);
        assert!(a.changed());
        a.save(now).await;
        assert!(!a.changed(), "saved");
        assert_eq!(a.ok.get(), 1);

        let b = saver(dir.path());
        b.restore(now + 60);
        let summary = b.recent.lock().unwrap().summary(now + 60, 10);
        assert_eq!(summary.hits, 1);
        assert_eq!(summary.hourly.iter().map(|h| h.kinds[0]).sum::<u64>(), 1);
        assert_eq!(
            b.traffic.distinct_exits(),
            vec![("185.220.101.1".to_string(), now - 7200)]
        );

        std::fs::write(dir.path().join(FILE), b"{\"format\":1,").unwrap();
        let c = saver(dir.path());
        c.restore(now);
        assert_eq!(c.recent.lock().unwrap().summary(now, 10).hits, 0);
        assert!(
            dir.path().join("traffic.json.unreadable").exists(),
            "kept for a person to look at"
        );
        assert!(!dir.path().join(FILE).exists());
    }

    #[tokio::test]
    async fn a_failed_save_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let a = saver(&dir.path().join("missing/deeper"));
        a.save(1).await;
        assert_eq!((a.ok.get(), a.error.get()), (0, 1));
    }
}
