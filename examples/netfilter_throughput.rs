//! Throughput of the netfilter LOG parser on typical lines: the addresses only (`netfilter::addresses`, what a scan
//! reads of a line that is not Tor), the format fixed (`netfilter::parse`) and auto-detected (`parse_auto`). Prints nanoseconds of CPU time per line and lines per second on one thread (process
//! CPU time from `/proc/self/stat` on Linux, so a busy machine does not inflate it; wall time elsewhere); fails
//! nothing. `bench/parse_netfilter.sh` runs it under callgrind for instruction counts.
//!
//! `cargo run --release --example netfilter_throughput [rounds] [case] [addresses|fixed|auto]`

use std::hint::black_box;
use std::time::Instant;

use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::{netfilter, parse_auto};

/// (name, line): the shapes the netfilter parser meets most.
const CASES: [(&str, &str); 6] = [
    (
        "iptables-uptime",
        "Mar  5 10:11:12 edge-1 kernel: [81234.567890] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 \
         SRC=185.220.101.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=4711 DF PROTO=TCP SPT=44321 DPT=22 \
         WINDOW=64240 RES=0x00 SYN URGP=0",
    ),
    (
        "iptables",
        "Mar  5 10:11:12 edge-1 kernel: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 \
         SRC=185.220.101.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=4711 DF PROTO=TCP SPT=44321 DPT=22 \
         WINDOW=64240 RES=0x00 SYN URGP=0",
    ),
    (
        "ip6tables",
        "Mar  5 10:11:12 v6gw kernel: [16571.459614] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:86:dd \
         SRC=2a0b:f4c2:0002:0000:0000:0000:0000:0017 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=80 TC=0 \
         HOPLIMIT=57 FLOWLBL=0 PROTO=TCP SPT=443 DPT=51234 WINDOW=64800 RES=0x00 SYN URGP=0",
    ),
    (
        "icmp",
        "Mar  5 10:11:12 edge-1 kernel: [81234.567890] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 \
         SRC=185.220.101.7 DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL=52 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 \
         ID=3210 SEQ=1",
    ),
    (
        "ufw-rfc3339",
        "2025-04-28T04:26:10.353484+02:00 nyc-1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=fa:16:3e:00:00:01:fa:16:3e:00:00:02:08:00 \
         SRC=185.220.101.7 DST=203.0.113.5 LEN=44 TOS=0x00 PREC=0x00 TTL=242 ID=54321 PROTO=TCP SPT=52314 DPT=3389 \
         WINDOW=1024 RES=0x00 SYN URGP=0",
    ),
    (
        "rfc5424",
        "<4>1 2024-03-05T10:11:12Z fw1 kernel - - - filter_IN_public_REJECT: IN=enp1s0 OUT= \
         MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=198.51.100.77 DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 \
         TTL=241 ID=54321 PROTO=TCP SPT=51110 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0",
    ),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let only = args.next().filter(|a| a != "all");
    let mode = args.next();
    for (name, line) in CASES {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let line = line.as_bytes();
        let mut stamps = Stamps::at(torwatch::clock::now());
        assert!(
            netfilter::parse(line, &mut stamps).is_ok(),
            "{name} does not parse"
        );
        let mut out = format!("{name:<16} {:>4} B", line.len());
        if mode.is_none() || mode.as_deref() == Some("addresses") {
            let ns = time(rounds, line, |l| netfilter::addresses(l).is_ok());
            out += &format!("  addresses {ns:>6.0} ns/line {:>5.2} M lines/s", 1e3 / ns);
        }
        if mode.is_none() || mode.as_deref() == Some("fixed") {
            let ns = time(rounds, line, |l| netfilter::parse(l, &mut stamps).is_ok());
            out += &format!("  fixed {ns:>6.0} ns/line {:>5.2} M lines/s", 1e3 / ns);
        }
        if mode.is_none() || mode.as_deref() == Some("auto") {
            let ns = time(rounds, line, |l| parse_auto(l, &mut stamps).is_ok());
            out += &format!("  auto {ns:>6.0} ns/line {:>5.2} M lines/s", 1e3 / ns);
        }
        if rounds > 0 {
            println!("{out}");
        }
    }
}

/// Nanoseconds per call of `f` over `rounds` calls.
fn time(rounds: usize, line: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> f64 {
    let (wall, cpu) = (Instant::now(), cpu_ticks());
    let mut ok = 0usize;
    for _ in 0..rounds {
        ok += usize::from(f(black_box(line)));
    }
    assert_eq!(ok, rounds);
    let total = match (cpu, cpu_ticks()) {
        // Linux reports user+system time in clock ticks of 10 ms.
        (Some(a), Some(b)) if b > a => (b - a) as f64 * 1e7,
        _ => wall.elapsed().as_nanos() as f64,
    };
    total / rounds.max(1) as f64
}

/// User plus system CPU time of this process in clock ticks, from `/proc/self/stat`.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}
