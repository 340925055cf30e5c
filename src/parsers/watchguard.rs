//! WatchGuard Fireware traffic log messages, behind a syslog header (`firewall:` / `http-proxy:` tags) or bare:
//! `msg_id="3000-0148" Deny 1-Trusted Firebox 40 tcp 20 64 10.0.1.2 10.0.1.1 61523 80 offset 5 S 3127 win 512
//! (Unhandled Internal Packet-00)` — the disposition, the interfaces, optionally the packet and header lengths and
//! the TTL, the protocol, source and destination, the ports (TCP, UDP), then details and the policy. Proxy messages
//! of the same shape (`msg_id="1AFF-0021" Deny 1-Trusted 0-External tcp 10.0.1.2 198.51.100.7 50690 80 msg=…`)
//! read alike. Messages with no disposition after their id (logins, VPN, system) are not read here. The LEEF and CEF
//! forms are read by the CEF reader. Pure byte scanning: no IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::syslog::Stamps;
use super::{origin, verdict, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Event, Kind, Proto};

static MSG_ID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"msg_id=\""));

/// True for `msg_id="XXXX-XXXX"` followed by a disposition (`Allow`, `Deny`, …).
pub fn looks_like(line: &[u8]) -> bool {
    body(line).is_some()
}

/// The words after the message id, when the first is a disposition.
fn body(line: &[u8]) -> Option<&[u8]> {
    let at = MSG_ID.find(line)?;
    // `3000-0148"`: four hex digits, a dash, four hex digits, the closing quote.
    let id = line.get(at + 8..at + 18)?;
    let hex = |s: Option<&[u8]>| s.is_some_and(|s| s.iter().all(u8::is_ascii_hexdigit));
    if id.get(4) != Some(&b'-')
        || id.get(9) != Some(&b'"')
        || !hex(id.get(..4))
        || !hex(id.get(5..9))
    {
        return None;
    }
    let rest = line.get(at + 18..)?.trim_ascii_start();
    let first = rest.split(|&c| c == b' ').next()?;
    verdict::from_word(first).map(|_| rest)
}

/// Parses one traffic message (see the module comment). Time and device come from the syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let rest = body(line).ok_or(ParseError::NotTraffic)?;
    let mut words = rest.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let action = words.next().and_then(verdict::from_word);
    // The protocol is the first word that names one; the interfaces and lengths come before it.
    let proto = words
        .by_ref()
        .take(8)
        .find_map(protocol)
        .ok_or(ParseError::MissingField("protocol"))?;
    let mut addresses = words.by_ref().take(4).filter_map(parse_ip);
    let src = addresses.next().ok_or(ParseError::BadAddress("source"))?;
    let dst = addresses
        .next()
        .ok_or(ParseError::BadAddress("destination"))?;
    let (src_port, dst_port) = match proto {
        Proto::Tcp | Proto::Udp | Proto::Sctp => {
            let sport = words.next().and_then(parse_port);
            let dport = words.next().and_then(parse_port);
            (sport, dport)
        }
        _ => (None, None),
    };
    let mut event = Event {
        kind: Kind::Traffic,
        src_ip: Some(src),
        src_port,
        dst_ip: Some(dst),
        dst_port,
        proto: Some(proto),
        action,
        ..Event::default()
    };
    origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

/// A protocol name as Fireware writes it (`tcp`, `udp`, `icmp`, `igmp`, `gre`, `esp`, `ah`, `ipv6-icmp`), or the
/// protocol number in a `proto=` word. Numbers alone are lengths, not protocols.
fn protocol(word: &[u8]) -> Option<Proto> {
    match word {
        b"igmp" => Some(Proto::Other(2)),
        b"ah" => Some(Proto::Other(51)),
        w if w.first().is_some_and(u8::is_ascii_alphabetic) => Proto::parse(w),
        _ => None,
    }
}
