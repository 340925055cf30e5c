//! Juniper SRX `RT_FLOW_SESSION_CREATE` / `_CLOSE` / `_DENY` (and their `_LS` variants) in the structured-data and
//! the plain-text forms: bytes in, one [`Event`] out; the other Junos events that name a remote address (screens,
//! IDP, application tracking, management logins) are [`junos`]'s. No allocation, no IO.

mod junos;

use super::syslog::{self, Stamps};
use super::ParseError;
use crate::address::{parse_ip, parse_port, parse_u64, Endpoint};
use crate::event::{Action, Event, Proto};
use memchr::memmem::{self, Finder};
use std::sync::LazyLock;

const TAG: &[u8] = b"RT_FLOW_SESSION_";
static FIND_TAG: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(TAG));

/// Cheap test: an `RT_FLOW_SESSION_` event name, or another Junos event [`junos`] reads.
pub fn looks_like(line: &[u8]) -> bool {
    FIND_TAG.find(line).is_some() || junos::looks_like(line)
}

/// Parses one SRX flow-session line, with or without its syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let Some(at) = FIND_TAG.find(line) else {
        return junos::parse(line, stamps);
    };
    let rest = line.get(at + TAG.len()..).unwrap_or_default();
    let kind_len = rest
        .iter()
        .take_while(|c| c.is_ascii_uppercase() || **c == b'_')
        .count();
    let action = match rest.get(..kind_len).unwrap_or_default() {
        b"CREATE" | b"CREATE_LS" | b"CLOSE" | b"CLOSE_LS" => Action::Allow,
        b"DENY" | b"DENY_LS" => Action::Drop,
        _ => return Err(ParseError::NotTraffic),
    };
    let body = rest.get(kind_len..).unwrap_or_default();
    let (header, _) = syslog::split(line, stamps);
    let flow = match memmem::find(body, b"[junos@") {
        Some(sd) => structured(body.get(sd..).unwrap_or_default())?,
        None => plain(body)?,
    };
    Ok(Event {
        kind: crate::event::Kind::Traffic,
        time: header.time,
        device: header.host,
        src_ip: Some(flow.src.0),
        src_port: flow.src.1,
        dst_ip: Some(flow.dst.0),
        dst_port: flow.dst.1,
        proto: flow.proto,
        action: Some(action),
        direction: None,
        http_status: None,
        service: None,
    })
}

struct Flow {
    src: Endpoint,
    dst: Endpoint,
    proto: Option<Proto>,
}

/// The value of ` key="value"` inside a structured-data element (the key must start a parameter).
fn param<'a>(sd: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    loop {
        let at = from + memmem::find(sd.get(from..)?, key)?;
        from = at + key.len();
        let starts = at > 0 && sd.get(at - 1) == Some(&b' ');
        let Some(value) = sd.get(from..).and_then(|r| r.strip_prefix(b"=\"")) else {
            continue;
        };
        if starts {
            return value.get(..memchr::memchr(b'"', value)?);
        }
    }
}

fn proto_id(v: &[u8]) -> Option<Proto> {
    u8::try_from(parse_u64(v)?).ok().map(Proto::from_number)
}

fn structured(sd: &[u8]) -> Result<Flow, ParseError> {
    let ip = |key: &'static str| {
        let v = param(sd, key.as_bytes()).ok_or(ParseError::MissingField(key))?;
        parse_ip(v).ok_or(ParseError::BadAddress(key))
    };
    let port = |key: &'static str| {
        param(sd, key.as_bytes())
            .map(|v| parse_port(v).ok_or(ParseError::BadNumber(key)))
            .transpose()
    };
    let proto = proto_id(param(sd, b"protocol-id").unwrap_or_default());
    let icmp = matches!(proto, Some(Proto::Icmp | Proto::Icmpv6));
    let no_icmp_port = |p: Option<u16>| if icmp { None } else { p };
    Ok(Flow {
        src: (ip("source-address")?, no_icmp_port(port("source-port")?)),
        dst: (
            ip("destination-address")?,
            no_icmp_port(port("destination-port")?),
        ),
        proto,
    })
}

/// `a/p->b/q`, IPv4 or IPv6.
fn pair(word: &[u8]) -> Option<(Endpoint, Endpoint)> {
    let arrow = memmem::find(word, b"->")?;
    let side = |s: &[u8]| {
        let slash = memchr::memrchr(b'/', s)?;
        Some((parse_ip(s.get(..slash)?)?, parse_port(s.get(slash + 1..)?)))
    };
    Some((side(word.get(..arrow)?)?, side(word.get(arrow + 2..)?)?))
}

/// `session created|closed [reason:] a/p->b/q [tag] service a'/p'->b'/q' [tag] NAT-rules proto ...` or
/// `session denied a/p->b/q [tag] service proto(icmp-type) ...`.
fn plain(body: &[u8]) -> Result<Flow, ParseError> {
    let mut words = body.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let (src, dst) = words
        .by_ref()
        .find_map(pair)
        .ok_or(ParseError::MissingField("source-address"))?;
    let mut words = words
        .skip_while(|w| w.starts_with(b"0x"))
        .skip(1)
        .peekable();
    let proto = match words.peek() {
        // Deny: `6(0)`.
        Some(w) if w.ends_with(b")") => w.split(|&c| c == b'(').next().and_then(proto_id),
        // Create / close: NAT pair, optional tag, then two NAT rule (type, name) pairs before the protocol.
        _ => {
            let mut rest = words
                .skip(1)
                .skip_while(|w| w.starts_with(b"0x"))
                .peekable();
            for _ in 0..2 {
                let kind = rest.next();
                if kind != Some(b"N/A") && rest.peek() == Some(&&b"rule"[..]) {
                    rest.next();
                }
                rest.next();
            }
            rest.next().and_then(proto_id)
        }
    };
    let icmp = matches!(proto, Some(Proto::Icmp | Proto::Icmpv6));
    let strip = |(ip, port): Endpoint| (ip, if icmp { None } else { port });
    Ok(Flow {
        src: strip(src),
        dst: strip(dst),
        proto,
    })
}

#[cfg(test)]
mod tests;
