//! Exit-list feed parsers and validation: pure functions from a response body to a [`Feed`] or a rejection.
//!
//! One module per source kind. Nothing here does IO or knows about tokio; the fetcher hands bodies in and the
//! keeper takes feeds out. A body is either accepted whole or rejected whole, with a reason.

use ipnet::IpNet;

mod body;
pub mod bulk;
pub mod guard;
pub mod onionoo;
pub mod plain;
pub mod tordnsel;
pub mod torwatch;
pub mod validate;

/// The kinds of exit-list source. Closed set; config names them in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// check.torproject.org/exit-addresses, and CollecTor `@type tordnsel 1.0` files.
    Tordnsel,
    /// check.torproject.org/torbulkexitlist: one IPv4 per line.
    Bulk,
    /// Onionoo `details` documents: relays with OR / exit addresses and enrichment.
    Onionoo,
    /// dan.me.uk torlist (rate-limited to one fetch per 30 minutes).
    Danme,
    /// Any list of one IP or CIDR per line, `#` comments.
    Plain,
    /// Another torwatch instance's list as JSON (`/lists/NAME.json`), provenance and all: a fleet's follower.
    Torwatch,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Tordnsel => "tordnsel",
            FeedKind::Bulk => "bulk",
            FeedKind::Onionoo => "onionoo",
            FeedKind::Danme => "danme",
            FeedKind::Plain => "plain",
            FeedKind::Torwatch => "torwatch",
        }
    }

    pub fn from_name(name: &str) -> Option<FeedKind> {
        [
            Self::Tordnsel,
            Self::Bulk,
            Self::Onionoo,
            Self::Danme,
            Self::Plain,
            Self::Torwatch,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// What a relay looked like according to a source (TorDNSEL record or Onionoo relay).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelayInfo {
    /// 40 upper-case hex digits.
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// ISO 3166-1 alpha-2, lower case as Onionoo gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// AS number without the `AS` prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
    /// Unix seconds: Onionoo `first_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<i64>,
    /// Unix seconds: Onionoo `last_seen`, TorDNSEL `LastStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
    /// Whether the source says the relay has the Exit flag (`None` when it does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<bool>,
}

/// One address a feed lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedAddr {
    /// Canonical network (a single address is a /32 or /128 host network). `IpNet::trunc()`-ed.
    pub net: IpNet,
    /// Index into [`Feed::relays`] when the source names the relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<u32>,
    /// Time the source attached to this address (TorDNSEL `ExitAddress` time), unix seconds. Provenance only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<i64>,
    /// True when the address is an inference rather than a measurement (IPv6 OR address of an exit relay).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

impl FeedAddr {
    /// A network a source lists with nothing more said of it: no relay, no time, measured.
    pub fn listed(net: IpNet) -> FeedAddr {
        FeedAddr {
            net,
            relay: None,
            seen: None,
            approximate: false,
        }
    }
}

/// A parsed feed body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Feed {
    /// Addresses for the exit list (or, for `plain`, the list the source feeds).
    pub exits: Vec<FeedAddr>,
    /// OR addresses of relays, for the `tor-relays` list (Onionoo only).
    #[serde(default)]
    pub relays_or: Vec<FeedAddr>,
    /// Relays named by `FeedAddr::relay`.
    #[serde(default)]
    pub relays: Vec<RelayInfo>,
    /// What another torwatch instance said of each address (`torwatch` sources only), sorted by network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<Origin>,
}

/// An address as another torwatch instance (a leader) lists it: which of its sources list it and since when (its
/// last sighting is the address's `FeedAddr::seen`), and every relay it knows behind it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub net: IpNet,
    /// The leader's source names, sorted.
    pub sources: Vec<String>,
    /// Unix seconds of the leader's first sighting.
    pub first_seen: i64,
    /// Indexes into [`Feed::relays`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<u32>,
}

impl Feed {
    /// What the leader said of `net` (a `torwatch` source's feed).
    pub fn origin(&self, net: &IpNet) -> Option<&Origin> {
        self.origins
            .binary_search_by(|o| o.net.cmp(net))
            .ok()
            .and_then(|i| self.origins.get(i))
    }
}

/// Why a body was not accepted. `reason()` values are metric labels.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    #[error("empty body")]
    Empty,
    #[error("body is an HTML page")]
    Html,
    #[error("body is a rate-limit message: {0:?}")]
    RateLimited(String),
    #[error("line {line} is not an address: {text:?}")]
    BadLine { line: usize, text: String },
    #[error("malformed document: {0}")]
    Malformed(String),
    #[error("{count} entries is below the floor of {floor}")]
    BelowFloor { count: usize, floor: usize },
    #[error("covers {added} {family} addresses beyond the last good list, more than max_cover ({limit})")]
    Cover {
        family: &'static str,
        added: u128,
        limit: String,
    },
    #[error("{count} entries shrank from {previous} by more than {max_shrink}")]
    Shrink {
        count: usize,
        previous: usize,
        max_shrink: f64,
    },
}

impl FeedError {
    pub fn reason(&self) -> &'static str {
        match self {
            FeedError::Empty => "empty",
            FeedError::Html => "html",
            FeedError::RateLimited(_) => "rate_limited",
            FeedError::BadLine { .. } => "bad_line",
            FeedError::Malformed(_) => "malformed",
            FeedError::BelowFloor { .. } => "below_floor",
            FeedError::Shrink { .. } => "shrink",
            FeedError::Cover { .. } => "max_cover",
        }
    }
}

/// Parses a body of the given kind. Rejects empty bodies, HTML, rate-limit text and any bad line.
pub fn parse(kind: FeedKind, body: &[u8]) -> Result<Feed, FeedError> {
    match kind {
        FeedKind::Tordnsel => tordnsel::parse(body),
        FeedKind::Bulk => bulk::parse(body),
        FeedKind::Onionoo => onionoo::parse(body),
        FeedKind::Danme | FeedKind::Plain => plain::parse(body),
        FeedKind::Torwatch => torwatch::parse(body),
    }
}
