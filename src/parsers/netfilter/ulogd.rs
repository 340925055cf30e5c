//! ulogd2 JSON output records (`{"src_ip": ..., "dest_ip": ..., "ip.protocol": 6, "oob.prefix": ...}`), read by
//! scanning bytes for the few keys we need. No JSON tree, no allocation, no IO.

use super::PrefixActions;
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Direction, Event, Proto};
use crate::parsers::{syslog::stamp, ParseError};
use memchr::memmem;

/// Does this line look like a ulogd2 JSON record? (`oob.*` keys tell it from other JSON with `src_ip`.)
pub fn looks_like(line: &[u8]) -> bool {
    line.first() == Some(&b'{')
        && memmem::find(line, b"\"oob.").is_some()
        && memmem::find(line, b"\"src_ip\"").is_some()
        && memmem::find(line, b"\"dest_ip\"").is_some()
}

/// The raw value of `"key": value`: a string's bytes without quotes, or a scalar's text.
fn field<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    loop {
        let at = from + memmem::find(line.get(from..)?, key)?;
        let before = at.checked_sub(1).and_then(|i| line.get(i));
        let after = line.get(at + key.len()..)?;
        from = at + key.len();
        if before != Some(&b'"') || after.first() != Some(&b'"') {
            continue;
        }
        let rest = after.get(1..)?.trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b":") else {
            continue;
        };
        return Some(value(rest.trim_ascii_start()));
    }
}

fn value(s: &[u8]) -> &[u8] {
    if let Some(body) = s.strip_prefix(b"\"") {
        let end = memchr::memchr(b'"', body).unwrap_or(body.len());
        return body.get(..end).unwrap_or_default();
    }
    let end = s
        .iter()
        .position(|&c| matches!(c, b',' | b'}' | b' '))
        .unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

fn port(line: &[u8], key: &[u8], name: &'static str) -> Result<Option<u16>, ParseError> {
    match field(line, key) {
        None | Some(b"null") => Ok(None),
        Some(v) => parse_port(v).map(Some).ok_or(ParseError::BadNumber(name)),
    }
}

/// Parses one ulogd2 JSON record.
pub fn parse<'a>(line: &'a [u8], actions: &PrefixActions) -> Result<Event<'a>, ParseError> {
    let src = field(line, b"src_ip").ok_or(ParseError::MissingField("src_ip"))?;
    let dst = field(line, b"dest_ip").ok_or(ParseError::MissingField("dest_ip"))?;
    let proto = field(line, b"ip.protocol")
        .and_then(parse_u64)
        .and_then(|n| u8::try_from(n).ok())
        .map(Proto::from_number);
    let action = field(line, b"action")
        .and_then(|a| actions.lookup(a))
        .or_else(|| field(line, b"oob.prefix").and_then(|p| actions.lookup(p)))
        .unwrap_or(actions.fallback());
    let time = field(line, b"oob.time.sec")
        .and_then(parse_u64)
        .and_then(|t| i64::try_from(t).ok())
        .or_else(|| field(line, b"timestamp").and_then(|t| stamp::rfc3339(t).map(|(t, _)| t)));
    let iface = |k| field(line, k).is_some_and(|v| !v.is_empty());
    let direction = match (iface(b"oob.in"), iface(b"oob.out")) {
        (true, false) => Some(Direction::Inbound),
        (false, true) => Some(Direction::Outbound),
        _ => None,
    };
    Ok(Event {
        kind: crate::event::Kind::Traffic,
        time,
        device: field(line, b"dvc").and_then(|d| std::str::from_utf8(d).ok()),
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("src_ip"))?),
        dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("dest_ip"))?),
        src_port: port(line, b"src_port", "src_port")?,
        dst_port: port(line, b"dest_port", "dest_port")?,
        proto,
        action: Some(action),
        direction,
        http_status: None,
        service: None,
    })
}
