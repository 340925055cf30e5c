//! PAN-OS logs in their syslog CSV form (`1,2024/01/01 00:00:00,SERIAL,TRAFFIC,drop,…`), with or without a syslog
//! header in front. TRAFFIC and THREAT records become events (a THREAT record names one session just as a
//! TRAFFIC record does, so a session with a threat log can appear twice); GLOBALPROTECT, AUTH, SYSTEM and CONFIG
//! records that name a remote address are `auth` events ([`logins`]); every other record type (USERID, …) is
//! `NotTraffic`. Field positions are those of PAN-OS 8.0–11.x, which only ever appended
//! columns. The JSON form of the log forwarding service is read too. Pure byte scanning: no IO, no allocation,
//! no panics.

use memchr::memchr;

use super::civil;
use super::csv_fields::CsvFields;
use super::origin;
use super::syslog::{self, Stamps};
use super::verdict;
use super::ParseError;
use crate::address::{parse_ip, parse_port};
use crate::event::{Action, Event, Proto};

/// Column of the device name in TRAFFIC records (0-based, counting the leading FUTURE_USE column).
const TRAFFIC_DEVICE_NAME: usize = 52;
/// Column of the device name in THREAT records.
const THREAT_DEVICE_NAME: usize = 59;

mod json;
mod logins;

/// True when the line holds a PAN-OS CSV record (`<n>,<date time>,<serial>,<TYPE>,`) or a JSON record.
pub fn looks_like(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    record(line).is_some() || json::looks_like(line)
}

/// Parses a TRAFFIC or THREAT record. Time is the generated time read as UTC (PAN-OS prints local time without
/// an offset), or the high-resolution ISO 8601 time with its offset when the record carries one. Device is the
/// device name column, else the syslog host, else the serial number. A subtype of `drop` or `deny` wins over an
/// `allow` action.
pub fn parse<'a>(line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
    let line = line.trim_ascii();
    if json::looks_like(line) {
        return json::parse(line);
    }
    let (rec, kind) = record(line).ok_or(ParseError::Malformed)?;
    let device_col = match kind {
        b"TRAFFIC" => TRAFFIC_DEVICE_NAME,
        b"THREAT" => THREAT_DEVICE_NAME,
        k if logins::is_login_type(k) => {
            let mut event = logins::parse(rec, k)?;
            origin::fill_from_header(line, stamps, &mut event);
            if event.device.is_none() {
                event.device = CsvFields::new(rec)
                    .nth(2)
                    .filter(|s| !s.is_empty())
                    .and_then(|s| std::str::from_utf8(s).ok());
            }
            return Ok(event);
        }
        _ => return Err(ParseError::NotTraffic),
    };
    let mut cols = Columns::default();
    for (i, field) in CsvFields::new(rec).enumerate() {
        cols.take(i, field, device_col);
    }
    let serial = cols.serial;
    let mut event = cols.into_event()?;
    origin::fill_from_header(line, stamps, &mut event);
    if event.device.is_none() {
        event.device = Some(serial)
            .filter(|s| !s.is_empty())
            .and_then(|s| std::str::from_utf8(s).ok());
    }
    Ok(event)
}

/// The columns of one record that an event needs, as borrowed slices.
#[derive(Default)]
struct Columns<'a> {
    serial: &'a [u8],
    subtype: &'a [u8],
    generated: &'a [u8],
    src: Option<&'a [u8]>,
    dst: Option<&'a [u8]>,
    src_port: &'a [u8],
    dst_port: &'a [u8],
    proto: &'a [u8],
    action: Option<&'a [u8]>,
    device_name: &'a [u8],
    high_res_time: Option<i64>,
}

impl<'a> Columns<'a> {
    fn take(&mut self, i: usize, field: &'a [u8], device_col: usize) {
        match i {
            2 => self.serial = field,
            4 => self.subtype = field,
            6 => self.generated = field,
            7 => self.src = Some(field),
            8 => self.dst = Some(field),
            24 => self.src_port = field,
            25 => self.dst_port = field,
            29 => self.proto = field,
            30 => self.action = Some(field),
            _ if i == device_col => self.device_name = field,
            _ if i > device_col && self.high_res_time.is_none() && field.len() >= 20 => {
                self.high_res_time = civil::iso8601(field);
            }
            _ => {}
        }
    }

    fn into_event(self) -> Result<Event<'a>, ParseError> {
        let src = self.src.ok_or(ParseError::MissingField("src"))?;
        let dst = self.dst.ok_or(ParseError::MissingField("dst"))?;
        let action = self.action.ok_or(ParseError::MissingField("action"))?;
        let mut action = verdict::from_word(action);
        if matches!(self.subtype, b"drop" | b"deny") && action == Some(Action::Allow) {
            action = Some(Action::Drop);
        }
        let device = Some(self.device_name)
            .filter(|d| !d.is_empty() && !d.iter().all(u8::is_ascii_digit))
            .and_then(|d| std::str::from_utf8(d).ok());
        Ok(Event {
            time: self
                .high_res_time
                .or_else(|| civil::date_time(self.generated)),
            device,
            src_ip: Some(parse_ip(src).ok_or(ParseError::BadAddress("src"))?),
            src_port: parse_port(self.src_port),
            dst_ip: Some(parse_ip(dst).ok_or(ParseError::BadAddress("dst"))?),
            dst_port: parse_port(self.dst_port),
            proto: Proto::parse(self.proto),
            action,
            ..Event::default()
        })
    }
}

/// Finds the CSV record in the line and returns it with its type column (`TRAFFIC`, `THREAT`, `SYSTEM`, …).
/// Behind an RFC 5424 header whose structured data holds a comma, the header is split off first.
fn record(line: &[u8]) -> Option<(&[u8], &[u8])> {
    record_at_first_comma(line).or_else(|| {
        let message = syslog::message(line);
        (line.first() == Some(&b'<') && message.len() < line.len())
            .then(|| record_at_first_comma(message))?
    })
}

fn record_at_first_comma(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let comma = memchr(b',', line)?;
    let start = line
        .get(..comma)?
        .iter()
        .rposition(|&c| c == b' ' || c == b'>')
        .map_or(0, |i| i + 1);
    let rec = line.get(start..)?;
    let mut fields = CsvFields::new(rec);
    let lead = fields.next()?;
    let received = fields.next()?;
    let serial = fields.next()?;
    let kind = fields.next()?;
    let shaped = lead.len() <= 4
        && lead.iter().all(u8::is_ascii_digit)
        && received.first().is_some_and(u8::is_ascii_digit)
        && memchr(b'/', received).is_some()
        && (1..=32).contains(&serial.len())
        && serial
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && (3..=16).contains(&kind.len())
        && kind.iter().all(|c| c.is_ascii_uppercase() || *c == b'_');
    shaped.then_some((rec, kind))
}

#[cfg(test)]
mod tests;
