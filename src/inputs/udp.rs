//! Syslog over UDP: one datagram is one message. A large receive buffer (forced past `rmem_max` with
//! CAP_NET_ADMIN), datagrams taken `RECV_BATCH` per system call (`recvmmsg`), batches sent without waiting (a full
//! queue drops and counts), the kernel's drop counter exported. Owns the socket, not the meaning of messages.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::BytesMut;
use nix::sys::socket::{recvmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrStorage};
use socket2::{Domain, Protocol, Socket, Type};
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

/// A bound UDP syslog socket.
pub struct UdpInput {
    socket: UdpSocket,
    max_message: usize,
    inode: Option<u64>,
}

impl UdpInput {
    /// Binds `spec.listen` with the requested receive buffer.
    pub fn bind(spec: &UdpSpec, max_message: usize) -> anyhow::Result<UdpInput> {
        let err = |e: std::io::Error| anyhow::anyhow!("cannot listen on udp {}: {e}", spec.listen);
        let socket = Socket::new(
            Domain::for_address(spec.listen),
            Type::DGRAM,
            Some(Protocol::UDP),
        )
        .map_err(err)?;
        set_recv_buffer(&socket, spec.recv_buffer);
        socket.set_nonblocking(true).map_err(err)?;
        socket.bind(&spec.listen.into()).map_err(err)?;
        let socket = UdpSocket::from_std(socket.into()).map_err(err)?;
        let inode = socket_drops::socket_inode(socket.as_raw_fd()).ok();
        Ok(UdpInput {
            socket,
            max_message: max_message.max(1),
            inode,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Receives until shutdown. A batch leaves when full or `FLUSH_AFTER` after its first message, whichever is
    /// first: few, large batches keep the queue's slots for bursts.
    pub async fn run(self, mut out: Outbox, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut arena = BytesMut::with_capacity(ARENA);
        let mut scratch = vec![0u8; RECV_BATCH * (self.max_message + 1)];
        let mut drops_tick = tokio::time::interval(DROPS_EVERY);
        let mut kernel_drops = 0u64;
        let mut flush_at = Instant::now();
        loop {
            let was_empty = out.is_empty();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    let _ = out.try_send();
                    return Ok(());
                }
                _ = drops_tick.tick() => self.count_kernel_drops(&out, &mut kernel_drops),
                () = tokio::time::sleep_until(flush_at), if !was_empty => {
                    if out.try_send().is_err() {
                        return Ok(());
                    }
                }
                ready = self.socket.readable() => {
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
            let received = self.socket.try_io(Interest::READABLE, || {
                // One slice per slot, on the stack: no allocation per call.
                let mut chunks = scratch.chunks_mut(slot);
                let mut slices: [[IoSliceMut<'_>; 1]; RECV_BATCH] =
                    std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or(&mut []))]);
                let results = recvmmsg(
                    self.socket.as_raw_fd(),
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

    fn count_kernel_drops(&self, out: &Outbox, last: &mut u64) {
        if let Some(now) = self.inode.and_then(socket_drops::read) {
            out.counters.socket_drops.inc_by(now.saturating_sub(*last));
            *last = now;
        }
    }
}

/// Asks for `size` bytes of receive buffer, forcing past `net.core.rmem_max` when allowed (CAP_NET_ADMIN).
fn set_recv_buffer(socket: &Socket, size: usize) {
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
