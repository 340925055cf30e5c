//! CEF (`CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext`) and LEEF 1.0/2.0 records, with or without a
//! syslog header and with or without the `CEF:` / `LEEF:` marker (relays that strip the program name leave
//! `0|Vendor|…` or `1.0|Vendor|…`, alone or behind a syslog header). Logins are `auth` events ([`login`]). Vendor variants seen in the field are read: Check Point's extra empty header
//! field, Fortinet's `FTNTFGT…` keys, Forcepoint and WatchGuard LEEF; Check Point's native `key:"value";`
//! records and its quoted column export are read here too. Pure byte scanning: no IO, no allocation, no panics.

mod check_point;
mod ext;
mod keys;
mod leef;
mod login;

use std::sync::LazyLock;

use memchr::memmem::Finder;
use memchr::{memchr, memchr_iter, memrchr};

use self::ext::Extension;
use self::keys::{action_of_name, Found};
use super::syslog::Stamps;
use super::ParseError;
use crate::event::Event;

/// Searchers for the record markers, built once (building one per line would cost more than the search).
static CEF_MARKER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"CEF:"));
static LEEF_MARKER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"LEEF:"));

/// The record found in a line, starting at its version field.
enum Record<'a> {
    Cef(&'a [u8]),
    Leef(&'a [u8]),
}

/// True when the line holds a CEF or LEEF record, or a Check Point record in its native `syslog` shape or its
/// quoted column export.
pub fn looks_like(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    locate(line).is_some() || check_point::looks_like(line) || check_point::looks_like_export(line)
}

/// Parses a CEF or LEEF record. A record that names neither a source nor a destination address is `NotTraffic`.
/// Action: `act` (or LEEF `action` / `disp`, or a vendor's action key) when it is an action word, else the last
/// word of the event name (`Connection_Discarded`, `traffic:forward close`). Time and device missing from the
/// record come from the syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let mut event = match locate(line) {
        Some(Record::Cef(record)) => parse_cef(record)?,
        Some(Record::Leef(record)) => leef::parse(record)?,
        None if check_point::looks_like(line) => check_point::parse(line)?,
        None if check_point::looks_like_export(line) => check_point::parse_export(line)?,
        None => return Err(ParseError::Malformed),
    };
    super::origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

fn locate(line: &[u8]) -> Option<Record<'_>> {
    if let Some(record) = after_marker(line, &CEF_MARKER) {
        return Some(Record::Cef(record));
    }
    if let Some(record) = after_marker(line, &LEEF_MARKER) {
        return Some(Record::Leef(record));
    }
    bare(line).or_else(|| {
        // Behind a syslog header whose relay took the `CEF:` / `LEEF:` marker for a program name.
        let message = super::syslog::message(line);
        (message.len() < line.len()).then(|| bare(message.trim_ascii_start()))?
    })
}

/// A record without its marker at the start of `text`: `0|Vendor|…` (CEF) or `1.0|Vendor|…` (LEEF).
fn bare(text: &[u8]) -> Option<Record<'_>> {
    let pipes = || memchr_iter(b'|', text).take(7).count();
    if (text.starts_with(b"0|") || text.starts_with(b"1|")) && pipes() >= 7 {
        return Some(Record::Cef(text));
    }
    if (text.starts_with(b"1.0|") || text.starts_with(b"2.0|")) && pipes() >= 5 {
        return Some(Record::Leef(text));
    }
    None
}

/// The record after `marker` (`CEF:` / `LEEF:`), when a version number and `|` follow it.
fn after_marker<'a>(line: &'a [u8], marker: &Finder<'_>) -> Option<&'a [u8]> {
    let at = marker.find(line)?;
    let record = line.get(at + marker.needle().len()..)?.trim_ascii_start();
    let bar = memchr(b'|', record)?;
    let version = record.get(..bar)?;
    let numeric = !version.is_empty() && version.len() <= 4;
    (numeric && version.iter().all(|c| c.is_ascii_digit() || *c == b'.')).then_some(record)
}

fn parse_cef(record: &[u8]) -> Result<Event<'_>, ParseError> {
    let (header, mut ext) = split_header::<7>(record).ok_or(ParseError::Malformed)?;
    // Check Point may print an extra empty header field: skip any `|` left before the first pair.
    if let Some(eq) = memchr(b'=', ext) {
        if let Some(bar) = ext.get(..eq).and_then(|head| memrchr(b'|', head)) {
            ext = ext.get(bar + 1..).unwrap_or_default();
        }
    }
    let mut found = Found::default();
    for (key, value) in Extension::new(ext) {
        found.take(key, value);
    }
    let [_, _, _, _, _, name, _] = header;
    found.name(name);
    found.into_event(action_of_name(name))
}

/// Splits `N` header fields off a record at unescaped `|`, returning them and the rest.
fn split_header<const N: usize>(record: &[u8]) -> Option<([&[u8]; N], &[u8])> {
    let mut fields = [&b""[..]; N];
    let mut rest = record;
    for field in fields.iter_mut() {
        let bar = unescaped_bar(rest)?;
        *field = rest.get(..bar)?;
        rest = rest.get(bar + 1..)?;
    }
    Some((fields, rest))
}

fn unescaped_bar(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let bar = at + memchr(b'|', text.get(at..)?)?;
        let slashes = text
            .get(..bar)?
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        if slashes % 2 == 0 {
            return Some(bar);
        }
        at = bar + 1;
    }
}

#[cfg(test)]
mod tests;
