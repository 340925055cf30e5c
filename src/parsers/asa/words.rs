//! The words of an ASA message and the endpoints in them (`outside:192.0.2.1/443`, `dmz/192.0.2.1(53)`,
//! `192.0.2.1/80(LOCAL\user)`): borrowed slices on the stack, no allocation.

use crate::address::{parse_ip, parse_port};
use crate::event::Proto;
use std::net::IpAddr;

const MAX_WORDS: usize = 48;

/// Up to [`MAX_WORDS`] space-separated words of a message.
pub struct Words<'a> {
    items: [&'a [u8]; MAX_WORDS],
    len: usize,
}

impl<'a> Words<'a> {
    pub fn split(msg: &'a [u8]) -> Words<'a> {
        let mut w = Words {
            items: [&[]; MAX_WORDS],
            len: 0,
        };
        for word in msg.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
            let Some(slot) = w.items.get_mut(w.len) else {
                break;
            };
            *slot = word;
            w.len += 1;
        }
        w
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.items.get(..self.len)?.get(i).copied()
    }

    /// Index of the first word equal (ignoring case) to `key` at or after `from`.
    pub fn find(&self, key: &[u8], from: usize) -> Option<usize> {
        (from..self.len).find(|&i| self.get(i).is_some_and(|w| w.eq_ignore_ascii_case(key)))
    }

    /// The word after the first `key` at or after `from`, with its index.
    pub fn after(&self, key: &[u8], from: usize) -> Option<(usize, &'a [u8])> {
        let i = self.find(key, from)? + 1;
        Some((i, self.get(i)?))
    }

    /// The protocol named among the first `n` words (`TCP`, `icmp`, `IPv6-ICMP`, or `protocol 47`).
    pub fn proto(&self, n: usize) -> Option<Proto> {
        (0..n.min(self.len)).find_map(|i| {
            let w = self.get(i)?;
            if w.eq_ignore_ascii_case(b"protocol") {
                return Proto::parse(self.get(i + 1)?);
            }
            if w.first().is_some_and(u8::is_ascii_digit) {
                return None;
            }
            Proto::parse(w)
        })
    }
}

/// An address with an optional port, as ASA writes it. Trailing user or group annotations in parentheses,
/// interface names before `:` or `/`, a `:text` suffix, a final `,` or `.` and enclosing parentheses are ignored.
pub fn endpoint(word: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let word = word
        .strip_suffix(b",")
        .or_else(|| word.strip_suffix(b"."))
        .unwrap_or(word);
    // `(A)`: 106016 writes the spoofed source in parentheses.
    let word = word
        .strip_prefix(b"(")
        .and_then(|w| w.strip_suffix(b")"))
        .unwrap_or(word);
    let (head, paren) = match memchr::memchr(b'(', word) {
        Some(i) => (word.get(..i)?, word.get(i + 1..)),
        None => (word, None),
    };
    // `iface/addr(port)`: the port is in the parentheses.
    if let Some(port) = paren
        .and_then(|p| p.split(|&c| c == b')').next())
        .and_then(parse_port)
    {
        if let Some(ip) = memchr::memrchr(b'/', head).and_then(|i| address(head.get(i + 1..)?)) {
            return Some((ip, Some(port)));
        }
    }
    match memchr::memrchr(b'/', head) {
        Some(i) => {
            let ip = address(head.get(..i)?)?;
            Some((ip, port(head.get(i + 1..)?)))
        }
        None => Some((address(head)?, None)),
    }
}

/// A port number, or the service name ASA prints for well-known ports (710003 writes `/https`).
fn port(s: &[u8]) -> Option<u16> {
    parse_port(s).or(match s {
        b"ftp" => Some(21),
        b"ssh" => Some(22),
        b"telnet" => Some(23),
        b"smtp" => Some(25),
        b"domain" => Some(53),
        b"www" | b"http" => Some(80),
        b"snmp" => Some(161),
        b"https" => Some(443),
        _ => None,
    })
}

/// An address, possibly behind `iface:` or in front of `:text`.
fn address(s: &[u8]) -> Option<IpAddr> {
    parse_ip(s)
        .or_else(|| parse_ip(s.get(memchr::memchr(b':', s)? + 1..)?))
        .or_else(|| parse_ip(s.get(..memchr::memrchr(b':', s)?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_shapes() {
        let v4 = |s: &str| s.parse::<IpAddr>().ok();
        let cases = [
            ("outside:192.0.2.1/443", v4("192.0.2.1"), Some(443)),
            ("192.0.2.1/53723(LOCAL\\user)", v4("192.0.2.1"), Some(53723)),
            (
                "dmz2/192.0.2.4(56575)(LOCAL\\\\u)",
                v4("192.0.2.4"),
                Some(56575),
            ),
            ("Inside:192.0.2.9", v4("192.0.2.9"), None),
            ("192.0.2.9:no", v4("192.0.2.9"), None),
            (
                "fe80::1ff:fe23:4567:890a",
                v4("fe80::1ff:fe23:4567:890a"),
                None,
            ),
            ("outside:2001:db8::1/8080", v4("2001:db8::1"), Some(8080)),
            ("outside:192.0.2.1/https", v4("192.0.2.1"), Some(443)),
            ("outside:192.0.2.1/nosuch", v4("192.0.2.1"), None),
        ];
        for (word, ip, port) in cases {
            assert_eq!(endpoint(word.as_bytes()), ip.map(|ip| (ip, port)), "{word}");
        }
        assert_eq!(endpoint(b"identity"), None);
    }
}
