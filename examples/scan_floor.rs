//! What the byte work of a netfilter scan costs on one thread, stage by stage, before any counting: reading the
//! file in the scan's chunks, cutting lines, the three word searches (` SRC=`, ` IN=` before it, ` PROTO=` after
//! it), and parsing the source and destination addresses. Each stage does everything the one before it does, so
//! the difference between two rows is the price of one step. `bench/scan_vs_mawk.sh` runs it after the scan, to
//! show how close the scan is to the floor of its own method. Prints figures; fails nothing.
//!
//! `cargo run --release --example scan_floor FILE`

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

use memchr::memmem::Finder;
use torwatch::address::parse_ip;

const STAGES: [&str; 7] = [
    "read (256 KiB chunks)",
    "+ cut lines",
    "+ search ` SRC=`",
    "+ search ` IN=` before it",
    "+ search ` PROTO=` after it",
    "+ parse SRC",
    "+ parse DST",
];

struct Searches {
    src: Finder<'static>,
    inn: Finder<'static>,
    proto: Finder<'static>,
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: scan_floor FILE"))?;
    let searches = Searches {
        src: Finder::new(b" SRC="),
        inn: Finder::new(b" IN="),
        proto: Finder::new(b" PROTO="),
    };
    // One untimed pass brings the file into the page cache for every stage alike, and counts its lines.
    let lines = run(&path, 1, &searches)?;
    println!(
        "{:<30} {:>8} {:>14}   (one thread; wall time)",
        "stage", "s", "lines/s"
    );
    for (stage, name) in STAGES.iter().enumerate() {
        let started = Instant::now();
        run(&path, stage, &searches)?;
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        println!("{name:<30} {secs:>8.2} {:>14.0}", lines as f64 / secs);
    }
    Ok(())
}

/// Reads the file through `stage`; returns the number of lines cut.
fn run(path: &str, stage: usize, s: &Searches) -> anyhow::Result<u64> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 256 << 10];
    let (mut filled, mut lines) = (0usize, 0u64);
    loop {
        let n = file.read(buf.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            return Ok(lines);
        }
        filled += n;
        let window = buf.get(..filled).unwrap_or_default();
        let end = match memchr::memrchr(b'\n', window) {
            Some(nl) => nl + 1,
            None if filled == buf.len() => filled,
            None => continue,
        };
        if stage >= 1 {
            let data = window.get(..end).unwrap_or_default();
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', data) {
                lines += 1;
                line(data.get(start..nl).unwrap_or_default(), stage, s);
                start = nl + 1;
            }
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
}

/// The stages from the searches on, each result handed to `black_box` so that none is optimised away.
fn line(l: &[u8], stage: usize, s: &Searches) {
    if stage < 2 {
        return;
    }
    let Some(src_at) = black_box(s.src.find(l)) else {
        return;
    };
    if stage >= 3 {
        black_box(s.inn.find(l.get(..src_at).unwrap_or_default()));
    }
    if stage >= 4 {
        black_box(s.proto.find(l.get(src_at..).unwrap_or_default()));
    }
    if stage >= 5 {
        // A value ends at its space. memchr finds it faster here than a plain loop does, so the floor is not
        // raised by the search.
        let value = |at: usize| {
            let rest = l.get(at..).unwrap_or_default();
            let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            (rest.get(..end).unwrap_or_default(), at + end + 1)
        };
        let (src, next) = value(src_at + 5);
        black_box(parse_ip(src));
        if stage >= 6 {
            black_box(parse_ip(value(next + 4).0));
        }
    }
}
