//! ASA / FTD messages about logins and remote access: AAA, management logins, cut-through proxy authentication,
//! AnyConnect and WebVPN sessions (`Group <G> User <U> IP <A> …`, also without their `%ASA` tag, as some
//! collectors forward them), IKEv1 (`Group = G, Username = U, IP = A, …`) and IKEv2 (`Local:A:P Remote:B:Q …`),
//! DAP. Each is an `auth` event whose source is the remote user's address; the action is `allow` for a
//! successful login, `fail` for a refused one, absent for session bookkeeping. No allocation, no IO.
//!
//! One success message per login is `allow` (716038 for AnyConnect and WebVPN, 605005 / 611101 for management,
//! 109005 for cut-through proxy, 113004 for an AAA server's answer, 750006 for an IKEv2 tunnel), so that counting
//! `allow` counts logins.

use std::net::IpAddr;

use memchr::memmem;

use super::words::{endpoint, Words};
use crate::address::{parse_ip, Endpoint};
use crate::event::{Action, Direction, Event, Kind, Proto, Service};
use crate::parsers::ParseError;

/// Reads the messages this module knows (`None` for the others). `id` 0 is a message body without its tag.
pub fn parse<'a>(id: u32, text: &[u8], base: Event<'a>) -> Option<Result<Event<'a>, ParseError>> {
    let read = match id {
        0 => group(text, None)?,
        113004 | 113005 | 113015 => aaa(text, id),
        605004 | 605005 => login(text, id),
        611101 | 611102 => user_authentication(text, id),
        109001 | 109005 | 109006 | 109007 | 109008 => cut_through(text, id),
        111007 | 111010 => configuration(text, id),
        113019 | 713000..=713999 => ikev1(text, id),
        750000..=751999 => ikev2(text, id),
        734001 | 734003 => dap(text),
        113039 | 716000..=716999 | 722000..=722999 => group(text, Some(id))?,
        315011 => ssh_session(text),
        _ => return None,
    };
    Some(read.map(|r| r.into_event(base)))
}

/// What one message said.
#[derive(Default)]
struct VpnMessage {
    src: Option<Endpoint>,
    dst: Option<Endpoint>,
    action: Option<Action>,
    proto: Option<Proto>,
    service: Option<Service>,
}

impl VpnMessage {
    fn into_event(self, mut e: Event<'_>) -> Event<'_> {
        e.kind = Kind::Auth;
        e.service = self.service;
        e.src_ip = self.src.map(|s| s.0);
        e.src_port = self.src.and_then(|s| s.1);
        e.dst_ip = self.dst.map(|d| d.0);
        e.dst_port = self.dst.and_then(|d| d.1);
        e.action = self.action;
        e.proto = self.proto;
        e.direction = self.src.map(|_| Direction::Inbound);
        e
    }
}

/// The address that follows `key` in `text` (`server = 192.0.2.1 :` → the address), up to a blank, `,`, `:` (for
/// IPv4) or `>`.
fn address_after(text: &[u8], key: &[u8]) -> Option<IpAddr> {
    let at = memmem::find(text, key)? + key.len();
    let value = text.get(at..)?.trim_ascii_start();
    let end = value
        .iter()
        .position(|&c| matches!(c, b' ' | b',' | b'>' | b')'))
        .unwrap_or(value.len());
    let word = value.get(..end)?;
    parse_ip(word).or_else(|| parse_ip(word.strip_suffix(b".")?))
}

/// 113004 `AAA user authentication Successful : server = A : user = U` (the server's address);
/// 113005 `… Rejected : reason = R : server = A : user = U : user IP = B`; 113015 `… Rejected : reason = R :
/// local database : user = U : user IP = B`.
fn aaa(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let login = VpnMessage {
        src: address_after(text, b"user IP = ").map(|ip| (ip, None)),
        dst: address_after(text, b"server = ").map(|ip| (ip, None)),
        action: Some(if id == 113004 {
            Action::Allow
        } else {
            Action::Fail
        }),
        proto: None,
        service: Some(Service::Vpn),
    };
    if login.src.is_none() && login.dst.is_none() {
        return Err(ParseError::NotTraffic);
    }
    Ok(login)
}

/// The endpoints of `… from A/P to [iface:]B/Q …`: the source must be one, the destination may be missing.
fn from_to(text: &[u8]) -> Result<(Endpoint, Option<Endpoint>), ParseError> {
    let w = Words::split(text);
    let (i, src) = w.after(b"from", 0).ok_or(ParseError::NotTraffic)?;
    let dst = w.after(b"to", i + 1).and_then(|(_, d)| endpoint(d));
    Ok((endpoint(src).ok_or(ParseError::BadAddress("source"))?, dst))
}

/// 605004 `VpnMessage denied from A/P to iface:B/service for user "U"`, 605005 `VpnMessage permitted from …`.
fn login(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let (src, dst) = from_to(text)?;
    Ok(VpnMessage {
        src: Some(src),
        dst,
        action: Some(if id == 605005 {
            Action::Allow
        } else {
            Action::Fail
        }),
        proto: Some(Proto::Tcp),
        service: Some(Service::Admin),
    })
}

/// 611101 `User authentication succeeded: IP address: A, Uname: U`, 611102 `… failed: …`.
fn user_authentication(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let src = address_after(text, b"IP address: ").ok_or(ParseError::NotTraffic)?;
    Ok(VpnMessage {
        src: Some((src, None)),
        action: Some(if id == 611101 {
            Action::Allow
        } else {
            Action::Fail
        }),
        service: Some(Service::Admin),
        ..VpnMessage::default()
    })
}

/// Cut-through proxy: `Authentication succeeded for user U from A/P to B/Q on interface X` (109005), `… failed …`
/// (109006), `Authorization denied …` (109008), `Auth start …` (109001), `Authorization permitted …` (109007).
fn cut_through(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let (src, dst) = from_to(text)?;
    Ok(VpnMessage {
        src: Some(src),
        dst,
        action: match id {
            109005 => Some(Action::Allow),
            109006 | 109008 => Some(Action::Fail),
            _ => None,
        },
        ..VpnMessage::default()
    })
}

/// 111007 `Begin configuration: A reading from http [POST]` and 111010 `User U, running APP from IP A, executed
/// CMD`: an administrator's session from A (over HTTP(S) for ASDM).
fn configuration(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let src = if id == 111007 {
        let w = Words::split(text);
        w.get(2).and_then(parse_ip)
    } else {
        address_after(text, b"from IP ")
    };
    let http =
        memmem::find(text, b"from http").is_some() || memmem::find(text, b"to http").is_some();
    Ok(VpnMessage {
        src: Some((src.ok_or(ParseError::NotTraffic)?, None)),
        proto: http.then_some(Proto::Tcp),
        service: Some(Service::Admin),
        ..VpnMessage::default()
    })
}

/// IKEv1 (713xxx, over UDP) and session (113019) messages: `Group = G, Username = U, IP = A, …` (also `IP = A, …`
/// alone).
fn ikev1(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let src = address_after(text, b"IP = ").ok_or(ParseError::NotTraffic)?;
    Ok(VpnMessage {
        src: Some((src, None)),
        proto: (id != 113019).then_some(Proto::Udp),
        service: Some(Service::Vpn),
        ..VpnMessage::default()
    })
}

/// IKEv2: `Local:A:P Remote:B:Q Username:U …` (750xxx), `Local: A:P Remote: B:Q Username: U …` (751xxx). The
/// remote peer is the source. An aborted negotiation (750003) failed; an SA up (750006) succeeded.
fn ikev2(text: &[u8], id: u32) -> Result<VpnMessage, ParseError> {
    let remote = peer(text, b"Remote:").ok_or(ParseError::NotTraffic)?;
    let action = match id {
        750003 => Some(Action::Fail),
        750006 => Some(Action::Allow),
        _ if memmem::find(text, b"Negotiation aborted").is_some() => Some(Action::Fail),
        _ => None,
    };
    Ok(VpnMessage {
        src: Some(remote),
        dst: peer(text, b"Local:"),
        action,
        proto: Some(Proto::Udp),
        service: Some(Service::Vpn),
    })
}

/// `KEY:ADDR:PORT` or `KEY: ADDR:PORT`. These messages always write the port, after the last colon (an IPv6
/// address keeps its own colons); a word with no port there is read as an address alone.
fn peer(text: &[u8], key: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let at = memmem::find(text, key)? + key.len();
    let value = text.get(at..)?.trim_ascii_start();
    let word = value.get(..memchr::memchr(b' ', value).unwrap_or(value.len()))?;
    let split = memchr::memrchr(b':', word).and_then(|colon| {
        let ip = parse_ip(word.get(..colon)?)?;
        Some((
            ip,
            Some(crate::address::parse_port(word.get(colon + 1..)?)?),
        ))
    });
    split.or_else(|| Some((parse_ip(word)?, None)))
}

/// 734001 / 734003 `DAP: User U, Addr A, Connection C: …`.
fn dap(text: &[u8]) -> Result<VpnMessage, ParseError> {
    let src = address_after(text, b", Addr ").ok_or(ParseError::NotTraffic)?;
    Ok(VpnMessage {
        src: Some((src, None)),
        service: Some(Service::Vpn),
        ..VpnMessage::default()
    })
}

/// 315011 `SSH session from A on interface X for user "U" disconnected by SSH server, reason: R`.
fn ssh_session(text: &[u8]) -> Result<VpnMessage, ParseError> {
    let src = address_after(text, b"session from ").ok_or(ParseError::NotTraffic)?;
    Ok(VpnMessage {
        src: Some((src, None)),
        proto: Some(Proto::Tcp),
        service: Some(Service::Admin),
        ..VpnMessage::default()
    })
}

/// AnyConnect and WebVPN: `Group <G> User <U> IP <A> …` (the address the user came from; `IPv4 Address <B>` that
/// follows is the one handed to the tunnel), or `… for client user U, IP A has been created`. `None` when the
/// message has neither form (a 716/722 message that names no user address). `id` 0: the body without its tag,
/// read by its words.
fn group(text: &[u8], id: Option<u32>) -> Option<Result<VpnMessage, ParseError>> {
    let src = match memmem::find(text, b"User <") {
        // The user name is the client's text: the address is the first `> IP <` after it.
        Some(user) => address_after(text.get(user..)?, b"> IP <"),
        None => address_after(text, b", IP "),
    };
    let Some(src) = src else {
        return id.map(|_| Err(ParseError::NotTraffic));
    };
    let said = |phrase: &[u8]| memmem::find(text, phrase).is_some();
    let action = match id {
        Some(716038) => Some(Action::Allow),
        Some(716039) => Some(Action::Fail),
        Some(_) => None,
        None if said(b"Authentication: successful") => Some(Action::Allow),
        None if said(b"Authentication: rejected") => Some(Action::Fail),
        None => None,
    };
    Some(Ok(VpnMessage {
        src: Some((src, None)),
        action,
        service: Some(Service::Vpn),
        ..VpnMessage::default()
    }))
}

/// True for an AnyConnect / WebVPN message body without its `%ASA` tag: `Group <G> User <U> IP <A> …`.
pub fn untagged(msg: &[u8]) -> bool {
    msg.trim_ascii_start().starts_with(b"Group <") && memmem::find(msg, b"> IP <").is_some()
}
