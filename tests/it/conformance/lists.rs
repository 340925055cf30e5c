//! The two reviewed lists: `disagreements.txt` (known differences from a peer, each with its reason) and
//! `unparsed.txt` (raw sample lines torwatch does not turn into events, each with its reason). An entry that no
//! longer matches anything is stale and reported, so the lists stay true.

use std::collections::BTreeMap;
use std::path::Path;

/// Why a disagreement is accepted: the peer is wrong, torwatch chose otherwise on purpose, or the case is not a
/// traffic record torwatch reads (such cases leave the agreement ratio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Peer,
    Choice,
    Scope,
}

pub struct Disagreements {
    /// `case field expected=… got=…` → (kind, reason, seen in this run).
    entries: BTreeMap<String, (Kind, String, bool)>,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Non-blank, non-comment lines with their 1-based numbers.
fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let lines = text.lines().enumerate().map(|(n, l)| (n + 1, l.trim()));
    lines.filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

impl Disagreements {
    /// Reads `case field expected=X got=Y kind: reason` lines; kind is `peer`, `choice` or `scope`.
    pub fn load(path: &Path) -> Disagreements {
        let text = read(path);
        let mut out = BTreeMap::new();
        for (n, line) in entries(&text) {
            let words: Vec<&str> = line.splitn(5, ' ').collect();
            let [case, field, want, got, reason] = words.as_slice() else {
                invalid(path, n, line, "expected 5 parts")
            };
            if !want.starts_with("expected=") || !got.starts_with("got=") {
                invalid(path, n, line, "expected `expected=… got=…`");
            }
            let (kind, why) = match reason.split_once(':') {
                Some(("peer", why)) => (Kind::Peer, why),
                Some(("choice", why)) => (Kind::Choice, why),
                Some(("scope", why)) => (Kind::Scope, why),
                _ => invalid(
                    path,
                    n,
                    line,
                    "the reason must start with peer:, choice: or scope:",
                ),
            };
            if why.trim().len() < 10 {
                invalid(path, n, line, "say why");
            }
            let key = format!("{case} {field} {want} {got}");
            if out
                .insert(key, (kind, why.trim().to_owned(), false))
                .is_some()
            {
                invalid(path, n, line, "listed twice");
            }
        }
        Disagreements { entries: out }
    }

    /// The kind of a listed finding (`case field expected=… got=…`), marking it seen; `None` if unlisted.
    pub fn take(&mut self, finding: &str) -> Option<Kind> {
        let entry = self.entries.get_mut(finding)?;
        entry.2 = true;
        Some(entry.0)
    }

    /// Listed findings this run did not produce.
    pub fn stale(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.2)
            .map(|(k, e)| format!("{k} ({})", e.1))
            .collect()
    }
}

/// Which lines of a file an `unparsed.txt` entry covers.
enum Selector {
    All,
    Lines(Vec<(usize, usize)>),
    Contains(String),
}

struct Allowed {
    file: String,
    selector: Selector,
    /// The `ParseError::reason()` the lines must fail with, or `*`.
    reason: String,
    why: String,
    matched: usize,
}

pub struct Unparsed {
    entries: Vec<Allowed>,
}

impl Unparsed {
    /// Reads `folder/file selector reason why…`; selector is `*`, `#3,5-7` or `contains:TOKEN`.
    pub fn load(path: &Path) -> Unparsed {
        let text = read(path);
        let mut allowed = Vec::new();
        for (n, line) in entries(&text) {
            let words: Vec<&str> = line.splitn(4, ' ').collect();
            let [file, sel, reason, why] = words.as_slice() else {
                invalid(path, n, line, "expected 4 parts")
            };
            let selector = if *sel == "*" {
                Selector::All
            } else if let Some(token) = sel.strip_prefix("contains:") {
                Selector::Contains(token.to_owned())
            } else if let Some(list) = sel.strip_prefix('#') {
                Selector::Lines(
                    list.split(',')
                        .map(|r| {
                            range(r).unwrap_or_else(|| invalid(path, n, line, "bad line list"))
                        })
                        .collect(),
                )
            } else {
                invalid(path, n, line, "bad selector")
            };
            if why.trim().len() < 10 {
                invalid(path, n, line, "say why");
            }
            let (file, reason, why) = (
                (*file).to_owned(),
                (*reason).to_owned(),
                (*why).trim().to_owned(),
            );
            allowed.push(Allowed {
                file,
                selector,
                reason,
                why,
                matched: 0,
            });
        }
        Unparsed { entries: allowed }
    }

    /// Whether a failing line is allowed (marking the entry used): `file` is `folder/name`, `n` 1-based.
    pub fn allows(&mut self, file: &str, n: usize, line: &[u8], reason: &str) -> bool {
        let hit = self.entries.iter_mut().find(|e| {
            e.file == file
                && (e.reason == "*" || e.reason == reason)
                && match &e.selector {
                    Selector::All => true,
                    Selector::Lines(ranges) => ranges.iter().any(|&(a, b)| (a..=b).contains(&n)),
                    Selector::Contains(token) => {
                        memchr::memmem::find(line, token.as_bytes()).is_some()
                    }
                }
        });
        hit.map(|e| e.matched += 1).is_some()
    }

    /// Entries that covered no failing line, or fewer lines than they number.
    pub fn stale(&self) -> Vec<String> {
        let stale = self.entries.iter().filter(|e| match &e.selector {
            Selector::Lines(ranges) => e.matched < ranges.iter().map(|(a, b)| b + 1 - a).sum(),
            _ => e.matched == 0,
        });
        stale
            .map(|e| {
                format!(
                    "{} {} ({}): matched {} line(s)",
                    e.file, e.reason, e.why, e.matched
                )
            })
            .collect()
    }
}

fn invalid(path: &Path, n: usize, line: &str, why: &str) -> ! {
    panic!("{}:{n}: {why}: {line:?}", path.display())
}

/// `3` or `3-7`.
fn range(s: &str) -> Option<(usize, usize)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((a, b))
}
