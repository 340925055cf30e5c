//! `key=value` pairs as FortiGate and similar devices print them: separated by spaces or by commas, values bare or
//! double-quoted. Iterated in place over borrowed bytes; no IO, no allocation, never panics.

use memchr::{memchr, memchr2};

/// Iterator over `(key, value)` pairs; quotes around a value are stripped. Tokens without `=` are skipped.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: &'a [u8],
    /// Separator between pairs: `b' '` or `b','`, fixed by the first bare value.
    sep: u8,
}

impl<'a> Pairs<'a> {
    pub fn new(text: &'a [u8]) -> Pairs<'a> {
        Pairs {
            rest: text,
            sep: separator(text),
        }
    }
}

/// Comma when the first bare value ends at a comma (`date=2016-02-12,time=…`), else space.
fn separator(text: &[u8]) -> u8 {
    let Some(eq) = memchr(b'=', text) else {
        return b' ';
    };
    let value = text.get(eq + 1..).unwrap_or_default();
    let value = match value.first() {
        Some(b'"') => {
            let body = value.get(1..).unwrap_or_default();
            let end = memchr(b'"', body).map_or(body.len(), |i| i + 1);
            body.get(end..).unwrap_or_default()
        }
        _ => value,
    };
    match memchr2(b' ', b',', value).and_then(|i| value.get(i)) {
        Some(b',') => b',',
        _ => b' ',
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        loop {
            let start = self.rest.iter().position(|&c| !is_gap(c, self.sep))?;
            let text = self.rest.get(start..)?;
            let token_end = text.iter().position(|&c| c == b'=' || is_gap(c, self.sep));
            let Some(eq) = token_end.filter(|&i| text.get(i) == Some(&b'=')) else {
                // A token without `=`: skip it.
                self.rest = text.get(token_end.unwrap_or(text.len())..)?;
                continue;
            };
            let key = text.get(..eq)?;
            let after = text.get(eq + 1..).unwrap_or_default();
            let (value, consumed) = if after.first() == Some(&b'"') {
                let body = after.get(1..).unwrap_or_default();
                let end = quoted_end(body);
                (body.get(..end).unwrap_or(body), end + 2)
            } else {
                let end = after
                    .iter()
                    .position(|&c| is_gap(c, self.sep))
                    .unwrap_or(after.len());
                (after.get(..end).unwrap_or(after), end)
            };
            self.rest = after.get(consumed..).unwrap_or_default();
            return Some((key, value));
        }
    }
}

fn is_gap(c: u8, sep: u8) -> bool {
    c == sep || c == b' ' || c == b'\t'
}

/// End of a double-quoted value (a backslash escapes the next byte), or the body length if unterminated.
fn quoted_end(body: &[u8]) -> usize {
    let mut at = 0;
    while let Some(i) = body.get(at..).and_then(|b| memchr2(b'"', b'\\', b)) {
        let q = at + i;
        if body.get(q) == Some(&b'\\') {
            at = q + 2;
        } else {
            return q;
        }
    }
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &[u8]) -> Vec<(&[u8], &[u8])> {
        Pairs::new(s).collect()
    }

    #[test]
    fn space_separated_with_quotes() {
        let got = all(br#"date=2021-06-21 time=09:38:29 devname="a b" x proto=6 msg="say \"hi\"""#);
        assert_eq!(
            got,
            [
                (&b"date"[..], &b"2021-06-21"[..]),
                (b"time", b"09:38:29"),
                (b"devname", b"a b"),
                (b"proto", b"6"),
                (b"msg", br#"say \"hi\""#),
            ]
        );
    }

    #[test]
    fn comma_separated() {
        let got = all(br#"date=2016-02-12,time=14:10:42,vd="vdom1",srcip=1.1.1.1"#);
        assert_eq!(got.len(), 4);
        assert_eq!(got[2], (&b"vd"[..], &b"vdom1"[..]));
        assert_eq!(got[3], (&b"srcip"[..], &b"1.1.1.1"[..]));
    }

    #[test]
    fn empty_and_unterminated_values() {
        assert_eq!(all(b"a= b=\"x"), [(&b"a"[..], &b""[..]), (b"b", b"x")]);
    }
}
