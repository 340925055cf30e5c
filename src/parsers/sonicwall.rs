//! SonicWall SonicOS native syslog: `id=firewall sn=<serial> time="2024-03-05 10:15:02" fw=<wan ip> pri=6 c=… m=<id>
//! msg="…" … src=<ip>:<port>:<interface>[:<host>] dst=<ip>:<port>:<interface>[:<host>] proto=tcp/443 …
//! fw_action="drop"`, behind a syslog header or bare (IPv6 in `srcV6=` / `dstV6=`).
//!
//! The verdict is `fw_action` (`drop`, `forward`; `NA` says nothing), else the message (`… dropped`, `… blocked`,
//! `… denied` drop; `Connection Opened`, `Connection Closed` allow). A message about a login (`Administrator login
//! allowed`, `User login failed`, `SSL VPN zone remote user login allowed`, …) is a login event. Time: `time` (the
//! firewall's local clock, read as UTC unless it ends in `UTC`); device: `sn`. Pure byte scanning: no IO, no
//! allocation, no panics.

use std::net::IpAddr;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::kv::Pairs;
use super::syslog::Stamps;
use super::{civil, origin, verdict, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event, Kind, Proto};

static ID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"id="));
static SN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" sn="));
static M: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" m="));

/// True for a line with `id=`, ` sn=` and ` m=`, the first at the start of a word.
pub fn looks_like(line: &[u8]) -> bool {
    ID.find_iter(line)
        .any(|at| at == 0 || line.get(at - 1).is_some_and(|c| matches!(c, b' ' | b'>')))
        && SN.find(line).is_some()
        && M.find(line).is_some()
}

/// Parses one SonicOS line (see the module comment).
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let mut f = Found::default();
    for (key, value) in Pairs::new(line) {
        f.take(key, value);
    }
    if f.id.is_none() {
        return Err(ParseError::Malformed);
    }
    let (src_ip, src_port) = match (f.src, f.src6) {
        (_, Some(v6)) => (parse_ip(v6), f.src.and_then(|s| endpoint(s).1)),
        (Some(s), None) => endpoint(s),
        (None, None) => return Err(ParseError::NotTraffic),
    };
    let (dst_ip, dst_port) = match (f.dst, f.dst6) {
        (_, Some(v6)) => (parse_ip(v6), f.dst.and_then(|s| endpoint(s).1)),
        (Some(d), None) => endpoint(d),
        (None, None) => (None, None),
    };
    let (proto, proto_port) = f.proto.map(protocol).unwrap_or_default();
    // ICMP messages carry the ICMP type where a port would be.
    let (src_port, dst_port) = match proto {
        Some(Proto::Icmp | Proto::Icmpv6) => (None, None),
        _ => (src_port, dst_port),
    };
    let msg = f.msg.unwrap_or_default();
    let login = login_result(msg);
    let mut event = Event {
        kind: if login.is_some() {
            Kind::Auth
        } else {
            Kind::Traffic
        },
        time: f.time.and_then(civil::date_time),
        device: f.sn.and_then(|s| std::str::from_utf8(s).ok()),
        src_ip: Some(src_ip.ok_or(ParseError::BadAddress("src"))?),
        src_port,
        dst_ip,
        dst_port: dst_port.or(proto_port),
        proto,
        action: login.or_else(|| action(f.fw_action, msg)),
        direction: None,
        http_status: None,
        service: None,
    };
    origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

/// The pairs of one line an event needs.
#[derive(Default)]
struct Found<'a> {
    id: Option<&'a [u8]>,
    sn: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    msg: Option<&'a [u8]>,
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    src6: Option<&'a [u8]>,
    dst6: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    fw_action: Option<&'a [u8]>,
}

impl<'a> Found<'a> {
    fn take(&mut self, key: &[u8], value: &'a [u8]) {
        let key = key.rsplit(|&c| c == b'>').next().unwrap_or(key);
        let slot = match key {
            b"id" => &mut self.id,
            b"sn" => &mut self.sn,
            b"time" => &mut self.time,
            b"msg" => &mut self.msg,
            b"src" => &mut self.src,
            b"dst" => &mut self.dst,
            b"srcV6" => &mut self.src6,
            b"dstV6" => &mut self.dst6,
            b"proto" => &mut self.proto,
            b"fw_action" => &mut self.fw_action,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}

/// `203.0.113.5:52134:X1`, `203.0.113.5:52134:X1:host.example`, `203.0.113.5`, or an IPv6 address alone.
fn endpoint(s: &[u8]) -> (Option<IpAddr>, Option<u16>) {
    if let Some(ip) = parse_ip(s) {
        return (Some(ip), None);
    }
    let mut parts = s.split(|&c| c == b':');
    let ip = parts.next().and_then(parse_ip);
    (ip, parts.next().and_then(parse_port))
}

/// `tcp/443`, `udp/dns`, `icmp`: the protocol and, when it is a number, the service port.
fn protocol(s: &[u8]) -> (Option<Proto>, Option<u16>) {
    let mut parts = s.splitn(2, |&c| c == b'/');
    let proto = parts.next().and_then(Proto::parse);
    (proto, parts.next().and_then(parse_port))
}

/// `fw_action`, else the words of the message.
fn action(fw_action: Option<&[u8]>, msg: &[u8]) -> Option<Action> {
    match fw_action {
        Some(b"forward") => return Some(Action::Allow),
        Some(b"NA") | None => {}
        Some(word) => {
            if let Some(a) = verdict::from_word(word) {
                return Some(a);
            }
        }
    }
    let has = |needle: &[u8]| {
        msg.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if has(b"dropped") || has(b"blocked") || has(b"denied") || has(b"rejected") {
        Some(Action::Drop)
    } else if has(b"connection opened") || has(b"connection closed") || has(b"allowed") {
        Some(Action::Allow)
    } else {
        None
    }
}

/// A message about a login and its result: `… login allowed` / `… login successful` allow, `… login failed`,
/// `… login denied …`, `… login … lockout` fail.
fn login_result(msg: &[u8]) -> Option<Action> {
    let has = |needle: &[u8]| {
        msg.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if !has(b"login") {
        return None;
    }
    if has(b"fail") || has(b"denied") || has(b"lockout") || has(b"locked out") {
        Some(Action::Fail)
    } else if has(b"allowed") || has(b"success") {
        Some(Action::Allow)
    } else {
        None
    }
}
