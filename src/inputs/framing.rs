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
enum Phase {
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
    state: Phase,
}

/// Longest octet count accepted (9 digits); longer digit runs are text, not a count.
const MAX_COUNT_DIGITS: usize = 9;

enum OctetCount {
    /// `len` bytes of message follow a header of `header` bytes.
    Counted { len: usize, header: usize },
    /// The buffer holds only digits so far: wait for more.
    NeedMore,
    /// Not an octet count: newline framing.
    No,
}

fn octet_count(buf: &[u8]) -> OctetCount {
    match buf.first() {
        Some(b'1'..=b'9') => {}
        _ => return OctetCount::No,
    }
    let digits = buf
        .iter()
        .take(MAX_COUNT_DIGITS + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > MAX_COUNT_DIGITS {
        return OctetCount::No;
    }
    match buf.get(digits) {
        None => OctetCount::NeedMore,
        Some(b' ') => {
            let len = buf
                .iter()
                .take(digits)
                .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
            OctetCount::Counted {
                len,
                header: digits + 1,
            }
        }
        Some(_) => OctetCount::No,
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
            state: Phase::Start,
        }
    }

    /// True while the decoder is skipping the rest of an oversize message (the consumed position is not a message
    /// boundary).
    pub fn is_skipping(&self) -> bool {
        self.state != Phase::Start
    }

    /// Forgets any partial state (after the stream was reset, e.g. a truncated file).
    pub fn reset(&mut self) {
        self.state = Phase::Start;
    }

    /// The next frame in `buf`, or `None` when more bytes are needed. Consumed bytes are removed from the front.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        loop {
            match self.state {
                Phase::SkipCount(left) => {
                    let n = left.min(buf.len());
                    buf.advance(n);
                    if n < left {
                        self.state = Phase::SkipCount(left - n);
                        return None;
                    }
                    self.state = Phase::Start;
                }
                Phase::SkipLine => match memchr::memchr(b'\n', buf) {
                    Some(at) => {
                        buf.advance(at + 1);
                        self.state = Phase::Start;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                },
                Phase::Start => {
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
        if self.state == Phase::SkipLine {
            // The rest of an oversize line, up to its newline.
            let at = memchr::memchr(b'\n', buf);
            let Some(at) = at else {
                buf.clear();
                return None;
            };
            buf.advance(at + 1);
            self.state = Phase::Start;
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
        if self.state != Phase::Start {
            buf.clear();
            self.state = Phase::Start;
            return None;
        }
        if let OctetCount::Counted { header, .. } = octet_count(buf) {
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
                OctetCount::Counted { len, header } => return self.counted(buf, len, header),
                OctetCount::NeedMore => return Step::NeedMore,
                OctetCount::No => {}
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
                self.state = Phase::SkipLine;
                Step::Frame(Frame::Oversize)
            }
            None => Step::NeedMore,
        }
    }

    fn counted(&mut self, buf: &mut BytesMut, len: usize, header: usize) -> Step {
        if len > self.max {
            buf.advance(header);
            self.state = Phase::SkipCount(len);
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
mod tests {
    use super::*;

    /// Feeds `stream` in pieces of `chunk` bytes and returns the frames, `None` standing for an oversize message.
    /// With `runs`, frames are taken with [`Decoder::decode_lines`], and its runs of lines are cut as their reader
    /// cuts them (empty lines dropped, a `\r` before the newline dropped, lines over `max` oversize).
    fn decode_in_chunks(
        framing: Framing,
        max: usize,
        stream: &[u8],
        chunk: usize,
        runs: bool,
    ) -> Vec<Option<String>> {
        let mut decoder = Decoder::new(framing, max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut push = |frame: Frame| match frame {
            Frame::Message(m) => out.push(Some(String::from_utf8_lossy(&m).into_owned())),
            Frame::Oversize => out.push(None),
            Frame::Lines(run) => {
                assert_eq!(run.last(), Some(&b'\n'), "a run ends a line");
                for line in run.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.is_empty() {
                        continue;
                    }
                    out.push(
                        (line.len() <= max).then(|| String::from_utf8_lossy(line).into_owned()),
                    );
                }
            }
        };
        for piece in stream.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(frame) = match runs {
                true => decoder.decode_lines(&mut buf),
                false => decoder.decode(&mut buf),
            } {
                push(frame);
            }
        }
        while let Some(frame) = decoder.decode_eof(&mut buf) {
            push(frame);
        }
        out
    }

    /// Every way of splitting `stream` into reads gives `expected`.
    fn check(framing: Framing, max: usize, stream: &str, expected: &[Option<&str>]) {
        let expected: Vec<Option<String>> = expected.iter().map(|e| e.map(str::to_owned)).collect();
        for chunk in 1..=stream.len().max(1) {
            let got = decode_in_chunks(framing, max, stream.as_bytes(), chunk, false);
            assert_eq!(got, expected, "chunk size {chunk} of {stream:?}");
            if framing == Framing::Newline {
                let got = decode_in_chunks(framing, max, stream.as_bytes(), chunk, true);
                assert_eq!(
                    got, expected,
                    "chunk size {chunk} of {stream:?}, in runs of lines"
                );
            }
        }
    }

    #[test]
    fn newline_frames_split_across_reads() {
        check(
            Framing::Newline,
            100,
            "a b\r\nsecond\n\nthird",
            &[Some("a b"), Some("second"), Some("third")],
        );
    }

    #[test]
    fn newline_oversize_line_is_skipped_to_its_newline() {
        check(
            Framing::Newline,
            5,
            "12345\n123456789\nok\n",
            &[Some("12345"), None, Some("ok")],
        );
    }

    #[test]
    fn newline_framing_never_reads_counts() {
        check(Framing::Newline, 100, "5 abc\n", &[Some("5 abc")]);
    }

    #[test]
    fn octet_counts_split_across_reads() {
        let stream = "11 <13>1 hello5 <14>x13 <15>two\nlines";
        check(
            Framing::Syslog,
            100,
            stream,
            &[Some("<13>1 hello"), Some("<14>x"), Some("<15>two\nlines")],
        );
    }

    #[test]
    fn octet_counted_and_newline_frames_mix() {
        let stream = "<13>plain line\n7 <14>abc<15>another\n";
        check(
            Framing::Syslog,
            100,
            stream,
            &[Some("<13>plain line"), Some("<14>abc"), Some("<15>another")],
        );
    }

    #[test]
    fn trailing_newline_after_counted_frame_is_ignored() {
        check(
            Framing::Syslog,
            100,
            "4 <1>a\n4 <2>b\r\n",
            &[Some("<1>a"), Some("<2>b")],
        );
    }

    #[test]
    fn oversize_count_skips_exactly_its_bytes() {
        check(
            Framing::Syslog,
            8,
            "12 <13>12345678<14>ok\n",
            &[None, Some("<14>ok")],
        );
    }

    #[test]
    fn bad_counts_fall_back_to_newline_framing() {
        // Leading zero, letters after digits, ten digits, zero: none of these is an RFC 6587 count.
        let stream = "012 <13>a\n12x <13>b\n1234567890 c\n0 d\n";
        check(
            Framing::Syslog,
            100,
            stream,
            &[
                Some("012 <13>a"),
                Some("12x <13>b"),
                Some("1234567890 c"),
                Some("0 d"),
            ],
        );
    }

    #[test]
    fn unfinished_counted_frame_at_eof_is_returned_as_far_as_it_got() {
        check(Framing::Syslog, 100, "20 <13>short", &[Some("<13>short")]);
    }

    #[test]
    fn huge_count_is_oversize_not_a_panic() {
        check(Framing::Syslog, 1000, "999999999 <13>x", &[None]);
    }

    #[test]
    fn consumed_bytes_are_taken_from_the_front() {
        let mut decoder = Decoder::new(Framing::Newline, 100);
        let mut buf = BytesMut::from(&b"one\ntwo\nthr"[..]);
        let mut seen = 0;
        while decoder.decode(&mut buf).is_some() {
            seen += 1;
        }
        assert_eq!(seen, 2);
        assert_eq!(&buf[..], b"thr");
        assert!(!decoder.is_skipping());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2000 {
            let len = (seed % 64) as usize;
            let stream: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    b"0123456789 <>\n\rab"[(seed % 17) as usize]
                })
                .collect();
            let chunk = (seed % 5) as usize + 1;
            for framing in [Framing::Newline, Framing::Syslog] {
                let _ = decode_in_chunks(framing, 7, &stream, chunk, false);
            }
            // Runs of lines, cut by their reader, give what the decoder gives line by line.
            assert_eq!(
                decode_in_chunks(Framing::Newline, 7, &stream, chunk, true),
                decode_in_chunks(Framing::Newline, 7, &stream, chunk, false),
                "{stream:?} in reads of {chunk}"
            );
        }
    }

    #[test]
    fn a_message_of_exactly_the_limit_is_whole_whatever_the_reads() {
        check(Framing::Newline, 3, "abc\r\nd\n", &[Some("abc"), Some("d")]);
        check(Framing::Syslog, 1, "9\r\n", &[Some("9")]);
        check(Framing::Newline, 3, "abc\rx\n", &[None]);
    }
}
