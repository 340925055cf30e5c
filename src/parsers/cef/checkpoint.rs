//! Check Point Log Exporter records in its native `syslog` shape (`[action:"Drop"; ifdir:"inbound"; …;
//! src:"192.0.2.1"; ]`), read under the CEF/LEEF format because Check Point sends either. No IO, no allocation,
//! no panics.

use memchr::memmem;

use super::super::{verdict, ParseError};
use crate::event::{parse_ip, parse_port, parse_u64, Direction, Event, Proto};

/// True when the line has the `loguid:"` and `origin:"` fields every Check Point record carries.
pub fn sniff(line: &[u8]) -> bool {
    memmem::find(line, b"loguid:\"").is_some() && memmem::find(line, b"origin:\"").is_some()
}

/// Parses one record. Destination port is `service` (a number in these records); direction is `ifdir`; time
/// is `time` (unix seconds); device is `origin`. A record without `src` and `dst` is `NotTraffic`.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let mut event = Event::default();
    let (mut src, mut dst) = (None, None);
    let pairs = Pairs { rest: line };
    for (key, value) in pairs {
        match key {
            b"src" => src = src.or(Some(value)),
            b"dst" => dst = dst.or(Some(value)),
            b"s_port" => event.src_port = event.src_port.or(parse_port(value)),
            b"service" => event.dst_port = event.dst_port.or(parse_port(value)),
            b"proto" => event.proto = event.proto.or(Proto::parse(value)),
            b"action" => event.action = event.action.or(verdict::from_word(value)),
            b"ifdir" => event.direction = event.direction.or(direction(value)),
            b"time" => {
                event.time = event
                    .time
                    .or(parse_u64(value).and_then(|t| i64::try_from(t).ok()))
            }
            b"origin" => event.device = event.device.or(std::str::from_utf8(value).ok()),
            _ => {}
        }
    }
    if src.is_none() && dst.is_none() {
        return Err(ParseError::NotTraffic);
    }
    if let Some(s) = src {
        event.src_ip = Some(parse_ip(s).ok_or(ParseError::BadAddress("src"))?);
    }
    if let Some(d) = dst {
        event.dst_ip = Some(parse_ip(d).ok_or(ParseError::BadAddress("dst"))?);
    }
    Ok(event)
}

fn direction(value: &[u8]) -> Option<Direction> {
    match value {
        b"inbound" => Some(Direction::Inbound),
        b"outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

/// `key:"value"` pairs; a backslash escapes the next byte inside a value, which is returned as it is.
struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let open = memmem::find(self.rest, b":\"")?;
        let head = self.rest.get(..open)?;
        let key_start = head
            .iter()
            .rposition(|&c| matches!(c, b' ' | b'[' | b';' | b'"'))
            .map_or(0, |i| i + 1);
        let key = head.get(key_start..)?;
        let body = self.rest.get(open + 2..)?;
        let mut at = 0;
        let end = loop {
            match body.get(at) {
                Some(b'\\') => at += 2,
                Some(b'"') | None => break at.min(body.len()),
                Some(_) => at += 1,
            }
        };
        self.rest = body.get(end + 1..).unwrap_or_default();
        Some((key, body.get(..end).unwrap_or_default()))
    }
}
