//! Cisco ASA / FTD syslog messages that carry traffic (deny, access-list, built/teardown, ICMP denies, FTD
//! connection events): bytes in, one [`Event`] out; every other message id is `NotTraffic`. No allocation, no IO.

mod ftd;
mod words;

use super::{syslog, ParseError};
use crate::event::{Action, Direction, Event, Proto};
use memchr::memmem;
use words::{endpoint, Words};

/// Cheap test: a `%ASA-`, `%FTD-`, `%PIX-` or `%NGIPS-` message tag.
pub fn sniff(line: &[u8]) -> bool {
    tag(line).is_some()
}

/// Position of the `%` opening the message tag.
fn tag(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + memchr::memchr(b'%', line.get(from..)?)?;
        let rest = line.get(at + 1..)?;
        if [&b"ASA-"[..], b"FTD-", b"PIX-", b"NGIPS-"]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Splits `%ASA-6-302013: text` into the message number and the text.
fn message(line: &[u8]) -> Option<(u32, &[u8])> {
    let start = tag(line)?;
    let rest = line.get(start..)?;
    let colon = memchr::memchr(b':', rest)?;
    let head = rest.get(..colon)?;
    let id = head.get(memchr::memrchr(b'-', head)? + 1..)?;
    let id = u32::try_from(crate::event::parse_u64(id)?).ok()?;
    Some((id, rest.get(colon + 1..)?.trim_ascii_start()))
}

/// Parses one ASA / FTD line, with or without its syslog header.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (header, msg) = syslog::split(line);
    let (id, text) = message(msg).ok_or(ParseError::NotTraffic)?;
    let event = Event {
        time: header.time,
        device: header.host,
        ..Event::default()
    };
    if matches!(id, 430002 | 430003) {
        return ftd::parse(text, event);
    }
    let w = Words::split(text);
    let flow = match id {
        106001 | 106006 | 106007 | 106015 | 106017 | 106021 | 710003 => from_to(&w, b"from", b"to"),
        106010 | 106014 | 106023 => from_to(&w, b"src", b"dst"),
        106100 | 106102 | 106103 => access_list(&w),
        302013 | 302015 => built(&w, b"for", b"to"),
        302014 | 302016 | 313009 => from_to(&w, b"for", b"to"),
        302020 => built(&w, b"faddr", b"laddr"),
        302021 => from_to(&w, b"faddr", b"laddr"),
        313001 | 313004 | 313008 => icmp_denied(&w),
        733100 => threat(text),
        _ => return Err(ParseError::NotTraffic),
    }?;
    Ok(flow.into_event(event, action_of(id, &w), &w))
}

/// What a message said about the flow.
struct Flow {
    src: (std::net::IpAddr, Option<u16>),
    dst: Option<(std::net::IpAddr, Option<u16>)>,
    direction: Option<Direction>,
}

impl Flow {
    fn into_event<'a>(self, mut e: Event<'a>, action: Option<Action>, w: &Words<'_>) -> Event<'a> {
        e.proto = w.proto(4);
        let icmp = matches!(e.proto, Some(Proto::Icmp | Proto::Icmpv6));
        let port = |p: Option<u16>| if icmp { None } else { p };
        e.src_ip = Some(self.src.0);
        e.src_port = port(self.src.1);
        e.dst_ip = self.dst.map(|d| d.0);
        e.dst_port = port(self.dst.and_then(|d| d.1));
        e.action = action;
        e.direction = self.direction.or_else(|| {
            let inbound = w.find(b"inbound", 0).is_some_and(|i| i < 3);
            inbound.then_some(Direction::Inbound)
        });
        e
    }
}

fn action_of(id: u32, w: &Words<'_>) -> Option<Action> {
    match id {
        302013..=302021 => Some(Action::Allow),
        106100 | 106102 | 106103 => {
            if w.find(b"denied", 0).is_some() {
                Some(Action::Drop)
            } else {
                Some(Action::Allow)
            }
        }
        _ => Some(Action::Drop),
    }
}

fn addr(
    word: Option<&[u8]>,
    field: &'static str,
) -> Result<(std::net::IpAddr, Option<u16>), ParseError> {
    endpoint(word.ok_or(ParseError::MissingField(field))?).ok_or(ParseError::BadAddress(field))
}

/// `... <a> SRC ... <b> DST ...`: source after `a`, destination after the following `b`.
fn from_to(w: &Words<'_>, a: &[u8], b: &[u8]) -> Result<Flow, ParseError> {
    let (i, src) = w.after(a, 0).ok_or(ParseError::MissingField("source"))?;
    let dst = w.after(b, i + 1).map(|(_, d)| d);
    Ok(Flow {
        src: addr(Some(src), "source")?,
        dst: Some(addr(dst, "destination")?),
        direction: None,
    })
}

/// `Built inbound|outbound ...`: for outbound connections the inside host (second) initiated.
fn built(w: &Words<'_>, a: &[u8], b: &[u8]) -> Result<Flow, ParseError> {
    let mut flow = from_to(w, a, b)?;
    if w.get(1)
        .is_some_and(|d| d.eq_ignore_ascii_case(b"outbound"))
    {
        let first = flow.src;
        flow.src = flow.dst.unwrap_or(first);
        flow.dst = Some(first);
        flow.direction = Some(Direction::Outbound);
    } else {
        flow.direction = Some(Direction::Inbound);
    }
    Ok(flow)
}

/// `access-list NAME permitted|denied PROTO [for user U] iface/src(port) -> iface/dst(port) ...`.
fn access_list(w: &Words<'_>) -> Result<Flow, ParseError> {
    let arrow = w.find(b"->", 0).ok_or(ParseError::MissingField("->"))?;
    let src = arrow.checked_sub(1).and_then(|i| w.get(i));
    Ok(Flow {
        src: addr(src, "source")?,
        dst: Some(addr(w.get(arrow + 1), "destination")?),
        direction: None,
    })
}

/// `Denied ICMP type=N, code=N from ADDR on interface X` (313004 also names `to ADDR`).
fn icmp_denied(w: &Words<'_>) -> Result<Flow, ParseError> {
    let (i, src) = w
        .after(b"from", 0)
        .ok_or(ParseError::MissingField("source"))?;
    let dst = w.after(b"to", i + 1).and_then(|(_, d)| endpoint(d));
    Ok(Flow {
        src: addr(Some(src), "source")?,
        dst,
        direction: None,
    })
}

/// `[ 192.0.2.1] drop rate-1 exceeded ...`: threat detection naming a host; other objects are not traffic.
fn threat(text: &[u8]) -> Result<Flow, ParseError> {
    let open = memchr::memchr(b'[', text).ok_or(ParseError::NotTraffic)?;
    let close = memchr::memchr(b']', text).ok_or(ParseError::NotTraffic)?;
    let object = text
        .get(open + 1..close)
        .ok_or(ParseError::NotTraffic)?
        .trim_ascii();
    let ip = crate::event::parse_ip(object).ok_or(ParseError::NotTraffic)?;
    if memmem::find(text, b"drop rate").is_none() {
        return Err(ParseError::NotTraffic);
    }
    Ok(Flow {
        src: (ip, None),
        dst: None,
        direction: None,
    })
}
