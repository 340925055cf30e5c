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

    /// Processes batches until shutdown, then drains what is already queued.
    pub async fn run(mut self, mut rx: Receiver<Batch>, shutdown: CancellationToken) {
        let mut evict = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                batch = rx.recv() => match batch {
                    Some(b) => self.process(b),
                    None => return,
                },
                _ = evict.tick() => self.traffic.evict(crate::keeper::now()),
                _ = shutdown.cancelled() => break,
            }
        }
        rx.close();
        while let Some(b) = rx.recv().await {
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
                match parse(line, input.format, &mut last, &self.actions) {
                    Ok((format, ev)) => {
                        input.parsed(format);
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

/// Parses one line: the fixed format, or the format of the previous line first, then auto-detection.
fn parse<'a>(
    line: &'a [u8],
    fixed: Option<LogFormat>,
    last: &mut Option<LogFormat>,
    actions: &PrefixActions,
) -> Result<(LogFormat, Event<'a>), ParseError> {
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
    let ev = match format {
        LogFormat::Netfilter => netfilter::parse_with(line, actions)?,
        f => f.parse(line)?,
    };
    Ok((format, ev))
}
