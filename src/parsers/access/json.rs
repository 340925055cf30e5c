//! nginx access logs written as one JSON object per line (`log_format … escape=json`): `remote_addr`, `status` or
//! `response_status`, `time_iso8601` / `timestamp` or `time_local`, and the server address. No IO, no
//! allocation, no panics.

use memchr::memmem;

use super::super::syslog::stamp;
use super::super::{civil, flatjson, ParseError};
use crate::event::{parse_ip, parse_port, Action, Event};

/// True for a JSON object with a `remote_addr` key.
pub fn sniff(line: &[u8]) -> bool {
    flatjson::is_object(line) && memmem::find(line, b"\"remote_addr\"").is_some()
}

/// Parses one JSON access record. Destination: `server_addr`, else `host` when it is an address literal.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let get = |key| flatjson::get(line, key);
    let src = get("remote_addr").ok_or(ParseError::MissingField("remote_addr"))?;
    let status = get("status")
        .or_else(|| get("response_status"))
        .ok_or(ParseError::MissingField("status"))?;
    let http_status = parse_port(status)
        .filter(|s| (100..=599).contains(s))
        .ok_or(ParseError::BadNumber("status"))?;
    let time = get("time_iso8601")
        .or_else(|| get("timestamp"))
        .and_then(civil::iso8601)
        .or_else(|| get("time_local").and_then(stamp::clf).map(|(t, _)| t));
    Ok(Event {
        time,
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("remote_addr"))?),
        dst_ip: get("server_addr")
            .and_then(parse_ip)
            .or_else(|| get("host").and_then(parse_ip)),
        dst_port: get("server_port").and_then(parse_port),
        action: Some(Action::Allow),
        http_status: Some(http_status),
        ..Event::default()
    })
}
