//! Reading one byte stream (a TCP connection, standard input) into batches: read, frame, send with backpressure.
//! Owns the read loop and its idle timeout; framing is [`super::framing`]'s.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batch::{Outbox, Stopped};
use super::framing::{Decoder, Frame, Framing};
use crate::slots::Activity;

const READ_CHUNK: usize = 64 * 1024;

/// How one stream is read.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    pub framing: Framing,
    pub max_message: usize,
    /// The stream is closed when it delivers no whole message for this long (bytes that never end a message,
    /// one at a time, do not keep it open).
    pub idle_timeout: Option<Duration>,
}

/// How a stream ended.
#[derive(Debug)]
pub enum Ended {
    Eof,
    Idle,
    /// Its slot was given to a new connection (see [`crate::slots`]).
    Evicted,
    Error(std::io::Error),
    Stopped(Stopped),
}

/// Reads `reader` to its end, sending every message; a last message without terminator is delivered at the end.
/// With `activity` (a connection under a cap), each read that yields messages is reported as work in progress
/// until they are sent, and an eviction ends the stream between reads, never during a send.
pub async fn pump<R: AsyncRead + Unpin>(
    reader: &mut R,
    spec: StreamSpec,
    out: &mut Outbox,
    shutdown: &CancellationToken,
    activity: Option<&Activity>,
) -> Ended {
    let mut decoder = Decoder::new(spec.framing, spec.max_message);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut deadline = spec.idle_timeout.map(|idle| Instant::now() + idle);
    let evicted = async {
        match activity {
            Some(a) => a.evict.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let mut evicted = std::pin::pin!(evicted);
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ended::Stopped(Stopped::Shutdown),
            () = evicted.as_mut() => return Ended::Evicted,
            read = read_some(reader, &mut buf, deadline) => read,
        };
        let eof = match read {
            Some(Ok(0)) => true,
            Some(Ok(_)) => false,
            Some(Err(e)) => return Ended::Error(e),
            None => return Ended::Idle,
        };
        let mut working = false;
        while let Some(frame) = if eof {
            decoder.decode_eof(&mut buf)
        } else {
            decoder.decode(&mut buf)
        } {
            if !working {
                working = true;
                activity.inspect(|a| a.started());
                deadline = spec.idle_timeout.map(|idle| Instant::now() + idle);
            }
            let full = match frame {
                Frame::Message(line) => out.push(line),
                Frame::Lines(run) => out.push_run(run),
                Frame::Oversize => {
                    out.counters.oversize.inc();
                    false
                }
            };
            if full {
                if let Err(stopped) = out.send(None, shutdown).await {
                    return Ended::Stopped(stopped);
                }
            }
        }
        if let Err(stopped) = out.send(None, shutdown).await {
            return Ended::Stopped(stopped);
        }
        if working {
            activity.inspect(|a| a.finished());
        }
        if eof {
            return Ended::Eof;
        }
    }
}

/// One read into `buf`; `None` when the deadline passed first.
async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    deadline: Option<Instant>,
) -> Option<std::io::Result<usize>> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, reader.read_buf(buf)).await.ok(),
        None => Some(reader.read_buf(buf).await),
    }
}
