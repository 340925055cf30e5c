//! The CEF extension: `key=value` pairs separated by white space, where values may themselves hold spaces and escaped
//! `\=` / `\\`, so a value runs until the next ` key=`. Iterated in place; no IO, no allocation, never panics.

use memchr::memchr;

/// Longest key looked for when deciding whether `word=` starts a new pair.
const MAX_KEY: usize = 64;

/// Iterator over the `(key, value)` pairs of a CEF extension; values are trimmed, escapes left as they are.
#[derive(Debug, Clone)]
pub struct Extension<'a> {
    rest: &'a [u8],
}

impl<'a> Extension<'a> {
    pub fn new(text: &'a [u8]) -> Extension<'a> {
        Extension { rest: text }
    }
}

impl<'a> Iterator for Extension<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        loop {
            let text = self.rest;
            let eq = unescaped_eq(text, 0)?;
            let head = text.get(..eq)?;
            let key_start = head
                .iter()
                .rposition(u8::is_ascii_whitespace)
                .map_or(0, |i| i + 1);
            let key = head.get(key_start..)?;
            let value_start = eq + 1;
            let (value_end, next_key) = next_pair_start(text, value_start);
            self.rest = text.get(next_key..).unwrap_or_default();
            if is_key(key) {
                let value = text.get(value_start..value_end).unwrap_or_default();
                return Some((key, value.trim_ascii()));
            }
        }
    }
}

/// Where the value starting at `from` ends and the next pair's key starts (both `text.len()` at the end).
fn next_pair_start(text: &[u8], from: usize) -> (usize, usize) {
    let mut at = from;
    while let Some(eq) = unescaped_eq(text, at) {
        let window_start = eq.saturating_sub(MAX_KEY).max(from);
        let window = text.get(window_start..eq).unwrap_or_default();
        if let Some(space) = window.iter().rposition(u8::is_ascii_whitespace) {
            let key_start = window_start + space + 1;
            if text.get(key_start..eq).is_some_and(is_key) {
                return (window_start + space, key_start);
            }
        }
        at = eq + 1;
    }
    (text.len(), text.len())
}

/// Position of the first `=` at or after `from` that is not escaped by a backslash.
fn unescaped_eq(text: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let eq = at + memchr(b'=', text.get(at..)?)?;
        let slashes = text
            .get(..eq)?
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        if slashes % 2 == 0 {
            return Some(eq);
        }
        at = eq + 1;
    }
}

fn is_key(key: &[u8]) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &[u8]) -> Vec<(&[u8], &[u8])> {
        Extension::new(s).collect()
    }

    #[test]
    fn values_with_spaces_and_escapes() {
        let got = all(br"src=192.0.2.1 msg=a b \= c spt=5 cs1=x\\ dvchost=fw 1");
        assert_eq!(
            got,
            [
                (&b"src"[..], &b"192.0.2.1"[..]),
                (b"msg", br"a b \= c"),
                (b"spt", b"5"),
                (b"cs1", br"x\\"),
                (b"dvchost", b"fw 1"),
            ]
        );
    }

    #[test]
    fn empty_values_and_odd_text() {
        assert_eq!(all(b"a= b=1"), [(&b"a"[..], &b""[..]), (b"b", b"1")]);
        assert_eq!(
            all(b"url=http://x/?q=1 dst=1.2.3.4").last(),
            Some(&(&b"dst"[..], &b"1.2.3.4"[..]))
        );
        assert!(all(b"no pairs here").is_empty());
        assert_eq!(
            all(b"proto=6 \nsrc=192.0.2.1\tspt=1"),
            [
                (&b"proto"[..], &b"6"[..]),
                (b"src", b"192.0.2.1"),
                (b"spt", b"1")
            ]
        );
        assert_eq!(all(b"=x k=v"), [(&b"k"[..], &b"v"[..])]);
    }
}
