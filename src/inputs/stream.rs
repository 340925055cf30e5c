//! Reading one byte stream (a TCP connection, standard input) into batches: read, frame, send with backpressure.
//! Owns the read loop and its idle timeout; framing is [`super::framing`]'s.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

use super::batch::{Outbox, Stopped};
use super::framing::{Decoder, Frame, Framing};

const READ_CHUNK: usize = 64 * 1024;

/// How one stream is read.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    pub framing: Framing,
    pub max_message: usize,
    /// The stream is closed after this long without data.
    pub idle_timeout: Option<Duration>,
}

/// How a stream ended.
#[derive(Debug)]
pub enum Ended {
    Eof,
    Idle,
    Error(std::io::Error),
    Stopped(Stopped),
}

/// Reads `reader` to its end, sending every message; a last message without terminator is delivered at the end.
pub async fn pump<R: AsyncRead + Unpin>(
    reader: &mut R,
    spec: StreamSpec,
    out: &mut Outbox,
    shutdown: &CancellationToken,
) -> Ended {
    let mut decoder = Decoder::new(spec.framing, spec.max_message);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ended::Stopped(Stopped::Shutdown),
            read = read_some(reader, &mut buf, spec.idle_timeout) => read,
        };
        let eof = match read {
            Some(Ok(0)) => true,
            Some(Ok(_)) => false,
            Some(Err(e)) => return Ended::Error(e),
            None => return Ended::Idle,
        };
        while let Some(frame) = if eof {
            decoder.decode_eof(&mut buf)
        } else {
            decoder.decode(&mut buf)
        } {
            let full = match frame {
                Frame::Message(line) => out.push(line),
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
        if eof {
            return Ended::Eof;
        }
    }
}

/// One read into `buf`; `None` when the idle timeout passed first.
async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    idle: Option<Duration>,
) -> Option<std::io::Result<usize>> {
    match idle {
        Some(idle) => tokio::time::timeout(idle, reader.read_buf(buf)).await.ok(),
        None => Some(reader.read_buf(buf).await),
    }
}
