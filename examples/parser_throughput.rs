//! Throughput of the PAN-OS, FortiGate, VPC Flow, CEF/LEEF and access-log parsers over their fixture lines, with
//! the format fixed and auto-detected. Prints nanoseconds of CPU time per line (process CPU time from
//! `/proc/self/stat` on Linux, so a busy machine does not inflate it; wall time elsewhere); fails nothing.
//!
//! `cargo run --release --example parser_throughput [rounds] [format]`

use std::hint::black_box;
use std::time::Instant;

use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::{parse_auto, LogFormat};

const FIXTURES: [(LogFormat, &str); 5] = [
    (
        LogFormat::Panos,
        include_str!("../tests/fixtures/logs/panos.txt"),
    ),
    (
        LogFormat::Fortigate,
        include_str!("../tests/fixtures/logs/fortigate.txt"),
    ),
    (
        LogFormat::VpcFlow,
        include_str!("../tests/fixtures/logs/vpcflow.txt"),
    ),
    (
        LogFormat::Cef,
        include_str!("../tests/fixtures/logs/cef.txt"),
    ),
    (
        LogFormat::WebAccess,
        include_str!("../tests/fixtures/logs/access.txt"),
    ),
];

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let only = std::env::args().nth(2);
    for (format, fixture) in FIXTURES {
        if only.as_deref().is_some_and(|name| name != format.as_str()) {
            continue;
        }
        let lines: Vec<&[u8]> = fixture
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("=> "))
            .map(str::as_bytes)
            .collect();
        let bytes: usize = lines.iter().map(|l| l.len()).sum();
        let mut stamps = Stamps::at(torwatch::clock::now());
        let fixed = time(rounds, &lines, |l| format.parse(l, &mut stamps).is_ok());
        let auto = time(rounds, &lines, |l| parse_auto(l, &mut stamps).is_ok());
        let per_line = |total: f64| total / (rounds * lines.len()) as f64;
        println!(
            "{:<10} {:>3} lines, {:>4} B/line: fixed {:>6.0} ns/line, auto-detected {:>6.0} ns/line",
            format.as_str(),
            lines.len(),
            bytes / lines.len().max(1),
            per_line(fixed),
            per_line(auto),
        );
    }
}

/// Total nanoseconds for `rounds` passes of `f` over `lines`.
fn time(rounds: usize, lines: &[&[u8]], mut f: impl FnMut(&[u8]) -> bool) -> f64 {
    let (wall, cpu) = (Instant::now(), cpu_ticks());
    for _ in 0..rounds {
        for line in lines {
            black_box(f(black_box(line)));
        }
    }
    match (cpu, cpu_ticks()) {
        // Linux reports user+system time in clock ticks of 10 ms.
        (Some(a), Some(b)) if b > a => (b - a) as f64 * 1e7,
        _ => wall.elapsed().as_nanos() as f64,
    }
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
