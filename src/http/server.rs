//! The HTTP listener: accepts connections under a cap (evicting the longest-idle connection when a new client
//! waits, see `slots`), optionally terminates TLS (rustls, optional client certificates), and serves each
//! connection with HTTP/1.1 under header and request timeouts; a client that stops reading its response loses the
//! connection after the request timeout. Knows nothing of routes.

use super::Endpoints;
use crate::config::{files, HttpConfig, TlsConfig};
use crate::slots::{Activity, Slots};
use anyhow::Context;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The peer address of a request, inserted into its extensions for access control.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// How long open connections get to finish after shutdown begins.
const GRACE: Duration = Duration::from_secs(5);

pub struct Server {
    pub listener: TcpListener,
    pub endpoints: Endpoints,
    /// Replaced on reload, so renewed certificates apply to new connections.
    pub tls: Arc<arc_swap::ArcSwapOption<TlsAcceptor>>,
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
    /// How long a write may make no progress before the connection is dropped.
    pub write_timeout: Duration,
}

impl Server {
    /// A server on `listener`, over TLS with `tls` (built by [`tls_acceptor`] from `config.tls`).
    pub fn new(
        listener: TcpListener,
        endpoints: Endpoints,
        config: &HttpConfig,
        tls: Option<TlsAcceptor>,
    ) -> Server {
        Server {
            listener,
            endpoints,
            tls: Arc::new(arc_swap::ArcSwapOption::from(tls.map(Arc::new))),
            header_timeout: config.header_timeout,
            max_connections: config.max_connections,
            max_header_bytes: config.max_header_bytes,
            write_timeout: config.request_timeout,
        }
    }

    /// Serves until `shutdown`, then lets open connections finish for a grace period.
    pub async fn run(self, shutdown: CancellationToken) {
        // A connection idle for a quarter of the header timeout may give its slot to a waiting client.
        let slots = Slots::new(
            self.max_connections,
            self.header_timeout / 4,
            self.endpoints.evictions(),
        );
        let connections = TaskTracker::new();
        let this = Arc::new(self);
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = this.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let Some(slot) = slots.take(shutdown.cancelled()).await else {
                break;
            };
            let _ = stream.set_nodelay(true);
            let this = this.clone();
            let shutdown = shutdown.clone();
            connections.spawn(async move {
                let activity = slot.activity.clone();
                this.connection(stream, peer, shutdown, activity).await;
                drop(slot);
            });
        }
        connections.close();
        let _ = tokio::time::timeout(GRACE, connections.wait()).await;
    }

    async fn connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: CancellationToken,
        activity: Arc<Activity>,
    ) {
        let service = Tracked {
            inner: self.endpoints.connection(peer),
            activity: activity.clone(),
        };
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .max_buf_size(self.max_header_bytes.max(8192));
        let stream = Stall::new(stream, self.write_timeout);
        match self.tls.load_full().as_deref() {
            None => {
                serve(
                    builder.serve_connection(TokioIo::new(stream), service),
                    shutdown,
                    &activity,
                )
                .await
            }
            Some(acceptor) => {
                let handshake = tokio::time::timeout(self.header_timeout, acceptor.accept(stream));
                let tls = tokio::select! {
                    done = handshake => match done {
                        Ok(Ok(tls)) => tls,
                        _ => {
                            tracing::debug!(%peer, "TLS handshake failed or timed out");
                            return;
                        }
                    },
                    _ = activity.evict.cancelled() => return,
                };
                serve(
                    builder.serve_connection(TokioIo::new(tls), service),
                    shutdown,
                    &activity,
                )
                .await
            }
        }
    }
}

/// A connection's service that tells its [`Activity`] when a request starts and when its response is ready.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Finished<S::Future>;

    fn call(&self, request: R) -> Self::Future {
        self.activity.started();
        Finished {
            inner: self.inner.call(request),
            activity: Some(self.activity.clone()),
        }
    }
}

/// A handler's future that marks the request finished when it resolves (or is dropped).
struct Finished<F> {
    inner: F,
    activity: Option<Arc<Activity>>,
}

impl<F: Future + Unpin> Future for Finished<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll(cx);
        if poll.is_ready() {
            if let Some(a) = this.activity.take() {
                a.finished();
            }
        }
        poll
    }
}

impl<F> Drop for Finished<F> {
    fn drop(&mut self) {
        if let Some(a) = self.activity.take() {
            a.finished();
        }
    }
}

/// Serves a connection until it ends. On shutdown, or when evicted at the cap after it has answered a request,
/// it finishes the response in progress and closes; evicted before its first request, it is simply dropped (its
/// client is owed nothing).
async fn serve<I, S>(
    conn: http1::Connection<I, S>,
    shutdown: CancellationToken,
    activity: &Activity,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn).await;
        }
        _ = activity.evict.cancelled() => {
            if activity.never_served() {
                return;
            }
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn).await;
        }
    }
}

/// A connection's socket whose writes fail once they have made no progress for `limit`: a client that stops
/// reading cannot hold a connection slot forever. Reads are left to the header and request timeouts.
struct Stall {
    io: TcpStream,
    limit: Duration,
    /// Armed while a write is pending.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl Stall {
    fn new(io: TcpStream, limit: Duration) -> Stall {
        Stall {
            io,
            limit,
            deadline: None,
        }
    }

    /// Passes a write's outcome through, timing how long it stays pending.
    fn watch<T>(
        &mut self,
        cx: &mut TaskContext<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.deadline = None;
            return poll;
        }
        let limit = self.limit;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("client read nothing for {limit:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Stall {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stall {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Builds the rustls acceptor from PEM files; with `client_ca`, clients must present a certificate it signed.
pub fn tls_acceptor(config: &TlsConfig) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&config.cert).context("http.tls.cert")?;
    let key = {
        let pem = files::read(&config.key, files::TLS_MAX)
            .map_err(|e| anyhow::anyhow!("http.tls.key: {e}"))?;
        PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
            pem::Error::NoItemsFound => {
                anyhow::anyhow!("http.tls.key: no private key in {}", config.key.display())
            }
            e => anyhow::anyhow!("http.tls.key: {} is not PEM: {e}", config.key.display()),
        })?
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &config.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca).context("http.tls.client_ca")? {
                roots.add(cert).with_context(|| {
                    format!("http.tls.client_ca: bad certificate in {}", ca.display())
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .context("http.tls.client_ca")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .context("http.tls: certificate and key do not match")?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn read_certs(path: &std::path::Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = files::read(path, files::TLS_MAX).map_err(anyhow::Error::msg)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not PEM", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in {}", path.display());
    Ok(certs)
}
