//! Limits a slow or hostile client meets, measured on raw sockets: the header timeout closes silent and idle
//! keep-alive connections, an oversized header is refused, and at the connection cap a waiting client gets the
//! slot of the connection idle longest, without waiting for a header timeout.

use crate::service::daemon::Daemon;
use crate::service::edl::{config, wait_ready, LIST, TXT};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HTTP: &str = "http:\n  header_timeout: 1s\n  max_connections: 4\n  max_header_bytes: 8KiB\n";

async fn start(dir: &std::path::Path) -> Daemon {
    let list = dir.join("exits.txt");
    std::fs::write(&list, LIST).unwrap();
    let d = Daemon::start(dir, &config(&list.display().to_string(), HTTP)).await;
    wait_ready(&d).await;
    d
}

fn addr(d: &Daemon) -> String {
    d.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes (or resets) the connection; gives what was read and when it closed.
async fn until_closed(s: &mut TcpStream, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + within).into(), s.read(&mut buf)).await {
            Err(_) => panic!(
                "still open after {within:?}; read {:?}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: torwatch\r\nUser-Agent: fw\r\n\r\n")
}

/// Reads one response to a GET of [`TXT`]: headers and the whole body.
async fn response(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out).ends_with(TXT) {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("response within 5s")
            .unwrap();
        assert!(
            n > 0,
            "closed mid-response: {:?}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_and_idle_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    let mut silent = TcpStream::connect(addr(&d)).await.unwrap();
    let (read, after) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(
        after >= Duration::from_millis(900),
        "closed too early: {after:?}"
    );
    assert_eq!(read, "", "hyper closes without a response");

    // Half a request line, then nothing: the same.
    let mut slow = TcpStream::connect(addr(&d)).await.unwrap();
    slow.write_all(b"GET /lists/tor-exits.txt HT")
        .await
        .unwrap();
    let (_, after) = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(after >= Duration::from_millis(900), "{after:?}");

    // A keep-alive client that got its list and then idles.
    let mut idle = TcpStream::connect(addr(&d)).await.unwrap();
    idle.write_all(request("/lists/tor-exits.txt").as_bytes())
        .await
        .unwrap();
    let r = response(&mut idle).await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    let (_, after) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(after >= Duration::from_millis(900), "{after:?}");
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    let mut s = TcpStream::connect(addr(&d)).await.unwrap();
    let big = "x".repeat(16 * 1024);
    let req =
        format!("GET /lists/tor-exits.txt HTTP/1.1\r\nHost: torwatch\r\nX-Filler: {big}\r\n\r\n");
    // The server may close before reading all of it.
    let _ = s.write_all(req.as_bytes()).await;
    let (read, _) = until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(read.starts_with("HTTP/1.1 431 "), "{read:?}");

    // Under the limit is served.
    let mut s = TcpStream::connect(addr(&d)).await.unwrap();
    let fits = "x".repeat(6 * 1024);
    let req =
        format!("GET /lists/tor-exits.txt HTTP/1.1\r\nHost: torwatch\r\nX-Filler: {fits}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    assert!(response(&mut s).await.starts_with("HTTP/1.1 200 OK\r\n"));
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_an_idle_connection_gives_its_slot_to_a_waiting_client() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    // Let the readiness probes' keep-alive connections time out first, so the cap is all ours.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&d)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    // The four slots are taken by connections that send nothing; the fifth client waits in the accept queue
    // only until one of them has been idle for a quarter of the header timeout (250 ms), not for the timeout.
    let mut fifth = TcpStream::connect(addr(&d)).await.unwrap();
    fifth
        .write_all(request("/lists/tor-exits.txt").as_bytes())
        .await
        .unwrap();
    let r = response(&mut fifth).await;
    let waited = start.elapsed();
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    // Whether a slot was freed by eviction rather than by the header timeout is told by the eviction counter
    // below, not by the time waited, which depends on the machine.
    eprintln!(
        "the fifth client waited {waited:?} (eviction after 250 ms idle, header timeout 1 s)"
    );
    // Evicted or timed out, every held connection is closed without a response.
    for mut h in held {
        let (read, _) = until_closed(&mut h, Duration::from_secs(3)).await;
        assert_eq!(read, "");
    }
    assert!(d.metric("torwatch_http_connections_evicted_total").await >= 1.0);
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("exits.txt");
    let many: String = (0..60_000u32)
        .map(|i| format!("185.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    std::fs::write(&list, many).unwrap();
    let http = "http:\n  request_timeout: 1s\n";
    let d = Daemon::start(dir.path(), &config(&list.display().to_string(), http)).await;
    wait_ready(&d).await;
    let path = "/lists/tor-exits.json";
    // Several MB, more than the socket buffers hold.
    let full = crate::service::edl::send(
        &crate::service::edl::client(),
        reqwest::Method::GET,
        &format!("{}{path}", d.base),
        &[],
    )
    .await
    .body
    .len();
    assert!(full > 6 << 20, "{full}");

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(addr(&d).parse().unwrap()).await.unwrap();
    s.write_all(request(path).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Err(_) => panic!("the stalled connection was kept open"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        got.len() < full,
        "the whole body arrived ({} bytes): the stalled write was not dropped",
        got.len()
    );
    d.stop();
}
