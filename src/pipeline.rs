//! The log pipeline: takes batches from the inputs' bounded queue, parses each line (fixed format or
//! auto-detected), matches the event against the current snapshot and counts it. Acknowledges file batches once
//! processed, so checkpoints only ever cover counted lines. Per-line work touches pre-resolved counters only.
//!
//! No line goes unmatched in silence: until an exit list is loaded, file and stdin inputs wait (their queues are
//! not read, their checkpoints do not move), and the lines of syslog inputs, which cannot wait, are counted as
//! dropped (`reason="no_list"`) with one warning per input.

use crate::config::{Config, InputKind};
use crate::event::Event;
use crate::inputs::{Batch, InputMetrics};
use crate::matcher::geoip::Geoip;
use crate::matcher::metrics::{InputHandle, TrafficMetrics};
use crate::matcher::Matcher;
use crate::parsers::netfilter::{self, PrefixActions};
use crate::parsers::{LogFormat, ParseError};
use crate::recent::{Recent, Seen};
use crate::snapshot::Shared;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
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

/// `torwatch_input_parsed_total` and `torwatch_input_parse_errors_total`.
pub struct ParseMetrics {
    pub parsed: Family<ParsedLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
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

impl ParseMetrics {
    pub fn register(reg: &mut Registry) -> ParseMetrics {
        let m = ParseMetrics {
            parsed: Family::default(),
            errors: Family::default(),
        };
        reg.register(
            "torwatch_input_parsed",
            "Lines that became events, by input and format",
            m.parsed.clone(),
        );
        reg.register(
            "torwatch_input_parse_errors",
            "Lines that did not parse, by input and reason",
            m.errors.clone(),
        );
        m
    }
}

/// One input's pre-resolved counters and parsing settings.
struct Input {
    name: String,
    format: Option<LogFormat>,
    /// Waits for an exit list (files, stdin); otherwise its lines before one are counted as `no_list`.
    waits: bool,
    parsed: Vec<Counter>,
    errors: Vec<Counter>,
    no_list: Counter,
    /// Whether the warning about lines before any list was given.
    warned: bool,
    hits: InputHandle,
}

impl Input {
    fn new(
        config: &crate::config::InputConfig,
        parse: &ParseMetrics,
        inputs: &InputMetrics,
        traffic: &TrafficMetrics,
    ) -> Input {
        let name = config.name.as_str();
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
        let errors = REASONS
            .iter()
            .map(|r| {
                parse
                    .errors
                    .get_or_create(&ErrorLabels {
                        input: name.into(),
                        reason: r.reason(),
                    })
                    .clone()
            })
            .collect();
        Input {
            name: name.to_string(),
            format: config.format,
            waits: matches!(config.kind, InputKind::File { .. } | InputKind::Stdin),
            parsed,
            errors,
            no_list: inputs.input(name).no_list,
            warned: false,
            hits: traffic.input(name),
        }
    }

    fn error(&self, e: ParseError) {
        let i = REASONS
            .iter()
            .position(|r| r.reason() == e.reason())
            .unwrap_or(0);
        if let Some(c) = self.errors.get(i) {
            c.inc();
        }
    }

    fn parsed(&self, f: LogFormat) {
        if let Some(c) = LogFormat::ALL
            .iter()
            .position(|x| *x == f)
            .and_then(|i| self.parsed.get(i))
        {
            c.inc();
        }
    }
}

/// Everything the pipeline counts into.
pub struct Counting<'a> {
    pub parse: &'a ParseMetrics,
    pub inputs: &'a InputMetrics,
    pub traffic: Arc<TrafficMetrics>,
    pub recent: Arc<Mutex<Recent>>,
}

pub struct Pipeline {
    inputs: Vec<Input>,
    /// Batches of waiting inputs read before an exit list was loaded, in order.
    held: Vec<Batch>,
    shared: Shared,
    traffic: Arc<TrafficMetrics>,
    recent: Arc<Mutex<Recent>>,
    geoip: Option<Arc<Geoip>>,
    actions: PrefixActions,
    matcher: Matcher,
}

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
        let inputs = config
            .inputs
            .iter()
            .map(|i| Input::new(i, parse, inputs, &traffic))
            .collect();
        let actions = if config.netfilter_actions.is_empty() {
            PrefixActions::default()
        } else {
            let mut rules: Vec<(String, crate::event::Action)> = config.netfilter_actions.clone();
            rules.extend(
                netfilter::DEFAULT_RULES
                    .iter()
                    .map(|(p, a)| (p.to_string(), *a)),
            );
            PrefixActions::new(rules, PrefixActions::default().fallback())
        };
        Pipeline {
            inputs,
            held: Vec::new(),
            shared,
            traffic,
            recent,
            geoip,
            actions,
            matcher: Matcher::default(),
        }
    }

    /// Processes batches from every input's queue, taking them in turn, until shutdown; then drains what is
    /// already queued.
    pub async fn run(mut self, queues: Vec<Receiver<Batch>>, shutdown: CancellationToken) {
        let mut queues = Queues::new(queues);
        let mut evict = tokio::time::interval(Duration::from_secs(30));
        let mut listed = tokio::time::interval(Duration::from_millis(100));
        loop {
            self.pause_waiting(&mut queues);
            tokio::select! {
                batch = queues.next() => match batch {
                    Some(b) => self.process(b),
                    None => break,
                },
                _ = evict.tick() => self.traffic.evict(crate::keeper::now()),
                // While inputs wait for a list: look for one.
                _ = listed.tick(), if !self.held.is_empty() || queues.any_paused() => {}
                _ = shutdown.cancelled() => break,
            }
        }
        queues.close();
        while let Some(b) = queues.next().await {
            self.process(b);
        }
        // What still waits for a list is dropped unacknowledged: it is read again after a restart.
    }

    /// Pauses the queues of waiting inputs while no exit list is loaded; once one is, counts the batches held.
    fn pause_waiting(&mut self, queues: &mut Queues) {
        let ready = self.shared.load().ready();
        for (i, input) in self.inputs.iter().enumerate() {
            queues.pause(i, input.waits && !ready);
        }
        if ready && !self.held.is_empty() {
            tracing::info!("an exit list is loaded: reading the inputs that waited for it");
            for batch in std::mem::take(&mut self.held) {
                self.process(batch);
            }
        }
    }

    /// Parses, matches and counts one batch, then acknowledges it. Before any exit list is loaded, a waiting
    /// input's batch is held, another's lines are counted as `no_list`.
    pub fn process(&mut self, batch: Batch) {
        let snapshot = self.shared.load();
        if !snapshot.ready() {
            self.unlisted(batch);
            return;
        }
        if !self.matcher.is_current(&snapshot) {
            self.matcher = Matcher::with_geoip(&snapshot, self.geoip.as_deref());
        }
        let now = crate::keeper::now();
        if let Some(input) = self.inputs.get(usize::from(batch.input)) {
            let mut last = input.format;
            let mut recent = self.recent.lock().ok();
            for line in &batch.lines {
                match peek(line, input.format, &mut last) {
                    Ok((format, addresses)) => {
                        input.parsed(format);
                        // Most lines are not Tor: only those whose address is listed are parsed in full.
                        if !self.matcher.may_hold(&addresses) {
                            continue;
                        }
                        let Ok(ev) = parse(line, format, &self.actions) else {
                            continue; // `peek` accepted it, so `parse` does too
                        };
                        let Some(hit) = self.matcher.classify(&ev) else {
                            continue;
                        };
                        self.traffic.record(&input.hits, &ev, &hit, now);
                        let at = Recent::place(ev.time, now);
                        if let (Some(r), Some(at)) = (recent.as_mut(), at) {
                            match hit.direction {
                                crate::event::Direction::Inbound => r.inbound(Seen {
                                    at,
                                    exit: hit.addr,
                                    country: &hit.labels.country,
                                    port: ev.dst_port,
                                    http: ev.http_status,
                                    kind: ev.kind,
                                }),
                                crate::event::Direction::Outbound => r.outbound(at),
                            }
                        }
                    }
                    Err(e) => input.error(e),
                }
            }
        }
        if let Some(ack) = batch.ack {
            ack.commit();
        }
    }

    /// A batch read before any exit list was loaded.
    fn unlisted(&mut self, batch: Batch) {
        let Some(input) = self.inputs.get_mut(usize::from(batch.input)) else {
            return;
        };
        if input.waits {
            if self.held.is_empty() {
                tracing::info!(input = %input.name, "waiting for an exit list before reading on");
            }
            self.held.push(batch);
            return;
        }
        input.no_list.inc_by(batch.lines.len() as u64);
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

/// Parses one line: the fixed format, or the format of the previous line first, then auto-detection.
/// The format of a line (fixed, else the last line's when it sniffs alike, else detected) and its addresses, exactly
/// when it parses.
fn peek(
    line: &[u8],
    fixed: Option<LogFormat>,
    last: &mut Option<LogFormat>,
) -> Result<(LogFormat, crate::event::Addresses), ParseError> {
    let line = crate::parsers::trim_line(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let format = match (fixed, *last) {
        (Some(f), _) => f,
        (None, Some(f)) if f.sniff(line) => f,
        _ => crate::parsers::detect(line).ok_or(ParseError::UnknownFormat)?,
    };
    *last = Some(format);
    Ok((format, format.peek(line)?))
}

/// The whole event of a line of `format`, netfilter's action read through the configured prefix rules.
fn parse<'a>(
    line: &'a [u8],
    format: LogFormat,
    actions: &PrefixActions,
) -> Result<Event<'a>, ParseError> {
    let line = crate::parsers::trim_line(line);
    match format {
        LogFormat::Netfilter => netfilter::parse_with(line, actions),
        f => f.parse(line),
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
            ack: None,
        }
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
