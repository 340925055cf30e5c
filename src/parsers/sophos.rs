//! Sophos firewalls: SFOS (XG, XGS; `key=value` pairs with `log_type`, `log_component`, `log_subtype`) and UTM (SG,
//! ASG; `ulogd`/`httpproxy`/… lines of quoted pairs with `sys` and `sub`), with or without a syslog header.
//!
//! SFOS: `Firewall` records are traffic, their verdict `status` (`Allow`, `Deny`) or `log_subtype` (`Allowed`,
//! `Denied`, `Dropped`); `Content Filtering` records of a web request (a `url`) are web requests with their
//! `status_code`; `Event` records of a login (`status="Successful"` / `"Failed"` of an authentication, admin or VPN
//! component) are logins; any other record that names `src_ip` is traffic. UTM: `sub="packetfilter"` and `ips`
//! lines are traffic (`action`), `http` lines web requests (`statuscode`), `auth` lines logins (`name="Authentication
//! failed"`). Pure byte scanning: no IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::kv::Pairs;
use super::syslog::Stamps;
use super::{civil, origin, verdict, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Direction, Event, Kind, Proto};

static LOG_TYPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"log_type="));
static LOG_COMPONENT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"log_component="));
static SYS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" sys=\""));
static SUB: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b" sub=\""));

/// True for an SFOS record (`log_type=` and `log_component=`) or a UTM line (` sys="…" sub="…"`).
pub fn looks_like(line: &[u8]) -> bool {
    (LOG_TYPE.find(line).is_some() && LOG_COMPONENT.find(line).is_some())
        || (SYS.find(line).is_some() && SUB.find(line).is_some())
}

/// Parses one SFOS or UTM line. Time: SFOS `timestamp`, else `date`+`time` shifted by `timezone` (a zone name
/// counts as UTC), else the UTM stamp (`2024:03:05-10:15:02`) or the syslog header. Device: `device_name`, else
/// `device_id` / `device_serial_id`, else the host after the stamp.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    let mut f = Found::default();
    for (key, value) in Pairs::new(line) {
        f.take(key, value);
    }
    let mut event = f.into_event()?;
    if event.time.is_none() || event.device.is_none() {
        if let Some((time, host)) = utm_stamp(line) {
            event.time = event.time.or(Some(time));
            event.device = event.device.or(host);
        }
    }
    origin::fill_from_header(line, stamps, &mut event);
    Ok(event)
}

/// The pairs of one line an event needs.
#[derive(Default)]
struct Found<'a> {
    log_type: Option<&'a [u8]>,
    component: Option<&'a [u8]>,
    subtype: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    sub: Option<&'a [u8]>,
    name: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
    src: Option<&'a [u8]>,
    sport: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    dport: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    url: Option<&'a [u8]>,
    http_status: Option<&'a [u8]>,
    src_zone: Option<&'a [u8]>,
    dst_zone: Option<&'a [u8]>,
    device: Option<&'a [u8]>,
    device_id: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    date: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    timezone: Option<&'a [u8]>,
}

impl<'a> Found<'a> {
    fn take(&mut self, key: &[u8], value: &'a [u8]) {
        let slot = match key {
            b"log_type" => &mut self.log_type,
            b"log_component" => &mut self.component,
            b"log_subtype" => &mut self.subtype,
            b"status" => &mut self.status,
            b"sub" => &mut self.sub,
            b"name" => &mut self.name,
            b"action" => &mut self.action,
            b"src_ip" | b"srcip" => &mut self.src,
            b"src_port" | b"srcport" => &mut self.sport,
            b"dst_ip" | b"dstip" => &mut self.dst,
            b"dst_port" | b"dstport" => &mut self.dport,
            b"protocol" | b"proto" => &mut self.proto,
            b"url" => &mut self.url,
            b"status_code" | b"statuscode" => &mut self.http_status,
            b"srczonetype" | b"src_zone_type" => &mut self.src_zone,
            b"dstzonetype" | b"dst_zone_type" => &mut self.dst_zone,
            b"device_name" => &mut self.device,
            b"device_id" | b"device_serial_id" => &mut self.device_id,
            b"timestamp" => &mut self.timestamp,
            b"date" => &mut self.date,
            b"time" => &mut self.time,
            b"timezone" => &mut self.timezone,
            _ => return,
        };
        slot.get_or_insert(value);
    }

    fn into_event(self) -> Result<Event<'a>, ParseError> {
        if self.log_type.is_none() && self.sub.is_none() {
            return Err(ParseError::Malformed);
        }
        let src = self
            .src
            .filter(|s| !s.is_empty())
            .ok_or(ParseError::NotTraffic)?;
        let (kind, action) = self.kind_and_action();
        let http_status = match kind {
            Kind::Web => self
                .http_status
                .and_then(parse_port)
                .filter(|c| (100..600).contains(c)),
            _ => None,
        };
        Ok(Event {
            kind,
            time: self.time_of_event(),
            device: self
                .device
                .or(self.device_id)
                .filter(|d| !d.is_empty())
                .and_then(|d| std::str::from_utf8(d).ok()),
            src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("src_ip"))?),
            src_port: self.sport.and_then(parse_port),
            dst_ip: self.dst.and_then(parse_ip),
            dst_port: self.dport.and_then(parse_port),
            proto: self.proto.and_then(Proto::parse),
            action,
            direction: self.crossing(),
            http_status,
            service: None,
        })
    }

    fn kind_and_action(&self) -> (Kind, Option<Action>) {
        let word = |w: Option<&[u8]>| w.and_then(verdict::from_word);
        if let Some(sub) = self.sub {
            // UTM.
            return match sub {
                b"auth" => (Kind::Auth, self.name.and_then(login_result)),
                b"http" => (Kind::Web, word(self.action)),
                _ => (Kind::Traffic, word(self.action)),
            };
        }
        let log_type = self.log_type.unwrap_or_default();
        let verdict = word(self.status).or_else(|| word(self.subtype));
        if log_type == b"Event" && self.is_login() {
            return (Kind::Auth, self.status.and_then(login_result));
        }
        if log_type == b"Content Filtering" && self.url.is_some() {
            return (Kind::Web, verdict);
        }
        (Kind::Traffic, verdict)
    }

    /// An `Event` record of an authentication, admin, VPN or portal component, with its result.
    fn is_login(&self) -> bool {
        let of = |w: Option<&[u8]>, needle: &[u8]| {
            w.is_some_and(|w| {
                w.windows(needle.len())
                    .any(|x| x.eq_ignore_ascii_case(needle))
            })
        };
        self.status.and_then(login_result).is_some()
            && (of(self.subtype, b"auth")
                || of(self.subtype, b"admin")
                || of(self.component, b"auth")
                || of(self.component, b"vpn")
                || of(self.component, b"gui")
                || of(self.component, b"portal"))
    }

    fn time_of_event(&self) -> Option<i64> {
        if let Some(t) = self.timestamp.and_then(civil::iso8601) {
            return Some(t);
        }
        let local = civil::unix(civil::date(self.date?)?, civil::clock(self.time?)?)?;
        Some(local - self.timezone.and_then(civil::offset).unwrap_or(0))
    }

    /// Inbound from a `WAN` zone into another, outbound the other way.
    fn crossing(&self) -> Option<Direction> {
        match (self.src_zone, self.dst_zone) {
            (Some(b"WAN"), Some(dst)) if !dst.is_empty() && dst != b"WAN" => {
                Some(Direction::Inbound)
            }
            (Some(src), Some(b"WAN")) if !src.is_empty() && src != b"WAN" => {
                Some(Direction::Outbound)
            }
            _ => None,
        }
    }
}

/// `Successful` / `Authentication successful` allow; `Failed` / `Failure` / `Authentication failed` fail.
fn login_result(word: &[u8]) -> Option<Action> {
    let has = |needle: &[u8]| {
        word.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if has(b"fail") || has(b"denied") || has(b"reject") {
        Some(Action::Fail)
    } else if has(b"success") {
        Some(Action::Allow)
    } else {
        None
    }
}

/// UTM's own stamp and host: `2024:03:05-10:15:02 utm-1 ulogd[…]: …` (local time, read as UTC).
fn utm_stamp(line: &[u8]) -> Option<(i64, Option<&str>)> {
    let msg = super::syslog::message(line);
    let stamp = msg.get(..19)?;
    let digits = |at: usize, n: usize| civil::digits(stamp, at, n);
    if stamp.get(4) != Some(&b':') || stamp.get(10) != Some(&b'-') {
        return None;
    }
    let date = (i64::from(digits(0, 4)?), digits(5, 2)?, digits(8, 2)?);
    let clock = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let time = civil::unix(date, clock)?;
    let host = msg
        .get(20..)
        .and_then(|rest| rest.split(|&c| c == b' ').next())
        .filter(|h| !h.is_empty() && !h.contains(&b'='))
        .and_then(|h| std::str::from_utf8(h).ok());
    Some((time, host))
}
