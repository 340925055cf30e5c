//! Log prefix → action: an ordered list of case-insensitive substrings (`BLOCK` → drop, `ACCEPT` → allow, …) read
//! from the text a netfilter rule put in front of the packet fields. Pure; built once, looked up without allocating.

use crate::event::Action;

/// Ordered (substring, action) rules; the first rule, in list order, found anywhere in the prefix wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixActions {
    rules: Vec<(Box<[u8]>, Action)>,
    /// For each byte, a bit per rule (the first 64) that starts with it, in either case.
    first: [u64; 256],
    /// For each byte, a bit per rule (the first 64) whose second byte it is (one-byte rules: every byte).
    second: [u64; 256],
    /// Action when no rule matches (a LOG rule on a drop path is the common case).
    fallback: Action,
}

/// The built-in rules, in priority order. UniFi names rules `<chain>-<A|D|R>-<index>`, and its `DESCR` may say
/// "Block" on an accept rule, so its letters come first.
pub const DEFAULT_RULES: [(&str, Action); 15] = [
    ("-A-", Action::Allow),
    ("-D-", Action::Drop),
    ("-R-", Action::Reject),
    ("REJECT", Action::Reject),
    ("DROP", Action::Drop),
    ("DENY", Action::Drop),
    ("BLOCK", Action::Drop),
    ("DRP", Action::Drop),
    ("REJ", Action::Reject),
    ("ACCEPT", Action::Allow),
    ("ALLOW", Action::Allow),
    ("AUDIT", Action::Allow),
    ("PERMIT", Action::Allow),
    ("PASS", Action::Allow),
    ("ACPT", Action::Allow),
];

impl PrefixActions {
    /// Rules in priority order; empty substrings are ignored.
    pub fn new<S: AsRef<str>>(
        rules: impl IntoIterator<Item = (S, Action)>,
        fallback: Action,
    ) -> Self {
        let rules: Vec<(Box<[u8]>, Action)> = rules
            .into_iter()
            .filter(|(needle, _)| !needle.as_ref().is_empty())
            .map(|(needle, action)| {
                let needle = needle.as_ref().as_bytes().to_ascii_uppercase();
                (needle.into_boxed_slice(), action)
            })
            .collect();
        let mut first = [0u64; 256];
        let mut second = [0u64; 256];
        for (i, (needle, _)) in rules.iter().enumerate().take(64) {
            let bit = 1u64 << i;
            for (table, at) in [(&mut first, 0), (&mut second, 1)] {
                match needle.get(at) {
                    Some(&c) => {
                        table[usize::from(c)] |= bit;
                        table[usize::from(c.to_ascii_lowercase())] |= bit;
                    }
                    None => table.iter_mut().for_each(|t| *t |= bit),
                }
            }
        }
        PrefixActions {
            rules,
            first,
            second,
            fallback,
        }
    }

    /// The built-in rules after the configured ones (`None` when none are configured: the built-in rules alone).
    pub fn configured(rules: &[(String, Action)]) -> Option<PrefixActions> {
        (!rules.is_empty()).then(|| {
            let all = rules
                .iter()
                .map(|(p, a)| (p.as_str(), *a))
                .chain(DEFAULT_RULES);
            PrefixActions::new(all, PrefixActions::default().fallback())
        })
    }

    /// Whether no rule holds a digit (the action memo reads every digit of a line's header as `0`).
    pub fn digit_free(&self) -> bool {
        !self
            .rules
            .iter()
            .any(|(needle, _)| needle.iter().any(u8::is_ascii_digit))
    }

    /// The action when nothing in the prefix matches.
    pub fn fallback(&self) -> Action {
        self.fallback
    }

    /// The action of the highest-priority rule found in `text`.
    pub fn lookup(&self, text: &[u8]) -> Option<Action> {
        let mut best: Option<u32> = None;
        let mut higher = u64::MAX; // rules of higher priority than the best so far
        for (i, &c) in text.iter().enumerate() {
            // Most bytes start no rule: one table read and on.
            let starting = self.first[usize::from(c)] & higher;
            if starting == 0 {
                continue;
            }
            let next = text
                .get(i + 1)
                .map_or(u64::MAX, |&n| self.second[usize::from(n)]);
            let mut candidates = starting & next;
            if candidates == 0 {
                continue;
            }
            let rest = text.get(i..).unwrap_or_default();
            while candidates != 0 {
                let k = candidates.trailing_zeros();
                candidates &= candidates - 1;
                if self.matches(k as usize, rest) {
                    best = Some(k);
                    higher = (1u64 << k) - 1;
                    break;
                }
            }
            if higher == 0 {
                break;
            }
        }
        if let Some(k) = best {
            return self.rules.get(k as usize).map(|r| r.1);
        }
        let tail = self.rules.get(64..).unwrap_or_default();
        tail.iter()
            .find(|(needle, _)| {
                text.windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle))
            })
            .map(|r| r.1)
    }

    fn matches(&self, rule: usize, text: &[u8]) -> bool {
        self.rules.get(rule).is_some_and(|(needle, _)| {
            text.get(..needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        })
    }
}

impl Default for PrefixActions {
    fn default() -> Self {
        PrefixActions::new(DEFAULT_RULES, Action::Drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_map_common_prefixes() {
        let a = PrefixActions::default();
        let cases: [(&str, Option<Action>); 10] = [
            ("[UFW BLOCK]", Some(Action::Drop)),
            ("[UFW ALLOW]", Some(Action::Allow)),
            ("[UFW AUDIT]", Some(Action::Allow)),
            ("FINAL_REJECT:", Some(Action::Reject)),
            ("filter_IN_public_REJECT:", Some(Action::Reject)),
            ("PVEFW-reject:", Some(Action::Reject)),
            ("policy DROP:", Some(Action::Drop)),
            (
                r#"[WAN_LOCAL-A-2147483647] DESCR="[WAN_LOCAL]Block All Traffic""#,
                Some(Action::Allow),
            ),
            ("nft-accept ", Some(Action::Allow)),
            ("[  203.842973] ", None),
        ];
        for (text, want) in cases {
            assert_eq!(a.lookup(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn rules_beyond_sixty_four_still_match() {
        let mut rules: Vec<(String, Action)> = (0..70)
            .map(|i| (format!("zz{i}zz"), Action::Allow))
            .collect();
        rules.push(("late".to_owned(), Action::Reject));
        let a = PrefixActions::new(rules, Action::Drop);
        assert_eq!(a.lookup(b"a LATE rule"), Some(Action::Reject));
        assert_eq!(a.lookup(b"zz3zz and late"), Some(Action::Allow));
        assert_eq!(a.lookup(b"zz66zz"), Some(Action::Allow));
    }

    #[test]
    fn one_byte_rules_and_last_byte() {
        let a = PrefixActions::new([("x", Action::Reject), ("ok", Action::Allow)], Action::Drop);
        assert_eq!(a.lookup(b"abc X"), Some(Action::Reject));
        assert_eq!(a.lookup(b"x"), Some(Action::Reject));
        assert_eq!(a.lookup(b"is OK"), Some(Action::Allow));
        assert_eq!(a.lookup(b"o"), None);
    }

    #[test]
    fn list_order_beats_position() {
        let a = PrefixActions::new(
            [("allow", Action::Allow), ("drop", Action::Drop)],
            Action::Reject,
        );
        assert_eq!(a.lookup(b"drop then allow"), Some(Action::Allow));
        assert_eq!(a.lookup(b"nothing"), None);
        assert_eq!(a.fallback(), Action::Reject);
    }
}
