//! The packet fields of a kernel LOG line (`IN= OUT= ... SRC= DST= ... PROTO= SPT= DPT=`), found in the order the
//! kernel writes them: a few SIMD searches and direct reads, never a byte-by-byte walk. Borrowed, no allocation.

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

/// The value of `KEY=value` starting at `at` when the text there is `key`, and the index after its space.
fn value_at<'a>(msg: &'a [u8], at: usize, key: &[u8]) -> Option<(&'a [u8], usize)> {
    let rest = msg.get(at..)?.strip_prefix(key)?;
    let len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    Some((rest.get(..len)?, at + key.len() + len + 1))
}

/// Index of the first `key=` (given without its `=`) in `head` that starts a word, found by its `=`.
pub(super) fn word_start(head: &[u8], key: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'=', head).find_map(|eq| {
        let start = eq.checked_sub(key.len())?;
        let boundary = start == 0 || head.get(start - 1) == Some(&b' ');
        (boundary && head.get(start..eq) == Some(key)).then_some(start)
    })
}

impl<'a> Fields<'a> {
    pub fn scan(msg: &'a [u8]) -> Result<Fields<'a>, ParseError> {
        let Some(src_at) = SRC.find(msg) else {
            let started = word_start(msg, b"IN").or_else(|| word_start(msg, b"OUT"));
            return Err(started.map_or(ParseError::NotTraffic, |_| ParseError::MissingField("SRC")));
        };
        let head = msg.get(..src_at).unwrap_or_default();
        let in_at = word_start(head, b"IN");
        let out_at = word_start(head, b"OUT");
        let prefix_len = match (in_at, out_at) {
            (Some(i), Some(o)) => i.min(o),
            (Some(i), None) | (None, Some(i)) => i,
            (None, None) => return Err(ParseError::NotTraffic),
        };
        let mut f = Fields {
            prefix_len,
            iface_in: in_at.and_then(|i| value_at(msg, i, b"IN=")).map(|v| v.0),
            iface_out: out_at.and_then(|i| value_at(msg, i, b"OUT=")).map(|v| v.0),
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
        let proto_at = next
            + PROTO
                .find(msg.get(next.saturating_sub(1)..).unwrap_or_default())
                .ok_or(ParseError::MissingField("PROTO"))?;
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
