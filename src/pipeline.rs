//! The log pipeline: takes batches from the inputs' bounded queue, parses each line (fixed format or
//! auto-detected) into its events (one, or one per flow of a document), matches each against the current snapshot
//! and counts it. Acknowledges file batches once processed, so checkpoints only ever cover counted lines. Per-line
//! work touches pre-resolved counters only.
//!
//! No line goes unmatched in silence: until an exit list is loaded, file and stdin inputs wait (their queues are
//! not read, their checkpoints do not move), and the lines of syslog inputs, which cannot wait, are counted as
//! dropped (`reason="no_list"`) with one warning per input.

use crate::config::Config;
use crate::inputs::InputKind;
use crate::inputs::{Ack, Batch, InputMetrics};
use crate::last_day::{HourlyHits, Seen};
use crate::matcher::geoip::Geoip;
use crate::matcher::metrics::{InputHandle, Recorder, TrafficMetrics};
use crate::matcher::Matcher;
use crate::parsers::netfilter::PrefixActions;
use crate::parsers::{Context, LogFormat, ParseError};
use crate::reader::{LinesRead, Reader, Sink};
use crate::snapshot::Shared;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ParsedLabels {
    pub input: String,
    pub format: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub input: String,
    pub reason: &'static str,
}

/// `torwatch_input_parsed_total`, `torwatch_input_parse_errors_total` and `torwatch_input_skipped_records_total`.
pub struct ParseMetrics {
    pub parsed: Family<ParsedLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub skipped: Family<ErrorLabels, Counter>,
}

const REASONS: [ParseError; 7] = [
    ParseError::Empty,
    ParseError::UnknownFormat,
    ParseError::NotTraffic,
    ParseError::MissingField(""),
    ParseError::BadAddress(""),
    ParseError::BadNumber(""),
    ParseError::Malformed,
];

/// Records that carry no flow by design, counted apart from errors.
const SKIPPED: [ParseError; 2] = [ParseError::NoData, ParseError::SkipData];

impl ParseMetrics {
    pub fn register(reg: &mut Registry) -> ParseMetrics {
        let m = ParseMetrics {
            parsed: Family::default(),
            errors: Family::default(),
            skipped: Family::default(),
        };
        reg.register(
            "torwatch_input_parsed",
            "Events read from lines (a document of flows gives one per flow), by input and format",
            m.parsed.clone(),
        );
        reg.register(
            "torwatch_input_parse_errors",
            "Lines (or records of a document) that did not parse, by input and reason",
            m.errors.clone(),
        );
        reg.register(
            "torwatch_input_skipped_records",
            "Flow-log records that carry no flow by design (NODATA, SKIPDATA), by input and reason",
            m.skipped.clone(),
        );
        m
    }
}

/// One input's pre-resolved counters.
struct Counters {
    parsed: Vec<Counter>,
    errors: Vec<Counter>,
    skipped: Vec<Counter>,
    hits: InputHandle,
}

impl Counters {
    fn new(name: &str, parse: &ParseMetrics, traffic: &TrafficMetrics) -> Counters {
        let parsed = LogFormat::ALL
            .iter()
            .map(|f| {
                parse
                    .parsed
                    .get_or_create(&ParsedLabels {
                        input: name.into(),
                        format: f.as_str(),
                    })
                    .clone()
            })
            .collect();
        let reasons = |family: &Family<ErrorLabels, Counter>, reasons: &[ParseError]| {
            reasons
                .iter()
                .map(|r| {
                    family
                        .get_or_create(&ErrorLabels {
                            input: name.into(),
                            reason: r.reason(),
                        })
                        .clone()
                })
                .collect()
        };
        Counters {
            parsed,
            errors: reasons(&parse.errors, &REASONS),
            skipped: reasons(&parse.skipped, &SKIPPED),
            hits: traffic.input(name),
        }
    }

    /// Adds a batch's tally to the counters.
    fn add(&self, tally: &ParseTally) {
        let pairs = [
            (&self.parsed, &tally.parsed[..]),
            (&self.errors, &tally.errors[..]),
            (&self.skipped, &tally.skipped[..]),
        ];
        for (counters, counts) in pairs {
            for (c, &n) in counters.iter().zip(counts).filter(|(_, &n)| n > 0) {
                c.inc_by(n);
            }
        }
    }
}

/// One batch's parse outcomes, counted in place and added to the shared counters once per batch.
struct ParseTally {
    /// By format, in [`LogFormat::ALL`] order.
    parsed: [u64; LogFormat::ALL.len()],
    /// By reason, in [`REASONS`] order.
    errors: [u64; REASONS.len()],
    /// By reason, in [`SKIPPED`] order.
    skipped: [u64; SKIPPED.len()],
}

impl ParseTally {
    fn new() -> ParseTally {
        ParseTally {
            parsed: [0; LogFormat::ALL.len()],
            errors: [0; REASONS.len()],
            skipped: [0; SKIPPED.len()],
        }
    }

    fn error(&mut self, e: ParseError) {
        let (reasons, counts): (&[ParseError], &mut [u64]) = match e.is_error() {
            true => (&REASONS, &mut self.errors),
            false => (&SKIPPED, &mut self.skipped),
        };
        let i = reasons
            .iter()
            .position(|r| r.reason() == e.reason())
            .unwrap_or(0);
        if let Some(n) = counts.get_mut(i) {
            *n += 1;
        }
    }

    #[inline]
    fn parsed(&mut self, f: LogFormat) {
        let i = LogFormat::ALL.iter().position(|x| *x == f);
        if let Some(n) = i.and_then(|i| self.parsed.get_mut(i)) {
            *n += 1;
        }
    }
}

/// One input: its counters, and its reader (fixed format, the context its lines are read in).
struct Input {
    name: String,
    /// Waits for an exit list (files, stdin); otherwise its lines before one are counted as `no_list`.
    waits: bool,
    counters: Counters,
    no_list: Counter,
    /// Lines read and skipped for their length, of the runs of lines a file input hands over uncut.
    lines: Counter,
    oversize: Counter,
    /// Whether the warning about lines before any list was given.
    warned: bool,
    reader: Reader,
}

/// Everything the pipeline counts into.
pub struct Counting<'a> {
    pub parse: &'a ParseMetrics,
    pub inputs: &'a InputMetrics,
    pub traffic: Arc<TrafficMetrics>,
    pub recent: Arc<Mutex<HourlyHits>>,
}

pub struct Pipeline {
    inputs: Vec<Input>,
    shared: Shared,
    traffic: Arc<TrafficMetrics>,
    recent: Arc<Mutex<HourlyHits>>,
    geoip: Option<Arc<Geoip>>,
    matcher: Matcher,
    /// Batches of waiting inputs read before an exit list was loaded, in order.
    /// Their runs' lines are counted as read already (`torwatch_input_lines_total` counts what was read, list or
    /// not).
    held: Vec<Batch>,
    /// Acks of processed batches not yet committed: a later batch of the same file replaces its ack, so a file
    /// read as a backlog moves its checkpoint (a file write) a few times a second, not once per batch.
    acks: Vec<Ack>,
    /// When acks were last committed.
    committed: std::time::Instant,
}

/// Batches of one waiting input held at most before its queue is paused: enough that what a fresh install reads
/// before its first list shows in `torwatch_input_lines_total`, few enough to bound the memory they take.
const HOLD_BATCHES: usize = 8;

/// How long a processed batch's ack waits at most before it is committed.
const ACK_DELAY: Duration = Duration::from_millis(100);

impl Pipeline {
    pub fn new(
        config: &Config,
        shared: Shared,
        counting: Counting<'_>,
        geoip: Option<Arc<Geoip>>,
    ) -> Pipeline {
        let Counting {
            parse,
            inputs,
            traffic,
            recent,
        } = counting;
        let actions = PrefixActions::configured(&config.netfilter_actions).map(Arc::new);
        let inputs = config
            .inputs
            .iter()
            .map(|i| {
                let read = inputs.input(&i.name);
                Input {
                    name: i.name.clone(),
                    waits: matches!(i.kind, InputKind::File(_) | InputKind::Stdin),
                    counters: Counters::new(&i.name, parse, &traffic),
                    no_list: read.no_list,
                    lines: read.lines,
                    oversize: read.oversize,
                    warned: false,
                    reader: Reader::new(i.format, Context::new(actions.clone(), i.fields))
                        .with_max_line(i.max_message),
                }
            })
            .collect();
        Pipeline {
            inputs,
            shared,
            traffic,
            recent,
            geoip,
            matcher: Matcher::default(),
            held: Vec::new(),
            acks: Vec::new(),
            committed: std::time::Instant::now(),
        }
    }

    /// Processes batches from every input's queue, taking them in turn, until shutdown; then drains what is
    /// already queued.
    pub async fn run(mut self, queues: Vec<Receiver<Batch>>, shutdown: CancellationToken) {
        let mut queues = Queues::new(queues);
        let mut evict = tokio::time::interval(Duration::from_secs(30));
        let mut listed = tokio::time::interval(Duration::from_millis(100));
        let mut acks = tokio::time::interval(ACK_DELAY);
        loop {
            self.pause_waiting(&mut queues);
            tokio::select! {
                batch = queues.next() => match batch {
                    Some(b) => self.process(b),
                    None => break,
                },
                _ = evict.tick() => self.traffic.evict(crate::clock::now()),
                _ = acks.tick(), if !self.acks.is_empty() => self.commit(),
                // While inputs wait for a list: look for one.
                _ = listed.tick(), if !self.held.is_empty() || queues.any_paused() => {}
                _ = shutdown.cancelled() => break,
            }
        }
        queues.close();
        while let Some(b) = queues.next().await {
            self.process(b);
        }
        self.commit();
        // What still waits for a list is dropped unacknowledged: it is read again after a restart.
    }

    /// Pauses the queue of a waiting input while no exit list is loaded and [`HOLD_BATCHES`] of its batches are
    /// held (their lines counted as read); once a list is, counts the batches held.
    fn pause_waiting(&mut self, queues: &mut Queues) {
        let ready = self.shared.load().ready();
        for (i, input) in self.inputs.iter().enumerate() {
            let held = || {
                self.held
                    .iter()
                    .filter(|b| usize::from(b.input) == i)
                    .count()
            };
            queues.pause(i, input.waits && !ready && held() >= HOLD_BATCHES);
        }
        if ready && !self.held.is_empty() {
            tracing::info!("an exit list is loaded: reading the inputs that waited for it");
            for batch in std::mem::take(&mut self.held) {
                self.count(batch, false);
            }
        }
    }

    /// Parses, matches and counts one batch, then acknowledges it. Before any exit list is loaded, a waiting
    /// input's batch is held, another's lines are counted as `no_list`.
    pub fn process(&mut self, batch: Batch) {
        self.count(batch, true);
    }

    /// [`Pipeline::process`]; `read_now`: the lines of the batch's runs are counted as read here (a held batch's
    /// were counted when it was held).
    fn count(&mut self, batch: Batch, read_now: bool) {
        let snapshot = self.shared.load();
        if !snapshot.ready() {
            self.unlisted(batch);
            return;
        }
        if !self.matcher.is_current(&snapshot) {
            self.matcher = Matcher::with_geoip(&snapshot, self.geoip.as_deref());
        }
        if let Some(input) = self.inputs.get_mut(usize::from(batch.input)) {
            let now = crate::clock::now();
            // Syslog stamps without a year are read at the time their batch is counted.
            input.reader.set_now(now);
            let mut count = BatchSink {
                tally: ParseTally::new(),
                hits: &input.counters.hits,
                matcher: &self.matcher,
                recorder: self.traffic.recorder(),
                recent: self.recent.lock().ok(),
                now,
            };
            for line in &batch.lines {
                input.reader.line(line, &self.matcher, &mut count);
            }
            let mut read = LinesRead::default();
            for run in &batch.runs {
                let r = input.reader.lines(run, &self.matcher, &mut count);
                read.lines += r.lines;
                read.oversize += r.oversize;
            }
            input.counters.add(&count.tally);
            if read_now {
                input.lines.inc_by(read.lines);
                input.oversize.inc_by(read.oversize);
            }
        }
        if let Some(ack) = batch.ack {
            self.acknowledge(ack);
        }
    }

    /// Takes the ack of a processed batch: kept until [`Pipeline::commit`], which runs at most [`ACK_DELAY`] later.
    fn acknowledge(&mut self, ack: Ack) {
        self.acks.retain(|a| !ack.covers(a));
        self.acks.push(ack);
        if self.committed.elapsed() >= ACK_DELAY {
            self.commit();
        }
    }

    /// Commits the acks of processed batches, in order: their files' checkpoints move past their lines.
    pub fn commit(&mut self) {
        for ack in self.acks.drain(..) {
            ack.commit();
        }
        self.committed = std::time::Instant::now();
    }

    /// A batch read before any exit list was loaded.
    fn unlisted(&mut self, batch: Batch) {
        let Some(input) = self.inputs.get_mut(usize::from(batch.input)) else {
            return;
        };
        // A run's lines count as read here (a file's: it waits, and they are counted once, when held).
        let mut in_runs = 0;
        for run in &batch.runs {
            let read = input.reader.count_lines(run);
            input.lines.inc_by(read.lines);
            input.oversize.inc_by(read.oversize);
            in_runs += read.lines;
        }
        if input.waits {
            if self.held.is_empty() {
                tracing::info!(input = %input.name, "waiting for an exit list before reading on");
            }
            self.held.push(batch);
            return;
        }
        let dropped = batch.lines.len() as u64 + in_runs;
        input.no_list.inc_by(dropped);
        if !input.warned {
            input.warned = true;
            tracing::warn!(
                input = %input.name,
                "lines arrive before any exit list is loaded: they cannot be matched and are counted as dropped \
                 (torwatch_input_dropped_total{{reason=\"no_list\"}})"
            );
        }
    }
}

/// The service's sink: parse outcomes into a batch's tally, hits into the traffic metrics and the last 24 hours
/// (both locked once per batch).
struct BatchSink<'p> {
    tally: ParseTally,
    hits: &'p InputHandle,
    matcher: &'p Matcher,
    recorder: Option<Recorder<'p>>,
    recent: Option<MutexGuard<'p, HourlyHits>>,
    now: i64,
}

impl Sink for BatchSink<'_> {
    const EVENTS: bool = false;
    const TIMES: bool = true;

    fn parsed(&mut self, format: LogFormat) {
        self.tally.parsed(format);
    }

    fn error(&mut self, error: ParseError) {
        self.tally.error(error);
    }

    fn hit(&mut self, found: &crate::reader::Hit<'_, '_>) {
        let ev = found;
        let Some(hit) = self.matcher.hit(found.matched) else {
            return;
        };
        if let Some(r) = self.recorder.as_mut() {
            r.record(self.hits, ev, &hit, self.now);
        }
        let at = HourlyHits::place(ev.time, self.now);
        if let (Some(r), Some(at)) = (self.recent.as_mut(), at) {
            match hit.direction {
                crate::event::Direction::Inbound => r.inbound(Seen {
                    at,
                    exit: hit.addr,
                    country: &hit.labels.country,
                    port: ev.packet_facts.dst_port,
                    http: ev.http_status,
                    kind: ev.kind,
                    login: ev.is_login().then_some((ev.service, ev.action)),
                }),
                crate::event::Direction::Outbound => r.outbound(at),
            }
        }
    }
}

/// One bounded queue per input, read in turn: a busy input (a TCP sender that waits for room) cannot starve
/// another (a UDP input that drops when its queue is full), because each has its own room and gets its turn.
pub struct Queues {
    queues: Vec<Receiver<Batch>>,
    /// Queues not read for now (their inputs wait); an open paused queue keeps `next` pending.
    paused: Vec<bool>,
    next: usize,
}

impl Queues {
    pub fn new(queues: Vec<Receiver<Batch>>) -> Queues {
        let paused = vec![false; queues.len()];
        Queues {
            queues,
            paused,
            next: 0,
        }
    }

    /// Stops or resumes reading queue `i`.
    pub fn pause(&mut self, i: usize, paused: bool) {
        if let Some(p) = self.paused.get_mut(i) {
            *p = paused;
        }
    }

    /// Whether some queue is paused.
    pub fn any_paused(&self) -> bool {
        self.paused.iter().any(|&p| p)
    }

    /// The next batch, starting after the queue that gave the last one; `None` once every queue is closed and empty.
    pub async fn next(&mut self) -> Option<Batch> {
        std::future::poll_fn(|cx| {
            let n = self.queues.len();
            let mut open = false;
            for k in 0..n {
                let i = (self.next + k) % n;
                if self.paused.get(i) == Some(&true) {
                    open = true;
                    continue;
                }
                match self.queues[i].poll_recv(cx) {
                    std::task::Poll::Ready(Some(b)) => {
                        self.next = (i + 1) % n;
                        return std::task::Poll::Ready(Some(b));
                    }
                    std::task::Poll::Ready(None) => {}
                    std::task::Poll::Pending => open = true,
                }
            }
            if open {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(None)
            }
        })
        .await
    }

    /// Stops accepting new batches; what is queued can still be read, from every queue (none stays paused).
    pub fn close(&mut self) {
        for q in &mut self.queues {
            q.close();
        }
        self.paused.fill(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn batch(input: u16) -> Batch {
        Batch {
            input,
            lines: vec![bytes::Bytes::from_static(b"x")],
            runs: Vec::new(),
            ack: None,
        }
    }

    /// A pipeline of the config's inputs with `185.220.101.7` in the exit list, and the registry of its metrics.
    fn pipeline(config: &str) -> (Pipeline, Registry) {
        let config = Config::parse(config).expect("test config");
        let mut reg = Registry::default();
        let parse = ParseMetrics::register(&mut reg);
        let traffic = Arc::new(TrafficMetrics::register(&mut reg, &config.matcher));
        let entry = crate::list::ListEntry {
            net: "185.220.101.7/32".parse().expect("net"),
            prov: Default::default(),
        };
        let exits = Arc::new(crate::list::List::new(
            crate::list::ListId::Exits.name(),
            1,
            0,
            vec![entry],
        ));
        let shared = crate::snapshot::shared();
        shared.store(Arc::new(crate::snapshot::Snapshot {
            lists: [(crate::list::ListId::Exits.name().to_string(), exits)].into(),
            ..crate::snapshot::Snapshot::default()
        }));
        let recent = Arc::new(Mutex::new(HourlyHits::default()));
        let inputs = InputMetrics::register(&mut reg);
        let counting = Counting {
            parse: &parse,
            inputs: &inputs,
            traffic,
            recent,
        };
        let p = Pipeline::new(&config, shared, counting, None);
        (p, reg)
    }

    fn lines(input: u16, lines: &[&str]) -> Batch {
        Batch {
            input,
            lines: lines
                .iter()
                .map(|l| bytes::Bytes::copy_from_slice(l.as_bytes()))
                .collect(),
            runs: Vec::new(),
            ack: None,
        }
    }

    /// The exposition's samples whose line starts with one of `names`, sorted (a family's series come in no fixed
    /// order).
    fn samples(reg: &Registry, names: &[&str]) -> Vec<String> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, reg).expect("encode");
        let mut found: Vec<String> = text
            .lines()
            .filter(|l| names.iter().any(|n| l.starts_with(n)) && !l.ends_with(" 0"))
            .map(str::to_owned)
            .collect();
        found.sort();
        found
    }

    #[test]
    fn a_flow_log_header_sets_the_field_order_of_its_input_and_nodata_is_not_an_error() {
        let (mut p, reg) =
            pipeline("inputs:\n  - {name: flows, type: stdin}\n  - {name: other, type: stdin}\n");
        p.process(lines(
            0,
            &[
                "${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} ${log-status}",
                "185.220.101.7 10.0.0.5 22 6 REJECT OK",
                "198.51.100.4 10.0.0.5 22 6 REJECT OK",
                "- - - - - NODATA",
            ],
        ));
        // The other input saw no header: the same record is no line it can read.
        p.process(lines(1, &["185.220.101.7 10.0.0.5 22 6 REJECT OK"]));
        assert_eq!(
            samples(
                &reg,
                &[
                    "torwatch_input_parsed_total",
                    "torwatch_input_parse_errors_total",
                    "torwatch_input_skipped_records_total",
                ]
            ),
            [
                r#"torwatch_input_parse_errors_total{input="flows",reason="not_traffic"} 1"#,
                r#"torwatch_input_parse_errors_total{input="other",reason="unknown_format"} 1"#,
                r#"torwatch_input_parsed_total{input="flows",format="vpcflow"} 2"#,
                r#"torwatch_input_skipped_records_total{input="flows",reason="nodata"} 1"#,
            ]
        );
        assert_eq!(hits(&p, &reg), [("flows".into(), "drop".into(), 1)]);
    }

    /// `torwatch_tor_hits_total` samples as (input, action, count), after the two scrapes that show a new series at
    /// 0 and then its count.
    fn hits(p: &Pipeline, reg: &Registry) -> Vec<(String, String, u64)> {
        for _ in 0..2 {
            let n = p.traffic.scrape_begin("prometheus");
            samples(reg, &[]);
            p.traffic.scrape_end("prometheus", n);
        }
        let label = |l: &str, key: &str| {
            let from = l.find(&format!("{key}=\"")).map(|i| i + key.len() + 2)?;
            let len = l.get(from..)?.find('"')?;
            l.get(from..from + len).map(str::to_owned)
        };
        samples(reg, &["torwatch_tor_hits_total"])
            .iter()
            .filter_map(|l| {
                let n = l.rsplit(' ').next()?.parse().ok()?;
                Some((label(l, "input")?, label(l, "action")?, n))
            })
            .collect()
    }

    #[test]
    fn every_flow_of_a_document_is_an_event_and_a_broken_one_an_error() {
        let (mut p, reg) = pipeline("inputs:\n  - {name: nsg, type: stdin}\n");
        let blob = r#"{"records":[{"properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"000D3A1B2C3D","flowTuples":["1709633702,185.220.101.7,10.1.0.4,40312,22,T,I,D,B,,,,","1709633703,198.51.100.4,10.1.0.4,40313,22,T,I,D,B,,,,","1709633704,185.220.101.7,10.1.0.4,40314,443,T,I,A,B,,,,","1709633705,x,10.1.0.4,1,2,T,I,D,B,,,,"]}]}]}}]}"#;
        p.process(lines(0, &[blob]));
        assert_eq!(
            samples(
                &reg,
                &[
                    "torwatch_input_parsed_total",
                    "torwatch_input_parse_errors_total"
                ]
            ),
            [
                r#"torwatch_input_parse_errors_total{input="nsg",reason="bad_address"} 1"#,
                r#"torwatch_input_parsed_total{input="nsg",format="azure"} 3"#,
            ]
        );
        let mut got = hits(&p, &reg);
        got.sort();
        assert_eq!(
            got,
            [
                ("nsg".into(), "allow".into(), 1),
                ("nsg".into(), "drop".into(), 1)
            ]
        );
    }

    #[test]
    fn a_run_of_lines_counts_as_its_lines_one_by_one() {
        let config = "inputs:\n  - {name: a, type: stdin, max_message: 480}\n";
        let log = [
            "Nov 28 00:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=185.220.101.7 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22",
            "Nov 28 00:00:02 fw kernel: IN=eth0 OUT= SRC=198.51.100.4 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22",
            "185.220.101.7 - - [28/Nov/2026:00:00:06 +0000] \"GET / HTTP/1.1\" 503 12 \"-\" \"curl\"",
            "not a log line",
            "   ",
        ];
        let long = format!("{} {}", log[0], "x".repeat(480));
        let mut text = String::new();
        for l in log.iter().copied().chain([long.as_str(), ""]) {
            text.push_str(l);
            text.push_str("\r\n");
        }
        let (mut by_line, reg_lines) = pipeline(config);
        // What the framing hands over line by line: no empty line, the oversize one counted by the input.
        by_line.process(lines(0, &log));
        let (mut by_run, reg_runs) = pipeline(config);
        let half = text.find("not a").unwrap();
        by_run.process(Batch {
            input: 0,
            lines: Vec::new(),
            runs: vec![
                bytes::Bytes::copy_from_slice(&text.as_bytes()[..half]),
                bytes::Bytes::copy_from_slice(&text.as_bytes()[half..]),
            ],
            ack: None,
        });
        let counted = [
            "torwatch_input_parsed_total",
            "torwatch_input_parse_errors_total",
            "torwatch_tor_hits_total",
        ];
        assert_eq!(hits(&by_run, &reg_runs), hits(&by_line, &reg_lines));
        assert_eq!(samples(&reg_runs, &counted), samples(&reg_lines, &counted));
        let read = samples(
            &reg_runs,
            &["torwatch_input_lines_total", "torwatch_input_dropped_total"],
        );
        assert!(
            read.contains(&r#"torwatch_input_lines_total{input="a"} 5"#.to_string()),
            "{read:?}"
        );
        assert!(
            read.contains(
                &r#"torwatch_input_dropped_total{input="a",reason="oversize"} 1"#.to_string()
            ),
            "{read:?}"
        );
        assert_eq!(hits(&by_run, &reg_runs).iter().map(|h| h.2).sum::<u64>(), 2);
    }

    #[test]
    fn the_fields_of_an_input_read_its_records_without_a_header() {
        let (mut p, reg) = pipeline(
            "inputs:\n  - name: flows\n    type: stdin\n    format: vpcflow\n    fields: [dstaddr, srcaddr, action]\n",
        );
        p.process(lines(
            0,
            &[
                "10.0.0.5 185.220.101.7 ACCEPT",
                "10.0.0.5 198.51.100.4 ACCEPT",
            ],
        ));
        assert_eq!(
            samples(&reg, &["torwatch_input_parsed_total"]),
            [r#"torwatch_input_parsed_total{input="flows",format="vpcflow"} 2"#]
        );
        assert_eq!(hits(&p, &reg), [("flows".into(), "allow".into(), 1)]);
    }

    #[tokio::test]
    async fn queues_take_turns_and_end_when_all_are_closed() {
        let (a_tx, a) = mpsc::channel(8);
        let (b_tx, b) = mpsc::channel(8);
        for _ in 0..4 {
            a_tx.send(batch(0)).await.unwrap();
        }
        b_tx.send(batch(1)).await.unwrap();
        b_tx.send(batch(1)).await.unwrap();
        let mut q = Queues::new(vec![a, b]);
        let mut order = Vec::new();
        for _ in 0..6 {
            order.push(q.next().await.unwrap().input);
        }
        assert_eq!(
            order,
            vec![0, 1, 0, 1, 0, 0],
            "a busy queue does not starve the other"
        );
        drop((a_tx, b_tx));
        assert!(q.next().await.is_none());
    }
}
