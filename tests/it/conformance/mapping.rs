//! `mapping.txt`: which sample folders torwatch reads, and how the peers' words for verdicts and transports map to
//! torwatch's, so that a value is compared by meaning, not spelling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use torwatch::event::{Action, Proto};
use torwatch::parsers::LogFormat;

/// A peer's verdict, normalised. `Denied` is a peer word that does not tell a drop from a reject; `Fail` is a
/// login that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Drop,
    Reject,
    Allow,
    Denied,
    Fail,
}

impl Verdict {
    fn parse(s: &str) -> Option<Verdict> {
        Some(match s {
            "drop" => Verdict::Drop,
            "reject" => Verdict::Reject,
            "allow" => Verdict::Allow,
            "denied" => Verdict::Denied,
            "fail" => Verdict::Fail,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Drop => "drop",
            Verdict::Reject => "reject",
            Verdict::Allow => "allow",
            Verdict::Denied => "drop|reject",
            Verdict::Fail => "fail",
        }
    }

    pub fn accepts(self, got: Action) -> bool {
        matches!(
            (self, got),
            (Verdict::Drop, Action::Drop)
                | (Verdict::Reject, Action::Reject)
                | (Verdict::Allow, Action::Allow)
                | (Verdict::Denied, Action::Drop | Action::Reject)
                | (Verdict::Fail, Action::Fail)
        )
    }
}

pub struct Mapping {
    /// Supported folders and the format that labels them, in file order.
    pub folders: Vec<(String, LogFormat)>,
    pub unsupported: Vec<String>,
    /// (folder or `*`, lower-case peer value) → verdict.
    actions: HashMap<(String, String), Verdict>,
    protos: HashMap<String, String>,
    /// Lower-case peer word → `traffic`, `auth` or `web`.
    kinds: HashMap<String, String>,
    /// Lower-case peer word for a login's end → `allow` or `fail`.
    outcomes: HashMap<String, Verdict>,
}

impl Mapping {
    pub fn load(path: &Path) -> Mapping {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut m = Mapping {
            folders: Vec::new(),
            unsupported: Vec::new(),
            actions: HashMap::new(),
            protos: HashMap::new(),
            kinds: HashMap::new(),
            outcomes: HashMap::new(),
        };
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [c, ..] if c.starts_with('#') => {}
                ["folder", folder, format] => {
                    let format = LogFormat::from_name(format)
                        .unwrap_or_else(|| cannot_read(path, n + 1, line));
                    m.folders.push(((*folder).to_owned(), format));
                }
                ["unsupported", folder] => m.unsupported.push((*folder).to_owned()),
                ["action", scope, peer, verdict] => {
                    let verdict =
                        Verdict::parse(verdict).unwrap_or_else(|| cannot_read(path, n + 1, line));
                    m.actions
                        .insert(((*scope).to_owned(), peer.to_lowercase()), verdict);
                }
                ["proto", peer, ours] => {
                    m.protos.insert(peer.to_lowercase(), (*ours).to_owned());
                }
                ["kind", peer, kind @ ("traffic" | "auth" | "web")] => {
                    m.kinds.insert(peer.to_lowercase(), (*kind).to_owned());
                }
                ["outcome", peer, verdict @ ("allow" | "fail")] => {
                    let verdict =
                        Verdict::parse(verdict).unwrap_or_else(|| cannot_read(path, n + 1, line));
                    m.outcomes.insert(peer.to_lowercase(), verdict);
                }
                _ => cannot_read(path, n + 1, line),
            }
        }
        m
    }

    /// The first of the peer's action values that the vocabulary maps, the folder's own words first.
    pub fn verdict(&self, folder: &str, peer_values: &[String]) -> Option<Verdict> {
        peer_values.iter().find_map(|v| {
            let v = v.to_lowercase();
            let own = self.actions.get(&(folder.to_owned(), v.clone()));
            own.or_else(|| self.actions.get(&("*".to_owned(), v)))
                .copied()
        })
    }

    /// The kind the first of the peer's words for what an event is that the vocabulary maps names.
    pub fn kind(&self, peer_values: &[String]) -> Option<&str> {
        peer_values
            .iter()
            .find_map(|v| self.kinds.get(&v.to_lowercase()))
            .map(String::as_str)
    }

    /// How the first of the peer's words for a login's end that the vocabulary maps says it ended.
    pub fn outcome(&self, peer_values: &[String]) -> Option<Verdict> {
        peer_values
            .iter()
            .find_map(|v| self.outcomes.get(&v.to_lowercase()))
            .copied()
    }

    /// A peer transport (`TCP`, `6`, `ipv6-icmp`) as torwatch names it; unknown spellings stay as written.
    pub fn proto(&self, peer: &str) -> String {
        let lower = peer.to_lowercase();
        let spelled = self
            .protos
            .get(&lower)
            .map_or(lower.as_str(), String::as_str);
        Proto::parse(spelled.as_bytes()).map_or(lower.clone(), proto_name)
    }
}

fn cannot_read(path: &Path, n: usize, line: &str) -> ! {
    panic!("{}:{n}: cannot read {line:?}", path.display())
}

/// `tcp`, or the number for a protocol torwatch has no name for.
pub fn proto_name(p: Proto) -> String {
    match p {
        Proto::Other(n) => n.to_string(),
        p => p.as_str().to_owned(),
    }
}

/// An address in canonical form (IPv6 compressed, lower case); not an address stays as written.
pub fn ip_text(peer: &str) -> String {
    peer.parse::<IpAddr>()
        .map_or_else(|_| peer.to_owned(), |ip| ip.to_string())
}

/// A port as compared: port 0 (what ICMP records write in the port column) is the same as no port.
pub fn port_text(port: Option<u16>) -> String {
    match port {
        None | Some(0) => "-".to_owned(),
        Some(p) => p.to_string(),
    }
}

/// A peer's port: a number (port 0 is no port), or what it wrote.
pub fn peer_port(peer: &str) -> String {
    peer.parse::<u16>()
        .map_or_else(|_| peer.to_owned(), |p| port_text(Some(p)))
}
