//! LEEF 1.0 and 2.0 records (`LEEF:2.0|Vendor|Product|Version|EventID|<delim>|key=val<delim>…`): the header,
//! the delimiter (tab by default, a character or `xHH` / `0xHH` in 2.0, the `#011` that syslog relays print
//! for a tab, and the `|` of Palo Alto's LEEF), and the pairs. No IO, no allocation, never panics.

use memchr::memmem;

use super::keys::{action_of_name, Found};
use super::{split_header, ParseError};
use crate::event::Event;

/// Parses the record after the `LEEF:` marker (or a bare `1.0|…` record): `version|vendor|product|…`.
pub fn parse(record: &[u8]) -> Result<Event<'_>, ParseError> {
    let (header, rest) = split_header::<5>(record).ok_or(ParseError::Malformed)?;
    let [version, _vendor, _product, _dev_version, event_id] = header;
    let (byte, ext) = if version.starts_with(b"2") {
        delimiter(rest)
    } else {
        (b'\t', rest)
    };
    let one = [byte];
    let delim: &[u8] = match byte {
        b'\t' if memchr::memchr(b'\t', ext).is_some() => &one,
        b'\t' if memmem::find(ext, b"#011").is_some() => b"#011",
        // Palo Alto's LEEF for QRadar separates pairs with `|` and no tab at all.
        b'\t' if memchr::memchr(b'|', ext).is_some() => b"|",
        _ => &one,
    };
    let mut found = Found::default();
    let pieces = Split {
        rest: Some(ext),
        delim,
    };
    for piece in pieces {
        if let Some(eq) = memchr::memchr(b'=', piece) {
            let key = piece.get(..eq).unwrap_or_default().trim_ascii();
            found.take(key, piece.get(eq + 1..).unwrap_or_default().trim_ascii());
        }
    }
    found.into_event(action_of_name(event_id))
}

/// The LEEF 2.0 delimiter field (one character, or `xHH` / `0xHH`) and the extension after it. A field longer
/// than 4 bytes or holding `=` is the extension itself (no delimiter field: tab).
fn delimiter(rest: &[u8]) -> (u8, &[u8]) {
    let Some(bar) = memchr::memchr(b'|', rest) else {
        return (b'\t', rest);
    };
    let field = rest.get(..bar).unwrap_or_default();
    let ext = rest.get(bar + 1..).unwrap_or_default();
    if field.len() > 4 || memchr::memchr(b'=', field).is_some() {
        return (b'\t', rest);
    }
    let hex = field
        .strip_prefix(b"0x")
        .or_else(|| field.strip_prefix(b"x"))
        .filter(|h| !h.is_empty());
    let byte = match (hex, field) {
        (Some(h), _) => std::str::from_utf8(h)
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok()),
        (None, [c]) => Some(*c),
        _ => None,
    };
    (byte.unwrap_or(b'\t'), ext)
}

/// Splits on a delimiter of one or more bytes.
struct Split<'a, 'd> {
    rest: Option<&'a [u8]>,
    delim: &'d [u8],
}

impl<'a> Iterator for Split<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let at = match self.delim {
            [one] => memchr::memchr(*one, rest),
            many => memmem::find(rest, many),
        };
        match at {
            Some(i) => {
                self.rest = rest.get(i + self.delim.len()..);
                rest.get(..i)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}
