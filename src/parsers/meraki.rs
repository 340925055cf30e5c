//! Cisco Meraki MX/MR syslog: `<epoch.nanos> <device> <category> …`, behind a syslog header or bare.
//!
//! - `flows`, `firewall`, `vpn_firewall`, `cellular_firewall`, `bridge_anyconnect_client_vpn_firewall`: traffic with
//!   `src`, `dst`, `protocol`, `sport`, `dport`; the verdict is the word after the category (`allow`, `deny`) or the
//!   rule's `pattern:` (`allow …`, `deny …`; older firmware `0 …` allow, `1 …` deny).
//! - `ip_flow_start`, `ip_flow_end`: a flow the appliance carried (allowed).
//! - `urls`: a web request (`src=A:p dst=B:q … request: GET url`).
//! - `security_event`: IDS alerts and malware scans (`src=A:p dst=B:q`), blocked when `decision=blocked` or
//!   `action=block`, else allowed.
//! - `events` that name a remote address: a client VPN connection (`client_vpn_connect … connected from A`, a login
//!   that succeeded), an Auto VPN peer (`vpn_connectivity_change … peer_contact='A:p'`).
//!
//! Pure byte scanning: no IO, no allocation, no panics.

use std::net::IpAddr;

use memchr::memmem;

use super::kv::Pairs;
use super::{civil, verdict, ParseError};
use crate::address::{parse_endpoint, parse_port, parse_u64};
use crate::event::{Action, Event, Kind, Proto};

/// The categories this reader knows, as the word after the device.
const CATEGORIES: [&[u8]; 10] = [
    b"flows",
    b"firewall",
    b"vpn_firewall",
    b"cellular_firewall",
    b"bridge_anyconnect_client_vpn_firewall",
    b"ip_flow_start",
    b"ip_flow_end",
    b"urls",
    b"security_event",
    b"events",
];

/// True when the line has `<epoch.fraction> <device> <category>` with a category this reader knows.
pub fn looks_like(line: &[u8]) -> bool {
    head(line).is_some()
}

/// The Meraki head of a line: its time, device, category and what follows the category.
struct Head<'a> {
    time: i64,
    device: &'a [u8],
    category: &'a [u8],
    rest: &'a [u8],
}

fn head(line: &[u8]) -> Option<Head<'_>> {
    let mut words = Words { line, at: 0 };
    // The stamp is one of the first words (after a syslog header's stamp, host and version).
    for _ in 0..8 {
        let (_, word) = words.next()?;
        let Some(time) = epoch(word) else { continue };
        let (_, device) = words.next()?;
        let (at, category) = words.next()?;
        if !CATEGORIES.contains(&category) {
            return None;
        }
        let rest = line.get(at + category.len()..)?.trim_ascii_start();
        return Some(Head {
            time,
            device,
            category,
            rest,
        });
    }
    None
}

/// The space-separated words of a line with their offsets.
struct Words<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let rest = self.line.get(self.at..)?;
        let start = self.at + rest.iter().position(|&c| c != b' ')?;
        let word = self.line.get(start..)?;
        let len = word.iter().position(|&c| c == b' ').unwrap_or(word.len());
        self.at = start + len;
        Some((start, word.get(..len)?))
    }
}

/// `1673277220.253011885`: ten digits, a dot, digits.
fn epoch(word: &[u8]) -> Option<i64> {
    let dot = memchr::memchr(b'.', word)?;
    let (secs, frac) = (word.get(..dot)?, word.get(dot + 1..)?);
    if !(9..=10).contains(&secs.len()) || frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    parse_u64(secs).map(civil::epoch)
}

/// Parses one Meraki line (see the module comment). Time: the Meraki stamp; device: the name after it.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let line = line.trim_ascii();
    let head = head(line).ok_or(ParseError::Malformed)?;
    let mut f = Found::default();
    for (key, value) in Pairs::new(head.rest) {
        f.take(key, value);
    }
    let first = head
        .rest
        .split(|&c| c == b' ')
        .next()
        .filter(|w| !w.contains(&b'='))
        .unwrap_or_default();
    let (kind, action, src, dst) = match head.category {
        b"urls" => (Kind::Web, None, f.src, f.dst),
        b"ip_flow_start" | b"ip_flow_end" => (Kind::Traffic, Some(Action::Allow), f.src, f.dst),
        b"security_event" => {
            let blocked = [f.decision, f.action]
                .into_iter()
                .flatten()
                .find_map(verdict::from_word);
            let action = blocked.or(match first {
                b"ids_blocked" => Some(Action::Drop),
                _ => Some(Action::Allow),
            });
            (Kind::Traffic, action, f.src, f.dst)
        }
        b"events" => return event(&head, &f),
        _ => (Kind::Traffic, flow_verdict(first, head.rest), f.src, f.dst),
    };
    let (src_ip, src_port) = endpoint(src.ok_or(ParseError::NotTraffic)?);
    let (dst_ip, dst_port) = dst.map(endpoint).unwrap_or_default();
    Ok(Event {
        kind,
        time: Some(head.time),
        device: std::str::from_utf8(head.device).ok(),
        src_ip: Some(src_ip.ok_or(ParseError::BadAddress("src"))?),
        src_port: f.sport.and_then(parse_port).or(src_port),
        dst_ip,
        dst_port: f.dport.and_then(parse_port).or(dst_port),
        proto: f.proto.and_then(protocol),
        action,
        direction: None,
        http_status: None,
        service: None,
    })
}

/// `allow` / `deny` after the category, else the rule's `pattern:`.
fn flow_verdict(first: &[u8], rest: &[u8]) -> Option<Action> {
    if let Some(a) = verdict::from_word(first) {
        return Some(a);
    }
    let at = memmem::find(rest, b"pattern: ")?;
    let word = rest.get(at + 9..)?.split(|&c| c == b' ').next()?;
    match word {
        b"0" => Some(Action::Allow),
        b"1" => Some(Action::Drop),
        w => verdict::from_word(w),
    }
}

/// An `events` line that names a remote address.
fn event<'a>(head: &Head<'a>, f: &Found<'a>) -> Result<Event<'a>, ParseError> {
    let rest = head.rest;
    let (kind, action, remote) = if let Some(peer) = f.peer {
        (Kind::Traffic, None, peer)
    } else if let Some(from) = word_after(rest, b" connected from ") {
        let action = match memmem::find(rest, b"disconnect") {
            Some(_) => None,
            None => Some(Action::Allow),
        };
        (Kind::Auth, action, from)
    } else {
        return Err(ParseError::NotTraffic);
    };
    let (src_ip, src_port) = endpoint(remote);
    Ok(Event {
        kind,
        time: Some(head.time),
        device: std::str::from_utf8(head.device).ok(),
        src_ip: Some(src_ip.ok_or(ParseError::BadAddress("remote address"))?),
        src_port,
        action,
        ..Event::default()
    })
}

/// The word after `needle` in `text`.
fn word_after<'a>(text: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let at = memmem::find(text, needle)?;
    let rest = text.get(at + needle.len()..)?;
    rest.split(|&c| c == b' ').next().filter(|w| !w.is_empty())
}

/// An address with an optional port, single quotes around it stripped (`peer_contact='198.51.100.1:51856'`).
fn endpoint(s: &[u8]) -> (Option<IpAddr>, Option<u16>) {
    let s = s
        .strip_prefix(b"'")
        .and_then(|s| s.strip_suffix(b"'"))
        .unwrap_or(s);
    parse_endpoint(s)
}

/// `tcp`, `udp`, `icmp`, or `tcp/ip` as security events write it.
fn protocol(s: &[u8]) -> Option<Proto> {
    let name = s.split(|&c| c == b'/').next().unwrap_or(s);
    Proto::parse(name)
}

/// The pairs of one line an event needs.
#[derive(Default)]
struct Found<'a> {
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    sport: Option<&'a [u8]>,
    dport: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    decision: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
    peer: Option<&'a [u8]>,
}

impl<'a> Found<'a> {
    fn take(&mut self, key: &[u8], value: &'a [u8]) {
        let slot = match key {
            b"src" => &mut self.src,
            b"dst" => &mut self.dst,
            b"sport" => &mut self.sport,
            b"dport" => &mut self.dport,
            b"protocol" => &mut self.proto,
            b"decision" => &mut self.decision,
            b"action" => &mut self.action,
            b"peer_contact" => &mut self.peer,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}
