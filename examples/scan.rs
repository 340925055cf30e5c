//! `torwatch scan` as a stand-alone program, for benchmarks: `scan [--exits FILE | --state DIR [--at-time]]
//! [--format NAME] [--json] FILE…`.

use clap::Parser;
use std::path::PathBuf;
use torwatch::parsers::LogFormat;
use torwatch::scan::{self, ScanOptions};

#[derive(Parser)]
struct Args {
    files: Vec<PathBuf>,
    #[arg(long)]
    exits: Option<PathBuf>,
    #[arg(long)]
    state: Option<PathBuf>,
    #[arg(long)]
    at_time: bool,
    #[arg(long)]
    format: Option<String>,
    #[arg(long)]
    json: bool,
    #[arg(long)]
    geoip: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let format = match args.format.as_deref() {
        None | Some("auto") => None,
        Some(name) => Some(
            LogFormat::from_name(name).ok_or_else(|| anyhow::anyhow!("unknown format {name}"))?,
        ),
    };
    let opts = ScanOptions {
        files: args.files,
        exits: args.exits,
        state_dir: args.state,
        at_time_of_event: args.at_time,
        json: args.json,
        format,
        progress: true,
        geoip: args.geoip,
        context: torwatch::parsers::Context::default().at(torwatch::clock::now()),
    };
    scan::run(&opts, std::io::stdout().lock())?;
    Ok(())
}
