//! The syslog TCP lockout: 10,000 connections that never send a byte used to keep 256 slots for good while every
//! later sender was reset, and `torwatch_input_lines_total` stopped. Now idle connections give their slots to new
//! ones: a sender that connects behind 10,000 held idle connections gets every line counted, and torwatch's
//! descriptors stay near its connection cap.

use crate::service::daemon::{free_port, usage, Daemon, Sampler};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const IDLE: usize = 10_000;
const LINES: usize = 5_000;
const MAX_CONNECTIONS: usize = 256;

/// Raises this process's descriptor limit (and so torwatch's, which inherits it) to at least `want`.
fn raise_fd_limit(want: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft >= want {
        return;
    }
    // Raising the hard limit needs privileges; without them, the soft one goes as far as the hard one allows.
    if setrlimit(Resource::RLIMIT_NOFILE, want, want.max(hard)).is_err() {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard.min(want), hard);
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(
        soft >= want,
        "this test holds {IDLE} connections and needs {want} descriptors; the limit is {soft}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "holds 10,000 connections (raises the descriptor limit); run by .ci/run"]
async fn a_sender_behind_10000_idle_connections_gets_every_line_counted() {
    raise_fd_limit((IDLE + 1024) as u64);
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}inputs:\n  - {{name: syslog, type: syslog_tcp, listen: \"127.0.0.1:{port}\", max_connections: {MAX_CONNECTIONS}}}\n",
        crate::hardening::local_list(dir.path())
    );
    let d = Daemon::start(dir.path(), &config).await;
    let pid = d.child.id();
    let (fds_before, rss_before) = usage(pid);
    let sampler = Sampler::start(pid);

    // The attack: 10,000 connections that never send a byte, opened 512 at a time and held to the end.
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(512));
    let mut attempts = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let permit = gate.clone().acquire_owned().await.unwrap();
        attempts.push(tokio::spawn(async move {
            let conn = tokio::time::timeout(
                Duration::from_secs(120),
                TcpStream::connect(("127.0.0.1", port)),
            )
            .await;
            drop(permit);
            conn.ok().and_then(Result::ok)
        }));
    }
    let mut held = Vec::with_capacity(IDLE);
    for attempt in attempts {
        if let Some(conn) = attempt.await.unwrap() {
            held.push(conn);
        }
    }
    let attack = started.elapsed();
    let opened = held.len();

    // A real sender connects behind them and sends its lines (a real sender reconnects when closed; this one
    // must never need to).
    let started = Instant::now();
    let mut sender = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let connected = started.elapsed();
    for i in 0..LINES {
        let line = format!("<13>Dec  6 10:00:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=185.220.101.{} DST=192.0.2.1 PROTO=TCP SPT=40000 DPT=22 n={i}\n", 1 + i % 200);
        sender
            .write_all(line.as_bytes())
            .await
            .expect("the sender is never cut off");
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let lines = "torwatch_input_lines_total{input=\"syslog\"}";
    d.wait_metric(lines, LINES as f64, Duration::from_secs(60))
        .await;
    let delivered = started.elapsed();
    let counted = d.metric(lines).await;
    let evicted = d
        .metric("torwatch_input_connections_evicted_total{input=\"syslog\"}")
        .await;
    let refused = d
        .metric("torwatch_input_connections_refused_total{input=\"syslog\"}")
        .await;
    let (fds_peak, rss_peak) = sampler.finish().await;
    let (fds_after, rss_after) = usage(pid);
    println!(
        "lockout: {opened} of {IDLE} idle connections opened and held in {:.1} s; a sender behind them connected \
         in {} ms and had {counted} of {LINES} lines counted {} ms after connecting; {evicted} idle connections \
         evicted, {refused} refused; torwatch fds {fds_before} -> peak {fds_peak} -> {fds_after}, RSS {} -> peak \
         {} -> {} KiB",
        attack.as_secs_f64(),
        connected.as_millis(),
        delivered.as_millis(),
        rss_before,
        rss_peak,
        rss_after
    );
    assert_eq!(
        counted, LINES as f64,
        "every line of the sender, none of the idle ones"
    );
    assert!(
        opened >= IDLE * 9 / 10,
        "the attack held only {opened} connections"
    );
    assert!(evicted > 0.0);
    assert!(
        fds_peak <= MAX_CONNECTIONS + 64,
        "{fds_peak} descriptors for a cap of {MAX_CONNECTIONS}"
    );
    drop(held);
}
