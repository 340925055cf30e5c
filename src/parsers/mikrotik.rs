//! MikroTik RouterOS logs, behind a syslog header or as `/log print` shows them.
//!
//! Firewall rules with `log=yes`: `[firewall,info ][<log-prefix> ]<chain>: in:<if> out:<if>, [connection-state:…
//! ][src-mac …, ]proto TCP (SYN), 203.0.113.5:40112->192.0.2.10:22, [NAT (…)->…, ]len 60` (ICMP: `proto ICMP (type
//! 8, code 0), A->B, …`; IPv6: `[2001:db8::1]:40112->[2001:db8::2]:22`). The action comes from the log prefix
//! through the same prefix rules as netfilter's (`drop-in` → drop; none matching: the rules' fallback); the
//! direction from the chain (`input` inbound, `output` outbound).
//!
//! Logins (`system,info,account` and `system,error,critical` topics): `login failure for user admin from A via
//! ssh` (failed), `user admin logged in from A via winbox` (succeeded), `user admin logged out from A via …`.
//!
//! Pure byte scanning: no IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::{self, Finder};

use super::netfilter::PrefixActions;
use super::syslog::Stamps;
use super::{origin, syslog, ParseError};
use crate::address::{parse_endpoint, parse_ip};
use crate::event::{Action, Direction, Event, Kind, Proto};

static IN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b": in:"));
static PROTO: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" proto "));
static LOGIN_FAILURE: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"login failure for user "));
static LOGGED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" logged "));
static DEFAULT_ACTIONS: LazyLock<PrefixActions> = LazyLock::new(PrefixActions::default);

/// True for a firewall line (`<chain>: in:` then ` proto `) or a login line (`login failure for user`, `user … logged
/// in from … via`).
pub fn looks_like(line: &[u8]) -> bool {
    if let Some(at) = IN.find(line) {
        return line
            .get(at..)
            .is_some_and(|rest| PROTO.find(rest).is_some() && memmem::find(rest, b"->").is_some());
    }
    login(line).is_some()
}

/// Parses a line with the built-in prefix rules.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    parse_with(line, &DEFAULT_ACTIONS, stamps)
}

/// Parses a line, reading a firewall line's action from its log prefix through `actions`.
pub fn parse_with<'a>(
    line: &'a [u8],
    actions: &PrefixActions,
    stamps: &mut Stamps,
) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let mut event = match IN.find(line) {
        Some(at) => firewall(line, at, actions)?,
        None => {
            let (action, from) = login(line).ok_or(ParseError::NotTraffic)?;
            Event {
                kind: Kind::Auth,
                src_ip: Some(parse_ip(from).ok_or(ParseError::BadAddress("from"))?),
                action,
                ..Event::default()
            }
        }
    };
    origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

/// A firewall line whose `: in:` is at `at`.
fn firewall<'a>(
    line: &'a [u8],
    at: usize,
    actions: &PrefixActions,
) -> Result<Event<'a>, ParseError> {
    let before = line.get(..at).unwrap_or_default();
    let chain_start = before.iter().rposition(|&c| c == b' ').map_or(0, |i| i + 1);
    let chain = before.get(chain_start..).unwrap_or_default();
    let prefix = prefix(before.get(..chain_start).unwrap_or_default());
    let rest = line.get(at..).unwrap_or_default();
    let p = PROTO.find(rest).ok_or(ParseError::MissingField("proto"))?;
    let mut words = rest.get(p + 7..).unwrap_or_default().split(|&c| c == b' ');
    let name = words.next().unwrap_or_default();
    let name = name.strip_suffix(b",").unwrap_or(name);
    let proto = Proto::parse(name).ok_or(ParseError::BadNumber("proto"))?;
    // The flags in parentheses (`(SYN)`, `(type 8, code 0)`), then the addresses.
    let after = rest.get(p + 7 + name.len()..).unwrap_or_default();
    let after = match after.trim_ascii_start().strip_prefix(b",") {
        Some(a) => a,
        None => after,
    };
    let after = after.trim_ascii_start();
    let after = match after.strip_prefix(b"(") {
        Some(flags) => {
            let close = memchr::memchr(b')', flags).ok_or(ParseError::Malformed)?;
            flags.get(close + 1..).unwrap_or_default()
        }
        None => after,
    };
    let after = after.trim_ascii_start();
    let after = after.strip_prefix(b",").unwrap_or(after).trim_ascii_start();
    let flow_end = memchr::memchr(b',', after).unwrap_or(after.len());
    let flow = after.get(..flow_end).unwrap_or_default();
    let arrow = memmem::find(flow, b"->").ok_or(ParseError::MissingField("->"))?;
    let (src_ip, src_port) = parse_endpoint(flow.get(..arrow).unwrap_or_default());
    let (dst_ip, dst_port) = parse_endpoint(flow.get(arrow + 2..).unwrap_or_default());
    Ok(Event {
        kind: Kind::Traffic,
        src_ip: Some(src_ip.ok_or(ParseError::BadAddress("source"))?),
        src_port,
        dst_ip: Some(dst_ip.ok_or(ParseError::BadAddress("destination"))?),
        dst_port,
        proto: Some(proto),
        action: Some(actions.lookup(prefix).unwrap_or(actions.fallback())),
        direction: match chain {
            b"input" | b"prerouting" => Some(Direction::Inbound),
            b"output" | b"postrouting" => Some(Direction::Outbound),
            _ => None,
        },
        ..Event::default()
    })
}

/// The log prefix: the text before the chain, after the syslog header and the topics (`firewall,info`).
fn prefix(text: &[u8]) -> &[u8] {
    let msg = syslog::message(text);
    let msg = msg.trim_ascii();
    match msg.iter().position(|&c| c == b' ') {
        Some(i) if is_topics(msg.get(..i).unwrap_or_default()) => {
            msg.get(i + 1..).unwrap_or_default()
        }
        None if is_topics(msg) => b"",
        _ => msg,
    }
}

/// `firewall,info`, `firewall,warning,debug`: RouterOS log topics.
fn is_topics(word: &[u8]) -> bool {
    word.starts_with(b"firewall") && word.iter().all(|&c| c.is_ascii_lowercase() || c == b',')
}

/// A login line's result and remote address.
fn login(line: &[u8]) -> Option<(Option<Action>, &[u8])> {
    let (action, rest) = if let Some(at) = LOGIN_FAILURE.find(line) {
        (Some(Action::Fail), line.get(at..)?)
    } else {
        let at = LOGGED.find(line)?;
        let rest = line.get(at + 8..)?;
        let action = if rest.starts_with(b"in from ") {
            Some(Action::Allow)
        } else if rest.starts_with(b"out from ") {
            None
        } else {
            return None;
        };
        (action, rest)
    };
    let from = memmem::find(rest, b" from ")?;
    let mut words = rest.get(from + 6..)?.split(|&c| c == b' ');
    let addr = words.next()?;
    (words.next() == Some(b"via")).then_some((action, addr))
}
