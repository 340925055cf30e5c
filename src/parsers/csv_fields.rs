//! Comma-separated fields of one log record (PAN-OS, FortiGate CSV), iterated in place: double-quoted fields may
//! hold commas and doubled quotes. Yields borrowed slices; no IO, no allocation, never panics.

use memchr::memchr;

/// Iterator over the fields of one CSV record. A quoted field is yielded without its outer quotes (doubled
/// quotes inside are left as they are).
#[derive(Debug, Clone)]
pub struct CsvFields<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> CsvFields<'a> {
    pub fn new(record: &'a [u8]) -> CsvFields<'a> {
        CsvFields { rest: Some(record) }
    }
}

impl<'a> Iterator for CsvFields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        if rest.first() == Some(&b'"') {
            let body = rest.get(1..).unwrap_or_default();
            let end = closing_quote(body);
            let field = body.get(..end).unwrap_or(body);
            let after = body.get(end + 1..).unwrap_or_default();
            self.rest = match memchr(b',', after) {
                Some(i) => after.get(i + 1..),
                None => None,
            };
            return Some(field);
        }
        match memchr(b',', rest) {
            Some(i) => {
                self.rest = rest.get(i + 1..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Index of the quote closing a quoted field (`""` is an escaped quote), or the body length if unterminated.
fn closing_quote(body: &[u8]) -> usize {
    let mut at = 0;
    while let Some(i) = body.get(at..).and_then(|b| memchr(b'"', b)) {
        let q = at + i;
        if body.get(q + 1) == Some(&b'"') {
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

    fn all(s: &[u8]) -> Vec<&[u8]> {
        CsvFields::new(s).collect()
    }

    #[test]
    fn plain_quoted_and_empty_fields() {
        assert_eq!(all(b"a,,b"), [&b"a"[..], b"", b"b"]);
        assert_eq!(all(b"1,\"x, y\",z"), [&b"1"[..], b"x, y", b"z"]);
        assert_eq!(all(b"\"say \"\"hi\"\"\",2"), [&b"say \"\"hi\"\""[..], b"2"]);
        assert_eq!(all(b"a,"), [&b"a"[..], b""]);
        assert_eq!(all(b"\"open"), [&b"open"[..]]);
    }
}
