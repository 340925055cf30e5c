//! Input metrics (METRICS.md "Inputs"): lines read, lines dropped by reason, kernel socket drops, last line time,
//! refused connections. Owns their registration; the hot path holds pre-resolved handles, never looks labels up.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InputLabel {
    input: String,
}

/// Why a line was lost inside torwatch.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum DropReason {
    /// The queue to the parsers was full (UDP only; streams wait instead).
    QueueFull,
    /// The message was longer than the input's `max_message`.
    Oversize,
    /// A network input's line arrived before any exit list was loaded (file inputs wait instead).
    NoList,
}

impl DropReason {
    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Oversize => "oversize",
            DropReason::NoList => "no_list",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    input: String,
    reason: &'static str,
}

/// The inputs' metric families, registered once and shared by every input.
#[derive(Debug, Default)]
pub struct InputMetrics {
    lines: Family<InputLabel, Counter>,
    dropped: Family<DropLabels, Counter>,
    socket_drops: Family<InputLabel, Counter>,
    last_line: Family<InputLabel, Gauge>,
    connections_refused: Family<InputLabel, Counter>,
}

/// Handles for one input, resolved once.
#[derive(Debug, Clone, Default)]
pub struct InputCounters {
    pub lines: Counter,
    pub queue_full: Counter,
    pub oversize: Counter,
    pub no_list: Counter,
    pub socket_drops: Counter,
    pub last_line: Gauge,
    pub connections_refused: Counter,
}

impl InputMetrics {
    /// Registers the families in `reg` (names carry the full `torwatch_input_` prefix).
    pub fn register(reg: &mut Registry) -> Self {
        let m = InputMetrics::default();
        reg.register(
            "torwatch_input_lines",
            "Lines (messages) read",
            m.lines.clone(),
        );
        reg.register(
            "torwatch_input_dropped",
            "Lines lost inside torwatch, by reason",
            m.dropped.clone(),
        );
        reg.register(
            "torwatch_input_socket_drops",
            "Datagrams the kernel dropped on a UDP input's socket",
            m.socket_drops.clone(),
        );
        reg.register(
            "torwatch_input_last_line_timestamp_seconds",
            "Unix time of the last line read",
            m.last_line.clone(),
        );
        reg.register(
            "torwatch_input_connections_refused",
            "TCP connections closed at once because the input had max_connections open",
            m.connections_refused.clone(),
        );
        m
    }

    /// The handles of input `name`.
    pub fn input(&self, name: &str) -> InputCounters {
        let label = InputLabel {
            input: name.to_owned(),
        };
        let dropped = |reason| {
            self.dropped
                .get_or_create(&DropLabels {
                    input: name.to_owned(),
                    reason: DropReason::as_str(reason),
                })
                .clone()
        };
        InputCounters {
            lines: self.lines.get_or_create(&label).clone(),
            queue_full: dropped(DropReason::QueueFull),
            oversize: dropped(DropReason::Oversize),
            no_list: dropped(DropReason::NoList),
            socket_drops: self.socket_drops.get_or_create(&label).clone(),
            last_line: self.last_line.get_or_create(&label).clone(),
            connections_refused: self.connections_refused.get_or_create(&label).clone(),
        }
    }
}
