//! Framing: cuts a byte stream into messages (newline framing, or syslog's RFC 6587 octet counting detected per
//! frame). Pure: takes a `BytesMut`, returns frames; no IO, no tokio, never panics, allocates nothing per frame.
//!
//! Frames are taken from the front of the buffer only, so a reader that knows how many bytes it put in can compute
//! how many the decoder consumed: `bytes_read - buf.len()` (the file tailer's offsets rely on this).

use bytes::{Buf, Bytes, BytesMut};

/// How a stream is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per line (`\n`, an optional `\r` before it is dropped).
    Newline,
    /// Syslog over a stream: a frame starting with `LEN SP` (LEN: 1–9 digits, no leading zero) is octet-counted
    /// (RFC 6587 §3.4.1), any other frame is newline-terminated (§3.4.2). Decided anew for every frame.
    Syslog,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message, without its terminator; never empty.
    Message(Bytes),
    /// A message longer than the limit; its bytes are skipped (reported once, when the decoder sees it is too long).
    Oversize,
    /// Whole lines, each ending in `\n`, as they were read ([`Decoder::decode_lines`] only): empty lines and lines
    /// longer than the limit are left to the reader of the lines to skip.
    Lines(Bytes),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a frame.
    Start,
    /// Skipping an oversize newline-terminated message up to its newline.
    SkipLine,
    /// Skipping the remaining bytes of an oversize octet-counted message.
    SkipCount(usize),
}

/// Incremental decoder: feed it a buffer that grows by appending reads, call [`Decoder::decode`] until `None`.
#[derive(Debug, Clone)]
pub struct Decoder {
    framing: Framing,
    max: usize,
    state: State,
}

/// Longest octet count accepted (9 digits); longer digit runs are text, not a count.
const MAX_COUNT_DIGITS: usize = 9;

enum Count {
    /// `len` bytes of message follow a header of `header` bytes.
    Counted { len: usize, header: usize },
    /// The buffer holds only digits so far: wait for more.
    NeedMore,
    /// Not an octet count: newline framing.
    No,
}

fn octet_count(buf: &[u8]) -> Count {
    match buf.first() {
        Some(b'1'..=b'9') => {}
        _ => return Count::No,
    }
    let digits = buf
        .iter()
        .take(MAX_COUNT_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > MAX_COUNT_DIGITS {
        return Count::No;
    }
    match buf.get(digits) {
        None => Count::NeedMore,
        Some(b' ') => {
            let len = buf
                .iter()
                .take(digits)
                .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
            Count::Counted {
                len,
                header: digits + 1,
            }
        }
        Some(_) => Count::No,
    }
}

/// Drops a trailing `\n` and then a trailing `\r`.
pub fn trim_terminator(mut line: Bytes) -> Bytes {
    if line.last() == Some(&b'\n') {
        line.truncate(line.len() - 1);
    }
    if line.last() == Some(&b'\r') {
        line.truncate(line.len() - 1);
    }
    line
}

impl Decoder {
    /// A decoder that reports messages longer than `max` bytes as [`Frame::Oversize`].
    pub fn new(framing: Framing, max: usize) -> Self {
        Decoder {
            framing,
            max: max.max(1),
            state: State::Start,
        }
    }

    /// True while the decoder is skipping the rest of an oversize message (the consumed position is not a message
    /// boundary).
    pub fn is_skipping(&self) -> bool {
        self.state != State::Start
    }

    /// Forgets any partial state (after the stream was reset, e.g. a truncated file).
    pub fn reset(&mut self) {
        self.state = State::Start;
    }

    /// The next frame in `buf`, or `None` when more bytes are needed. Consumed bytes are removed from the front.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                State::SkipCount(left) => {
                    let n = left.min(buf.len());
                    buf.advance(n);
                    if n < left {
                        self.state = State::SkipCount(left - n);
                        return None;
                    }
                    self.state = State::Start;
                }
                State::SkipLine => match memchr::memchr(b'\n', buf) {
                    Some(at) => {
                        buf.advance(at + 1);
                        self.state = State::Start;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                },
                State::Start => {
                    if buf.is_empty() {
                        return None;
                    }
                    match self.start_frame(buf) {
                        Step::Frame(frame) => return Some(frame),
                        Step::Again => {}
                        Step::NeedMore => return None,
                    }
                }
            }
        }
    }

    /// Like [`Decoder::decode`] for a stream of newline-framed lines read in large pieces (a file): every whole line
    /// at the front of `buf` in one [`Frame::Lines`], so that lines are not cut one by one here and then again by
    /// the reader. Gives runs of lines and [`Frame::Oversize`] only, in stream order; a last line without newline
    /// comes from [`Decoder::decode_eof`].
    pub fn decode_lines(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if self.framing != Framing::Newline {
            return self.decode(buf);
        }
        if self.state == State::SkipLine {
            // The rest of an oversize line, up to its newline.
            let at = memchr::memchr(b'\n', buf);
            let Some(at) = at else {
                buf.clear();
                return None;
            };
            buf.advance(at + 1);
            self.state = State::Start;
        }
        match memchr::memrchr(b'\n', buf) {
            Some(at) => Some(Frame::Lines(buf.split_to(at + 1).freeze())),
            // Not yet a whole line: oversize already, or wait for more.
            None => self.decode(buf),
        }
    }

    /// Like [`Decoder::decode`] at the end of the stream: a last message without terminator is returned whole (an
    /// unfinished octet-counted frame is returned as far as it got). Leaves `buf` empty once it returns `None`.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if let Some(frame) = self.decode(buf) {
            return Some(frame);
        }
        if self.state != State::Start {
            buf.clear();
            self.state = State::Start;
            return None;
        }
        if let Count::Counted { header, .. } = octet_count(buf) {
            if self.framing == Framing::Syslog {
                buf.advance(header.min(buf.len()));
            }
        }
        let rest = trim_terminator(buf.split().freeze());
        if rest.is_empty() {
            return None;
        }
        if rest.len() > self.max {
            return Some(Frame::Oversize);
        }
        Some(Frame::Message(rest))
    }

    fn start_frame(&mut self, buf: &mut BytesMut) -> Step {
        if self.framing == Framing::Syslog {
            match octet_count(buf) {
                Count::Counted { len, header } => return self.counted(buf, len, header),
                Count::NeedMore => return Step::NeedMore,
                Count::No => {}
            }
        }
        match memchr::memchr(b'\n', buf) {
            Some(at) => {
                let line = trim_terminator(buf.split_to(at + 1).freeze());
                if line.len() > self.max {
                    Step::Frame(Frame::Oversize)
                } else if line.is_empty() {
                    Step::Again
                } else {
                    Step::Frame(Frame::Message(line))
                }
            }
            // A trailing `\r` may be the start of the terminator: it does not count against the limit yet.
            None if buf.len() > self.max + usize::from(buf.last() == Some(&b'\r')) => {
                buf.clear();
                self.state = State::SkipLine;
                Step::Frame(Frame::Oversize)
            }
            None => Step::NeedMore,
        }
    }

    fn counted(&mut self, buf: &mut BytesMut, len: usize, header: usize) -> Step {
        if len > self.max {
            buf.advance(header);
            self.state = State::SkipCount(len);
            return Step::Frame(Frame::Oversize);
        }
        if buf.len() < header + len {
            return Step::NeedMore;
        }
        buf.advance(header);
        let msg = trim_terminator(buf.split_to(len).freeze());
        if msg.is_empty() {
            return Step::Again;
        }
        Step::Frame(Frame::Message(msg))
    }
}

enum Step {
    Frame(Frame),
    Again,
    NeedMore,
}

#[cfg(test)]
mod tests;
