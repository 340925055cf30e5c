//! Command-line interface: argument parsing and the small commands (`check-config`, `lookup`). The service itself
//! is `service::run`.

use crate::config::Config;
use crate::keeper::state::SavedState;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "torwatch",
    version,
    about = "Keeps the Tor exit list current, publishes it to firewalls and watches their logs for Tor traffic"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Run {
        #[arg(long, short, default_value = "config/torwatch.yaml")]
        config: PathBuf,
    },
    /// Validate a config file; every problem is printed with its key path.
    CheckConfig {
        #[arg(long, short, default_value = "config/torwatch.yaml")]
        config: PathBuf,
    },
    /// Show how each log line is read: the detected format and the parsed event.
    Explain {
        /// A fixed log format instead of auto-detection.
        #[arg(long)]
        format: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// A log file, or - for standard input.
        #[arg(default_value = "-")]
        file: PathBuf,
    },
    /// Answer the five questions over log files: distinct exits, top exits, countries, ports, HTTP errors.
    Scan {
        /// Log files (plain or gzip); - for standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// An exit list file in any source format (TorDNSEL / CollecTor, Onionoo, bulk, plain).
        #[arg(long)]
        exits: Option<PathBuf>,
        /// Match against this state directory's lists (default: the config's state_dir).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Match each event against the list of the event's own time (needs history from a state directory).
        #[arg(long)]
        at_time_of_event: bool,
        #[arg(long)]
        json: bool,
        /// A fixed log format instead of auto-detection.
        #[arg(long)]
        format: Option<String>,
        /// A country database (.mmdb) for exits the list has no country for (default: the config's
        /// matcher.geoip).
        #[arg(long)]
        geoip: Option<PathBuf>,
        /// Config to read lines as the service does: its netfilter_actions, its matcher.geoip, and its state_dir
        /// when neither --exits nor --state-dir is given [default: config/torwatch.yaml, read only then].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Was this address a Tor exit (at TIME), and according to which sources?
    Lookup {
        ip: std::net::IpAddr,
        /// RFC 3339 time, `YYYY-MM-DD HH:MM[:SS]` (UTC), or unix seconds; default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, short, default_value = "config/torwatch.yaml")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Run { config } => run(&config),
        Command::CheckConfig { config } => return check_config(&config),
        Command::Lookup {
            ip,
            at,
            config,
            json,
        } => lookup(ip, at.as_deref(), &config, json),
        Command::Explain { format, json, file } => explain(format.as_deref(), json, &file),
        Command::Scan {
            files,
            exits,
            state_dir,
            at_time_of_event,
            json,
            format,
            geoip,
            config,
        } => {
            let format = match format.as_deref().map(log_format).transpose() {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("torwatch: {e:#}");
                    return ExitCode::from(2);
                }
            };
            // The config is read when named, or when it must say where the state is.
            let config = match (config, exits.is_none() && state_dir.is_none()) {
                (Some(path), _) => Some(path),
                (None, true) => Some(PathBuf::from("config/torwatch.yaml")),
                (None, false) => None,
            };
            let config = match config.as_deref().map(load).transpose() {
                Ok(c) => c,
                Err(code) => return code,
            };
            let state_dir = match (&exits, state_dir) {
                (Some(_), s) => s,
                (None, Some(s)) => Some(s),
                (None, None) => config.as_ref().map(|c| c.state_dir.clone()),
            };
            let actions = config.as_ref().and_then(|c| {
                crate::parsers::netfilter::PrefixActions::configured(&c.netfilter_actions)
            });
            let opts = crate::scan::ScanOptions {
                files,
                exits,
                state_dir,
                at_time_of_event,
                json,
                format,
                progress: true,
                geoip: geoip.or_else(|| config.as_ref().and_then(|c| c.matcher.geoip.clone())),
                context: crate::parsers::Context::new(actions.map(std::sync::Arc::new), None)
                    .at(crate::clock::now()),
            };
            crate::scan::run(&opts, std::io::stdout().lock()).map(|_| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("torwatch: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TORWATCH_LOG")
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("{}: {} problem(s)", path.display(), errors.0.len());
        eprintln!("{errors}");
        ExitCode::from(2)
    })
}

/// Refuses what `run` refuses (the same checks: [`crate::service::open`]) and warns about what would quietly
/// lose everything. Exit status 0 with or without warnings, 2 on any problem.
fn check_config(path: &std::path::Path) -> ExitCode {
    let c = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opened = match crate::service::open(&c) {
        Ok(opened) => opened,
        Err(errors) => {
            eprintln!("{}: {} problem(s)", path.display(), errors.0.len());
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    for w in &opened.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{}: ok ({} sources, {} inputs, {} publish files{})",
        path.display(),
        c.sources.len(),
        c.inputs.len(),
        c.publish.len(),
        match opened.warnings.len() {
            0 => String::new(),
            n => format!(", {n} warning(s)"),
        }
    );
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(crate::service::run(path.to_path_buf(), config))?;
    Ok(ExitCode::SUCCESS)
}

fn log_format(name: &str) -> anyhow::Result<crate::parsers::LogFormat> {
    crate::parsers::LogFormat::from_name(name).with_context(|| {
        let names: Vec<_> = crate::parsers::LogFormat::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        format!(
            "--format: {name:?} is not a log format ({})",
            names.join(", ")
        )
    })
}

fn explain(format: Option<&str>, json: bool, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let opts = crate::explain::Options {
        format: format.map(log_format).transpose()?,
        json,
    };
    let out = std::io::stdout().lock();
    if file.as_os_str() == "-" {
        crate::explain::run(std::io::stdin().lock(), out, &opts)?;
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        crate::explain::run(std::io::BufReader::new(f), out, &opts)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `--at`: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` in UTC, a date, or unix seconds.
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt.and_utc().timestamp());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc().timestamp())
            .unwrap_or(0));
    }
    anyhow::bail!(
        "--at: {text:?} is not a time (RFC 3339, \"YYYY-MM-DD HH:MM\" UTC, or unix seconds)"
    )
}

/// `torwatch lookup`: exit status 0 listed at that time, 1 not listed and the history covers that time, 3 unknown
/// (no history, or a time before it or in the future: the covered span is printed), 2 usage or config error.
fn lookup(
    ip: std::net::IpAddr,
    at: Option<&str>,
    path: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = match load(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let now = crate::clock::now();
    let at = match at.map(parse_time).transpose() {
        Ok(at) => at.unwrap_or(now),
        Err(e) => {
            eprintln!("torwatch: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let state = match SavedState::load(&config.state_dir) {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            eprintln!("torwatch: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let when = time(at);
    let covered = crate::keeper::covered(&state, now);
    let found = crate::keeper::lookup(&config, &state, ip, at, now);
    let known = !found.is_empty() || covered.is_some_and(|(from, to)| from <= at && at <= to);
    let span = match covered {
        Some((from, to)) => format!("the history covers {} to {}", time(from), time(to)),
        None => format!("there is no history in {}", config.state_dir.display()),
    };
    if json {
        let matches: Vec<_> = found
            .iter()
            .map(|(list, net, prov)| serde_json::json!({"list": list, "network": net.to_string(), "provenance": prov}))
            .collect();
        let tor = if known {
            serde_json::json!(!matches.is_empty())
        } else {
            serde_json::Value::Null
        };
        let covered =
            covered.map(|(from, to)| serde_json::json!({"from": time(from), "to": time(to)}));
        println!(
            "{}",
            serde_json::json!({"address": ip.to_string(), "at": when, "tor": tor, "covered": covered, "matches": matches})
        );
    } else if !known {
        println!("unknown whether {ip} was a Tor exit at {when}: {span}");
    } else if found.is_empty() {
        println!("{ip} was not in any list at {when} ({span})");
    } else {
        for (list, net, prov) in &found {
            let relay = [
                prov.nickname.clone(),
                prov.country.clone(),
                prov.fingerprints.first().cloned(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            println!(
                "{ip} was in {list} ({net}) at {when} according to {}{}",
                prov.sources.join(", "),
                if relay.is_empty() {
                    String::new()
                } else {
                    format!(" [{relay}]")
                }
            );
        }
    }
    // Exit status answers the question for scripts; "unknown" is never "no".
    Ok(if !found.is_empty() {
        ExitCode::SUCCESS
    } else if known {
        ExitCode::from(1)
    } else {
        ExitCode::from(3)
    })
}
