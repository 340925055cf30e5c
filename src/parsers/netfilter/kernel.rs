//! The common shape of a kernel LOG line, read in one pass for speed: `IN=… OUT=… [MAC=…] SRC=a DST=b LEN=…
//! TOS=… PREC=… TTL=… ID=… [DF] PROTO=p [SPT=… DPT=…]` (and ip6tables' `LEN= TC= HOPLIMIT= FLOWLBL=`). Fixed words
//! are compared eight bytes at a time, digit runs are measured without a branch per byte, the header is crossed by
//! one search for the `S` of ` SRC=`. A line of another shape gets `None`, and the caller asks [`super::packet_facts`].
//!
//! The contract: [`packet_facts`] returns `Some(g)` only when [`super::packet_facts`] returns `Ok(g)` for the same line. Every
//! shortcut below keeps the general reader's choices (the first ` SRC=`, the first ` PROTO=` after the destination,
//! values ending at a space); what it cannot decide cheaply it leaves to the general reader. Pure, no allocation.

use crate::address::{digit_bits, parse_ip, parse_ipv6_full, read_ipv4};
use crate::event::{Addresses, PacketFacts, Proto};
use crate::parsers::syslog;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

/// A word of up to eight bytes as a little-endian integer and the mask of its bytes.
#[derive(Clone, Copy)]
struct Word {
    bits: u64,
    mask: u64,
}

impl Word {
    const fn new(text: &[u8]) -> Word {
        let mut bits = 0u64;
        let mut i = 0;
        while i < text.len() && i < 8 {
            bits |= (text[i] as u64) << (8 * i);
            i += 1;
        }
        let mask = if text.len() >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * text.len())) - 1
        };
        Word { bits, mask }
    }

    /// True when `s` holds this word at `at`.
    #[inline(always)]
    fn at(self, s: impl Bytes, at: usize) -> bool {
        s.load8(at) & self.mask == self.bits
    }

    const fn len(self) -> usize {
        (self.mask.count_ones() / 8) as usize
    }
}

const SRC_TAIL: Word = Word::new(b"RC=");
const OUT: Word = Word::new(b" OUT=");
const DST: Word = Word::new(b" DST=");
const LEN: Word = Word::new(b" LEN=");
const TOS: Word = Word::new(b" TOS=0x");
const PREC: Word = Word::new(b" PREC=0x");
const TTL: Word = Word::new(b" TTL=");
const ID: Word = Word::new(b" ID=");
const TC: Word = Word::new(b" TC=");
const HOPLIMIT: Word = Word::new(b" HOPLIMI");
const HOPLIMIT_TAIL: Word = Word::new(b"T=");
const FLOWLBL: Word = Word::new(b" FLOWLBL");
const PROTO: Word = Word::new(b" PROTO=");
const SPT: Word = Word::new(b" SPT=");
const DPT: Word = Word::new(b" DPT=");
/// The kernel's IP flags between `ID=` and `PROTO=`, in its order, each followed by a space.
const FLAGS: [Word; 3] = [Word::new(b" CE "), Word::new(b" DF "), Word::new(b" MF ")];
/// Protocol words (each must end its word).
const PROTOS: [(Word, Proto); 4] = [
    (Word::new(b"TCP"), Proto::Tcp),
    (Word::new(b"UDP"), Proto::Udp),
    (Word::new(b"ICMP"), Proto::Icmp),
    (Word::new(b"ICMPv6"), Proto::Icmpv6),
];

/// Where the reader finds its bytes: a slice, each load checked against its end, or a [`Block`].
trait Bytes: Copy {
    /// Eight bytes from `at` (zeros past the end).
    fn load8(self, at: usize) -> u64;
    /// The byte at `at` (`None` past the end).
    fn byte(self, at: usize) -> Option<u8>;
}

impl Bytes for &[u8] {
    #[inline(always)]
    fn load8(self, at: usize) -> u64 {
        // A range, not `get(at..)` then `first_chunk`: fewer bounds checks on the hottest load of the reader.
        match self.get(at..at + 8) {
            Some(c) => u64::from_le_bytes(c.try_into().unwrap_or_default()),
            None => load8_short(self, at),
        }
    }

    #[inline(always)]
    fn byte(self, at: usize) -> Option<u8> {
        self.get(at).copied()
    }
}

/// Positions a [`Block`] holds.
const BLOCK: usize = 128;

/// The next bytes of a text that runs on for at least `BLOCK + 8` more, loaded without a check: a position is
/// taken modulo `BLOCK`, so that every load lies within. The packet words after the destination address are read
/// through a block; none of those readers reaches as far as `BLOCK` (see [`packet_tail`]).
#[derive(Clone, Copy)]
struct Block<'a>(&'a [u8; BLOCK + 8]);

impl Bytes for Block<'_> {
    #[inline(always)]
    fn load8(self, at: usize) -> u64 {
        let i = at % BLOCK;
        u64::from_le_bytes(self.0[i..i + 8].try_into().unwrap_or_default())
    }

    #[inline(always)]
    fn byte(self, at: usize) -> Option<u8> {
        Some(self.0[at % BLOCK])
    }
}

#[cold]
#[inline(never)]
fn load8_short(s: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (d, c) in b.iter_mut().zip(s.get(at..).unwrap_or_default()) {
        *d = *c;
    }
    u64::from_le_bytes(b)
}

/// The run of ASCII digits at `at` (0 to 8 of them): its length and its bytes minus `'0'` (lowest first).
#[inline(always)]
fn digit_run(s: impl Bytes, at: usize) -> (usize, u64) {
    let (d, not_digit) = digit_bits(s.load8(at));
    ((not_digit.trailing_zeros() / 8) as usize, d)
}

/// The value of the first `len` (1 to 8) digits of a [`digit_run`].
#[inline(always)]
fn digits_value(d: u64, len: usize) -> u64 {
    let mut v = d << (8 * (8 - len.clamp(1, 8)));
    v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(10 << 8 | 1) >> 8;
    v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32
}

/// True when the value that ends at `at` ends there for the general reader too: at a space or at the line's end
/// (with `OPEN`, where the text runs on past the line, also at its `\n`).
#[inline(always)]
fn ends_word<const OPEN: bool>(s: impl Bytes, at: usize) -> bool {
    match s.byte(at) {
        Some(b' ') | None => true,
        Some(b'\n') => OPEN,
        Some(_) => false,
    }
}

/// True when neither of the two bytes at `at` is a `\n` (always without `OPEN`: a cut line has none).
#[inline(always)]
fn in_line<const OPEN: bool>(s: impl Bytes, at: usize) -> bool {
    let two = (s.load8(at) & 0xffff) ^ 0x0a0a;
    !OPEN || (two & 0xff != 0 && two >> 8 != 0)
}

/// The index after the digit run at `at` (at least one digit).
#[inline(always)]
fn skip_digits(s: impl Bytes, at: usize) -> Option<usize> {
    match digit_run(s, at) {
        (0 | 8, _) => None,
        (n, _) => Some(at + n),
    }
}

/// A port of one to five digits at `at` that ends its word: its value and the index after it.
#[inline(always)]
fn port<const OPEN: bool>(s: impl Bytes, at: usize) -> Option<(u16, usize)> {
    let (n, d) = digit_run(s, at);
    if n == 0 || n > 5 || !ends_word::<OPEN>(s, at + n) {
        return None;
    }
    Some((u16::try_from(digits_value(d, n)).ok()?, at + n))
}

/// A dotted quad at `at` that ends its word, exactly as `Ipv4Addr::from_str` reads it: the address and the index
/// after it.
#[inline(always)]
fn ipv4<const OPEN: bool>(s: &[u8], at: usize) -> Option<(Ipv4Addr, usize)> {
    read_ipv4(s, at).filter(|&(_, end)| ends_word::<OPEN>(s, end))
}

/// The address whose value starts at `at` and the index of the space (or end) after it.
#[inline(always)]
fn address<const OPEN: bool>(s: &[u8], at: usize) -> Option<(IpAddr, usize)> {
    if let Some((a, end)) = ipv4::<OPEN>(s, at) {
        return Some((IpAddr::V4(a), end));
    }
    address_other::<OPEN>(s, at)
}

/// The kernel's IPv6 at `at`: eight groups of four hex digits, ending its word.
#[inline(always)]
fn ipv6_full<const OPEN: bool>(s: &[u8], at: usize) -> Option<(Ipv6Addr, usize)> {
    const FULL: usize = 39;
    if !ends_word::<OPEN>(s, at + FULL) {
        return None;
    }
    Some((parse_ipv6_full(s.get(at..at + FULL)?)?, at + FULL))
}

/// `s` up to the end of the line that holds `at`: with `OPEN`, up to the first `\n` at or after `at`. For the
/// searches of the rarer shapes, which must not run on into the next lines.
fn this_line<const OPEN: bool>(s: &[u8], at: usize) -> &[u8] {
    match OPEN {
        true => s.get(..line_end(s, at)).unwrap_or_default(),
        false => s,
    }
}

/// The index of the space (or end) after the word at `at`: its end for the general reader. With `OPEN`, `None`
/// when the line ends first (the general reader would see the line's end, but a cut line may end in white space).
fn word_end<const OPEN: bool>(s: &[u8], at: usize) -> Option<usize> {
    let line = this_line::<OPEN>(s, at);
    let end = super::packet::next_space(line, at);
    (!OPEN || end < line.len()).then_some(end)
}

/// [`address`] for anything but a plain dotted quad: the kernel's IPv6, else the general parser.
#[inline(never)]
fn address_other<const OPEN: bool>(s: &[u8], at: usize) -> Option<(IpAddr, usize)> {
    if let Some((a, end)) = ipv6_full::<OPEN>(s, at) {
        return Some((IpAddr::V6(a), end));
    }
    let end = word_end::<OPEN>(s, at)?;
    Some((parse_ip(s.get(at..end)?)?, end))
}

/// A search for one byte: the AVX2 routine called directly where the CPU has it (no dispatch per call).
struct ByteSearch {
    byte: u8,
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl ByteSearch {
    fn new(byte: u8) -> ByteSearch {
        ByteSearch {
            byte,
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(byte),
        }
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = &self.avx2 {
            return one.find(haystack);
        }
        memchr::memchr(self.byte, haystack)
    }
}

/// A search for the first of two bytes, as [`ByteSearch`].
struct PairSearch {
    bytes: (u8, u8),
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::Two>,
}

impl PairSearch {
    fn new(a: u8, b: u8) -> PairSearch {
        PairSearch {
            bytes: (a, b),
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::Two::new(a, b),
        }
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(two) = &self.avx2 {
            return two.find(haystack);
        }
        memchr::memchr2(self.bytes.0, self.bytes.1, haystack)
    }
}

static S: LazyLock<ByteSearch> = LazyLock::new(|| ByteSearch::new(b'S'));
static NEWLINE: LazyLock<ByteSearch> = LazyLock::new(|| ByteSearch::new(b'\n'));
static S_OR_NEWLINE: LazyLock<PairSearch> = LazyLock::new(|| PairSearch::new(b'S', b'\n'));

/// The index of the first `\n` of `text` at or after `from`, or its length: where the line that [`packet_facts_uncut`]
/// read ends, searched from the index it returned.
#[inline]
pub fn line_end(text: &[u8], from: usize) -> usize {
    text.get(from..)
        .and_then(|rest| NEWLINE.find(rest))
        .map_or(text.len(), |i| from + i)
}

/// The index of the ` SRC=` that starts the packet fields: the first in the message. With `OPEN`, the first
/// before the line's `\n`.
#[inline(always)]
fn src_word<const OPEN: bool>(msg: &[u8]) -> Option<usize> {
    // The search starts after the first byte: it must not be the line's end.
    if OPEN && msg.first() == Some(&b'\n') {
        return None;
    }
    let mut from = 1;
    loop {
        let rest = msg.get(from..)?;
        let s = from
            + match OPEN {
                true => S_OR_NEWLINE.find(rest)?,
                false => S.find(rest)?,
            };
        if OPEN && msg.get(s) == Some(&b'\n') {
            return None;
        }
        if msg.get(s - 1) == Some(&b' ') && SRC_TAIL.at(msg, s + 1) {
            return Some(s - 1);
        }
        from = s + 1;
    }
}

/// True when the message before the ` SRC=` at `src` has an interface word (`IN=` or `OUT=`), as the general
/// reader requires. The kernel's usual layouts are checked in place; others are searched.
#[inline(always)]
fn has_interface(msg: &[u8], src: usize) -> bool {
    // ` OUT= MAC=<14 bytes of Ethernet header> SRC=` and ` OUT= SRC=`: an ` OUT=` wholly before the ` SRC=`.
    (src >= 51 && OUT.at(msg, src - 51)) || (src >= 5 && OUT.at(msg, src - 5)) || {
        let before = msg.get(..src).unwrap_or_default();
        super::packet::head_has_interface(before)
    }
}

/// The index in `b` of the ` PROTO=` after the destination, `b` starting at the space that ends the destination,
/// at `base` in `msg`. One found by search must lie before [`TAIL_PROTO`].
#[inline(always)]
fn proto_word<const OPEN: bool>(b: impl Bytes, msg: &[u8], base: usize) -> Option<usize> {
    // Not `or_else`: its closure's call was not inlined, a call per line (`bench/parse_netfilter.sh` shows it).
    if let Some(p) = proto_word_v4::<OPEN>(b, 0) {
        return Some(p);
    }
    if let Some(p) = proto_word_v6(b, 0) {
        return Some(p);
    }
    let p = proto_word_search(this_line::<OPEN>(msg, base), base)? - base;
    (p < TAIL_PROTO).then_some(p)
}

/// ` LEN=n TOS=0xhh PREC=0xhh TTL=n ID=n [DF] [CE] [MF]` then ` PROTO=`. None of the words crossed can hold the
/// start of a ` PROTO=` (the two bytes after each `0x` are followed by a fixed word that begins with a space). With
/// `OPEN`, neither of those two bytes may be the line's end: the words after it would be the next line's.
#[inline(always)]
fn proto_word_v4<const OPEN: bool>(msg: impl Bytes, at: usize) -> Option<usize> {
    if !LEN.at(msg, at) {
        return None;
    }
    let at = skip_digits(msg, at + LEN.len())?;
    let tos = at + TOS.len();
    let prec = tos + 2 + PREC.len();
    if !(TOS.at(msg, at)
        && in_line::<OPEN>(msg, tos)
        && PREC.at(msg, tos + 2)
        && in_line::<OPEN>(msg, prec))
    {
        return None;
    }
    let at = prec + 2;
    if !TTL.at(msg, at) {
        return None;
    }
    let at = skip_digits(msg, at + TTL.len())?;
    if !ID.at(msg, at) {
        return None;
    }
    let mut at = skip_digits(msg, at + ID.len())?;
    for flag in FLAGS {
        if flag.at(msg, at) {
            at += 3;
        }
    }
    PROTO.at(msg, at).then_some(at)
}

/// ip6tables: ` LEN=n TC=n HOPLIMIT=n FLOWLBL=n` then ` PROTO=`.
#[inline(always)]
fn proto_word_v6(msg: impl Bytes, at: usize) -> Option<usize> {
    if !LEN.at(msg, at) {
        return None;
    }
    let at = skip_digits(msg, at + LEN.len())?;
    if !TC.at(msg, at) {
        return None;
    }
    let at = skip_digits(msg, at + TC.len())?;
    // ` HOPLIMIT=` and ` FLOWLBL=` are ten and nine bytes: their first eight, then the rest.
    if !(HOPLIMIT.at(msg, at) && HOPLIMIT_TAIL.at(msg, at + 8)) {
        return None;
    }
    let at = skip_digits(msg, at + 10)?;
    if !(FLOWLBL.at(msg, at) && msg.byte(at + 8) == Some(b'=')) {
        return None;
    }
    let at = skip_digits(msg, at + 9)?;
    PROTO.at(msg, at).then_some(at)
}

/// The first ` PROTO=` at or after `at`, by search.
#[inline(never)]
fn proto_word_search(msg: &[u8], at: usize) -> Option<usize> {
    super::packet::PROTO.find(msg.get(at..)?).map(|i| at + i)
}

/// The protocol whose value starts at `at` in `b`, and the index of the space (or end) after it; `b` starts at
/// `base` in `msg`. A word of another protocol must end before [`TAIL_PROTO`]` + 16`.
#[inline(always)]
fn protocol<const OPEN: bool>(
    b: impl Bytes,
    msg: &[u8],
    base: usize,
    at: usize,
) -> Option<(Proto, usize)> {
    let w = b.load8(at);
    for (word, proto) in PROTOS {
        if w & word.mask == word.bits && ends_word::<OPEN>(b, at + word.len()) {
            return Some((proto, at + word.len()));
        }
    }
    let end = word_end::<OPEN>(msg, base + at)?;
    let proto = super::proto(msg.get(base + at..end)?)?;
    let end = end - base;
    (end < TAIL_PROTO + 16).then_some((proto, end))
}

/// Where the ` PROTO=` word must start, in the words after the destination. The kernel's usual words reach it before
/// 64 (the longest: ` LEN=` ` TOS=0x` ` PREC=0x` ` TTL=` ` ID=` with seven digits each, and three flags).
const TAIL_PROTO: usize = 64;

/// The words after the destination address, read from `b`, which starts at the space after it, at `base` in `msg`:
/// the protocol, the destination port, and the index in `b` after the last value read. Every position read lies
/// before `TAIL_PROTO + 16` (the protocol's word) plus two ports' words of up to ten bytes and a load of eight: well
/// before [`BLOCK`].
#[inline(always)]
fn packet_tail<const OPEN: bool>(
    b: impl Bytes,
    msg: &[u8],
    base: usize,
) -> Option<(Proto, Option<u16>, usize)> {
    let proto_at = proto_word::<OPEN>(b, msg, base)?;
    let (proto, mut at) = protocol::<OPEN>(b, msg, base, proto_at + PROTO.len())?;
    let mut dst_port = None;
    if SPT.at(b, at) {
        let (_, spt_end) = port::<OPEN>(b, at + SPT.len())?;
        at = spt_end;
        if DPT.at(b, at) {
            let (p, dpt_end) = port::<OPEN>(b, at + DPT.len())?;
            dst_port = Some(p);
            at = dpt_end;
        }
    }
    Some((proto, dst_port, at))
}

/// The packet facts of a kernel LOG line of the usual shape; `None` when the general reader must decide. The line is
/// trimmed and does not start with `{`.
#[inline]
pub fn packet_facts(line: &[u8]) -> Option<PacketFacts> {
    read::<false>(line).map(|(g, _)| g)
}

/// [`packet_facts`] of the line that starts `text` and ends at its first `\n` (or the end of `text`), without cutting
/// it first: the packet facts and an index in `text` before which the line's `\n` is not, so that a search for it can
/// start there. Every word read ends before the `\n` (a word that would reach past it gets `None`), so the line
/// need not be cut. A line that starts with white space, or ends (before its `\n`) with white space other than
/// spaces, gets `None` too: cut the line, trim it and ask [`packet_facts`].
///
/// Always inlined: its one caller in the count step reads every line through it, and a call per line returning
/// the facts through memory cost 3 % of a scan (`bench/scan_vs_mawk.sh`).
#[inline(always)]
pub fn packet_facts_uncut(text: &[u8]) -> Option<(PacketFacts, usize)> {
    if text.first().map_or(true, u8::is_ascii_whitespace) {
        return None;
    }
    read::<true>(text)
}

/// The reader of [`packet_facts`] and [`packet_facts_uncut`]: the packet facts and the index after the last value read.
#[inline(always)]
fn read<const OPEN: bool>(line: &[u8]) -> Option<(PacketFacts, usize)> {
    let (msg, scope) = match line.first() {
        Some(b'<') => {
            let msg = syslog::plain_scope(line)?;
            (msg, line.len() - msg.len())
        }
        Some(b'{') => return None,
        _ => (line, 0),
    };
    let src = src_word::<OPEN>(msg)?;
    if !has_interface(msg, src) {
        return None;
    }
    let (src_ip, at) = address::<OPEN>(msg, src + 5)?;
    if !DST.at(msg, at) {
        return None;
    }
    let (dst_ip, base) = address::<OPEN>(msg, at + DST.len())?;
    // The rest through a block when the text runs on far enough (a text in the scan's buffer nearly always does).
    let block = msg
        .get(base..base + BLOCK + 8)
        .map(<&[u8; BLOCK + 8]>::try_from);
    let (proto, dst_port, at) = match block {
        Some(Ok(block)) => packet_tail::<OPEN>(Block(block), msg, base)?,
        _ => packet_tail::<OPEN>(msg.get(base..).unwrap_or_default(), msg, base)?,
    };
    let at = base + at;
    let packet_facts = PacketFacts {
        addresses: Addresses {
            src: Some(src_ip),
            dst: Some(dst_ip),
        },
        dst_port,
        proto: Some(proto),
    };
    Some((packet_facts, scope + at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    /// Mostly one of `usual`, sometimes one of `odd`.
    fn piece(usual: &[&'static str], odd: &[&'static str]) -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => prop::sample::select(usual.to_vec()),
            1 => prop::sample::select(odd.to_vec()),
        ]
    }

    /// Kernel LOG lines from typical and unusual pieces, near misses included.
    fn kernel_line() -> impl Strategy<Value = String> {
        let header = piece(
            &[
                "",
                "<4>",
                "Nov 28 00:00:02 fw1 kernel: ",
                "Nov 28 00:00:02 fw1 kernel: [12345.678901] ",
                "2026-11-28T00:00:01.266245+00:00 fw1 kernel: [UFW BLOCK] ",
                "Nov 28 00:00:02 Sfw SRC kernel: FINAL_REJECT: ",
            ],
            &["<4>1 ", "x SRC=9.9.9.9 ", "IN=eth0 ", " SRC", "S"],
        );
        let iface = piece(
            &[
                "IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 ",
                "IN=eth0 OUT= ",
                "IN= OUT=eth1 ",
                "IN=br0 OUT=br0 PHYSIN=eth0 PHYSOUT=eth1 MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 ",
            ],
            &[
                "IN=eth0 OUT= MAC=52:54:00:12:34 56:52:54:00:ab:cd:ef:08:00 ",
                "OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 ",
                "PHYSIN=x ",
                "",
            ],
        );
        let addr = || {
            piece(
                &[
                    "1.2.3.4",
                    "203.0.113.255",
                    "255.255.255.255",
                    "0.0.0.0",
                    "10.0.0.1",
                    "2001:0db8:0000:0000:0000:0000:0000:0001",
                    "fe80:0000:0000:0000:abcd:ef01:2345:6789",
                ],
                &[
                    "256.1.1.1",
                    "01.2.3.4",
                    "1.2.3",
                    "1.2.3.4.5",
                    "1.2.3.4x",
                    "1..3.4",
                    "2001:0db8:0000:0000:0000:0000:0000:000g",
                    "2001:db8::1",
                    "::ffff:1.2.3.4",
                    "",
                ],
            )
        };
        let ip_fields = piece(
            &[
                " LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 DF",
                " LEN=60 TOS=0x10 PREC=0x20 TTL=255 ID=65535 CE DF MF",
                " LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=54321",
                " LEN=80 TC=0 HOPLIMIT=55 FLOWLBL=0",
            ],
            &[
                " LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=7 MF FRAG:179",
                " LEN=60 TOS=0x P PREC=0x00 TTL=52 ID=7",
                " LEN=80 TC=0 HOPLIMIT=55 FLOWLBL=123456789",
                " LEN= TOS=0x00 PREC=0x00 TTL=52 ID=1",
                " LEN=123456789 TOS=0x00",
                "",
            ],
        );
        let proto = piece(
            &[
                " PROTO=TCP",
                " PROTO=UDP",
                " PROTO=ICMP",
                " PROTO=ICMPv6",
                " PROTO=47",
            ],
            &[" PROTO=tcp", " PROTO=TCPX", " PROTO=", ""],
        );
        let ports = piece(
            &[
                " SPT=42058 DPT=22",
                " SPT=1 DPT=65535",
                " SPT=0080 DPT=00443",
                " TYPE=8 CODE=0 ID=1 SEQ=1",
            ],
            &[
                " SPT=1 DPT=65536",
                " SPT=123456 DPT=1",
                " SPT=1 DPT=",
                " SPT=x DPT=1",
                " SPT=5",
                "",
            ],
        );
        let tail = piece(
            &[" WINDOW=64240 RES=0x00 SYN URGP=0", " LEN=298", ""],
            &[" [SRC=1.1.1.1 DST=2.2.2.2 PROTO=UDP SPT=1 DPT=2]", " "],
        );
        (header, iface, addr(), addr(), ip_fields, proto, ports, tail).prop_map(
            |(h, i, s, d, f, p, ports, t)| format!("{h}{i}SRC={s} DST={d}{f}{p}{ports}{t}"),
        )
    }

    /// A line with one byte replaced, removed or the line cut short.
    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop::sample::select(b" =.:S0129aPR\t".to_vec());
        (kernel_line(), any::<prop::sample::Index>(), byte, 0u8..6).prop_map(|(l, at, b, how)| {
            let mut v = l.into_bytes();
            if v.is_empty() {
                return v;
            }
            let i = at.index(v.len());
            match how {
                0 => {
                    if let Some(c) = v.get_mut(i) {
                        *c = b;
                    }
                }
                1 => {
                    v.remove(i);
                }
                2 => v.truncate(i),
                _ => {}
            }
            v
        })
    }

    pub(super) fn mutated_for_coverage() -> impl Strategy<Value = Vec<u8>> {
        mutated()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn never_disagrees_with_the_general_reader(l in mutated()) {
            let trimmed = l.trim_ascii();
            if let Some(g) = packet_facts(trimmed) {
                prop_assert_eq!(Ok(g), super::super::packet_facts(&l), "{}", String::from_utf8_lossy(&l));
            }
        }
    }

    /// Lines as a file holds them: each ends at a `\n`, some with white space before it or at their start. Some
    /// are a kernel line with a `\n` for any one byte: a reader that ran past the first half's end would find the
    /// words it expects.
    fn joined() -> impl Strategy<Value = Vec<u8>> {
        let ending = prop::sample::select(vec!["", "", "", " ", "\r", "\t", "  "]);
        let start = prop::sample::select(vec!["", "", "", "", " ", "\t"]);
        let broken = (kernel_line(), any::<prop::sample::Index>()).prop_map(|(l, at)| {
            let mut v = l.into_bytes();
            let i = at.index(v.len().max(1));
            if let Some(c) = v.get_mut(i) {
                *c = b'\n';
            }
            v
        });
        let line = prop_oneof![3 => mutated(), 1 => broken];
        prop::collection::vec((start, line, ending), 1..6).prop_map(|lines| {
            let mut text = Vec::new();
            for (start, line, ending) in lines {
                text.extend_from_slice(start.as_bytes());
                text.extend_from_slice(&line);
                text.extend_from_slice(ending.as_bytes());
                text.push(b'\n');
            }
            text
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        /// Reading a line before it is cut gives what reading it cut and trimmed gives, and the index it returns
        /// is within the line.
        #[test]
        fn reading_uncut_lines_agrees_with_reading_cut_ones(text in joined()) {
            let mut start = 0;
            while let Some(rest) = text.get(start..).filter(|r| !r.is_empty()) {
                let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                let line = &rest[..end];
                if let Some((g, read)) = packet_facts_uncut(rest) {
                    prop_assert!(read <= end, "{}", String::from_utf8_lossy(line));
                    prop_assert_eq!(Some(g), packet_facts(line.trim_ascii()), "{}", String::from_utf8_lossy(line));
                }
                start += end + 1;
            }
            // The last line of the text too, without its `\n`.
            let last = text.strip_suffix(b"\n").unwrap_or(&text);
            let from = last.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
            if let Some((g, read)) = packet_facts_uncut(&last[from..]) {
                prop_assert!(read <= last.len() - from);
                prop_assert_eq!(Some(g), packet_facts(last[from..].trim_ascii()));
            }
        }
    }

    #[test]
    fn an_uncut_line_is_not_read_into_the_next() {
        // The two bytes after `TOS=0x` and `PREC=0x` are not read as words; when one is the line's end, the words
        // after it are the next line's.
        for (first, second) in [
            (
                "LEN=60 TOS=0x0",
                " PREC=0x00 TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2",
            ),
            (
                "LEN=60 TOS=0x",
                "0 PREC=0x00 TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2",
            ),
            (
                "LEN=60 TOS=0x00 PREC=0x0",
                " TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2",
            ),
            (
                "LEN=60 TOS=0x00 PREC=0x",
                "0 TTL=52 ID=1 PROTO=TCP SPT=1 DPT=2",
            ),
        ] {
            let text =
                format!("fw kernel: IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 {first}\n{second}\n");
            let line = text.split('\n').next().unwrap_or_default();
            assert_eq!(packet_facts(line.as_bytes()), None, "{text}");
            assert_eq!(packet_facts_uncut(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn the_longest_usual_words_are_read_alike_through_a_block() {
        let tails = [
            " LEN=1234567 TOS=0xff PREC=0xff TTL=1234567 ID=1234567 CE DF MF PROTO=ICMPv6 SPT=65535 DPT=65535",
            " LEN=1234567 TC=1234567 HOPLIMIT=1234567 FLOWLBL=1234567 PROTO=ICMPv6 SPT=65535 DPT=65535",
            " LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 PROTO=132 SPT=1 DPT=2",
            " LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 FRAG:179 PROTO=UDP SPT=1 DPT=2",
        ];
        for tail in tails {
            for next in ["\n", " WINDOW=1\n", "\n SPT=1 DPT=2 "] {
                let text = format!("{tail}{next}{}", "x".repeat(BLOCK + 8));
                let msg = text.as_bytes();
                let block = msg.first_chunk::<{ BLOCK + 8 }>().map(Block);
                let slice = packet_tail::<true>(msg, msg, 0);
                assert!(slice.is_some(), "{tail}");
                assert_eq!(
                    block.and_then(|b| packet_tail::<true>(b, msg, 0)),
                    slice,
                    "{tail}"
                );
            }
        }
    }

    #[test]
    fn reads_most_usual_lines_uncut() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut open, mut cut) = (0, 0);
        for _ in 0..2000 {
            let line = kernel_line()
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default();
            let text = format!("{line}\nnext line SRC=1.2.3.4 DST=5.6.7.8\n");
            open += usize::from(packet_facts_uncut(text.as_bytes()).is_some());
            cut += usize::from(packet_facts(line.as_bytes()).is_some());
        }
        eprintln!("uncut: {open} of 2000, cut: {cut} of 2000");
        assert!(open > cut * 9 / 10, "uncut {open}, cut {cut}");
    }

    #[test]
    fn reads_the_usual_shapes() {
        let lines = [
            "Nov 28 00:00:02 fw2 kernel: [0.000002] [UFW ALLOW] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=64.82.126.166 DST=192.0.2.211 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=2 DF PROTO=TCP SPT=11448 DPT=1433 WINDOW=64240 RES=0x00 SYN URGP=0",
            "2026-11-28T00:00:07.021350+00:00 fw1 kernel: [UFW AUDIT] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=118.196.229.167 DST=192.0.2.119 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=7 DF PROTO=UDP SPT=2375 DPT=80 LEN=298",
            "Nov 28 00:00:06 fw0 kernel: FINAL_REJECT: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=185.142.135.65 DST=192.0.2.98 LEN=84 TOS=0x00 PREC=0x00 TTL=52 ID=6 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=1",
            "Nov 28 00:00:04 fw1 kernel: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=80 TC=0 HOPLIMIT=55 FLOWLBL=0 PROTO=TCP SPT=443 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0",
            "<4>Nov 28 00:00:04 fw1 kernel: INPUT-DROP: IN=ppp0 OUT= SRC=198.51.100.7 DST=203.0.113.9 LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT=40000 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0",
        ];
        for l in lines {
            let fast = packet_facts(l.as_bytes());
            assert!(fast.is_some(), "{l}");
            assert_eq!(
                fast.ok_or(()),
                super::super::packet_facts(l.as_bytes()).map_err(|_| ()),
                "{l}"
            );
        }
    }
}

#[cfg(test)]
mod coverage {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    /// The property above is only as good as the share of generated lines the fast reader accepts.
    #[test]
    fn the_property_sees_accepted_and_refused_lines() {
        let mut runner = TestRunner::deterministic();
        let strategy = super::tests::mutated_for_coverage();
        let (mut some, mut ok) = (0, 0);
        for _ in 0..4000 {
            let l = strategy
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default();
            some += usize::from(super::packet_facts(l.trim_ascii()).is_some());
            ok += usize::from(super::super::packet_facts(&l).is_ok());
        }
        eprintln!("fast reader: {some} of 4000, general reader: {ok} of 4000");
        assert!(some > 400, "the fast reader accepted {some} of 4000");
        assert!(ok > some, "no line was left to the general reader");
    }
}
