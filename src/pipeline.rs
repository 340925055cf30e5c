//! The log pipeline: takes batches from the inputs' bounded queue, parses each line (fixed format or
//! auto-detected), matches the event against the current snapshot and counts it. Acknowledges file batches once
//! processed, so checkpoints only ever cover counted lines. Per-line work touches pre-resolved counters only.

use crate::config::Config;
use crate::event::Event;
use crate::inputs::Batch;
use crate::matcher::geoip::Geoip;
use crate::matcher::metrics::{InputHandle, TrafficMetrics};
use crate::matcher::Matcher;
use crate::parsers::netfilter::{self, PrefixActions};
use crate::parsers::{LogFormat, ParseError};
use crate::recent::Recent;
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
    format: Option<LogFormat>,
    parsed: Vec<Counter>,
    errors: Vec<Counter>,
    hits: InputHandle,
}

impl Input {
    fn new(
        name: &str,
        format: Option<LogFormat>,
        parse: &ParseMetrics,
        traffic: &TrafficMetrics,
    ) -> Input {
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
            format,
            parsed,
            errors,
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

pub struct Pipeline {
    inputs: Vec<Input>,
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
        parse: &ParseMetrics,
        traffic: Arc<TrafficMetrics>,
        recent: Arc<Mutex<Recent>>,
        geoip: Option<Arc<Geoip>>,
    ) -> Pipeline {
        let inputs = config
            .inputs
            .iter()
            .map(|i| Input::new(&i.name, i.format, parse, &traffic))
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
        loop {
            tokio::select! {
                batch = queues.next() => match batch {
                    Some(b) => self.process(b),
                    None => return,
                },
                _ = evict.tick() => self.traffic.evict(crate::keeper::now()),
                _ = shutdown.cancelled() => break,
            }
        }
        queues.close();
        while let Some(b) = queues.next().await {
            self.process(b);
        }
    }

    /// Parses, matches and counts one batch, then acknowledges it.
    pub fn process(&mut self, batch: Batch) {
        let snapshot = self.shared.load();
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
                        if let Some(r) = recent.as_mut() {
                            match hit.direction {
                                crate::event::Direction::Inbound => r.inbound(
                                    now,
                                    hit.addr,
                                    &hit.labels.country,
                                    ev.dst_port,
                                    ev.http_status,
                                ),
                                crate::event::Direction::Outbound => r.outbound(now),
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
}

/// One bounded queue per input, read in turn: a busy input (a TCP sender that waits for room) cannot starve
/// another (a UDP input that drops when its queue is full), because each has its own room and gets its turn.
pub struct Queues {
    queues: Vec<Receiver<Batch>>,
    next: usize,
}

impl Queues {
    pub fn new(queues: Vec<Receiver<Batch>>) -> Queues {
        Queues { queues, next: 0 }
    }

    /// The next batch, starting after the queue that gave the last one; `None` once every queue is closed and empty.
    pub async fn next(&mut self) -> Option<Batch> {
        std::future::poll_fn(|cx| {
            let n = self.queues.len();
            let mut open = false;
            for k in 0..n {
                let i = (self.next + k) % n;
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

    /// Stops accepting new batches; what is queued can still be read.
    pub fn close(&mut self) {
        for q in &mut self.queues {
            q.close();
        }
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
