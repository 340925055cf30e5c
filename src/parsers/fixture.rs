//! The one harness for the log parsers' golden files. `tests/fixtures/logs/<format>.txt` holds raw lines, each
//! followed by one `=> …` line per event it gives, rendered by [`render`] (`kind=` for events that are not traffic,
//! `service=` for logins that name one), or `=> error=<reason>` (`error=<reason>(<field>)` when the error names a
//! field). `=> nosniff …` on a line's first expectation marks a line the format's recognizer must not claim. A line that
//! is `#` or starts with `# ` is a comment (so a `#Fields:` header is an input line). [`check`] checks one line;
//! the tests below run it over every format's file, and run the properties over every format's lines.
//! Test-only; reads nothing at run time (fixtures are compiled in with `include_str!`).

use std::fmt::Write;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestRunner};

use super::syslog::Stamps;
use super::{Context, LogFormat, ParseError};
use crate::address::written_in;
use crate::event::{Event, Kind};

/// How fixture lines are read: a stamp without a year is placed near 2025-06-15T12:00:00Z.
pub fn stamps() -> Stamps {
    Stamps::at(NOW)
}

/// The time fixture lines are read at: 2025-06-15T12:00:00Z.
const NOW: i64 = 1_749_988_800;

/// One-line rendering of a parse result: the kind unless it is traffic, then present fields in a fixed order; or
/// `error=<reason>`, with the field in brackets when the error names one.
pub fn render(result: Result<Event<'_>, ParseError>) -> String {
    let e = match result {
        Ok(e) => e,
        Err(err) => {
            return match err {
                ParseError::MissingField(f)
                | ParseError::BadAddress(f)
                | ParseError::BadNumber(f) => {
                    format!("error={}({f})", err.reason())
                }
                _ => format!("error={}", err.reason()),
            }
        }
    };
    let mut out = String::new();
    let mut put = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(out, "{}{k}={v}", if out.is_empty() { "" } else { " " });
    };
    if e.kind != Kind::Traffic {
        put("kind", &e.kind.as_str());
    }
    if let Some(v) = e.service {
        put("service", &v.as_str());
    }
    if let Some(v) = e.time {
        put("time", &v);
    }
    if let Some(v) = e.device {
        put("device", &v);
    }
    if let Some(v) = e.src_ip {
        put("src", &v);
    }
    if let Some(v) = e.src_port {
        put("sport", &v);
    }
    if let Some(v) = e.dst_ip {
        put("dst", &v);
    }
    if let Some(v) = e.dst_port {
        put("dport", &v);
    }
    if let Some(v) = e.proto {
        put("proto", &proto_name(v));
    }
    if let Some(v) = e.action {
        put("action", &v.as_str());
    }
    if let Some(v) = e.direction {
        put("dir", &v.as_str());
    }
    if let Some(v) = e.http_status {
        put("status", &v);
    }
    out
}

fn proto_name(p: crate::event::Proto) -> String {
    match p {
        crate::event::Proto::Other(n) => format!("other({n})"),
        p => p.as_str().to_string(),
    }
}

/// Every format's golden file.
pub const FIXTURES: [(LogFormat, &str); 19] = [
    (
        LogFormat::Netfilter,
        include_str!("../../tests/fixtures/logs/netfilter.txt"),
    ),
    (
        LogFormat::Filterlog,
        include_str!("../../tests/fixtures/logs/filterlog.txt"),
    ),
    (
        LogFormat::Panos,
        include_str!("../../tests/fixtures/logs/panos.txt"),
    ),
    (
        LogFormat::Asa,
        include_str!("../../tests/fixtures/logs/asa.txt"),
    ),
    (
        LogFormat::Fortigate,
        include_str!("../../tests/fixtures/logs/fortigate.txt"),
    ),
    (
        LogFormat::Srx,
        include_str!("../../tests/fixtures/logs/srx.txt"),
    ),
    (
        LogFormat::VpcFlow,
        include_str!("../../tests/fixtures/logs/vpcflow.txt"),
    ),
    (
        LogFormat::Cef,
        include_str!("../../tests/fixtures/logs/cef.txt"),
    ),
    (
        LogFormat::WinFirewall,
        include_str!("../../tests/fixtures/logs/winfw.txt"),
    ),
    (
        LogFormat::WebAccess,
        include_str!("../../tests/fixtures/logs/access.txt"),
    ),
    (
        LogFormat::WebError,
        include_str!("../../tests/fixtures/logs/weberror.txt"),
    ),
    (
        LogFormat::Sshd,
        include_str!("../../tests/fixtures/logs/sshd.txt"),
    ),
    (
        LogFormat::Sophos,
        include_str!("../../tests/fixtures/logs/sophos.txt"),
    ),
    (
        LogFormat::SonicWall,
        include_str!("../../tests/fixtures/logs/sonicwall.txt"),
    ),
    (
        LogFormat::WatchGuard,
        include_str!("../../tests/fixtures/logs/watchguard.txt"),
    ),
    (
        LogFormat::MikroTik,
        include_str!("../../tests/fixtures/logs/mikrotik.txt"),
    ),
    (
        LogFormat::Meraki,
        include_str!("../../tests/fixtures/logs/meraki.txt"),
    ),
    (
        LogFormat::Azure,
        include_str!("../../tests/fixtures/logs/azure.txt"),
    ),
    (
        LogFormat::Gcp,
        include_str!("../../tests/fixtures/logs/gcp.txt"),
    ),
];

/// A comment of a fixture file: `#` alone or `# …`.
fn is_comment(line: &str) -> bool {
    line == "#" || line.starts_with("# ")
}

/// The cases of a fixture file: each raw line with its `=> ` expectations (the prefix taken off). Panics on a raw
/// line without one.
pub fn cases(fixture: &str) -> Vec<(&str, Vec<&str>)> {
    let mut cases = Vec::new();
    let mut lines = fixture
        .lines()
        .filter(|l| !l.is_empty() && !is_comment(l))
        .peekable();
    while let Some(raw) = lines.next() {
        let mut expect = Vec::new();
        while let Some(want) = lines.peek().and_then(|l| l.strip_prefix("=> ")) {
            expect.push(want);
            lines.next();
        }
        assert!(
            !expect.is_empty(),
            "fixture line without `=> ` expectation: {raw}"
        );
        cases.push((raw, expect));
    }
    cases
}

/// Checks one golden case: `input` read as `format` gives the events `expect` renders, in order (one per event,
/// [`LogFormat::parse_each`]; the service's reading [`Context::parse_each`] too), and [`LogFormat::parse`] gives the
/// first. The recognizer claims the line unless the first expectation starts with `nosniff `; auto-detection
/// ([`super::detect`] and the service's [`Context::detect`]) picks `format` for every claimed line, and
/// [`super::parse_auto`] then reads it as `format` does. Returns every mismatch, empty when the case holds.
pub fn check(format: LogFormat, input: &str, expect: &[&str]) -> Vec<String> {
    let mut failures = Vec::new();
    let line = input.as_bytes();
    let sniffed = !expect.first().is_some_and(|w| w.starts_with("nosniff "));
    let wants: Vec<&str> = expect
        .iter()
        .map(|w| w.strip_prefix("nosniff ").unwrap_or(w))
        .collect();
    let mut got = Vec::new();
    format.parse_each(line, &mut stamps(), &mut |r| got.push(render(r)));
    if got != wants {
        failures.push(format!(
            " want: {}\n  got: {}",
            wants.join("\n       "),
            got.join("\n       ")
        ));
    }
    let mut context = Context::default().at(NOW);
    let mut read = Vec::new();
    context.parse_each(format, line, &mut |r| read.push(render(r)));
    if read != got {
        failures.push(format!(" the service's reading gave {}", read.join(" / ")));
    }
    let parsed = render(format.parse(line, &mut stamps()));
    let first_event = got
        .iter()
        .find(|g| !g.starts_with("error="))
        .or(got.first());
    if Some(&parsed) != first_event {
        failures.push(format!(" parse gave {parsed}"));
    }
    if format.looks_like(line) != sniffed {
        failures.push(format!(" sniff should be {sniffed}"));
    }
    if sniffed {
        let detected = super::detect(line);
        if detected != Some(format) {
            failures.push(format!(" detected as {detected:?}"));
        }
        let detected = Context::default().detect(line);
        if detected != Some(format) {
            failures.push(format!(" the service's auto-detection gave {detected:?}"));
        }
        let auto = render(super::parse_auto(line, &mut stamps()).map(|(_, e)| e));
        if auto != parsed {
            failures.push(format!(" parse_auto gave {auto}"));
        }
    }
    failures
        .into_iter()
        .map(|f| format!("{}: {input}\n{f}", format.as_str()))
        .collect()
}

/// The raw lines of a fixture: neither comments, blank lines nor `=> ` expectations.
pub fn raw_lines(fixture: &str) -> Vec<&str> {
    fixture
        .lines()
        .filter(|l| !l.is_empty() && !is_comment(l) && !l.starts_with("=> "))
        .collect()
}

/// One edit of a line: `(what, where, byte)`; what (mod 4) 0 writes the byte over, 1 removes, 2 inserts it, 3
/// repeats the eight bytes from there.
pub type Edit = (u8, Index, u8);

/// `line` cut at `cut` (anywhere from half to whole), then with each edit made.
pub fn mutate(line: &str, cut: Index, edits: &[Edit]) -> Vec<u8> {
    let mut line = line.as_bytes().to_vec();
    line.truncate(cut.index(line.len() + 1).max(line.len() / 2));
    for &(what, at, byte) in edits {
        if line.is_empty() {
            break;
        }
        let i = at.index(line.len());
        match what % 4 {
            0 => line[i] = byte,
            1 => {
                line.remove(i);
            }
            2 => line.insert(i, byte),
            _ => {
                let copy = line[i..(i + 8).min(line.len())].to_vec();
                line.splice(i..i, copy);
            }
        }
    }
    line
}

/// Property over a fixture's lines cut short and edited: `format` never panics on them, and every address of every
/// event it gives is written in the mutated line (a parser reads addresses, it never makes one up).
pub fn check_mutations(format: LogFormat, fixture: &str) {
    let lines = raw_lines(fixture);
    assert!(!lines.is_empty(), "empty fixture");
    // Bytes that make or break addresses are drawn as often as all others.
    let byte = prop_oneof![
        any::<u8>(),
        proptest::sample::select(b"0123456789.:,[]{}\"\\ =-".to_vec()),
    ];
    let edits = proptest::collection::vec((any::<u8>(), any::<Index>(), byte), 0..8);
    run(
        format,
        (any::<Index>(), any::<Index>(), edits),
        |(pick, cut, edits)| mutate(lines[pick.index(lines.len())], cut, &edits),
    );
}

/// Property over lines made of `pieces` (a format's words and near misses) and over random bytes: `format` never
/// panics on them, and every address of an event it gives is written in the line.
pub fn check_pieces(format: LogFormat, pieces: &[&'static str]) {
    let words = proptest::collection::vec(proptest::sample::select(pieces.to_vec()), 0..14);
    run(format, words, |w| w.concat().into_bytes());
    run(
        format,
        proptest::collection::vec(any::<u8>(), 0..300),
        |b| b,
    );
}

/// Runs 512 cases of `strategy`, each made into a line by `line`, through [`invents_no_address`].
fn run<S: Strategy>(format: LogFormat, strategy: S, line: impl Fn(S::Value) -> Vec<u8>) {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(512));
    if let Err(e) = runner.run(&strategy, |v| invents_no_address(format, &line(v))) {
        panic!("{}: {e}", format.as_str());
    }
}

/// `format` on `line`: no panic, and every address of every event is written in the line.
fn invents_no_address(format: LogFormat, line: &[u8]) -> Result<(), TestCaseError> {
    let _ = format.looks_like(line);
    let _ = format.parse(line, &mut stamps());
    let mut found = Vec::new();
    format.parse_each(line, &mut stamps(), &mut |r| {
        if let Ok(e) = r {
            found.extend([e.src_ip, e.dst_ip].into_iter().flatten());
        }
    });
    for ip in found {
        let shown = String::from_utf8_lossy(line);
        prop_assert!(written_in(line, ip), "{} not in {:?}", ip, shown);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::super::{parse_auto, LogFormat};
    use super::{check, FIXTURES};

    fn raw_lines() -> Vec<&'static str> {
        FIXTURES
            .iter()
            .flat_map(|(_, f)| super::raw_lines(f))
            .collect()
    }

    /// Every format has a golden file, and every line of every file reads as written ([`check`]).
    #[test]
    fn every_fixture_line_reads_as_written() {
        let (mut have, mut all) = (FIXTURES.map(|(f, _)| f), LogFormat::ALL);
        have.sort();
        all.sort();
        assert_eq!(have, all, "a fixture per format");
        let mut failures = Vec::new();
        let mut total = 0;
        for (format, fixture) in FIXTURES {
            let cases = super::cases(fixture);
            assert!(!cases.is_empty(), "{}: empty fixture", format.as_str());
            total += cases.len();
            for (input, expect) in cases {
                failures.extend(check(format, input, &expect));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {total} fixture lines failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// A line read with its `\r\n` (or surrounding blanks) parses as the bare line does, and sniffs as it does
    /// except for the recognizers that rely on the reader's trimming a line before any recognizer sees it (`trim_line`).
    #[test]
    fn line_endings_do_not_matter() {
        let trimmed_first = [
            LogFormat::Netfilter,
            LogFormat::Filterlog,
            LogFormat::Srx,
            LogFormat::WinFirewall,
        ];
        let mut failures = Vec::new();
        for (format, fixture) in FIXTURES {
            for line in super::raw_lines(fixture) {
                let padded = format!(" {line}\r\n");
                let bare = super::render(format.parse(line.as_bytes(), &mut super::stamps()));
                let read = super::render(format.parse(padded.as_bytes(), &mut super::stamps()));
                if read != bare {
                    failures.push(format!("{}: {line}\n padded: {read}", format.as_str()));
                }
                if !trimmed_first.contains(&format)
                    && format.looks_like(padded.as_bytes()) != format.looks_like(line.as_bytes())
                {
                    failures.push(format!(
                        "{}: {line}\n padded sniffs otherwise",
                        format.as_str()
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Lines of other vendors that share words with the firewall drop-log formats are not claimed by their recognizers.
    #[test]
    fn recognizers_leave_other_formats_alone() {
        let others = [
            r#"date=2024-03-05 time=10:11:12 devname="fg-1" type="traffic" subtype="forward" srcip=185.220.101.7 srcport=40000 dstip=192.0.2.10 dstport=443 proto=6 action="deny" policyid=0"#,
            "CEF:0|Check Point|VPN-1 & FireWall-1|R81|Drop|Drop|5|src=185.220.101.7 dst=192.0.2.10 spt=40000 dpt=22 proto=TCP act=Drop",
            "LEEF:1.0|Microsoft|MSExchange|4.0|15345|src=185.220.101.7	dst=192.0.2.10	srcPort=1	dstPort=2",
            "1,2024/03/05 10:11:12,0123456789,TRAFFIC,drop,2049,2024/03/05 10:11:12,185.220.101.7,192.0.2.10,0.0.0.0,0.0.0.0,deny-all",
            "2 123456789012 eni-0a1b2c3d 185.220.101.7 192.0.2.10 40000 22 6 1 40 1709633472 1709633532 REJECT OK",
            r#"{"jsonPayload": {"connection": {"dest_ip": "192.0.2.10", "dest_port": 22, "src_ip": "185.220.101.7"}, "disposition": "DENIED"}}"#,
            r#"185.220.101.7 - - [05/Mar/2024:10:11:12 +0000] "GET / HTTP/1.1" 403 153 "-" "curl/8.0""#,
        ];
        let firewalls = [
            LogFormat::Netfilter,
            LogFormat::Filterlog,
            LogFormat::Asa,
            LogFormat::Srx,
            LogFormat::WinFirewall,
        ];
        for line in others {
            for format in firewalls {
                assert!(
                    !format.looks_like(line.as_bytes()),
                    "{} claims {line}",
                    format.as_str()
                );
            }
        }
    }

    /// No reader invents an address: every format's fixture lines, mutated.
    #[test]
    fn mutated_fixture_lines_invent_no_address() {
        for (format, fixture) in FIXTURES {
            super::check_mutations(format, fixture);
        }
    }

    proptest! {
        /// Real lines cut short (anywhere) and edited never make any parser panic.
        #[test]
        fn mangled_fixture_lines_never_panic(
            pick in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            short in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<u8>(), any::<prop::sample::Index>(), any::<u8>()), 0..6),
        ) {
            let lines = raw_lines();
            let line = super::mutate(lines[pick.index(lines.len())], cut, &edits);
            let prefix = &line[..short.index(line.len() + 1)];
            for line in [&line[..], prefix] {
                let _ = parse_auto(line, &mut super::stamps());
                for format in LogFormat::ALL {
                    let _ = format.looks_like(line);
                    let _ = format.parse(line, &mut super::stamps());
                    format.parse_each(line, &mut super::stamps(), &mut |_| {});
                }
            }
        }

        /// Arbitrary bytes never make any parser panic.
        #[test]
        fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_auto(&line, &mut super::stamps());
            for format in LogFormat::ALL {
                let _ = format.looks_like(&line);
                let _ = format.parse(&line, &mut super::stamps());
                format.parse_each(&line, &mut super::stamps(), &mut |_| {});
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

    /// A report to read, not the check: prints how every raw sample line of the firewall drop-log formats fares,
    /// and which lines of the other folders their recognizers claim. It asserts only that some lines parse. The check
    /// that every raw line parses or fails with a reviewed reason is the `conformance` integration test with
    /// `tests/conformance/unparsed.txt`.
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
                    let result = format.parse(line, &mut super::stamps());
                    parsed += usize::from(result.is_ok());
                    println!(
                        "{folder} sniff={} {}\n    {}",
                        format.looks_like(line),
                        super::render(result),
                        String::from_utf8_lossy(line)
                    );
                }
            }
        }
        assert!(parsed > 0);
        let mine: Vec<&str> = folders.iter().map(|f| f.0).collect();
        let mut entries: Vec<_> = std::fs::read_dir(&root)
            .expect("samples")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.path());
        for dir in entries.iter().filter(|e| e.path().is_dir()) {
            let name = dir.file_name().to_string_lossy().into_owned();
            if mine.contains(&name.as_str()) {
                continue;
            }
            for file in std::fs::read_dir(dir.path()).expect("folder").flatten() {
                let text = std::fs::read(file.path()).expect("sample");
                for line in text.split(|&c| c == b'\n') {
                    if let Some((_, format)) = folders.iter().find(|(_, f)| f.looks_like(line)) {
                        println!(
                            "claimed by {}: {name}: {}",
                            format.as_str(),
                            String::from_utf8_lossy(line)
                        );
                    }
                }
            }
        }
    }
}
