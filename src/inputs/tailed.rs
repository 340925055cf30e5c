//! One followed file: its open descriptor, identity (device, inode, fingerprint), read position and the lines not
//! yet cut. Owns reading it and spotting truncation; discovery and rotation are the tailer's. A file at its end
//! holds no read buffer (the tailer may follow hundreds).

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use std::io::{Read as _, Seek, SeekFrom};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::batch::{Outbox, Stopped};
use super::checkpoint::{fingerprint, Entry, Store};
use super::framing::{Decoder, Frame, Framing};

/// Bytes fingerprinted at the head of a file.
pub const FINGERPRINT_LEN: usize = 256;
/// Bytes fingerprinted just before the read position, to see a file truncated and refilled past it.
pub const TAIL_LEN: usize = 64;
/// Bytes asked of the kernel per read.
const CHUNK: usize = 128 * 1024;

/// Identity and head of a file as seen through an open descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub fp_len: u32,
    pub fp: u64,
}

impl Identity {
    /// Reads the identity of `file`.
    pub fn of(file: &File) -> io::Result<Identity> {
        let meta = file.metadata()?;
        let mut head = [0u8; FINGERPRINT_LEN];
        let got = read_full_at(file, &mut head, 0)?;
        let head = head.get(..got).unwrap_or_default();
        let fp_len = u32::try_from(got).unwrap_or(0);
        Ok(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            fp_len,
            fp: fingerprint(head),
        })
    }

    /// Whether the first `fp_len` bytes of the file still hash to `fp` (a checkpointed head).
    pub fn head_matches(file: &File, fp_len: u32, fp: u64) -> io::Result<bool> {
        let want = usize::try_from(fp_len)
            .unwrap_or(usize::MAX)
            .min(FINGERPRINT_LEN);
        let mut head = [0u8; FINGERPRINT_LEN];
        let buf = head.get_mut(..want).unwrap_or_default();
        let got = read_full_at(file, buf, 0)?;
        Ok(got == want && fingerprint(buf) == fp)
    }
}

/// Reads until `buf` is full or end of file; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Read buffers of one file, lent out as [`Bytes`] and given back when the last slice of them is dropped, so that
/// a backlog is read into the same few buffers (a fresh one would be zeroed by the kernel page by page).
#[derive(Clone, Default)]
struct Buffers(Arc<Mutex<Vec<Vec<u8>>>>);

/// Most buffers kept for reuse while a file is read: a few reads' worth.
const SPARE_BUFFERS: usize = 16;

impl Buffers {
    /// An empty buffer with room for a read and a line before it.
    fn take(&self) -> Vec<u8> {
        let spare = self.0.lock().ok().and_then(|mut b| b.pop());
        let mut vec = spare.unwrap_or_else(|| Vec::with_capacity(2 * CHUNK));
        vec.clear();
        vec
    }

    fn give(&self, vec: Vec<u8>) {
        if let Ok(mut spare) = self.0.lock() {
            if spare.len() < SPARE_BUFFERS && vec.capacity() <= 4 * CHUNK {
                spare.push(vec);
            }
        }
    }

    fn lend(&self, vec: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent {
            vec,
            home: self.clone(),
        })
    }
}

/// A buffer lent out: back to its [`Buffers`] when dropped.
struct Lent {
    vec: Vec<u8>,
    home: Buffers,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.vec
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.home.give(std::mem::take(&mut self.vec));
    }
}

/// A file being followed.
pub struct Tailed {
    pub id: u64,
    generation: u32,
    pub path: String,
    file: File,
    pub identity: Identity,
    /// Bytes read from the file into `buf`'s past and present.
    read_pos: u64,
    /// Offset after the last message cut (or skipped): a line boundary.
    boundary: u64,
    /// End offset of the last batch sent.
    sent_end: u64,
    /// What is left of the last read after its whole lines: a line not yet ended, or bytes the decoder skips.
    buf: BytesMut,
    /// The buffers reads go into, back once the lines cut from them are counted.
    buffers: Buffers,
    decoder: Decoder,
    /// Set when the file left the glob (rotated or deleted): it is drained, then closed.
    pub gone_since: Option<Instant>,
    pub last_growth: Instant,
    /// Fingerprint of the (up to) [`TAIL_LEN`] bytes before `read_pos`, taken after each read that moved it.
    tail: Option<(u64, u32, u64)>,
    /// The file's size when last looked at.
    size_seen: u64,
}

/// What a read pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Reached the end of the file.
    Eof { grew: bool },
    /// Stopped at the byte budget; more is waiting.
    Budget,
}

impl Tailed {
    /// Follows `file` (opened from `path`) from `offset`, which must be a line boundary.
    pub fn new(
        id: u64,
        path: &Path,
        file: File,
        offset: u64,
        max_message: usize,
    ) -> io::Result<Tailed> {
        let identity = Identity::of(&file)?;
        Ok(Tailed {
            id,
            generation: 0,
            path: path.to_string_lossy().into_owned(),
            file,
            identity,
            read_pos: offset,
            boundary: offset,
            sent_end: offset,
            buf: BytesMut::new(),
            buffers: Buffers::default(),
            decoder: Decoder::new(Framing::Newline, max_message),
            gone_since: None,
            last_growth: Instant::now(),
            tail: None,
            size_seen: identity.size,
        })
    }

    /// The checkpoint entry for this file at `offset`.
    pub fn entry(&self, offset: u64) -> Entry {
        let Identity {
            dev,
            ino,
            fp_len,
            fp,
            ..
        } = self.identity;
        Entry {
            path: self.path.clone(),
            dev,
            ino,
            fp_len,
            fp,
            offset,
        }
    }

    /// Detects a truncation (size below what was read, a changed head, or changed bytes before the read position:
    /// truncated and refilled past it) and restarts from 0 if so; otherwise widens the fingerprint as the file
    /// grows. Returns true on truncation.
    pub fn check_truncation(&mut self, store: &Store) -> io::Result<bool> {
        let now = Identity::of(&self.file)?;
        self.size_seen = now.size;
        let old = self.identity;
        let same_head =
            now.fp_len >= old.fp_len && Identity::head_matches(&self.file, old.fp_len, old.fp)?;
        let same_tail = match self.tail {
            Some((end, len, fp)) if end == self.read_pos && now.size >= end => {
                let len = usize::try_from(len).unwrap_or(0).min(TAIL_LEN);
                let mut bytes = [0u8; TAIL_LEN];
                let buf = bytes.get_mut(..len).unwrap_or_default();
                let got = read_full_at(&self.file, buf, end - len as u64)?;
                got == len && fingerprint(buf) == fp
            }
            _ => true,
        };
        if now.size >= self.read_pos && same_head && same_tail {
            if now.fp_len != old.fp_len {
                self.identity = now;
                store.update(self.id, &self.path, now.fp_len, now.fp)?;
            }
            return Ok(false);
        }
        tracing::info!(path = %self.path, size = now.size, read = self.read_pos, "file truncated, reading from 0");
        self.identity = now;
        self.read_pos = 0;
        self.boundary = 0;
        self.sent_end = 0;
        self.buf.clear();
        self.decoder.reset();
        self.tail = None;
        self.generation = store.restart(self.id, self.entry(0))?;
        Ok(true)
    }

    /// Fingerprints the bytes before the read position (after a read moved it).
    fn remember_tail(&mut self) -> io::Result<()> {
        let len = TAIL_LEN.min(usize::try_from(self.read_pos).unwrap_or(TAIL_LEN));
        let mut bytes = [0u8; TAIL_LEN];
        let buf = bytes.get_mut(..len).unwrap_or_default();
        let got = read_full_at(&self.file, buf, self.read_pos - len as u64)?;
        let buf = buf.get(..got).unwrap_or_default();
        self.tail = Some((self.read_pos, got as u32, fingerprint(buf)));
        Ok(())
    }

    /// Reads up to `budget` bytes, sending full batches as they fill and the rest at the end, each with its ack.
    pub async fn read(
        &mut self,
        out: &mut Outbox,
        store: &Arc<Store>,
        budget: usize,
        shutdown: &CancellationToken,
    ) -> Result<io::Result<Read>, Stopped> {
        let mut taken = 0usize;
        if self.read_pos >= self.size_seen && self.gone_since.is_none() {
            // Nothing new since the size was looked at (just before): no read, no buffer.
            return Ok(Ok(Read::Eof { grew: false }));
        }
        let result = loop {
            if taken >= budget {
                break Ok(Read::Budget);
            }
            let (n, read) = match self.fill() {
                Ok((0, _)) => break Ok(Read::Eof { grew: taken > 0 }),
                Ok(got) => got,
                Err(e) => break Err(e),
            };
            taken += n;
            // The whole lines of the read go as one run, as they were read (unless the decoder is skipping the
            // rest of an oversize line); what follows them waits for the next read in `buf`.
            let rest = match memchr::memrchr(b'\n', &read) {
                Some(at) if !self.decoder.is_skipping() => {
                    let full = out.push_run(read.slice(..=at));
                    self.boundary = self.read_pos - (read.len() - at - 1) as u64;
                    if full {
                        self.send(out, store, shutdown).await?;
                    }
                    read.slice(at + 1..)
                }
                _ => read,
            };
            self.buf.extend_from_slice(&rest);
            while let Some(frame) = self.decoder.decode_lines(&mut self.buf) {
                let full = match frame {
                    Frame::Lines(run) => out.push_run(run),
                    Frame::Message(line) => out.push(line),
                    Frame::Oversize => {
                        out.counters.oversize.inc();
                        false
                    }
                };
                self.mark_boundary();
                if full {
                    self.send(out, store, shutdown).await?;
                }
            }
            self.mark_boundary();
        };
        if taken > 0 {
            self.last_growth = Instant::now();
            if let Err(e) = self.remember_tail() {
                return Ok(Err(e));
            }
        }
        self.send(out, store, shutdown).await?;
        if self.buf.is_empty() && matches!(result, Ok(Read::Eof { .. })) {
            self.buf = BytesMut::new();
            // The spare read buffers go too (those still lent go when their lines are counted).
            self.buffers = Buffers::default();
        }
        Ok(result)
    }

    /// Delivers a last line without newline (the file is being closed) and hands the file to retirement.
    pub async fn finish(
        &mut self,
        out: &mut Outbox,
        store: &Arc<Store>,
        shutdown: &CancellationToken,
    ) -> Result<io::Result<()>, Stopped> {
        while let Some(frame) = self.decoder.decode_eof(&mut self.buf) {
            match frame {
                Frame::Message(line) => {
                    out.push(line);
                }
                Frame::Lines(run) => {
                    out.push_run(run);
                }
                Frame::Oversize => {
                    out.counters.oversize.inc();
                }
            }
        }
        self.boundary = self.read_pos;
        self.send(out, store, shutdown).await?;
        Ok(store.retire(self.id, self.sent_end))
    }

    /// Reads up to [`CHUNK`] bytes; returns how many, and them after what `buf` held (which it takes). The read goes
    /// into a recycled buffer's spare room as it is (`read_to_end` does not zero it first), and the runs of lines
    /// cut from it are slices of it: no byte is zeroed or copied on the way but the line carried over.
    fn fill(&mut self) -> io::Result<(usize, Bytes)> {
        let mut vec = self.buffers.take();
        vec.extend_from_slice(&self.buf);
        let len = vec.len();
        let mut file = &self.file;
        let read = file
            .seek(SeekFrom::Start(self.read_pos))
            .and_then(|_| file.take(CHUNK as u64).read_to_end(&mut vec));
        let n = vec.len() - len;
        if n == 0 {
            // Nothing read: `buf` keeps what it held.
            self.buffers.give(vec);
            return read.map(|_| (0, Bytes::new()));
        }
        // What was read before an error counts; the error comes again with the next read.
        self.buf.clear();
        self.read_pos += n as u64;
        Ok((n, self.buffers.lend(vec)))
    }

    fn mark_boundary(&mut self) {
        if !self.decoder.is_skipping() {
            self.boundary = self.read_pos.saturating_sub(self.buf.len() as u64);
        }
    }

    async fn send(
        &mut self,
        out: &mut Outbox,
        store: &Arc<Store>,
        shutdown: &CancellationToken,
    ) -> Result<(), Stopped> {
        if out.is_empty() {
            return Ok(());
        }
        out.send(
            Some(store.ack(self.id, self.generation, self.boundary)),
            shutdown,
        )
        .await?;
        self.sent_end = self.boundary;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_buffer_comes_back_when_its_last_slice_is_dropped() {
        let buffers = Buffers::default();
        let mut vec = buffers.take();
        vec.extend_from_slice(b"one\ntwo\nthr");
        let at = vec.as_ptr();
        let whole = buffers.lend(vec);
        let run = whole.slice(..8);
        drop(whole);
        assert_eq!(&run[..], b"one\ntwo\n");
        assert!(buffers.0.lock().unwrap().is_empty(), "still lent");
        drop(run);
        let back = buffers.take();
        assert_eq!(back.as_ptr(), at, "the same buffer, not a new one");
        assert!(back.is_empty() && back.capacity() >= 2 * CHUNK);
    }
}
