//! Junos events beside the flow sessions that name a remote address: screens (`RT_SCREEN_*`: floods, scans,
//! spoofing), IDP attacks (`RT_IDP_ATTACK_LOG_EVENT`, `IDP_ATTACK_LOG_EVENT`), application tracking
//! (`APPTRACK_SESSION_*`), and management logins (`UI_LOGIN_EVENT` over SSH, `SSHD_LOGIN_FAILED`, `LOGIN_FAILED`,
//! `rshd` commands), in the structured-data and the plain-text forms. The event name is the RFC 5424 MSGID, or
//! the message's first word (after a `daemon[pid]:` tag when there is one). No allocation, no IO.

use std::net::IpAddr;

use memchr::memmem;

use super::{pair, param, proto_id, structured};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Direction, Event, Kind, Proto, Service};
use crate::parsers::syslog::{self, Header, Stamps};
use crate::parsers::{verdict, ParseError};

/// The Junos events this module reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    Screen,
    Idp,
    AppTrack,
    UiLogin,
    SshdLoginFailed,
    LoginFailed,
    Rshd,
}

/// The event's name and the words after it, with the syslog header.
struct Found<'a> {
    header: Header<'a>,
    name: Name,
    /// The event name's own text (`RT_SCREEN_TCP`).
    text: &'a [u8],
    body: &'a [u8],
}

fn name_of(word: &[u8]) -> Option<Name> {
    let starts = |p: &[u8]| word.starts_with(p);
    Some(if starts(b"RT_SCREEN_") {
        Name::Screen
    } else if starts(b"RT_IDP_ATTACK_LOG_EVENT") || starts(b"IDP_ATTACK_LOG_EVENT") {
        Name::Idp
    } else if starts(b"APPTRACK_SESSION_") {
        Name::AppTrack
    } else {
        match word {
            b"UI_LOGIN_EVENT" => Name::UiLogin,
            b"SSHD_LOGIN_FAILED" => Name::SshdLoginFailed,
            b"LOGIN_FAILED" => Name::LoginFailed,
            _ => return None,
        }
    })
}

/// The first space-delimited word and what follows it.
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b' ', s).unwrap_or(s.len());
    (
        s.get(..end).unwrap_or_default(),
        s.get(end..).unwrap_or_default().trim_ascii_start(),
    )
}

/// `rshd` or `rshd[pid]:` as a tag word.
fn is_rshd(tag: &[u8]) -> bool {
    let tag = tag.strip_suffix(b":").unwrap_or(tag);
    tag == b"rshd" || (tag.starts_with(b"rshd[") && tag.ends_with(b"]"))
}

/// The event of `line`, its header split by `split`.
fn find<'a>(
    line: &'a [u8],
    split: impl FnOnce(&'a [u8]) -> (Header<'a>, &'a [u8]),
) -> Option<Found<'a>> {
    // Every name holds an underscore; rshd's tag is matched whole.
    memchr::memchr(b'_', line).or_else(|| memmem::find(line, b"rshd"))?;
    let (header, msg) = split(line);
    if let Some(id) = header.msgid {
        if let Some(name) = name_of(id) {
            return Some(Found {
                header,
                name,
                text: id,
                body: msg,
            });
        }
    }
    if header.app.is_some_and(|a| a == b"rshd") {
        return Some(Found {
            header,
            name: Name::Rshd,
            text: b"rshd",
            body: msg,
        });
    }
    // The event name opens the message, or follows a `daemon[pid]:` tag that no syslog header took.
    let (first, rest) = word(msg);
    if is_rshd(first) {
        return Some(Found {
            header,
            name: Name::Rshd,
            text: b"rshd",
            body: rest,
        });
    }
    let named = |w: &'a [u8], body: &'a [u8]| {
        let text = w.strip_suffix(b":").unwrap_or(w);
        name_of(text).map(|name| Found {
            header,
            name,
            text,
            body,
        })
    };
    named(first, rest).or_else(|| {
        let (second, rest) = word(rest);
        first.ends_with(b":").then(|| named(second, rest)).flatten()
    })
}

/// True for a Junos event this module reads.
pub fn looks_like(line: &[u8]) -> bool {
    find(line, syslog::split_untimed).is_some()
}

/// Parses one Junos event line of the kinds this module reads.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let found = find(line, |l| syslog::split(l, stamps)).ok_or(ParseError::NotTraffic)?;
    let body = found.body;
    let sd = found
        .header
        .structured_data
        .or_else(|| memmem::find(body, b"[junos@").and_then(|at| body.get(at..)));
    let mut event = match found.name {
        Name::Screen => screen(found.text, body, sd)?,
        Name::Idp => idp(body, sd)?,
        Name::AppTrack => app_track(body, sd)?,
        Name::UiLogin => ui_login(body, sd)?,
        Name::SshdLoginFailed | Name::LoginFailed => login_failed(body, sd)?,
        Name::Rshd => rshd(body)?,
    };
    event.time = found.header.time;
    event.device = found.header.host;
    Ok(event)
}

/// `RT_SCREEN_TCP: SYN flood! source: A:P, destination: B:Q, zone name: Z, interface name: I, action: drop`, or
/// its structured form (`source-address`, …, `action`).
fn screen<'a>(name: &[u8], body: &[u8], sd: Option<&[u8]>) -> Result<Event<'a>, ParseError> {
    let proto = match name.strip_prefix(b"RT_SCREEN_").unwrap_or_default() {
        n if n.starts_with(b"TCP") => Some(Proto::Tcp),
        n if n.starts_with(b"UDP") => Some(Proto::Udp),
        n if n.starts_with(b"ICMP") => Some(Proto::Icmp),
        _ => None,
    };
    let mut event = match sd {
        Some(sd) => flow_of_structured(sd)?,
        None => {
            let ported = matches!(proto, Some(Proto::Tcp | Proto::Udp));
            let src =
                labelled(body, b"source: ", ported).ok_or(ParseError::MissingField("source"))?;
            let dst = labelled(body, b"destination: ", ported);
            Event {
                src_ip: Some(src.0),
                src_port: src.1,
                dst_ip: dst.map(|d| d.0),
                dst_port: dst.and_then(|d| d.1),
                proto: labelled_text(body, b"protocol-id: ").and_then(proto_id),
                action: labelled_text(body, b"action: ").and_then(verdict::from_word),
                ..Event::default()
            }
        }
    };
    event.proto = event.proto.or(proto);
    event.direction = Some(Direction::Inbound);
    Ok(event)
}

/// The text after `label` up to the next comma.
fn labelled_text<'a>(body: &'a [u8], label: &[u8]) -> Option<&'a [u8]> {
    let at = memmem::find(body, label)? + label.len();
    let value = body.get(at..)?;
    Some(
        value
            .get(..memchr::memchr(b',', value).unwrap_or(value.len()))?
            .trim_ascii(),
    )
}

/// `A` or `A:P` after `label`; `ported` prefers the split at the last colon (an IPv6 address keeps its own).
fn labelled(body: &[u8], label: &[u8], ported: bool) -> Option<(IpAddr, Option<u16>)> {
    let value = labelled_text(body, label)?;
    let split = memchr::memrchr(b':', value).and_then(|colon| {
        Some((
            parse_ip(value.get(..colon)?)?,
            Some(parse_port(value.get(colon + 1..)?)?),
        ))
    });
    let whole = parse_ip(value).map(|ip| (ip, None));
    if ported {
        split.or(whole)
    } else {
        whole.or(split)
    }
}

/// The flow of a structured event (`source-address`, `source-port`, …, `protocol-id` or `protocol-name`,
/// `action`).
fn flow_of_structured<'a>(sd: &[u8]) -> Result<Event<'a>, ParseError> {
    let flow = structured(sd)?;
    let proto = flow
        .proto
        .or_else(|| param(sd, b"protocol-name").and_then(Proto::parse));
    Ok(Event {
        src_ip: Some(flow.src.0),
        src_port: flow.src.1,
        dst_ip: Some(flow.dst.0),
        dst_port: flow.dst.1,
        proto,
        action: param(sd, b"action").and_then(idp_action),
        ..Event::default()
    })
}

/// IDP actions: drops are `drop`, closes (a reset to the client, the server or both) `reject`, no action `allow`.
fn idp_action(word: &[u8]) -> Option<Action> {
    let mut buf = [0u8; 32];
    let word = word.trim_ascii();
    let lower = buf.get_mut(..word.len())?;
    lower.copy_from_slice(word);
    lower.make_ascii_lowercase();
    match &*lower {
        b"drop" | b"drop_packet" | b"drop_connection" | b"drop-packet" | b"drop-connection" => {
            Some(Action::Drop)
        }
        w if w.starts_with(b"close") => Some(Action::Reject),
        b"none" | b"ignore" | b"ignore_connection" | b"no-action" | b"no_action" => {
            Some(Action::Allow)
        }
        w => verdict::from_word(w),
    }
}

/// `IDP: at T, SIG Attack log <A/P->B/Q> for TCP protocol and service S … action=DROP, …`, or structured.
fn idp<'a>(body: &[u8], sd: Option<&[u8]>) -> Result<Event<'a>, ParseError> {
    if let Some(sd) = sd {
        return flow_of_structured(sd);
    }
    let open = memchr::memchr(b'<', body).ok_or(ParseError::MissingField("source-address"))?;
    let inner = body.get(open + 1..).unwrap_or_default();
    // The pair ends at the `>` after its arrow's.
    let arrow = memmem::find(inner, b"->").map_or(0, |a| a + 2);
    let close = inner
        .get(arrow..)
        .and_then(|r| memchr::memchr(b'>', r))
        .map_or(inner.len(), |c| arrow + c);
    let inner = inner.get(..close).unwrap_or_default();
    let (src, dst) = pair(inner).ok_or(ParseError::BadAddress("source-address"))?;
    let proto = memmem::find(body, b"> for ")
        .and_then(|at| body.get(at + b"> for ".len()..))
        .map(|rest| word(rest).0)
        .and_then(Proto::parse);
    let action = memmem::find(body, b" action=")
        .and_then(|at| body.get(at + b" action=".len()..))
        .map(|rest| {
            rest.get(..memchr::memchr(b',', rest).unwrap_or(rest.len()))
                .unwrap_or_default()
        })
        .and_then(idp_action);
    let icmp = matches!(proto, Some(Proto::Icmp | Proto::Icmpv6));
    let port = |p: Option<u16>| if icmp { None } else { p };
    Ok(Event {
        src_ip: Some(src.0),
        src_port: port(src.1),
        dst_ip: Some(dst.0),
        dst_port: port(dst.1),
        proto,
        action,
        ..Event::default()
    })
}

/// `APPTRACK_SESSION_*`: a session the firewall let through (structured, or `AppTrack session … A/P->B/Q …`).
fn app_track<'a>(body: &[u8], sd: Option<&[u8]>) -> Result<Event<'a>, ParseError> {
    let mut event = match sd {
        Some(sd) => flow_of_structured(sd)?,
        None => {
            let mut words = body.split(|&c| c == b' ');
            let (src, dst) = words
                .find_map(pair)
                .ok_or(ParseError::MissingField("source-address"))?;
            Event {
                src_ip: Some(src.0),
                src_port: src.1,
                dst_ip: Some(dst.0),
                dst_port: dst.1,
                ..Event::default()
            }
        }
    };
    event.action = Some(Action::Allow);
    Ok(event)
}

/// A management login over SSH: `User 'U' login, class 'C' [pid], ssh-connection 'A P B Q', client-mode 'cli'`
/// (or `ssh-connection="A P B Q"`). A console login names no address.
fn ui_login<'a>(body: &[u8], sd: Option<&[u8]>) -> Result<Event<'a>, ParseError> {
    let conn = match sd {
        Some(sd) => param(sd, b"ssh-connection"),
        None => memmem::find(body, b"ssh-connection '").and_then(|at| {
            let rest = body.get(at + b"ssh-connection '".len()..)?;
            rest.get(..memchr::memchr(b'\'', rest)?)
        }),
    }
    .ok_or(ParseError::NotTraffic)?;
    let mut parts = conn.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let src = parts
        .next()
        .and_then(parse_ip)
        .ok_or(ParseError::BadAddress("ssh-connection"))?;
    let src_port = parts.next().and_then(parse_port);
    let dst = parts.next().and_then(parse_ip);
    let dst_port = parts.next().and_then(parse_port);
    Ok(login(src, src_port, dst, dst_port, Action::Allow))
}

/// `Login failed for user 'U' from host 'A'` (quoted or not), or structured `source-address="A"`.
fn login_failed<'a>(body: &[u8], sd: Option<&[u8]>) -> Result<Event<'a>, ParseError> {
    let host = match sd.and_then(|sd| param(sd, b"source-address")) {
        Some(a) => a,
        None => {
            let at = memmem::rfind(body, b" from host ").ok_or(ParseError::NotTraffic)?
                + b" from host ".len();
            let value = body.get(at..).unwrap_or_default();
            let value = value.strip_prefix(b"'").unwrap_or(value);
            value
                .get(
                    ..value
                        .iter()
                        .position(|&c| matches!(c, b'\'' | b' '))
                        .unwrap_or(value.len()),
                )
                .unwrap_or_default()
        }
    };
    // A console or a host name is no address.
    let src = parse_ip(host).ok_or(ParseError::NotTraffic)?;
    Ok(login(src, None, None, None, Action::Fail))
}

/// `rshd[pid]: user@A as user: cmd='…'`: a remote shell command the router ran.
fn rshd<'a>(body: &[u8]) -> Result<Event<'a>, ParseError> {
    let (first, _) = word(body);
    let at = memchr::memrchr(b'@', first).ok_or(ParseError::NotTraffic)?;
    let src = first
        .get(at + 1..)
        .and_then(parse_ip)
        .ok_or(ParseError::NotTraffic)?;
    Ok(login(src, None, None, None, Action::Allow))
}

fn login<'a>(
    src: IpAddr,
    src_port: Option<u16>,
    dst: Option<IpAddr>,
    dst_port: Option<u16>,
    action: Action,
) -> Event<'a> {
    Event {
        kind: Kind::Auth,
        src_ip: Some(src),
        src_port,
        dst_ip: dst,
        dst_port,
        proto: Some(Proto::Tcp),
        action: Some(action),
        direction: Some(Direction::Inbound),
        service: Some(Service::Admin),
        ..Event::default()
    }
}
