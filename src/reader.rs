//! The one step from log lines to what they count, shared by `scan` and the service's pipeline (as ripgrep's
//! searcher hands matches to a sink): a [`Reader`] reads each line in its stream's [`Context`] into its events
//! (the usual netfilter kernel line in one pass by `netfilter::kernel`, any other shape and format by its parser;
//! a document of flows gives one event per flow), matches them against [`Lists`] and hands every parsed event,
//! error and hit to a [`Sink`]. So the two count alike, configured netfilter prefix rules included, and read at
//! the same speed. Pure: no IO, no clock; nothing is allocated per line.

use crate::event::{Action, Addresses, Direction, Event, Kind, PacketFacts, Service};
use crate::parsers::netfilter::{self, kernel, ActionMemo};
use crate::parsers::{Context, LogFormat, ParseError};
use std::net::IpAddr;

/// What events are matched against: the exit list (inbound when the source is in it) and the relay list
/// (outbound when the destination is).
pub trait Lists {
    /// Whether the source may be an exit or the destination a relay: false means [`Lists::classify`] gives
    /// nothing for these addresses, whatever the time.
    fn may_hold(&self, addresses: &Addresses) -> bool;
    /// The entry an event of these addresses, at `time` when the lists answer by time, matches.
    fn classify(&self, addresses: &Addresses, time: Option<i64>) -> Option<Match>;
    /// Whether [`Lists::classify`] needs an event's own time (the list of that time), so the whole event is read.
    fn by_time(&self) -> bool {
        false
    }
}

/// Which list entry an event matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Inbound: the source is in the exit list. Outbound: the destination is in the relay list.
    pub direction: Direction,
    /// The entry's position in its list.
    pub entry: usize,
    /// The event's address that matched.
    pub addr: IpAddr,
}

/// A matched event as a sink gets it.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'e, 'a> {
    pub matched: Match,
    pub packet_facts: PacketFacts,
    pub action: Option<Action>,
    pub kind: Kind,
    pub http_status: Option<u16>,
    /// The service a login names.
    pub service: Option<Service>,
    /// The event's time: always for a sink that asks for times ([`Sink::TIMES`]) or events.
    pub time: Option<i64>,
    /// The whole event, when it was read: always for a sink that asks for events ([`Sink::EVENTS`]) and when the
    /// lists answer by time; a netfilter line matched against the current lists is otherwise read no further than
    /// its packet facts, action and (when asked for) time.
    pub event: Option<&'e Event<'a>>,
}

impl<'e, 'a> Hit<'e, 'a> {
    /// The hit of a whole event.
    pub fn of(matched: Match, event: &'e Event<'a>) -> Hit<'e, 'a> {
        Hit {
            matched,
            packet_facts: event.packet_facts(),
            action: event.action,
            kind: event.kind,
            http_status: event.http_status,
            service: event.service,
            time: event.time,
            event: Some(event),
        }
    }

    /// Whether the event is a login attempt ([`Event::is_login`]).
    pub fn is_login(&self) -> bool {
        self.kind == Kind::Auth || self.service.is_some()
    }
}

/// What a reader hands its results to.
pub trait Sink {
    /// Whether every hit comes with its whole event.
    const EVENTS: bool;
    /// Whether every hit comes with its event's time.
    const TIMES: bool;
    /// An event was read from a line (a document of flows gives one per flow).
    fn parsed(&mut self, format: LogFormat);
    /// A line, or a record of a document, gave no event.
    fn error(&mut self, error: ParseError);
    /// An event matched the lists.
    fn hit(&mut self, hit: &Hit<'_, '_>);
}

/// The reading state of one stream of lines: its fixed format or the last one detected, its context (netfilter
/// prefix rules, a flow-log field order) and the actions of recent netfilter headers.
#[derive(Debug, Clone)]
pub struct Reader {
    fixed: Option<LogFormat>,
    last: Option<LogFormat>,
    context: Context,
    /// `None` when a prefix rule holds a digit (the memo reads every digit of a header as `0`).
    memo: Option<ActionMemo>,
    /// Longest line [`Reader::lines`] reads.
    max_line: usize,
}

/// A line of a run as [`Reader::lines`] takes it (the text before its `\n`): without a `\r` at its end; `None` when
/// nothing is left, for an empty line is no line (as a stream's framing drops it).
pub fn cut(raw: &[u8]) -> Option<&[u8]> {
    Some(raw.strip_suffix(b"\r").unwrap_or(raw)).filter(|l| !l.is_empty())
}

/// What [`Reader::lines`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinesRead {
    /// Lines read (handed to the sink).
    pub lines: u64,
    /// Lines skipped for their length.
    pub oversize: u64,
}

impl Reader {
    /// A reader of lines of `fixed` format (`None`: detected per line) in `context`.
    pub fn new(fixed: Option<LogFormat>, context: Context) -> Reader {
        let memo = context.actions().digit_free().then(ActionMemo::default);
        Reader {
            fixed,
            last: fixed,
            context,
            memo,
            max_line: usize::MAX,
        }
    }

    /// Reads the syslog stamps of later lines that carry no year at `now` ([`Context::set_now`]).
    pub fn set_now(&mut self, now: i64) {
        self.context.set_now(now);
    }

    /// Takes the field order of a VPC Flow Logs header line (the first line of a flow-log file, which every part
    /// of the file is read with).
    pub fn learn(&mut self, line: &[u8]) {
        self.context.learn(line);
    }

    /// Lines of [`Reader::lines`] longer than `max` bytes (without their terminator) are skipped and counted as
    /// oversize, as a stream's framing does (the default: no limit).
    pub fn with_max_line(mut self, max: usize) -> Reader {
        self.max_line = max;
        self
    }

    /// Reads every line of `data`: lines end at `\n` (a `\r` before it is dropped; a last line without one counts
    /// too). Empty lines are no lines, as a stream's framing drops them; lines over the limit
    /// ([`Reader::with_max_line`]) are not read.
    pub fn lines<L: Lists, S: Sink>(&mut self, data: &[u8], lists: &L, sink: &mut S) -> LinesRead {
        let mut read = LinesRead::default();
        let mut start = 0;
        while let Some(text) = data.get(start..).filter(|t| !t.is_empty()) {
            // A netfilter log's usual kernel line is read before it is cut: the search for its end starts after
            // the packet words, not at its start.
            if self.last == Some(LogFormat::Netfilter) {
                if let Some((packet_facts, used)) = kernel::packet_facts_uncut(text) {
                    let end = kernel::line_end(text, used);
                    start += end + 1;
                    // Not trimmed: the readers a hit goes on to trim it themselves.
                    let line = text.get(..end).unwrap_or_default();
                    // The length is looked at closer only when it may be over the limit.
                    if end > self.max_line && cut(line).map_or(0, <[u8]>::len) > self.max_line {
                        read.oversize += 1;
                        continue;
                    }
                    read.lines += 1;
                    self.netfilter(line, &packet_facts, lists, sink);
                    continue;
                }
            }
            let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
            start += end + 1;
            let Some(line) = cut(text.get(..end).unwrap_or_default()) else {
                continue;
            };
            if line.len() > self.max_line {
                read.oversize += 1;
                continue;
            }
            read.lines += 1;
            self.line(line, lists, sink);
        }
        read
    }

    /// What [`Reader::lines`] would say it read of `data`, without reading it: lines counted, not parsed.
    pub fn count_lines(&self, data: &[u8]) -> LinesRead {
        let mut read = LinesRead::default();
        for line in data.split(|&b| b == b'\n').filter_map(cut) {
            match line.len() > self.max_line {
                true => read.oversize += 1,
                false => read.lines += 1,
            }
        }
        read
    }

    /// Reads one line.
    pub fn line<L: Lists, S: Sink>(&mut self, line: &[u8], lists: &L, sink: &mut S) {
        let line = crate::parsers::trim_line(line);
        if line.is_empty() {
            sink.error(ParseError::Empty);
            return;
        }
        // The usual kernel line in one pass; any other shape, or format, by the format's reader.
        if self.last == Some(LogFormat::Netfilter) {
            if let Some(packet_facts) = kernel::packet_facts(line) {
                self.netfilter(line, &packet_facts, lists, sink);
                return;
            }
        }
        let format = match self.format(line) {
            Ok(f) => f,
            Err(e) => {
                sink.error(e);
                return;
            }
        };
        if format == LogFormat::Netfilter {
            match netfilter::packet_facts(line) {
                Ok(packet_facts) => self.netfilter(line, &packet_facts, lists, sink),
                Err(e) => sink.error(e),
            }
            return;
        }
        self.context.parse_each(format, line, &mut |r| match r {
            Ok(ev) => {
                sink.parsed(format);
                let addresses = ev.addresses();
                if !lists.may_hold(&addresses) {
                    return;
                }
                if let Some(m) = lists.classify(&addresses, ev.time) {
                    sink.hit(&Hit::of(m, &ev));
                }
            }
            Err(e) => sink.error(e),
        });
    }

    /// The format of a line: the fixed one, else the last line's when it looks alike, else the detected one.
    fn format(&mut self, line: &[u8]) -> Result<LogFormat, ParseError> {
        match (self.fixed, self.last) {
            (Some(f), _) => Ok(f),
            (None, Some(f)) if self.context.looks_like(f, line) => Ok(f),
            _ => {
                let f = self.context.detect(line).ok_or(ParseError::UnknownFormat)?;
                self.last = Some(f);
                Ok(f)
            }
        }
    }

    /// Counts a netfilter line that parses, with its packet facts. Matched against the current lists, all a hit adds to
    /// the packet facts is the action, read from the prefix (remembered per header and prefix); a sink that asks for
    /// events, or lists that answer by time, get the whole event.
    #[inline(always)]
    fn netfilter<L: Lists, S: Sink>(
        &mut self,
        line: &[u8],
        packet_facts: &PacketFacts,
        lists: &L,
        sink: &mut S,
    ) {
        sink.parsed(LogFormat::Netfilter);
        if S::EVENTS || lists.by_time() {
            if !lists.may_hold(&packet_facts.addresses) {
                return;
            }
            // `packet_facts` accepted the line, so the parse does too.
            let Ok(ev) = self.context.parse(LogFormat::Netfilter, line) else {
                return;
            };
            if let Some(m) = lists.classify(&ev.addresses(), ev.time) {
                sink.hit(&Hit::of(m, &ev));
            }
            return;
        }
        let Some(matched) = lists.classify(&packet_facts.addresses, None) else {
            return;
        };
        let actions = self.context.actions();
        let action = match &mut self.memo {
            Some(memo) => memo.action(line, actions),
            None => netfilter::action_with(line, actions),
        };
        let time = match S::TIMES {
            true => netfilter::time(line, self.context.stamps()),
            false => None,
        };
        sink.hit(&Hit {
            matched,
            packet_facts: *packet_facts,
            action: Some(action),
            kind: Kind::Traffic,
            http_status: None,
            service: None,
            time,
            event: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::netfilter::PrefixActions;
    use std::sync::Arc;

    /// Exits 185.220.101.0/24, relays 45.66.33.0/24.
    struct Two;

    impl Lists for Two {
        fn may_hold(&self, a: &Addresses) -> bool {
            self.classify(a, None).is_some()
        }

        fn classify(&self, a: &Addresses, _time: Option<i64>) -> Option<Match> {
            let within =
                |ip: IpAddr, net: [u8; 3]| matches!(ip, IpAddr::V4(v) if v.octets()[..3] == net);
            if let Some(src) = a.src.filter(|&s| within(s, [185, 220, 101])) {
                return Some(Match {
                    direction: Direction::Inbound,
                    entry: 0,
                    addr: src,
                });
            }
            let dst = a.dst.filter(|&d| within(d, [45, 66, 33]))?;
            Some(Match {
                direction: Direction::Outbound,
                entry: 1,
                addr: dst,
            })
        }
    }

    /// Everything a sink is handed, as text; `E` chooses whether it asks for events.
    #[derive(Default)]
    struct Record<const E: bool>(Vec<String>);

    impl<const E: bool> Sink for Record<E> {
        const EVENTS: bool = E;
        const TIMES: bool = true;

        fn parsed(&mut self, format: LogFormat) {
            self.0.push(format!("parsed {}", format.as_str()));
        }

        fn error(&mut self, error: ParseError) {
            self.0.push(format!("error {}", error.reason()));
        }

        fn hit(&mut self, hit: &Hit<'_, '_>) {
            assert!(hit.event.is_some() || !E, "events when asked for");
            let g = hit.packet_facts;
            self.0.push(format!(
                "hit {:?} {} {} port={:?} proto={:?} action={:?} kind={:?} http={:?} time={:?}",
                hit.matched.direction,
                hit.matched.entry,
                hit.matched.addr,
                g.dst_port,
                g.proto,
                hit.action,
                hit.kind,
                hit.http_status,
                hit.time
            ));
        }
    }

    const LOG: &str = "\
Nov 28 00:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=185.220.101.5 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=1 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0
Nov 28 00:00:02 fw kernel: KEEP-22 IN=eth0 OUT= MAC=00:00 SRC=185.220.101.6 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=1 DPT=443 WINDOW=1 RES=0x00 SYN URGP=0
Nov 28 00:00:03 fw kernel: KEEP-23 IN=eth0 OUT= MAC=00:00 SRC=185.220.101.6 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=1 DPT=443 WINDOW=1 RES=0x00 SYN URGP=0
Nov 28 00:00:04 fw kernel: TOSS IN=eth0 OUT= SRC=185.220.101.7 DST=10.0.0.1 PROTO=UDP SPT=1 DPT=53
Nov 28 00:00:05 fw kernel: [UFW BLOCK] IN= OUT=eth0 SRC=10.0.0.2 DST=45.66.33.9 LEN=60 PROTO=TCP SPT=1 DPT=9001
\x20  

not a log line
185.220.101.8 - - [28/Nov/2026:00:00:06 +0000] \"GET / HTTP/1.1\" 503 12 \"-\" \"curl\"
Nov 28 00:00:07 fw kernel: [UFW ALLOW] IN=eth0 OUT= SRC=198.18.0.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22
";

    fn read<const E: bool>(actions: Option<PrefixActions>, whole: bool) -> Vec<String> {
        let mut reader = Reader::new(None, Context::new(actions.map(Arc::new), None));
        let mut sink = Record::<E>::default();
        if whole {
            let read = reader.lines(LOG.as_bytes(), &Two, &mut sink);
            assert_eq!(
                read,
                LinesRead {
                    lines: 9,
                    oversize: 0
                },
                "an empty line is no line"
            );
        } else {
            // As a stream's framing hands them over: no empty line.
            for line in LOG.lines().filter(|l| !l.is_empty()) {
                reader.line(line.as_bytes(), &Two, &mut sink);
            }
        }
        sink.0
    }

    #[test]
    fn a_sink_with_events_and_one_without_count_alike() {
        let rules = [
            ("KEEP-22".to_string(), Action::Allow),
            ("TOSS".to_string(), Action::Reject),
        ];
        for actions in [
            None,
            PrefixActions::configured(&rules),
            PrefixActions::configured(&rules[1..]),
        ] {
            let want = read::<true>(actions.clone(), false);
            assert_eq!(read::<false>(actions.clone(), false), want, "{actions:?}");
            assert_eq!(
                read::<false>(actions.clone(), true),
                want,
                "{actions:?}: a buffer of lines"
            );
            assert_eq!(read::<true>(actions.clone(), true), want);
        }
        let plain = read::<false>(None, true);
        assert_eq!(plain.iter().filter(|l| l.starts_with("hit")).count(), 6);
        assert!(plain.contains(&"error empty".to_string()));
        assert!(plain.contains(&"error unknown_format".to_string()));
        assert!(plain.iter().any(|l| l.contains("Outbound 1 45.66.33.9")));
        assert!(plain.iter().any(|l| l.contains("kind=Web http=Some(503)")));
        let configured = read::<false>(PrefixActions::configured(&rules), true);
        let actions: Vec<&str> = configured
            .iter()
            .filter(|l| l.starts_with("hit Inbound"))
            .map(|l| {
                l.split("action=")
                    .nth(1)
                    .unwrap_or("")
                    .split(' ')
                    .next()
                    .unwrap_or("")
            })
            .collect();
        assert_eq!(
            actions,
            [
                "Some(Drop)",
                "Some(Allow)",
                "Some(Drop)",
                "Some(Reject)",
                "Some(Allow)"
            ],
            "the configured rules decide, digits and all: {configured:?}"
        );
    }

    #[test]
    fn lines_over_the_limit_are_skipped_and_counted() {
        let log = "Nov 28 00:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=185.220.101.5 DST=10.0.0.1 PROTO=TCP \
                   SPT=1 DPT=22\r\nshort line\r\n\r\nNov 28 00:00:01 fw kernel: IN=eth0 OUT= SRC=185.220.101.5 \
                   DST=10.0.0.1 PROTO=UDP SPT=1 DPT=53 LEN=1234567890123456789012345678901234567890";
        let first = log.find('\r').unwrap();
        let last = log.len() - log.rfind('\n').unwrap() - 1;
        for (max, want) in [
            (usize::MAX, (3, 0, 2)),
            (last, (3, 0, 2)),
            (last - 1, (2, 1, 1)),
            (first, (2, 1, 1)),
            (first - 1, (1, 2, 0)),
            (10, (1, 2, 0)),
            (9, (0, 3, 0)),
        ] {
            let mut reader = Reader::new(None, Context::default()).with_max_line(max);
            let mut sink = Record::<false>::default();
            let read = reader.lines(log.as_bytes(), &Two, &mut sink);
            assert_eq!(reader.count_lines(log.as_bytes()), read, "counted alike");
            let hits = sink.0.iter().filter(|l| l.starts_with("hit")).count();
            assert_eq!(
                (read.lines, read.oversize, hits),
                want,
                "max {max}: {:?}",
                sink.0
            );
        }
    }

    #[test]
    fn prefix_rules_with_digits_are_not_remembered_by_key() {
        let rules = [("KEEP-22".to_string(), Action::Allow)];
        assert!(Reader::new(None, Context::default()).memo.is_some());
        let digits = Reader::new(
            None,
            Context::new(PrefixActions::configured(&rules).map(Arc::new), None),
        );
        assert!(digits.memo.is_none());
    }
}
