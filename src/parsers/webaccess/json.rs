//! Access logs written as one JSON object per line: nginx (`log_format … escape=json`: `remote_addr`, `status`
//! or `response_status`, `time_iso8601` / `timestamp` or `time_local`, the server address), Caddy (`remote_ip`,
//! `status`, `ts`) and Traefik (`ClientHost`, `DownstreamStatus`, `StartUTC`). No IO, no allocation, no panics.

use super::super::syslog::stamp;
use super::super::{civil, flatjson, ParseError};
use crate::address::{parse_ip, parse_port, parse_u64};
use crate::event::{Action, Event};

/// Keys naming the client, by server: nginx, Caddy, Traefik.
const CLIENT_KEYS: [&str; 3] = ["remote_addr", "remote_ip", "ClientHost"];

/// True for a JSON object with a client key.
pub fn looks_like(line: &[u8]) -> bool {
    flatjson::is_object(line) && CLIENT_KEYS.iter().any(|k| flatjson::get(line, k).is_some())
}

/// Parses one JSON access record. Destination: `server_addr`, else `host` when it is an address literal.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let get = |key| flatjson::get(line, key);
    let src = CLIENT_KEYS
        .iter()
        .find_map(|k| get(k))
        .ok_or(ParseError::MissingField("remote_addr"))?;
    let status = get("status")
        .or_else(|| get("response_status"))
        .or_else(|| get("DownstreamStatus"))
        .ok_or(ParseError::MissingField("status"))?;
    let http_status = parse_port(status)
        .filter(|s| (100..=599).contains(s))
        .ok_or(ParseError::BadNumber("status"))?;
    let time = get("time_iso8601")
        .or_else(|| get("timestamp"))
        .or_else(|| get("StartUTC"))
        .and_then(civil::iso8601)
        .or_else(|| get("time_local").and_then(stamp::clf).map(|(t, _)| t))
        .or_else(|| get("ts").and_then(epoch_seconds));
    Ok(Event {
        kind: crate::event::Kind::Web,
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

/// Caddy's `ts`: seconds since the epoch with a fraction (`1646861401.5241024`).
fn epoch_seconds(value: &[u8]) -> Option<i64> {
    let whole = value.split(|&c| c == b'.').next()?;
    parse_u64(whole).and_then(|n| i64::try_from(n).ok())
}
