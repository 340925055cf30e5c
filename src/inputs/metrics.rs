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
struct InputDropLabels {
    input: String,
    reason: &'static str,
}

/// Why a file input's configured path yields no lines.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathProblem {
    /// The path does not exist, or the glob matches no file.
    Missing,
    /// It is a directory (or another kind of file that is not a regular file).
    NotAFile,
    /// It exists but cannot be opened (permissions), or its directory cannot be listed.
    Unreadable,
    /// The globs match more files than `max_files`: these are not followed.
    OverCap,
}

impl PathProblem {
    pub const ALL: [PathProblem; 4] = [
        PathProblem::Missing,
        PathProblem::NotAFile,
        PathProblem::Unreadable,
        PathProblem::OverCap,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            PathProblem::Missing => "missing",
            PathProblem::NotAFile => "not_a_file",
            PathProblem::Unreadable => "unreadable",
            PathProblem::OverCap => "over_cap",
        }
    }
}

/// The inputs' metric families, registered once and shared by every input.
#[derive(Debug, Default)]
pub struct InputMetrics {
    lines: Family<InputLabel, Counter>,
    dropped: Family<InputDropLabels, Counter>,
    socket_drops: Family<InputLabel, Counter>,
    last_line: Family<InputLabel, Gauge>,
    connections_refused: Family<InputLabel, Counter>,
    connections_evicted: Family<InputLabel, Counter>,
    files: Family<InputLabel, Gauge>,
    path_problems: Family<InputDropLabels, Gauge>,
    truncations: Family<InputLabel, Counter>,
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
    pub connections_evicted: Counter,
    /// Files a file input follows.
    pub files: Gauge,
    /// Configured paths (or files, for `over_cap`) that yield no lines, by [`PathProblem`] in `ALL` order.
    pub path_problems: [Gauge; 4],
    /// Truncations of followed files (copytruncate) found.
    pub truncations: Counter,
}

impl InputCounters {
    /// The gauge of `problem`.
    pub fn path_problem(&self, problem: PathProblem) -> &Gauge {
        let at = PathProblem::ALL
            .iter()
            .position(|p| *p == problem)
            .unwrap_or(0);
        &self.path_problems[at]
    }
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
            "TCP connections closed at once: max_connections were open and each had delivered a message within the last second",
            m.connections_refused.clone(),
        );
        reg.register(
            "torwatch_input_connections_evicted",
            "Idle TCP connections closed to make room for a new one at max_connections",
            m.connections_evicted.clone(),
        );
        reg.register(
            "torwatch_input_files",
            "Files a file input follows",
            m.files.clone(),
        );
        reg.register(
            "torwatch_input_path_problems",
            "Configured paths of a file input that yield no lines, by reason (over_cap: matching files not followed)",
            m.path_problems.clone(),
        );
        reg.register(
            "torwatch_input_truncations",
            "Followed files found truncated in place (copytruncate); lines written between the last read and the truncation may be lost",
            m.truncations.clone(),
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
                .get_or_create(&InputDropLabels {
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
            connections_evicted: self.connections_evicted.get_or_create(&label).clone(),
            files: self.files.get_or_create(&label).clone(),
            path_problems: PathProblem::ALL.map(|p| {
                self.path_problems
                    .get_or_create(&InputDropLabels {
                        input: name.to_owned(),
                        reason: p.as_str(),
                    })
                    .clone()
            }),
            truncations: self.truncations.get_or_create(&label).clone(),
        }
    }
}
