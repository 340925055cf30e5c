//! Parsing cost over the lines of a real log file, held in memory (so that reading is not measured): nanoseconds
//! of CPU time (the thread's, where Linux tells it) per line on one thread for `addresses` (the addresses only, what a
//! scan reads of a line that is not Tor), `parse` (the whole event; of a document of flows, the first) and `each`
//! (every event of every line, as the service and `scan` read them; events per second too), with the format fixed
//! or detected from the first line. Line shapes vary as they do in the file, so branch prediction is as good or bad
//! as it will be in a scan. Fails nothing.
//!
//! `cargo run --release --example parse_file FILE [max_lines] [rounds] [addresses|parse|each]`

use std::hint::black_box;
use std::time::Instant;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::{detect, trim_line};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_file FILE [max_lines] [rounds] [addresses|parse|each]");
        std::process::exit(2);
    };
    let max: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let only = args.next();
    let data = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        std::process::exit(2);
    });
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .map(trim_line)
        .take(max)
        .collect();
    let Some(format) = lines.iter().find_map(|l| detect(l)) else {
        eprintln!("no line of {path} is in a known format");
        std::process::exit(2);
    };
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "{} lines, {:.0} B/line, format {}",
        lines.len(),
        bytes as f64 / lines.len() as f64,
        format.as_str()
    );
    let now = torwatch::clock::now();
    let runs: [(&str, &dyn Fn() -> usize); 3] = [
        ("addresses", &|| {
            lines
                .iter()
                .filter(|l| format.addresses(black_box(l)).is_ok())
                .count()
        }),
        ("parse", &|| {
            let mut stamps = Stamps::at(now);
            lines
                .iter()
                .filter(|l| format.parse(black_box(l), &mut stamps).is_ok())
                .count()
        }),
        ("each", &|| {
            let mut stamps = Stamps::at(now);
            let mut events = 0;
            for l in &lines {
                format.parse_each(black_box(l), &mut stamps, &mut |r| {
                    events += usize::from(r.is_ok())
                });
            }
            events
        }),
    ];
    for (name, run) in runs {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (ns, ok) = best(rounds, run);
        let n = lines.len() as f64;
        print!(
            "{name:<6} {:>6.1} ns/line {:>6.2} M lines/s  ({ok} ok)",
            ns / n,
            n / ns * 1e3
        );
        if name == "each" {
            print!("  {:.2} M events/s", ok as f64 / ns * 1e3);
        }
        println!();
    }
}

/// The fastest of `rounds` runs of `f`, in nanoseconds, with its result. The time is the thread's CPU time where
/// Linux tells it (`/proc/thread-self/schedstat`: time waiting for a busy core is not counted), else wall time.
fn best(rounds: usize, f: &dyn Fn() -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut ok = 0;
    for _ in 0..rounds.max(1) {
        let (t, cpu) = (Instant::now(), cpu_ns());
        ok = f();
        let ns = match (cpu, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64,
            _ => t.elapsed().as_nanos() as f64,
        };
        best = best.min(ns);
    }
    (best, ok)
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split(' ').next()?.parse().ok()
}
