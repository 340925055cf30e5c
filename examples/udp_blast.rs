//! Benchmark sender: RFC 3164 syslog datagrams (a netfilter drop line, ~190 bytes) at a fixed rate, paced per
//! half millisecond, from `--threads` sockets sharing the rate. Prints how many it sent and the rate it achieved.
//!
//! `udp_blast --to 127.0.0.1:15514 --rate 100000 --seconds 3 [--threads 2]`

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
        .unwrap_or_else(|| default.into())
}

/// Sends `total` datagrams at `rate` per second; message numbers are `first + k * stride`.
fn blast(to: SocketAddr, rate: f64, total: u64, first: u64, stride: u64) -> anyhow::Result<u64> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(to)?;
    let start = Instant::now();
    let mut msg = Vec::with_capacity(256);
    let mut sent = 0u64;
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let seq = first + sent * stride;
            msg.clear();
            write!(
                msg,
                "<4>Nov 29 03:50:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=185.220.101.{} DST=10.0.0.1 \
                 LEN=60 TOS=0x00 PROTO=TCP SPT={} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 seq={seq}",
                seq % 250,
                1024 + seq % 60000
            )?;
            match socket.send(&msg) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    anyhow::bail!("nothing listens on {to}")
                }
                Err(e) => return Err(e.into()),
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(sent)
}

fn main() -> anyhow::Result<()> {
    let to: SocketAddr = arg("--to", "127.0.0.1:15514").parse()?;
    let rate: u64 = arg("--rate", "100000").parse()?;
    let seconds: f64 = arg("--seconds", "3").parse()?;
    let threads: u64 = arg("--threads", "1").parse::<u64>()?.max(1);
    let total = (rate as f64 * seconds) as u64;
    let start = Instant::now();
    let senders: Vec<_> = (0..threads)
        .map(|t| {
            let share = total / threads + u64::from(t < total % threads);
            std::thread::spawn(move || blast(to, rate as f64 / threads as f64, share, t, threads))
        })
        .collect();
    let mut sent = 0;
    for sender in senders {
        sent += sender
            .join()
            .map_err(|_| anyhow::anyhow!("sender thread panicked"))??;
    }
    let took = start.elapsed().as_secs_f64();
    println!("sent {sent} in {took:.2}s ({:.0}/s)", sent as f64 / took);
    Ok(())
}
