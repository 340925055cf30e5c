//! AWS VPC Flow Logs records: the default space-separated format (v2 fields, and the v3–v5 default field lists
//! that extend it), the header line, and records delivered as flat JSON objects. Custom field orders without the
//! default prefix cannot be read one line at a time and are not recognised. Pure byte scanning: no IO, no
//! allocation, no panics.

use memchr::memmem;

use super::flatjson;
use super::ParseError;
use crate::event::{parse_ip, parse_port, parse_u64, Action, Direction, Event, Proto};

/// Tokens of a v5 record with every default field, where token 27 is `flow-direction`.
const V5_ALL_FIELDS: usize = 29;
const V5_FLOW_DIRECTION: usize = 27;

/// True for a default-format record (`<version> <account-id> <eni-…|-> …`), the header line, or a JSON record
/// with `srcaddr` and `interface_id`.
pub fn sniff(line: &[u8]) -> bool {
    if flatjson::is_object(line) {
        return memmem::find(line, b"\"srcaddr\"").is_some()
            && memmem::find(line, b"\"interface_id\"").is_some();
    }
    if line.starts_with(b"version ") {
        return memmem::find(line, b" srcaddr ").is_some();
    }
    default_shape(line)
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

/// Parses one record. `NODATA` / `SKIPDATA` records and the header line are `NotTraffic`. Time is `start`;
/// device is the interface id; `ACCEPT`/`REJECT` are allow/drop; v5 records with every default field carry the
/// flow direction (`ingress` inbound, `egress` outbound).
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    if flatjson::is_object(line) {
        return parse_json(line);
    }
    if line.starts_with(b"version ") {
        return Err(ParseError::NotTraffic);
    }
    if !default_shape(line) {
        return Err(ParseError::Malformed);
    }
    let mut fields = [&b""[..]; 14];
    let mut count = 0;
    let mut flow_direction = None;
    for (i, token) in line
        .split(|&c| c == b' ')
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        if let Some(slot) = fields.get_mut(i) {
            *slot = token;
        }
        if i == V5_FLOW_DIRECTION {
            flow_direction = Some(token);
        }
        count = i + 1;
    }
    if count < fields.len() {
        return Err(ParseError::MissingField("log-status"));
    }
    let [_, _, eni, src, dst, sport, dport, proto, _, _, start, _, action, status] = fields;
    let direction = flow_direction
        .filter(|_| count == V5_ALL_FIELDS)
        .and_then(direction);
    let record = Record {
        eni,
        src,
        dst,
        sport,
        dport,
        proto,
        start,
        action,
        status,
    };
    record.into_event(direction)
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
        if matches!(self.status, b"NODATA" | b"SKIPDATA") {
            return Err(ParseError::NotTraffic);
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
