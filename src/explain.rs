//! `torwatch explain`: runs each input line through the log parsers and prints what it became, as an aligned text
//! line or one JSON object, then counts lines, events and errors by reason. It owns that rendering only: it reads from
//! and writes to whatever the caller hands it, opens no files and knows nothing of the command line.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::event::{Event, Kind};
use crate::parsers::{trim_line, Context, LogFormat, ParseError};

/// How `explain` reads and prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// A fixed format for every line; `None` auto-detects per line.
    pub format: Option<LogFormat>,
    /// One JSON object per line instead of aligned text, and no trailer.
    pub json: bool,
}

/// What a run saw: every line read, the events its lines gave, the records that carry no flow by design
/// (`nodata`, `skipdata`) and the others by error reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub parsed: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub errors: BTreeMap<&'static str, u64>,
}

impl Summary {
    fn record(&mut self, outcome: &Result<Event<'_>, ParseError>) {
        match outcome {
            Ok(_) => self.parsed += 1,
            Err(e) if !e.is_error() => *self.skipped.entry(e.reason()).or_insert(0) += 1,
            Err(e) => *self.errors.entry(e.reason()).or_insert(0) += 1,
        }
    }
}

impl fmt::Display for Summary {
    /// `lines 12, parsed 9, errors 3 (empty 1, unknown_format 2)`, with `, skipped 1 (nodata 1)` before the errors
    /// when records were skipped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lines {}, parsed {}", self.lines, self.parsed)?;
        if !self.skipped.is_empty() {
            write!(f, ", skipped ")?;
            counts(f, &self.skipped)?;
        }
        write!(f, ", errors ")?;
        counts(f, &self.errors)
    }
}

/// `3 (a 1, b 2)`, or `0`.
fn counts(f: &mut fmt::Formatter<'_>, by: &BTreeMap<&'static str, u64>) -> fmt::Result {
    write!(f, "{}", by.values().sum::<u64>())?;
    let mut sep = " (";
    for (reason, n) in by {
        write!(f, "{sep}{reason} {n}")?;
        sep = ", ";
    }
    if !by.is_empty() {
        f.write_str(")")?;
    }
    Ok(())
}

/// Reads `input` line by line (bytes: lines need not be UTF-8), writes one text or JSON line per event (a line of
/// many flows gives many, each with the line's number) or per line that gave none, to `out`, and in text mode a
/// `# `-prefixed summary trailer. Fails only when reading or writing fails.
pub fn run(mut input: impl BufRead, out: impl Write, opts: &Options) -> io::Result<Summary> {
    let mut out = io::BufWriter::new(out);
    let mut summary = Summary::default();
    let mut context = Context::default().at(crate::clock::now());
    let mut line = Vec::with_capacity(1024);
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        summary.lines += 1;
        let text = trim_line(&line);
        let format = match text.is_empty() {
            true => Err(ParseError::Empty),
            false => opts
                .format
                .or_else(|| context.detect(text))
                .ok_or(ParseError::UnknownFormat),
        };
        let mut written = Ok(());
        let mut show = |format: Option<LogFormat>, outcome: Result<Event<'_>, ParseError>| {
            summary.record(&outcome);
            if written.is_ok() {
                written = write_outcome(&mut out, number, format, &outcome, opts.json);
            }
        };
        match format {
            Ok(format) => context.parse_each(format, text, &mut |r| show(Some(format), r)),
            Err(e) => show(None, Err(e)),
        }
        written?;
    }
    if !opts.json {
        writeln!(out, "# {summary}")?;
    }
    out.flush()?;
    Ok(summary)
}

/// One event, or the reason a line or record gave none, as a JSON object (with its line number) or a text line.
fn write_outcome(
    out: &mut impl Write,
    number: u64,
    format: Option<LogFormat>,
    outcome: &Result<Event<'_>, ParseError>,
    json: bool,
) -> io::Result<()> {
    match (outcome, format) {
        (Ok(event), Some(format)) if json => {
            let mut value = event_json(format, event);
            if let Value::Object(m) = &mut value {
                m.insert("line".into(), number.into());
            }
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")
        }
        (Ok(event), Some(format)) => writeln!(out, "{}", event_text(format, event)),
        (Err(e), _) if json => {
            let mut value = error_json(*e);
            if let Value::Object(m) = &mut value {
                m.insert("line".into(), number.into());
            }
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")
        }
        (Err(e), _) if !e.is_error() => writeln!(out, "skipped: {}", e.reason()),
        (Err(e), _) => writeln!(out, "error: {}", e.reason()),
        (Ok(_), None) => Ok(()),
    }
}

/// The `explain --json` object of one event (the caller adds its `line`): `format`, `kind` plus every field the
/// event carries (`service` for a login that names what it was for), absent ones omitted.
pub fn event_json(format: LogFormat, event: &Event) -> Value {
    let mut m = Map::new();
    m.insert("format".into(), format.as_str().into());
    m.insert("kind".into(), event.kind.as_str().into());
    if let Some(time) = event.time.and_then(rfc3339) {
        m.insert("time".into(), time.into());
    }
    if let Some(device) = event.device {
        m.insert("device".into(), device.into());
    }
    let ip = |ip: IpAddr| Value::from(ip.to_string());
    let fields = [
        ("src_ip", event.src_ip.map(ip)),
        ("src_port", event.src_port.map(Value::from)),
        ("dst_ip", event.dst_ip.map(ip)),
        ("dst_port", event.dst_port.map(Value::from)),
        ("proto", event.proto.map(|p| p.as_str().into())),
        ("action", event.action.map(|a| a.as_str().into())),
        ("direction", event.direction.map(|d| d.as_str().into())),
        ("http_status", event.http_status.map(Value::from)),
        ("service", event.service.map(|s| s.as_str().into())),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            m.insert(key.into(), value);
        }
    }
    Value::Object(m)
}

/// The `explain --json` object of a line (or a record of a document) that gave no event: `{"error": REASON}`, or
/// `{"skipped": REASON}` for a record that carries no flow by design (`nodata`, `skipdata`).
pub fn error_json(error: ParseError) -> Value {
    let mut m = Map::new();
    let key = if error.is_error() { "error" } else { "skipped" };
    m.insert(key.into(), error.reason().into());
    Value::Object(m)
}

/// Unix seconds as RFC 3339 UTC (`2024-05-01T10:00:00Z`); `None` when out of chrono's range.
fn rfc3339(secs: i64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp(secs, 0)?;
    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The aligned text line of one event:
/// `netfilter  drop    tcp     203.0.113.5:51234 -> 198.51.100.7:22  dir=inbound  device=fw1  time=…` (`kind=…`
/// for an event that is not traffic).
pub fn event_text<'e>(format: LogFormat, event: &'e Event<'e>) -> impl fmt::Display + 'e {
    TextLine(format, event)
}

struct TextLine<'e>(LogFormat, &'e Event<'e>);

impl fmt::Display for TextLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TextLine(format, e) = self;
        let action = e.action.map_or("-", |a| a.as_str());
        let proto = e.proto.map_or("-", |p| p.as_str());
        write!(f, "{:<9}  {action:<6}  {proto:<6}  ", format.as_str())?;
        write!(
            f,
            "{} -> {}",
            ShownEndpoint(e.src_ip, e.src_port),
            ShownEndpoint(e.dst_ip, e.dst_port)
        )?;
        if e.kind != Kind::Traffic {
            write!(f, "  kind={}", e.kind.as_str())?;
        }
        if let Some(service) = e.service {
            write!(f, "  service={}", service.as_str())?;
        }
        if let Some(status) = e.http_status {
            write!(f, "  status={status}")?;
        }
        if let Some(dir) = e.direction {
            write!(f, "  dir={}", dir.as_str())?;
        }
        if let Some(device) = e.device {
            write!(f, "  device={}", device.escape_debug())?;
        }
        if let Some(time) = e.time.and_then(rfc3339) {
            write!(f, "  time={time}")?;
        }
        Ok(())
    }
}

/// `ip:port`, `[v6]:port`, `ip`, or `-` when the address is absent.
struct ShownEndpoint(Option<IpAddr>, Option<u16>);

impl fmt::Display for ShownEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (None, None) => f.write_str("-"),
            (None, Some(port)) => write!(f, "-:{port}"),
            (Some(ip), None) => write!(f, "{ip}"),
            (Some(IpAddr::V6(ip)), Some(port)) => write!(f, "[{ip}]:{port}"),
            (Some(IpAddr::V4(ip)), Some(port)) => write!(f, "{ip}:{port}"),
        }
    }
}
