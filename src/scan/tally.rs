//! Counting one scan: the shared [`Reader`] reads every line and matches it against the reference; the hits it
//! hands over are added to fixed-size tables (per exit entry, per port, per protocol, …). One tally per thread,
//! merged at the end, then turned into the report. No allocation per line.

use super::reference::Reference;
use super::Report;
use crate::event::{Action, Direction, Proto};
use crate::parsers::{Context, LogFormat, ParseError};
use crate::reader::{Hit, Reader, Sink};

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

/// One thread's share of the input: its reader (the stream's state) and its counts.
#[derive(Debug, Clone)]
pub struct Tally {
    reader: Reader,
    counts: Counts,
}

/// What a scan counts, in fixed-size tables.
#[derive(Debug, Clone)]
struct Counts {
    lines: u64,
    parsed: u64,
    tor_hits: u64,
    /// Inbound hits per exit entry.
    exits: Vec<u64>,
    ports: Vec<u64>,
    protos: [u64; 8],
    actions: [u64; Action::ALL.len()],
    http: Vec<u64>,
}

impl Tally {
    pub fn new(scan: &Scan<'_>) -> Tally {
        Tally {
            reader: Reader::new(scan.format, scan.context.clone()),
            counts: Counts {
                lines: 0,
                parsed: 0,
                tor_hits: 0,
                exits: vec![0; scan.reference.exits.side.len()],
                ports: vec![0; 65536],
                protos: [0; 8],
                actions: [0; Action::ALL.len()],
                http: vec![0; 1000],
            },
        }
    }

    /// Takes the field order of a VPC Flow Logs header line (the first line of a flow-log file, which every part
    /// of the file is read with).
    pub fn learn(&mut self, line: &[u8]) {
        self.reader.learn(line);
    }

    /// Counts every line of `data` (lines end at `\n`; a last line without one counts too).
    pub fn lines(&mut self, data: &[u8], scan: &Scan<'_>) {
        self.counts.lines += self
            .reader
            .lines(data, scan.reference, &mut self.counts)
            .lines;
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, other: &Tally) {
        let (into, from) = (&mut self.counts, &other.counts);
        into.lines += from.lines;
        into.parsed += from.parsed;
        into.tor_hits += from.tor_hits;
        add(&mut into.exits, &from.exits);
        add(&mut into.ports, &from.ports);
        add(&mut into.protos, &from.protos);
        add(&mut into.actions, &from.actions);
        add(&mut into.http, &from.http);
    }

    pub fn report(&self, reference: &Reference) -> Report {
        self.counts.report(reference)
    }
}

impl Sink for Counts {
    const EVENTS: bool = false;
    const TIMES: bool = false;

    #[inline(always)]
    fn parsed(&mut self, _format: LogFormat) {
        self.parsed += 1;
    }

    #[inline(always)]
    fn error(&mut self, _error: ParseError) {}

    #[inline(always)]
    fn hit(&mut self, hit: &Hit<'_, '_>) {
        self.tor_hits += 1;
        if hit.matched.direction == Direction::Inbound {
            if let Some(n) = self.exits.get_mut(hit.matched.entry) {
                *n += 1;
            }
            if let Some(n) = hit
                .http_status
                .and_then(|c| self.http.get_mut(usize::from(c)))
            {
                *n += 1;
            }
        }
        if let Some(n) = hit
            .glimpse
            .dst_port
            .and_then(|p| self.ports.get_mut(usize::from(p)))
        {
            *n += 1;
        }
        if let Some(n) = hit
            .glimpse
            .proto
            .and_then(|p| self.protos.get_mut(proto_slot(p)))
        {
            *n += 1;
        }
        if let Some(n) = hit
            .action
            .and_then(|a| self.actions.get_mut(Action::slot(a)))
        {
            *n += 1;
        }
    }
}

impl Counts {
    fn report(&self, reference: &Reference) -> Report {
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
    /// The context lines are read in: the configured netfilter prefix rules.
    pub context: Context,
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
