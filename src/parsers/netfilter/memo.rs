//! The action of a LOG line, remembered across lines that share their header and log prefix. [`super::action`]
//! reads the syslog header (stamp, host, tag) and the prefix in front of the packet fields on every line, though a
//! log repeats the same few of them; this keeps the last few, and a line that shares one is not read again.
//!
//! What the action of a line depends on: after the stamp, the header's words (at most two are read) and the prefix
//! up to the first `IN=` or `OUT=` word; when the prefix names no action, the tag, which is one of those words. The
//! stamp counts by where it ends and by whether the stamp readers accept it. The key is the line from its start to
//! that word, with every digit read as `0`: no rule holds a digit, a digit is a host and a tag byte like any other,
//! and the stamp readers decide by digits' places alone where a stamp ends — by their values only whether its fields
//! are in range. So a line that shares a key shares the action when its stamp is in range exactly when the remembered
//! line's was; that is checked on the fields' places, remembered with the key. A line whose header reaches the
//! packet words is not remembered. Pure.

#[cfg(test)]
use super::action;
use super::{action_read, PrefixActions};
use crate::event::Action;
use crate::parsers::syslog::{self, stamp};

/// Sets of entries, one per hash value of a key, and entries per set: a log's lines come from a few rules on a few
/// hosts.
const SETS: usize = 64;
const WAYS: usize = 4;
/// Longest key remembered, in eight-byte words.
const WORDS: usize = 12;

/// Where a stamp's range-checked fields are (each two digits, a BSD day one or two), in the line after its `<PRI>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fields {
    /// No digits in these places make a stamp.
    Never,
    /// `YYYY-MM-DDThh:mm:ss…`: month at 5, day at 8, clock at 11.
    Rfc3339,
    /// `Mmm dd [yyyy ]hh:mm:ss…`.
    Bsd {
        day: usize,
        day_len: usize,
        clock: usize,
    },
}

impl Fields {
    /// The places of the stamp at the start of `s`, whatever its digits' values.
    fn of(s: &[u8]) -> Fields {
        // Every field takes 1 and 11, so the stamp of these places reads with all its digits set to 1 exactly when
        // it reads with some digits.
        let mut ones = [0u8; 40];
        for (o, &c) in ones.iter_mut().zip(s) {
            *o = if c.is_ascii_digit() { b'1' } else { c };
        }
        let ones = ones.get(..s.len().min(40)).unwrap_or_default();
        if stamp::read_rfc3339(ones).is_some() {
            return Fields::Rfc3339;
        }
        if stamp::read_bsd(ones).is_none() {
            return Fields::Never;
        }
        // As `read_bsd` reads them: the day after one or two spaces, one or two digits, then an optional year.
        let day = 4 + usize::from(s.get(4) == Some(&b' '));
        let day_len = 1 + usize::from(s.get(day + 1).is_some_and(u8::is_ascii_digit));
        let at = day + day_len + 1;
        let year = matches!(s.get(at..at + 5), Some(&[a, b, c, d, b' ']) if [a, b, c, d].iter().all(u8::is_ascii_digit));
        Fields::Bsd {
            day,
            day_len,
            clock: at + if year { 5 } else { 0 },
        }
    }

    /// Whether the stamp at the start of `s`, whose places these are, has its fields in range.
    fn in_range(self, s: &[u8]) -> bool {
        let digit = |i: usize| s.get(i).map_or(100, |&c| u32::from(c.wrapping_sub(b'0')));
        let two = |i: usize| digit(i) * 10 + digit(i + 1);
        let clock = |at: usize| two(at) < 24 && two(at + 3) < 60 && two(at + 6) <= 60;
        match self {
            Fields::Never => false,
            Fields::Rfc3339 => {
                (1..=12).contains(&two(5)) && (1..=31).contains(&two(8)) && clock(11)
            }
            Fields::Bsd {
                day,
                day_len,
                clock: at,
            } => {
                let d = if day_len == 2 { two(day) } else { digit(day) };
                (1..=31).contains(&d) && clock(at)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Remembered {
    hash: u64,
    key: [u64; WORDS],
    len: usize,
    /// The line's `<PRI>` length, and its stamp's places and whether it was in range.
    scope: usize,
    fields: Fields,
    in_range: bool,
    action: Action,
}

/// Recent keys and their actions, for one thread.
#[derive(Debug, Clone)]
pub struct ActionMemo {
    entries: Vec<Option<Remembered>>,
}

impl Default for ActionMemo {
    fn default() -> ActionMemo {
        ActionMemo {
            entries: vec![None; SETS * WAYS],
        }
    }
}

impl ActionMemo {
    /// The action [`super::action_with`] gives `line` with the rules `actions`, which must be the same for every
    /// line a memo reads and hold no digit ([`PrefixActions::digit_free`]: the key reads every digit as `0`).
    pub fn action(&mut self, line: &[u8], actions: &PrefixActions) -> Action {
        let line = line.trim_ascii();
        let Some(key) = Key::of(line) else {
            return action_read(line, actions).0;
        };
        let hash = key.hash;
        // The set of this hash value, most recently filled first.
        let first = (hash >> 58) as usize % SETS * WAYS;
        let set = self
            .entries
            .get_mut(first..first + WAYS)
            .unwrap_or_default();
        for e in set.iter().flatten() {
            if e.hash == hash && e.matches(&key, line) {
                return e.action;
            }
        }
        let (action, entry) = read(line, &key, hash, actions);
        if entry.is_some() && !set.is_empty() {
            set.rotate_right(1);
            if let Some(e) = set.first_mut() {
                *e = entry;
            }
        }
        action
    }
}

impl Remembered {
    /// Whether `line`, whose key is `key`, has this entry's action.
    #[inline]
    fn matches(&self, key: &Key, line: &[u8]) -> bool {
        self.len == key.len
            && self.key == key.words
            && self.scope == key.scope
            && (self.fields == Fields::Never
                || self
                    .fields
                    .in_range(line.get(self.scope..).unwrap_or_default())
                    == self.in_range)
    }
}

/// The action of a line whose key is `key`, and the entry that remembers it, if the line may be remembered.
fn read(
    line: &[u8],
    key: &Key,
    hash: u64,
    actions: &PrefixActions,
) -> (Action, Option<Remembered>) {
    let (action, by_prefix) = action_read(line, actions);
    let s = line.get(key.scope..).unwrap_or_default();
    let stamp_end = stamp::read_any(s).map(|st| st.end);
    let from = stamp_end.unwrap_or(0);
    let remembered = first_interface_word(s, from) == Some(key.word)
        && (stamp_end.is_none() || two_words(s.get(from..key.word).unwrap_or_default()))
        // When the tag decided, the header's own stamp reader must agree with the one read here.
        && (by_prefix || syslog::stamp_reads(s) == stamp_end.is_some());
    let entry = remembered.then(|| Remembered {
        hash,
        key: key.words,
        len: key.len,
        scope: key.scope,
        fields: Fields::of(s),
        in_range: stamp_end.is_some(),
        action,
    });
    (action, entry)
}

/// A line's key: the line up to the end of its first interface word, digits read as `0`, eight bytes a word.
struct Key {
    words: [u64; WORDS],
    /// A hash of the words (its top bits choose the set).
    hash: u64,
    len: usize,
    /// The line after its `<PRI>` starts at `scope`; its interface word at `word` of that.
    scope: usize,
    word: usize,
}

impl Key {
    fn of(line: &[u8]) -> Option<Key> {
        if line.first() == Some(&b'{') {
            return None;
        }
        let (had_pri, s) = syslog::strip_pri(line);
        if had_pri && s.starts_with(b"1 ") {
            return None;
        }
        let scope = line.len() - s.len();
        let word = first_interface_word(s, 0)?;
        // The word itself is in the key: whether it reads as `IN=` or `OUT=` there is part of what decides.
        let len = scope + word + 4;
        if len > WORDS * 8 {
            return None;
        }
        // The line goes on past the key (its packet words follow): eight bytes load whole, and the last word keeps
        // the key's bytes only. The hash is made on the way.
        let n = len.div_ceil(8);
        let last = match len % 8 {
            0 => u64::MAX,
            r => (1u64 << (8 * r)) - 1,
        };
        let mut words = [0u64; WORDS];
        let mut hash = len as u64;
        for i in 0..n {
            let raw = u64::from_le_bytes(*line.get(8 * i..)?.first_chunk::<8>()?);
            let w = zero_digits(if i + 1 == n { raw & last } else { raw });
            if let Some(slot) = words.get_mut(i) {
                *slot = w;
            }
            hash = (hash.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        Some(Key {
            words,
            hash,
            len,
            scope,
            word,
        })
    }
}

/// Eight bytes with every ASCII digit replaced by `0`.
fn zero_digits(x: u64) -> u64 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (_, not_digit) = crate::address::digit_bits(x);
    let digit = (!not_digit & HIGH) >> 7;
    // Clearing the low four bits of a digit leaves `0`.
    x & !(digit * 0x0f)
}

/// The first word `IN=` or `OUT=` at or after `from`, provided no ` SRC=` comes before it: the `=` signs are
/// walked, a few at most.
fn first_interface_word(s: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for _ in 0..8 {
        let eq = at + memchr::memchr(b'=', s.get(at..)?)?;
        let word_at = |len: usize| {
            let start = eq.checked_sub(len)?;
            let starts_word = start == 0 || s.get(start - 1) == Some(&b' ');
            (starts_word && start >= from).then_some(start)
        };
        let key = |len: usize| eq.checked_sub(len).and_then(|k| s.get(k..eq));
        if key(2) == Some(b"IN") {
            if let Some(w) = word_at(2) {
                return Some(w);
            }
        }
        if key(3) == Some(b"OUT") {
            if let Some(w) = word_at(3) {
                return Some(w);
            }
        }
        if key(4) == Some(b" SRC") {
            return None;
        }
        at = eq + 1;
    }
    None
}

/// True when `s` (what follows the stamp, up to the interface word) holds two whole words after an optional `:`
/// and spaces: the header's reader then stops before the interface word.
fn two_words(s: &[u8]) -> bool {
    let s = syslog::skip_spaces(s.strip_prefix(b":").unwrap_or(s));
    let Some(first) = memchr::memchr(b' ', s) else {
        return false;
    };
    let rest = syslog::skip_spaces(s.get(first..).unwrap_or_default());
    !rest.is_empty() && memchr::memchr(b' ', rest).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines that share headers and prefixes, with stamps valid and not, tags that decide and not.
    fn line() -> impl Strategy<Value = String> {
        let pri = prop::sample::select(vec!["", "", "<4>", "<4>1 "]);
        let stamp = prop::sample::select(vec![
            "Nov 28 00:00:02 ",
            "Nov 28 00:00:03 ",
            "Feb 29 00:00:02 ",
            "Feb 30 00:00:02 ",
            "Nov 28 25:00:02 ",
            "Nov 28 23:59:60 ",
            "Nov 00 00:00:02 ",
            "Nov  5 00:00:02 ",
            "Nov 5 00:00:02 ",
            "Nov 32 00:00:02 ",
            "Nov 28 2026 00:00:02 ",
            "Nov 28 00:60:02 ",
            "Nov 28 00:00:02.123 ",
            "2026-13-01T00:00:01Z ",
            "2026-00-01T00:00:01Z ",
            "2026-11-28T23:59:61Z ",
            "2026-11-28T24:00:00+01:00 ",
            "2026-11-28T00:00:01.266245+00:00 ",
            "2026-02-30T00:00:01Z ",
            "2026-11-28T00:00:01Z:",
            "",
        ]);
        let header = prop::sample::select(vec![
            "fw1 kernel: ",
            "fw2 kernel: ",
            "drop-fw kernel: ",
            "fw1 ufw-deny: ",
            "fw1 ufw-deny[12]: ",
            "kernel: ",
            ": ",
            "fw1 IN=x ",
            "",
        ]);
        let prefix = prop::sample::select(vec![
            "",
            "[12345.678901] ",
            "[UFW BLOCK] ",
            "[0.000002] [UFW ALLOW] ",
            "FINAL_REJECT: ",
            "INPUT-DROP: ",
            "a b ",
            "IN= ",
        ]);
        let iface = prop::sample::select(vec![
            "IN=eth0 OUT= ",
            "IN= OUT=eth1 ",
            "OUT=eth1 ",
            "PHYSIN=x IN=y ",
            "",
        ]);
        (pri, stamp, header, prefix, iface).prop_map(|(p, s, h, x, i)| {
            format!("{p}{s}{h}{x}{i}SRC=1.2.3.4 DST=5.6.7.8 LEN=60 PROTO=TCP SPT=1 DPT=22")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn remembers_exactly_what_action_reads(lines in prop::collection::vec(line(), 1..40)) {
            let mut memo = ActionMemo::default();
            for _ in 0..2 {
                for l in &lines {
                    prop_assert_eq!(memo.action(l.as_bytes(), &PrefixActions::default()), action(l.as_bytes()), "{}", l);
                }
            }
        }
    }

    thread_local! {
        static IN_RANGE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn the_stamp_property_sees_stamps_in_range() {
        stamp_fields_are_in_range_exactly_when_the_stamp_reads();
        let n = IN_RANGE.with(std::cell::Cell::get);
        assert!(n > 500, "{n} of 5000 stamps in range");
    }

    #[test]
    fn a_stamp_out_of_range_is_not_taken_for_one_in_range() {
        // Out of range, the stamp is no stamp: the prefix then starts at the line, and the host's DROP outranks
        // the prefix's ALLOW.
        let valid = "Nov 28 00:00:02 drop-fw kernel: [UFW ALLOW] IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP";
        let invalid = "Nov 28 25:00:02 drop-fw kernel: [UFW ALLOW] IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP";
        assert_eq!(action(valid.as_bytes()), Action::Allow);
        assert_eq!(action(invalid.as_bytes()), Action::Drop);
        let mut memo = ActionMemo::default();
        for l in [valid, invalid, valid, invalid] {
            assert_eq!(
                memo.action(l.as_bytes(), &PrefixActions::default()),
                action(l.as_bytes()),
                "{l}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        /// The places of a stamp's fields, and their range, as the stamp readers see them.
        #[test]
        fn stamp_fields_are_in_range_exactly_when_the_stamp_reads(
            shape in prop::sample::select(vec![
                "Nov 99 99:99:99 x", "Nov  9 99:99:99 x", "Nov 9 99:99:99 x", "Nov 99 9999 99:99:99 x",
                "Nov 99 99:99:99.999 x", "9999-99-99T99:99:99Z x", "9999-99-99T99:99:99.9+99:99 x",
                "9999-99-99 99:99:99 x", "Nov 99 99:99 x", "99 x", "x",
            ]),
            // Small digits mostly, so that fields are in range as often as not.
            digits in prop::collection::vec(prop_oneof![3 => 0u8..3, 1 => 0u8..10], 30),
        ) {
            let mut d = digits.iter().cycle();
            let line: Vec<u8> = shape
                .bytes()
                .map(|c| if c == b'9' { b'0' + d.next().copied().unwrap_or(0) } else { c })
                .collect();
            let fields = Fields::of(&line);
            let reads = stamp::read_any(&line).is_some();
            IN_RANGE.with(|n| n.set(n.get() + usize::from(reads)));
            match fields {
                Fields::Never => prop_assert!(!reads),
                f => prop_assert_eq!(f.in_range(&line), reads, "{}", String::from_utf8_lossy(&line)),
            }
        }
    }

    #[test]
    fn digits_are_host_and_tag_bytes_alike() {
        // The key reads every digit as `0`: the header's reader must treat all ten alike.
        let tags: Vec<_> = (b'0'..=b'9')
            .map(|d| {
                syslog::split(
                    &[b"Nov 28 00:00:02 h kernel", &[d][..], b": x"].concat(),
                    &mut syslog::Stamps::default(),
                )
                .0
                .app
                .map(<[u8]>::len)
            })
            .collect();
        assert!(tags.windows(2).all(|w| w[0] == w[1]), "{tags:?}");
        let hosts: Vec<_> = (b'0'..=b'9')
            .map(|d| {
                syslog::split(
                    &[b"Nov 28 00:00:02 h", &[d][..], b" kernel: x"].concat(),
                    &mut syslog::Stamps::default(),
                )
                .0
                .host
                .map(str::len)
            })
            .collect();
        assert!(hosts.windows(2).all(|w| w[0] == w[1]), "{hosts:?}");
    }
}
