//! Windows Firewall `pfirewall.log` (W3C-style, space-separated, `#` header lines): bytes in, one [`Event`] out.
//! Columns are read in the default `#Fields:` order; the stamp is read as UTC (the log says "Local" without an
//! offset). No allocation, no IO.

use super::{syslog::stamp, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Direction, Event, Proto};

const HEADERS: [&[u8]; 4] = [
    b"#Version:",
    b"#Software: Microsoft Windows Firewall",
    b"#Time Format:",
    b"#Fields: date time action",
];

/// Cheap test: a pfirewall header line, or `YYYY-MM-DD hh:mm:ss ACTION` with a firewall action.
pub fn looks_like(line: &[u8]) -> bool {
    if line.first() == Some(&b'#') {
        return HEADERS.iter().any(|h| line.starts_with(h));
    }
    stamp::rfc3339_with(line, b" ").is_some_and(|(_, end)| end == 19)
        && line
            .get(20..)
            .and_then(|rest| rest.split(|&c| c == b' ').next())
            .is_some_and(|word| action(word).is_some())
}

/// The action column: `Some(None)` for a known word that is not traffic.
fn action(word: &[u8]) -> Option<Option<Action>> {
    match word {
        b"DROP" => Some(Some(Action::Drop)),
        b"ALLOW" | b"OPEN" | b"CLOSE" | b"OPEN-INBOUND" => Some(Some(Action::Allow)),
        b"INFO-EVENTS-LOST" => Some(None),
        _ => None,
    }
}

/// Parses one pfirewall.log line.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    if line.first() == Some(&b'#') {
        return Err(ParseError::NotTraffic);
    }
    let (time, end) = stamp::rfc3339_with(line, b" ").ok_or(ParseError::MissingField("date"))?;
    let mut cols = line
        .get(end..)
        .unwrap_or_default()
        .split(|&c| c == b' ')
        .filter(|c| !c.is_empty());
    let mut next = |name: &'static str| cols.next().ok_or(ParseError::MissingField(name));
    let action_word = next("action")?;
    let action = action(action_word)
        .ok_or(ParseError::MissingField("action"))?
        .ok_or(ParseError::NotTraffic)?;
    let proto = Proto::parse(next("protocol")?).ok_or(ParseError::BadNumber("protocol"))?;
    let src = parse_ip(next("src-ip")?).ok_or(ParseError::BadAddress("src-ip"))?;
    let dst = parse_ip(next("dst-ip")?).ok_or(ParseError::BadAddress("dst-ip"))?;
    let icmp = matches!(proto, Proto::Icmp | Proto::Icmpv6);
    let mut port = |name: &'static str| match next(name)? {
        b"-" => Ok(None),
        _ if icmp => Ok(None),
        v => parse_port(v).map(Some).ok_or(ParseError::BadNumber(name)),
    };
    let src_port = port("src-port")?;
    let dst_port = port("dst-port")?;
    // size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info, then path.
    let path = cols.nth(8);
    let direction = match (path, action_word) {
        (Some(b"RECEIVE"), _) | (_, b"OPEN-INBOUND") => Some(Direction::Inbound),
        (Some(b"SEND"), _) => Some(Direction::Outbound),
        _ => None,
    };
    Ok(Event {
        kind: crate::event::Kind::Traffic,
        time: Some(time),
        device: None,
        src_ip: Some(src),
        src_port,
        dst_ip: Some(dst),
        dst_port,
        proto: Some(proto),
        action: Some(action),
        direction,
        http_status: None,
        service: None,
    })
}
