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
        if let Some(n) = crate::address::parse_u64(s) {
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

/// What the firewall did with the packet or connection; for a login attempt (`Kind::Auth`), `Fail` or `Allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Drop,
    Reject,
    Allow,
    /// A login attempt that failed.
    Fail,
}

impl Action {
    /// Every action, in the order of their slots in counter tables.
    pub const ALL: [Action; 4] = [Action::Drop, Action::Reject, Action::Allow, Action::Fail];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::Allow => "allow",
            Action::Fail => "fail",
        }
    }

    /// This action's index in [`Action::ALL`].
    pub fn slot(self) -> usize {
        self as usize
    }
}

/// What an event is: a firewall flow or verdict, a login attempt, or an HTTP request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A firewall flow, deny or allow.
    #[default]
    Traffic,
    /// A login attempt: sshd, VPN, AAA, a firewall's admin login.
    Auth,
    /// An HTTP request, from a web server's access or error log.
    Web,
}

impl Kind {
    /// Every kind, in the order of their slots in counter tables.
    pub const ALL: [Kind; 3] = [Kind::Traffic, Kind::Auth, Kind::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Traffic => "traffic",
            Kind::Auth => "auth",
            Kind::Web => "web",
        }
    }

    /// This kind's index in [`Kind::ALL`].
    pub fn slot(self) -> usize {
        self as usize
    }
}

/// What a login attempt (`Kind::Auth`) was for, where the line says: a shell over SSH, a VPN (AnyConnect, WebVPN,
/// IKE, SSL VPN, GlobalProtect), a web site's own login (HTTP authentication), or the firewall's administration
/// (its web interface, its SSH or console, its configuration API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Ssh,
    Vpn,
    Web,
    Admin,
}

impl Service {
    /// Every service, in the order of their slots in counter tables.
    pub const ALL: [Service; 4] = [Service::Ssh, Service::Vpn, Service::Web, Service::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ssh => "ssh",
            Service::Vpn => "vpn",
            Service::Web => "web",
            Service::Admin => "admin",
        }
    }

    /// This service's index in [`Service::ALL`].
    pub fn slot(self) -> usize {
        self as usize
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
    /// A flow, a login attempt or an HTTP request.
    pub kind: Kind,
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
    /// For a login attempt, what it was for.
    pub service: Option<Service>,
}

impl Event<'_> {
    /// The two addresses, all that matching an event needs.
    pub fn addresses(&self) -> Addresses {
        Addresses {
            src: self.src_ip,
            dst: self.dst_ip,
        }
    }

    /// A login attempt: a login event, or a web request whose login failed (it names the service it was for).
    pub fn is_login(&self) -> bool {
        self.kind == Kind::Auth || self.service.is_some()
    }

    /// The addresses, destination port and protocol.
    pub fn packet_facts(&self) -> PacketFacts {
        PacketFacts {
            addresses: self.addresses(),
            dst_port: self.dst_port,
            proto: self.proto,
        }
    }
}

/// What a scan counts of every matched line besides its action: the addresses, destination port and protocol, read
/// without the time, host or action where the format allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketFacts {
    pub addresses: Addresses,
    pub dst_port: Option<u16>,
    pub proto: Option<Proto>,
}

/// Source and destination of a line, read without the rest of its event where the format allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Addresses {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
}
