//! Google Cloud firewall rules logging and VPC Flow Logs, as Cloud Logging writes their entries (`LogEntry` JSON:
//! exported to storage or Pub/Sub, read with `gcloud logging read --format=json`, or sent on by a forwarder): one
//! entry, a list of entries, or `{"entries": […]}` on a line, one event per entry.
//!
//! The flow is `jsonPayload.connection` (`src_ip`, `src_port`, `dest_ip`, `dest_port`, `protocol` by number or
//! name). A firewall entry's verdict is `disposition` (`ALLOWED`, `DENIED`) and its direction
//! `rule_details.direction` (`INGRESS` inbound, `EGRESS` outbound); a VPC flow was carried (allowed) and its
//! direction is not logged (`reporter` tells which end reported it, not which way it went). Time: the entry's
//! `timestamp`; device: the instance's `vm_name`. No IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::jsondoc::{self, Value, Walk};
use super::{civil, Next, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Direction, Event, Kind, Proto};

static PAYLOAD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"jsonPayload\""));
static CONNECTION: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"connection\""));

/// True for a line with a Cloud Logging `jsonPayload` that holds a `connection`.
pub fn looks_like(line: &[u8]) -> bool {
    PAYLOAD.find(line).is_some() && CONNECTION.find(line).is_some()
}

/// The first event of a line (see [`parse_each`]).
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    super::first(|each| read(line, &mut |r| each(r)))
}

/// Hands the event of every log entry of a line to `each`.
pub fn parse_each<'a>(line: &'a [u8], each: &mut impl FnMut(Result<Event<'a>, ParseError>)) {
    super::every(|go| read(line, &mut |r| go(r)), each);
}

fn read<'a>(line: &'a [u8], each: &mut impl FnMut(Result<Event<'a>, ParseError>) -> Next) {
    let mut entry = LogEntry::default();
    // The depth of the current entry's members, once its `jsonPayload` is met.
    let mut members: Option<u32> = None;
    let mut given = false;
    for node in Walk::new(line) {
        match node.value {
            Value::End => {
                if members.is_some_and(|d| node.depth + 1 == d) {
                    given = true;
                    if each(std::mem::take(&mut entry).into_event()) == Next::Stop {
                        return;
                    }
                    members = None;
                }
            }
            Value::Object if node.key == Some(b"jsonPayload") => {
                members.get_or_insert(node.depth);
            }
            value => {
                if let (Some(key), Some(text)) = (node.key, jsondoc::text(&value)) {
                    entry.take(key, text);
                }
            }
        }
    }
    if members.is_some() {
        // An entry cut short: what it said so far.
        given = true;
        if each(entry.into_event()) == Next::Stop {
            return;
        }
    }
    if !given {
        each(Err(ParseError::NotTraffic));
    }
}

/// The fields of one entry an event needs.
#[derive(Default)]
struct LogEntry<'a> {
    src: Option<&'a [u8]>,
    sport: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    dport: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    disposition: Option<&'a [u8]>,
    direction: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    start: Option<&'a [u8]>,
    vm: Option<&'a [u8]>,
}

impl<'a> LogEntry<'a> {
    fn take(&mut self, key: &[u8], text: &'a [u8]) {
        let slot = match key {
            b"src_ip" => &mut self.src,
            b"src_port" => &mut self.sport,
            b"dest_ip" => &mut self.dst,
            b"dest_port" => &mut self.dport,
            b"protocol" => &mut self.proto,
            b"disposition" => &mut self.disposition,
            b"direction" => &mut self.direction,
            b"timestamp" => &mut self.timestamp,
            b"start_time" => &mut self.start,
            b"vm_name" => &mut self.vm,
            _ => return,
        };
        slot.get_or_insert(text);
    }

    fn into_event(self) -> Result<Event<'a>, ParseError> {
        let src = self.src.ok_or(ParseError::NotTraffic)?;
        let dst = self.dst.ok_or(ParseError::MissingField("dest_ip"))?;
        let action = match self.disposition {
            Some(b"DENIED") => Some(Action::Drop),
            Some(b"ALLOWED") => Some(Action::Allow),
            Some(_) => None,
            // VPC Flow Logs record the flows a VM sent or received.
            None => Some(Action::Allow),
        };
        let direction = match self.disposition.and(self.direction) {
            Some(b"INGRESS") => Some(Direction::Inbound),
            Some(b"EGRESS") => Some(Direction::Outbound),
            _ => None,
        };
        Ok(Event {
            kind: Kind::Traffic,
            time: self.timestamp.or(self.start).and_then(civil::iso8601),
            device: self.vm.and_then(|v| std::str::from_utf8(v).ok()),
            src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("src_ip"))?),
            src_port: self.sport.and_then(parse_port),
            dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("dest_ip"))?),
            dst_port: self.dport.and_then(parse_port),
            proto: self.proto.and_then(Proto::parse),
            action,
            direction,
            http_status: None,
            service: None,
        })
    }
}
