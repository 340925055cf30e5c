//! Cisco ASA / FTD syslog messages that name a remote address: traffic verdicts (deny, access-list,
//! built/teardown, ICMP denies, FTD connection, intrusion and file events), the traffic messages that are no verdict
//! (NAT translations, routing failures, shunned and spoofed packets, botnet filter, SSL handshakes, local hosts,
//! Snort proxy hand-overs) and, in [`vpn`], logins and remote access (AAA, management, AnyConnect, WebVPN, IKE).
//! Bytes in, one [`Event`] out; a message that names no address is `NotTraffic`. No allocation, no IO.

mod ftd;
mod vpn;
mod words;

use super::syslog::{self, Stamps};
use super::ParseError;
use crate::event::{Action, Direction, Event, Kind, Proto};
use memchr::memmem;
use words::{endpoint, Words};

/// Cheap test: a `%ASA-`, `%FTD-`, `%PIX-` or `%NGIPS-` message tag, or an AnyConnect / WebVPN message body
/// without its tag.
pub fn looks_like(line: &[u8]) -> bool {
    tag(line).is_some() || vpn::untagged(syslog::message(line.trim_ascii()))
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
    let id = u32::try_from(crate::address::parse_u64(id)?).ok()?;
    Some((id, rest.get(colon + 1..)?.trim_ascii_start()))
}

/// Parses one ASA / FTD line, with or without its syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (header, msg) = syslog::split(line, stamps);
    let (id, text) = message(msg)
        .or_else(|| vpn::untagged(msg).then_some((0, msg.trim_ascii_start())))
        .ok_or(ParseError::NotTraffic)?;
    let event = Event {
        time: header.time,
        device: header.host,
        ..Event::default()
    };
    if matches!(id, 430001..=430005) {
        return ftd::parse(text, event);
    }
    if let Some(login) = vpn::parse(id, text, event) {
        return login;
    }
    let w = Words::split(text);
    let flow = match id {
        106001 | 106006 | 106007 | 106012 | 106015 | 106016 | 106017 => from_to(&w, b"from", b"to"),
        106020 | 106021 | 106022 | 108003 | 110002 | 110003 | 202010 => from_to(&w, b"from", b"to"),
        305009..=305012 | 338001..=338008 | 400000..=400050 => from_to(&w, b"from", b"to"),
        402117 | 402119 | 419002 | 500004 | 710001..=710006 => from_to(&w, b"from", b"to"),
        852001 => from_to(&w, b"flow", b"to"),
        106010 | 106014 | 106023 | 305005 | 305006 | 305013 | 313005 => from_to(&w, b"src", b"dst"),
        106018 | 209004 | 209005 => from_to(&w, b"src", b"dest"),
        304001 => url(&w),
        304002 => from_to(&w, b"SRC", b"DEST"),
        106100 | 106102 | 106103 => access_list(&w),
        302013 | 302015 => built(&w, b"for", b"to"),
        302014 | 302016 | 313009 => from_to(&w, b"for", b"to"),
        302020 => built(&w, b"faddr", b"laddr"),
        302021 => from_to(&w, b"faddr", b"laddr"),
        313001 | 313004 | 313008 => icmp_denied(&w),
        401004 => shunned(&w),
        609001 | 609002 | 733102 | 733103 => host(&w),
        725001..=725007 => handshake(&w),
        733100 => threat(text),
        _ => return Err(ParseError::NotTraffic),
    }?;
    let mut event = flow.into_event(event, action_of(id, &w), &w);
    match id {
        304001 => event.kind = Kind::Web,
        313005 => event.proto = Some(Proto::Icmp),
        725001..=725007 => event.proto = Some(Proto::Tcp),
        // Messages that name the protocol further in (`Routing failed to locate next hop for TCP from …`).
        106001..=106023 | 302013..=302021 | 313001..=313009 | 710003 | 733100 => {}
        _ if event.proto.is_none() => event.proto = w.proto(12),
        _ => {}
    }
    Ok(event)
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
        302013..=302021 | 304001 | 305009..=305012 | 710002 => Some(Action::Allow),
        338001..=338004 | 725001..=725005 | 725007 => Some(Action::Allow),
        725006 => Some(Action::Reject),
        106100 | 106102 | 106103 => {
            if w.find(b"denied", 0).is_some() {
                Some(Action::Drop)
            } else {
                Some(Action::Allow)
            }
        }
        // Bookkeeping of a host or a flow, IDS alarms (whose action the audit policy decides), access requested.
        400000..=400050 | 609001 | 609002 | 710001 | 733103 | 852001 => None,
        _ => Some(Action::Drop),
    }
}

fn addr(
    word: Option<&[u8]>,
    field: &'static str,
) -> Result<(std::net::IpAddr, Option<u16>), ParseError> {
    endpoint(word.ok_or(ParseError::MissingField(field))?).ok_or(ParseError::BadAddress(field))
}

/// `... <a> SRC ... <b> DST ...`: source after `a`, destination after the following `b` (each behind an `=` word
/// when there is one: `src = A, dest = B`).
fn from_to<'a>(w: &Words<'a>, a: &[u8], b: &[u8]) -> Result<Flow, ParseError> {
    let value = |(i, word): (usize, &'a [u8])| match word {
        b"=" => w.get(i + 1).map(|v| (i + 1, v)),
        _ => Some((i, word)),
    };
    let (i, src) = w
        .after(a, 0)
        .and_then(value)
        .ok_or(ParseError::MissingField("source"))?;
    let dst = w.after(b, i + 1).and_then(value).map(|(_, d)| d);
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

/// 304001 `[user@]A [(user)] Accessed URL B:/path`: a web request through the firewall.
fn url(w: &Words<'_>) -> Result<Flow, ParseError> {
    let src = w
        .get(0)
        .map(|s| s.rsplit(|&c| c == b'@').next().unwrap_or(s));
    let (_, dst) = w
        .after(b"URL", 0)
        .ok_or(ParseError::MissingField("destination"))?;
    Ok(Flow {
        src: addr(src, "source")?,
        dst: Some(addr(Some(dst), "destination")?),
        direction: None,
    })
}

/// 401004 `Shunned packet: A ==> B on interface X`.
fn shunned(w: &Words<'_>) -> Result<Flow, ParseError> {
    let arrow = w.find(b"==>", 0).ok_or(ParseError::MissingField("==>"))?;
    Ok(Flow {
        src: addr(arrow.checked_sub(1).and_then(|i| w.get(i)), "source")?,
        dst: Some(addr(w.get(arrow + 1), "destination")?),
        direction: None,
    })
}

/// 609001 / 609002 `Built|Teardown local-host iface:A`, 733102 / 733103 `Threat-detection adds|removes host A to|from
/// shun list`: the one host named.
fn host(w: &Words<'_>) -> Result<Flow, ParseError> {
    let (_, word) = w
        .after(b"local-host", 0)
        .or_else(|| w.after(b"host", 0))
        .ok_or(ParseError::MissingField("host"))?;
    Ok(Flow {
        src: addr(Some(word), "host")?,
        dst: None,
        direction: None,
    })
}

/// 725001–725007 `… SSL handshake with client iface:A/P …`, `SSL session with client iface:A/P terminated`: the
/// client is the source. (With `server`, the firewall is the client of a server of its own: `NotTraffic`.)
fn handshake(w: &Words<'_>) -> Result<Flow, ParseError> {
    let (_, word) = w.after(b"client", 0).ok_or(ParseError::NotTraffic)?;
    Ok(Flow {
        src: addr(Some(word), "client")?,
        dst: None,
        direction: Some(Direction::Inbound),
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
    let ip = crate::address::parse_ip(object).ok_or(ParseError::NotTraffic)?;
    if memmem::find(text, b"drop rate").is_none() {
        return Err(ParseError::NotTraffic);
    }
    Ok(Flow {
        src: (ip, None),
        dst: None,
        direction: None,
    })
}

#[cfg(test)]
mod tests;
