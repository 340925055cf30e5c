//! PAN-OS records delivered as JSON by the Strata Logging Service / Cortex Data Lake forwarders
//! (`{"LogType":"TRAFFIC","SourceAddress":…}`): the same TRAFFIC / THREAT semantics as the CSV form, and the same
//! login records (GLOBALPROTECT `PublicIPv4`, AUTH `SourceIP`, SYSTEM `EventDescription`, CONFIG `IPaddress`). No
//! IO, no allocation, no panics.

use memchr::memmem;

use super::super::{civil, flatjson, verdict, ParseError};
use super::logins;
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event, Proto};

/// Keys that, beside `LogType`, make an object a PAN-OS record: the traffic source, a GlobalProtect client's
/// public address, an authenticating user's address, a system event's text, an administrator's address.
const RECORD_KEYS: [&[u8]; 6] = [
    b"\"SourceAddress\"",
    b"\"PublicIPv4\"",
    b"\"PublicIPv6\"",
    b"\"SourceIP\"",
    b"\"EventDescription\"",
    b"\"IPaddress\"",
];

/// True for a JSON object with a `LogType` key and one of [`RECORD_KEYS`].
pub fn looks_like(line: &[u8]) -> bool {
    flatjson::is_object(line)
        && memmem::find(line, b"\"LogType\"").is_some()
        && RECORD_KEYS.iter().any(|k| memmem::find(line, k).is_some())
}

/// Parses a JSON TRAFFIC or THREAT record, or a login record; other log types are `NotTraffic`.
pub fn parse(line: &[u8]) -> Result<Event<'_>, ParseError> {
    let get = |key| flatjson::get(line, key);
    match get("LogType") {
        Some(b"TRAFFIC" | b"THREAT") => {}
        Some(kind) if logins::is_login_type(kind) => return login(line, kind),
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

/// A GLOBALPROTECT, AUTH, SYSTEM or CONFIG record.
fn login<'a>(line: &'a [u8], kind: &[u8]) -> Result<Event<'a>, ParseError> {
    let get = |key| flatjson::get(line, key).unwrap_or_default();
    let login = match kind {
        b"GLOBALPROTECT" => logins::globalprotect(
            get("EventIDValue"),
            [get("PublicIPv4"), get("PublicIPv6")],
            get("EventStatus"),
        ),
        b"AUTH" | b"AUTHENTICATION" => logins::auth(get("SourceIP"), get("AuthEvent")),
        b"SYSTEM" => logins::system(get("Subtype"), get("EventName"), get("EventDescription")),
        _ => logins::config(get("IPaddress")),
    }?;
    let time = ["TimeGenerated", "EventTime", "TimeGeneratedHighResolution"]
        .iter()
        .find_map(|k| flatjson::get(line, k).and_then(civil::iso8601));
    let mut event = login.into_event(time);
    event.device = flatjson::get(line, "DeviceName")
        .or_else(|| flatjson::get(line, "LogSourceName"))
        .or_else(|| flatjson::get(line, "DeviceSN"))
        .filter(|d| !d.is_empty() && *d != b"null")
        .and_then(|d| std::str::from_utf8(d).ok());
    Ok(event)
}
