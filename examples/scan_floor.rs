//! What the byte work of a netfilter scan costs on one thread, stage by stage, before any counting: reading the
//! file in the scan's chunks, cutting lines, the three word searches (` SRC=`, ` IN=` before it, ` PROTO=` after
//! it), and parsing the source and destination addresses. Each stage does everything the one before it does, so
//! the difference between two rows is the price of one step. `bench/scan_vs_mawk.sh` runs it after the scan, to
//! show how close the scan is to the floor of its own method. Prints figures; fails nothing.
//!
//! `cargo run --release --example scan_floor FILE`

use std::fs::File;
use std::io::Read;
use std::time::Instant;

use memchr::memmem::Finder;
use torwatch::event::parse_ip;

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
    let (lines, _) = run(&path, 1, &searches)?;
    println!(
        "{:<30} {:>8} {:>14}   (one thread; wall time)",
        "stage", "s", "lines/s"
    );
    for (stage, name) in STAGES.iter().enumerate() {
        let started = Instant::now();
        let (_, sum) = run(&path, stage, &searches)?;
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        println!(
            "{name:<30} {secs:>8.2} {:>14.0}   (checksum {sum})",
            lines as f64 / secs
        );
    }
    Ok(())
}

/// Reads the file through `stage`; returns the lines cut and a checksum of what was found, so that nothing is
/// optimised away.
fn run(path: &str, stage: usize, s: &Searches) -> anyhow::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 256 << 10];
    let (mut filled, mut lines, mut sum) = (0usize, 0u64, 0u64);
    loop {
        let n = file.read(buf.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            return Ok((lines, sum));
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
                sum += line(data.get(start..nl).unwrap_or_default(), stage, s);
                start = nl + 1;
            }
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
}

fn line(l: &[u8], stage: usize, s: &Searches) -> u64 {
    if stage < 2 {
        return 0;
    }
    let Some(src_at) = s.src.find(l) else {
        return 0;
    };
    let mut sum = src_at as u64;
    if stage >= 3 {
        sum += s.inn.find(l.get(..src_at).unwrap_or_default()).unwrap_or(0) as u64;
    }
    if stage >= 4 {
        sum += s
            .proto
            .find(l.get(src_at..).unwrap_or_default())
            .unwrap_or(0) as u64;
    }
    if stage >= 5 {
        let value = |at: usize| {
            let rest = l.get(at..).unwrap_or_default();
            let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            (rest.get(..end).unwrap_or_default(), at + end + 1)
        };
        let (src, next) = value(src_at + 5);
        sum += parse_ip(src).map_or(0, |ip| ip_bits(ip) & 0xff);
        if stage >= 6 {
            let (dst, _) = value(next + 4);
            sum += parse_ip(dst).map_or(0, |ip| ip_bits(ip) & 0xff);
        }
    }
    sum
}

fn ip_bits(ip: std::net::IpAddr) -> u64 {
    match ip {
        std::net::IpAddr::V4(a) => u64::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a) as u64,
    }
}
