//! What every feed body shares before its own format: the whole-body rejections (empty, HTML, rate-limit text),
//! line framing, and the address and time grammar the text formats use.
//!
//! Pure byte scanning: no IO, no allocation per line (only when building an error), no panics on any input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::FeedError;

/// How far into a body the HTML and rate-limit checks look.
const SNIFF_LEN: usize = 1024;
/// How many characters of an offending line an error keeps.
const EXCERPT_LEN: usize = 80;
/// Markers of an HTML page, lower case, looked for near the start of the body.
const HTML_MARKERS: [&[u8]; 4] = [b"<!doctype", b"<html", b"<head", b"<body"];
/// Phrases of the dan.me.uk "Umm... You can only fetch the data every 30 minutes" answer, lower case.
const RATE_LIMIT_MARKERS: [&[u8]; 3] = [
    b"only fetch the data every",
    b"you can only fetch",
    b"download this list too often",
];

/// Applies the rejections shared by all kinds and returns the body without a UTF-8 byte-order mark.
pub(crate) fn screen(body: &[u8]) -> Result<&[u8], FeedError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let head = trim_start(body);
    if head.is_empty() {
        return Err(FeedError::Empty);
    }
    let sniff = head.get(..SNIFF_LEN).unwrap_or(head);
    if head.first() == Some(&b'<') || HTML_MARKERS.iter().any(|m| contains_ignore_case(sniff, m)) {
        return Err(FeedError::Html);
    }
    if RATE_LIMIT_MARKERS
        .iter()
        .any(|m| contains_ignore_case(sniff, m))
    {
        let first = head
            .get(..memchr::memchr(b'\n', head).unwrap_or(head.len()))
            .unwrap_or(head);
        return Err(FeedError::RateLimited(excerpt(trim(first))));
    }
    Ok(body)
}

/// Iterates over `(line number from 1, line without its LF, CR or surrounding blanks)`.
pub(crate) fn lines(body: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut rest = body;
    let mut number = 0usize;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or(rest);
        rest = rest.get(end + 1..).unwrap_or_default();
        number += 1;
        Some((number, trim(line)))
    })
}

/// A `BadLine` error for `line`, keeping at most ~80 characters of it.
pub(crate) fn bad_line(line: usize, text: &[u8]) -> FeedError {
    FeedError::BadLine {
        line,
        text: excerpt(text),
    }
}

/// Parses a single IPv4 or IPv6 address (any valid spelling, e.g. uncompressed IPv6) into a host network.
pub(crate) fn host(text: &[u8]) -> Option<IpNet> {
    let text = std::str::from_utf8(text).ok()?;
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Parses an address or a CIDR into a canonical network. A CIDR with host bits set (`10.1.2.3/8`) is truncated to
/// its network (`10.0.0.0/8`): the list then covers what the source meant, never less.
pub(crate) fn network(text: &[u8]) -> Option<IpNet> {
    let Some(slash) = memchr::memchr(b'/', text) else {
        return host(text);
    };
    let addr = std::str::from_utf8(text.get(..slash)?).ok()?;
    let len = std::str::from_utf8(text.get(slash + 1..)?).ok()?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    let net = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, len).ok()?),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, len).ok()?),
    };
    Some(net.trunc())
}

/// Parses `host:port` or `[v6]:port` (Onionoo OR addresses) or a bare address into a host network.
pub(crate) fn host_port(text: &str) -> Option<IpNet> {
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, _port) = rest
            .split_once("]:")
            .or_else(|| rest.strip_suffix(']').map(|a| (a, "")))?;
        return addr
            .parse::<Ipv6Addr>()
            .ok()
            .map(|a| IpNet::from(IpAddr::V6(a)));
    }
    match text.rsplit_once(':') {
        Some((addr, port)) if !addr.contains(':') && port.parse::<u16>().is_ok() => addr
            .parse::<Ipv4Addr>()
            .ok()
            .map(|a| IpNet::from(IpAddr::V4(a))),
        _ => host(text.as_bytes()),
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC, as TorDNSEL and Onionoo write it) into unix seconds.
pub(crate) fn utc_time(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let time = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(time.and_utc().timestamp())
}

/// Splits off the first blank-separated word: `(word, rest with leading blanks removed)`.
pub(crate) fn word(line: &[u8]) -> (&[u8], &[u8]) {
    let end = line
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(line.len());
    let (first, rest) = line.split_at(end);
    (first, trim_start(rest))
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    trim_start(s.get(..end).unwrap_or_default())
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

pub(crate) fn excerpt(text: &[u8]) -> String {
    let cut = String::from_utf8_lossy(text.get(..EXCERPT_LEN).unwrap_or(text)).into_owned();
    if text.len() > EXCERPT_LEN {
        cut + "…"
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::FeedKind;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_canonical() {
        assert_eq!(
            network(b"2001:0470:0001:0908:0000:0000:0000:9001"),
            Some(net("2001:470:1:908::9001/128"))
        );
        assert_eq!(network(b"10.1.2.3/8"), Some(net("10.0.0.0/8")));
        assert_eq!(network(b"1.2.3.4"), Some(net("1.2.3.4/32")));
        assert_eq!(network(b"1.2.3.4/33"), None);
        assert_eq!(network(b"1.2.3.4/"), None);
        assert_eq!(network(b"1.2.3.4/+8"), None);
        assert_eq!(network(b"1.2.3"), None);
        assert_eq!(network(b"\xff\xfe"), None);
    }

    #[test]
    fn or_addresses() {
        assert_eq!(host_port("1.2.3.4:9001"), Some(net("1.2.3.4/32")));
        assert_eq!(
            host_port("[2001:db8::1]:9001"),
            Some(net("2001:db8::1/128"))
        );
        assert_eq!(host_port("2001:db8::1"), Some(net("2001:db8::1/128")));
        assert_eq!(host_port("[2001:db8::1"), None);
        assert_eq!(host_port("1.2.3.4:x"), None);
    }

    #[test]
    fn lines_strip_crlf_and_blanks() {
        let got: Vec<_> = lines(b"a \r\n\r\n  b\n").collect();
        assert_eq!(got, vec![(1, &b"a"[..]), (2, &b""[..]), (3, &b"b"[..])]);
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(utc_time(b"2024-03-12 08:10:51"), Some(1_710_231_051));
        assert_eq!(utc_time(b"2024-03-12"), None);
    }

    #[test]
    fn long_lines_are_cut() {
        let FeedError::BadLine { text, .. } = bad_line(1, &[b'x'; 500]) else {
            panic!()
        };
        assert_eq!(text.chars().count(), EXCERPT_LEN + 1);
    }

    const KINDS: [FeedKind; 5] = [
        FeedKind::Tordnsel,
        FeedKind::Bulk,
        FeedKind::Onionoo,
        FeedKind::Danme,
        FeedKind::Plain,
    ];

    proptest::proptest! {
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            for kind in KINDS {
                let _ = crate::feeds::parse(kind, &bytes);
            }
        }

        #[test]
        fn no_line_shaped_input_panics(text in "((ExitNode|ExitAddress|LastStatus|@type|[0-9a-f.:/\\[\\]]{1,40})[ 0-9:.-]{0,30}\r?\n){0,12}") {
            for kind in KINDS {
                let _ = crate::feeds::parse(kind, text.as_bytes());
            }
        }
    }
}
