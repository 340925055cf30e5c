//! Log prefix → action: an ordered list of case-insensitive substrings (`BLOCK` → drop, `ACCEPT` → allow, …) read
//! from the text a netfilter rule put in front of the packet fields. Pure; built once, looked up without allocating.

use crate::event::Action;

/// Ordered (substring, action) rules; the first rule, in list order, found anywhere in the prefix wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixActions {
    rules: Vec<(Box<[u8]>, Action)>,
    /// Upper-cased first bytes of the rules, to skip positions cheaply.
    first: [bool; 256],
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
        let mut first = [false; 256];
        let rules: Vec<(Box<[u8]>, Action)> = rules
            .into_iter()
            .filter_map(|(needle, action)| {
                let needle = needle.as_ref().as_bytes().to_ascii_uppercase();
                let head = *needle.first()?;
                first[usize::from(head)] = true;
                Some((needle.into_boxed_slice(), action))
            })
            .collect();
        PrefixActions {
            rules,
            first,
            fallback,
        }
    }

    /// The action when nothing in the prefix matches.
    pub fn fallback(&self) -> Action {
        self.fallback
    }

    /// The action of the highest-priority rule found in `text`.
    pub fn lookup(&self, text: &[u8]) -> Option<Action> {
        let mut best: Option<usize> = None;
        for (i, &c) in text.iter().enumerate() {
            if !self.first[usize::from(c.to_ascii_uppercase())] {
                continue;
            }
            let rest = text.get(i..).unwrap_or_default();
            let limit = best.unwrap_or(self.rules.len());
            let hit = self.rules.iter().take(limit).position(|(needle, _)| {
                rest.get(..needle.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(needle))
            });
            if let Some(k) = hit {
                if k == 0 {
                    return self.rules.first().map(|r| r.1);
                }
                best = Some(k);
            }
        }
        best.and_then(|k| self.rules.get(k)).map(|r| r.1)
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
