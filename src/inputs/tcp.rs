//! Syslog over TCP: a listener with a connection cap, one task per connection, newline or RFC 6587 octet-counting
//! framing detected per message. Owns sockets, not meaning.
//!
//! Idle and hostile connections cannot lock senders out:
//! - a connection that delivers no whole message for `idle_timeout` is closed (bytes that never end a message do
//!   not count);
//! - at `max_connections`, a new connection takes the slot of one idle for at least [`MIN_IDLE`]: one that never
//!   delivered a message first, else the one idle longest (see [`crate::slots`]); it is closed and counted
//!   (`torwatch_input_connections_evicted_total`). The newcomer waits for that (its bytes wait in the kernel) for
//!   up to [`WAIT_FOR_SLOT`], so any idle connection qualifies meanwhile; only when every connection keeps
//!   delivering messages is it closed unread and counted as refused. Meanwhile the connections behind it wait in
//!   the kernel's accept queue: a flood of idle connections delays a new sender by about
//!   `connections queued ahead / max_connections × MIN_IDLE`, it does not lock it out.
//!
//! A sender whose connection was closed reconnects with its next message (rsyslog, syslog-ng and logger do).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::batch::Outbox;
use super::framing::Framing;
use super::stream::{pump, Ended, StreamSpec};
use super::TcpSpec;
use crate::slots::{Activity, Slots};

/// A connection that delivered a message within this time is never evicted for a newcomer.
pub const MIN_IDLE: Duration = Duration::from_secs(1);
/// How long a newcomer waits for a slot (an idle connection to evict, or one to end) before it is refused.
pub const WAIT_FOR_SLOT: Duration = Duration::from_secs(2);

/// A bound TCP syslog listener.
pub struct TcpInput {
    listener: Arc<TcpListener>,
    max_connections: usize,
    stream: StreamSpec,
}

impl TcpInput {
    /// Binds `spec.listen`.
    pub async fn bind(spec: &TcpSpec, max_message: usize) -> anyhow::Result<TcpInput> {
        let listener = Arc::new(bind_listener(spec.listen).await?);
        Ok(TcpInput::on(listener, spec, max_message))
    }

    /// An input on a listener that is already bound (one a reload took over).
    pub fn on(listener: Arc<TcpListener>, spec: &TcpSpec, max_message: usize) -> TcpInput {
        let stream = StreamSpec {
            framing: Framing::Syslog,
            max_message,
            idle_timeout: spec.idle_timeout,
        };
        TcpInput {
            listener,
            max_connections: spec.max_connections.max(1),
            stream,
        }
    }

    /// The listener, to be taken over by the next generation.
    pub fn listener(&self) -> &Arc<TcpListener> {
        &self.listener
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Accepts connections until shutdown, then waits for the connection tasks to end.
    pub async fn run(self, out: Outbox, shutdown: CancellationToken) -> anyhow::Result<()> {
        let idle = self
            .stream
            .idle_timeout
            .map_or(MIN_IDLE, |t| t.min(MIN_IDLE));
        let slots = Slots::new(
            self.max_connections,
            idle,
            out.counters.connections_evicted.clone(),
        );
        let tasks = TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "cannot accept syslog connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let wait = async {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = tokio::time::sleep(WAIT_FOR_SLOT) => {}
                }
            };
            let Some(slot) = slots.take(wait).await else {
                if shutdown.is_cancelled() {
                    break;
                }
                out.counters.connections_refused.inc();
                tracing::debug!(%peer, "syslog connection refused: every connection is busy");
                continue;
            };
            let conn = TcpConnection {
                socket,
                peer,
                spec: self.stream,
                out: out.fork(),
                shutdown: shutdown.clone(),
                activity: slot.activity.clone(),
            };
            tasks.spawn(async move {
                conn.run().await;
                drop(slot);
            });
        }
        tasks.close();
        tasks.wait().await;
        Ok(())
    }
}

/// Binds a TCP listener on `listen`.
pub async fn bind_listener(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on tcp {listen}: {e}"))
}

struct TcpConnection {
    socket: TcpStream,
    peer: SocketAddr,
    spec: StreamSpec,
    out: Outbox,
    shutdown: CancellationToken,
    activity: Arc<Activity>,
}

impl TcpConnection {
    async fn run(mut self) {
        let ended = pump(
            &mut self.socket,
            self.spec,
            &mut self.out,
            &self.shutdown,
            Some(&self.activity),
        )
        .await;
        match ended {
            Ended::Eof | Ended::Stopped(_) => {}
            Ended::Idle => tracing::debug!(peer = %self.peer, "idle syslog connection closed"),
            Ended::Evicted => {
                tracing::debug!(peer = %self.peer, "idle syslog connection closed for a new one")
            }
            Ended::Error(e) => {
                tracing::debug!(peer = %self.peer, error = %e, "syslog connection failed")
            }
        }
    }
}
