//! The publisher task: on every new snapshot, writes each configured file whose rendering changed (or whose last
//! write or apply failed) and runs its apply command. A list that was never loaded is never written. Outcomes are
//! counted (`torwatch_publish_*`) and failures listed on `/readyz`.

pub mod apply;
pub mod file;

use crate::problems::Problems;
use crate::snapshot::Shared;
use apply::ApplyError;
use file::PublishFile;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileLabels {
    pub file: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileResultLabels {
    pub file: String,
    pub result: &'static str,
}

pub struct PublishMetrics {
    pub writes: Family<FileResultLabels, Counter>,
    pub applies: Family<FileResultLabels, Counter>,
    pub last_success: Family<FileLabels, Gauge>,
}

impl PublishMetrics {
    pub fn register(reg: &mut Registry) -> PublishMetrics {
        let m = PublishMetrics {
            writes: Family::default(),
            applies: Family::default(),
            last_success: Family::default(),
        };
        reg.register(
            "torwatch_publish_writes",
            "Published file writes by outcome",
            m.writes.clone(),
        );
        reg.register(
            "torwatch_publish_applies",
            "Apply command runs by outcome",
            m.applies.clone(),
        );
        reg.register(
            "torwatch_publish_last_success_timestamp_seconds",
            "Unix time of the last successful write (and apply, if configured)",
            m.last_success.clone(),
        );
        m
    }
}

/// The publisher's name in [`Problems`].
const OWNER: &str = "publish";

/// An apply command was stopped by shutdown.
struct Interrupted;

/// What was last done for one file.
#[derive(Default)]
struct Last {
    etag: Option<String>,
    ok: bool,
    problem: Option<String>,
}

pub struct Publisher {
    pub files: Vec<PublishFile>,
    pub shared: Shared,
    pub metrics: Arc<PublishMetrics>,
    /// Current problems, shown on `/readyz`.
    pub problems: Arc<Problems>,
}

impl Publisher {
    pub async fn run(self, mut changed: watch::Receiver<u64>, shutdown: CancellationToken) {
        let mut last: Vec<Last> = self.files.iter().map(|_| Last::default()).collect();
        for spec in &self.files {
            let file = spec.path.display().to_string();
            for result in ["ok", "error"] {
                let _ = self.metrics.writes.get_or_create(&FileResultLabels {
                    file: file.clone(),
                    result,
                });
            }
            if spec.apply.is_some() {
                for result in ["ok", "error", "timeout"] {
                    let _ = self.metrics.applies.get_or_create(&FileResultLabels {
                        file: file.clone(),
                        result,
                    });
                }
            }
        }
        loop {
            if self.publish_all(&mut last, &shutdown).await.is_err() {
                return;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = changed.changed() => if r.is_err() { return },
            }
        }
    }

    /// Publishes every file whose rendering changed; `Err` when `shutdown` stopped an apply command.
    async fn publish_all(
        &self,
        last: &mut [Last],
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let snapshot = self.shared.load_full();
        for (spec, last) in self.files.iter().zip(last.iter_mut()) {
            let Some(renders) = snapshot.renders.get(&spec.list) else {
                continue;
            };
            // A big list takes a while to render: not on the runtime's threads.
            let (format, options, all) = (spec.format, spec.options, renders.clone());
            let Ok(()) = tokio::task::spawn_blocking(move || {
                all.get(format, &options);
            })
            .await
            else {
                continue;
            };
            let rendered = renders.get(spec.format, &spec.options);
            if last.ok && last.etag.as_deref() == Some(rendered.etag.as_str()) {
                continue;
            }
            let outcome = file::publish(spec, &rendered.body, shutdown).await;
            if outcome.apply == Some(Err(ApplyError::Stopped)) {
                tracing::info!(file = %spec.path.display(), "apply command stopped by shutdown");
                return Err(Interrupted);
            }
            let file = spec.path.display().to_string();
            let write = if outcome.write.is_ok() { "ok" } else { "error" };
            self.metrics
                .writes
                .get_or_create(&FileResultLabels {
                    file: file.clone(),
                    result: write,
                })
                .inc();
            if let Some(apply) = &outcome.apply {
                let result = match apply {
                    Ok(()) => "ok",
                    Err(e) => e.result_label(),
                };
                self.metrics
                    .applies
                    .get_or_create(&FileResultLabels {
                        file: file.clone(),
                        result,
                    })
                    .inc();
            }
            last.ok = outcome.is_ok();
            last.etag = Some(rendered.etag.clone());
            last.problem = match (&outcome.write, &outcome.apply) {
                (Err(e), _) => Some(e.clone()),
                (Ok(()), Some(Err(e))) => Some(format!("{file}: {}", e.summary())),
                _ => None,
            };
            if last.ok {
                tracing::info!(file = %file, list = %spec.list, version = renders.list.version, "published");
                self.metrics
                    .last_success
                    .get_or_create(&FileLabels { file })
                    .set(crate::clock::now());
            } else {
                let error = match (&outcome.write, &outcome.apply) {
                    (Err(e), _) => e.clone(),
                    (Ok(()), Some(Err(e))) => e.to_string(),
                    _ => String::new(),
                };
                tracing::error!("publishing {file} failed (retried on the next change): {error}");
            }
        }
        let problems: Vec<String> = last.iter().filter_map(|l| l.problem.clone()).collect();
        self.problems.set(OWNER, problems);
        Ok(())
    }
}
