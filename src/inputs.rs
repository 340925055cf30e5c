//! Log inputs: files (tailed, checkpointed), syslog over UDP and TCP, standard input. Each input delivers raw lines
//! (syslog messages whole, header included) in [`Batch`]es over a bounded queue. Inputs do not parse or match.
//!
//! Queue policy: streams (files, TCP, stdin) wait for room, so nothing is lost inside torwatch; UDP cannot make its
//! peers wait, so when the queue is full it drops the batch and counts it (`queue_full`). Messages longer than
//! `max_message` are skipped and counted (`oversize`). Every task stops when the shutdown token is cancelled.

pub mod batch;
pub mod file;
pub mod framing;
pub mod metrics;
pub mod offsets;
pub mod socket_drops;
pub mod stdin;
mod stream;
mod tailed;
pub mod tcp;
pub mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;

pub use batch::{Batch, Outbox, Stopped};
pub use metrics::{InputCounters, InputMetrics, PathProblem};
pub use offsets::Ack;

use crate::problems::Problems;

/// Default longest message: longer ones are skipped and counted.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// One configured input.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The config name; the `input` label of the metrics.
    pub name: String,
    pub kind: InputKind,
    /// Longest message in bytes.
    pub max_message: usize,
}

/// The kinds of input.
#[derive(Debug, Clone)]
pub enum InputKind {
    File(FileSpec),
    SyslogUdp(UdpSpec),
    SyslogTcp(TcpSpec),
    Stdin,
}

/// Where a file seen for the first time is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    #[default]
    End,
    Beginning,
}

/// Files to tail.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Glob patterns.
    pub paths: Vec<String>,
    pub start_at: StartAt,
    /// How often the globs are expanded and the files read.
    pub poll: Duration,
    /// Where the checkpoint (`<input name>.json`) lives.
    pub checkpoint_dir: PathBuf,
    /// How long a rotated-away file is still followed while it grows (writers that reopen late).
    pub rotate_grace: Duration,
    /// Most files followed at once; beyond it the most recently modified are followed, the rest counted.
    pub max_files: usize,
}

/// Syslog over UDP: one datagram is one message.
#[derive(Debug, Clone)]
pub struct UdpSpec {
    pub listen: SocketAddr,
    /// Socket receive buffer in bytes (forced past `rmem_max` when allowed).
    pub recv_buffer: usize,
}

/// Syslog over TCP, newline or octet-counting framing detected per message.
#[derive(Debug, Clone)]
pub struct TcpSpec {
    pub listen: SocketAddr,
    /// Connections beyond this are closed at once and counted.
    pub max_connections: usize,
    /// A connection silent for this long is closed.
    pub idle_timeout: Option<Duration>,
}

impl FileSpec {
    /// Default `max_files`.
    pub const DEFAULT_MAX_FILES: usize = 256;

    /// Defaults: start at end, poll every 250 ms, follow rotated files for 5 s, at most 256 files.
    pub fn new(paths: Vec<String>, checkpoint_dir: PathBuf) -> Self {
        FileSpec {
            paths,
            start_at: StartAt::End,
            poll: Duration::from_millis(250),
            checkpoint_dir,
            rotate_grace: Duration::from_secs(5),
            max_files: FileSpec::DEFAULT_MAX_FILES,
        }
    }
}

impl UdpSpec {
    /// Default receive buffer: 32 MiB.
    pub const DEFAULT_RECV_BUFFER: usize = 32 << 20;
}

impl TcpSpec {
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
}

/// An input whose sockets are bound (so bind errors surface before anything runs, and port 0 is resolved).
pub enum BoundInput {
    File {
        name: String,
        spec: FileSpec,
        max_message: usize,
    },
    Udp(udp::UdpInput),
    Tcp(tcp::TcpInput),
    Stdin {
        max_message: usize,
    },
}

/// The listening sockets of the running inputs, by protocol and configured address. A reload binds the next
/// generation's inputs with [`bind_all`] before the running generation stops, taking over every socket whose
/// address did not change (so no port is released and bound again, and the datagrams and connections waiting in
/// it are not lost); any socket that cannot be bound fails the whole reload while the running inputs keep theirs.
#[derive(Default)]
pub struct Sockets {
    udp: HashMap<SocketAddr, Arc<udp::Socket>>,
    tcp: HashMap<SocketAddr, Arc<tokio::net::TcpListener>>,
}

/// Binds every input of `specs` (in order), taking over the sockets of `running` whose configured address is
/// unchanged. All or nothing: on the first failure the sockets bound so far are closed and the error names the
/// input (`inputs[2] (firewalls): cannot listen on tcp …`).
pub async fn bind_all(
    specs: Vec<InputSpec>,
    running: &Sockets,
) -> anyhow::Result<(Vec<BoundInput>, Sockets)> {
    let mut bound = Vec::with_capacity(specs.len());
    let mut sockets = Sockets::default();
    for (index, spec) in specs.into_iter().enumerate() {
        let name = spec.name.clone();
        let input = bind_one(spec, running, &mut sockets)
            .await
            .map_err(|e| e.context(format!("inputs[{index}] ({name})")))?;
        bound.push(input);
    }
    Ok((bound, sockets))
}

async fn bind_one(
    spec: InputSpec,
    running: &Sockets,
    sockets: &mut Sockets,
) -> anyhow::Result<BoundInput> {
    let InputSpec {
        name,
        kind,
        max_message,
    } = spec;
    Ok(match kind {
        InputKind::File(spec) => BoundInput::File {
            name,
            spec,
            max_message,
        },
        InputKind::SyslogUdp(spec) => {
            let socket = match running.udp.get(&spec.listen) {
                Some(socket) => socket.clone(),
                None => Arc::new(udp::Socket::bind(spec.listen, spec.recv_buffer)?),
            };
            sockets.udp.insert(spec.listen, socket.clone());
            BoundInput::Udp(udp::UdpInput::on(socket, &spec, max_message))
        }
        InputKind::SyslogTcp(spec) => {
            let listener = match running.tcp.get(&spec.listen) {
                Some(listener) => listener.clone(),
                None => Arc::new(tcp::bind_listener(spec.listen).await?),
            };
            sockets.tcp.insert(spec.listen, listener.clone());
            BoundInput::Tcp(tcp::TcpInput::on(listener, &spec, max_message))
        }
        InputKind::Stdin => BoundInput::Stdin { max_message },
    })
}

/// Binds the input's socket, if it has one.
pub async fn bind(spec: InputSpec) -> anyhow::Result<BoundInput> {
    bind_one(spec, &Sockets::default(), &mut Sockets::default()).await
}

impl BoundInput {
    /// The bound socket address (UDP and TCP inputs).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            BoundInput::Udp(input) => Some(input.local_addr()),
            BoundInput::Tcp(input) => Some(input.local_addr()),
            BoundInput::File { .. } | BoundInput::Stdin { .. } => None,
        }
    }

    /// Runs until shutdown (or, for stdin, end of input), sending batches tagged with `index`. A file input lists
    /// its paths that yield nothing in `problems` (for `/readyz`) while it runs.
    pub async fn run(
        self,
        index: u16,
        tx: Sender<Batch>,
        counters: InputCounters,
        problems: Arc<Problems>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let out = Outbox::new(index, tx, counters);
        match self {
            BoundInput::File {
                name,
                spec,
                max_message,
            } => file::run(&name, spec, max_message, out, problems, shutdown).await,
            BoundInput::Udp(input) => input.run(out, shutdown).await,
            BoundInput::Tcp(input) => input.run(out, shutdown).await,
            BoundInput::Stdin { max_message } => stdin::run(max_message, out, shutdown).await,
        }
    }
}

/// Binds and runs one input until shutdown.
pub async fn run(
    spec: InputSpec,
    index: u16,
    tx: Sender<Batch>,
    metrics: Arc<InputMetrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let counters = metrics.input(&spec.name);
    let problems = Arc::default();
    bind(spec)
        .await?
        .run(index, tx, counters, problems, shutdown)
        .await
}
