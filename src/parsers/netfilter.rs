//! netfilter LOG lines (iptables, ip6tables, nftables `log prefix`, UFW, firewalld, Proxmox, UniFi) and ulogd2 JSON
//! records: bytes in, one [`Event`] out. Scans bytes; no allocation, no IO, no panics on any input.

pub mod kernel;
mod memo;
mod packet;
mod prefix;
mod ulogd;

pub use memo::ActionMemo;
pub use prefix::{PrefixActions, DEFAULT_RULES};

use super::syslog::{self, stamp, Stamps};
use super::ParseError;
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Addresses, Direction, Event, PacketFacts, Proto};
use packet::PacketFields;
use std::net::IpAddr;
use std::sync::LazyLock;

static DEFAULT_ACTIONS: LazyLock<PrefixActions> = LazyLock::new(PrefixActions::default);

/// Cheap test: kernel packet fields (`SRC=`, `DST=`, `PROTO=` after `IN=` or `OUT=`), or a ulogd2 JSON record.
pub fn looks_like(line: &[u8]) -> bool {
    if line.first() == Some(&b'{') {
        return ulogd::looks_like(line);
    }
    // SIMD searches: most lines of other formats hold no ` SRC=` at all.
    let (Some(src), in_at, out_at) = packet::head::<false>(line) else {
        return false;
    };
    let tail = line.get(src..).unwrap_or_default();
    (in_at.is_some() || out_at.is_some())
        && packet::DST.find(tail).is_some()
        && packet::PROTO.find(tail).is_some()
}

/// Parses a line with the default prefix → action rules; drop when the prefix says nothing.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    parse_with(line, &DEFAULT_ACTIONS, stamps)
}

/// Parses a line, reading the action from its log prefix through `actions`.
pub fn parse_with<'a>(
    line: &'a [u8],
    actions: &PrefixActions,
    stamps: &mut Stamps,
) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    if line.first() == Some(&b'{') {
        return ulogd::parse(line, actions);
    }
    let (header, msg) = syslog::split(line, stamps);
    let p = Packet::read::<true>(msg)?;
    let prefix = msg.get(..p.fields.prefix_len).unwrap_or_default();
    let (action, _) = action_of(prefix, || header.app, actions);
    Ok(Event {
        kind: crate::event::Kind::Traffic,
        time: header.time.or_else(|| proxmox_time(prefix)),
        device: header.host,
        src_ip: Some(p.src),
        dst_ip: Some(p.dst),
        src_port: p.src_port,
        dst_port: p.dst_port,
        proto: Some(p.proto),
        action: Some(action),
        direction: direction(msg, &p.fields),
        http_status: None,
        service: None,
    })
}

/// The action of a log prefix, else of the syslog tag (read only when the prefix says nothing), else the fallback;
/// and whether the prefix decided it.
fn action_of<'a>(
    prefix: &[u8],
    app: impl FnOnce() -> Option<&'a [u8]>,
    actions: &PrefixActions,
) -> (Action, bool) {
    if let Some(a) = actions.lookup(prefix) {
        return (a, true);
    }
    let a = app().and_then(|app| actions.lookup(app));
    (a.unwrap_or(actions.fallback()), false)
}

/// The time [`parse`] gives a line it accepts, read without the rest of the event: the syslog header's stamp, else
/// the Proxmox log prefix's. Meaningless for a line that does not parse.
pub fn time(line: &[u8], stamps: &mut Stamps) -> Option<i64> {
    let line = line.trim_ascii();
    if line.first() == Some(&b'{') {
        return ulogd::parse(line, &DEFAULT_ACTIONS)
            .ok()
            .and_then(|e| e.time);
    }
    let (header, msg) = syslog::split(line, stamps);
    header.time.or_else(|| {
        let prefix_len = match packet::head::<true>(msg) {
            (_, Some(i), Some(o)) => i.min(o),
            (_, Some(i), None) | (_, None, Some(i)) => i,
            (_, None, None) => 0,
        };
        proxmox_time(msg.get(..prefix_len).unwrap_or_default())
    })
}

/// The action [`parse`] gives a line it accepts, read without the rest of the event: the message's prefix, else
/// its syslog tag. Meaningless for a line that does not parse.
pub fn action(line: &[u8]) -> Action {
    action_read(line, &DEFAULT_ACTIONS).0
}

/// The action [`parse_with`] gives a line it accepts with the rules `actions`, read as [`action`] reads it.
pub fn action_with(line: &[u8], actions: &PrefixActions) -> Action {
    action_read(line, actions).0
}

/// [`action_with`], and whether the log prefix decided it (else the syslog tag or the fallback did).
fn action_read(line: &[u8], actions: &PrefixActions) -> (Action, bool) {
    let line = line.trim_ascii();
    if line.first() == Some(&b'{') {
        let a = ulogd::parse(line, actions)
            .ok()
            .and_then(|e| e.action)
            .unwrap_or(actions.fallback());
        return (a, true);
    }
    let msg = syslog::message(line);
    let prefix_len = match packet::head::<true>(msg) {
        (_, Some(i), Some(o)) => i.min(o),
        (_, Some(i), None) | (_, None, Some(i)) => i,
        (_, None, None) => 0,
    };
    let prefix = msg.get(..prefix_len).unwrap_or_default();
    action_of(prefix, || syslog::app(line), actions)
}

/// The addresses of a line exactly when [`parse`] accepts it, with the same error when it does not; the syslog
/// stamp is checked but not turned into seconds, and neither the host nor the action is read.
pub fn addresses(line: &[u8]) -> Result<Addresses, ParseError> {
    packet_facts(line).map(|g| g.addresses)
}

/// [`addresses`] with the destination port and protocol: the values [`parse`] gives.
#[inline]
pub fn packet_facts(line: &[u8]) -> Result<PacketFacts, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    if line.first() == Some(&b'{') {
        return ulogd::parse(line, &DEFAULT_ACTIONS).map(|e| e.packet_facts());
    }
    // The packet words (`IN=`, `OUT=`, `SRC=`, …) are all this reads, and a header holds none, so the line after
    // `<PRI>` will do: a packet found there is the message's (its `IN=`/`OUT=` word lies in the message, so the
    // `SRC=` after it does too, and the addresses are the same). A line that does not read as a packet there may
    // still be one (a message that starts with `SRC=` or is glued to the header): the message tells, and gives
    // the exact reason.
    match syslog::plain_scope(line).map(Packet::read::<false>) {
        Some(Ok(p)) => Ok(p.packet_facts()),
        _ => packet_facts_of_message(line),
    }
}

/// [`packet_facts`] of a line whose packet words do not read from after its `<PRI>`: read the message alone.
#[cold]
#[inline(never)]
fn packet_facts_of_message(line: &[u8]) -> Result<PacketFacts, ParseError> {
    Packet::read::<false>(syslog::message(line)).map(|p| p.packet_facts())
}

/// What decides whether a message is a packet: its fields, with the addresses, ports and protocol read.
struct Packet<'a> {
    fields: PacketFields<'a>,
    src: IpAddr,
    dst: IpAddr,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    proto: Proto,
}

impl<'a> Packet<'a> {
    /// Errors in the order a reader meets them: fields, `SRC`, `DST`, `SPT`, `DPT`, `PROTO`. Unless `WHERE`, the
    /// fields' `IN=`/`OUT=` positions only tell that there is one (see [`PacketFields::check`]).
    #[inline(always)]
    fn read<const WHERE: bool>(msg: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        let fields = if WHERE {
            PacketFields::scan(msg)?
        } else {
            PacketFields::check(msg)?
        };
        Ok(Packet {
            src: parse_ip(fields.src).ok_or(ParseError::BadAddress("SRC"))?,
            dst: parse_ip(fields.dst).ok_or(ParseError::BadAddress("DST"))?,
            src_port: port(fields.spt, "SPT")?,
            dst_port: port(fields.dpt, "DPT")?,
            proto: proto(fields.proto).ok_or(ParseError::BadNumber("PROTO"))?,
            fields,
        })
    }

    fn packet_facts(&self) -> PacketFacts {
        PacketFacts {
            addresses: Addresses {
                src: Some(self.src),
                dst: Some(self.dst),
            },
            dst_port: self.dst_port,
            proto: Some(self.proto),
        }
    }
}

fn port(value: Option<&[u8]>, name: &'static str) -> Result<Option<u16>, ParseError> {
    value
        .map(|v| parse_port(v).ok_or(ParseError::BadNumber(name)))
        .transpose()
}

/// The kernel's protocol names first, then any name or number [`Proto::parse`] knows.
fn proto(value: &[u8]) -> Option<Proto> {
    match value {
        b"TCP" => Some(Proto::Tcp),
        b"UDP" => Some(Proto::Udp),
        b"ICMP" => Some(Proto::Icmp),
        b"ICMPv6" => Some(Proto::Icmpv6),
        other => Proto::parse(other),
    }
}

/// Proxmox writes `VMID LEVEL CHAIN dd/Mmm/yyyy:hh:mm:ss +zzzz ACTION:` with no syslog header.
fn proxmox_time(prefix: &[u8]) -> Option<i64> {
    let slash = memchr::memchr(b'/', prefix)?;
    let start = slash.checked_sub(2)?;
    stamp::clf(prefix.get(start..)?).map(|(t, _)| t)
}

/// `IN=x OUT=` inbound, `IN= OUT=x` outbound; forwarded (both set) or unknown: none.
fn direction(msg: &[u8], f: &PacketFields<'_>) -> Option<Direction> {
    // A value is set when the byte after `KEY=` is there and is not the space that ends the word.
    let set = |at: Option<usize>, key: usize| {
        at.and_then(|i| msg.get(i + key))
            .is_some_and(|&c| c != b' ')
    };
    match (set(f.in_at, 3), set(f.out_at, 4)) {
        (true, false) => Some(Direction::Inbound),
        (false, true) => Some(Direction::Outbound),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
