//! Metrics the matcher owns: Tor hits by input, port, country, exit, the distinct exits of the last 24 h and HTTP
//! responses to Tor (`torwatch_tor_*`, see METRICS.md). Counter handles are resolved once per label combination and
//! kept; recording an event allocates nothing unless it brings a label value never seen before.

use super::exits::{Distinct, ExitSeries};
use super::Hit;
use crate::config::MatcherConfig;
use crate::event::{Action, Direction, Event, Kind, Proto};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HitLabels {
    pub input: String,
    pub direction: String,
    pub action: String,
    pub proto: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PortLabels {
    pub direction: String,
    pub port: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CountryLabels {
    pub country: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExitLabels {
    pub exit: String,
    pub nickname: String,
    pub country: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub code_class: String,
    pub code: String,
}

const DIRECTIONS: [Direction; 2] = [Direction::Inbound, Direction::Outbound];
const ACTIONS: [&str; 5] = ["drop", "reject", "allow", "fail", "unknown"];
const PROTOS: [&str; 9] = [
    "tcp", "udp", "icmp", "icmpv6", "gre", "esp", "sctp", "other", "unknown",
];

fn direction_slot(d: Direction) -> usize {
    match d {
        Direction::Inbound => 0,
        Direction::Outbound => 1,
    }
}

fn action_slot(a: Option<Action>) -> usize {
    match a {
        Some(a) => a.slot(),
        None => Action::ALL.len(),
    }
}

fn proto_slot(p: Option<Proto>) -> usize {
    let name = p.map_or("unknown", Proto::as_str);
    PROTOS
        .iter()
        .position(|&n| n == name)
        .unwrap_or(PROTOS.len() - 1)
}

/// The `torwatch_tor_hits_total` counters of one input, resolved on first use. Get one per input with
/// [`TrafficMetrics::input`] and keep it.
pub struct InputHandle {
    name: String,
    family: Family<HitLabels, Counter>,
    slots: Vec<OnceLock<Counter>>,
}

impl InputHandle {
    fn counter(&self, ev: &Event<'_>, direction: Direction) -> Option<&Counter> {
        let (d, a, p, k) = (
            direction_slot(direction),
            action_slot(ev.action),
            proto_slot(ev.proto),
            ev.kind.slot(),
        );
        let slot = self
            .slots
            .get(((d * ACTIONS.len() + a) * PROTOS.len() + p) * Kind::ALL.len() + k)?;
        Some(slot.get_or_init(|| {
            let labels = HitLabels {
                input: self.name.clone(),
                direction: direction.as_str().to_string(),
                action: ACTIONS.get(a).copied().unwrap_or("unknown").to_string(),
                proto: PROTOS.get(p).copied().unwrap_or("unknown").to_string(),
                kind: ev.kind.as_str(),
            };
            self.family.get_or_create(&labels).clone()
        }))
    }
}

/// Destination port → counters per direction: configured ports, then the first `top` other ports seen, then `other`.
struct Ports {
    /// Slot + 1 per port; 0 = not yet assigned.
    slot_of: Vec<u16>,
    slots: Vec<[Option<Counter>; 2]>,
    labels: Vec<String>,
    other: usize,
    free: usize,
}

impl Ports {
    fn new(configured: &[u16], top: usize) -> Ports {
        let mut p = Ports {
            slot_of: vec![0; 65536],
            slots: Vec::new(),
            labels: Vec::new(),
            other: 0,
            // Slots are numbered in a u16: never more than the port space.
            free: top.min(usize::from(u16::MAX).saturating_sub(configured.len() + 1)),
        };
        for &port in configured {
            if p.slot_of.get(usize::from(port)) == Some(&0) {
                p.assign(port, port.to_string());
            }
        }
        p.other = p.slots.len();
        p.slots.push([None, None]);
        p.labels.push("other".into());
        p
    }

    fn assign(&mut self, port: u16, label: String) -> usize {
        let slot = self.slots.len();
        self.slots.push([None, None]);
        self.labels.push(label);
        if let Some(s) = self.slot_of.get_mut(usize::from(port)) {
            *s = u16::try_from(slot + 1).unwrap_or(0);
        }
        slot
    }

    fn slot(&mut self, port: u16) -> usize {
        match self.slot_of.get(usize::from(port)).copied().unwrap_or(0) {
            0 if self.free > 0 => {
                self.free -= 1;
                self.assign(port, port.to_string())
            }
            0 => self.other,
            s => usize::from(s) - 1,
        }
    }

    fn counter(
        &mut self,
        family: &Family<PortLabels, Counter>,
        port: u16,
        d: Direction,
    ) -> Option<Counter> {
        let slot = self.slot(port);
        let label = self.labels.get(slot)?;
        let cell = self.slots.get_mut(slot)?.get_mut(direction_slot(d))?;
        let counter = cell.get_or_insert_with(|| {
            family
                .get_or_create(&PortLabels {
                    direction: d.as_str().to_string(),
                    port: label.clone(),
                })
                .clone()
        });
        Some(counter.clone())
    }
}

struct Mutable {
    ports: Ports,
    countries: HashMap<Box<str>, Counter>,
    exits: ExitSeries,
    distinct: Distinct,
    http: Vec<Option<Counter>>,
}

/// The traffic metrics and the state behind their bounded label sets. `Sync`: share it behind an `Arc`.
pub struct TrafficMetrics {
    hits: Family<HitLabels, Counter>,
    by_port: Family<PortLabels, Counter>,
    by_country: Family<CountryLabels, Counter>,
    distinct: Gauge,
    http: Family<HttpLabels, Counter>,
    state: Mutex<Mutable>,
}

impl TrafficMetrics {
    pub fn register(reg: &mut Registry, config: &MatcherConfig) -> TrafficMetrics {
        let by_exit = Family::<ExitLabels, Counter>::default();
        let idle = i64::try_from(config.exit_series_idle.as_secs()).unwrap_or(i64::MAX);
        let m = TrafficMetrics {
            hits: Family::default(),
            by_port: Family::default(),
            by_country: Family::default(),
            distinct: Gauge::default(),
            http: Family::default(),
            state: Mutex::new(Mutable {
                ports: Ports::new(&config.ports, config.top_ports),
                countries: HashMap::new(),
                exits: ExitSeries::new(by_exit.clone(), config.exit_series_cap, idle),
                distinct: Distinct::default(),
                http: vec![None; 600],
            }),
        };
        reg.register(
            "torwatch_tor_hits",
            "Events that matched a Tor list, by input, direction, action, protocol and kind",
            m.hits.clone(),
        );
        reg.register(
            "torwatch_tor_hits_by_port",
            "Matched events by destination port (configured and top ports, the rest as other)",
            m.by_port.clone(),
        );
        reg.register(
            "torwatch_tor_hits_by_country",
            "Inbound matched events by exit country",
            m.by_country.clone(),
        );
        reg.register(
            "torwatch_tor_hits_by_exit",
            "Inbound matched events per exit address (capped, idle series removed)",
            by_exit,
        );
        reg.register(
            "torwatch_tor_distinct_exits_24h",
            "Distinct exit addresses seen in matched events in the last 24 hours",
            m.distinct.clone(),
        );
        reg.register(
            "torwatch_tor_http_responses",
            "Access-log responses to Tor sources by status code",
            m.http.clone(),
        );
        m
    }

    /// The pre-resolved hit counters of one input.
    pub fn input(&self, name: &str) -> InputHandle {
        InputHandle {
            name: name.to_string(),
            family: self.hits.clone(),
            slots: (0..DIRECTIONS.len() * ACTIONS.len() * PROTOS.len() * Kind::ALL.len())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// Counts one matched event. `now` is unix seconds (the service clock).
    pub fn record(&self, input: &InputHandle, ev: &Event<'_>, hit: &Hit<'_>, now: i64) {
        if let Some(c) = input.counter(ev, hit.direction) {
            c.inc();
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if let Some(port) = ev.dst_port {
            if let Some(c) = st.ports.counter(&self.by_port, port, hit.direction) {
                c.inc();
            }
        }
        if hit.direction != Direction::Inbound {
            return;
        }
        self.country(&mut st, &hit.labels.country).inc();
        st.exits.hit(hit.labels, now);
        let distinct = st.distinct.hit(&hit.labels.addr, now);
        self.distinct
            .set(i64::try_from(distinct).unwrap_or(i64::MAX));
        if let Some(code) = ev.http_status.filter(|c| (100..600).contains(c)) {
            self.http_counter(&mut st, code).inc();
        }
    }

    fn country(&self, st: &mut Mutable, country: &str) -> Counter {
        if let Some(c) = st.countries.get(country) {
            return c.clone();
        }
        let c = self
            .by_country
            .get_or_create(&CountryLabels {
                country: country.to_string(),
            })
            .clone();
        st.countries.insert(country.into(), c.clone());
        c
    }

    fn http_counter(&self, st: &mut Mutable, code: u16) -> Counter {
        let family = &self.http;
        let cell = st.http.get_mut(usize::from(code));
        let make = || {
            family
                .get_or_create(&HttpLabels {
                    code_class: format!("{}xx", code / 100),
                    code: code.to_string(),
                })
                .clone()
        };
        match cell {
            Some(cell) => cell.get_or_insert_with(make).clone(),
            None => make(),
        }
    }

    /// Removes idle per-exit series and forgets exits older than 24 h. Call periodically (e.g. every minute).
    pub fn evict(&self, now: i64) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.exits.evict(now);
        let distinct = st.distinct.prune(now);
        self.distinct
            .set(i64::try_from(distinct).unwrap_or(i64::MAX));
    }

    /// Number of live per-exit series.
    pub fn exit_series(&self) -> usize {
        self.state.lock().map_or(0, |st| st.exits.count())
    }
}
