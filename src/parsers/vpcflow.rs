//! AWS VPC Flow Logs records: the default space-separated format (v2 fields, and the v3–v5 default field lists
//! that extend it), the header line, and records delivered as flat JSON objects, bare or behind a syslog header.
//! Records of a custom field order are read with the order of their file's header line or of the input's
//! `fields:` ([`parse_in`], kept by [`super::Context`]). Pure byte scanning: no IO, no allocation, no panics.

use memchr::memmem;

use super::flatjson;
use super::ParseError;
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Action, Direction, Event, Proto};

mod layout;

pub use self::layout::{Field, Layout};

/// The record of a line: the line itself, or the message after its syslog header when only that reads as a
/// record, a header line or a JSON record.
pub fn record(line: &[u8]) -> &[u8] {
    let line = line.trim_ascii();
    let looks =
        |l: &[u8]| flatjson::is_object(l) || default_shape(l) || Layout::from_header(l).is_some();
    if looks(line) {
        return line;
    }
    let msg = super::syslog::message(line);
    if msg.len() < line.len() && looks(msg) {
        msg
    } else {
        line
    }
}

/// True for a default-format record (`<version> <account-id> <eni-…|-> …`), a header line, or a JSON record
/// with `srcaddr` and `interface_id`.
pub fn looks_like(line: &[u8]) -> bool {
    let line = record(line);
    if flatjson::is_object(line) {
        return memmem::find(line, b"\"srcaddr\"").is_some()
            && memmem::find(line, b"\"interface_id\"").is_some();
    }
    default_shape(line) || Layout::from_header(line).is_some()
}

/// `<version> <account-id|-> <eni-…|-> …`: the start of a default-format record.
fn default_shape(line: &[u8]) -> bool {
    let mut t = line.split(|&c| c == b' ');
    let (Some(version), Some(account), Some(eni)) = (t.next(), t.next(), t.next()) else {
        return false;
    };
    (1..=2).contains(&version.len())
        && version.iter().all(u8::is_ascii_digit)
        && (account == b"-" || (account.len() == 12 && account.iter().all(u8::is_ascii_digit)))
        && (eni == b"-" || eni.starts_with(b"eni-"))
}

/// Parses one record of the default format (or of the v5 format with every default field, which carries the flow
/// direction: `ingress` inbound, `egress` outbound), a JSON record, or a header line (`NotTraffic`). Time is
/// `start`; device is the interface id; `ACCEPT`/`REJECT` are allow/drop. Records of a custom format need the
/// layout of their file's header: see [`parse_in`]. `NODATA` / `SKIPDATA` records are [`ParseError::NoData`] /
/// [`ParseError::SkipData`]: counted, not errors.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let line = record(line);
    if flatjson::is_object(line) {
        return parse_json(line);
    }
    if Layout::from_header(line).is_some() {
        return Err(ParseError::NotTraffic);
    }
    if !default_shape(line) {
        return Err(ParseError::Malformed);
    }
    let all_v5 = line.starts_with(b"5 ")
        && line.split(|&c| c == b' ').filter(|t| !t.is_empty()).count() == Layout::V5_ALL.width();
    parse_with(
        if all_v5 {
            &Layout::V5_ALL
        } else {
            &Layout::DEFAULT
        },
        line,
    )
}

/// Parses one record with the field order `layout` when it has as many fields as that order names, else as
/// [`parse`] does (a stream may mix files of the default format with files of a custom one).
pub fn parse_in<'a>(layout: &Layout, line: &'a [u8]) -> Result<Event<'a>, ParseError> {
    match custom(layout, line) {
        Some(record) => parse_with(layout, record),
        None => parse(line),
    }
}

/// The record of a line in the field order `layout`, bare or behind a syslog header.
pub fn custom<'a>(layout: &Layout, line: &'a [u8]) -> Option<&'a [u8]> {
    let line = line.trim_ascii();
    if layout.fits(line) {
        return Some(line);
    }
    let msg = super::syslog::message(line);
    (msg.len() < line.len() && layout.fits(msg)).then_some(msg)
}

/// Parses one record of the format `layout` describes, typically read with [`Layout::from_header`] from the first
/// line of the record's file. Header lines are `NotTraffic`.
pub fn parse_with<'a>(layout: &Layout, line: &'a [u8]) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if Layout::from_header(line).is_some() {
        return Err(ParseError::NotTraffic);
    }
    let (picked, count) = layout.pick(line);
    if count < layout.width() {
        return Err(ParseError::MissingField("record field"));
    }
    let [eni, src, dst, sport, dport, proto, start, action, status, flow_direction] = picked;
    let dash: &[u8] = b"-";
    let record = Record {
        eni: eni.unwrap_or(dash),
        src: src.unwrap_or(dash),
        dst: dst.unwrap_or(dash),
        sport: sport.unwrap_or(dash),
        dport: dport.unwrap_or(dash),
        proto: proto.unwrap_or(dash),
        start: start.unwrap_or(dash),
        action: action.unwrap_or(dash),
        status: status.unwrap_or(dash),
    };
    record.into_event(flow_direction.and_then(direction))
}

fn parse_json(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let get = |key| flatjson::get(line, key).unwrap_or(b"-");
    let record = Record {
        eni: get("interface_id"),
        src: get("srcaddr"),
        dst: get("dstaddr"),
        sport: get("srcport"),
        dport: get("dstport"),
        proto: get("protocol"),
        start: get("start"),
        action: get("action"),
        status: get("log_status"),
    };
    let direction = flatjson::get(line, "flow_direction").and_then(direction);
    record.into_event(direction)
}

/// The fields of one record an event needs, `-` where absent.
struct Record<'a> {
    eni: &'a [u8],
    src: &'a [u8],
    dst: &'a [u8],
    sport: &'a [u8],
    dport: &'a [u8],
    proto: &'a [u8],
    start: &'a [u8],
    action: &'a [u8],
    status: &'a [u8],
}

impl<'a> Record<'a> {
    fn into_event(self, direction: Option<Direction>) -> Result<Event<'a>, ParseError> {
        match self.status {
            b"NODATA" => return Err(ParseError::NoData),
            b"SKIPDATA" => return Err(ParseError::SkipData),
            _ => {}
        }
        if self.src == b"-" {
            return Err(ParseError::MissingField("srcaddr"));
        }
        let action = match self.action {
            b"ACCEPT" => Some(Action::Allow),
            b"REJECT" => Some(Action::Drop),
            _ => None,
        };
        Ok(Event {
            kind: crate::event::Kind::Traffic,
            time: parse_u64(self.start).and_then(|n| i64::try_from(n).ok()),
            device: Some(self.eni)
                .filter(|e| *e != b"-")
                .and_then(|e| std::str::from_utf8(e).ok()),
            src_ip: Some(parse_ip(self.src).ok_or(ParseError::BadAddress("srcaddr"))?),
            src_port: parse_port(self.sport),
            dst_ip: Some(parse_ip(self.dst).ok_or(ParseError::BadAddress("dstaddr"))?),
            dst_port: parse_port(self.dport),
            proto: parse_u64(self.proto)
                .and_then(|n| u8::try_from(n).ok())
                .map(Proto::from_number),
            action,
            direction,
            http_status: None,
            service: None,
        })
    }
}

fn direction(word: &[u8]) -> Option<Direction> {
    match word {
        b"ingress" => Some(Direction::Inbound),
        b"egress" => Some(Direction::Outbound),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
