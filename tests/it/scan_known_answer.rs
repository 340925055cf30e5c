//! `scan` against generated logs whose answers are known exactly: `bench/gen_netfilter.py` writes a netfilter log,
//! a gzip access log, the exit list (plain and Onionoo) and the report `scan --json` must print. Plus matching at
//! the time of the event against a state directory's history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use torwatch::keeper::history::{History, Sighting, Times};
use torwatch::keeper::state::{SavedState, SourceState};
use torwatch::scan::{self, Report, ScanOptions};

/// Lines in the generated netfilter log; `TORWATCH_KAT_LINES` overrides (`.ci/run` uses 1,000,000 in release).
fn lines() -> u64 {
    std::env::var("TORWATCH_KAT_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            200_000
        } else {
            1_000_000
        })
}

fn generate(dir: &Path, lines: u64) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_netfilter.py");
    let status = Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(["--lines", &lines.to_string(), "--seed", "11"])
        .status()
        .expect("python3 runs the generator");
    assert!(status.success(), "generator failed: {status}");
}

fn expected(path: PathBuf) -> Report {
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap()
}

fn run(opts: &ScanOptions) -> (Report, serde_json::Value) {
    let mut out = Vec::new();
    let report = scan::run(opts, &mut out).expect("scan succeeds");
    let printed: serde_json::Value = serde_json::from_slice(&out).expect("scan --json prints JSON");
    (report, printed)
}

#[test]
fn generated_netfilter_and_access_logs_give_the_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lines();
    generate(dir.path(), lines);
    let mut opts = ScanOptions {
        files: vec![
            dir.path().join("netfilter.log"),
            dir.path().join("access.log.gz"),
        ],
        exits: Some(dir.path().join("exits.onionoo.json")),
        json: true,
        ..ScanOptions::default()
    };
    let want = expected(dir.path().join("expected.json"));
    assert!(want.lines > lines && want.distinct_exits > 1000 && want.tor_hits > lines / 20);
    let (got, printed) = run(&opts);
    assert_eq!(got.lines, want.lines);
    assert_eq!(got.parsed, want.parsed);
    assert_eq!(got.by_exit, want.by_exit);
    assert_eq!(got, want);
    assert_eq!(
        printed,
        serde_json::to_value(&want).unwrap(),
        "printed JSON keys and values"
    );

    opts.exits = Some(dir.path().join("exits.txt"));
    let (got, _) = run(&opts);
    assert_eq!(
        got,
        expected(dir.path().join("expected.plain.json")),
        "plain list: countries unknown"
    );

    opts.format = Some(torwatch::parsers::LogFormat::Netfilter);
    opts.files.truncate(1);
    let (got, _) = run(&opts);
    let want = expected(dir.path().join("expected.plain.json"));
    assert_eq!(
        got.tor_hits,
        want.tor_hits - want.http_status.values().sum::<u64>()
    );
    assert!(got.http_status.is_empty());
}

const T0: i64 = 1_764_000_000; // 2025-11-24T16:00:00Z
const H: i64 = 3600;

/// A state whose history has 198.51.100.7 listed from T0 to T0+2h (then dropped), 198.51.100.8 from T0+10h on.
fn state_dir() -> tempfile::TempDir {
    let mut history = History::default();
    // Each fetch lists exactly these addresses; `previous` is the fetch before it.
    let see = |h: &mut History, addrs: &[&str], previous: i64, now: i64| {
        let sightings = addrs.iter().map(|a| Sighting {
            net: a.parse::<std::net::IpAddr>().unwrap().into(),
            relay: None,
            approximate: false,
            measured: None,
        });
        let times = Times {
            previous,
            now,
            gap: 24 * H,
        };
        h.observe("tor-exits", "tordnsel", sightings, times);
    };
    see(&mut history, &["198.51.100.7"], 0, T0);
    see(&mut history, &["198.51.100.7"], T0, T0 + 2 * H);
    see(&mut history, &["198.51.100.8"], T0 + 2 * H, T0 + 10 * H);
    see(&mut history, &["198.51.100.8"], T0 + 10 * H, T0 + 60 * H);
    let mut state = SavedState {
        history,
        ..SavedState::default()
    };
    state.sources.insert(
        "tordnsel".into(),
        SourceState {
            loaded: true,
            entries: 1,
            last_success: T0 + 60 * H,
            ..SourceState::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    state.save(dir.path()).unwrap();
    dir
}

fn nf_line(at: i64, src: &str) -> String {
    let t = chrono::DateTime::from_timestamp(at, 0).unwrap();
    format!(
        "{} fw kernel: IN=eth0 OUT= SRC={src} DST=192.0.2.1 LEN=60 PROTO=TCP SPT=40000 DPT=22\n",
        t.to_rfc3339()
    )
}

#[test]
fn at_time_of_event_uses_the_list_of_that_time() {
    let state = state_dir();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("kern.log");
    let text = [
        nf_line(T0 - H, "198.51.100.7"), // before it was listed: no
        nf_line(T0 + H, "198.51.100.7"), // listed: yes
        nf_line(T0 + 2 * H + 20 * H, "198.51.100.7"), // within retention after the last sighting: yes
        nf_line(T0 + 2 * H + 30 * H, "198.51.100.7"), // dropped: no
        nf_line(T0 + 5 * H, "198.51.100.8"),          // not yet listed: no
        nf_line(T0 + 20 * H, "198.51.100.8"), // listed (retention after the first sighting): yes
        nf_line(T0 + 900 * H, "198.51.100.8"), // still listed by the source's last good list: yes
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let mut opts = ScanOptions {
        files: vec![log],
        state_dir: Some(state.path().to_path_buf()),
        at_time_of_event: true,
        json: true,
        ..ScanOptions::default()
    };
    let (got, _) = run(&opts);
    let by_exit = BTreeMap::from([
        ("198.51.100.7".to_string(), 2),
        ("198.51.100.8".to_string(), 2),
    ]);
    assert_eq!((got.lines, got.parsed, got.tor_hits), (7, 7, 4));
    assert_eq!(got.by_exit, by_exit);

    opts.at_time_of_event = false;
    let (got, _) = run(&opts);
    assert_eq!(
        got.by_exit,
        BTreeMap::from([("198.51.100.8".to_string(), 3)]),
        "today's list only"
    );
}
