//! pfSense / OPNsense `filterlog` CSV lines (IPv4 and IPv6; tcp, udp, icmp and others): bytes in, one [`Event`]
//! out. The field layout depends on the IP version; only the fields torwatch needs are read. No allocation, no IO.

use super::syslog::{self, Stamps};
use super::ParseError;
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Action, Direction, Event, Proto};
use memchr::memmem::Finder;
use std::sync::LazyLock;

static TAG: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"filterlog"));

/// Fields read from the front of the CSV (ports sit at most at index 21).
const WANTED: usize = 22;

/// Cheap test: the `filterlog` tag, or a bare CSV whose action, direction and IP version sit where filterlog's do.
pub fn looks_like(line: &[u8]) -> bool {
    if TAG.find(line).is_some() {
        return true;
    }
    let f = Csv::read(line);
    f.count > 16
        && parse_u64(f.get(0)).is_some()
        && matches!(f.get(7), b"in" | b"out")
        && matches!(f.get(8), b"4" | b"6")
}

/// Parses one filterlog line, with or without its syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (header, msg) = syslog::split(line, stamps);
    if header.app.is_some_and(|app| app != b"filterlog") {
        return Err(ParseError::NotTraffic);
    }
    let f = Csv::read(msg);
    if f.count < 9 {
        return Err(ParseError::NotTraffic);
    }
    // Index of (protocol id, source address) for each IP version.
    let (proto_at, src_at) = match f.get(8) {
        b"4" => (15, 18),
        b"6" => (13, 15),
        _ => return Err(ParseError::BadNumber("ip version")),
    };
    let proto = parse_u64(f.get(proto_at))
        .and_then(|n| u8::try_from(n).ok())
        .map(Proto::from_number)
        .ok_or(ParseError::BadNumber("protocol id"))?;
    let src = parse_ip(f.get(src_at)).ok_or(ParseError::BadAddress("source"))?;
    let dst = parse_ip(f.get(src_at + 1)).ok_or(ParseError::BadAddress("destination"))?;
    let (src_port, dst_port) = if matches!(proto, Proto::Tcp | Proto::Udp | Proto::Sctp) {
        let port = |i: usize, name| parse_port(f.get(i)).ok_or(ParseError::BadNumber(name));
        (
            Some(port(src_at + 2, "source port")?),
            Some(port(src_at + 3, "destination port")?),
        )
    } else {
        (None, None)
    };
    Ok(Event {
        kind: crate::event::Kind::Traffic,
        time: header.time,
        device: header.host,
        src_ip: Some(src),
        src_port,
        dst_ip: Some(dst),
        dst_port,
        proto: Some(proto),
        action: action(f.get(6))?,
        direction: match f.get(7) {
            b"in" => Some(Direction::Inbound),
            b"out" => Some(Direction::Outbound),
            _ => None,
        },
        http_status: None,
        service: None,
    })
}

/// `block` / `pass` / `reject`; a pf `match` rule decides nothing by itself.
fn action(field: &[u8]) -> Result<Option<Action>, ParseError> {
    match field {
        b"block" => Ok(Some(Action::Drop)),
        b"reject" => Ok(Some(Action::Reject)),
        b"pass" => Ok(Some(Action::Allow)),
        b"match" | b"" => Ok(None),
        _ => Err(ParseError::MissingField("action")),
    }
}

/// The first [`WANTED`] comma-separated fields of a line, borrowed.
struct Csv<'a> {
    fields: [&'a [u8]; WANTED],
    count: usize,
}

impl<'a> Csv<'a> {
    fn read(s: &'a [u8]) -> Csv<'a> {
        let mut csv = Csv {
            fields: [&[]; WANTED],
            count: 0,
        };
        let mut rest = s;
        for slot in csv.fields.iter_mut() {
            match memchr::memchr(b',', rest) {
                Some(i) => {
                    *slot = rest.get(..i).unwrap_or_default();
                    rest = rest.get(i + 1..).unwrap_or_default();
                }
                None => {
                    *slot = rest;
                    csv.count += 1;
                    return csv;
                }
            }
            csv.count += 1;
        }
        csv
    }

    fn get(&self, i: usize) -> &'a [u8] {
        self.fields.get(i).copied().unwrap_or_default()
    }
}
