//! One task per source: waits until the source is due, fetches, parses and validates, and reports the outcome to
//! the keeper. It owns the source's schedule, validators and retry state; it never touches the lists.

use crate::config::{SourceConfig, SourceLocation, DANME_MIN_INTERVAL};
use crate::feeds::guard::{self, Coverage, Drops};
use crate::feeds::validate::{self, CountRules};
use crate::feeds::{self, Feed, FeedError, FeedKind};
use crate::sources::backoff::Backoff;
use crate::sources::fetch::{self, FetchError, Fetched, Location, Request};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a fetch produced.
#[derive(Debug)]
pub enum FetchOutcome {
    /// A new, validated list.
    Accepted {
        feed: Feed,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 304, or the same body as the last good one.
    Unchanged,
    /// Nothing changes; `reason` is a metric label.
    Failed {
        reason: &'static str,
        message: String,
    },
}

impl FetchOutcome {
    pub fn result(&self) -> &'static str {
        match self {
            FetchOutcome::Accepted { .. } => "ok",
            FetchOutcome::Unchanged => "unchanged",
            FetchOutcome::Failed { reason, .. } => reason,
        }
    }
}

#[derive(Debug)]
pub struct PollReport {
    /// Index of the source in the config.
    pub source: usize,
    /// Unix seconds when the fetch started.
    pub at: i64,
    pub duration: Duration,
    pub outcome: FetchOutcome,
    /// Unix seconds before which the source is not fetched again after a failure (backoff, `Retry-After`, the
    /// provider's minimum); 0 after a success. Kept in the state, so a restart waits as long.
    pub retry_at: i64,
    /// Entries the list guard dropped from this fetch (whatever its outcome).
    pub dropped: Drops,
}

/// A source's poller, primed from the persisted state.
pub struct Poller {
    pub index: usize,
    pub config: SourceConfig,
    pub client: reqwest::Client,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Entry count of the last good feed, for the shrink rule.
    pub previous: Option<usize>,
    /// What the last good feed covers, for the guard's `max_cover`.
    pub cover: Coverage,
    pub failures: u32,
    /// Wait before the first fetch (so a restart does not re-fetch a source that is not due).
    pub first_delay: Duration,
}

impl Poller {
    fn location(&self) -> Result<Location, String> {
        match &self.config.location {
            SourceLocation::Url(u) => reqwest::Url::parse(u)
                .map(Location::Url)
                .map_err(|e| format!("{:?}: {e}", fetch::redact_text(u))),
            SourceLocation::File(p) => Ok(Location::File(p.clone())),
        }
    }

    fn min_gap(&self) -> Duration {
        if self.config.kind == FeedKind::Danme {
            DANME_MIN_INTERVAL
        } else {
            Duration::ZERO
        }
    }

    pub async fn run(mut self, tx: mpsc::Sender<PollReport>, shutdown: CancellationToken) {
        let mut delay = self.first_delay;
        let mut last_body: Option<[u8; 32]> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let at = crate::clock::now();
            let started = Instant::now();
            let mut dropped = Drops::default();
            let (outcome, retry_after) = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = self.fetch_once(&mut last_body, &mut dropped) => r,
            };
            let duration = started.elapsed();
            let mut retry_at = 0;
            delay = match &outcome {
                FetchOutcome::Failed { .. } => {
                    self.failures = self.failures.saturating_add(1);
                    let wait = self.retry_wait(retry_after);
                    // The wait counts from the answer, rounded up to the second, so that a restart never asks
                    // sooner than the server allowed.
                    let answered = crate::clock::now_ms();
                    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    retry_at = answered.saturating_add(wait_ms).saturating_add(999) / 1000;
                    wait
                }
                _ => {
                    self.failures = 0;
                    self.config.interval
                }
            };
            let report = PollReport {
                source: self.index,
                at,
                duration,
                outcome,
                retry_at,
                dropped,
            };
            // The keeper stops reading when it stops: a full queue must not hold this task past shutdown.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                sent = tx.send(report) => if sent.is_err() { return },
            }
        }
    }

    /// The wait after a failure: the jittered backoff, lengthened by the server's `Retry-After` and the provider's
    /// minimum, but never longer than the source's `max_retry_wait` (or that minimum): a `Retry-After` of years
    /// would otherwise disable the source until a restart.
    fn retry_wait(&self, retry_after: Option<Duration>) -> Duration {
        let backoff = Backoff {
            base: Duration::from_secs(10).min(self.config.interval),
            max: self.config.interval,
        };
        let wait = backoff.wait(
            self.failures,
            crate::sources::jitter(),
            retry_after,
            self.min_gap(),
        );
        let cap = self.config.max_retry_wait.max(self.min_gap());
        if wait > cap {
            tracing::warn!(
                source = %self.config.name,
                "Retry-After of {}s capped at max_retry_wait ({})",
                retry_after.unwrap_or_default().as_secs(),
                humantime::format_duration(cap)
            );
        }
        wait.min(cap)
    }

    async fn fetch_once(
        &mut self,
        last_body: &mut Option<[u8; 32]>,
        dropped: &mut Drops,
    ) -> (FetchOutcome, Option<Duration>) {
        let location = match self.location() {
            Ok(l) => l,
            Err(message) => {
                return (
                    FetchOutcome::Failed {
                        reason: "io_error",
                        message,
                    },
                    None,
                )
            }
        };
        let request = Request {
            location: &location,
            timeout: self.config.timeout,
            max_body: self.config.max_body,
            etag: self.etag.as_deref(),
            last_modified: self.last_modified.as_deref(),
            bearer: self.config.token.as_deref(),
        };
        let (body, etag, last_modified) = match fetch::fetch(&self.client, &request).await {
            Ok(Fetched::NotModified) => return (FetchOutcome::Unchanged, None),
            Ok(Fetched::Body {
                body,
                etag,
                last_modified,
            }) => (body, etag, last_modified),
            Err(e) => return (self.failure(&e), e.retry_after()),
        };
        let digest: [u8; 32] = Sha256::digest(&body).into();
        if *last_body == Some(digest) && self.previous.is_some() {
            self.etag = etag;
            self.last_modified = last_modified;
            return (FetchOutcome::Unchanged, None);
        }
        let rules = CountRules {
            min_entries: self.config.min_entries,
            max_shrink: self.config.max_shrink,
        };
        // The guard runs before the count rules: entries it drops do not count towards the floor.
        let checked = feeds::parse(self.config.kind, &body).and_then(|mut feed| {
            *dropped = guard::screen(&mut feed, &self.config.guard);
            let cover = Coverage::of_feed(&feed);
            guard::check_cover(&cover, &self.config.guard, &self.cover)?;
            validate::check(&feed, &rules, self.previous)?;
            Ok((feed, cover))
        });
        match checked {
            Ok((feed, cover)) => {
                *last_body = Some(digest);
                self.previous = Some(validate::entries(&feed));
                self.cover = cover;
                self.etag.clone_from(&etag);
                self.last_modified.clone_from(&last_modified);
                (
                    FetchOutcome::Accepted {
                        feed,
                        etag,
                        last_modified,
                    },
                    None,
                )
            }
            Err(e) => (rejected(&e), None),
        }
    }

    /// A failed fetch; a 403/503 whose body is the provider's rate-limit text counts as `rate_limited`.
    fn failure(&self, e: &FetchError) -> FetchOutcome {
        if let FetchError::Status { body, status, .. } = e {
            if let Err(FeedError::RateLimited(text)) = feeds::parse(self.config.kind, body) {
                return FetchOutcome::Failed {
                    reason: "rate_limited",
                    message: format!("http status {status}: {text:?}"),
                };
            }
        }
        FetchOutcome::Failed {
            reason: e.reason(),
            message: e.to_string(),
        }
    }
}

fn rejected(e: &FeedError) -> FetchOutcome {
    FetchOutcome::Failed {
        reason: e.reason(),
        message: e.to_string(),
    }
}
