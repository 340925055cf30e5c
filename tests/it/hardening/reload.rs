//! A reload that cannot apply in full changes nothing. Moving a syslog input onto a port in use used to close the
//! old listener, fail to bind the new one and still count the reload as `ok`, with a clean `/readyz` (while the
//! same config refused to start). Now the whole reload is refused and counted as `error`, and the running inputs
//! keep their sockets; a reload that keeps an input's address hands its socket over without losing a datagram.

use crate::hardening::signal;
use crate::service::daemon::{free_port, Daemon};
use std::io::Write as _;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

fn inputs(tcp: u16, udp: u16) -> String {
    format!(
        "sources: []\ninputs:\n  - {{name: tcp, type: syslog_tcp, listen: \"127.0.0.1:{tcp}\"}}\n  - {{name: udp, type: syslog_udp, listen: \"127.0.0.1:{udp}\"}}\n"
    )
}

fn send_tcp(port: u16, lines: usize, tag: &str) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    for i in 0..lines {
        writeln!(conn, "<13>Dec  6 10:00:00 fw {tag}: line {i}").expect("write");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_cannot_bind_changes_nothing_and_counts_as_error() {
    let (tcp, udp) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &inputs(tcp, udp)).await;
    let lines = "torwatch_input_lines_total{input=\"tcp\"}";
    send_tcp(tcp, 10, "before");
    d.wait_metric(lines, 10.0, Duration::from_secs(10)).await;

    // Another program holds the port the new config moves the TCP input to.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    d.rewrite(dir.path(), &inputs(busy, udp));
    signal(d.child.id(), "HUP");
    d.wait_metric(
        "torwatch_config_reloads_total{result=\"error\"}",
        1.0,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        d.metric("torwatch_config_reloads_total{result=\"ok\"}")
            .await,
        0.0
    );
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert!(
        log.contains(&format!(
            "reload refused, keeping the running config: inputs[0] (tcp): cannot listen on tcp 127.0.0.1:{busy}"
        )),
        "{}",
        d.log_tail()
    );
    // The running input kept its listener and still counts lines.
    send_tcp(tcp, 10, "after");
    d.wait_metric(lines, 20.0, Duration::from_secs(10)).await;
    let (code, readyz) = d.get("/readyz").await;
    assert_eq!(code, 503, "no list is loaded in this test");
    assert!(readyz.contains("\"problems\": []"), "{readyz}");

    // The same config refuses to start, with the same message.
    let other = tempfile::tempdir().unwrap();
    let config = other.path().join("torwatch.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{}\nstate_dir: {}\n{}",
            free_port(),
            other.path().join("state").display(),
            inputs(busy, free_port())
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "inputs[0] (tcp): cannot listen on tcp 127.0.0.1:{busy}"
    )));
    drop(taken);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_hands_unchanged_sockets_over_without_losing_a_datagram() {
    let (tcp, udp) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &inputs(tcp, udp)).await;
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(("127.0.0.1", udp)).unwrap();
    // Datagrams keep coming while three reloads replace every task (a new TCP input each time): none is lost.
    let mut sent = 0usize;
    let mut next_port = free_port();
    for round in 0..3 {
        let body = format!(
            "{}  - {{name: extra, type: syslog_tcp, listen: \"127.0.0.1:{next_port}\"}}\n",
            inputs(tcp, udp)
        );
        d.rewrite(dir.path(), &body);
        signal(d.child.id(), "HUP");
        let reloaded = format!("{}", round + 1);
        loop {
            for _ in 0..20 {
                sender
                    .send(format!("<13>Dec  6 10:00:00 fw test: datagram {sent}").as_bytes())
                    .unwrap();
                sent += 1;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            let ok = d
                .metric("torwatch_config_reloads_total{result=\"ok\"}")
                .await;
            if ok.to_string() == reloaded {
                break;
            }
            assert!(sent < 200_000, "no reload: {}", d.log_tail());
        }
        next_port = free_port();
    }
    for _ in 0..100 {
        sender
            .send(format!("<13>Dec  6 10:00:00 fw test: datagram {sent}").as_bytes())
            .unwrap();
        sent += 1;
    }
    let lines = "torwatch_input_lines_total{input=\"udp\"}";
    d.wait_metric(lines, sent as f64, Duration::from_secs(20))
        .await;
    let socket_drops = d
        .metric("torwatch_input_socket_drops_total{input=\"udp\"}")
        .await;
    println!(
        "{sent} datagrams sent across 3 reloads, all counted, {socket_drops} dropped by the kernel"
    );
    assert_eq!(d.metric(lines).await, sent as f64);
    assert_eq!(socket_drops, 0.0);
}
