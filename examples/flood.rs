//! Overload driver: floods a running torwatch with syslog over UDP (one datagram per message) and TCP (RFC 6587
//! octet-counted frames) as fast as it can for `--seconds`, counting exactly what it sent, by kind; meanwhile it
//! requests `/lists/tor-exits.txt` and `/metrics` every `--probe-ms` and samples the process's VmRSS.
//!
//! `flood --udp 127.0.0.1:5514 --tcp 127.0.0.1:5515 --http 127.0.0.1:8080 --pid 1234 --seconds 10
//!        [--udp-threads 1] [--tcp-conns 1] [--probe-ms 50] [--max-message 2048]`
//!
//! The mix, per 20 messages: 10 netfilter drops from `185.220.102.1-50` (put them in the exit list), 6 from
//! `198.51.100.x`, 2 lines of text and 2 of binary garbage; one message in 1000 is longer than `--max-message`;
//! UDP senders add an empty datagram (a bare newline) per 1000.
//! Prints `key value` lines: `udp_sent`, `udp_oversize`, `udp_netfilter`, `udp_garbage` (and the same for `tcp_`),
//! `seconds`, `probes`, `probe_failures`, `probe_p50_ms`, `probe_p99_ms`, `probe_max_ms`, `rss_max_kib`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .unwrap_or_else(|| default.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Netfilter,
    Garbage,
    Oversize,
}

/// What one sender sent, by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Sent {
    netfilter: u64,
    garbage: u64,
    oversize: u64,
}

impl Sent {
    fn add(&mut self, kind: Kind, n: u64) {
        match kind {
            Kind::Netfilter => self.netfilter += n,
            Kind::Garbage => self.garbage += n,
            Kind::Oversize => self.oversize += n,
        }
    }
    fn merge(&mut self, o: Sent) {
        self.netfilter += o.netfilter;
        self.garbage += o.garbage;
        self.oversize += o.oversize;
    }
    fn total(&self) -> u64 {
        self.netfilter + self.garbage + self.oversize
    }
}

/// The message mix, 1000 messages cycled by every sender.
fn mix(max_message: usize) -> Vec<(Kind, Vec<u8>)> {
    let mut out = Vec::with_capacity(1000);
    let mut seed = 0x9e37_79b9_u32;
    for i in 0..1000u32 {
        let slot = i % 20;
        let msg = if i == 999 {
            (Kind::Oversize, vec![b'x'; max_message + 100])
        } else if slot < 10 {
            let line = format!(
                "<4>Nov 29 03:50:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=185.220.102.{} DST=10.0.0.1 \
                 LEN=60 TOS=0x00 PROTO=TCP SPT={} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0",
                1 + i % 50,
                1024 + i
            );
            (Kind::Netfilter, line.into_bytes())
        } else if slot < 16 {
            let line = format!(
                "<4>Nov 29 03:50:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=198.51.100.{} DST=10.0.0.1 \
                 LEN=60 TOS=0x00 PROTO=UDP SPT={} DPT=53 LEN=40",
                i % 250,
                1024 + i
            );
            (Kind::Netfilter, line.into_bytes())
        } else if slot < 18 {
            let line = format!("<13>Nov 29 03:50:00 host app[{i}]: session opened for user nobody");
            (Kind::Garbage, line.into_bytes())
        } else {
            // Binary garbage that starts and ends with a printable byte (nothing a receiver trims away).
            let mut bytes = vec![b'#'];
            for _ in 0..120 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                bytes.push(seed.to_le_bytes()[0]);
            }
            bytes.push(b'#');
            (Kind::Garbage, bytes)
        };
        out.push(msg);
    }
    out
}

fn udp_sender(to: SocketAddr, mix: Arc<Vec<(Kind, Vec<u8>)>>, stop: Arc<AtomicBool>) -> Sent {
    let mut sent = Sent::default();
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return sent;
    };
    if socket.connect(to).is_err() {
        return sent;
    }
    'flood: loop {
        for (kind, msg) in mix.iter() {
            if socket.send(msg).is_ok() {
                sent.add(*kind, 1);
            }
        }
        // A datagram that is empty once its terminator and padding are trimmed: still one message.
        if socket.send(b"\n").is_ok() {
            sent.add(Kind::Garbage, 1);
        }
        if stop.load(Ordering::Relaxed) {
            break 'flood;
        }
    }
    sent
}

/// One connection writing 64 KiB chunks of octet-counted frames; a message counts once its chunk is written whole.
fn tcp_sender(
    to: SocketAddr,
    mix: Arc<Vec<(Kind, Vec<u8>)>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Sent> {
    let mut chunks: Vec<(Vec<u8>, Sent)> = Vec::new();
    let (mut buf, mut in_buf) = (Vec::new(), Sent::default());
    for (kind, msg) in mix.iter() {
        write!(buf, "{} ", msg.len())?;
        buf.extend_from_slice(msg);
        in_buf.add(*kind, 1);
        if buf.len() >= 64 << 10 {
            chunks.push((std::mem::take(&mut buf), std::mem::take(&mut in_buf)));
        }
    }
    chunks.push((buf, in_buf));
    let mut stream = TcpStream::connect(to)?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    let mut sent = Sent::default();
    while !stop.load(Ordering::Relaxed) {
        for (chunk, counts) in &chunks {
            stream
                .write_all(chunk)
                .map_err(|e| anyhow::anyhow!("tcp write to {to} failed after {sent:?}: {e}"))?;
            sent.merge(*counts);
        }
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    Ok(sent)
}

/// How long a probe waits to connect and for each read before it counts as failed: long, so that only a service
/// that stops answering fails it, never a slow machine.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// One GET; the time to the end of a 200 response, or why it failed.
fn get(http: SocketAddr, path: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&http, PROBE_TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(PROBE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).map_err(|e| e.to_string())?;
    if !body.starts_with(b"HTTP/1.1 200") {
        let head = String::from_utf8_lossy(body.get(..40).unwrap_or(&body)).into_owned();
        return Err(format!("{path}: {head}"));
    }
    Ok(start.elapsed())
}

/// Probes both paths every `every` until `stop`; returns latencies and failures.
fn prober(
    http: SocketAddr,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> (Vec<Duration>, Vec<String>) {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let tick = Instant::now();
        for path in ["/lists/tor-exits.txt", "/metrics"] {
            match get(http, path) {
                Ok(took) => ok.push(took),
                Err(e) => failed.push(e),
            }
        }
        std::thread::sleep(every.saturating_sub(tick.elapsed()));
    }
    (ok, failed)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> u64 {
    let mut max = 0;
    while !stop.load(Ordering::Relaxed) {
        max = max.max(rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    max
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn report(prefix: &str, sent: Sent) {
    println!("{prefix}_sent {}", sent.total());
    println!("{prefix}_netfilter {}", sent.netfilter);
    println!("{prefix}_garbage {}", sent.garbage);
    println!("{prefix}_oversize {}", sent.oversize);
}

fn main() -> anyhow::Result<()> {
    let udp: SocketAddr = arg("--udp", "127.0.0.1:5514").parse()?;
    let tcp: SocketAddr = arg("--tcp", "127.0.0.1:5515").parse()?;
    let http: SocketAddr = arg("--http", "127.0.0.1:8080").parse()?;
    let pid: u32 = arg("--pid", "0").parse()?;
    let seconds = Duration::from_secs_f64(arg("--seconds", "10").parse()?);
    let udp_threads: usize = arg("--udp-threads", "1").parse()?;
    let tcp_conns: usize = arg("--tcp-conns", "1").parse()?;
    let probe_every = Duration::from_millis(arg("--probe-ms", "50").parse()?);
    let mix = Arc::new(mix(arg("--max-message", "2048").parse()?));

    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let udps: Vec<_> = (0..udp_threads)
        .map(|_| {
            let (mix, stop) = (mix.clone(), stop.clone());
            std::thread::spawn(move || udp_sender(udp, mix, stop))
        })
        .collect();
    let tcps: Vec<_> = (0..tcp_conns)
        .map(|_| {
            let (mix, stop) = (mix.clone(), stop.clone());
            std::thread::spawn(move || tcp_sender(tcp, mix, stop))
        })
        .collect();
    let probe = {
        let stop = stop.clone();
        std::thread::spawn(move || prober(http, probe_every, stop))
    };
    let rss = {
        let stop = stop.clone();
        std::thread::spawn(move || rss_sampler(pid, stop))
    };
    std::thread::sleep(seconds);
    stop.store(true, Ordering::Relaxed);

    let joined = |what| anyhow::anyhow!("{what} thread panicked");
    let mut udp_sent = Sent::default();
    for t in udps {
        udp_sent.merge(t.join().map_err(|_| joined("udp"))?);
    }
    let mut tcp_sent = Sent::default();
    for t in tcps {
        tcp_sent.merge(t.join().map_err(|_| joined("tcp"))??);
    }
    let took = start.elapsed().as_secs_f64();
    let (mut latencies, failures) = probe.join().map_err(|_| joined("probe"))?;
    let rss_max = rss.join().map_err(|_| joined("rss"))?;
    latencies.sort();

    report("udp", udp_sent);
    report("tcp", tcp_sent);
    println!("seconds {took:.2}");
    println!("probes {}", latencies.len() + failures.len());
    println!("probe_failures {}", failures.len());
    for f in failures.iter().take(5) {
        println!("# probe failed: {f}");
    }
    println!("probe_p50_ms {:.1}", percentile(&latencies, 0.50));
    println!("probe_p99_ms {:.1}", percentile(&latencies, 0.99));
    println!("probe_max_ms {:.1}", percentile(&latencies, 1.0));
    println!("rss_max_kib {rss_max}");
    Ok(())
}
