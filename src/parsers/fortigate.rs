//! FortiGate (FortiOS) `key=value` logs: space- or comma-separated pairs, values bare or quoted, IPv4 or IPv6, with
//! or without a syslog header in front. `type=traffic` lines are events; other types (`utm`, `event`, `anomaly`)
//! are events when they name a source address, else `NotTraffic`. Event logs about logins and remote access are
//! `auth` events ([`login`]): administrator logins and sessions (also when only the `ui="GUI(A)"` field names the
//! address), SSL and IPsec VPN logins and tunnels, user authentication (FortiGate and FortiAuthenticator). FortiWeb
//! lines of the same shape (`src=`, `src_port=`) are read too. Pure byte scanning: no IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::civil;
use super::kv::Pairs;
use super::origin;
use super::syslog::Stamps;
use super::verdict;
use super::ParseError;
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Direction, Event, Proto};

mod login;

/// Searchers for the keys `looks_like` looks for, built once.
static TYPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"type="));
static LOGID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"logid="));
static LOG_ID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"log_id="));
static DEVID: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"devid="));

/// True when the line has a `type=` pair and a `logid=` / `log_id=` / `devid=` pair, each at a pair boundary.
pub fn looks_like(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    has_key(line, &TYPE)
        && (has_key(line, &LOGID) || has_key(line, &LOG_ID) || has_key(line, &DEVID))
}

/// True when the key (ending in `=`) starts the line or follows a space, comma, tab or `>`.
fn has_key(line: &[u8], key: &Finder<'_>) -> bool {
    key.find_iter(line)
        .any(|at| match at.checked_sub(1).and_then(|i| line.get(i)) {
            None => true,
            Some(c) => matches!(c, b' ' | b',' | b'\t' | b'>'),
        })
}

/// Parses one FortiGate line. Time: `eventtime` (s/ms/µs/ns since the epoch), else `date`+`time` shifted by `tz`,
/// else `timestamp`, else the syslog header. Device: `devname`, else `devid`, else the syslog host.
/// Direction: the UTM `direction` field (`incoming`/`outgoing`), else the interface roles (`srcintfrole="wan"`
/// into a non-WAN interface is inbound, the reverse outbound).
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let mut f = Found::default();
    for (key, value) in Pairs::new(line) {
        let key = key.rsplit(|&c| c == b'>').next().unwrap_or(key);
        f.take(key, value);
    }
    let mut event = f.into_event()?;
    origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

/// The pairs of one line that an event needs.
#[derive(Default)]
struct Found<'a> {
    kind: Option<&'a [u8]>,
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    src_port: Option<&'a [u8]>,
    dst_port: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
    devname: Option<&'a [u8]>,
    devid: Option<&'a [u8]>,
    direction: Option<&'a [u8]>,
    src_role: Option<&'a [u8]>,
    dst_role: Option<&'a [u8]>,
    eventtime: Option<&'a [u8]>,
    date: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    tz: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    subtype: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    /// The administrator's interface: `GUI(192.0.2.1)`, `ssh(192.0.2.1)`, `jsconsole`.
    ui: Option<&'a [u8]>,
}

impl<'a> Found<'a> {
    fn take(&mut self, key: &[u8], value: &'a [u8]) {
        let slot = match key {
            b"type" => &mut self.kind,
            b"srcip" | b"src" | b"remip" | b"userip" => &mut self.src,
            b"dstip" | b"dst" | b"locip" => &mut self.dst,
            b"srcport" | b"src_port" | b"remport" => &mut self.src_port,
            b"dstport" | b"dst_port" | b"locport" => &mut self.dst_port,
            b"proto" => &mut self.proto,
            b"action" => &mut self.action,
            b"devname" => &mut self.devname,
            b"devid" | b"device_id" => &mut self.devid,
            b"direction" => &mut self.direction,
            b"srcintfrole" => &mut self.src_role,
            b"dstintfrole" => &mut self.dst_role,
            b"eventtime" => &mut self.eventtime,
            b"date" => &mut self.date,
            b"time" => &mut self.time,
            b"tz" => &mut self.tz,
            b"timestamp" => &mut self.timestamp,
            b"subtype" => &mut self.subtype,
            b"status" => &mut self.status,
            b"ui" => &mut self.ui,
            _ => return,
        };
        // The first occurrence wins (`srcip` comes before any `remip` of a nested record).
        slot.get_or_insert(value);
    }

    fn into_event(self) -> Result<Event<'a>, ParseError> {
        let kind = self.kind.ok_or(ParseError::Malformed)?;
        let traffic = kind.eq_ignore_ascii_case(b"traffic");
        let login = (kind.eq_ignore_ascii_case(b"event"))
            .then(|| login::read(self.subtype, self.action, self.status, self.ui.is_some()))
            .flatten();
        let Some(src) = self.src.or_else(|| self.ui.and_then(login::ui_address)) else {
            return Err(if traffic {
                ParseError::MissingField("srcip")
            } else {
                ParseError::NotTraffic
            });
        };
        let src_ip = parse_ip(src).ok_or(ParseError::BadAddress("srcip"))?;
        let dst_ip = match self.dst.map(parse_ip) {
            Some(Some(ip)) => Some(ip),
            Some(None) if traffic => return Err(ParseError::BadAddress("dstip")),
            _ => None,
        };
        let mut event = Event {
            kind: crate::event::Kind::Traffic,
            time: self.time_of_event(),
            device: self
                .devname
                .or(self.devid)
                .and_then(|d| std::str::from_utf8(d).ok()),
            src_ip: Some(src_ip),
            src_port: self.src_port.and_then(parse_port),
            dst_ip,
            dst_port: self.dst_port.and_then(parse_port),
            proto: self.proto.and_then(Proto::parse),
            action: self.action.and_then(verdict::from_word),
            direction: self
                .direction
                .and_then(direction)
                .or_else(|| self.crossing()),
            http_status: None,
            service: None,
        };
        if let Some(login) = login {
            login.apply(&mut event);
        }
        Ok(event)
    }

    fn time_of_event(&self) -> Option<i64> {
        if let Some(n) = self.eventtime.and_then(parse_u64) {
            return Some(civil::epoch(n));
        }
        if let (Some(date), Some(time)) = (self.date, self.time) {
            let local = civil::unix(civil::date(date)?, civil::clock(time)?)?;
            return Some(local - self.tz.and_then(civil::offset).unwrap_or(0));
        }
        self.timestamp.and_then(parse_u64).map(civil::epoch)
    }
}

impl Found<'_> {
    /// Inbound when the session came in on a `wan` interface and left on another role, outbound the other way.
    fn crossing(&self) -> Option<Direction> {
        match (self.src_role, self.dst_role) {
            (Some(b"wan"), Some(dst)) if dst != b"wan" => Some(Direction::Inbound),
            (Some(src), Some(b"wan")) if src != b"wan" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

fn direction(word: &[u8]) -> Option<Direction> {
    match word {
        b"incoming" | b"inbound" => Some(Direction::Inbound),
        b"outgoing" | b"outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
