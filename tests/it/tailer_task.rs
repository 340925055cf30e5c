//! The file input as the service runs it (`inputs::run` on a timer), stopped by shutdown or aborted outright
//! while a writer appends and rotates: every line arrives exactly once across all restarts.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use torwatch::inputs::{self, FileSpec, InputKind, InputMetrics, InputSpec, StartAt};

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open log");
    file.write_all(text.as_bytes()).expect("append");
}

/// Waits until `received` holds `n` lines.
async fn wait_for(received: &Mutex<Vec<String>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().expect("lock").len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out: {} of {n} lines",
            received.lock().expect("lock").len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_arrive_exactly_once_across_shutdowns_and_aborts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("fw.log");
    let mut file_spec = FileSpec::new(
        vec![log.to_string_lossy().into_owned()],
        dir.path().join("state"),
    );
    file_spec.start_at = StartAt::Beginning;
    file_spec.poll = Duration::from_millis(5);
    file_spec.rotate_grace = Duration::from_millis(20);
    let spec = InputSpec {
        name: "fw".into(),
        kind: InputKind::File(file_spec),
        max_message: 4096,
    };
    let metrics = Arc::new(InputMetrics::default());
    let received = Arc::new(Mutex::new(Vec::new()));
    let (mut written, mut rotations) = (0usize, 0);

    for round in 0..12 {
        let (tx, mut rx) = mpsc::channel(4);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(inputs::run(
            spec.clone(),
            1,
            tx,
            Arc::clone(&metrics),
            shutdown.clone(),
        ));
        let sink = Arc::clone(&received);
        let consumer = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                let mut seen = sink.lock().expect("lock");
                seen.extend(
                    batch
                        .each_line()
                        .map(|l| String::from_utf8_lossy(l).into_owned()),
                );
                batch.ack.expect("file batches carry an ack").commit();
            }
        });
        for burst in 0..20 {
            let text: String = (0..50)
                .map(|i| format!("round {round} burst {burst} line {i}\n"))
                .collect();
            append(&log, &text);
            written += 50;
            if burst % 7 == 3 {
                // Rotate once the tailer has seen the file, as logrotate's `create` does.
                wait_for(&received, written).await;
                rotations += 1;
                fs::rename(&log, dir.path().join(format!("fw.log.{rotations}"))).expect("rotate");
                fs::File::create(&log).expect("recreate");
            }
            tokio::task::yield_now().await;
        }
        if round % 2 == 0 {
            shutdown.cancel();
            task.await.expect("join").expect("input ran");
        } else {
            task.abort();
            assert!(task.await.expect_err("aborted").is_cancelled());
        }
        consumer.await.expect("consumer");
    }

    let (tx, mut rx) = mpsc::channel(4);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(inputs::run(spec, 1, tx, metrics, shutdown.clone()));
    let sink = Arc::clone(&received);
    let consumer = tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            sink.lock().expect("lock").extend(
                batch
                    .each_line()
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
            batch.ack.expect("ack").commit();
        }
    });
    wait_for(&received, written).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    task.await.expect("join").expect("input ran");
    consumer.await.expect("consumer");

    let mut lines = received.lock().expect("lock").clone();
    assert_eq!(lines.len(), written, "no line twice, none missing");
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), written, "no line twice");
}
