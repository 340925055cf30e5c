//! Syslog over UDP: one datagram is one message. A large receive buffer (forced past `rmem_max` with
//! CAP_NET_ADMIN), datagrams taken `RECV_BATCH` per system call (`recvmmsg`), batches sent without waiting (a full
//! queue drops and counts), the kernel's drop counter exported. Owns the socket, not the meaning of messages.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use nix::sys::socket::{recvmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrStorage};
use socket2::{Domain, Protocol, Type};
use std::io::IoSliceMut;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batch::Outbox;
use super::framing::trim_terminator;
use super::{socket_drops, UdpSpec};

/// Receive arena: datagrams are cut from it, one allocation per arena, not per datagram.
const ARENA: usize = 1 << 20;
/// Datagrams taken per wake-up before other tasks (and shutdown) get a turn.
const BURST: usize = 1024;
/// Datagrams taken per `recvmmsg` call.
const RECV_BATCH: usize = 32;
/// Longest a message waits in a batch that is not full.
const FLUSH_AFTER: Duration = Duration::from_millis(5);
/// How often the kernel's drop counter is read.
const DROPS_EVERY: Duration = Duration::from_secs(1);

/// A bound UDP socket, shared across reloads while its address stays (see [`super::Sockets`]).
pub struct Socket {
    socket: UdpSocket,
    inode: Option<u64>,
    /// The kernel's drop count already counted, so a socket taken over by a reload is not counted twice.
    counted_drops: AtomicU64,
}

impl Socket {
    /// Binds `listen` with the requested receive buffer.
    pub fn bind(listen: SocketAddr, recv_buffer: usize) -> anyhow::Result<Socket> {
        let err = |e: std::io::Error| anyhow::anyhow!("cannot listen on udp {listen}: {e}");
        let socket = socket2::Socket::new(
            Domain::for_address(listen),
            Type::DGRAM,
            Some(Protocol::UDP),
        )
        .map_err(err)?;
        set_recv_buffer(&socket, recv_buffer);
        socket.set_nonblocking(true).map_err(err)?;
        socket.bind(&listen.into()).map_err(err)?;
        let socket = UdpSocket::from_std(socket.into()).map_err(err)?;
        let inode = socket_drops::socket_inode(socket.as_raw_fd()).ok();
        Ok(Socket {
            socket,
            inode,
            counted_drops: AtomicU64::new(0),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }
}

/// A UDP syslog input on its socket.
pub struct UdpInput {
    socket: Arc<Socket>,
    max_message: usize,
}

impl UdpInput {
    /// Binds `spec.listen` with the requested receive buffer.
    pub fn bind(spec: &UdpSpec, max_message: usize) -> anyhow::Result<UdpInput> {
        let socket = Arc::new(Socket::bind(spec.listen, spec.recv_buffer)?);
        Ok(UdpInput::on(socket, spec, max_message))
    }

    /// An input on a socket that is already bound (one a reload took over): the receive buffer is asked again.
    pub fn on(socket: Arc<Socket>, spec: &UdpSpec, max_message: usize) -> UdpInput {
        set_recv_buffer(&socket2::SockRef::from(&socket.socket), spec.recv_buffer);
        UdpInput {
            socket,
            max_message: max_message.max(1),
        }
    }

    /// The socket, to be taken over by the next generation.
    pub fn socket(&self) -> &Arc<Socket> {
        &self.socket
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr()
    }

    /// Receives until shutdown. A batch leaves when full or `FLUSH_AFTER` after its first message, whichever is
    /// first: few, large batches keep the queue's slots for bursts.
    pub async fn run(self, mut out: Outbox, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut arena = BytesMut::with_capacity(ARENA);
        let mut scratch = vec![0u8; RECV_BATCH * (self.max_message + 1)];
        let mut drops_tick = tokio::time::interval(DROPS_EVERY);
        let mut flush_at = Instant::now();
        loop {
            let was_empty = out.is_empty();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    let _ = out.try_send();
                    return Ok(());
                }
                _ = drops_tick.tick() => self.count_kernel_drops(&out),
                () = tokio::time::sleep_until(flush_at), if !was_empty => {
                    if out.try_send().is_err() {
                        return Ok(());
                    }
                }
                ready = self.socket.socket.readable() => {
                    ready.map_err(|e| anyhow::anyhow!("udp socket failed: {e}"))?;
                    if self.drain(&mut arena, &mut out, &mut scratch).is_err() {
                        return Ok(());
                    }
                    if was_empty {
                        flush_at = Instant::now() + FLUSH_AFTER;
                    }
                    // The consumer woken by our sends waits in this worker's LIFO slot, which other workers
                    // cannot steal: give it the worker after every burst.
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Takes the datagrams waiting on the socket (up to a burst), `RECV_BATCH` per system call, and sends them.
    /// Each lands in its slot of `scratch` (one message and a byte, so that a longer one shows as too long), then is
    /// copied into the arena it leaves from.
    fn drain(
        &self,
        arena: &mut BytesMut,
        out: &mut Outbox,
        scratch: &mut [u8],
    ) -> Result<(), super::Stopped> {
        let slot = self.max_message + 1;
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(RECV_BATCH, None);
        let mut lengths = [0usize; RECV_BATCH];
        let mut taken = 0;
        while taken < BURST {
            let socket = &self.socket.socket;
            let received = socket.try_io(Interest::READABLE, || {
                // One slice per slot, on the stack: no allocation per call.
                let mut chunks = scratch.chunks_mut(slot);
                let mut slices: [[IoSliceMut<'_>; 1]; RECV_BATCH] =
                    std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or(&mut []))]);
                let results = recvmmsg(
                    socket.as_raw_fd(),
                    &mut headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(std::io::Error::from)?;
                let mut n = 0;
                for (len, msg) in lengths.iter_mut().zip(results) {
                    *len = msg.bytes;
                    n += 1;
                }
                Ok(n)
            });
            let n = match received {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(error = %e, "udp receive failed");
                    break;
                }
            };
            for (i, &len) in lengths.iter().enumerate().take(n) {
                if len > self.max_message {
                    out.counters.oversize.inc();
                    continue;
                }
                let Some(bytes) = scratch.get(i * slot..i * slot + len) else {
                    continue;
                };
                if arena.capacity() - arena.len() < len {
                    arena.reserve(ARENA.max(len));
                }
                arena.extend_from_slice(bytes);
                let mut message = trim_terminator(arena.split_to(len).freeze());
                while message.last() == Some(&0) {
                    message.truncate(message.len() - 1);
                }
                // An empty datagram is still a message: the pipeline counts it (`empty`), nothing vanishes.
                if out.push(message) {
                    out.try_send()?;
                }
            }
            taken += n;
            if n < RECV_BATCH {
                break;
            }
        }
        Ok(())
    }

    fn count_kernel_drops(&self, out: &Outbox) {
        if let Some(now) = self.socket.inode.and_then(socket_drops::read) {
            let last = self.socket.counted_drops.swap(now, Ordering::Relaxed);
            out.counters.socket_drops.inc_by(now.saturating_sub(last));
        }
    }
}

/// Asks for `size` bytes of receive buffer, forcing past `net.core.rmem_max` when allowed (CAP_NET_ADMIN).
fn set_recv_buffer(socket: &socket2::Socket, size: usize) {
    if setsockopt(socket, sockopt::RcvBufForce, &size).is_err() {
        if let Err(e) = socket.set_recv_buffer_size(size) {
            tracing::warn!(size, error = %e, "cannot set udp receive buffer");
        }
    }
    // Linux reports twice the size asked (bookkeeping overhead).
    match socket.recv_buffer_size() {
        Ok(got) if got / 2 < size => tracing::warn!(
            asked = size,
            got = got / 2,
            "udp receive buffer capped by net.core.rmem_max; raise it or grant CAP_NET_ADMIN to avoid drops"
        ),
        _ => {}
    }
}
