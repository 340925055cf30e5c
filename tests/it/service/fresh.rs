//! A fresh install: no state, a log file with Tor lines read from the beginning, an upstream that answers only after
//! 3 s. The file input waits for the list (its checkpoint unmoved), then every Tor line is counted; syslog lines
//! that arrive before the list cannot wait and are counted as dropped (`reason="no_list"`) with one warning.

use crate::service::daemon::{free_port, Daemon};
use crate::service::upstream::{Behaviour, Upstream};
use std::time::{Duration, Instant};

/// A netfilter drop line from `src`.
fn line(src: &str, port: u16) -> String {
    format!(
        "2026-12-01T10:00:00+00:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC={src} DST=10.0.0.5 \
         LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT={port} WINDOW=64240 RES=0x00 SYN URGP=0\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_read_before_the_first_list_are_all_counted() {
    let up = Upstream::start().await;
    up.set(
        "/list",
        Behaviour::Late {
            body: b"185.220.100.1\n185.220.100.2\n185.220.100.3\n".to_vec(),
            after: Duration::from_secs(3),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let mut text = String::new();
    for i in 0..22 {
        text += &line(&format!("185.220.100.{}", 1 + i % 3), 22);
    }
    for i in 0..7 {
        text += &line(&format!("93.184.215.{i}"), 443);
    }
    std::fs::write(&log, &text).unwrap();
    let udp = free_port();
    let config = format!(
        "sources:\n  - {{ name: bulk, type: bulk, url: \"{}\", interval: 1h, timeout: 10s, min_entries: 1 }}\n\
         inputs:\n  - {{ name: fw, type: file, paths: [\"{}\"], start_at: beginning, poll: 100ms }}\n  \
         - {{ name: net, type: syslog_udp, listen: \"127.0.0.1:{udp}\" }}\n",
        up.url("/list"),
        log.display()
    );
    let started = Instant::now();
    let d = Daemon::start(dir.path(), &config).await;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..3 {
        sock.send_to(
            format!("<4>{}", line(&format!("185.220.100.{}", i + 1), 80)).as_bytes(),
            ("127.0.0.1", udp),
        )
        .unwrap();
    }
    d.wait_metric(
        "torwatch_input_dropped_total{input=\"net\",reason=\"no_list\"}",
        3.0,
        Duration::from_secs(2),
    )
    .await;
    d.wait_metric(
        "torwatch_input_lines_total{input=\"fw\"}",
        29.0,
        Duration::from_secs(2),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "still before the list"
    );
    assert_eq!(d.get("/readyz").await.0, 503);
    let checkpoint = dir.path().join("state/checkpoints/fw.json");
    let offset = |c: &std::path::Path| -> u64 {
        std::fs::read_to_string(c)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["files"][0]["offset"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(
        offset(&checkpoint),
        0,
        "the checkpoint waits with the lines"
    );
    assert_eq!(
        d.metric("torwatch_input_parsed_total{input=\"fw\",format=\"netfilter\"}")
            .await,
        0.0
    );

    // The list arrives: all 22 Tor lines of the file are counted, its 29 lines parsed, the checkpoint at the end.
    let tor = "torwatch_tor_hits_total{input=\"fw\",direction=\"inbound\",action=\"drop\",proto=\"tcp\",kind=\"traffic\"}";
    d.wait_metric(tor, 22.0, Duration::from_secs(15)).await;
    assert_eq!(d.metric(tor).await, 22.0);
    assert_eq!(
        d.metric("torwatch_input_parsed_total{input=\"fw\",format=\"netfilter\"}")
            .await,
        29.0
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while offset(&checkpoint) != text.len() as u64 {
        assert!(
            Instant::now() < deadline,
            "checkpoint at {}",
            offset(&checkpoint)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Syslog lines after the list are matched as usual; the three before stay counted as dropped.
    sock.send_to(
        format!("<4>{}", line("185.220.100.1", 80)).as_bytes(),
        ("127.0.0.1", udp),
    )
    .unwrap();
    let net = "torwatch_tor_hits_total{input=\"net\",direction=\"inbound\",action=\"drop\",proto=\"tcp\",kind=\"traffic\"}";
    d.wait_metric(net, 1.0, Duration::from_secs(5)).await;
    assert_eq!(
        d.metric("torwatch_input_dropped_total{input=\"net\",reason=\"no_list\"}")
            .await,
        3.0
    );
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert_eq!(
        log.matches("before any exit list is loaded").count(),
        1,
        "one warning:\n{log}"
    );
    d.stop();
}
