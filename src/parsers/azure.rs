//! Azure network logs as Azure Monitor writes them (storage blobs, Event Hubs, a syslog forwarder): a document of
//! `records`, or records one by one, each giving its events.
//!
//! - NSG flow logs v1 and v2 (`properties.flows[].flows[].flowTuples`: `time,src,dst,sport,dport,T|U,I|O,A|D[,B|C|E,
//!   packets and bytes…]`) and virtual network flow logs (`flowRecords.flows[].flowGroups[].flowTuples`, protocol
//!   by number, flow state `B|C|E|D`, `D` denied): one event per tuple, device the interface's MAC address. A
//!   record already split into one tuple per key (`"flow.0": "…"`) reads the same.
//! - Azure Firewall network, application and NAT rule logs: the legacy `properties.msg` text (`TCP request from
//!   A:p to B:q. Action: Deny.`) and the resource-specific records (`AZFWNetworkRule`, … with `SourceIp`,
//!   `DestinationPort`, `Action`): one event per record.
//!
//! A record whose tuple is broken gives its error beside the others' events. No IO, no allocation, no panics.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::jsondoc::{self, Node, Value, Walk};
use super::{civil, verdict, Next, ParseError};
use crate::address::{parse_endpoint, parse_ip, parse_port, parse_u64};
use crate::event::{Action, Direction, Event, Kind, Proto};

static TUPLES: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"flowTuples\""));
static FLAT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"flowLogVersion\""));
static FIREWALL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"AzureFirewall"));
static AZFW: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"AZFW"));

/// True for a line that holds flow tuples, a flow-log record split into tuples, or an Azure Firewall record.
pub fn looks_like(line: &[u8]) -> bool {
    memchr::memchr(b'{', line).is_some()
        && (TUPLES.find(line).is_some()
            || FLAT.find(line).is_some()
            || FIREWALL.find(line).is_some()
            || AZFW.find(line).is_some())
}

/// The first event of a line (see [`parse_each`]).
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    super::first(|each| read(line, &mut |r| each(r)))
}

/// Hands every event of a line to `each`: one per flow tuple, one per firewall record.
pub fn parse_each<'a>(line: &'a [u8], each: &mut impl FnMut(Result<Event<'a>, ParseError>)) {
    super::every(|go| read(line, &mut |r| go(r)), each);
}

/// The reader of one line; stops when `each` says so.
fn read<'a>(line: &'a [u8], each: &mut impl FnMut(Result<Event<'a>, ParseError>) -> Next) {
    let mut doc = Doc::default();
    let mut walk = Walk::new(line);
    let mut given = false;
    while let Some(node) = walk.next() {
        match (node.key, node.value) {
            (Some(b"flowTuples"), Value::Array) => {
                let depth = node.depth + 1;
                for n in walk.by_ref() {
                    match n.value {
                        Value::Str(tuple) if n.depth == depth => {
                            given = true;
                            if each(tuple_event(tuple, doc.mac)) == Next::Stop {
                                return;
                            }
                        }
                        Value::End if n.depth < depth => break,
                        _ => {}
                    }
                }
            }
            (Some(key), Value::Str(tuple)) if key.starts_with(b"flow.") => {
                given = true;
                if each(tuple_event(tuple, doc.mac)) == Next::Stop {
                    return;
                }
            }
            (_, Value::End) => {
                if doc.record == Some(node.depth) {
                    if let Some(r) = doc.firewall.take().map(Firewall::into_event) {
                        given = true;
                        if each(r) == Next::Stop {
                            return;
                        }
                    }
                    doc.record = None;
                }
            }
            _ => doc.take(&node),
        }
    }
    // A record cut short: what it said so far.
    if let Some(r) = doc.firewall.take().map(Firewall::into_event) {
        given = true;
        if each(r) == Next::Stop {
            return;
        }
    }
    if !given {
        each(Err(ParseError::NotTraffic));
    }
}

/// What the records read so far said.
#[derive(Default)]
struct Doc<'a> {
    /// The MAC address of the interface whose tuples follow.
    mac: Option<&'a str>,
    /// The last record time read (a record's `time` may come before its category).
    time: Option<&'a [u8]>,
    /// The depth of the current firewall record's object, once its category is known.
    record: Option<u32>,
    firewall: Option<Firewall<'a>>,
}

impl<'a> Doc<'a> {
    fn take(&mut self, node: &Node<'a>) {
        let Some(key) = node.key else { return };
        let Some(text) = jsondoc::text(&node.value) else {
            return;
        };
        match key {
            b"mac" | b"macAddress" => self.mac = std::str::from_utf8(text).ok(),
            b"time" | b"TimeGenerated" if self.firewall.is_none() => self.time = Some(text),
            b"category" | b"operationName" | b"Category" | b"OperationName"
                if text.starts_with(b"AzureFirewall") || text.starts_with(b"AZFW") =>
            {
                self.record.get_or_insert(node.depth.saturating_sub(1));
                let time = self.time;
                self.firewall.get_or_insert_with(|| Firewall {
                    time,
                    ..Firewall::default()
                });
            }
            _ => {
                if let Some(f) = self.firewall.as_mut() {
                    f.take(key, text);
                }
            }
        }
    }
}

/// An NSG flow-log tuple (v1, v2) or a virtual network flow-log tuple.
fn tuple_event<'a>(tuple: &[u8], mac: Option<&'a str>) -> Result<Event<'a>, ParseError> {
    let mut f = tuple.split(|&c| c == b',');
    let mut next = || f.next().unwrap_or_default();
    let (time, src, dst, sport, dport) = (next(), next(), next(), next(), next());
    let (proto, dir, decision) = (next(), next(), next());
    if decision.is_empty() {
        return Err(ParseError::MissingField("flow tuple"));
    }
    // NSG flow logs write T or U and A or D; virtual network flow logs the protocol number and a flow state.
    let (proto, action) = match proto {
        b"T" => (Some(Proto::Tcp), nsg_decision(decision)?),
        b"U" => (Some(Proto::Udp), nsg_decision(decision)?),
        n => {
            let n = parse_u64(n).and_then(|n| u8::try_from(n).ok());
            let proto = n
                .map(Proto::from_number)
                .ok_or(ParseError::BadNumber("protocol"))?;
            let action = match decision {
                b"D" => Action::Drop,
                b"B" | b"C" | b"E" => Action::Allow,
                _ => return Err(ParseError::Malformed),
            };
            (Some(proto), action)
        }
    };
    Ok(Event {
        kind: Kind::Traffic,
        time: parse_u64(time).map(civil::epoch),
        device: mac,
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("source"))?),
        src_port: parse_port(sport),
        dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("destination"))?),
        dst_port: parse_port(dport),
        proto,
        action: Some(action),
        direction: match dir {
            b"I" => Some(Direction::Inbound),
            b"O" => Some(Direction::Outbound),
            _ => None,
        },
        http_status: None,
        service: None,
    })
}

fn nsg_decision(decision: &[u8]) -> Result<Action, ParseError> {
    match decision {
        b"A" => Ok(Action::Allow),
        b"D" => Ok(Action::Drop),
        _ => Err(ParseError::Malformed),
    }
}

/// The fields of one Azure Firewall record.
#[derive(Default)]
struct Firewall<'a> {
    time: Option<&'a [u8]>,
    msg: Option<&'a [u8]>,
    proto: Option<&'a [u8]>,
    src: Option<&'a [u8]>,
    sport: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    dport: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
}

impl<'a> Firewall<'a> {
    fn take(&mut self, key: &[u8], text: &'a [u8]) {
        let slot = match key {
            b"time" | b"TimeGenerated" => &mut self.time,
            b"msg" => &mut self.msg,
            b"Protocol" => &mut self.proto,
            b"SourceIp" => &mut self.src,
            b"SourcePort" => &mut self.sport,
            b"DestinationIp" => &mut self.dst,
            b"DestinationPort" => &mut self.dport,
            b"Action" => &mut self.action,
            _ => return,
        };
        slot.get_or_insert(text);
    }

    fn into_event(self) -> Result<Event<'a>, ParseError> {
        let time = self.time.and_then(civil::iso8601);
        if let Some(msg) = self.msg {
            let mut event = message(msg)?;
            event.time = time;
            return Ok(event);
        }
        let src = self.src.ok_or(ParseError::MissingField("SourceIp"))?;
        Ok(Event {
            kind: Kind::Traffic,
            time,
            src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("SourceIp"))?),
            src_port: self.sport.and_then(parse_port),
            // An application rule names a host (`Fqdn`), not an address.
            dst_ip: self.dst.and_then(parse_ip),
            dst_port: self.dport.and_then(parse_port),
            proto: self.proto.and_then(protocol),
            action: self.action.and_then(verdict::from_word),
            ..Event::default()
        })
    }
}

/// `TCP request from 10.0.0.4:51234 to 203.0.113.9:443. Action: Deny. …`, `ICMP Type=8 request from A to B.
/// Action: Allow.`, `HTTPS request from A:p to www.example.com:443. Url: …. Action: Allow. …`, `TCP request from
/// A:p to B:q was DNAT'ed to C:r` (allowed, translated).
fn message(msg: &[u8]) -> Result<Event<'_>, ParseError> {
    let mut words = msg.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let proto = words.next().and_then(protocol);
    let mut words = words.skip_while(|w| *w != b"from");
    words.next();
    let src = words.next().ok_or(ParseError::NotTraffic)?;
    if words.next() != Some(b"to") {
        return Err(ParseError::NotTraffic);
    }
    let dst = words.next().ok_or(ParseError::MissingField("to"))?;
    let dst = dst.strip_suffix(b".").unwrap_or(dst);
    let (src_ip, src_port) = parse_endpoint(src);
    let (dst_ip, dst_port) = parse_endpoint(dst);
    let action = match memchr::memmem::find(msg, b"Action: ") {
        Some(i) => {
            let word = msg.get(i + 8..).unwrap_or_default();
            let end = word
                .iter()
                .position(|&c| c == b'.' || c == b' ')
                .unwrap_or(word.len());
            verdict::from_word(word.get(..end).unwrap_or_default())
        }
        None if memchr::memmem::find(msg, b"DNAT'ed").is_some() => Some(Action::Allow),
        None => None,
    };
    Ok(Event {
        kind: Kind::Traffic,
        src_ip: Some(src_ip.ok_or(ParseError::BadAddress("from"))?),
        src_port,
        dst_ip,
        dst_port,
        proto,
        action,
        ..Event::default()
    })
}

/// A protocol name, with the application protocols of application rules as TCP.
fn protocol(s: &[u8]) -> Option<Proto> {
    if s.eq_ignore_ascii_case(b"HTTP")
        || s.eq_ignore_ascii_case(b"HTTPS")
        || s.eq_ignore_ascii_case(b"MSSQL")
    {
        return Some(Proto::Tcp);
    }
    Proto::parse(s)
}
