//! A connection cap with eviction, for the HTTP server and the syslog TCP inputs: when every slot is taken and a
//! new client is waiting, a connection that has been idle for at least the minimum idle time (no request or batch
//! in progress) is told to go — one that never delivered anything first (an idle or byte-by-byte client, the
//! likely attacker), else the one idle longest — so idle clients cannot keep polite ones out. Knows nothing of
//! HTTP or syslog beyond "work started" and "work finished".

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Every slot of the cap, and what each connection in one is doing.
pub struct Slots {
    permits: Arc<Semaphore>,
    live: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
    /// A connection idle for less than this is never evicted (a client that just connected is still sending).
    min_idle: Duration,
    epoch: Instant,
    evicted: prometheus_client::metrics::counter::Counter,
}

/// What a connection is doing, updated by its service and read by the accept loop.
pub struct Activity {
    in_flight: AtomicU32,
    served: AtomicU64,
    /// Milliseconds after the epoch at which the connection last became idle (accepted, or a response produced).
    idle_since: AtomicU64,
    /// Cancelled when the connection is asked to go.
    pub evict: CancellationToken,
    epoch: Instant,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let a = Activity {
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            evict: CancellationToken::new(),
            epoch,
        };
        a.idle_since.store(a.now_ms(), Ordering::Relaxed);
        a
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request head arrived and its handler runs (HTTP), or a read produced messages to deliver (syslog).
    pub fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// The handler produced its response (hyper writes it next), or the messages were delivered.
    pub fn finished(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
        self.idle_since.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// True before the first request (or message): nothing is owed to the client, so it can simply be dropped.
    pub fn never_served(&self) -> bool {
        self.served.load(Ordering::Relaxed) == 0 && self.in_flight.load(Ordering::Relaxed) == 0
    }

    /// Idle since this many milliseconds after the epoch, when no request is in progress.
    fn idle(&self) -> Option<u64> {
        (self.in_flight.load(Ordering::Relaxed) == 0 && !self.evict.is_cancelled())
            .then(|| self.idle_since.load(Ordering::Relaxed))
    }

    /// Eviction order: connections that never delivered anything first, then the longest idle.
    fn eviction_key(&self, since: u64) -> (bool, u64) {
        (!self.never_served(), since)
    }
}

/// A taken slot: the permit and the registration, both given back when dropped.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    slots: Arc<Slots>,
    id: u64,
    pub activity: Arc<Activity>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut live) = self.slots.live.lock() {
            live.remove(&self.id);
        }
    }
}

impl Slots {
    pub fn new(
        max: usize,
        min_idle: Duration,
        evicted: prometheus_client::metrics::counter::Counter,
    ) -> Arc<Slots> {
        Arc::new(Slots {
            permits: Arc::new(Semaphore::new(max.max(1))),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            min_idle,
            epoch: Instant::now(),
            evicted,
        })
    }

    /// A slot for a connection that was just accepted: a free one at once, else the one an evicted connection
    /// gives back. `None` when `stop` resolves first.
    pub async fn take(self: &Arc<Self>, stop: impl Future<Output = ()>) -> Option<Slot> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return None,
            Err(TryAcquireError::NoPermits) => self.wait(stop).await?,
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        if let Ok(mut live) = self.live.lock() {
            live.insert(id, activity.clone());
        }
        Some(Slot {
            _permit: permit,
            slots: self.clone(),
            id,
            activity,
        })
    }

    /// Evicts the longest-idle connection (at most one per tick) until a permit comes back.
    async fn wait(&self, stop: impl Future<Output = ()>) -> Option<OwnedSemaphorePermit> {
        let tick = (self.min_idle / 4).max(Duration::from_millis(10));
        let mut stop = std::pin::pin!(stop);
        loop {
            if self.evict_one() {
                self.evicted.inc();
            }
            tokio::select! {
                p = self.permits.clone().acquire_owned() => return p.ok(),
                _ = tokio::time::sleep(tick) => {}
                _ = stop.as_mut() => return None,
            }
        }
    }

    /// Tells the connection idle longest (and at least `min_idle`) to go; false when none qualifies.
    fn evict_one(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let min = u64::try_from(self.min_idle.as_millis()).unwrap_or(u64::MAX);
        let Ok(live) = self.live.lock() else {
            return false;
        };
        let victim = live
            .values()
            .filter_map(|a| a.idle().map(|since| (since, a)))
            .filter(|(since, _)| now.saturating_sub(*since) >= min)
            .min_by_key(|(since, a)| a.eviction_key(*since));
        match victim {
            Some((_, a)) => {
                a.evict.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> prometheus_client::metrics::counter::Counter {
        prometheus_client::metrics::counter::Counter::default()
    }

    #[tokio::test(start_paused = true)]
    async fn the_longest_idle_connection_gives_way_and_busy_ones_never_do() {
        let evicted = counter();
        let slots = Slots::new(2, Duration::from_millis(100), evicted.clone());
        let first = slots.take(std::future::pending()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = slots.take(std::future::pending()).await.unwrap();
        second.activity.started(); // a request in progress: never evicted

        let third = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take(std::future::pending()).await.map(|s| s.id) }
        });
        // Too young to evict yet.
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(!first.activity.evict.is_cancelled());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            first.activity.evict.is_cancelled(),
            "the idle one is asked to go"
        );
        assert!(!second.activity.evict.is_cancelled(), "the busy one stays");
        assert_eq!(evicted.get(), 1);
        assert!(first.activity.never_served());
        drop(first);
        assert!(
            third.await.unwrap().is_some(),
            "its slot went to the waiting client"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_never_delivered_goes_before_an_older_idle_one() {
        let slots = Slots::new(2, Duration::from_millis(10), counter());
        let polite = slots.take(std::future::pending()).await.unwrap();
        polite.activity.started();
        polite.activity.finished();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let silent = slots.take(std::future::pending()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let third = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take(std::future::pending()).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(silent.activity.evict.is_cancelled(), "the silent one goes");
        assert!(
            !polite.activity.evict.is_cancelled(),
            "the polite one stays, though idle longer"
        );
        drop(silent);
        assert!(third.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn with_every_connection_busy_the_new_one_waits() {
        let slots = Slots::new(1, Duration::from_millis(10), counter());
        let busy = slots.take(std::future::pending()).await.unwrap();
        busy.activity.started();
        let stop = tokio::time::sleep(Duration::from_secs(5));
        assert!(
            slots.take(stop).await.is_none(),
            "no slot while the only one is busy"
        );
        busy.activity.finished();
        assert!(!busy.activity.never_served());
    }
}
