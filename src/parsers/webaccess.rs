//! Web access logs in the nginx / Apache common and combined formats (`client - user [10/Oct/2000:13:55:36 -0700]
//! "GET / HTTP/1.1" 200 …`), also with a leading virtual host (`vhost_combined`, `host:port client …`), a
//! forwarded-for address list in front of the client, or a syslog header. The client becomes the source, the
//! status `http_status`, the action `allow` (the server answered). nginx JSON access records are read too; error
//! logs are [`super::weberror`]'s. Pure byte scanning: no IO, no allocation, no panics.

use std::net::IpAddr;

use memchr::{memchr, memchr_iter};

use super::civil;
use super::syslog::{self, stamp, Stamps};
use super::ParseError;
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event};

mod json;

/// True when the line has a `[dd/Mon/yyyy:HH:MM:SS ±zzzz]` time followed by a quoted request, or is a JSON access
/// record.
pub fn looks_like(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    let quoted_request =
        |(_, close): (usize, usize)| line.get(close + 1..).is_some_and(|r| r.starts_with(b" \""));
    find_time(line).is_some_and(quoted_request) || json::looks_like(line)
}

/// Parses one access-log line. Source: among the addresses before the time (client, or a forwarded-for list
/// ending with the client), the rightmost one that is not private, loopback or link-local — the first hop a
/// proxy chain cannot forge — else the rightmost. Destination port: the `:port` of a leading virtual host.
/// Device: the syslog host, when the line came through syslog (the header is split off first, so its host is
/// never mistaken for a client address).
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let (header, line) = syslog::split(line.trim_ascii(), stamps);
    if json::looks_like(line) {
        return json::parse(line);
    }
    let (open, close) = find_time(line).ok_or(ParseError::Malformed)?;
    let prefix = line.get(..open).unwrap_or_default();
    let (src, vhost_port) = client(prefix).ok_or(ParseError::MissingField("client"))?;
    let time = line.get(open + 1..close).and_then(bracket_time);
    let after = line.get(close + 1..).unwrap_or_default().trim_ascii_start();
    let request = after
        .strip_prefix(b"\"")
        .ok_or(ParseError::MissingField("request"))?;
    let end = closing_quote(request).ok_or(ParseError::MissingField("request"))?;
    let rest = request
        .get(end + 1..)
        .unwrap_or_default()
        .trim_ascii_start();
    let status = rest.split(|&c| c == b' ').next().unwrap_or_default();
    let http_status = parse_port(status)
        .filter(|s| (100..=599).contains(s))
        .ok_or(ParseError::BadNumber("status"))?;
    Ok(Event {
        kind: crate::event::Kind::Web,
        time: time.or(header.time),
        device: header.host,
        src_ip: Some(src),
        dst_port: vhost_port,
        action: Some(Action::Allow),
        http_status: Some(http_status),
        ..Event::default()
    })
}

/// The positions of `[` and `]` around the first `dd/Mon/yyyy:HH:MM:SS ±zzzz` (or ISO 8601, as nginx's
/// `$time_iso8601` prints it) in the line.
fn find_time(line: &[u8]) -> Option<(usize, usize)> {
    memchr_iter(b'[', line).take(8).find_map(|open| {
        let body = line.get(open + 1..)?;
        let clf =
            body.get(2) == Some(&b'/') && body.get(6) == Some(&b'/') && body.get(11) == Some(&b':');
        let iso = body.get(4) == Some(&b'-') && body.get(10) == Some(&b'T');
        let shaped =
            body.len() >= 20 && (clf || iso) && body.first().is_some_and(u8::is_ascii_digit);
        let close = open + 1 + memchr(b']', body.get(..40.min(body.len()))?)?;
        shaped.then_some((open, close))
    })
}

/// The time inside the brackets: common log format, or ISO 8601.
fn bracket_time(s: &[u8]) -> Option<i64> {
    stamp::clf(s).map(|(t, _)| t).or_else(|| civil::iso8601(s))
}

/// The client address among the tokens before the time, and the port of a virtual host written just before the
/// first address.
fn client(prefix: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let mut chosen: Option<IpAddr> = None;
    let mut last = None;
    let mut before_first = None;
    let mut previous: &[u8] = b"";
    for token in prefix
        .split(|&c| matches!(c, b' ' | b',' | b'"'))
        .filter(|t| !t.is_empty())
    {
        match parse_ip(token) {
            Some(ip) => {
                if last.is_none() {
                    before_first = Some(previous);
                }
                last = Some(ip);
                if !is_internal(ip) {
                    chosen = Some(ip);
                }
            }
            None => previous = token,
        }
    }
    let port = before_first.and_then(|host| {
        let colon = memchr::memrchr(b':', host)?;
        parse_port(host.get(colon + 1..)?)
    });
    Some((chosen.or(last)?, port))
}

/// Private, loopback, link-local, CGNAT and unique-local addresses: hops inside the site's own network.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let [first, ..] = v6.segments();
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Index of the quote that closes a request (`\"` inside is escaped), or `None` if it never closes.
fn closing_quote(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let i = at + memchr::memchr2(b'"', b'\\', body.get(at..)?)?;
        if body.get(i) == Some(&b'\\') {
            at = i + 2;
        } else {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests;
