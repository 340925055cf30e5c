//! The packet fields of a kernel LOG line (`IN= OUT= ... SRC= DST= ... PROTO= SPT= DPT=`), in the order the kernel
//! writes them: ` SRC=`, ` IN=`, ` OUT=` and ` PROTO=` by SIMD searches (32 bytes a step, no branch per word),
//! values up to their space eight bytes at a time. Borrowed, no allocation.

use crate::parsers::ParseError;
use memchr::memmem::Finder;
use std::sync::LazyLock;

static SRC: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" SRC="));
pub(super) static DST: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" DST="));
pub(super) static PROTO: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" PROTO="));

/// PacketFields read from one LOG line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PacketFields<'a> {
    /// Bytes of the message before the first `IN=`/`OUT=` (the log prefix).
    pub prefix_len: usize,
    /// Where the words `IN=` and `OUT=` start (their values are read only when asked for).
    pub in_at: Option<usize>,
    pub out_at: Option<usize>,
    pub src: &'a [u8],
    pub dst: &'a [u8],
    pub proto: &'a [u8],
    pub spt: Option<&'a [u8]>,
    pub dpt: Option<&'a [u8]>,
}

/// Index of the first space in `s` at or after `from`, or `s.len()`; eight bytes at a time.
pub(super) fn next_space(s: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(b' ');
    let mut rest = s.get(from..).unwrap_or_default();
    let mut at = from;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let x = u64::from_le_bytes(*chunk) ^ pattern;
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

static IN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" IN="));
static OUT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" OUT="));

/// Where the packet fields start: the first word `SRC=` after a space (the index of that space), and the first
/// words `IN=` and `OUT=` before it (anywhere, when there is no `SRC=`). SIMD searches, 32 bytes a step. Unless
/// `BOTH`, `OUT=` is looked for only when there is no `IN=`: enough to tell that the packet has one.
pub(super) fn head<const BOTH: bool>(msg: &[u8]) -> (Option<usize>, Option<usize>, Option<usize>) {
    let src = SRC.find(msg);
    let before = msg.get(..src.unwrap_or(msg.len())).unwrap_or_default();
    let in_at = word(before, b"IN=", &IN);
    let out_at = if BOTH || in_at.is_none() {
        word(before, b"OUT=", &OUT)
    } else {
        None
    };
    (src, in_at, out_at)
}

/// Where the first word that starts with `key` is in `s` (`finder` searches for it after a space).
fn word(s: &[u8], key: &[u8], finder: &Finder<'_>) -> Option<usize> {
    if s.starts_with(key) {
        Some(0)
    } else {
        finder.find(s).map(|space| space + 1)
    }
}

/// True when `before` (the message up to the first ` SRC=`) has a word `IN=` or `OUT=`: what [`head`] requires of a
/// packet, asked without the positions.
pub(super) fn head_has_interface(before: &[u8]) -> bool {
    word(before, b"IN=", &IN).is_some() || word(before, b"OUT=", &OUT).is_some()
}

/// Index of the first word of `s` at or after the word start `from` that begins with `PROTO=`.
fn proto_from(s: &[u8], from: usize) -> Option<usize> {
    let rest = s.get(from..)?;
    if rest.starts_with(b"PROTO=") {
        return Some(from);
    }
    PROTO.find(rest).map(|space| from + space + 1)
}

/// The value of `KEY=value` starting at `at` when the text there is `key`, and the index after its space.
fn value_at<'a, const N: usize>(
    msg: &'a [u8],
    at: usize,
    key: &[u8; N],
) -> Option<(&'a [u8], usize)> {
    let start = at.checked_add(N)?;
    if msg.get(at..start)? != key {
        return None;
    }
    let end = next_space(msg, start);
    Some((msg.get(start..end)?, end + 1))
}

impl<'a> PacketFields<'a> {
    /// All the fields.
    pub fn scan(msg: &'a [u8]) -> Result<PacketFields<'a>, ParseError> {
        PacketFields::scan_with::<true>(msg)
    }

    /// The same result as [`PacketFields::scan`], except that `in_at`, `out_at` and `prefix_len` only tell that the
    /// packet has an `IN=` or an `OUT=`: what deciding whether it parses, and reading its addresses, needs.
    pub fn check(msg: &'a [u8]) -> Result<PacketFields<'a>, ParseError> {
        PacketFields::scan_with::<false>(msg)
    }

    #[inline(always)]
    fn scan_with<const BOTH: bool>(msg: &'a [u8]) -> Result<PacketFields<'a>, ParseError> {
        // The first word `SRC=` ends the head; `IN=` and `OUT=` must start words before it.
        let (src_at, in_at, out_at) = head::<BOTH>(msg);
        let Some(src_at) = src_at else {
            return Err(in_at
                .or(out_at)
                .map_or(ParseError::NotTraffic, |_| ParseError::MissingField("SRC")));
        };
        let prefix_len = match (in_at, out_at) {
            (Some(i), Some(o)) => i.min(o),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => return Err(ParseError::NotTraffic),
        };
        let mut f = PacketFields {
            prefix_len,
            in_at,
            out_at,
            ..PacketFields::default()
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
        let proto_at = proto_from(msg, next).ok_or(ParseError::MissingField("PROTO"))?;
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

    /// The plain reading the searches replace: one walk over every word, in order.
    fn by_words(msg: &[u8]) -> Result<PacketFields<'_>, ParseError> {
        let (mut src_at, mut in_at, mut out_at) = (None, None, None);
        let mut at = 0;
        while let Some(word) = msg.get(at..) {
            if at > 0 && word.starts_with(b"SRC=") {
                src_at = Some(at - 1);
                break;
            }
            if in_at.is_none() && word.starts_with(b"IN=") {
                in_at = Some(at);
            }
            if out_at.is_none() && word.starts_with(b"OUT=") {
                out_at = Some(at);
            }
            at = next_space(msg, at) + 1;
        }
        let Some(src_at) = src_at else {
            let started = in_at.or(out_at);
            return Err(started.map_or(ParseError::NotTraffic, |_| ParseError::MissingField("SRC")));
        };
        let prefix_len = match (in_at, out_at) {
            (Some(i), Some(o)) => i.min(o),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => return Err(ParseError::NotTraffic),
        };
        let mut f = PacketFields {
            prefix_len,
            in_at,
            out_at,
            ..PacketFields::default()
        };
        let (src, next) =
            value_at(msg, src_at + 1, b"SRC=").ok_or(ParseError::MissingField("SRC"))?;
        f.src = src;
        let (dst, mut next) = match value_at(msg, next, b"DST=") {
            Some(found) => found,
            None => {
                let at = next
                    + memchr::memmem::find(msg.get(next..).unwrap_or_default(), b" DST=")
                        .ok_or(ParseError::MissingField("DST"))?;
                value_at(msg, at + 1, b"DST=").ok_or(ParseError::MissingField("DST"))?
            }
        };
        f.dst = dst;
        loop {
            let word = msg.get(next..).ok_or(ParseError::MissingField("PROTO"))?;
            if word.starts_with(b"PROTO=") {
                break;
            }
            next = next_space(msg, next) + 1;
        }
        let (proto, next) =
            value_at(msg, next, b"PROTO=").ok_or(ParseError::MissingField("PROTO"))?;
        f.proto = proto;
        if let Some((spt, next)) = value_at(msg, next, b"SPT=") {
            f.spt = Some(spt);
            f.dpt = value_at(msg, next, b"DPT=").map(|v| v.0);
        }
        Ok(f)
    }

    /// Words of LOG lines and near misses, joined by one or two spaces.
    fn msg() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "IN=eth0",
            "IN=",
            "OUT=",
            "OUT=eth1",
            "XIN=a",
            "PHYSIN=b",
            "SRC=1.2.3.4",
            "SRC=",
            "DST=5.6.7.8",
            "DST=",
            "PROTO=TCP",
            "PROTO=",
            "SPT=1",
            "DPT=22",
            "SPT=",
            "[UFW BLOCK]",
            "MAC=00:11",
            "LEN=60",
            "=",
            "IN",
            "a=b",
            "ID=1",
            "DF",
            "[SRC=9.9.9.9",
            "xSRC=1",
            "PROTO=ICMP",
            "TYPE=8",
        ]);
        prop::collection::vec((word, prop::bool::weighted(0.1)), 0..16).prop_map(|words| {
            words
                .iter()
                .map(|(w, two)| {
                    if *two {
                        format!(" {w}")
                    } else {
                        (*w).to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    proptest! {
        #[test]
        fn searches_agree_with_a_walk_over_every_word(m in msg(), cut in 0usize..200) {
            prop_assert_eq!(PacketFields::scan(m.as_bytes()), by_words(m.as_bytes()), "{}", m);
            let cut = m.as_bytes().get(..cut.min(m.len())).unwrap_or_default();
            prop_assert_eq!(PacketFields::scan(cut), by_words(cut));
            // The check reads the same values and fails the same way; only where IN and OUT are may differ.
            fn values(f: PacketFields<'_>) -> PacketFields<'_> {
                PacketFields { prefix_len: 0, in_at: None, out_at: None, ..f }
            }
            for msg in [m.as_bytes(), cut] {
                prop_assert_eq!(PacketFields::check(msg).map(values), PacketFields::scan(msg).map(values));
            }
        }
    }

    #[test]
    fn head_finds_words_before_src() {
        let f = PacketFields::scan(b"IN=x SRC=1 OUT=y SRC=1 DST=2 PROTO=TCP").unwrap();
        assert_eq!((f.prefix_len, f.in_at, f.out_at), (0, Some(0), None));
        let e = PacketFields::scan(b"SRC=1 PHYSIN=a  OUT=b");
        assert_eq!(e, Err(ParseError::MissingField("SRC")));
        assert_eq!(
            PacketFields::scan(b"PHYSIN=a SRC=1"),
            Err(ParseError::NotTraffic)
        );
    }
}
