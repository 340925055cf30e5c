//! Benchmark sink: runs torwatch's UDP syslog input with its defaults and a consumer that only counts. Exits after
//! `--idle` seconds without a message (once one arrived) and prints what it counted.
//!
//! `udp_sink --listen 127.0.0.1:15514 [--idle 1.5] [--queue 1024]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use torwatch::inputs::{self, InputKind, InputMetrics, InputSpec, UdpSpec, DEFAULT_MAX_MESSAGE};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .unwrap_or_else(|| default.into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = arg("--listen", "127.0.0.1:15514").parse()?;
    let idle = Duration::from_secs_f64(arg("--idle", "1.5").parse()?);
    let queue: usize = arg("--queue", "1024").parse()?;
    let kind = InputKind::SyslogUdp(UdpSpec {
        listen,
        recv_buffer: UdpSpec::DEFAULT_RECV_BUFFER,
    });
    let spec = InputSpec {
        name: "bench".into(),
        kind,
        max_message: DEFAULT_MAX_MESSAGE,
    };
    let bound = inputs::bind(spec).await?;
    let counters = InputMetrics::default().input("bench");
    let (tx, mut rx) = tokio::sync::mpsc::channel(queue);
    let shutdown = CancellationToken::new();
    let input = tokio::spawn(bound.run(
        0,
        tx,
        counters.clone(),
        std::sync::Arc::default(),
        shutdown.clone(),
    ));
    let received = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&received);
    let consumer = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            seen.fetch_add(batch.lines.len() as u64, Ordering::Relaxed);
        }
    });
    println!("listening {listen}");
    let (mut last, mut last_change) = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = received.load(Ordering::Relaxed);
        if now != last {
            (last, last_change) = (now, Instant::now());
        } else if now > 0 && last_change.elapsed() >= idle {
            break;
        }
    }
    shutdown.cancel();
    input.await??;
    consumer.await?;
    println!(
        "received {} queue_full {} oversize {} socket_drops {}",
        received.load(Ordering::Relaxed),
        counters.queue_full.get(),
        counters.oversize.get(),
        counters.socket_drops.get()
    );
    Ok(())
}
