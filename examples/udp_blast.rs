//! Benchmark sender: RFC 3164 syslog datagrams (a netfilter drop line padded to 200 bytes) at a fixed rate, paced
//! per half millisecond, 64 per system call: by default one buffer the kernel cuts into 64 datagrams (UDP
//! segmentation offload; each still arrives as its own datagram), or `--mode mmsg` for one `sendmmsg` of 64. From
//! `--threads` sockets sharing the rate. Prints how many it sent and the rate it achieved.
//!
//! `udp_blast --to 127.0.0.1:15514 --rate 100000 --seconds 3 [--threads 2] [--mode gso|mmsg]`

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

/// Datagrams handed to the kernel per system call.
const BATCH: usize = 64;
/// Size of every datagram: messages are padded with spaces to it, so that the kernel can cut one send into
/// `BATCH` datagrams (UDP segmentation offload).
const SEGMENT: usize = 200;

/// Writes message number `seq` into `msg`, padded to `SEGMENT` bytes.
fn message(msg: &mut Vec<u8>, seq: u64) -> std::io::Result<()> {
    let start = msg.len();
    write!(
        msg,
        "<4>Nov 29 03:50:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00 SRC=185.220.101.{} DST=10.0.0.1 LEN=60 \
         TOS=0x00 PROTO=TCP SPT={} DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 seq={seq}",
        seq % 250,
        1024 + seq % 60000
    )?;
    msg.resize(start + SEGMENT, b' ');
    Ok(())
}

/// How datagrams reach the kernel.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `BATCH` datagrams in one `sendmmsg` call.
    Mmsg,
    /// One buffer of `BATCH` segments per `send`, cut into datagrams by the kernel (`UDP_SEGMENT`): the cheapest
    /// way to make many datagrams per second, so the receiver is what is measured.
    Gso,
}

/// Sends `total` datagrams at `rate` per second; message numbers are `first + k * stride`.
fn blast(
    to: SocketAddr,
    rate: f64,
    total: u64,
    first: u64,
    stride: u64,
    mode: Mode,
) -> anyhow::Result<u64> {
    use nix::sys::socket::{sendmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrIn};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(to)?;
    if mode == Mode::Gso {
        setsockopt(&socket, sockopt::UdpGsoSegment, &(SEGMENT as i32))?;
    }
    let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let no_addresses = [None; BATCH];
    let mut buf = Vec::with_capacity(BATCH * SEGMENT);
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).min(total);
        while sent < due {
            let n = usize::try_from(due - sent).unwrap_or(BATCH).min(BATCH);
            buf.clear();
            for k in 0..n {
                message(&mut buf, first + (sent + k as u64) * stride)?;
            }
            let result = match mode {
                Mode::Gso => nix::sys::socket::send(socket.as_raw_fd(), &buf, MsgFlags::empty())
                    .map(|bytes| bytes / SEGMENT),
                Mode::Mmsg => {
                    let slices: Vec<[IoSlice<'_>; 1]> =
                        buf.chunks(SEGMENT).map(|m| [IoSlice::new(m)]).collect();
                    let addrs = no_addresses.get(..n).unwrap_or_default();
                    sendmmsg(
                        socket.as_raw_fd(),
                        &mut headers,
                        &slices,
                        addrs,
                        [],
                        MsgFlags::empty(),
                    )
                    .map(|r| r.count())
                }
            };
            match result {
                Ok(k) => sent += k as u64,
                Err(nix::errno::Errno::ECONNREFUSED) => anyhow::bail!("nothing listens on {to}"),
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::ENOBUFS) => {}
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
    let mode = match arg("--mode", "gso").as_str() {
        "gso" => Mode::Gso,
        "mmsg" => Mode::Mmsg,
        other => anyhow::bail!("--mode {other}: gso or mmsg"),
    };
    let total = (rate as f64 * seconds) as u64;
    let start = Instant::now();
    let senders: Vec<_> = (0..threads)
        .map(|t| {
            let share = total / threads + u64::from(t < total % threads);
            std::thread::spawn(move || {
                blast(to, rate as f64 / threads as f64, share, t, threads, mode)
            })
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
