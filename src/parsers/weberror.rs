//! Web server error logs: Apache (`[time] [module:level] [pid N:tid M] [client ADDR:PORT] AH…: message`, the 2.2
//! form `[time] [level] [client ADDR] message`, ModSecurity's `[security2:error]` lines) and nginx (`yyyy/mm/dd
//! hh:mm:ss [level] pid#tid: *cid message, client: ADDR, server: …`, ModSecurity-nginx included). A line that
//! names the client is a `web` event with the client as its source; a line that names none (start-up, upstream
//! and configuration messages) is `NotTraffic`.
//!
//! What the server did, where the message says it: refused (`client denied by server configuration`, `access
//! forbidden by rule`, `limiting requests`, ModSecurity `Access denied with code N`: `reject`, with the status
//! when named), cut the connection (ModSecurity `… with connection close`: `drop`). A failed HTTP basic
//! authentication (`user x not found`, `password mismatch`) is a web request whose login failed: action `fail`,
//! service `web`. Other messages carry no action. Times carry no zone and are read as UTC. No IO, no allocation,
//! no panics.

use std::net::IpAddr;
use std::sync::LazyLock;

use memchr::memmem::{self, Finder};

use super::syslog::{self, Stamps};
use super::{civil, ParseError};
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event, Kind, Service};

/// A searcher for each needle, built once (building one per line would cost more than the search).
struct Needles {
    pid: Finder<'static>,
    client_bracket: Finder<'static>,
    client: Finder<'static>,
    remote: Finder<'static>,
    nginx_client: Finder<'static>,
    phrases: [Finder<'static>; PHRASES.len()],
}

static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles {
    pid: Finder::new(b"] [pid "),
    client_bracket: Finder::new(b"] [client "),
    client: Finder::new(b"[client "),
    remote: Finder::new(b"[remote "),
    nginx_client: Finder::new(b", client: "),
    phrases: PHRASES.map(|(phrase, _)| Finder::new(phrase)),
});

/// True for an Apache or nginx error-log line, behind a syslog header or not.
pub fn looks_like(line: &[u8]) -> bool {
    let msg = syslog::message(line.trim_ascii());
    is_apache(msg) || is_nginx(msg)
}

/// Apache: a line opening with a bracket that has a `[pid …]` or `[client …]` element.
fn is_apache(msg: &[u8]) -> bool {
    msg.starts_with(b"[")
        && (NEEDLES.pid.find(msg).is_some() || NEEDLES.client_bracket.find(msg).is_some())
}

/// nginx: `yyyy/mm/dd hh:mm:ss [level] pid#tid: `.
fn is_nginx(msg: &[u8]) -> bool {
    msg.get(4) == Some(&b'/')
        && msg.get(7) == Some(&b'/')
        && msg.get(19..21) == Some(b" [")
        && msg.first().is_some_and(u8::is_ascii_digit)
        && memchr::memchr(b'#', msg.get(..64.min(msg.len())).unwrap_or_default()).is_some()
}

/// Parses one error-log line.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (header, msg) = syslog::split(line, stamps);
    let read = if is_nginx(msg) {
        nginx(msg)?
    } else if is_apache(msg) {
        apache(msg)?
    } else {
        return Err(ParseError::Malformed);
    };
    let (src_ip, src_port) = read.client.ok_or(ParseError::NotTraffic)?;
    let verdict = verdict(read.text);
    Ok(Event {
        kind: Kind::Web,
        time: read.time.or(header.time),
        device: header.host,
        src_ip: Some(src_ip),
        src_port,
        action: verdict.action,
        http_status: verdict.status,
        service: (verdict.action == Some(Action::Fail)).then_some(Service::Web),
        ..Event::default()
    })
}

/// What one line says: its time, the client, and the text to read the server's answer from.
struct Said<'a> {
    time: Option<i64>,
    client: Option<(IpAddr, Option<u16>)>,
    text: &'a [u8],
}

/// nginx: the time, then the message; the client is the `, client: ADDR` that follows the message.
fn nginx(msg: &[u8]) -> Result<Said<'_>, ParseError> {
    let time = msg.get(..19).and_then(civil::date_time);
    let client = match NEEDLES.nginx_client.find(msg) {
        Some(at) => {
            let value = msg.get(at + b", client: ".len()..).unwrap_or_default();
            let end = memchr::memchr2(b',', b' ', value).unwrap_or(value.len());
            let text = value.get(..end).unwrap_or_default();
            Some((
                parse_ip(text).ok_or(ParseError::BadAddress("client"))?,
                None,
            ))
        }
        // ModSecurity-nginx writes `[client ADDR]` inside the message.
        None => bracket_client(msg, false)?,
    };
    Ok(Said {
        time,
        client,
        text: msg,
    })
}

/// Apache: `[time]` (absent when a module writes the line itself), `[module:level]` or `[level]`, then bracketed
/// elements, of which `[client ADDR…]` names the client.
fn apache(msg: &[u8]) -> Result<Said<'_>, ParseError> {
    let first = bracket_body(msg).unwrap_or_default();
    let time = ctime(first);
    let rest = if time.is_some() {
        msg.get(first.len() + 2..)
            .unwrap_or_default()
            .trim_ascii_start()
    } else {
        msg
    };
    // Apache 2.4 (`[module:level]`) always writes the port after the address; 2.2 (`[level]`) never does.
    let level = bracket_body(rest).unwrap_or_default();
    let with_port = memchr::memchr(b':', level).is_some();
    Ok(Said {
        time,
        client: bracket_client(rest, with_port)?,
        text: rest,
    })
}

/// The text inside the bracket that opens `s`.
fn bracket_body(s: &[u8]) -> Option<&[u8]> {
    let body = s.strip_prefix(b"[")?;
    body.get(..memchr::memchr(b']', body)?)
}

/// The first `[client ADDR]` (also `[remote ADDR]`) in `s`. With `with_port`, the address is followed by
/// `:PORT` (Apache 2.4 writes IPv6 without brackets: `[client 2001:db8::1:51234]`); a blank before the port is
/// tolerated.
fn bracket_client(s: &[u8], with_port: bool) -> Result<Option<(IpAddr, Option<u16>)>, ParseError> {
    let Some(at) = NEEDLES.client.find(s).or_else(|| NEEDLES.remote.find(s)) else {
        return Ok(None);
    };
    let value = s.get(at + b"[client ".len()..).unwrap_or_default();
    let value = value
        .get(..memchr::memchr(b']', value).ok_or(ParseError::Malformed)?)
        .unwrap_or_default()
        .trim_ascii();
    let split = memchr::memrchr(b':', value).and_then(|colon| {
        let ip = parse_ip(value.get(..colon)?.trim_ascii_end())?;
        Some((ip, parse_port(value.get(colon + 1..)?)?))
    });
    match (split, parse_ip(value)) {
        (Some((ip, port)), _) if with_port || matches!(ip, IpAddr::V4(_)) => {
            Ok(Some((ip, Some(port))))
        }
        (_, Some(ip)) => Ok(Some((ip, None))),
        (Some((ip, port)), None) => Ok(Some((ip, Some(port)))),
        (None, None) => Err(ParseError::BadAddress("client")),
    }
}

/// `Thu Oct 13 12:24:49.880562 2022` (Apache's time), as UTC.
fn ctime(s: &[u8]) -> Option<i64> {
    let mut it = s.split(|&c| c == b' ').filter(|w| !w.is_empty());
    let _weekday = it.next()?;
    let month = u32::from(civil::month(it.next()?)?);
    let day = civil::small(it.next()?)?;
    let clock = civil::clock(it.next()?)?;
    let year = i64::from(civil::small(it.next()?)?);
    civil::unix((year, month, day), clock)
}

/// The action and status a message states.
struct Verdict {
    action: Option<Action>,
    status: Option<u16>,
}

/// Phrases of Apache, nginx and ModSecurity and what they say the server did.
#[rustfmt::skip]
const PHRASES: [(&[u8], Action); 9] = [
    (b"client denied by server configuration", Action::Reject),
    (b"access forbidden by rule", Action::Reject),
    (b"limiting requests", Action::Reject),
    (b"limiting connections", Action::Reject),
    (b"ModSecurity: Access denied with connection close", Action::Drop),
    (b"ModSecurity: Access denied", Action::Reject),
    (b"authentication failure for", Action::Fail),
    (b"password mismatch", Action::Fail),
    (b" not found", Action::Fail),
];

fn verdict(text: &[u8]) -> Verdict {
    let found = PHRASES
        .iter()
        .zip(&NEEDLES.phrases)
        .find_map(|(phrase, finder)| {
            // A user not found is a failed login only in the basic-authentication modules' words.
            let (_, action) = phrase;
            (finder.find(text).is_some() && (*action != Action::Fail || basic_auth(text)))
                .then_some(phrase)
        });
    let denied = found.is_some_and(|(phrase, _)| *phrase == b"ModSecurity: Access denied");
    Verdict {
        action: found.map(|&(_, action)| action),
        status: denied.then(|| modsecurity_status(text)).flatten(),
    }
}

/// Apache's `auth_basic` / `auth_digest` / `authn_*` modules, or nginx's basic authentication (`user "x" was not
/// found in "…"`, `user "x": password mismatch`).
fn basic_auth(text: &[u8]) -> bool {
    [
        &b"[auth_basic:"[..],
        b"[auth_digest:",
        b"[authn_",
        b"AH01617",
        b"AH01618",
    ]
    .iter()
    .any(|m| memmem::find(text, m).is_some())
        || (memmem::find(text, b"user \"").is_some()
            && (memmem::find(text, b"\" was not found in \"").is_some()
                || memmem::find(text, b"\": password mismatch").is_some()))
}

/// `Access denied with code 403`: the status.
fn modsecurity_status(text: &[u8]) -> Option<u16> {
    let at = memmem::find(text, b"Access denied with code ")? + b"Access denied with code ".len();
    let digits = text.get(at..at + 3)?;
    parse_port(digits).filter(|s| (100..=599).contains(s))
}

#[cfg(test)]
mod tests {
    //! Tests of the error-log parser: properties over mutated and random lines.

    use super::*;
    use crate::parsers::{fixture, LogFormat};

    #[test]
    fn apache_time() {
        assert_eq!(
            ctime(b"Thu Oct 13 12:24:49.880562 2022"),
            Some(1_665_663_889)
        );
        assert_eq!(ctime(b"Thu Oct 13 25:24:49 2022"), None);
    }

    /// Lines made of error-log pieces and near misses, and random bytes: no panic, no address the line does not hold.
    #[test]
    fn lines_of_its_words_invent_no_address() {
        fixture::check_pieces(
            LogFormat::WebError,
            &[
                "[Tue Mar 04 10:15:02.880562 2025] ",
                "[core:error] ",
                "[error] ",
                "[pid 1:tid 2] ",
                "[client ",
                "[remote ",
                "2025/03/04 10:15:13 [error] 31#31: ",
                "*46 ",
                ", client: ",
                ", server: ",
                "ModSecurity: Access denied with code 403",
                "user \"a\" was not found in \"f\"",
                "185.220.101.7",
                "2001:db8::7",
                ":8080",
                " :1",
                "]",
                "[",
                ",",
                " ",
                "x",
            ],
        );
    }
}
