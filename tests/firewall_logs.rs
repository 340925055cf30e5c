//! Firewall drop-log parsers (netfilter, filterlog, ASA, SRX, Windows Firewall) against fixture lines with their
//! expected events, plus: arbitrary bytes never panic, and every shared sample line parses or fails with a reason.

use proptest::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use torwatch::event::Event;
use torwatch::parsers::{LogFormat, ParseError};

const MINE: [LogFormat; 5] = [
    LogFormat::Netfilter,
    LogFormat::Filterlog,
    LogFormat::Asa,
    LogFormat::Srx,
    LogFormat::WinFirewall,
];

/// One event as a line of `key=value` pairs, absent fields left out.
fn render(result: Result<Event<'_>, ParseError>) -> String {
    let e = match result {
        Ok(e) => e,
        Err(err) => return format!("error {err}"),
    };
    let mut out = String::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = write!(out, "{}{k}={v}", if out.is_empty() { "" } else { " " });
        }
    };
    put("time", e.time.map(|t| t.to_string()));
    put("device", e.device.map(str::to_owned));
    put("src", e.src_ip.map(|a| a.to_string()));
    put("sport", e.src_port.map(|p| p.to_string()));
    put("dst", e.dst_ip.map(|a| a.to_string()));
    put("dport", e.dst_port.map(|p| p.to_string()));
    put("proto", e.proto.map(|p| format!("{p:?}").to_lowercase()));
    put("action", e.action.map(|a| a.as_str().to_owned()));
    put("dir", e.direction.map(|d| d.as_str().to_owned()));
    out
}

/// Fixture file: each non-comment line is followed by `=> <expected rendering>`.
fn check_fixture(format: LogFormat) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(format!("{}.txt", format.as_str()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let mut cases = 0;
    let mut failures = Vec::new();
    while let Some(input) = lines.next() {
        let want = lines
            .next()
            .and_then(|l| l.strip_prefix("=> "))
            .unwrap_or_else(|| panic!("{}: no `=> ` line after {input}", path.display()));
        let got = render(format.parse(input.as_bytes()));
        if got != want {
            failures.push(format!("{input}\n  want {want}\n  got  {got}"));
        }
        if !want.starts_with("error") {
            assert!(
                format.sniff(input.as_bytes()),
                "{} does not sniff {input}",
                format.as_str()
            );
        }
        cases += 1;
    }
    assert!(cases > 0, "{}: no cases", path.display());
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        path.display(),
        failures.join("\n")
    );
}

#[test]
fn netfilter_fixtures() {
    check_fixture(LogFormat::Netfilter);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        for format in MINE {
            let _ = format.sniff(&line);
            let _ = format.parse(&line);
        }
    }

    #[test]
    fn mangled_real_lines_never_panic(cut in 0usize..400, byte in any::<u8>(), at in 0usize..400) {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs/netfilter.txt"),
        ).unwrap_or_default();
        for format in MINE {
            for line in text.lines() {
                let mut line = line.as_bytes().to_vec();
                line.truncate(cut.min(line.len()));
                if let Some(b) = line.get_mut(at) {
                    *b = byte;
                }
                let _ = format.sniff(&line);
                let _ = format.parse(&line);
            }
        }
    }
}

fn shared() -> PathBuf {
    let dir = std::env::var_os("TORWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.is_dir(),
        "shared samples not found at {}",
        dir.display()
    );
    dir
}

/// Prints how every raw sample line of these formats fares; fails if one is claimed by no format of ours.
#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn shared_samples_parse_or_fail_with_a_reason() {
    let folders = [
        ("netfilter", LogFormat::Netfilter),
        ("pfsense-filterlog", LogFormat::Filterlog),
        ("cisco-asa", LogFormat::Asa),
        ("juniper-srx", LogFormat::Srx),
        ("windows-firewall", LogFormat::WinFirewall),
    ];
    let root = shared().join("samples/logs");
    let mut parsed = 0;
    for (folder, format) in folders {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(folder))
            .expect("sample folder")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if !matches!(ext, "log" | "jsonl") || path.to_string_lossy().contains("expected") {
                continue;
            }
            let text = std::fs::read(&path).expect("sample");
            for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
                let result = format.parse(line);
                parsed += usize::from(result.is_ok());
                println!(
                    "{folder} sniff={} {}\n    {}",
                    format.sniff(line),
                    render(result),
                    String::from_utf8_lossy(line)
                );
            }
        }
    }
    assert!(parsed > 0);
}

#[test]
fn filterlog_fixtures() {
    check_fixture(LogFormat::Filterlog);
}

#[test]
fn asa_fixtures() {
    check_fixture(LogFormat::Asa);
}

#[test]
fn srx_fixtures() {
    check_fixture(LogFormat::Srx);
}
