//! Firepower connection events (430002 start, 430003 end): `Key: Value, ...` pairs read by byte search, without
//! allocating.

use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event, Proto};
use crate::parsers::{syslog::stamp, ParseError};
use memchr::memmem;

/// The value of `Key: value` up to the next comma.
fn value<'a>(msg: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    loop {
        let at = from + memmem::find(msg.get(from..)?, key)?;
        from = at + key.len();
        let boundary = at == 0 || matches!(msg.get(at - 1), Some(b' ' | b','));
        let Some(rest) = msg.get(from..).and_then(|r| r.strip_prefix(b": ")) else {
            continue;
        };
        if boundary {
            let end = memchr::memchr(b',', rest).unwrap_or(rest.len());
            return Some(rest.get(..end)?.trim_ascii());
        }
    }
}

fn action(v: &[u8]) -> Option<Action> {
    let lower = |s: &[u8]| {
        let mut buf = [0u8; 32];
        let n = s.len().min(buf.len());
        for (d, c) in buf.iter_mut().zip(s) {
            *d = c.to_ascii_lowercase();
        }
        (buf, n)
    };
    let (buf, n) = lower(v);
    let v = buf.get(..n)?;
    if memmem::find(v, b"reset").is_some() {
        Some(Action::Reject)
    } else if memmem::find(v, b"block").is_some() {
        Some(Action::Drop)
    } else if matches!(v, b"allow" | b"trust" | b"monitor" | b"fastpath") {
        Some(Action::Allow)
    } else {
        None
    }
}

/// A port, or none when the value is no port (`SrcPort: 77777` has been seen): the flow's addresses still count,
/// as a PAN-OS record's do when its port is out of range.
fn port(msg: &[u8], key: &'static str) -> Option<u16> {
    value(msg, key.as_bytes()).and_then(parse_port)
}

/// Parses the body of a 430002 / 430003 connection event.
pub fn parse<'a>(msg: &[u8], mut event: Event<'a>) -> Result<Event<'a>, ParseError> {
    let ip = |key: &'static str| {
        let v = value(msg, key.as_bytes()).ok_or(ParseError::MissingField(key))?;
        parse_ip(v).ok_or(ParseError::BadAddress(key))
    };
    event.src_ip = Some(ip("SrcIP")?);
    event.dst_ip = Some(ip("DstIP")?);
    event.src_port = port(msg, "SrcPort");
    event.dst_port = port(msg, "DstPort");
    event.proto = value(msg, b"Protocol").and_then(Proto::parse);
    event.action = value(msg, b"AccessControlRuleAction").and_then(action);
    if event.time.is_none() {
        event.time =
            value(msg, b"FirstPacketSecond").and_then(|t| stamp::rfc3339(t).map(|(t, _)| t));
    }
    Ok(event)
}
