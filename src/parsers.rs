//! Log parsers: pure functions from one line of bytes to its events, each an [`Event`] or a [`ParseError`] reason.
//!
//! One module per log format behind the same functions: `looks_like(line) -> bool` (cheap: is this line probably
//! mine?) and `parse(line, stamps) -> Result<Event, ParseError>` (`stamps`: the `now` a syslog stamp without a
//! year is read at, given by the caller; formats whose stamps all carry a year take only the line); a format whose
//! line may hold a document of many flows (an Azure NSG record, a list of GCP log entries) also hands each of them
//! to a closure (`parse_each`). [`Context`] reads a stream's lines with its input's settings and what its earlier
//! lines said. Parsers scan bytes (`memchr`), do no IO, read no clock, keep no thread-local state, know nothing of
//! tokio, and allocate nothing per line or event. They must never panic on any input.

use crate::event::{Addresses, Event, PacketFacts};
use syslog::Stamps;

pub mod asa;
pub mod azure;
pub mod cef;
mod context;
pub mod filterlog;
pub mod fortigate;
pub mod gcp;
pub mod meraki;
pub mod mikrotik;
pub mod netfilter;
pub mod panos;
pub mod sonicwall;
pub mod sophos;
pub mod srx;
pub mod sshd;
pub mod syslog;
pub mod vpcflow;
pub mod watchguard;
pub mod webaccess;
pub mod weberror;
pub mod winfw;

pub use context::Context;

// Byte-scanning pieces shared by the PAN-OS, FortiGate, VPC Flow, CEF/LEEF and access-log parsers.
pub mod civil;
pub mod csv_fields;
#[cfg(test)]
mod fixture;
pub mod flatjson;
pub mod jsondoc;
pub mod kv;
pub mod login;
pub mod origin;
pub mod verdict;

/// The log formats torwatch reads. Closed set; the config names them in kebab-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogFormat {
    /// netfilter LOG lines: iptables, nftables `log prefix`, UFW, firewalld, ulogd2 JSON.
    Netfilter,
    /// pfSense / OPNsense `filterlog` CSV.
    Filterlog,
    /// PAN-OS TRAFFIC CSV.
    Panos,
    /// Cisco ASA / FTD deny messages.
    Asa,
    /// FortiGate key=value.
    Fortigate,
    /// Juniper SRX `RT_FLOW_SESSION_*`.
    Srx,
    /// AWS VPC Flow Logs.
    VpcFlow,
    /// CEF and LEEF (Check Point, Fortinet, Palo Alto CEF, Forcepoint, WatchGuard, …).
    Cef,
    /// Windows Firewall `pfirewall.log`.
    WinFirewall,
    /// nginx / Apache combined access log.
    WebAccess,
    /// nginx / Apache error log (ModSecurity included).
    WebError,
    /// OpenSSH server logins and refusals.
    Sshd,
    /// Sophos SFOS (XG, XGS) and UTM (SG) logs.
    Sophos,
    /// SonicWall SonicOS native syslog (`id=firewall …`).
    SonicWall,
    /// WatchGuard Fireware traffic messages (`msg_id="3000-0148" Deny …`).
    WatchGuard,
    /// MikroTik RouterOS firewall and login logs.
    MikroTik,
    /// Cisco Meraki flows, firewall, URL, security and VPN events.
    Meraki,
    /// Azure NSG and virtual network flow logs (one event per flow tuple), Azure Firewall rule logs.
    Azure,
    /// Google Cloud firewall rules logging and VPC Flow Logs entries (one event per entry).
    Gcp,
}

impl LogFormat {
    /// Every format, in the order auto-detection tries them.
    pub const ALL: [LogFormat; 19] = [
        LogFormat::Netfilter,
        LogFormat::Filterlog,
        LogFormat::Panos,
        LogFormat::Asa,
        LogFormat::Fortigate,
        LogFormat::Srx,
        LogFormat::Cef,
        LogFormat::WinFirewall,
        LogFormat::VpcFlow,
        LogFormat::WebAccess,
        LogFormat::WebError,
        LogFormat::Sshd,
        LogFormat::Sophos,
        LogFormat::SonicWall,
        LogFormat::WatchGuard,
        LogFormat::MikroTik,
        LogFormat::Meraki,
        LogFormat::Azure,
        LogFormat::Gcp,
    ];

    /// The name used in config, metrics labels and `explain` output.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Netfilter => "netfilter",
            LogFormat::Filterlog => "filterlog",
            LogFormat::Panos => "panos",
            LogFormat::Asa => "asa",
            LogFormat::Fortigate => "fortigate",
            LogFormat::Srx => "srx",
            LogFormat::VpcFlow => "vpcflow",
            LogFormat::Cef => "cef",
            LogFormat::WinFirewall => "winfw",
            LogFormat::WebAccess => "access",
            LogFormat::WebError => "weberror",
            LogFormat::Sshd => "sshd",
            LogFormat::Sophos => "sophos",
            LogFormat::SonicWall => "sonicwall",
            LogFormat::WatchGuard => "watchguard",
            LogFormat::MikroTik => "mikrotik",
            LogFormat::Meraki => "meraki",
            LogFormat::Azure => "azure",
            LogFormat::Gcp => "gcp",
        }
    }

    pub fn from_name(name: &str) -> Option<LogFormat> {
        LogFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Cheap test: does this line look like this format?
    pub fn looks_like(self, line: &[u8]) -> bool {
        match self {
            LogFormat::Netfilter => netfilter::looks_like(line),
            LogFormat::Filterlog => filterlog::looks_like(line),
            LogFormat::Panos => panos::looks_like(line),
            LogFormat::Asa => asa::looks_like(line),
            LogFormat::Fortigate => fortigate::looks_like(line),
            LogFormat::Srx => srx::looks_like(line),
            LogFormat::VpcFlow => vpcflow::looks_like(line),
            LogFormat::Cef => cef::looks_like(line),
            LogFormat::WinFirewall => winfw::looks_like(line),
            LogFormat::WebAccess => webaccess::looks_like(line),
            LogFormat::WebError => weberror::looks_like(line),
            LogFormat::Sshd => sshd::looks_like(line),
            LogFormat::Sophos => sophos::looks_like(line),
            LogFormat::SonicWall => sonicwall::looks_like(line),
            LogFormat::WatchGuard => watchguard::looks_like(line),
            LogFormat::MikroTik => mikrotik::looks_like(line),
            LogFormat::Meraki => meraki::looks_like(line),
            LogFormat::Azure => azure::looks_like(line),
            LogFormat::Gcp => gcp::looks_like(line),
        }
    }

    /// The addresses of a line exactly when [`LogFormat::parse`] accepts it, with the same error when it does not.
    /// Cheaper than a parse where the format allows (netfilter: no time, host or action), so that a caller can
    /// parse in full only the lines whose addresses matter.
    pub fn addresses(self, line: &[u8]) -> Result<Addresses, ParseError> {
        self.packet_facts(line).map(|g| g.addresses)
    }

    /// The addresses, destination port and protocol of a line exactly when [`LogFormat::parse`] accepts it, with
    /// the same values, or the same error when it does not. Like [`LogFormat::addresses`], cheaper than a parse for
    /// netfilter.
    #[inline]
    pub fn packet_facts(self, line: &[u8]) -> Result<PacketFacts, ParseError> {
        match self {
            LogFormat::Netfilter => netfilter::packet_facts(line),
            // The packet facts hold no time: the stamps it is read with do not matter.
            other => other
                .parse(line, &mut Stamps::default())
                .map(|e| e.packet_facts()),
        }
    }

    /// True for a format whose line may hold many events (a document of flows): read it with
    /// [`LogFormat::parse_each`]; its [`LogFormat::parse`] gives the first.
    pub fn holds_many(self) -> bool {
        matches!(self, LogFormat::Azure | LogFormat::Gcp)
    }

    /// Hands every event of a line to `each`, in order: a record's event, or the reason a record gave none. A line
    /// gives at least one; a line of a format that does not [`hold many`](LogFormat::holds_many) exactly one, the
    /// result of [`LogFormat::parse`].
    pub fn parse_each<'a>(
        self,
        line: &'a [u8],
        stamps: &mut Stamps,
        each: &mut impl FnMut(Result<Event<'a>, ParseError>),
    ) {
        match self {
            LogFormat::Azure => azure::parse_each(line, each),
            LogFormat::Gcp => gcp::parse_each(line, each),
            other => each(other.parse(line, stamps)),
        }
    }

    /// Parses a line known (or configured) to be of this format; of a document of flows, the first event. A
    /// syslog stamp without a year is read with `stamps`.
    pub fn parse<'a>(self, line: &'a [u8], stamps: &mut Stamps) -> Result<Event<'a>, ParseError> {
        match self {
            LogFormat::Netfilter => netfilter::parse(line, stamps),
            LogFormat::Filterlog => filterlog::parse(line, stamps),
            LogFormat::Panos => panos::parse(line, stamps),
            LogFormat::Asa => asa::parse(line, stamps),
            LogFormat::Fortigate => fortigate::parse(line, stamps),
            LogFormat::Srx => srx::parse(line, stamps),
            LogFormat::VpcFlow => vpcflow::parse(line),
            LogFormat::Cef => cef::parse(line, stamps),
            LogFormat::WinFirewall => winfw::parse(line),
            LogFormat::WebAccess => webaccess::parse(line, stamps),
            LogFormat::WebError => weberror::parse(line, stamps),
            LogFormat::Sshd => sshd::parse(line, stamps),
            LogFormat::Sophos => sophos::parse(line, stamps),
            LogFormat::SonicWall => sonicwall::parse(line, stamps),
            LogFormat::WatchGuard => watchguard::parse(line, stamps),
            LogFormat::MikroTik => mikrotik::parse(line, stamps),
            LogFormat::Meraki => meraki::parse(line),
            LogFormat::Azure => azure::parse(line),
            LogFormat::Gcp => gcp::parse(line),
        }
    }
}

/// Why a line did not become an event. Label values for `torwatch_input_parse_errors_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    #[error("empty line")]
    Empty,
    #[error("no known log format")]
    UnknownFormat,
    /// A comment, header or other line of the format that carries no traffic (e.g. a `#Fields:` header).
    #[error("not a traffic record")]
    NotTraffic,
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("bad address in field {0}")]
    BadAddress(&'static str),
    #[error("bad number in field {0}")]
    BadNumber(&'static str),
    #[error("malformed line")]
    Malformed,
    /// A flow-log record that says its capture window saw no traffic (AWS `NODATA`). Counted, not an error.
    #[error("no data in the capture window")]
    NoData,
    /// A flow-log record that says records of its window were skipped (AWS `SKIPDATA`). Counted, not an error.
    #[error("records of the capture window skipped")]
    SkipData,
}

impl ParseError {
    /// Bounded label value for metrics.
    pub fn reason(self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::UnknownFormat => "unknown_format",
            ParseError::NotTraffic => "not_traffic",
            ParseError::MissingField(_) => "missing_field",
            ParseError::BadAddress(_) => "bad_address",
            ParseError::BadNumber(_) => "bad_number",
            ParseError::Malformed => "malformed",
            ParseError::NoData => "nodata",
            ParseError::SkipData => "skipdata",
        }
    }

    /// False for records that say by design that they carry no flow ([`ParseError::NoData`],
    /// [`ParseError::SkipData`]): counted apart from the lines that could not be read.
    pub fn is_error(self) -> bool {
        !matches!(self, ParseError::NoData | ParseError::SkipData)
    }
}

/// Whether a document's reader goes on to its next event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Go,
    Stop,
}

/// The first event a document's reader gives, else the first error it gives, else `NotTraffic`.
pub(crate) fn first<'a>(
    read: impl FnOnce(&mut dyn FnMut(Result<Event<'a>, ParseError>) -> Next),
) -> Result<Event<'a>, ParseError> {
    let mut found: Option<Result<Event<'a>, ParseError>> = None;
    read(&mut |r| match r {
        Ok(e) => {
            found = Some(Ok(e));
            Next::Stop
        }
        Err(e) => {
            found.get_or_insert(Err(e));
            Next::Go
        }
    });
    found.unwrap_or(Err(ParseError::NotTraffic))
}

/// Hands every event a document's reader gives to `each`, reading to the end.
pub(crate) fn every<'a>(
    read: impl FnOnce(&mut dyn FnMut(Result<Event<'a>, ParseError>) -> Next),
    each: &mut impl FnMut(Result<Event<'a>, ParseError>),
) {
    read(&mut |r| {
        each(r);
        Next::Go
    });
}

/// Detects the format of one line (the first format whose `looks_like` accepts it).
pub fn detect(line: &[u8]) -> Option<LogFormat> {
    LogFormat::ALL.into_iter().find(|f| f.looks_like(line))
}

/// Auto-detects the format and parses the line.
pub fn parse_auto<'a>(
    line: &'a [u8],
    stamps: &mut Stamps,
) -> Result<(LogFormat, Event<'a>), ParseError> {
    let line = trim_line(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let format = detect(line).ok_or(ParseError::UnknownFormat)?;
    format.parse(line, stamps).map(|e| (format, e))
}

/// Strips a trailing `\r\n` / `\n` and surrounding ASCII whitespace.
pub fn trim_line(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}
