//! Benchmark: the file input reading a freshly written log from its start, with a consumer that counts and commits
//! every batch's ack (so each batch also rewrites the checkpoint). Prints lines per second.
//!
//! `file_sink [--lines 500000]`

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use torwatch::inputs::{
    self, FileSpec, InputKind, InputMetrics, InputSpec, StartAt, DEFAULT_MAX_MESSAGE,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let lines: u64 = args
        .iter()
        .position(|a| a == "--lines")
        .and_then(|at| args.get(at + 1))
        .map_or(Ok(500_000), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("kern.log");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&log)?);
    for i in 0..lines {
        writeln!(
            out,
            "Nov 29 03:50:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=185.220.101.{} DST=10.0.0.1 LEN=60 \
             TOS=0x00 PROTO=TCP SPT={} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0",
            i % 250,
            1024 + i % 60000
        )?;
    }
    out.flush()?;
    let bytes = std::fs::metadata(&log)?.len();
    let mut spec = FileSpec::new(
        vec![log.to_string_lossy().into_owned()],
        dir.path().join("state"),
    );
    spec.start_at = StartAt::Beginning;
    spec.poll = Duration::from_millis(50);
    let spec = InputSpec {
        name: "bench".into(),
        kind: InputKind::File(spec),
        max_message: DEFAULT_MAX_MESSAGE,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let shutdown = CancellationToken::new();
    let start = Instant::now();
    let input = tokio::spawn(inputs::run(
        spec,
        0,
        tx,
        Arc::new(InputMetrics::default()),
        shutdown.clone(),
    ));
    let (mut seen, mut batches) = (0u64, 0u64);
    while seen < lines {
        let Some(batch) = rx.recv().await else {
            anyhow::bail!("input stopped early")
        };
        seen += batch.lines.len() as u64;
        batches += 1;
        if let Some(ack) = batch.ack {
            ack.commit();
        }
    }
    let took = start.elapsed().as_secs_f64();
    shutdown.cancel();
    input.await??;
    println!(
        "{seen} lines ({:.0} MB) in {took:.2}s: {:.0} lines/s, {:.0} MB/s, {batches} batches (one checkpoint write each)",
        bytes as f64 / 1e6,
        seen as f64 / took,
        bytes as f64 / 1e6 / took
    );
    Ok(())
}
