//! Addresses, ports and numbers read straight from the bytes of a log line, without allocating: IPv4 (octet
//! lengths from a mask of the bytes that are no digits), IPv6 in any form including the kernel's uncompressed one,
//! `address:port` endpoints, and [`written_in`], which tells whether a line writes an address at all. Pure: no IO,
//! no panics.

use std::net::IpAddr;

/// An address and the port written with it, if any.
pub type Endpoint = (IpAddr, Option<u16>);

/// Whether `line` writes the address `ip` somewhere (in any of its textual forms: IPv6 compressed or not, in either
/// case). For tests and fuzzing: a parser reads addresses from its line, it never makes one up.
pub fn written_in(line: &[u8], ip: IpAddr) -> bool {
    let text_byte = |c: &u8| c.is_ascii_hexdigit() || matches!(c, b'.' | b':');
    let mut start = 0;
    while start < line.len() {
        let run = line
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| text_byte(c))
            .count();
        let text = line.get(start..start + run).unwrap_or_default();
        for from in 0..text.len() {
            for to in from + 2..=text.len().min(from + 45) {
                if text.get(from..to).and_then(parse_ip) == Some(ip) {
                    return true;
                }
            }
        }
        start += run + 1;
    }
    false
}

/// An address with an optional port: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`, `[2001:db8::1]:443`; a host name
/// with a port (`www.example.com:443`) gives the port alone.
pub fn parse_endpoint(s: &[u8]) -> (Option<IpAddr>, Option<u16>) {
    if let Some(v6) = s.strip_prefix(b"[") {
        let close = memchr::memchr(b']', v6).unwrap_or(v6.len());
        let port = v6
            .get(close + 1..)
            .and_then(|p| p.strip_prefix(b":"))
            .and_then(parse_port);
        return (v6.get(..close).and_then(parse_ip), port);
    }
    if let Some(ip) = parse_ip(s) {
        return (Some(ip), None);
    }
    match memchr::memrchr(b':', s) {
        Some(i) => (
            s.get(..i).and_then(parse_ip),
            s.get(i + 1..).and_then(parse_port),
        ),
        None => (None, None),
    }
}

/// Parses an unsigned decimal number of 1 to 19 digits, without allocating.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// Parses a port number (0–65535).
pub fn parse_port(s: &[u8]) -> Option<u16> {
    if s.len() > 5 {
        // Leading zeros are allowed, up to the 19 digits of any number.
        return parse_u64(s).and_then(|n| u16::try_from(n).ok());
    }
    if s.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u32::from(d);
    }
    u16::try_from(n).ok()
}

/// Parses an IPv4 or IPv6 literal from bytes without allocating. IPv6 may be in any valid form, including the
/// kernel's uncompressed one; a trailing `%zone` is rejected.
#[inline(always)]
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    // Fast paths first; each stops at the first byte it does not expect. The standard parser covers the rest
    // (IPv4-suffixed IPv6) and rejects what is invalid.
    if let Some(v4) = parse_ipv4(s) {
        return Some(IpAddr::V4(v4));
    }
    if let Some(v6) = parse_ipv6_full(s).or_else(|| parse_ipv6(s)) {
        return Some(IpAddr::V6(v6));
    }
    memchr::memchr2(b':', b'.', s)?;
    let text = std::str::from_utf8(s).ok()?;
    text.parse().ok()
}

/// Dotted-quad IPv4 exactly as `Ipv4Addr::from_str` accepts it (no leading zeros), read straight from bytes.
fn parse_ipv4(s: &[u8]) -> Option<std::net::Ipv4Addr> {
    if !(7..=15).contains(&s.len()) {
        return None;
    }
    read_ipv4(s, 0).and_then(|(a, end)| (end == s.len()).then_some(a))
}

/// The dotted quad that starts at `at` in `s`, read as `Ipv4Addr::from_str` reads one (no leading zeros), and the
/// index just after its last digit; what follows it is the caller's to check.
///
/// With 24 bytes left from `at` (nearly always in a log line), the octets' lengths come from a mask of the first
/// sixteen bytes that are no digits; else the bytes are read one by one. Both read alike (tests check it).
#[inline(always)]
pub(crate) fn read_ipv4(s: &[u8], at: usize) -> Option<(std::net::Ipv4Addr, usize)> {
    let (addr, len) = match s.get(at..at + 24).map(<&[u8; 24]>::try_from) {
        Some(Ok(q)) => dotted_quad_masked(q),
        _ => dotted_quad(|k| s.get(at + k).copied()),
    }?;
    Some((addr, at + len))
}

/// Eight bytes minus `'0'` each (xor), and the high bit of each byte that is no ASCII digit.
#[inline(always)]
pub(crate) fn digit_bits(x: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let d = x ^ (ONES * 0x30);
    // A byte is a digit exactly when, xor '0', it is below 10: its high bit clear and `+ 0x76` not carrying into it.
    (d, ((d & !HIGH).wrapping_add(ONES * 0x76) | d) & HIGH)
}

/// Bit `k` set when byte `k` of `x` has its high bit set; the other bits of `x` clear.
#[inline(always)]
fn high_bits(x: u64) -> u32 {
    (((x >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

/// [`dotted_quad`] of a text's first bytes, the octets' lengths found without a branch on them, from a mask of the
/// first sixteen bytes that are no digits. (Octets of one, two and three digits come in no order a branch predictor
/// could learn: read digit by digit, an address costs a misprediction or two.) The branches left fail only on a
/// text that is no dotted quad.
#[inline(always)]
fn dotted_quad_masked(q: &[u8; 24]) -> Option<(std::net::Ipv4Addr, usize)> {
    let stops_in = |i: usize| {
        let (_, not_digit) = digit_bits(u64::from_le_bytes(
            q[i..i + 8].try_into().unwrap_or_default(),
        ));
        high_bits(not_digit)
    };
    // The bytes that are no digit: each ends an octet. One more past the sixteen, so that there is a fourth.
    let stops = stops_in(0) | stops_in(8) << 8 | 1 << 16;
    let after_one = stops & stops.wrapping_sub(1);
    let after_two = after_one & after_one.wrapping_sub(1);
    let after_three = after_two & after_two.wrapping_sub(1);
    let stops = [stops, after_one, after_two, after_three].map(u32::trailing_zeros);
    let mut addr = 0u32;
    let mut start = 0u32;
    let mut end = 0u32;
    for (k, stop) in stops.into_iter().enumerate() {
        let run = stop.wrapping_sub(start);
        // The last octet ends after three digits at most, as the byte reader's: the caller then finds no word's
        // end there.
        let n = if k == 3 { run.min(3) } else { run };
        if n.wrapping_sub(1) > 2 {
            return None;
        }
        end = start + n;
        if k < 3 && q[end as usize % 16] != b'.' {
            return None;
        }
        // The octet's digits minus '0', right-aligned in three bytes (the first lowest), zeros before them.
        let at = start as usize % 16;
        let x = u32::from_le_bytes(q[at..at + 4].try_into().unwrap_or_default());
        let y = ((x ^ 0x3030_3030) << (24 - 8 * n)) & 0x00ff_ffff;
        // As a big-endian number, the digits lie between 1, 0 (or 1, 0, 0: no leading zero) and 2, 5, 5.
        let big = y.swap_bytes() >> 8;
        let floor = (1u32 << (8 * n - 8)) & !1;
        if big.wrapping_sub(floor) > 0x02_05_05 - floor {
            return None;
        }
        // Hundreds, tens and ones meet in the third byte of the product.
        let value = (u64::from(y) * (100 << 16 | 10 << 8 | 1)) >> 16;
        addr = addr << 8 | (value & 0xff) as u32;
        start = end + 1;
    }
    Some((std::net::Ipv4Addr::from(addr), end as usize))
}

/// The dotted quad at the start of the text whose `k`-th byte is `byte(k)` (`None` past its end), and its length,
/// read byte by byte. No byte after the fifteenth is asked for.
#[inline(always)]
fn dotted_quad(byte: impl Fn(usize) -> Option<u8>) -> Option<(std::net::Ipv4Addr, usize)> {
    let digit = |i: usize| byte(i).map_or(10, |c| c.wrapping_sub(b'0'));
    let mut addr = 0u32;
    let mut i = 0;
    for k in 0..4 {
        let d0 = digit(i);
        if d0 > 9 {
            return None;
        }
        let d1 = digit(i + 1);
        let (value, n) = if d1 > 9 {
            (u32::from(d0), 1)
        } else {
            let d2 = digit(i + 2);
            if d2 > 9 {
                (u32::from(d0) * 10 + u32::from(d1), 2)
            } else {
                (u32::from(d0) * 100 + u32::from(d1) * 10 + u32::from(d2), 3)
            }
        };
        if (n > 1 && d0 == 0) || value > 255 {
            return None;
        }
        addr = addr << 8 | value;
        i += n;
        if k < 3 {
            if byte(i) != Some(b'.') {
                return None;
            }
            i += 1;
        }
    }
    Some((std::net::Ipv4Addr::from(addr), i))
}

/// Four bytes (the first lowest) read as hex digits of either case: their value, and nonzero when one is no hex
/// digit. Without a branch, so that the eight groups of an address are checked at once.
#[inline(always)]
fn hex_bits(x: u32) -> (u16, u32) {
    const ONES: u32 = 0x0101_0101;
    const HIGH: u32 = 0x8080_8080;
    // Digits: xor '0' is below 10. Letters: with the case bit set, from 'a' to 'f'. Both with the high bit clear.
    let d = x ^ (ONES * 0x30);
    let not_digit = ((d & !HIGH).wrapping_add(ONES * 0x76) | d) & HIGH;
    let low = (x | (ONES * 0x20)) & !HIGH;
    let letter =
        low.wrapping_add(ONES * (0x80 - 0x61)) & !low.wrapping_add(ONES * (0x80 - 0x67)) & HIGH;
    let bad = (not_digit & !letter) | (x & HIGH);
    // A nibble is the low four bits, plus 9 for a letter (bit 6 set).
    let nibbles = (x & (ONES * 0x0f)) + ((x >> 6) & ONES) * 9;
    let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff;
    (((pairs & 0xff) << 8 | (pairs >> 16) & 0xff) as u16, bad)
}

/// The kernel's uncompressed IPv6: eight groups of exactly four hex digits, checked all at once (one branch).
#[inline(always)]
pub(crate) fn parse_ipv6_full(s: &[u8]) -> Option<std::net::Ipv6Addr> {
    let text: &[u8; 39] = s.try_into().ok()?;
    let mut value = 0u128;
    let mut bad = 0u32;
    for g in 0..8 {
        let four = text.get(5 * g..).and_then(|r| r.first_chunk::<4>());
        let (group, not_hex) = hex_bits(four.map_or(u32::MAX, |f| u32::from_le_bytes(*f)));
        value = value << 16 | u128::from(group);
        bad |= not_hex;
        if g < 7 {
            bad |= u32::from(text[5 * g + 4] ^ b':');
        }
    }
    (bad == 0).then_some(std::net::Ipv6Addr::from(value))
}

/// IPv6 of hex groups with at most one `::` (no embedded IPv4), as `Ipv6Addr::from_str` accepts it, read
/// straight from bytes; covers the kernel's zero-padded form.
fn parse_ipv6(s: &[u8]) -> Option<std::net::Ipv6Addr> {
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let (front, back) = match s.windows(2).position(|w| w == b"::") {
        Some(i) => (s.get(..i)?, Some(s.get(i + 2..)?)),
        None => (s, None),
    };
    let n_head = ipv6_groups(front, &mut head)?;
    let segments = match back {
        None if n_head == 8 => head,
        None => return None,
        Some(back) => {
            let n_tail = ipv6_groups(back, &mut tail)?;
            if n_head + n_tail > 7 {
                return None;
            }
            let mut all = head;
            for (i, g) in tail.iter().take(n_tail).enumerate() {
                *all.get_mut(8 - n_tail + i)? = *g;
            }
            all
        }
    };
    Some(std::net::Ipv6Addr::from(segments))
}

/// Reads `h:h:...` (possibly empty) into `out`; returns the number of groups.
fn ipv6_groups(s: &[u8], out: &mut [u16; 8]) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0usize;
    let mut value: u16 = 0;
    let mut digits = 0usize;
    for &c in s {
        if c == b':' {
            if digits == 0 {
                return None;
            }
            *out.get_mut(n)? = value;
            n += 1;
            value = 0;
            digits = 0;
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        if digits == 4 {
            return None;
        }
        value = (value << 4) | u16::from(d);
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    *out.get_mut(n)? = value;
    Some(n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_groups_are_read_as_the_standard_parser_reads_them() {
        // Every byte value in every position, beside digits and letters of both cases.
        for base in [*b"0fA9", *b"ffff", *b"0000", *b"aB3c"] {
            for pos in 0..4 {
                for v in 0u8..=255 {
                    let mut text = base;
                    text[pos] = v;
                    let want = std::str::from_utf8(&text)
                        .ok()
                        .filter(|t| t.bytes().all(|c| c.is_ascii_hexdigit()))
                        .and_then(|t| u16::from_str_radix(t, 16).ok());
                    let got = match hex_bits(u32::from_le_bytes(text)) {
                        (value, 0) => Some(value),
                        _ => None,
                    };
                    assert_eq!(got, want, "{text:?}");
                }
            }
        }
    }
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_fast_path_agrees_with_std(s in "[0-9.]{0,17}") {
            prop_assert_eq!(parse_ip(s.as_bytes()), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn ipv4_read_without_branches_agrees_with_the_byte_reader(s in "[0-9.]{0,18}[ x0-9.\n]{0,4}") {
            let q = padded(&s);
            let bytes = dotted_quad(|k| q.get(k).copied());
            prop_assert_eq!(dotted_quad_masked(&q), bytes, "{:?}", String::from_utf8_lossy(&q));
        }

        #[test]
        fn ipv4_read_at_any_place_agrees_with_the_byte_reader(s in "[0-9.]{0,20}[ x0-9.]{0,12}", at in 0usize..8) {
            let checked = dotted_quad(|k| s.as_bytes().get(at + k).copied()).map(|(a, n)| (a, at + n));
            prop_assert_eq!(read_ipv4(s.as_bytes(), at), checked);
        }

        #[test]
        fn ipv4_quads_agree_with_std(q in proptest::array::uniform4(0u16..300), zero in 0usize..5) {
            let mut parts = q.map(|n| n.to_string());
            if let Some(p) = parts.get_mut(zero) {
                p.insert(0, '0');
            }
            let s = parts.join(".");
            prop_assert_eq!(parse_ip(s.as_bytes()), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn ipv6_fast_path_agrees_with_std(s in "[0-9a-fA-F:]{0,41}") {
            prop_assert_eq!(parse_ip(s.as_bytes()), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn ipv6_forms_agree_with_std(g in proptest::array::uniform8(prop_oneof![Just(0u16), any::<u16>()])) {
            let addr = std::net::Ipv6Addr::from(g);
            let padded = g.map(|x| format!("{x:04x}")).join(":");
            for text in [addr.to_string(), padded, g.map(|x| format!("{x:X}")).join(":")] {
                prop_assert_eq!(parse_ip(text.as_bytes()), Some(IpAddr::V6(addr)), "{}", text);
            }
        }
    }

    /// The first 24 bytes of `t`, spaces after it.
    fn padded(t: &str) -> [u8; 24] {
        let mut q = [b' '; 24];
        for (d, c) in q.iter_mut().zip(t.bytes()) {
            *d = c;
        }
        q
    }

    #[test]
    fn a_dotted_quad_is_read_within_fifteen_bytes() {
        // The reader without branches agrees with the one that reads byte by byte, which asks for no byte after the
        // fifteenth.
        let octets = [
            "0", "00", "7", "25", "099", "100", "199", "255", "256", "999", "1000",
        ];
        let mut furthest = 0;
        for a in octets {
            for b in octets {
                for c in octets {
                    for d in octets {
                        for end in ["", ".", ".1", "x", "1"] {
                            let t = format!("{a}.{b}.{c}.{d}{end}");
                            let q = padded(&t);
                            assert_eq!(
                                dotted_quad_masked(&q),
                                dotted_quad(|k| q.get(k).copied()),
                                "{t}"
                            );
                            let asked = std::cell::Cell::new(0);
                            let _ = dotted_quad(|k| {
                                asked.set(asked.get().max(k));
                                t.as_bytes().get(k).copied()
                            });
                            furthest = furthest.max(asked.get());
                        }
                    }
                }
            }
        }
        assert_eq!(furthest, 14);
    }

    #[test]
    fn ipv4_edge_cases() {
        for s in ["1.2.3.4", "255.255.255.255", "0.0.0.0"] {
            assert!(parse_ip(s.as_bytes()).is_some(), "{s}");
        }
        for s in [
            "01.2.3.4",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4 ",
        ] {
            assert_eq!(parse_ip(s.as_bytes()), None, "{s}");
        }
    }
}
