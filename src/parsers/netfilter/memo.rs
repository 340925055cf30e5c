//! The action of a LOG line, remembered across lines that share their header and log prefix. [`super::action`]
//! reads the syslog header (stamp, host, tag) and the prefix in front of the packet fields on every line, though a
//! log repeats the same few of them; this keeps the last few and reads only the stamp of each line.
//!
//! What the action of a line depends on, and so what the key holds: after the stamp, the header's words (at most two
//! are read) and the prefix up to the first `IN=` or `OUT=` word; when the prefix names no action, the tag, which is
//! one of those words and counts only when the header's own stamp reader accepts the stamp too. The key is the
//! line from the end of its stamp to that word, with every digit read as `0` (no rule holds a digit, and a digit is
//! a host and a tag byte like any other). A line whose header reaches the packet words is not remembered. Pure.

#[cfg(test)]
use super::action;
use super::action_read;
use crate::event::Action;
use crate::parsers::syslog::{self, stamp};

/// Entries kept, one per hash value of a key; a log's lines come from a few rules on a few hosts.
const ENTRIES: usize = 64;
/// Longest key remembered.
const KEY: usize = 96;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: [u8; KEY],
    len: usize,
    /// The line has a stamp (else the header is empty and the key starts at the line).
    stamped: bool,
    /// `Some(ok)` when the action came from the tag: whether the header's stamp reader took the stamp.
    tag_stamp: Option<bool>,
    action: Action,
}

/// Recent keys and their actions, one per hash value, for one thread.
#[derive(Debug, Clone)]
pub struct ActionMemo {
    entries: Vec<Option<Entry>>,
}

impl Default for ActionMemo {
    fn default() -> ActionMemo {
        ActionMemo {
            entries: vec![None; ENTRIES],
        }
    }
}

impl ActionMemo {
    /// The action [`super::action`] gives `line`.
    pub fn action(&mut self, line: &[u8]) -> Action {
        let line = line.trim_ascii();
        let Some(found) = Key::of(line) else {
            return action_read(line).0;
        };
        let slot = found.slot();
        let mut tag_stamp = None;
        if let Some(e) = self.entries.get(slot).copied().flatten() {
            if e.len == found.len && e.stamped == found.stamped && e.key.get(..e.len) == found.key()
            {
                match e.tag_stamp {
                    None => return e.action,
                    Some(ok) => {
                        let now = found.tag_stamp(line);
                        tag_stamp = Some(now);
                        if ok == now {
                            return e.action;
                        }
                    }
                }
            }
        }
        let (a, by_prefix) = action_read(line);
        let entry = Entry {
            key: found.key,
            len: found.len,
            stamped: found.stamped,
            tag_stamp: (!by_prefix).then(|| tag_stamp.unwrap_or_else(|| found.tag_stamp(line))),
            action: a,
        };
        if let Some(e) = self.entries.get_mut(slot) {
            *e = Some(entry);
        }
        a
    }
}

/// A line's key, and where its parts are in the line.
struct Key {
    key: [u8; KEY],
    len: usize,
    stamped: bool,
    /// The line after its `<PRI>` starts at `scope` of the line.
    scope: usize,
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
        let stamp_end = stamp::read_any(s).map(|st| st.end);
        let from = stamp_end.unwrap_or(0);
        let word = first_interface_word(s, from)?;
        if stamp_end.is_some() && !two_words(s.get(from..word)?) {
            return None;
        }
        // The word itself is in the key: whether it reads as `IN=` or `OUT=` there is part of what decides.
        let text = s.get(from..word + 4)?;
        let mut key = [0u8; KEY];
        for (k, &c) in key.iter_mut().zip(text) {
            *k = if c.is_ascii_digit() { b'0' } else { c };
        }
        (text.len() <= KEY).then_some(Key {
            key,
            len: text.len(),
            stamped: stamp_end.is_some(),
            scope: line.len() - s.len(),
        })
    }

    fn key(&self) -> Option<&[u8]> {
        self.key.get(..self.len)
    }

    /// The entry for this key: a hash of its bytes, eight at a time.
    fn slot(&self) -> usize {
        let mut h = self.len as u64 ^ u64::from(self.stamped);
        for chunk in self.key.chunks_exact(8).take(self.len.div_ceil(8)) {
            let w = chunk
                .first_chunk::<8>()
                .map_or(0, |c| u64::from_le_bytes(*c));
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        (h >> 58) as usize % ENTRIES
    }

    /// Whether the header's own stamp reader (which also turns the stamp into seconds) takes this line's stamp.
    fn tag_stamp(&self, line: &[u8]) -> bool {
        self.stamped && syslog::stamp_time(line.get(self.scope..).unwrap_or_default()).is_some()
    }
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
                    prop_assert_eq!(memo.action(l.as_bytes()), action(l.as_bytes()), "{}", l);
                }
            }
        }
    }

    #[test]
    fn digits_are_host_and_tag_bytes_alike() {
        // The key reads every digit as `0`: the header's reader must treat all ten alike.
        let tags: Vec<_> = (b'0'..=b'9')
            .map(|d| {
                syslog::split(&[b"Nov 28 00:00:02 h kernel", &[d][..], b": x"].concat())
                    .0
                    .app
                    .map(<[u8]>::len)
            })
            .collect();
        assert!(tags.windows(2).all(|w| w[0] == w[1]), "{tags:?}");
        let hosts: Vec<_> = (b'0'..=b'9')
            .map(|d| {
                syslog::split(&[b"Nov 28 00:00:02 h", &[d][..], b" kernel: x"].concat())
                    .0
                    .host
                    .map(str::len)
            })
            .collect();
        assert!(hosts.windows(2).all(|w| w[0] == w[1]), "{hosts:?}");
    }
}
