//! Counting one scan: every line goes through the parser and the reference, hits are added to fixed-size tables
//! (per exit entry, per port, per protocol, …). One tally per thread, merged at the end, then turned into the
//! report. No allocation per line.

use super::reference::Reference;
use super::Report;
use crate::event::{Action, Direction, Glimpse, Proto};
use crate::parsers::{netfilter, Context, LogFormat};

const PROTOS: [&str; 8] = [
    "tcp", "udp", "icmp", "icmpv6", "gre", "esp", "sctp", "other",
];
const ACTIONS: [&str; Action::ALL.len()] = ["drop", "reject", "allow", "fail"];

/// The index of `p`'s name in `PROTOS`.
fn proto_slot(p: Proto) -> usize {
    match p {
        Proto::Tcp => 0,
        Proto::Udp => 1,
        Proto::Icmp => 2,
        Proto::Icmpv6 => 3,
        Proto::Gre => 4,
        Proto::Esp => 5,
        Proto::Sctp => 6,
        Proto::Other(_) => 7,
    }
}

/// The counts of one thread's share of the input.
#[derive(Debug, Clone)]
pub struct Tally {
    pub lines: u64,
    pub parsed: u64,
    pub tor_hits: u64,
    /// Inbound hits per exit entry.
    exits: Vec<u64>,
    ports: Vec<u64>,
    protos: [u64; 8],
    actions: [u64; Action::ALL.len()],
    http: Vec<u64>,
    /// The format of the last detected line that parsed, tried first on the next (auto-detection).
    last_format: Option<LogFormat>,
    /// The actions of recent netfilter headers and prefixes.
    remembered: netfilter::ActionMemo,
    /// What earlier lines said (a flow-log header's field order).
    context: Context,
}

impl Tally {
    pub fn new(reference: &Reference) -> Tally {
        Tally {
            lines: 0,
            parsed: 0,
            tor_hits: 0,
            exits: vec![0; reference.exits.side.len()],
            ports: vec![0; 65536],
            protos: [0; 8],
            actions: [0; Action::ALL.len()],
            http: vec![0; 1000],
            last_format: None,
            remembered: netfilter::ActionMemo::default(),
            context: Context::default(),
        }
    }

    /// Takes the field order of a VPC Flow Logs header line (the first line of a flow-log file, which every part
    /// of the file is read with).
    pub fn learn(&mut self, line: &[u8]) {
        self.context.learn(line);
    }

    /// Counts every line of `data` (lines end at `\n`; a last line without one counts too).
    pub fn lines(&mut self, data: &[u8], scan: &Scan<'_>) {
        let mut start = 0;
        while let Some(text) = data.get(start..).filter(|t| !t.is_empty()) {
            // A netfilter log's usual kernel line is read before it is cut: the search for its end starts after
            // the packet words, not at its start.
            if scan.format.or(self.last_format) == Some(LogFormat::Netfilter) {
                if let Some((glimpse, read)) = netfilter::kernel::glimpse_open(text) {
                    let end = netfilter::kernel::line_end(text, read);
                    // Not trimmed: the readers a hit goes on to trim it themselves.
                    let line = text.get(..end).unwrap_or_default();
                    self.lines += 1;
                    self.parsed += 1;
                    self.count(line, LogFormat::Netfilter, &glimpse, scan.reference);
                    start += end + 1;
                    continue;
                }
            }
            let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
            self.line(text.get(..end).unwrap_or_default(), scan);
            start += end + 1;
        }
    }

    fn line(&mut self, line: &[u8], scan: &Scan<'_>) {
        self.lines += 1;
        let line = crate::parsers::trim_line(line);
        if line.is_empty() {
            return;
        }
        // The usual kernel line is read in one pass; any other shape, or format, by the format's reader. (Here
        // rather than in `glimpse`, whose closure's result goes through memory: 28 instructions a line more.)
        let read = match scan.format.or(self.last_format) == Some(LogFormat::Netfilter) {
            true => netfilter::kernel::glimpse(line).map(|g| (LogFormat::Netfilter, g)),
            false => None,
        };
        let Some((format, glimpse)) = read.or_else(|| self.glimpse(line, scan.format)) else {
            // A flow-log header sets the field order of the lines after it.
            self.context.learn(line);
            return;
        };
        if format.holds_many() {
            self.document(line, format, scan.reference);
            return;
        }
        self.parsed += 1;
        self.count(line, format, &glimpse, scan.reference);
    }

    /// Counts every event of a line that holds a document of flows.
    fn document(&mut self, line: &[u8], format: LogFormat, reference: &Reference) {
        format.parse_each(line, &mut |r| {
            let Ok(ev) = r else { return };
            self.parsed += 1;
            if !reference.may_hold(&ev.addresses()) {
                return;
            }
            if let Some((direction, entry)) = reference.classify(&ev) {
                self.hit(direction, entry, &ev.glimpse(), ev.action, ev.http_status);
            }
        });
    }

    /// Counts a line that parsed, with its format and glimpse.
    #[inline(always)]
    fn count(&mut self, line: &[u8], format: LogFormat, glimpse: &Glimpse, reference: &Reference) {
        if format == LogFormat::Netfilter && !reference.by_time() {
            self.netfilter_hit(line, glimpse, reference);
            return;
        }
        // Most lines are not Tor: only those whose address is listed (at any time) are parsed in full.
        if !reference.may_hold(&glimpse.addresses) {
            return;
        }
        let Ok(ev) = self.context.parse(format, line) else {
            return;
        };
        let Some((direction, entry)) = reference.classify(&ev) else {
            return;
        };
        self.hit(direction, entry, &ev.glimpse(), ev.action, ev.http_status);
    }

    /// Counts a netfilter line matched against one list: all a hit adds to its glimpse is the action, read from
    /// the prefix alone.
    #[inline(always)]
    fn netfilter_hit(&mut self, line: &[u8], glimpse: &Glimpse, reference: &Reference) {
        let Some((direction, entry)) = reference.classify_addresses(&glimpse.addresses, None)
        else {
            return;
        };
        let action = self.remembered.action(line);
        self.hit(direction, entry, glimpse, Some(action), None);
    }

    fn hit(
        &mut self,
        direction: Direction,
        entry: usize,
        glimpse: &Glimpse,
        action: Option<Action>,
        http_status: Option<u16>,
    ) {
        self.tor_hits += 1;
        if direction == Direction::Inbound {
            if let Some(n) = self.exits.get_mut(entry) {
                *n += 1;
            }
            if let Some(n) = http_status.and_then(|c| self.http.get_mut(usize::from(c))) {
                *n += 1;
            }
        }
        if let Some(n) = glimpse
            .dst_port
            .and_then(|p| self.ports.get_mut(usize::from(p)))
        {
            *n += 1;
        }
        if let Some(n) = glimpse
            .proto
            .and_then(|p| self.protos.get_mut(proto_slot(p)))
        {
            *n += 1;
        }
        if let Some(n) = action.and_then(|a| self.actions.get_mut(Action::slot(a))) {
            *n += 1;
        }
    }

    /// The format and glimpse of a line that parses: the fixed format, else the last line's format, else the
    /// detected one.
    fn glimpse(&mut self, line: &[u8], fixed: Option<LogFormat>) -> Option<(LogFormat, Glimpse)> {
        let context = &self.context;
        let glimpse = |f: LogFormat| context.glimpse(f, line).ok().map(|g| (f, g));
        match (fixed, self.last_format) {
            (Some(f), _) => glimpse(f),
            // A file is mostly one format: try the last line's first, detect only when it does not parse.
            (None, Some(f)) => glimpse(f).or_else(|| self.detect(line)),
            (None, None) => self.detect(line),
        }
    }

    fn detect(&mut self, line: &[u8]) -> Option<(LogFormat, Glimpse)> {
        let format = self.context.detect(line)?;
        let glimpse = self.context.glimpse(format, line).ok()?;
        self.last_format = Some(format);
        Some((format, glimpse))
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, other: &Tally) {
        self.lines += other.lines;
        self.parsed += other.parsed;
        self.tor_hits += other.tor_hits;
        add(&mut self.exits, &other.exits);
        add(&mut self.ports, &other.ports);
        add(&mut self.protos, &other.protos);
        add(&mut self.actions, &other.actions);
        add(&mut self.http, &other.http);
    }

    pub fn report(&self, reference: &Reference) -> Report {
        let mut r = Report {
            lines: self.lines,
            parsed: self.parsed,
            tor_hits: self.tor_hits,
            ..Report::default()
        };
        for (i, &n) in self.exits.iter().enumerate().filter(|(_, &n)| n > 0) {
            let Some((_, _, labels)) = reference.exits.side.entry(i) else {
                continue;
            };
            r.distinct_exits += 1;
            *r.by_exit.entry(labels.addr.to_string()).or_default() += n;
            *r.by_country.entry(labels.country.to_string()).or_default() += n;
        }
        let named = |names: &[&str], counts: &[u64]| {
            names
                .iter()
                .zip(counts)
                .filter(|(_, &n)| n > 0)
                .map(|(k, &n)| (k.to_string(), n))
                .collect()
        };
        r.by_proto = named(&PROTOS, &self.protos);
        r.by_action = named(&ACTIONS, &self.actions);
        r.by_port = nonzero(&self.ports);
        r.http_status = nonzero(&self.http);
        r
    }
}

fn add(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn nonzero(counts: &[u64]) -> std::collections::BTreeMap<String, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(k, &n)| (k.to_string(), n))
        .collect()
}

/// What every thread of a scan shares.
pub struct Scan<'a> {
    pub reference: &'a Reference,
    /// A fixed format, or `None` to detect it per line.
    pub format: Option<LogFormat>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_has_the_slot_of_its_name() {
        let all = [
            Proto::Tcp,
            Proto::Udp,
            Proto::Icmp,
            Proto::Icmpv6,
            Proto::Gre,
            Proto::Esp,
            Proto::Sctp,
            Proto::Other(99),
        ];
        for p in all {
            assert_eq!(PROTOS.get(proto_slot(p)), Some(&p.as_str()), "{p:?}");
        }
    }
}
