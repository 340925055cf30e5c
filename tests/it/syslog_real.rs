//! Real syslog peers against the syslog inputs on loopback: util-linux `logger` over UDP (RFC 3164 and 5424) and
//! TCP (newline framing and octet counting), and rsyslog forwarding a file it tails (imfile → omfwd, octet-counted).
//! Every message must arrive once and whole.

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use torwatch::inputs::{
    self, Batch, InputKind, InputMetrics, InputSpec, TcpSpec, UdpSpec, DEFAULT_MAX_MESSAGE,
};

/// A running input and what it received.
struct Server {
    addr: SocketAddr,
    rx: mpsc::Receiver<Batch>,
    shutdown: CancellationToken,
    registry: Registry,
}

async fn start(kind: InputKind) -> Server {
    let spec = InputSpec {
        name: "peer".into(),
        kind,
        max_message: DEFAULT_MAX_MESSAGE,
    };
    let bound = inputs::bind(spec).await.expect("bind");
    let addr = bound.local_addr().expect("socket input");
    let (tx, rx) = mpsc::channel(1024);
    let mut registry = Registry::default();
    let metrics = InputMetrics::register(&mut registry);
    let shutdown = CancellationToken::new();
    tokio::spawn(bound.run(
        0,
        tx,
        metrics.input("peer"),
        std::sync::Arc::default(),
        shutdown.clone(),
    ));
    Server {
        addr,
        rx,
        shutdown,
        registry,
    }
}

fn udp(listen: &str) -> InputKind {
    let listen = listen.parse().expect("address");
    InputKind::SyslogUdp(UdpSpec {
        listen,
        recv_buffer: 4 << 20,
    })
}

fn tcp(listen: &str) -> InputKind {
    let listen = listen.parse().expect("address");
    InputKind::SyslogTcp(TcpSpec {
        listen,
        max_connections: 8,
        idle_timeout: None,
    })
}

impl Server {
    /// Collects messages until `n` arrived (or fails after a deadline), then checks nothing more comes.
    async fn collect(&mut self, n: usize) -> Vec<String> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(batch)) => got.extend(
                    batch
                        .lines
                        .iter()
                        .map(|l| String::from_utf8_lossy(l).into_owned()),
                ),
                _ => panic!("received {} of {n} messages: {got:?}", got.len()),
            }
        }
        let extra = tokio::time::timeout(Duration::from_millis(300), self.rx.recv()).await;
        assert!(extra.is_err(), "more messages than sent: {extra:?}");
        got
    }

    /// The `torwatch_input_lines_total` sample of this input.
    fn lines_counted(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("encode");
        text.lines()
            .find(|l| l.starts_with("torwatch_input_lines_total{"))
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Message bodies: distinct, with spaces, `=` and a long one (5000 bytes) that spans several TCP reads.
fn bodies(tag: &str, n: usize) -> Vec<String> {
    let mut bodies: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{tag} message {i} SRC=185.220.101.{} DPT=22 action=drop",
                i % 250
            )
        })
        .collect();
    bodies.push(format!("{tag} long {}", "x".repeat(5000)));
    bodies
}

/// Runs `logger` with `args`, one message per stdin line.
fn logger(addr: SocketAddr, args: &[&str], bodies: &[String]) {
    let mut child = Command::new("logger")
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &addr.port().to_string(),
            "--size",
            "8192",
            "-t",
            "fwtest",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("logger (util-linux) must be installed");
    let mut stdin = child.stdin.take().expect("stdin");
    for body in bodies {
        writeln!(stdin, "{body}").expect("write to logger");
    }
    drop(stdin);
    assert!(child.wait().expect("logger").success(), "logger failed");
}

/// Each received message is whole: the expected header start, the tag, and exactly one body, each body once.
fn check_whole(got: &[String], bodies: &[String], header: &str, before_body: &str) {
    assert_eq!(got.len(), bodies.len());
    let mut seen: Vec<&str> = Vec::new();
    for msg in got {
        assert!(
            msg.starts_with(header),
            "{msg:?} should start with {header:?}"
        );
        assert!(!msg.contains('\n'), "{msg:?} holds a newline");
        let at = msg
            .find(before_body)
            .unwrap_or_else(|| panic!("{msg:?} lacks {before_body:?}"));
        seen.push(&msg[at + before_body.len()..]);
    }
    seen.sort_unstable();
    let mut want: Vec<&str> = bodies.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn logger_udp_rfc3164_and_rfc5424() {
    let mut server = start(udp("127.0.0.1:0")).await;
    let old = bodies("bsd", 200);
    logger(
        server.addr,
        &["--udp", "--rfc3164", "-p", "local0.warning"],
        &old,
    );
    check_whole(&server.collect(old.len()).await, &old, "<132>", " fwtest: ");
    let new = bodies("ietf", 200);
    logger(
        server.addr,
        &[
            "--udp",
            "--rfc5424",
            "--msgid",
            "FW",
            "-p",
            "local0.warning",
        ],
        &new,
    );
    let got = server.collect(new.len()).await;
    assert!(
        got.iter().all(|m| m.contains(" fwtest - FW [timeQuality ")),
        "{got:?}"
    );
    check_whole(&got, &new, "<132>1 ", "isSynced=\"0\"] ");
}

#[tokio::test]
async fn logger_tcp_newline_and_octet_counting() {
    let mut server = start(tcp("127.0.0.1:0")).await;
    let lines = bodies("newline", 300);
    logger(
        server.addr,
        &["--tcp", "--rfc5424", "-p", "user.notice"],
        &lines,
    );
    let got = server.collect(lines.len()).await;
    check_whole(&got, &lines, "<13>1 ", "isSynced=\"0\"] ");
    let counted = bodies("counted", 300);
    logger(
        server.addr,
        &["--tcp", "--octet-count", "--rfc5424", "-p", "user.notice"],
        &counted,
    );
    check_whole(
        &server.collect(counted.len()).await,
        &counted,
        "<13>1 ",
        "isSynced=\"0\"] ",
    );
    let want = format!(
        "torwatch_input_lines_total{{input=\"peer\"}} {}",
        lines.len() + counted.len()
    );
    assert_eq!(server.lines_counted(), want);
}

#[tokio::test]
async fn logger_over_ipv6_loopback() {
    let mut server = start(udp("[::1]:0")).await;
    let msgs = bodies("v6", 20);
    let mut child = Command::new("logger")
        .args([
            "--server",
            "::1",
            "--port",
            &server.addr.port().to_string(),
            "--udp",
            "--rfc3164",
            "-t",
            "fwtest",
        ])
        .args(["--size", "8192"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("logger (util-linux) must be installed");
    let mut stdin = child.stdin.take().expect("stdin");
    for body in &msgs {
        writeln!(stdin, "{body}").expect("write");
    }
    drop(stdin);
    assert!(child.wait().expect("logger").success());
    check_whole(
        &server.collect(msgs.len()).await,
        &msgs,
        "<13>",
        " fwtest: ",
    );
}

/// Kills the rsyslogd it started when dropped (also on a failed assertion).
struct Rsyslogd(Child);

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
#[ignore = "needs rsyslog; run by .ci/run"]
async fn rsyslog_forwards_a_tailed_file_octet_counted() {
    let mut server = start(tcp("127.0.0.1:0")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("firewall.log");
    std::fs::write(&input, "").expect("create input");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{dir}")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{input}" Tag="fwtest" Facility="local0" Severity="warning")
action(type="omfwd" Target="127.0.0.1" Port="{port}" Protocol="tcp" TCP_Framing="octet-counted"
       Template="RSYSLOG_SyslogProtocol23Format")
"#,
            dir = dir.path().display(),
            input = input.display(),
            port = server.addr.port()
        ),
    )
    .expect("write config");
    let pidfile = dir.path().join("rsyslogd.pid");
    let child = Command::new("rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(&pidfile)
        .spawn()
        .expect("rsyslogd must be installed (apt-get install rsyslog)");
    let _rsyslogd = Rsyslogd(child);
    let lines: Vec<String> = (0..500)
        .map(|i| {
            format!(
                "kernel: [UFW BLOCK] IN=eth0 SRC=185.220.101.{} DPT={} n={i}",
                i % 250,
                1000 + i
            )
        })
        .collect();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .expect("open input");
    for chunk in lines.chunks(100) {
        let text: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        file.write_all(text.as_bytes()).expect("append");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = server.collect(lines.len()).await;
    check_whole(&got, &lines, "<132>1 ", " fwtest - - - ");
}
