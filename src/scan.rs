//! `torwatch scan`: the offline answer. Reads log files, parses every line, matches events against an exit list
//! file or the state directory's lists (optionally the list of each event's own time) and reports distinct exits,
//! hits per exit, countries, ports, protocols, actions and HTTP statuses, as JSON or a table.

mod read;
mod reference;
mod table;
mod tally;

pub use reference::{Reference, RETENTION};

use crate::matcher::Geoip;
use crate::parsers::LogFormat;
use anyhow::Context;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use tally::{Scan, Tally};

/// What to scan and how to report it.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Log files, plain or gzip; `-` is standard input.
    pub files: Vec<PathBuf>,
    /// An exit list file in any source format (TorDNSEL, Onionoo, plain/bulk). Wins over `state_dir`.
    pub exits: Option<PathBuf>,
    /// A torwatch state directory whose lists (and history) to match against.
    pub state_dir: Option<PathBuf>,
    /// With `state_dir`: match each event against the list of the event's own time.
    pub at_time_of_event: bool,
    pub json: bool,
    /// A fixed log format; `None` detects it per line.
    pub format: Option<LogFormat>,
    /// Show a progress bar on standard error (only when it is a terminal).
    pub progress: bool,
    /// A country database (`.mmdb`) for exits whose list carries no country.
    pub geoip: Option<PathBuf>,
    /// The context lines are read in: the configured netfilter prefix rules (default: the built-in ones).
    pub context: crate::parsers::Context,
}

/// The answer. Field names are the JSON keys of `scan --json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Report {
    pub lines: u64,
    pub parsed: u64,
    pub tor_hits: u64,
    pub distinct_exits: u64,
    pub by_exit: BTreeMap<String, u64>,
    pub by_country: BTreeMap<String, u64>,
    pub by_port: BTreeMap<String, u64>,
    pub by_proto: BTreeMap<String, u64>,
    pub by_action: BTreeMap<String, u64>,
    pub http_status: BTreeMap<String, u64>,
}

/// Scans the files and writes the report to `out`.
pub fn run(opts: &ScanOptions, out: impl Write) -> anyhow::Result<Report> {
    let geoip = opts.geoip.as_deref().map(Geoip::open).transpose()?;
    let reference = match (&opts.exits, &opts.state_dir) {
        (Some(file), _) => Reference::from_file(file, geoip.as_ref())?,
        (None, Some(dir)) => Reference::from_state(
            dir,
            opts.at_time_of_event,
            geoip.as_ref(),
            crate::clock::now(),
        )?,
        (None, None) => {
            anyhow::bail!("nothing to match against: give an exit list file or a state directory")
        }
    };
    let report = scan(opts, &reference)?;
    // Buffered: standard output writes a line at a time, and a report can hold some 65,000 ports.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    if opts.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        table::write(&report, &mut out)?;
    }
    out.flush()?;
    Ok(report)
}

/// Scans the files against a reference already built.
pub fn scan(opts: &ScanOptions, reference: &Reference) -> anyhow::Result<Report> {
    let scan = Scan {
        reference,
        format: opts.format,
        context: opts.context.clone(),
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut total = Tally::new(&scan);
    for path in &opts.files {
        for tally in scan_one(path, &scan, threads, opts.progress)? {
            total.merge(&tally);
        }
    }
    Ok(total.report(reference))
}

fn scan_one(
    path: &Path,
    scan: &Scan<'_>,
    threads: usize,
    progress: bool,
) -> anyhow::Result<Vec<Tally>> {
    if path == Path::new("-") {
        let mut tally = Tally::new(scan);
        read::stdin(&mut tally, scan).context("cannot read standard input")?;
        return Ok(vec![tally]);
    }
    let fail = || format!("cannot read {}", path.display());
    let bar = progress.then(|| progress_bar(path)).flatten();
    let gzip = read::is_gzip(path).with_context(fail)?;
    // A flow-log file's header line gives the field order of every part of the file.
    let head = read::first_line(path, gzip).with_context(fail)?;
    let result = if gzip {
        let mut tally = seeded(scan, &head);
        read::gzip(path, &mut tally, scan, bar.as_ref()).with_context(fail)?;
        vec![tally]
    } else {
        read::plain(path, threads, scan, bar.as_ref(), || seeded(scan, &head)).with_context(fail)?
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result)
}

/// A tally for a part of a file whose first line is `head`: a flow-log header there sets the field order of every
/// part.
fn seeded(scan: &Scan<'_>, head: &[u8]) -> Tally {
    let mut tally = Tally::new(scan);
    tally.learn(head);
    tally
}

/// A byte progress bar on standard error, when that is a terminal.
fn progress_bar(path: &Path) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(path).ok()?.len();
    let bar = indicatif::ProgressBar::new(len);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .ok()?;
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(path.display().to_string());
    Some(bar)
}

#[cfg(test)]
mod tests;
