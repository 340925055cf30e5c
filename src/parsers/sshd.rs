//! OpenSSH server logs (`sshd`, and `sshd-session` / `sshd-auth` since OpenSSH 9.8 / 10.0): every message that
//! names the remote address is an `auth` event with that address as its source. `Failed …`, `Invalid user …`,
//! `maximum authentication attempts exceeded`, disconnects before authentication (`[preauth]`) and the other
//! refusals are `fail`; `Accepted …` is `allow`; `drop connection … past MaxStartups` is `drop`; messages that
//! report no outcome (a connection opened, a session started or closed) carry no action. The server's own address
//! and port are the destination when the message names them (`Connection from A port P on B port Q`).
//!
//! A user name is the client's text and may hold anything, an address included: where a user name comes before
//! the address, the address is read from the end of the message, whose tail is sshd's own text; where the
//! client's text follows the address (`Received disconnect from A port P:11: TEXT`), from the front.
//!
//! With a syslog header the tag names the program; a bare message (a collector that kept only the message) is
//! read when it opens with one of sshd's own phrases. Bytes in, one event out: no IO, no allocation, no panics.

use std::net::IpAddr;

use memchr::memmem;

use super::syslog::{self, Header, Stamps};
use super::ParseError;
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Direction, Event, Kind, Proto, Service};

/// True when the line comes from sshd: its syslog tag names sshd, or it is a bare message in sshd's words.
pub fn looks_like(line: &[u8]) -> bool {
    message(line.trim_ascii(), syslog::split_untimed).is_some()
}

/// Parses one sshd line, with or without its syslog header.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (header, msg) =
        message(line, |l| syslog::split(l, stamps)).ok_or(ParseError::NotTraffic)?;
    let body = strip_level(msg);
    let rule = RULES
        .iter()
        .find(|r| body.starts_with(r.prefix))
        .ok_or(ParseError::NotTraffic)?;
    let rest = body.get(rule.prefix.len()..).unwrap_or_default();
    let (src, src_port) = rule.place.find(rest)?;
    let mut event = Event {
        kind: Kind::Auth,
        time: header.time,
        device: header.host,
        src_ip: Some(src),
        src_port,
        proto: Some(Proto::Tcp),
        action: rule.outcome.action(rest, body),
        direction: Some(Direction::Inbound),
        service: Some(Service::Ssh),
        ..Event::default()
    };
    if rule.local {
        if let Some((dst, dst_port)) = local_end(rest) {
            event.dst_ip = Some(dst);
            event.dst_port = dst_port;
        }
    }
    Ok(event)
}

/// The header (split by `split`) and the sshd message of a line, or `None` when the line is not sshd's.
fn message<'a>(
    line: &'a [u8],
    split: impl FnOnce(&'a [u8]) -> (Header<'a>, &'a [u8]),
) -> Option<(Header<'a>, &'a [u8])> {
    let (header, msg) = split(line);
    match header.app {
        Some(app) if is_program(app) => Some((header, msg)),
        Some(_) => None,
        // No tag where the header puts one: a relay that wrote the host twice (`host host sshd[7]: …`), or a bare
        // message.
        None => match after_tag(msg) {
            Some(m) => Some((header, m)),
            None => RULES
                .iter()
                .any(|r| r.bare && strip_level(msg).starts_with(r.prefix))
                .then_some((header, msg)),
        },
    }
}

/// `sshd`, `sshd-session`, `sshd-auth`, also behind a path (`/usr/sbin/sshd`).
fn is_program(app: &[u8]) -> bool {
    let name = app.rsplit(|&c| c == b'/').next().unwrap_or(app);
    matches!(name, b"sshd" | b"sshd-session" | b"sshd-auth")
}

/// The message after an sshd tag (`sshd[42]:` or `sshd:`) that is one of the first two words of `msg`.
fn after_tag(msg: &[u8]) -> Option<&[u8]> {
    let mut rest = msg;
    for _ in 0..2 {
        let (word, after) = split_word(rest);
        let name = word
            .strip_suffix(b":")
            .map(|n| match memchr::memchr(b'[', n) {
                Some(i) if n.ends_with(b"]") => n.get(..i).unwrap_or_default(),
                _ => n,
            });
        if name.is_some_and(is_program) {
            return Some(after);
        }
        rest = after;
    }
    None
}

/// The first space-delimited word and what follows it, spaces skipped.
fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b' ', s).unwrap_or(s.len());
    let (word, rest) = s.split_at(end);
    (word, rest.trim_ascii_start())
}

/// The message without sshd's level word (`error: `, `fatal: `).
fn strip_level(msg: &[u8]) -> &[u8] {
    [&b"error: "[..], b"fatal: ", b"warning: "]
        .iter()
        .find_map(|p| msg.strip_prefix(*p))
        .unwrap_or(msg)
}

/// What a message says of the attempt.
#[derive(Clone, Copy)]
enum AttemptResult {
    Fail,
    Allow,
    Drop,
    /// The message reports no outcome.
    Unknown,
    /// A disconnect: a failed attempt when it came before authentication (`[preauth]`, or an `authenticating` or
    /// `invalid` user), else the end of a session, with no outcome.
    Disconnect,
}

impl AttemptResult {
    fn action(self, rest: &[u8], body: &[u8]) -> Option<Action> {
        match self {
            AttemptResult::Fail => Some(Action::Fail),
            AttemptResult::Allow => Some(Action::Allow),
            AttemptResult::Drop => Some(Action::Drop),
            AttemptResult::Unknown => None,
            AttemptResult::Disconnect => {
                let before = body.ends_with(b"[preauth]")
                    || rest.starts_with(b"authenticating user ")
                    || rest.starts_with(b"invalid user ");
                before.then_some(Action::Fail)
            }
        }
    }
}

/// Where in the message, after its opening phrase, the remote address is.
#[derive(Clone, Copy)]
enum Place {
    /// Right after the phrase (behind a `user NAME`, `invalid user NAME` or `authenticating user NAME` when there
    /// is one): the client's text follows the address.
    First,
    /// The last `ADDR port N` (else the last `from ADDR`): a user name comes first, sshd's own text follows.
    Last,
    /// The PAM item `rhost=ADDR`.
    Rhost,
    /// The first address in brackets, `[ADDR]:PORT` or `[ADDR]`.
    Bracket,
}

impl Place {
    fn find(self, rest: &[u8]) -> Result<(IpAddr, Option<u16>), ParseError> {
        let found = match self {
            Place::First => first(rest)?.or(last(rest)?),
            Place::Last => last(rest)?,
            Place::Rhost => rhost(rest),
            Place::Bracket => bracket(rest)?.map(|(ip, port, _)| (ip, port)),
        };
        found.ok_or(ParseError::NotTraffic)
    }
}

/// One message sshd writes with the remote address in it.
struct Rule {
    prefix: &'static [u8],
    outcome: AttemptResult,
    place: Place,
    /// The server's own address follows the remote one (`… on B port Q`, `… on [B]:Q`).
    local: bool,
    /// Read without an sshd tag too: the phrase is sshd's alone.
    bare: bool,
}

const fn rule(prefix: &'static [u8], outcome: AttemptResult, place: Place, bare: bool) -> Rule {
    Rule {
        prefix,
        outcome,
        place,
        local: false,
        bare,
    }
}

/// sshd's messages that name the remote address, longer phrases before their prefixes.
#[rustfmt::skip]
static RULES: [Rule; 30] = [
    rule(b"Accepted ", AttemptResult::Allow, Place::Last, true),
    rule(b"Failed ", AttemptResult::Fail, Place::Last, true),
    rule(b"Invalid user ", AttemptResult::Fail, Place::Last, true),
    rule(b"Connection closed by ", AttemptResult::Disconnect, Place::Last, true),
    rule(b"Connection reset by ", AttemptResult::Disconnect, Place::Last, true),
    rule(b"Disconnected from ", AttemptResult::Disconnect, Place::Last, true),
    rule(b"Disconnecting ", AttemptResult::Fail, Place::Last, true),
    rule(b"Received disconnect from ", AttemptResult::Disconnect, Place::First, true),
    rule(b"Did not receive identification string from ", AttemptResult::Fail, Place::First, true),
    rule(b"Bad protocol version identification ", AttemptResult::Fail, Place::Last, true),
    rule(b"Unable to negotiate with ", AttemptResult::Fail, Place::First, true),
    rule(b"banner exchange: Connection from ", AttemptResult::Fail, Place::First, true),
    rule(b"kex_exchange_identification: Connection closed by ", AttemptResult::Fail, Place::First, false),
    rule(b"Protocol major versions differ for ", AttemptResult::Fail, Place::First, true),
    rule(b"Timeout before authentication for ", AttemptResult::Fail, Place::First, true),
    rule(b"maximum authentication attempts exceeded for ", AttemptResult::Fail, Place::Last, true),
    rule(b"Too many authentication failures for ", AttemptResult::Fail, Place::Last, true),
    rule(b"Postponed ", AttemptResult::Unknown, Place::Last, true),
    rule(b"Partial ", AttemptResult::Unknown, Place::Last, true),
    rule(b"PAM: Authentication failure for ", AttemptResult::Fail, Place::Last, true),
    rule(b"PAM ", AttemptResult::Fail, Place::Rhost, true),
    rule(b"pam_unix(sshd:auth): authentication failure;", AttemptResult::Fail, Place::Rhost, true),
    rule(b"User ", AttemptResult::Fail, Place::Last, false),
    rule(b"ssh_dispatch_run_fatal: Connection from ", AttemptResult::Fail, Place::First, true),
    Rule {
        local: true,
        ..rule(b"Connection from ", AttemptResult::Unknown, Place::First, false)
    },
    rule(b"Starting session: ", AttemptResult::Unknown, Place::Last, false),
    rule(b"Close session: ", AttemptResult::Unknown, Place::Last, false),
    Rule {
        local: true,
        ..rule(b"drop connection #", AttemptResult::Drop, Place::Bracket, false)
    },
    rule(b"reverse mapping checking getaddrinfo for ", AttemptResult::Unknown, Place::Bracket, false),
    rule(b"Address ", AttemptResult::Unknown, Place::First, false),
];

/// An address word: the word itself, or without one trailing `:` or `,` (`1.2.3.4:` before a reason).
fn address(word: &[u8]) -> Option<IpAddr> {
    parse_ip(word).or_else(|| parse_ip(word.strip_suffix(b":").or(word.strip_suffix(b","))?))
}

/// The port at the start of `s` (`22`, `22:11:`, `22,`): its leading digits. Digits that make no port are an error.
fn port_at(s: &[u8]) -> Result<Option<u16>, ParseError> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return Ok(None);
    }
    parse_port(s.get(..digits).unwrap_or_default())
        .map(Some)
        .ok_or(ParseError::BadNumber("port"))
}

/// `ADDR[ port N]` at the start of `s`, behind a user phrase if one opens it.
fn first(s: &[u8]) -> Result<Option<(IpAddr, Option<u16>)>, ParseError> {
    let s = [&b"authenticating user "[..], b"invalid user ", b"user "]
        .iter()
        .find_map(|p| s.strip_prefix(*p))
        .map_or(s, |after| split_word(after).1);
    let (word, after) = split_word(s);
    let Some(ip) = address(word) else {
        return Ok(None);
    };
    let port = match after.strip_prefix(b"port ") {
        Some(p) if !word.ends_with(b":") => port_at(p)?,
        _ => None,
    };
    Ok(Some((ip, port)))
}

/// The last `ADDR port N` in `s`, else the last `from ADDR`.
fn last(s: &[u8]) -> Result<Option<(IpAddr, Option<u16>)>, ParseError> {
    for at in memmem::rfind_iter(s, b" port ") {
        let before = s.get(..at).unwrap_or_default();
        let word = before
            .get(memchr::memrchr(b' ', before).map_or(0, |i| i + 1)..)
            .unwrap_or_default();
        let Some(ip) = parse_ip(word) else { continue };
        let after = s.get(at + b" port ".len()..).unwrap_or_default();
        if after.first().is_some_and(u8::is_ascii_digit) {
            return Ok(Some((ip, port_at(after)?)));
        }
    }
    for at in memmem::rfind_iter(s, b"from ") {
        if at > 0 && s.get(at - 1) != Some(&b' ') {
            continue;
        }
        let (word, _) = split_word(s.get(at + b"from ".len()..).unwrap_or_default());
        if let Some(ip) = address(word) {
            return Ok(Some((ip, None)));
        }
    }
    Ok(None)
}

/// The address of the PAM item ` rhost=ADDR` (a host name gives none).
fn rhost(s: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let at = memmem::find(s, b" rhost=")? + b" rhost=".len();
    let (word, _) = split_word(s.get(at..)?);
    Some((parse_ip(word)?, None))
}

/// The first `[ADDR]` in `s`, with the port of `[ADDR]:PORT`, and the index after it.
fn bracket(s: &[u8]) -> Result<Option<(IpAddr, Option<u16>, usize)>, ParseError> {
    let mut from = 0;
    while let Some(open) = s.get(from..).and_then(|r| memchr::memchr(b'[', r)) {
        let open = from + open;
        let Some(close) = s.get(open..).and_then(|r| memchr::memchr(b']', r)) else {
            return Ok(None);
        };
        let close = open + close;
        from = close + 1;
        let Some(ip) = s.get(open + 1..close).and_then(parse_ip) else {
            continue;
        };
        let port = match s.get(close + 1..).and_then(|r| r.strip_prefix(b":")) {
            Some(p) => port_at(p)?,
            None => None,
        };
        return Ok(Some((ip, port, from)));
    }
    Ok(None)
}

/// The server's end named after the remote one: `… on B port Q` or `… on [B]:Q`.
fn local_end(rest: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    let at = memmem::find(rest, b" on ")? + b" on ".len();
    let tail = rest.get(at..)?;
    if tail.starts_with(b"[") {
        return bracket(tail).ok()?.map(|(ip, port, _)| (ip, port));
    }
    let (word, after) = split_word(tail);
    let ip = parse_ip(word)?;
    let port = after.strip_prefix(b"port ").and_then(|p| port_at(p).ok()?);
    Some((ip, port))
}

#[cfg(test)]
mod tests {
    //! Tests of the sshd parser: properties over mutated and random lines.

    use crate::parsers::{fixture, LogFormat};

    /// Lines made of sshd's words and near misses, and random bytes: no panic, no address the line does not hold.
    #[test]
    fn lines_of_its_words_invent_no_address() {
        fixture::check_pieces(
            LogFormat::Sshd,
            &[
                "2025-03-04T10:15:02Z ",
                "<38>1 2025-03-04T10:15:02Z h sshd 1 - - ",
                "host ",
                "sshd[42]: ",
                "sshd-session: ",
                "su: ",
                "error: ",
                "Failed password for ",
                "Accepted publickey for ",
                "Invalid user ",
                "Connection closed by ",
                "Connection from ",
                "Received disconnect from ",
                "drop connection #1 from ",
                "pam_unix(sshd:auth): authentication failure; ",
                "rhost=",
                "authenticating user ",
                "invalid user ",
                "root ",
                "from ",
                " port ",
                "port ",
                "22",
                "65536",
                ":11: ",
                " on ",
                "[",
                "]:",
                "]",
                "185.220.101.7",
                "2001:db8::7",
                "1.2.3",
                "::ffff:192.0.2.1",
                " ssh2",
                " [preauth]",
                " ",
                ":",
            ],
        );
    }
}
