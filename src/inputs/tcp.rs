//! Syslog over TCP: a listener capped at `max_connections` (extra connections are closed and counted), one task
//! per connection, newline or RFC 6587 octet-counting framing detected per message. Owns sockets, not meaning.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::batch::Outbox;
use super::framing::Framing;
use super::stream::{pump, Ended, StreamSpec};
use super::TcpSpec;

/// A bound TCP syslog listener.
pub struct TcpInput {
    listener: TcpListener,
    max_connections: usize,
    stream: StreamSpec,
}

impl TcpInput {
    /// Binds `spec.listen`.
    pub async fn bind(spec: &TcpSpec, max_message: usize) -> anyhow::Result<TcpInput> {
        let listener = TcpListener::bind(spec.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on tcp {}: {e}", spec.listen))?;
        let stream = StreamSpec {
            framing: Framing::Syslog,
            max_message,
            idle_timeout: spec.idle_timeout,
        };
        Ok(TcpInput {
            listener,
            max_connections: spec.max_connections.max(1),
            stream,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Accepts connections until shutdown, then waits for the connection tasks to end.
    pub async fn run(self, out: Outbox, shutdown: CancellationToken) -> anyhow::Result<()> {
        let slots = Arc::new(Semaphore::new(self.max_connections));
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
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                out.counters.connections_refused.inc();
                tracing::debug!(%peer, "syslog connection refused: too many open");
                continue;
            };
            let conn = Connection {
                socket,
                peer,
                spec: self.stream,
                out: out.fork(),
                shutdown: shutdown.clone(),
            };
            tasks.spawn(async move {
                conn.run().await;
                drop(permit);
            });
        }
        tasks.close();
        tasks.wait().await;
        Ok(())
    }
}

struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    spec: StreamSpec,
    out: Outbox,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(mut self) {
        match pump(&mut self.socket, self.spec, &mut self.out, &self.shutdown).await {
            Ended::Eof | Ended::Stopped(_) => {}
            Ended::Idle => tracing::debug!(peer = %self.peer, "idle syslog connection closed"),
            Ended::Error(e) => {
                tracing::debug!(peer = %self.peer, error = %e, "syslog connection failed")
            }
        }
    }
}
