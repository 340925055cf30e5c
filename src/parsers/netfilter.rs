//! netfilter LOG lines (iptables, ip6tables, nftables `log prefix`, UFW, firewalld, Proxmox, UniFi) and ulogd2 JSON
//! records: bytes in, one [`Event`] out. Scans bytes; no allocation, no IO, no panics on any input.

mod prefix;
mod ulogd;

pub use prefix::{PrefixActions, DEFAULT_RULES};

use super::{syslog, syslog::stamp, ParseError};
use crate::event::{parse_ip, parse_port, Direction, Event, Proto};
use memchr::memmem;
use std::sync::LazyLock;

static DEFAULT_ACTIONS: LazyLock<PrefixActions> = LazyLock::new(PrefixActions::default);

/// Cheap test: kernel packet fields (`SRC=`, `DST=`, `PROTO=` after `IN=` or `OUT=`), or a ulogd2 JSON record.
pub fn sniff(line: &[u8]) -> bool {
    if line.first() == Some(&b'{') {
        return ulogd::sniff(line);
    }
    let Some(src) = memmem::find(line, b" SRC=") else {
        return false;
    };
    let head = line.get(..src).unwrap_or_default();
    let tail = line.get(src..).unwrap_or_default();
    (memmem::find(head, b"IN=").is_some() || memmem::find(head, b"OUT=").is_some())
        && memmem::find(tail, b" DST=").is_some()
        && memmem::find(tail, b" PROTO=").is_some()
}

/// Parses a line with the default prefix → action rules; drop when the prefix says nothing.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    parse_with(line, &DEFAULT_ACTIONS)
}

/// Parses a line, reading the action from its log prefix through `actions`.
pub fn parse_with<'a>(line: &'a [u8], actions: &PrefixActions) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    if line.first() == Some(&b'{') {
        return ulogd::parse(line, actions);
    }
    let (header, msg) = syslog::split(line);
    let fields = Fields::scan(msg);
    if !fields.started {
        return Err(ParseError::NotTraffic);
    }
    let src = fields.src.ok_or(ParseError::MissingField("SRC"))?;
    let dst = fields.dst.ok_or(ParseError::MissingField("DST"))?;
    let proto = fields.proto.ok_or(ParseError::MissingField("PROTO"))?;
    let prefix = msg.get(..fields.prefix_len).unwrap_or_default();
    let action = actions
        .lookup(prefix)
        .or_else(|| header.app.and_then(|app| actions.lookup(app)))
        .unwrap_or(actions.fallback());
    Ok(Event {
        time: header.time.or_else(|| proxmox_time(prefix)),
        device: header.host,
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("SRC"))?),
        dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("DST"))?),
        src_port: port(fields.spt, "SPT")?,
        dst_port: port(fields.dpt, "DPT")?,
        proto: Some(Proto::parse(proto).ok_or(ParseError::BadNumber("PROTO"))?),
        action: Some(action),
        direction: fields.direction(),
        http_status: None,
    })
}

fn port(value: Option<&[u8]>, name: &'static str) -> Result<Option<u16>, ParseError> {
    value
        .map(|v| parse_port(v).ok_or(ParseError::BadNumber(name)))
        .transpose()
}

/// Proxmox writes `VMID LEVEL CHAIN dd/Mmm/yyyy:hh:mm:ss +zzzz ACTION:` with no syslog header.
fn proxmox_time(prefix: &[u8]) -> Option<i64> {
    let slash = memchr::memchr(b'/', prefix)?;
    let start = slash.checked_sub(2)?;
    stamp::clf(prefix.get(start..)?).map(|(t, _)| t)
}

/// The packet fields of a LOG line, borrowed; the first occurrence of each key wins.
#[derive(Default)]
struct Fields<'a> {
    /// Bytes of the message before the first `IN=`/`OUT=` (the log prefix).
    prefix_len: usize,
    started: bool,
    iface_in: Option<&'a [u8]>,
    iface_out: Option<&'a [u8]>,
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    spt: Option<&'a [u8]>,
    dpt: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// Visits each `KEY=value` by its `=`, so only the few keys are looked at, not every byte.
    fn scan(msg: &'a [u8]) -> Fields<'a> {
        let mut f = Fields::default();
        for eq in memchr::memchr_iter(b'=', msg) {
            // Keys we want are at most 5 bytes: look back no further than that.
            let from = eq.saturating_sub(6);
            let near = msg.get(from..eq).unwrap_or_default();
            let key_start = match near.iter().rposition(|&c| c == b' ') {
                Some(p) => from + p + 1,
                None if from == 0 => 0,
                None => continue,
            };
            let key = msg.get(key_start..eq).unwrap_or_default();
            if key.first() == Some(&b'[') && f.started {
                break; // ICMP error: the offending packet's own fields follow.
            }
            if !f.started {
                if !matches!(key, b"IN" | b"OUT") {
                    continue;
                }
                f.started = true;
                f.prefix_len = key_start;
            }
            let Some(slot) = f.slot(key) else {
                continue;
            };
            let rest = msg.get(eq + 1..).unwrap_or_default();
            let len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
            slot.get_or_insert(rest.get(..len).unwrap_or_default());
            if f.dpt.is_some() {
                break; // every field that can follow is known
            }
        }
        f
    }

    /// Where the value of `key` goes, for the keys torwatch reads.
    fn slot(&mut self, key: &[u8]) -> Option<&mut Option<&'a [u8]>> {
        Some(match key {
            b"IN" => &mut self.iface_in,
            b"OUT" => &mut self.iface_out,
            b"SRC" => &mut self.src,
            b"DST" => &mut self.dst,
            b"PROTO" => &mut self.proto,
            b"SPT" => &mut self.spt,
            b"DPT" => &mut self.dpt,
            _ => return None,
        })
    }

    fn direction(&self) -> Option<Direction> {
        let set = |v: Option<&[u8]>| v.is_some_and(|v| !v.is_empty());
        match (set(self.iface_in), set(self.iface_out)) {
            (true, false) => Some(Direction::Inbound),
            (false, true) => Some(Direction::Outbound),
            _ => None,
        }
    }
}
