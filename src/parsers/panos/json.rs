//! PAN-OS records delivered as JSON by the Strata Logging Service / Cortex Data Lake forwarders
//! (`{"LogType":"TRAFFIC","SourceAddress":…}`): the same TRAFFIC / THREAT semantics as the CSV form. No IO, no
//! allocation, no panics.

use memchr::memmem;

use super::super::{civil, flatjson, verdict, ParseError};
use crate::event::{parse_ip, parse_port, Action, Event, Proto};

/// True for a JSON object with `LogType` and `SourceAddress` keys.
pub fn sniff(line: &[u8]) -> bool {
    flatjson::is_object(line)
        && memmem::find(line, b"\"LogType\"").is_some()
        && memmem::find(line, b"\"SourceAddress\"").is_some()
}

/// Parses a JSON TRAFFIC or THREAT record; other log types are `NotTraffic`.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let get = |key| flatjson::get(line, key);
    match get("LogType") {
        Some(b"TRAFFIC" | b"THREAT") => {}
        Some(_) => return Err(ParseError::NotTraffic),
        None => return Err(ParseError::MissingField("LogType")),
    }
    let src = get("SourceAddress").ok_or(ParseError::MissingField("SourceAddress"))?;
    let dst = get("DestinationAddress").ok_or(ParseError::MissingField("DestinationAddress"))?;
    let mut action = get("Action").and_then(verdict::from_word);
    if matches!(get("Subtype"), Some(b"drop" | b"deny")) && action == Some(Action::Allow) {
        action = Some(Action::Drop);
    }
    let device = get("DeviceName")
        .filter(|d| !d.is_empty() && *d != b"null")
        .or_else(|| get("DeviceSN").filter(|s| !s.is_empty() && *s != b"no-serial"))
        .and_then(|d| std::str::from_utf8(d).ok());
    Ok(Event {
        time: get("TimeGenerated").and_then(civil::iso8601),
        device,
        src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("SourceAddress"))?),
        src_port: get("SourcePort").and_then(parse_port),
        dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("DestinationAddress"))?),
        dst_port: get("DestinationPort").and_then(parse_port),
        proto: get("Protocol").and_then(Proto::parse),
        action,
        ..Event::default()
    })
}
