//! The syslog inputs' limits on real loopback sockets: the TCP connection cap (busy connections keep their slots,
//! idle ones give them up), the idle timeout, oversize messages on both transports, a full queue on UDP (dropped
//! and counted, never blocking), and shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use torwatch::inputs::{self, Batch, InputKind, InputMetrics, InputSpec, TcpSpec, UdpSpec};

struct Server {
    addr: SocketAddr,
    rx: mpsc::Receiver<Batch>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    registry: Registry,
}

async fn start(kind: InputKind, max_message: usize, queue: usize) -> Server {
    let spec = InputSpec {
        name: "edge".into(),
        kind,
        max_message,
    };
    let bound = inputs::bind(spec).await.expect("bind");
    let addr = bound.local_addr().expect("socket input");
    let (tx, rx) = mpsc::channel(queue);
    let mut registry = Registry::default();
    let metrics = InputMetrics::register(&mut registry);
    let shutdown = CancellationToken::new();
    let problems = std::sync::Arc::default();
    let task = tokio::spawn(bound.run(0, tx, metrics.input("edge"), problems, shutdown.clone()));
    Server {
        addr,
        rx,
        shutdown,
        task,
        registry,
    }
}

impl Server {
    /// The value of the sample whose line starts with `prefix`.
    fn sample(&self, prefix: &str) -> u64 {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("encode");
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"));
        line.rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("integer sample")
    }

    async fn messages(&mut self, n: usize) -> Vec<String> {
        let mut got = Vec::new();
        while got.len() < n {
            let batch = tokio::time::timeout(Duration::from_secs(10), self.rx.recv()).await;
            let batch = batch.expect("messages in time").expect("input running");
            got.extend(
                batch
                    .lines
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
        }
        got
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        ended
            .expect("input stops on shutdown")
            .expect("join")
            .expect("input ran");
    }
}

fn tcp(max_connections: usize) -> InputKind {
    let listen = "127.0.0.1:0".parse().expect("address");
    InputKind::SyslogTcp(TcpSpec {
        listen,
        max_connections,
        idle_timeout: Some(Duration::from_secs(5)),
    })
}

fn udp() -> InputKind {
    InputKind::SyslogUdp(UdpSpec {
        listen: "127.0.0.1:0".parse().expect("address"),
        recv_buffer: 8 << 20,
    })
}

/// Whether the server closed `conn` within five seconds.
async fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await;
    matches!(read, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn at_the_cap_a_silent_connection_gives_its_slot_to_a_new_one() {
    let mut server = start(tcp(2), 1024, 16).await;
    let mut polite = TcpStream::connect(server.addr).await.expect("connect");
    polite.write_all(b"<13>hello\n").await.expect("write");
    assert_eq!(server.messages(1).await, ["<13>hello"]);
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    // Both idle for more than the minimum: the one that never sent a message goes, though it is the younger.
    tokio::time::sleep(inputs::tcp::MIN_IDLE + Duration::from_millis(200)).await;
    let mut newcomer = TcpStream::connect(server.addr).await.expect("connect");
    assert!(closed(&mut silent).await, "the silent connection is closed");
    newcomer.write_all(b"<13>new\n").await.expect("write");
    polite.write_all(b"<13>again\n").await.expect("write");
    let mut got = server.messages(2).await;
    got.sort();
    assert_eq!(got, ["<13>again", "<13>new"]);
    assert_eq!(
        server.sample("torwatch_input_connections_evicted_total{"),
        1
    );
    assert_eq!(
        server.sample("torwatch_input_connections_refused_total{"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_delivers_no_message_is_closed_after_the_idle_timeout() {
    let listen = "127.0.0.1:0".parse().expect("address");
    let kind = InputKind::SyslogTcp(TcpSpec {
        listen,
        max_connections: 4,
        idle_timeout: Some(Duration::from_millis(600)),
    });
    let mut server = start(kind, 1024, 16).await;
    let mut drip = TcpStream::connect(server.addr).await.expect("connect");
    // A byte every 100 ms never ends a message: the bytes do not keep the connection open.
    let started = std::time::Instant::now();
    let mut open = true;
    while open && started.elapsed() < Duration::from_secs(5) {
        open = drip.write_all(b"x").await.is_ok();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut buf = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), drip.read(&mut buf)).await
        {
            open = false;
        }
    }
    assert!(!open, "closed while dripping");
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut talker = TcpStream::connect(server.addr).await.expect("connect");
    for i in 0..5 {
        talker
            .write_all(format!("<13>line {i}\n").as_bytes())
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(server.messages(5).await.len(), 5, "messages keep it open");
    server.stop().await;
}

/// Writes a numbered message every 100 ms until the connection fails; returns how many were written.
fn keep_busy(mut conn: TcpStream, tag: &'static str) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut sent = 0;
        loop {
            let line = format!("<13>{tag} {sent}\n");
            if conn.write_all(line.as_bytes()).await.is_err() {
                return sent;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_counted() {
    let mut server = start(tcp(2), 1024, 64).await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let second = TcpStream::connect(server.addr).await.expect("connect");
    let first = keep_busy(first, "one");
    let second = keep_busy(second, "two");
    server.messages(4).await;
    // Both keep delivering a message every 100 ms, well within the minimum idle time: the newcomer waits for a
    // slot in vain, then is closed unread and counted.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    third.write_all(b"<13>three\n").await.expect("write");
    assert!(closed(&mut third).await, "the third connection is closed");
    assert_eq!(
        server.sample("torwatch_input_connections_refused_total{"),
        1
    );
    assert_eq!(
        server.sample("torwatch_input_connections_evicted_total{"),
        0
    );
    first.abort();
    second.abort();
    let _ = (first.await, second.await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = TcpStream::connect(server.addr).await.expect("connect");
    fourth.write_all(b"<13>four\n").await.expect("write");
    let mut seen: Vec<String> = Vec::new();
    while !seen.iter().any(|l| l == "<13>four") {
        seen.extend(server.messages(1).await);
    }
    assert!(
        !seen.iter().any(|l| l == "<13>three"),
        "the refused connection was never read"
    );
    server.stop().await;
}

#[tokio::test]
async fn oversize_messages_are_skipped_and_counted() {
    let mut server = start(tcp(4), 64, 16).await;
    let mut conn = TcpStream::connect(server.addr).await.expect("connect");
    let long = "x".repeat(200);
    let stream = format!(
        "<13>short\n<13>{long}\n80 <13>{}<13>after\n",
        "y".repeat(76)
    );
    conn.write_all(stream.as_bytes()).await.expect("write");
    drop(conn);
    assert_eq!(server.messages(2).await, ["<13>short", "<13>after"]);
    assert_eq!(
        server.sample("torwatch_input_dropped_total{input=\"edge\",reason=\"oversize\"}"),
        2
    );
    server.stop().await;

    let mut server = start(udp(), 64, 16).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    peer.send_to(format!("<13>{long}").as_bytes(), server.addr)
        .await
        .expect("send");
    peer.send_to(b"<13>fits\n", server.addr)
        .await
        .expect("send");
    assert_eq!(server.messages(1).await, ["<13>fits"]);
    assert_eq!(
        server.sample("torwatch_input_dropped_total{input=\"edge\",reason=\"oversize\"}"),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_full_queue_drops_datagrams_and_counts_them() {
    let mut server = start(udp(), 1024, 1).await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let sent = 3000;
    for i in 0..sent {
        peer.send_to(format!("<13>datagram {i}").as_bytes(), server.addr)
            .await
            .expect("send");
        if i % 200 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // Long enough for the kernel drop counter to be read once more.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut delivered = 0;
    while let Ok(batch) = server.rx.try_recv() {
        delivered += batch.lines.len() as u64;
    }
    let dropped =
        server.sample("torwatch_input_dropped_total{input=\"edge\",reason=\"queue_full\"}");
    let read = server.sample("torwatch_input_lines_total{");
    assert!(dropped > 0, "the queue of one batch overflowed");
    assert_eq!(
        read,
        delivered + dropped,
        "every line read was delivered or counted as dropped"
    );
    assert_eq!(
        read + server.sample("torwatch_input_socket_drops_total{"),
        sent,
        "the rest the kernel counted"
    );
    server.stop().await;
}
