//! The packet fields of a kernel LOG line (`IN= OUT= ... SRC= DST= ... PROTO= SPT= DPT=`), found in one forward walk
//! over its space-separated words, in the order the kernel writes them; spaces are found eight bytes at a time.
//! Borrowed, no allocation.

use crate::parsers::ParseError;
use memchr::memmem::Finder;
use std::sync::LazyLock;

pub(super) static SRC: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" SRC="));
pub(super) static DST: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" DST="));
pub(super) static PROTO: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" PROTO="));

/// Fields read from one LOG line.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    /// Bytes of the message before the first `IN=`/`OUT=` (the log prefix).
    pub prefix_len: usize,
    pub iface_in: Option<&'a [u8]>,
    pub iface_out: Option<&'a [u8]>,
    pub src: &'a [u8],
    pub dst: &'a [u8],
    pub proto: &'a [u8],
    pub spt: Option<&'a [u8]>,
    pub dpt: Option<&'a [u8]>,
}

/// Where a line's packet fields start: the first ` SRC=`, and the first words `IN=` and `OUT=` before it.
#[derive(Debug, Default)]
pub(super) struct Head {
    /// Index of the space in front of the first ` SRC=`.
    pub src_at: Option<usize>,
    /// Index of the first word `IN=` before `src_at` (anywhere, when there is no ` SRC=`).
    pub in_at: Option<usize>,
    /// Index of the first word `OUT=`, likewise.
    pub out_at: Option<usize>,
}

impl Head {
    /// One walk over the words of `s` up to the first ` SRC=`.
    pub(super) fn find(s: &[u8]) -> Head {
        let mut head = Head::default();
        let mut at = 0;
        while let Some(word) = s.get(at..) {
            match word.first() {
                Some(b'S') if at > 0 && word.starts_with(b"SRC=") => {
                    head.src_at = Some(at - 1);
                    break;
                }
                Some(b'I') if head.in_at.is_none() && word.starts_with(b"IN=") => {
                    head.in_at = Some(at);
                }
                Some(b'O') if head.out_at.is_none() && word.starts_with(b"OUT=") => {
                    head.out_at = Some(at);
                }
                _ => {}
            }
            at = next_space(s, at) + 1;
        }
        head
    }
}

/// Index of the first `key=` (given without its `=`) in `head` that starts a word, found by its `=`.
pub(super) fn word_start(head: &[u8], key: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'=', head).find_map(|eq| {
        let start = eq.checked_sub(key.len())?;
        let boundary = start == 0 || head.get(start - 1) == Some(&b' ');
        (boundary && head.get(start..eq) == Some(key)).then_some(start)
    })
}

/// Index of the first space in `s` at or after `from`, or `s.len()`.
pub(super) fn next_space(s: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const SPACES: u64 = ONES * b' ' as u64;
    let mut rest = s.get(from..).unwrap_or_default();
    let mut at = from;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let x = u64::from_le_bytes(*chunk) ^ SPACES;
        // The lowest byte of `x` that is zero sets the lowest bit here; bits above it may be spurious.
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return at + (zero.trailing_zeros() / 8) as usize;
        }
        at += 8;
        rest = tail;
    }
    rest.iter()
        .position(|&c| c == b' ')
        .map_or(s.len(), |i| at + i)
}

/// Index of the first word of `s` at or after the word start `from` that begins with `key`.
pub(super) fn word_from(s: &[u8], from: usize, key: &[u8]) -> Option<usize> {
    let mut at = from;
    while let Some(word) = s.get(at..) {
        if word.starts_with(key) {
            return Some(at);
        }
        at = next_space(s, at) + 1;
    }
    None
}

/// The value of `KEY=value` starting at `at` when the text there is `key`, and the index after its space.
fn value_at<'a>(msg: &'a [u8], at: usize, key: &[u8]) -> Option<(&'a [u8], usize)> {
    let start = at.checked_add(key.len())?;
    if msg.get(at..start)? != key {
        return None;
    }
    let end = next_space(msg, start);
    Some((msg.get(start..end)?, end + 1))
}

impl<'a> Fields<'a> {
    pub fn scan(msg: &'a [u8]) -> Result<Fields<'a>, ParseError> {
        let head = Head::find(msg);
        let Some(src_at) = head.src_at else {
            let started = head.in_at.or(head.out_at);
            return Err(started.map_or(ParseError::NotTraffic, |_| ParseError::MissingField("SRC")));
        };
        let prefix_len = match (head.in_at, head.out_at) {
            (Some(i), Some(o)) => i.min(o),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => return Err(ParseError::NotTraffic),
        };
        let mut f = Fields {
            prefix_len,
            iface_in: head
                .in_at
                .and_then(|i| value_at(msg, i, b"IN="))
                .map(|v| v.0),
            iface_out: head
                .out_at
                .and_then(|i| value_at(msg, i, b"OUT="))
                .map(|v| v.0),
            ..Fields::default()
        };
        let (src, next) =
            value_at(msg, src_at + 1, b"SRC=").ok_or(ParseError::MissingField("SRC"))?;
        f.src = src;
        let (dst, next) = match value_at(msg, next, b"DST=") {
            Some(found) => found,
            None => {
                let at = next
                    + memchr::memmem::find(msg.get(next..).unwrap_or_default(), b" DST=")
                        .ok_or(ParseError::MissingField("DST"))?;
                value_at(msg, at + 1, b"DST=").ok_or(ParseError::MissingField("DST"))?
            }
        };
        f.dst = dst;
        let proto_at = word_from(msg, next, b"PROTO=").ok_or(ParseError::MissingField("PROTO"))?;
        let (proto, next) =
            value_at(msg, proto_at, b"PROTO=").ok_or(ParseError::MissingField("PROTO"))?;
        f.proto = proto;
        // Ports follow the protocol directly, and only for protocols that have them; an ICMP error's embedded
        // `[SRC=... SPT=...]` is never reached.
        if let Some((spt, next)) = value_at(msg, next, b"SPT=") {
            f.spt = Some(spt);
            f.dpt = value_at(msg, next, b"DPT=").map(|v| v.0);
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn next_space_agrees_with_a_plain_search(s in "[ a-c]{0,40}", from in 0usize..44) {
            let want = s
                .as_bytes()
                .get(from..)
                .and_then(|r| r.iter().position(|&c| c == b' '))
                .map_or(s.len(), |i| from + i);
            let got = next_space(s.as_bytes(), from);
            if from <= s.len() {
                prop_assert_eq!(got, want);
            } else {
                prop_assert_eq!(got, s.len());
            }
        }
    }

    #[test]
    fn head_finds_words_before_src() {
        let h = Head::find(b"IN=x SRC= OUT=y SRC=1");
        assert_eq!((h.in_at, h.out_at, h.src_at), (Some(0), None, Some(4)));
        let h = Head::find(b"SRC=1 PHYSIN=a  OUT=b");
        assert_eq!((h.in_at, h.out_at, h.src_at), (None, Some(16), None));
    }
}
