//! The syslog header in front of a logged message (RFC 3164 / RFC 5424 / file prefixes): split it off, keep the
//! time and host. Pure: no allocation, no IO, no clock. RFC 3164 stamps carry no year: they are read against the
//! `now` of a [`Stamps`], which the stream reading the lines owns; it remembers the last stamp it read, so
//! neighbouring lines that share it skip the date arithmetic.

pub mod stamp;

/// What the syslog header said. Every field is optional: a bare message has an empty header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header<'a> {
    /// Unix seconds, UTC unless the stamp carried an offset.
    pub time: Option<i64>,
    pub host: Option<&'a str>,
    /// Tag / APP-NAME, without `[pid]` and the colon.
    pub app: Option<&'a [u8]>,
    /// RFC 5424 MSGID (e.g. `RT_FLOW_SESSION_DENY`).
    pub msgid: Option<&'a [u8]>,
    /// RFC 5424 STRUCTURED-DATA, brackets included.
    pub structured_data: Option<&'a [u8]>,
}

/// Splits the header off `line`, returning it and the message that follows (the whole line when there is none).
/// A stamp without a year is placed near the `now` of `stamps`.
pub fn split<'a>(line: &'a [u8], stamps: &mut Stamps) -> (Header<'a>, &'a [u8]) {
    split_with_stamp(line, |s| stamps.read(s), stamp::rfc3339).finish()
}

/// The message of `line`: exactly what [`split`] returns beside the header, found without turning the stamp into
/// seconds (the stamp is read and checked, which is what decides where the header ends). Pure.
pub fn message(line: &[u8]) -> &[u8] {
    let (had_pri, s) = strip_pri(line);
    if had_pri && s.starts_with(b"1 ") {
        // RFC 5424 (or a line that only looks like it): the whole split, without turning stamps into seconds.
        let read = |s: &[u8]| stamp::read_any(s).map(|st| (0, st.end));
        let read_rfc3339 = |s: &[u8]| stamp::read_rfc3339(s).map(|st| (0, st.end));
        return split_with_stamp(line, read, read_rfc3339).msg;
    }
    // The RFC 3164 / file-prefix path of `split_with_stamp`, building no header.
    let Some(stamp) = stamp::read_any(s) else {
        return s;
    };
    let rest = s.get(stamp.end..).unwrap_or_default();
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    host_and_tag(skip_spaces(rest)).2
}

/// [`split`] without the header's time: what it gives otherwise, read without turning the stamp into seconds
/// (whether a stamp is there, and so where the header ends, does not depend on the time it is read at). For
/// readers that only ask whether a line is theirs. Pure.
pub fn split_untimed(line: &[u8]) -> (Header<'_>, &[u8]) {
    let read = |s: &[u8]| stamp::read_any(s).map(|st| (0, st.end));
    let read_rfc3339 = |s: &[u8]| stamp::read_rfc3339(s).map(|st| (0, st.end));
    let (header, msg) = split_with_stamp(line, read, read_rfc3339).finish();
    (
        Header {
            time: None,
            ..header
        },
        msg,
    )
}

/// The tag (APP-NAME) of `line`'s header: what [`split`] gives, read without turning the stamp into seconds (whether
/// a stamp is there, and so where the header ends, does not depend on the time it is read at). Pure.
pub fn app(line: &[u8]) -> Option<&[u8]> {
    split_untimed(line).0.app
}

/// A cheaper stand-in for [`message`], for readers that only act on words of the form `letters=…` (netfilter's
/// `IN=`, `OUT=`, `SRC=`): the line after its `<PRI>`, unless it has an RFC 5424 header (`None`: only [`message`]
/// can tell). Whatever the RFC 3164 or file-prefix header there is, no word of it has that form — a stamp, a host
/// name and a tag name hold no `=`, and a tag's `[pid]` may hold one but not at the start of a word — so every such
/// word of the slice is a word of the message. (The first word of the message may not start a word of the slice,
/// when the header is glued to it: a reader that finds nothing here asks [`message`].)
pub fn plain_scope(line: &[u8]) -> Option<&[u8]> {
    let (had_pri, s) = strip_pri(line);
    (!(had_pri && s.starts_with(b"1 "))).then_some(s)
}

/// A header split before its host is turned into text.
struct Split<'a> {
    header: Header<'a>,
    /// ASCII host name bytes.
    host: Option<&'a [u8]>,
    msg: &'a [u8],
}

impl<'a> Split<'a> {
    fn finish(self) -> (Header<'a>, &'a [u8]) {
        let host = self.host.and_then(|h| std::str::from_utf8(h).ok());
        (
            Header {
                host,
                ..self.header
            },
            self.msg,
        )
    }
}

/// Longest stamp text (with the bytes after it) that [`Stamps`] remembers.
const STAMP_KEY: usize = 40;

/// The last stamp a [`Stamps`] read: the bytes its parse looked at, and what it gave.
#[derive(Debug, Clone, Copy)]
struct LastStamp {
    key: [u8; STAMP_KEY],
    len: usize,
    time: i64,
    end: usize,
}

impl LastStamp {
    const NONE: LastStamp = LastStamp {
        key: [0; STAMP_KEY],
        len: 0,
        time: 0,
        end: 0,
    };
}

/// How one stream's syslog stamps are read: the time a stamp without a year is placed near (`now`: the year of
/// `now`, or the one before when that would put the stamp more than a day after it), and the last stamp read.
/// Owned by the stream that reads the lines (its parsing context); what a line gives depends only on its bytes
/// and `now`.
#[derive(Debug, Clone)]
pub struct Stamps {
    now: i64,
    last: LastStamp,
}

impl Default for Stamps {
    /// Stamps read at Unix time 0: a stamp without a year is placed in 1970. Readers of real logs give a `now`.
    fn default() -> Stamps {
        Stamps::at(0)
    }
}

impl Stamps {
    /// Stamps read at `now` (Unix seconds).
    pub fn at(now: i64) -> Stamps {
        Stamps {
            now,
            last: LastStamp::NONE,
        }
    }

    /// The time stamps without a year are placed near.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Reads later stamps at `now`; the remembered stamp is forgotten when `now` changes.
    pub fn set_now(&mut self, now: i64) {
        if now != self.now {
            self.now = now;
            self.last = LastStamp::NONE;
        }
    }

    /// An RFC 3339 or BSD stamp at the start of `s`: Unix seconds and the stamp's length, the previous result
    /// reused when `s` starts with the same bytes. Both stamp parsers look at no byte past the two that follow the
    /// stamp (a `.` and what follows it may be a fraction), so those bytes and `now` decide the result.
    fn read(&mut self, s: &[u8]) -> Option<(i64, usize)> {
        let last = &self.last;
        if last.len != 0 && s.get(..last.len) == last.key.get(..last.len) {
            return Some((last.time, last.end));
        }
        let now = self.now;
        let (time, end) = stamp::rfc3339(s).or_else(|| stamp::bsd(s, || now))?;
        let len = end + 2;
        let mut key = [0; STAMP_KEY];
        if let (Some(seen), Some(slot)) = (s.get(..len), key.get_mut(..len)) {
            slot.copy_from_slice(seen);
            self.last = LastStamp {
                key,
                len,
                time,
                end,
            };
        }
        Some((time, end))
    }
}

/// The header split, with `stamp` reading an RFC 3339 or BSD stamp at the start of a slice, and `rfc3339` an
/// RFC 3339 one (RFC 5424's); both give Unix seconds and the stamp's length.
fn split_with_stamp(
    line: &[u8],
    mut stamp: impl FnMut(&[u8]) -> Option<(i64, usize)>,
    rfc3339: impl Fn(&[u8]) -> Option<(i64, usize)>,
) -> Split<'_> {
    let (had_pri, s) = strip_pri(line);
    if had_pri {
        if let Some(rest) = s.strip_prefix(b"1 ") {
            if let Some(split) = rfc5424(rest, rfc3339) {
                return split;
            }
        }
    }
    let Some((time, end)) = stamp(s) else {
        return Split {
            header: Header::default(),
            host: None,
            msg: s,
        };
    };
    let mut rest = s.get(end..).unwrap_or_default();
    rest = rest.strip_prefix(b":").unwrap_or(rest);
    let (host, app, msg) = host_and_tag(skip_spaces(rest));
    let header = Header {
        time: Some(time),
        app,
        ..Header::default()
    };
    Split { header, host, msg }
}

/// Whether [`split`] reads an RFC 3339 or BSD stamp at the start of `s` (a line after its `<PRI>`, with no RFC 5424
/// header). A stamp that reads turns into seconds at any `now`, so this does not depend on it.
pub fn stamp_reads(s: &[u8]) -> bool {
    Stamps::default().read(s).is_some()
}

/// Strips `<PRI>` (1 to 3 digits).
pub(crate) fn strip_pri(s: &[u8]) -> (bool, &[u8]) {
    if s.first() != Some(&b'<') {
        return (false, s);
    }
    let Some(close) = s.iter().take(5).position(|&c| c == b'>') else {
        return (false, s);
    };
    let digits = s.get(1..close).unwrap_or_default();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return (false, s);
    }
    (true, s.get(close + 1..).unwrap_or_default())
}

pub(crate) fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    s.get(n..).unwrap_or_default()
}

/// The next space-delimited token and what follows it, leading spaces skipped.
fn token(s: &[u8]) -> (&[u8], &[u8]) {
    // Tokens are short: a plain loop beats a SIMD search's setup here.
    match s.iter().position(|&c| c == b' ') {
        Some(i) => (
            s.get(..i).unwrap_or_default(),
            skip_spaces(s.get(i..).unwrap_or_default()),
        ),
        None => (s, &[]),
    }
}

fn nil(field: &[u8]) -> Option<&[u8]> {
    (field != b"-" && !field.is_empty()).then_some(field)
}

/// A host name: one or more [`HOST_BYTE`]s.
fn host_name(field: &[u8]) -> Option<&[u8]> {
    (!field.is_empty() && field.iter().all(|&c| HOST_BYTE[usize::from(c)])).then_some(field)
}

/// Bytes of a host name: ASCII letters, digits, `.`, `-`, `_`, `:`.
static HOST_BYTE: [bool; 256] = byte_set(b".-_:");
/// Bytes of an RFC 3164 tag name: ASCII letters, digits, `_`, `-`, `.`, `/`.
static TAG_BYTE: [bool; 256] = byte_set(b"_-./");

/// ASCII letters and digits, plus `extra`.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut c = 0;
    while c < 256 {
        set[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set[extra[i] as usize] = true;
        i += 1;
    }
    set
}

/// `VERSION` already consumed: `TIMESTAMP HOST APP PROCID MSGID SD [MSG]`.
fn rfc5424(s: &[u8], rfc3339: impl Fn(&[u8]) -> Option<(i64, usize)>) -> Option<Split<'_>> {
    let (ts, s) = token(s);
    let (host, s) = token(s);
    let (app, s) = token(s);
    let (_procid, s) = token(s);
    let (msgid, s) = token(s);
    let time = if ts == b"-" {
        None
    } else {
        let (t, end) = rfc3339(ts)?;
        (end == ts.len()).then_some(t)
    };
    let (sd, msg) = structured_data(s)?;
    let msg = msg.strip_prefix(b" ").unwrap_or(msg);
    let msg = msg.strip_prefix("\u{feff}".as_bytes()).unwrap_or(msg);
    let header = Header {
        time,
        host: None,
        app: nil(app),
        msgid: nil(msgid),
        structured_data: sd,
    };
    Some(Split {
        header,
        host: nil(host).and_then(host_name),
        msg,
    })
}

/// Splits `-` or one or more `[id k="v" ...]` elements off the front of `s`.
fn structured_data(s: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    if s.first() == Some(&b'-') {
        return Some((None, s.get(1..).unwrap_or_default()));
    }
    let mut end = 0;
    while s.get(end) == Some(&b'[') {
        end = element_end(s, end)?;
    }
    if end == 0 {
        return Some((None, s));
    }
    Some((s.get(..end), s.get(end..).unwrap_or_default()))
}

/// Index just past the `]` closing the element opened at `start`; quoted values may hold `\"`, `\]` and `]`.
fn element_end(s: &[u8], start: usize) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &c) in s.iter().enumerate().skip(start + 1) {
        match (quoted, escaped, c) {
            (_, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (_, false, b'"') => quoted = !quoted,
            (false, false, b']') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// An RFC 3164 tag token: `name:` or `name[pid]:`; returns the name. (The plain reading [`Word::tag`] follows.)
#[cfg(test)]
fn tag(tok: &[u8]) -> Option<&[u8]> {
    let body = tok.strip_suffix(b":")?;
    let name = match body.iter().position(|&c| c == b'[') {
        Some(i) if body.ends_with(b"]") => body.get(..i)?,
        Some(_) => return None,
        None => body,
    };
    let ok = !name.is_empty() && name.iter().all(|&c| TAG_BYTE[usize::from(c)]);
    ok.then_some(name)
}

/// One space-delimited token of a header, with what the split asks of it (host name? tag?) read in one pass.
struct Word<'a> {
    text: &'a [u8],
    /// What follows the token and the spaces after it.
    rest: &'a [u8],
    /// Every byte is a [`HOST_BYTE`].
    host: bool,
    /// Index of the first byte that is not a [`TAG_BYTE`] (`text.len()` when there is none).
    non_tag: usize,
}

impl<'a> Word<'a> {
    fn read(s: &'a [u8]) -> Word<'a> {
        let (mut host, mut non_tag, mut len) = (true, None, s.len());
        for (i, &c) in s.iter().enumerate() {
            if c == b' ' {
                len = i;
                break;
            }
            host &= HOST_BYTE[usize::from(c)];
            if non_tag.is_none() && !TAG_BYTE[usize::from(c)] {
                non_tag = Some(i);
            }
        }
        let (text, rest) = s.split_at_checked(len).unwrap_or((s, &[]));
        Word {
            text,
            rest: skip_spaces(rest),
            host,
            non_tag: non_tag.unwrap_or(len),
        }
    }

    fn host(&self) -> Option<&'a [u8]> {
        (self.host && !self.text.is_empty()).then_some(self.text)
    }

    /// `name:` or `name[pid]:`: the name, tag bytes up to the final `:` or up to a `[` when the token ends in `]:`.
    fn tag(&self) -> Option<&'a [u8]> {
        let (t, f) = (self.text, self.non_tag);
        let len = t.len();
        if f == 0 || t.last() != Some(&b':') {
            return None;
        }
        let name_ends =
            f + 1 == len || (t.get(f) == Some(&b'[') && t.get(len.wrapping_sub(2)) == Some(&b']'));
        name_ends.then(|| t.get(..f)).flatten()
    }
}

/// After the stamp: `[host] [tag:] msg`, where a lone `:` may stand for the tag (Cisco). The host is ASCII.
fn host_and_tag(s: &[u8]) -> (Option<&[u8]>, Option<&[u8]>, &[u8]) {
    let first = Word::read(s);
    if first.text == b":" {
        return (None, None, first.rest);
    }
    if let Some(name) = first.tag() {
        return (None, Some(name), first.rest);
    }
    let Some(host) = first.host() else {
        return (None, None, s);
    };
    let second = Word::read(first.rest);
    if second.text == b":" {
        return (Some(host), None, second.rest);
    }
    match second.tag() {
        Some(name) => (Some(host), Some(name), second.rest),
        None => (Some(host), None, first.rest),
    }
}

#[cfg(test)]
mod tests;
