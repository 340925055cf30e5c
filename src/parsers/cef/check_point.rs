//! Check Point records that are not CEF, read under the CEF/LEEF format because Check Point sends either: the Log
//! Exporter's native `syslog` shape (`[action:"Drop"; ifdir:"inbound"; …; src:"192.0.2.1"; ]`) and the quoted
//! column export (`"21" "10Dec2019" "23:44:49" "eth1" "gw" "Log" "Drop" "22" "46193" "src" "dst" "tcp" …`). No
//! IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memchr;
use memchr::memmem::Finder;

use super::super::{civil, verdict, ParseError};
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Direction, Event, Proto};

/// Columns of the quoted export: number, date, time, interface, origin, type, action, service, source port,
/// source, destination, protocol.
const EXPORT_COLUMNS: usize = 12;

static LOGUID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"loguid:\""));
static ORIGIN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"origin:\""));
static VALUE_OPEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b":\""));

/// True when the line has the `loguid:"` and `origin:"` fields every Check Point record carries.
pub fn looks_like(line: &[u8]) -> bool {
    LOGUID.find(line).is_some() && ORIGIN.find(line).is_some()
}

/// Parses one record. Destination port is `service` (a number in these records); direction is `ifdir`; time
/// is `time` (unix seconds); device is `origin`. A record without `src` and `dst` is `NotTraffic`.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let mut event = Event::default();
    let (mut src, mut dst, mut login) = (None, None, None);
    let pairs = ExportPairs { rest: line };
    for (key, value) in pairs {
        match key {
            b"src" => src = src.or(Some(value)),
            b"dst" => dst = dst.or(Some(value)),
            b"s_port" => event.src_port = event.src_port.or(parse_port(value)),
            b"service" => event.dst_port = event.dst_port.or(parse_port(value)),
            b"proto" => event.proto = event.proto.or(Proto::parse(value)),
            b"action" => {
                event.action = event.action.or(verdict::from_word(value));
                login = login.or(super::login::of_action(value));
            }
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
    if let Some(login) = login {
        login.apply(&mut event);
    }
    Ok(event)
}

/// True for a quoted column export line: `"<number>" "<d><Mon><yyyy>" "HH:MM:SS" …`.
pub fn looks_like_export(line: &[u8]) -> bool {
    let mut cols = Quoted { rest: line };
    let (Some(num), Some(date)) = (cols.next(), cols.next()) else {
        return false;
    };
    !num.is_empty() && num.iter().all(u8::is_ascii_digit) && export_date(date).is_some()
}

/// Parses a quoted column export line. Time is the date and time columns read as UTC; device is the origin.
pub fn parse_export(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let mut cols = [&b""[..]; EXPORT_COLUMNS];
    let mut count = 0;
    for (slot, value) in cols.iter_mut().zip(Quoted { rest: line }) {
        *slot = value;
        count += 1;
    }
    if count < EXPORT_COLUMNS {
        return Err(ParseError::MissingField("proto"));
    }
    let [_, date, time, _, origin, kind, action, service, s_port, src, dst, proto] = cols;
    if kind != b"Log" {
        return Err(ParseError::NotTraffic);
    }
    let time = export_date(date)
        .zip(civil::clock(time))
        .and_then(|(d, t)| civil::unix(d, t));
    let mut event = Event {
        time,
        device: Some(origin)
            .filter(|o| !o.is_empty())
            .and_then(|o| std::str::from_utf8(o).ok()),
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("src"))?),
        src_port: parse_port(s_port),
        dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("dst"))?),
        dst_port: parse_port(service),
        proto: Proto::parse(proto),
        action: verdict::from_word(action),
        ..Event::default()
    };
    if let Some(login) = super::login::of_action(action) {
        login.apply(&mut event);
    }
    Ok(event)
}

/// `20Dec2019` (day of 1 or 2 digits, month abbreviation, year).
fn export_date(s: &[u8]) -> Option<(i64, u32, u32)> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let day = civil::small(s.get(..digits)?)?;
    let month = u32::from(civil::month(s.get(digits..digits + 3)?)?);
    let year = s
        .get(digits + 3..)
        .filter(|y| y.len() == 4)
        .and_then(civil::small)?;
    Some((i64::from(year), month, day))
}

/// Double-quoted columns separated by spaces; stops at the first text that is not a quoted column.
struct Quoted<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Quoted<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let body = self.rest.trim_ascii_start().strip_prefix(b"\"")?;
        let end = memchr(b'"', body)?;
        self.rest = body.get(end + 1..).unwrap_or_default();
        body.get(..end)
    }
}

fn direction(value: &[u8]) -> Option<Direction> {
    match value {
        b"inbound" => Some(Direction::Inbound),
        b"outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

/// `key:"value"` pairs; a backslash escapes the next byte inside a value, which is returned as it is.
struct ExportPairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ExportPairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let open = VALUE_OPEN.find(self.rest)?;
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
