//! Batches: the unit an input hands to the parsers over a bounded queue, and the outbox that fills and sends them.
//! Owns batching and the queue policy (wait, or drop and count); knows nothing of sockets or files.

use bytes::Bytes;
use tokio::sync::mpsc::{error::TrySendError, Sender};
use tokio_util::sync::CancellationToken;

use super::metrics::InputCounters;
use super::offsets::Ack;

/// Most lines in one batch.
pub const BATCH_LINES: usize = 512;
/// Most lines in one batch of a file input: a backlog goes in batches as large as [`BATCH_BYTES`] allows, since
/// every batch costs a hand-over between tasks (a file waits for room in its queue, it never drops).
pub const FILE_BATCH_LINES: usize = 4096;
/// Most message bytes in one batch.
pub const BATCH_BYTES: usize = 1 << 20;

/// Lines from one input, in order. Syslog messages are whole (header included); file lines have no newline.
#[derive(Debug)]
pub struct Batch {
    /// Index of the input in config order.
    pub input: u16,
    pub lines: Vec<Bytes>,
    /// Runs of whole lines, each line ending in `\n`, as a file was read ([`super::framing::Frame::Lines`]): the
    /// reader cuts them and counts them as read (the input's `lines` and `oversize`), so that a file's backlog is
    /// not cut into one buffer per line.
    pub runs: Vec<Bytes>,
    /// Files only: commit it once the lines are processed, so the checkpoint moves past them.
    pub ack: Option<Ack>,
}

impl Batch {
    /// Every line of the batch in order: its lines, then its runs cut as [`crate::reader::Reader::lines`] cuts
    /// them (empty lines dropped, a `\r` before the newline dropped; no length limit).
    pub fn each_line(&self) -> impl Iterator<Item = &[u8]> {
        let runs = self
            .runs
            .iter()
            .flat_map(|run| run.split(|&b| b == b'\n').filter_map(crate::reader::cut));
        self.lines.iter().map(|l| &l[..]).chain(runs)
    }
}

/// Why an input stopped sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Shutdown was requested.
    Shutdown,
    /// The consumer is gone.
    Closed,
}

/// Collects lines into batches and sends them.
pub struct Outbox {
    input: u16,
    tx: Sender<Batch>,
    pub counters: InputCounters,
    lines: Vec<Bytes>,
    runs: Vec<Bytes>,
    bytes: usize,
    /// Most lines in one batch.
    max_lines: usize,
}

impl Outbox {
    pub fn new(input: u16, tx: Sender<Batch>, counters: InputCounters) -> Self {
        Outbox {
            input,
            tx,
            counters,
            lines: Vec::with_capacity(BATCH_LINES),
            runs: Vec::new(),
            bytes: 0,
            max_lines: BATCH_LINES,
        }
    }

    /// The same outbox, sending batches of at most `max` lines.
    pub fn with_max_lines(mut self, max: usize) -> Self {
        self.max_lines = max.max(1);
        self
    }

    /// Adds a line; true when the batch is full and should be sent.
    pub fn push(&mut self, line: Bytes) -> bool {
        self.bytes += line.len();
        self.lines.push(line);
        self.is_full()
    }

    /// Adds a run of whole lines; true when the batch is full and should be sent.
    pub fn push_run(&mut self, run: Bytes) -> bool {
        self.bytes += run.len();
        self.runs.push(run);
        self.is_full()
    }

    pub fn is_full(&self) -> bool {
        self.lines.len() >= self.max_lines || self.bytes >= BATCH_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.runs.is_empty()
    }

    /// The pending lines as a batch; they count as read now (one counter update per batch, not per line).
    fn take(&mut self, ack: Option<Ack>) -> Batch {
        self.bytes = 0;
        self.counters.lines.inc_by(self.lines.len() as u64);
        self.counters.last_line.set(crate::clock::now());
        let lines = match self.lines.is_empty() {
            true => Vec::new(),
            false => std::mem::replace(&mut self.lines, Vec::with_capacity(self.max_lines)),
        };
        Batch {
            input: self.input,
            lines,
            runs: std::mem::take(&mut self.runs),
            ack,
        }
    }

    /// Sends the pending lines (if any), waiting for room in the queue: streams never lose lines to a full queue.
    pub async fn send(
        &mut self,
        ack: Option<Ack>,
        shutdown: &CancellationToken,
    ) -> Result<(), Stopped> {
        if self.is_empty() {
            return Ok(());
        }
        let batch = self.take(ack);
        tokio::select! {
            biased;
            sent = self.tx.send(batch) => sent.map_err(|_| Stopped::Closed),
            () = shutdown.cancelled() => Err(Stopped::Shutdown),
        }
    }

    /// Sends the pending lines without waiting; if the queue is full they are dropped and counted (`queue_full`).
    pub fn try_send(&mut self) -> Result<(), Stopped> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let batch = self.take(None);
        match self.tx.try_send(batch) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(batch)) => {
                self.counters.queue_full.inc_by(batch.lines.len() as u64);
                Ok(())
            }
            Err(TrySendError::Closed(_)) => Err(Stopped::Closed),
        }
    }
}

impl Outbox {
    /// Another outbox onto the same queue and counters (one per TCP connection).
    pub fn fork(&self) -> Outbox {
        Outbox::new(self.input, self.tx.clone(), self.counters.clone())
    }
}
