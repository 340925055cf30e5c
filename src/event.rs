//! One firewall or access-log line, parsed: the event every log parser produces and the matcher consumes.
//!
//! Events borrow from the line they were parsed from and own nothing on the heap, so parsing a line allocates
//! nothing. This module does no IO.

use std::net::IpAddr;

/// Transport protocol of an event, lower case in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Gre,
    Esp,
    Sctp,
    /// Any other IP protocol, by number.
    Other(u8),
}

impl Proto {
    /// Parses a protocol name (`TCP`, `tcp`, `icmp6`, …) or an IANA protocol number (`6`, `17`).
    pub fn parse(s: &[u8]) -> Option<Proto> {
        if let Some(n) = crate::event::parse_u64(s) {
            return u8::try_from(n).ok().map(Proto::from_number);
        }
        let mut buf = [0u8; 12];
        if s.is_empty() || s.len() > buf.len() {
            return None;
        }
        for (d, c) in buf.iter_mut().zip(s) {
            *d = c.to_ascii_lowercase();
        }
        Some(match &buf[..s.len()] {
            b"tcp" => Proto::Tcp,
            b"udp" => Proto::Udp,
            b"icmp" => Proto::Icmp,
            b"icmpv6" | b"icmp6" | b"ipv6-icmp" => Proto::Icmpv6,
            b"gre" => Proto::Gre,
            b"esp" => Proto::Esp,
            b"sctp" => Proto::Sctp,
            _ => return None,
        })
    }

    pub fn from_number(n: u8) -> Proto {
        match n {
            1 => Proto::Icmp,
            6 => Proto::Tcp,
            17 => Proto::Udp,
            47 => Proto::Gre,
            50 => Proto::Esp,
            58 => Proto::Icmpv6,
            132 => Proto::Sctp,
            n => Proto::Other(n),
        }
    }

    /// The lower-case name used in JSON output and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Gre => "gre",
            Proto::Esp => "esp",
            Proto::Sctp => "sctp",
            Proto::Other(_) => "other",
        }
    }
}

/// What the firewall did with the packet or connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Drop,
    Reject,
    Allow,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::Allow => "allow",
        }
    }
}

/// Direction as the device logged it (not whether it is Tor traffic: that is the matcher's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// One parsed log line. Absent fields are `None`; nothing here is heap-allocated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// Unix time in seconds, when the line carries one.
    pub time: Option<i64>,
    /// Reporting device (syslog host name, device serial, …), borrowed from the line.
    pub device: Option<&'a str>,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<IpAddr>,
    pub dst_port: Option<u16>,
    pub proto: Option<Proto>,
    pub action: Option<Action>,
    pub direction: Option<Direction>,
    /// HTTP status code, for web access logs.
    pub http_status: Option<u16>,
}

/// Parses an unsigned decimal number of 1 to 19 digits, without allocating.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// Parses a port number (0–65535).
pub fn parse_port(s: &[u8]) -> Option<u16> {
    parse_u64(s).and_then(|n| u16::try_from(n).ok())
}

/// Parses an IPv4 or IPv6 literal from bytes without allocating. IPv6 may be in any valid form, including the
/// kernel's uncompressed one; a trailing `%zone` is rejected.
pub fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    if s.is_empty() || s.len() > 45 {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    text.parse().ok()
}
