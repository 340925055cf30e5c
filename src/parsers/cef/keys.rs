//! The CEF and LEEF keys that become event fields (`src`, `dpt`, `act`, `deviceDirection`, `rt`, LEEF `srcPort`,
//! `disp`, `devTime`, and the vendor spellings seen from Fortinet, Check Point, Forcepoint and WatchGuard),
//! gathered from borrowed pairs into one [`Event`]. No IO, no allocation.

use super::super::civil;
use super::super::verdict;
use super::super::ParseError;
use super::login::{self, Login};
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Action, Direction, Event, Proto};

/// Event fields gathered from the pairs of one CEF or LEEF record.
#[derive(Default)]
pub struct Found<'a> {
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    src_port: Option<&'a [u8]>,
    dst_port: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    action: Option<Action>,
    direction: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    epoch: Option<&'a [u8]>,
    device: Option<&'a [u8]>,
    device_rank: u8,
    /// Custom IPv6 fields `c6a1`…`c6a4` and their labels (Palo Alto puts IPv6 sessions there).
    c6a: [Option<&'a [u8]>; 4],
    c6a_label: [Option<&'a [u8]>; 4],
    /// The login an action key or the record's name states.
    login: Option<Login>,
    /// `msg`: text that may name a user's address.
    msg: Option<&'a [u8]>,
}

impl<'a> Found<'a> {
    /// Takes one pair; the first value of a key wins, and only action words that map to an action count.
    pub fn take(&mut self, key: &[u8], value: &'a [u8]) {
        let value = unquote(value);
        let slot = match key {
            b"src" | b"sourceAddress" => &mut self.src,
            b"dst" | b"destinationAddress" => &mut self.dst,
            b"spt" | b"sourcePort" | b"srcPort" => &mut self.src_port,
            b"dpt" | b"destinationPort" | b"dstPort" => &mut self.dst_port,
            b"proto" | b"transportProtocol" => &mut self.proto,
            b"deviceDirection" => &mut self.direction,
            b"rt" | b"receiptTime" | b"devTime" => &mut self.time,
            b"FTNTFGTeventtime" | b"FortinetFortiGateeventtime" | b"ad.eventtime" => {
                &mut self.epoch
            }
            b"act"
            | b"deviceAction"
            | b"action"
            | b"disp"
            | b"FTNTFGTaction"
            | b"FortinetFortiGateaction"
            | b"ad.action"
            | b"fw_action" => {
                if self.action.is_none() {
                    self.action = verdict::from_word(value);
                }
                if self.login.is_none() {
                    self.login = login::of_action(value);
                }
                return;
            }
            b"msg" => &mut self.msg,
            [b'c', b'6', b'a', n @ b'1'..=b'4', label @ ..] => {
                let i = usize::from(n - b'1');
                let slot = if label == b"Label" {
                    self.c6a_label.get_mut(i)
                } else {
                    self.c6a.get_mut(i)
                };
                if let Some(slot) = slot.filter(|_| label.is_empty() || label == b"Label") {
                    *slot = Some(value);
                }
                return;
            }
            _ => {
                self.take_device(key, value);
                return;
            }
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }

    /// The reporting device, by preference: `dvchost`, LEEF `sender` / `host_name`, `deviceExternalId`, `dvc`,
    /// Check Point `origin`.
    fn take_device(&mut self, key: &[u8], value: &'a [u8]) {
        let rank = match key {
            b"dvchost" => 6,
            b"sender" | b"host_name" => 5,
            b"deviceExternalId" => 4,
            b"dvc" | b"deviceAddress" => 3,
            b"origin" => 2,
            _ => return,
        };
        if rank > self.device_rank && !value.is_empty() {
            self.device = Some(value);
            self.device_rank = rank;
        }
    }

    /// Notes the record's name (CEF `Name`, LEEF `EventID`): it may name a login (`Failed Log In`).
    pub fn name(&mut self, name: &[u8]) {
        if self.login.is_none() {
            self.login = login::of_action(name);
        }
    }

    /// The event, with `fallback` (from the record's name) as action when no action key said anything. A record
    /// with neither source nor destination address is `NotTraffic`, unless its message names a user's address in
    /// a login (then that is the source).
    pub fn into_event(mut self, fallback: Option<Action>) -> Result<Event<'a>, ParseError> {
        self.src = self.src.or_else(|| self.labelled_ipv6(b"Source"));
        self.dst = self.dst.or_else(|| self.labelled_ipv6(b"Destination"));
        if self.src.is_none() && self.dst.is_none() {
            let (src, login) = self
                .msg
                .and_then(login::of_message)
                .ok_or(ParseError::NotTraffic)?;
            let mut event = self.into_event_from(Some(src), None, fallback);
            login.apply(&mut event);
            return Ok(event);
        }
        let src_ip = match self.src {
            Some(s) => Some(parse_ip(s).ok_or(ParseError::BadAddress("src"))?),
            None => None,
        };
        let dst_ip = match self.dst {
            Some(s) => Some(parse_ip(s).ok_or(ParseError::BadAddress("dst"))?),
            None => None,
        };
        let login = self.login;
        let mut event = self.into_event_from(src_ip, dst_ip, fallback);
        if let Some(login) = login {
            login.apply(&mut event);
        }
        Ok(event)
    }

    fn into_event_from(
        self,
        src_ip: Option<std::net::IpAddr>,
        dst_ip: Option<std::net::IpAddr>,
        fallback: Option<Action>,
    ) -> Event<'a> {
        Event {
            kind: crate::event::Kind::Traffic,
            time: self
                .time
                .and_then(time)
                .or_else(|| self.epoch.and_then(parse_u64).map(civil::epoch)),
            device: self.device.and_then(|d| std::str::from_utf8(d).ok()),
            src_ip,
            src_port: self.src_port.and_then(parse_port),
            dst_ip,
            dst_port: self.dst_port.and_then(parse_port),
            proto: self.proto.and_then(proto),
            action: self.action.or(fallback),
            direction: self.direction.and_then(direction),
            http_status: None,
            service: None,
        }
    }
}

impl<'a> Found<'a> {
    /// The `c6aN` value whose label starts with `role` (`Source IPv6 Address`), unless it is a placeholder.
    fn labelled_ipv6(&self, role: &[u8]) -> Option<&'a [u8]> {
        let labelled = self
            .c6a_label
            .iter()
            .position(|l| l.is_some_and(|l| l.starts_with(role)))?;
        let value = (*self.c6a.get(labelled)?)?;
        let ip = parse_ip(value)?;
        // Nothing real lives in ::/80 (unspecified, IPv4-compatible and -mapped forms such as `::ffff:0`).
        let placeholder = match ip {
            std::net::IpAddr::V6(v6) => {
                let [a, b, c, d, e, ..] = v6.segments();
                a | b | c | d | e == 0
            }
            std::net::IpAddr::V4(v4) => v4.is_unspecified(),
        };
        (!placeholder).then_some(value)
    }
}

/// `rt` / `devTime`: milliseconds (or seconds) since the epoch, `MMM dd yyyy HH:mm:ss` read as UTC, RFC 3339,
/// or `yyyy-MM-dd HH:mm:ss` read as UTC.
fn time(value: &[u8]) -> Option<i64> {
    match parse_u64(value) {
        Some(n) => Some(civil::epoch(n)),
        None => civil::month_day_year_time(value)
            .or_else(|| civil::iso8601(value))
            .or_else(|| civil::date_time(value)),
    }
}

/// A protocol name or number; SonicWall appends the service (`tcp/https`).
fn proto(value: &[u8]) -> Option<Proto> {
    Proto::parse(value.split(|&c| c == b'/').next().unwrap_or(value))
}

/// A value without the double quotes some vendors (SonicWall) put around it.
fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// CEF `deviceDirection`: 0 inbound, 1 outbound.
fn direction(value: &[u8]) -> Option<Direction> {
    match value {
        b"0" => Some(Direction::Inbound),
        b"1" => Some(Direction::Outbound),
        _ => None,
    }
}

/// The action a record's name states in its last word (`traffic:forward close`, `Connection_Discarded`,
/// `Threat Detected and Blocked`) or else its first (`Deny TCP (no connection)`), if any.
pub fn action_of_name(name: &[u8]) -> Option<Action> {
    let mut words = name
        .trim_ascii()
        .split(|&c| matches!(c, b' ' | b'_' | b':'))
        .filter(|w| !w.is_empty());
    let first = words.next()?;
    match words.next_back() {
        Some(last) => verdict::from_word(last).or_else(|| verdict::from_word(first)),
        None => verdict::from_word(first),
    }
}
