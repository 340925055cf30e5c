//! The typed sections of [`super::Config`] and the one pass that builds them from the raw file.

use super::raw::{
    RawAccess, RawConfig, RawFields, RawInput, RawPrefix, RawPrefixes, RawPublish, RawSize,
    RawSource,
};
use super::{scalar, Check, Config};
use crate::event::Action;
use crate::feeds::{guard, FeedKind};
use crate::formats::{ListFormat, RenderOptions};
use crate::inputs::{FileSpec, InputKind, InputSpec, StartAt, TcpSpec, UdpSpec};
use crate::list::Family;
use crate::list::ListId;
use crate::parsers::vpcflow::Layout;
use crate::parsers::LogFormat;
use crate::publish::file::PublishFile;
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The provider's hard minimum between two fetches of dan.me.uk.
pub const DANME_MIN_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// No source is polled more often than this.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Default `max_retry_wait` of a source (raised to its interval when that is longer).
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(6 * 3600);
/// A syslog TCP connection that delivers no message for this long is closed (`idle_timeout`).
pub const DEFAULT_TCP_IDLE: Duration = Duration::from_secs(600);
/// The shortest message every syslog receiver must take (RFC 5424, 6.1): a smaller `max_message` loses lines.
const MIN_SYSLOG_MESSAGE: usize = 480;

/// Where a source's list comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceLocation {
    Url(String),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: FeedKind,
    pub location: SourceLocation,
    /// Effective interval: never below the provider's minimum.
    pub interval: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    pub min_entries: usize,
    pub max_shrink: f64,
    pub enabled: bool,
    /// The list the source feeds: `tor-exits`, or for a `plain` source its own name unless set.
    pub list: String,
    /// What the list guard lets through (`min_prefix`, `max_cover`).
    pub guard: guard::Rules,
    /// Longest wait before retrying a failed fetch, whatever the server's `Retry-After` says: never below the
    /// interval.
    pub max_retry_wait: Duration,
    /// Sent as `Authorization: Bearer` with every request (`token` or `token_file`).
    pub token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InputConfig {
    pub name: String,
    /// What the input reads and how (file checkpoints in `state_dir/checkpoints/`).
    pub kind: InputKind,
    /// `None` = auto-detect per line.
    pub format: Option<LogFormat>,
    /// The VPC Flow Logs field order of the input's records (`fields:`), when they have no header line.
    pub fields: Option<Layout>,
    pub max_message: usize,
    pub queue: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { username: String, password: String },
    Bearer { token: String },
}

#[derive(Debug, Clone)]
pub struct Access {
    pub auth: Auth,
    /// Client networks allowed; empty means everyone.
    pub allow: Vec<IpNet>,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            auth: Auth::None,
            allow: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub lists: Access,
    pub metrics: Access,
    pub status: Access,
    pub admin_reload: bool,
    pub tls: Option<TlsConfig>,
    pub request_timeout: Duration,
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct MatcherConfig {
    pub ports: Vec<u16>,
    pub top_ports: usize,
    pub exit_series_cap: usize,
    pub exit_series_idle: Duration,
    pub geoip: Option<PathBuf>,
    pub queue: usize,
}

const DEFAULT_PORTS: [u16; 21] = [
    21, 22, 23, 25, 53, 80, 110, 143, 443, 445, 993, 995, 1433, 3306, 3389, 5060, 5432, 5900, 6379,
    8080, 8443,
];

pub(super) fn build(raw: RawConfig, check: &mut Check) -> Config {
    let listen = check.parse(
        "listen",
        raw.listen.as_deref(),
        SocketAddr::from(([127, 0, 0, 1], 9797)),
        scalar::socket_addr,
    );
    let retention = check.parse(
        "retention",
        raw.retention.as_deref(),
        hours(24),
        scalar::duration,
    );
    let history = check.parse(
        "history",
        raw.history.as_deref(),
        hours(24 * 30),
        scalar::duration,
    );
    let stale_after = check.parse(
        "stale_after",
        raw.stale_after.as_deref(),
        hours(3),
        scalar::duration,
    );
    if stale_after.is_zero() {
        check.error("stale_after", "must be longer than 0s");
    }
    if history < retention {
        check.error("history", "must be at least as long as retention");
    }
    let exclude: Vec<IpNet> = raw
        .exclude
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            scalar::network(s)
                .map_err(|p| check.error(format!("exclude[{i}]"), p))
                .ok()
        })
        .collect();
    let state_save_interval = check.parse(
        "state_save_interval",
        raw.state_save_interval.as_deref(),
        Duration::from_secs(10),
        scalar::duration,
    );
    let sources = sources(raw.sources, check);
    let state_dir = PathBuf::from(raw.state_dir.unwrap_or_else(|| "/var/lib/torwatch".into()));
    let inputs = inputs(raw.inputs, &state_dir, check);
    let publish = raw
        .publish
        .into_iter()
        .enumerate()
        .map(|(i, p)| publish(i, p, check))
        .collect();
    let http = http(raw.http, check);
    ports_in_use(listen, &inputs, check);
    let matcher = matcher(raw.matcher, check);
    for (i, net) in exclude.iter().enumerate() {
        if net.prefix_len() == 0 {
            check.warn(
                format!("exclude[{i}]"),
                format!("{net} removes every address of its family from every list"),
            );
        }
    }
    if !sources
        .iter()
        .any(|s| s.enabled && ListId::parse(&s.list) == ListId::Exits)
    {
        check.warn(
            "sources",
            "no enabled source feeds tor-exits: the exit list is never loaded (HTTP 503, no files written, no \
             Tor traffic counted)",
        );
    }
    let netfilter_actions = raw
        .netfilter_actions
        .into_iter()
        .filter_map(|(prefix, action)| match action_name(&action) {
            Some(a) => Some((prefix, a)),
            None => {
                check.error(
                    format!("netfilter_actions.{prefix}"),
                    format!("{action:?} is not an action (drop, reject, allow)"),
                );
                None
            }
        })
        .collect();
    Config {
        listen,
        state_dir,
        retention,
        history,
        stale_after,
        exclude,
        state_save_interval,
        user_agent: raw.user_agent,
        sources,
        inputs,
        publish,
        http,
        matcher,
        netfilter_actions,
        warnings: Vec::new(),
    }
}

/// Two sockets of one protocol cannot listen on the same port of the same address (or of the wildcard address).
fn ports_in_use(http: SocketAddr, inputs: &[InputConfig], check: &mut Check) {
    let mut taken: Vec<(&str, SocketAddr, String)> = vec![("tcp", http, "listen".into())];
    for (i, input) in inputs.iter().enumerate() {
        let (proto, addr) = match &input.kind {
            InputKind::SyslogUdp(udp) => ("udp", udp.listen),
            InputKind::SyslogTcp(tcp) => ("tcp", tcp.listen),
            InputKind::File(_) | InputKind::Stdin => continue,
        };
        let clash = taken.iter().find(|(p, other, _)| {
            *p == proto
                && addr.port() != 0
                && other.port() == addr.port()
                && (other.ip() == addr.ip()
                    || other.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        match clash {
            Some((_, _, owner)) => check.error(
                format!("inputs[{i}].listen"),
                format!("{proto} {addr} is already taken by {owner}"),
            ),
            None => taken.push((proto, addr, format!("inputs[{i}] ({})", input.name))),
        }
    }
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn action_name(s: &str) -> Option<Action> {
    match s {
        "drop" => Some(Action::Drop),
        "reject" => Some(Action::Reject),
        "allow" => Some(Action::Allow),
        _ => None,
    }
}

fn size(check: &mut Check, path: String, value: Option<&RawSize>, default: u64) -> u64 {
    match value {
        None => default,
        Some(RawSize::Bytes(n)) => *n,
        Some(RawSize::Text(t)) => check.parse(path, Some(t), default, scalar::size),
    }
}

/// Names are metric label values and file names: keep them to `[a-z0-9_-]`.
/// A name torwatch accepts for a source, input or list: 1-64 characters of a-z, 0-9, - and _.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn name(check: &mut Check, path: &str, name: Option<String>, seen: &mut HashSet<String>) -> String {
    let Some(name) = name else {
        check.error(format!("{path}.name"), "is required");
        return String::new();
    };
    if !valid_name(&name) {
        check.error(
            format!("{path}.name"),
            format!("{name:?} must be 1-64 characters of a-z, 0-9, - and _"),
        );
    } else if !seen.insert(name.clone()) {
        check.error(format!("{path}.name"), format!("{name:?} is used twice"));
    }
    name
}

fn sources(raw: Vec<RawSource>, check: &mut Check) -> Vec<SourceConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let path = format!("sources[{i}]");
        let name = name(check, &path, s.name, &mut seen);
        let kind = match s.kind.as_deref() {
            None => {
                check.error(
                    format!("{path}.type"),
                    "is required (tordnsel, bulk, onionoo, danme, plain, torwatch)",
                );
                FeedKind::Plain
            }
            Some(k) => FeedKind::from_name(k).unwrap_or_else(|| {
                check.error(
                    format!("{path}.type"),
                    format!(
                        "{k:?} is not a source type (tordnsel, bulk, onionoo, danme, plain, torwatch)"
                    ),
                );
                FeedKind::Plain
            }),
        };
        let location = match s.url {
            None => {
                check.error(format!("{path}.url"), "is required");
                SourceLocation::File(PathBuf::new())
            }
            Some(u) => location(check, &format!("{path}.url"), u, kind),
        };
        let default_interval = match kind {
            FeedKind::Onionoo => hours(1),
            // Another torwatch instance: a conditional GET, answered 304 while its list is unchanged.
            FeedKind::Torwatch => Duration::from_secs(60),
            _ => Duration::from_secs(1800),
        };
        let mut interval = check.parse(
            format!("{path}.interval"),
            s.interval.as_deref(),
            default_interval,
            scalar::duration,
        );
        let min = if kind == FeedKind::Danme {
            DANME_MIN_INTERVAL
        } else {
            MIN_INTERVAL
        };
        if interval < min {
            tracing::warn!(source = %name, "interval raised to the minimum of {}", humantime::format_duration(min));
            interval = min;
        }
        let timeout = check.parse(
            format!("{path}.timeout"),
            s.timeout.as_deref(),
            Duration::from_secs(60),
            scalar::duration,
        );
        check.positive(format!("{path}.timeout"), &timeout);
        let max_body = size(
            check,
            format!("{path}.max_body"),
            s.max_body.as_ref(),
            16 << 20,
        );
        check.positive(format!("{path}.max_body"), &max_body);
        let max_shrink = s.max_shrink.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&max_shrink) {
            check.error(
                format!("{path}.max_shrink"),
                format!("{max_shrink} must be between 0 and 1"),
            );
        }
        // A plain feed is no Tor list: feeding `tor-exits` takes an explicit `list: tor-exits`.
        let list = s.list.unwrap_or_else(|| {
            if kind == FeedKind::Plain {
                name.clone()
            } else {
                ListId::Exits.name().into()
            }
        });
        // A follower of another instance's Tor lists is held to the Tor sources' rules; of any other list, to
        // the plain sources'.
        let tor_list = matches!(ListId::parse(&list), ListId::Exits | ListId::Relays);
        let defaults = if kind == FeedKind::Plain || (kind == FeedKind::Torwatch && !tor_list) {
            guard::Rules::PLAIN
        } else {
            guard::Rules::TOR
        };
        let guard = guard::Rules {
            min_prefix: prefixes(
                check,
                &format!("{path}.min_prefix"),
                s.min_prefix.as_ref(),
                defaults.min_prefix,
            ),
            max_cover: prefixes(
                check,
                &format!("{path}.max_cover"),
                s.max_cover.as_ref(),
                defaults.max_cover,
            ),
        };
        if !valid_name(&list) {
            check.error(
                format!("{path}.list"),
                format!("{list:?} must be 1-64 characters of a-z, 0-9, - and _"),
            );
        } else if kind != FeedKind::Plain
            && kind != FeedKind::Torwatch
            && ListId::parse(&list) != ListId::Exits
        {
            check.error(
                format!("{path}.list"),
                "only plain and torwatch sources can feed another list than tor-exits",
            );
        }
        let max_retry_wait = check.parse(
            format!("{path}.max_retry_wait"),
            s.max_retry_wait.as_deref(),
            DEFAULT_MAX_RETRY_WAIT,
            scalar::duration,
        );
        if s.max_retry_wait.is_some() && max_retry_wait < interval {
            check.error(
                format!("{path}.max_retry_wait"),
                format!(
                    "must be at least the interval ({})",
                    humantime::format_duration(interval)
                ),
            );
        }
        let location = match (kind, location) {
            (FeedKind::Torwatch, SourceLocation::Url(u)) => {
                SourceLocation::Url(leader_url(u, &list))
            }
            (_, l) => l,
        };
        let token = match (s.token, s.token_file) {
            (None, None) => None,
            (token, file) => {
                if !matches!(location, SourceLocation::Url(_)) {
                    check.error(format!("{path}.token"), "needs an http(s) url");
                }
                Some(secret(check, &path, "token", token, file))
            }
        };
        out.push(SourceConfig {
            name,
            kind,
            location,
            interval,
            timeout,
            max_body,
            min_entries: s.min_entries.unwrap_or(1) as usize,
            max_shrink,
            enabled: s.enabled.unwrap_or(true),
            list,
            guard,
            max_retry_wait: max_retry_wait.max(interval),
            token,
        });
    }
    out
}

/// A `torwatch` source's URL: the instance's base URL (`http://leader:9797`) names its `/lists/LIST.json`; a URL
/// with a path is taken as it is.
fn leader_url(url: String, list: &str) -> String {
    match reqwest::Url::parse(&url) {
        Ok(u) if u.path() == "/" && u.query().is_none() => {
            format!("{}/lists/{list}.json", url.trim_end_matches('/'))
        }
        _ => url,
    }
}

/// `{ ipv4: N, ipv6: M }`, each a prefix length (`16` or `/16`) within its family, the other keeping `default`.
fn prefixes(
    check: &mut Check,
    path: &str,
    raw: Option<&RawPrefixes>,
    default: guard::PrefixLengths,
) -> guard::PrefixLengths {
    let Some(raw) = raw else { return default };
    let mut one = |family: &str, value: Option<&RawPrefix>, max: u8, default: u8| {
        let parsed = match value {
            None => return default,
            Some(RawPrefix::Number(n)) => u8::try_from(*n).ok(),
            Some(RawPrefix::Text(t)) => t.trim().trim_start_matches('/').parse::<u8>().ok(),
        };
        match parsed.filter(|n| *n <= max) {
            Some(n) => n,
            None => {
                let shown = match value {
                    Some(RawPrefix::Number(n)) => n.to_string(),
                    Some(RawPrefix::Text(t)) => format!("{t:?}"),
                    None => String::new(),
                };
                check.error(
                    format!("{path}.{family}"),
                    format!("{shown} is not a prefix length (0 to {max}, e.g. 24 or /24)"),
                );
                default
            }
        }
    };
    guard::PrefixLengths {
        ipv4: one("ipv4", raw.ipv4.as_ref(), 32, default.ipv4),
        ipv6: one("ipv6", raw.ipv6.as_ref(), 128, default.ipv6),
    }
}

fn location(check: &mut Check, path: &str, url: String, kind: FeedKind) -> SourceLocation {
    if url.starts_with("http://") || url.starts_with("https://") {
        if reqwest::Url::parse(&url).is_err() {
            check.error(
                path,
                format!(
                    "{:?} is not a valid URL",
                    crate::sources::fetch::redact_text(&url)
                ),
            );
        }
        return SourceLocation::Url(url);
    }
    if let Some(p) = url.strip_prefix("file://") {
        return SourceLocation::File(PathBuf::from(p));
    }
    if url.contains("://") {
        check.error(
            path,
            format!(
                "{:?}: only http, https and file URLs are supported",
                crate::sources::fetch::redact_text(&url)
            ),
        );
    } else if kind != FeedKind::Plain
        && kind != FeedKind::Tordnsel
        && kind != FeedKind::Bulk
        && kind != FeedKind::Onionoo
        && kind != FeedKind::Torwatch
    {
        check.error(
            path,
            format!("{url:?}: a {} source needs an http(s) URL", kind.as_str()),
        );
    }
    SourceLocation::File(PathBuf::from(url))
}

fn inputs(raw: Vec<RawInput>, state_dir: &Path, check: &mut Check) -> Vec<InputConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let path = format!("inputs[{i}]");
        let name = name(check, &path, r.name.clone(), &mut seen);
        let format = match r.format.as_deref() {
            None | Some("auto") => None,
            Some(f) => LogFormat::from_name(f).or_else(|| {
                let names: Vec<_> = LogFormat::ALL.iter().map(|f| f.as_str()).collect();
                check.error(
                    format!("{path}.format"),
                    format!("{f:?} is not a log format (auto, {})", names.join(", ")),
                );
                None
            }),
        };
        let max_message = size(
            check,
            format!("{path}.max_message"),
            r.max_message.as_ref(),
            64 << 10,
        ) as usize;
        check.positive(format!("{path}.max_message"), &max_message);
        if (1..MIN_SYSLOG_MESSAGE).contains(&max_message) {
            check.warn(
                format!("{path}.max_message"),
                format!(
                    "{max_message} bytes: most log lines are longer and would be skipped (syslog receivers \
                     take at least {MIN_SYSLOG_MESSAGE})"
                ),
            );
        }
        let queue = r.queue.unwrap_or(64) as usize;
        check.positive(format!("{path}.queue"), &queue);
        let kind = input_kind(check, &path, &r, state_dir);
        let fields = r
            .fields
            .as_ref()
            .and_then(|f| flow_fields(check, &path, f, format));
        out.push(InputConfig {
            name,
            kind,
            format,
            fields,
            max_message,
            queue,
        });
    }
    out
}

/// `inputs[i].fields`: a VPC Flow Logs field order, for an input of `format: vpcflow`.
fn flow_fields(
    check: &mut Check,
    path: &str,
    raw: &RawFields,
    format: Option<LogFormat>,
) -> Option<Layout> {
    let names: Vec<&[u8]> = match raw {
        RawFields::List(names) => names.iter().map(|n| n.trim().as_bytes()).collect(),
        RawFields::Text(text) => text.split_whitespace().map(str::as_bytes).collect(),
    };
    if format != Some(LogFormat::VpcFlow) {
        check.error(
            format!("{path}.fields"),
            "is read only with format: vpcflow",
        );
        return None;
    }
    Layout::from_names(names)
        .map_err(|e| check.error(format!("{path}.fields"), e))
        .ok()
}

fn input_kind(check: &mut Check, path: &str, r: &RawInput, state_dir: &Path) -> InputKind {
    let listen = |check: &mut Check| match r.listen.as_deref() {
        None => {
            check.error(format!("{path}.listen"), "is required for syslog inputs");
            SocketAddr::from(([127, 0, 0, 1], 5514))
        }
        Some(l) => check.parse(
            format!("{path}.listen"),
            Some(l),
            SocketAddr::from(([127, 0, 0, 1], 5514)),
            scalar::socket_addr,
        ),
    };
    match r.kind.as_deref() {
        Some("file") => {
            if r.paths.is_empty() {
                check.error(format!("{path}.paths"), "needs at least one path or glob");
            }
            for (i, pattern) in r.paths.iter().enumerate() {
                if let Err(e) = glob::Pattern::new(pattern) {
                    check.error(
                        format!("{path}.paths[{i}]"),
                        format!("{pattern:?} is not a valid glob: {e}"),
                    );
                }
            }
            let start_at = match r.start_at.as_deref() {
                None | Some("end") => StartAt::End,
                Some("beginning") => StartAt::Beginning,
                Some(s) => {
                    check.error(
                        format!("{path}.start_at"),
                        format!("{s:?} is not one of: end, beginning"),
                    );
                    StartAt::End
                }
            };
            let poll = check.parse(
                format!("{path}.poll"),
                r.poll.as_deref(),
                Duration::from_millis(250),
                scalar::duration,
            );
            check.positive(format!("{path}.poll"), &poll);
            let max_files = r
                .max_files
                .map_or(FileSpec::DEFAULT_MAX_FILES, |n| n as usize);
            check.positive(format!("{path}.max_files"), &max_files);
            InputKind::File(FileSpec {
                start_at,
                poll,
                max_files,
                ..FileSpec::new(r.paths.clone(), state_dir.join("checkpoints"))
            })
        }
        Some("syslog_udp") => InputKind::SyslogUdp(UdpSpec {
            listen: listen(check),
            recv_buffer: size(
                check,
                format!("{path}.recv_buffer"),
                r.recv_buffer.as_ref(),
                UdpSpec::DEFAULT_RECV_BUFFER as u64,
            ) as usize,
        }),
        Some("syslog_tcp") => {
            let max_connections = r.max_connections.unwrap_or(256) as usize;
            check.positive(format!("{path}.max_connections"), &max_connections);
            let idle_timeout = check.parse(
                format!("{path}.idle_timeout"),
                r.idle_timeout.as_deref(),
                DEFAULT_TCP_IDLE,
                scalar::duration,
            );
            check.positive(format!("{path}.idle_timeout"), &idle_timeout);
            InputKind::SyslogTcp(TcpSpec {
                listen: listen(check),
                max_connections,
                idle_timeout: Some(idle_timeout),
            })
        }
        Some("stdin") => InputKind::Stdin,
        other => {
            let problem = match other {
                None => "is required (file, syslog_udp, syslog_tcp, stdin)".to_string(),
                Some(k) => {
                    format!("{k:?} is not an input type (file, syslog_udp, syslog_tcp, stdin)")
                }
            };
            check.error(format!("{path}.type"), problem);
            InputKind::Stdin
        }
    }
}

fn publish(i: usize, p: RawPublish, check: &mut Check) -> PublishFile {
    let path = format!("publish[{i}]");
    let file = p.path.map(PathBuf::from).unwrap_or_else(|| {
        check.error(format!("{path}.path"), "is required");
        PathBuf::new()
    });
    let format = match p.format.as_deref() {
        None => {
            check.error(format!("{path}.format"), "is required");
            ListFormat::Txt
        }
        Some(f) => ListFormat::from_ext(f).unwrap_or_else(|| {
            let names: Vec<_> = ListFormat::ALL.iter().map(|f| f.ext()).collect();
            check.error(
                format!("{path}.format"),
                format!("{f:?} is not a list format ({})", names.join(", ")),
            );
            ListFormat::Txt
        }),
    };
    let family = match p.family.as_deref() {
        None => None,
        Some("ipv4") => Some(Family::Ipv4),
        Some("ipv6") => Some(Family::Ipv6),
        Some(f) => {
            check.error(
                format!("{path}.family"),
                format!("{f:?} is not one of: ipv4, ipv6"),
            );
            None
        }
    };
    if let Some(cmd) = &p.apply {
        if cmd.is_empty() {
            check.error(
                format!("{path}.apply"),
                "must name a command (e.g. [nft, -f, FILE])",
            );
        }
    }
    PublishFile {
        path: file,
        format,
        list: p.list.unwrap_or_else(|| ListId::Exits.name().into()),
        options: RenderOptions {
            family,
            aggregate: p.aggregate,
            enrich: p.enrich,
        },
        apply: p.apply,
        apply_timeout: {
            let timeout = check.parse(
                format!("{path}.apply_timeout"),
                p.apply_timeout.as_deref(),
                Duration::from_secs(30),
                scalar::duration,
            );
            check.positive(format!("{path}.apply_timeout"), &timeout);
            timeout
        },
    }
}

fn http(raw: super::raw::RawHttp, check: &mut Check) -> HttpConfig {
    let tls = raw.tls.map(|t| {
        let need = |check: &mut Check, key: &str, v: Option<String>| {
            v.map(PathBuf::from).unwrap_or_else(|| {
                check.error(
                    format!("http.tls.{key}"),
                    "is required when http.tls is set",
                );
                PathBuf::new()
            })
        };
        TlsConfig {
            cert: need(check, "cert", t.cert),
            key: need(check, "key", t.key),
            client_ca: t.client_ca.map(PathBuf::from),
        }
    });
    let config = HttpConfig {
        lists: access(check, "http.lists", raw.lists),
        metrics: access(check, "http.metrics", raw.metrics),
        status: access(check, "http.status", raw.status),
        admin_reload: raw.admin.map(|a| a.reload).unwrap_or(false),
        tls,
        request_timeout: check.parse(
            "http.request_timeout",
            raw.request_timeout.as_deref(),
            Duration::from_secs(30),
            scalar::duration,
        ),
        header_timeout: check.parse(
            "http.header_timeout",
            raw.header_timeout.as_deref(),
            Duration::from_secs(10),
            scalar::duration,
        ),
        max_connections: raw.max_connections.unwrap_or(1024) as usize,
        max_header_bytes: size(
            check,
            "http.max_header_bytes".into(),
            raw.max_header_bytes.as_ref(),
            16 << 10,
        ) as usize,
    };
    check.positive("http.request_timeout", &config.request_timeout);
    check.positive("http.header_timeout", &config.header_timeout);
    check.positive("http.max_connections", &config.max_connections);
    check.positive("http.max_header_bytes", &config.max_header_bytes);
    config
}

fn access(check: &mut Check, path: &str, raw: Option<RawAccess>) -> Access {
    let Some(raw) = raw else {
        return Access::default();
    };
    let allow = raw
        .allow
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            scalar::network(s)
                .map_err(|p| check.error(format!("{path}.allow[{i}]"), p))
                .ok()
        })
        .collect();
    let auth = match raw.auth {
        None => Auth::None,
        Some(a) => auth(check, &format!("{path}.auth"), a),
    };
    Access { auth, allow }
}

/// Reads a secret given inline or through a file (trailing newline removed).
fn secret(
    check: &mut Check,
    path: &str,
    key: &str,
    inline: Option<String>,
    file: Option<String>,
) -> String {
    match (inline, file) {
        (Some(v), None) if !v.is_empty() => v,
        (None, Some(f)) => match super::files::read_text(Path::new(&f), super::files::SECRET_MAX) {
            Ok(v) if !v.trim_end_matches(['\n', '\r']).is_empty() => {
                v.trim_end_matches(['\n', '\r']).to_string()
            }
            Ok(_) => {
                check.error(format!("{path}.{key}_file"), format!("{f:?} is empty"));
                String::new()
            }
            Err(problem) => {
                check.error(format!("{path}.{key}_file"), problem);
                String::new()
            }
        },
        (Some(_), Some(_)) => {
            check.error(
                format!("{path}.{key}"),
                format!("set either {key} or {key}_file, not both"),
            );
            String::new()
        }
        _ => {
            check.error(
                format!("{path}.{key}"),
                format!("is required ({key} or {key}_file)"),
            );
            String::new()
        }
    }
}

fn auth(check: &mut Check, path: &str, a: super::raw::RawAuth) -> Auth {
    match a.kind.as_deref() {
        None | Some("none") => Auth::None,
        Some("basic") => {
            let username = a.username.unwrap_or_else(|| {
                check.error(format!("{path}.username"), "is required for basic auth");
                String::new()
            });
            let password = secret(check, path, "password", a.password, a.password_file);
            Auth::Basic { username, password }
        }
        Some("bearer") => Auth::Bearer {
            token: secret(check, path, "token", a.token, a.token_file),
        },
        Some(k) => {
            check.error(
                format!("{path}.type"),
                format!("{k:?} is not one of: none, basic, bearer"),
            );
            Auth::None
        }
    }
}

fn matcher(raw: super::raw::RawMatcher, check: &mut Check) -> MatcherConfig {
    let ports = match raw.ports {
        None => DEFAULT_PORTS.to_vec(),
        Some(ps) => ps
            .into_iter()
            .enumerate()
            .filter_map(|(i, p)| {
                u16::try_from(p)
                    .map_err(|_| {
                        check.error(
                            format!("matcher.ports[{i}]"),
                            format!("{p} is not a port (0-65535)"),
                        )
                    })
                    .ok()
            })
            .collect(),
    };
    let queue = raw.queue.unwrap_or(4096) as usize;
    check.positive("matcher.queue", &queue);
    MatcherConfig {
        ports,
        top_ports: raw.top_ports.unwrap_or(20) as usize,
        exit_series_cap: raw.exit_series_cap.unwrap_or(2000) as usize,
        exit_series_idle: check.parse(
            "matcher.exit_series_idle",
            raw.exit_series_idle.as_deref(),
            hours(6),
            scalar::duration,
        ),
        geoip: raw.geoip.map(PathBuf::from),
        queue,
    }
}

impl InputConfig {
    /// What `inputs::bind_all` takes to start the input.
    pub fn spec(&self) -> InputSpec {
        InputSpec {
            name: self.name.clone(),
            kind: self.kind.clone(),
            max_message: self.max_message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_torwatch_source_names_its_leaders_list_and_is_held_to_the_tor_rules() {
        let config = Config::parse(
            "sources:\n  - { name: leader, type: torwatch, url: \"http://leader:9797/\", token: t0k }\n  - { name: relays, type: torwatch, url: \"http://leader:9797\", list: tor-relays }\n  - { name: deny, type: torwatch, url: \"https://leader:8443/lists/deny.json\", list: deny }\n",
        )
        .unwrap();
        let s = &config.sources;
        let urls: Vec<_> = s.iter().map(|s| s.location.clone()).collect();
        assert_eq!(
            urls,
            [
                SourceLocation::Url("http://leader:9797/lists/tor-exits.json".into()),
                SourceLocation::Url("http://leader:9797/lists/tor-relays.json".into()),
                SourceLocation::Url("https://leader:8443/lists/deny.json".into()),
            ]
        );
        assert_eq!(
            (s[0].interval, s[0].token.as_deref()),
            (Duration::from_secs(60), Some("t0k"))
        );
        assert_eq!(
            (s[0].guard, s[1].guard),
            (guard::Rules::TOR, guard::Rules::TOR)
        );
        // following another instance's own (non-Tor) list: the plain sources' rules
        assert_eq!(s[2].guard, guard::Rules::PLAIN);
    }
}
