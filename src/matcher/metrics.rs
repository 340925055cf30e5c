//! Metrics the matcher owns: Tor hits by input, port, country, exit, the distinct exits of the last 24 h and HTTP
//! responses to Tor (`torwatch_tor_*`, see METRICS.md). Counter handles are resolved once per label combination and
//! kept; recording an event allocates nothing unless it brings a label value never seen before. Every counter here
//! is [`Gated`]: a new series counts only once a scrape has shown it at 0, so that `increase()` sees every hit.

use super::exits::{Distinct, ExitLabels, ExitSeries};
use super::gate::{Gated, Scrapers, Scrapes};
use super::ListHit;
use crate::config::MatcherConfig;
use crate::event::{Action, Direction, Event, Kind, Proto, Service};
use crate::reader::Hit as Found;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rustc_hash::FxHashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HitLabels {
    pub input: String,
    pub direction: String,
    pub action: String,
    pub proto: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    pub input: String,
    pub service: &'static str,
    pub action: &'static str,
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

/// The `torwatch_tor_hits_total` series of one input. Get one per input with [`TrafficMetrics::input`] and keep it.
#[derive(Debug, Clone, Copy)]
pub struct InputHandle {
    index: usize,
}

/// `service` label values: [`Service::ALL`], then `other` for a login that names none.
const SERVICES: [&str; 5] = ["ssh", "vpn", "web", "admin", "other"];

/// One input's hit series, made on first use: direction × action × protocol × kind; and its login series:
/// service × action.
struct InputHits {
    name: String,
    slots: Vec<Option<Gated>>,
    logins: Vec<Option<Gated>>,
}

impl InputHits {
    fn new(name: &str) -> InputHits {
        InputHits {
            name: name.to_string(),
            slots: vec![None; DIRECTIONS.len() * ACTIONS.len() * PROTOS.len() * Kind::ALL.len()],
            logins: vec![None; SERVICES.len() * ACTIONS.len()],
        }
    }

    /// The `torwatch_tor_logins_total` series of a login attempt's service and action.
    fn login(
        &mut self,
        family: &Family<LoginLabels, Counter>,
        ev: &Found<'_, '_>,
        scrapes: &Scrapes,
    ) -> Option<&mut Gated> {
        let s = ev.service.map_or(Service::ALL.len(), Service::slot);
        let a = action_slot(ev.action);
        let slot = self.logins.get_mut(s * ACTIONS.len() + a)?;
        let name = &self.name;
        Some(slot.get_or_insert_with(|| {
            let labels = LoginLabels {
                input: name.clone(),
                service: SERVICES.get(s).copied().unwrap_or("other"),
                action: ACTIONS.get(a).copied().unwrap_or("unknown"),
            };
            Gated::new(family.get_or_create(&labels).clone(), scrapes)
        }))
    }

    fn counter(
        &mut self,
        family: &Family<HitLabels, Counter>,
        ev: &Found<'_, '_>,
        direction: Direction,
        scrapes: &Scrapes,
    ) -> Option<&mut Gated> {
        let (d, a, p, k) = (
            direction_slot(direction),
            action_slot(ev.action),
            proto_slot(ev.packet_facts.proto),
            ev.kind.slot(),
        );
        let slot = self
            .slots
            .get_mut(((d * ACTIONS.len() + a) * PROTOS.len() + p) * Kind::ALL.len() + k)?;
        let name = &self.name;
        Some(slot.get_or_insert_with(|| {
            let labels = HitLabels {
                input: name.clone(),
                direction: direction.as_str().to_string(),
                action: ACTIONS.get(a).copied().unwrap_or("unknown").to_string(),
                proto: PROTOS.get(p).copied().unwrap_or("unknown").to_string(),
                kind: ev.kind.as_str(),
            };
            Gated::new(family.get_or_create(&labels).clone(), scrapes)
        }))
    }
}

/// Destination port → counters per direction: configured ports, then the first `top` other ports seen, then `other`.
struct Ports {
    /// Slot + 1 per port; 0 = not yet assigned.
    slot_of: Vec<u16>,
    slots: Vec<[Option<Gated>; 2]>,
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
        scrapes: &Scrapes,
    ) -> Option<&mut Gated> {
        let slot = self.slot(port);
        let label = self.labels.get(slot)?;
        let cell = self.slots.get_mut(slot)?.get_mut(direction_slot(d))?;
        Some(cell.get_or_insert_with(|| {
            let labels = PortLabels {
                direction: d.as_str().to_string(),
                port: label.clone(),
            };
            Gated::new(family.get_or_create(&labels).clone(), scrapes)
        }))
    }

    fn gated(&mut self) -> impl Iterator<Item = &mut Gated> {
        self.slots.iter_mut().flatten().flatten()
    }
}

/// The series behind the bounded label sets, and the scrapes that gate them.
struct SeriesState {
    scrapers: Scrapers,
    /// `scrapers.view()`, kept current.
    scrapes: Scrapes,
    inputs: Vec<InputHits>,
    ports: Ports,
    countries: FxHashMap<super::Label, Gated>,
    exits: ExitSeries,
    distinct: Distinct,
    http: Vec<Option<Gated>>,
}

impl SeriesState {
    /// Every series but the exits'.
    fn gated(&mut self) -> impl Iterator<Item = &mut Gated> {
        let inputs = self
            .inputs
            .iter_mut()
            .flat_map(|i| i.slots.iter_mut().chain(i.logins.iter_mut()).flatten());
        inputs
            .chain(self.ports.gated())
            .chain(self.countries.values_mut())
            .chain(self.http.iter_mut().flatten())
    }
}

/// The traffic metrics and the state behind their bounded label sets. `Sync`: share it behind an `Arc`.
pub struct TrafficMetrics {
    hits: Family<HitLabels, Counter>,
    logins: Family<LoginLabels, Counter>,
    by_port: Family<PortLabels, Counter>,
    by_country: Family<CountryLabels, Counter>,
    distinct: Gauge,
    http: Family<HttpLabels, Counter>,
    state: Mutex<SeriesState>,
    /// The clock scrapers are timed by.
    started: std::time::Instant,
}

impl TrafficMetrics {
    pub fn register(reg: &mut Registry, config: &MatcherConfig) -> TrafficMetrics {
        let by_exit = Family::<ExitLabels, Counter>::default();
        let idle = i64::try_from(config.exit_series_idle.as_secs()).unwrap_or(i64::MAX);
        let m = TrafficMetrics {
            hits: Family::default(),
            logins: Family::default(),
            by_port: Family::default(),
            by_country: Family::default(),
            distinct: Gauge::default(),
            http: Family::default(),
            state: Mutex::new(SeriesState {
                scrapers: Scrapers::default(),
                scrapes: Scrapes::default(),
                inputs: Vec::new(),
                ports: Ports::new(&config.ports, config.top_ports),
                countries: FxHashMap::default(),
                exits: ExitSeries::new(by_exit.clone(), config.exit_series_cap, idle),
                distinct: Distinct::default(),
                http: vec![None; 600],
            }),
            started: std::time::Instant::now(),
        };
        reg.register(
            "torwatch_tor_hits",
            "Events that matched a Tor list, by input, direction, action, protocol and kind",
            m.hits.clone(),
        );
        reg.register(
            "torwatch_tor_logins",
            "Login attempts from Tor exits (inbound login events: sshd, VPN, AAA, firewall administration, HTTP \
             authentication), by input, service and action (fail, allow, unknown)",
            m.logins.clone(),
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
            "Inbound matched events per exit address (capped: the heaviest exits, the rest as exit=\"other\"; idle series removed)",
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

    /// The hit series of the input named `name` (the same series for the same name, across reloads).
    pub fn input(&self, name: &str) -> InputHandle {
        let Ok(mut st) = self.state.lock() else {
            return InputHandle { index: usize::MAX };
        };
        let index = match st.inputs.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                st.inputs.push(InputHits::new(name));
                st.inputs.len() - 1
            }
        };
        InputHandle { index }
    }

    /// Counts one matched event. `now` is unix seconds (the service clock). To count many, take a
    /// [`TrafficMetrics::recorder`] instead: one lock for all of them.
    pub fn record(&self, input: &InputHandle, ev: &Event<'_>, hit: &ListHit<'_>, now: i64) {
        let matched = crate::reader::Match {
            direction: hit.direction,
            entry: hit.index,
            addr: hit.addr,
        };
        if let Some(mut r) = self.recorder() {
            r.record(input, &Found::of(matched, ev), hit, now);
        }
    }

    /// Holds the metrics for a run of hits (the service takes one per batch of lines): scrapes wait until it is
    /// dropped. `None` when a thread panicked while holding them.
    pub fn recorder(&self) -> Option<Recorder<'_>> {
        let state = self.state.lock().ok()?;
        Some(Recorder {
            metrics: self,
            state,
            distinct: None,
        })
    }

    fn country<'s>(&self, st: &'s mut SeriesState, country: &super::Label) -> &'s mut Gated {
        let scrapes = &st.scrapes;
        super::label::get_or_insert_rekeyed(&mut st.countries, country, || {
            let counter = self.by_country.get_or_create(&CountryLabels {
                country: country.to_string(),
            });
            Gated::new(counter.clone(), scrapes)
        })
    }

    fn http_counter<'s>(&self, st: &'s mut SeriesState, code: u16) -> Option<&'s mut Gated> {
        let family = &self.http;
        let scrapes = st.scrapes;
        let cell = st.http.get_mut(usize::from(code))?;
        Some(cell.get_or_insert_with(|| {
            let labels = HttpLabels {
                code_class: format!("{}xx", code / 100),
                code: code.to_string(),
            };
            Gated::new(family.get_or_create(&labels).clone(), &scrapes)
        }))
    }

    /// Removes idle per-exit series and forgets exits older than 24 h. Call periodically (e.g. every minute).
    pub fn evict(&self, now: i64) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let scrapes = st.scrapes;
        st.exits.evict(now, &scrapes);
        let distinct = st.distinct.prune(now);
        self.distinct
            .set(i64::try_from(distinct).unwrap_or(i64::MAX));
    }

    /// The exits behind `torwatch_tor_distinct_exits_24h` with their last hit, to save across restarts.
    pub fn distinct_exits(&self) -> Vec<(String, i64)> {
        self.state
            .lock()
            .map_or_else(|_| Vec::new(), |st| st.distinct.entries())
    }

    /// Takes back saved exits of [`TrafficMetrics::distinct_exits`].
    pub fn restore_distinct(&self, saved: Vec<(String, i64)>, now: i64) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let n = st.distinct.restore(saved, now);
        self.distinct.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Number of live per-exit series (`other` not included).
    pub fn exit_series(&self) -> usize {
        self.state.lock().map_or(0, |st| st.exits.count())
    }

    /// Scraper `who` (its address and User-Agent) begins a scrape of `/metrics`: series every scraper has seen at
    /// 0 take the hits that waited for it. Returns the scrape's number for [`TrafficMetrics::scrape_end`].
    pub fn scrape_begin(&self, who: &str) -> u64 {
        let now = self.clock();
        let Ok(mut guard) = self.state.lock() else {
            return 0;
        };
        let st = &mut *guard;
        st.scrapers.expire(now);
        st.scrapes = st.scrapers.view();
        // Settled before the scrape's number is taken: the hits that move now are shown by this scrape.
        let scrapes = st.scrapes;
        for g in st.gated() {
            g.settle(&scrapes);
        }
        st.exits.settle(&scrapes);
        let n = st.scrapers.begin(id(who), now);
        st.scrapes = st.scrapers.view();
        n
    }

    /// Scraper `who`'s scrape `number` has encoded every series.
    pub fn scrape_end(&self, who: &str, number: u64) {
        if let Ok(mut st) = self.state.lock() {
            st.scrapers.end(id(who), number);
            st.scrapes = st.scrapers.view();
        }
    }

    /// The longest time between two scrapes of a scraper that keeps scraping.
    pub fn scrape_interval(&self) -> Option<std::time::Duration> {
        let mut st = self.state.lock().ok()?;
        let now = self.clock();
        st.scrapers.expire(now);
        st.scrapes = st.scrapers.view();
        st.scrapers.interval().map(std::time::Duration::from_millis)
    }

    fn clock(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a scrape has shown every hit counted so far (nothing waits, nothing counted since the last scrape
    /// began), or nothing scrapes at all.
    pub fn shown(&self) -> bool {
        let Ok(mut guard) = self.state.lock() else {
            return true;
        };
        let st = &mut *guard;
        let scrapes = st.scrapes;
        if !st.scrapers.any() {
            return true;
        }
        st.exits.shown(&scrapes) && st.gated().all(|g| g.shown(&scrapes) || g.total() == 0)
    }
}

/// The traffic metrics held for a run of hits, from [`TrafficMetrics::recorder`].
pub struct Recorder<'m> {
    metrics: &'m TrafficMetrics,
    state: MutexGuard<'m, SeriesState>,
    /// The distinct exits after the last inbound hit, for the gauge (set once, when the run ends).
    distinct: Option<usize>,
}

impl Recorder<'_> {
    /// Counts one matched event. `now` is unix seconds (the service clock).
    pub fn record(&mut self, input: &InputHandle, ev: &Found<'_, '_>, hit: &ListHit<'_>, now: i64) {
        let m = self.metrics;
        let st = &mut *self.state;
        let scrapes = st.scrapes;
        if let Some(c) = st
            .inputs
            .get_mut(input.index)
            .and_then(|i| i.counter(&m.hits, ev, hit.direction, &scrapes))
        {
            c.inc(&scrapes);
        }
        if let Some(port) = ev.packet_facts.dst_port {
            if let Some(c) = st.ports.counter(&m.by_port, port, hit.direction, &scrapes) {
                c.inc(&scrapes);
            }
        }
        if hit.direction != Direction::Inbound {
            return;
        }
        if ev.is_login() {
            if let Some(c) = st
                .inputs
                .get_mut(input.index)
                .and_then(|i| i.login(&m.logins, ev, &scrapes))
            {
                c.inc(&scrapes);
            }
        }
        m.country(st, &hit.labels.country).inc(&scrapes);
        st.exits.hit(hit.labels, now, &scrapes);
        self.distinct = Some(st.distinct.hit(&hit.labels.addr, now));
        if let Some(code) = ev.http_status.filter(|c| (100..600).contains(c)) {
            if let Some(c) = m.http_counter(st, code) {
                c.inc(&scrapes);
            }
        }
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.distinct {
            self.metrics
                .distinct
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

impl crate::http::ScrapeWatch for TrafficMetrics {
    fn begin(&self, who: &str) -> u64 {
        self.scrape_begin(who)
    }

    fn end(&self, who: &str, number: u64) {
        self.scrape_end(who, number);
    }
}

/// A scraper's identity.
fn id(who: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    who.hash(&mut h);
    h.finish()
}
