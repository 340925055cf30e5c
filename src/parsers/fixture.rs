//! Golden-file checks for the log parsers: a fixture file holds raw lines, each followed by a `=> …` line with the
//! expected event (or `=> error=<reason>`), rendered by [`render`] (with `kind=` for events that are not traffic, `service=` for logins that name one).
//! Test-only; reads nothing at run time (fixtures are compiled in with `include_str!`).

use std::fmt::Write;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestRunner};

use super::{LogFormat, ParseError};
use crate::event::{written_in, Event, Kind};

/// One-line rendering of a parse result: present fields in a fixed order, or `error=<reason>`.
pub fn render(result: Result<Event<'_>, ParseError>) -> String {
    let e = match result {
        Ok(e) => e,
        Err(err) => return format!("error={}", err.reason()),
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

/// Checks every `line` / `=> expected` pair of a fixture against `format`: the parse result must render as
/// expected, and `sniff` must accept the line unless the expectation starts with `nosniff `. Auto-detection must
/// pick `format` for every sniffed line. Panics with every mismatch listed.
pub fn check(format: LogFormat, fixture: &str) {
    let mut failures = Vec::new();
    let mut pairs = 0;
    let mut lines = fixture
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    while let Some(raw) = lines.next() {
        let Some(want) = lines.next().and_then(|l| l.strip_prefix("=> ")) else {
            panic!("fixture line without `=> ` expectation: {raw}");
        };
        pairs += 1;
        let (want, sniffed) = match want.strip_prefix("nosniff ") {
            Some(w) => (w, false),
            None => (want, true),
        };
        let got = render(format.parse(raw.as_bytes()));
        if got != want {
            failures.push(format!("line: {raw}\n want: {want}\n  got: {got}"));
        }
        if format.sniff(raw.as_bytes()) != sniffed {
            failures.push(format!("line: {raw}\n sniff should be {sniffed}"));
        }
        if sniffed {
            let detected = super::detect(raw.as_bytes());
            if detected != Some(format) {
                failures.push(format!("line: {raw}\n detected as {detected:?}"));
            }
        }
    }
    assert!(pairs > 0, "empty fixture");
    assert!(
        failures.is_empty(),
        "{} of {pairs} fixture lines failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The raw lines of a fixture: neither comments, blank lines nor `=> ` expectations.
pub fn raw_lines(fixture: &str) -> Vec<&str> {
    fixture
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("=> "))
        .collect()
}

/// `line` cut at `cut` (anywhere from empty to whole), then with each `(place, byte)` edit written over it.
pub fn mutate(line: &str, cut: Index, edits: &[(Index, u8)]) -> Vec<u8> {
    let mut line = line.as_bytes().to_vec();
    line.truncate(cut.index(line.len() + 1));
    for (at, byte) in edits {
        if !line.is_empty() {
            let i = at.index(line.len());
            line[i] = *byte;
        }
    }
    line
}

/// Property over a fixture's lines cut short and with bytes overwritten: `format` never panics on them, and every
/// address of an event it gives is written in the mutated line (a parser reads addresses, it never makes one up).
pub fn check_mutations(format: LogFormat, fixture: &str) {
    let lines = raw_lines(fixture);
    assert!(!lines.is_empty(), "empty fixture");
    let edits = proptest::collection::vec((any::<Index>(), any::<u8>()), 0..6);
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

/// `format` on `line`: no panic, and every address of the event is written in the line.
fn invents_no_address(format: LogFormat, line: &[u8]) -> Result<(), TestCaseError> {
    let _ = format.sniff(line);
    if let Ok(e) = format.parse(line) {
        for ip in [e.src_ip, e.dst_ip].into_iter().flatten() {
            let shown = String::from_utf8_lossy(line);
            prop_assert!(written_in(line, ip), "{} not in {:?}", ip, shown);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{parse_auto, LogFormat};

    const FIXTURES: [&str; 7] = [
        include_str!("../../tests/fixtures/logs/panos.txt"),
        include_str!("../../tests/fixtures/logs/fortigate.txt"),
        include_str!("../../tests/fixtures/logs/vpcflow.txt"),
        include_str!("../../tests/fixtures/logs/cef.txt"),
        include_str!("../../tests/fixtures/logs/access.txt"),
        include_str!("../../tests/fixtures/logs/sshd.txt"),
        include_str!("../../tests/fixtures/logs/weberror.txt"),
    ];

    fn raw_lines() -> Vec<&'static str> {
        FIXTURES.iter().flat_map(|f| super::raw_lines(f)).collect()
    }

    /// A line read with its `\r\n` (or surrounding blanks) parses as the bare line does.
    #[test]
    fn line_endings_do_not_matter() {
        let formats = [
            LogFormat::Panos,
            LogFormat::Fortigate,
            LogFormat::VpcFlow,
            LogFormat::Cef,
            LogFormat::Access,
            LogFormat::Sshd,
            LogFormat::WebError,
        ];
        for (format, fixture) in formats.into_iter().zip(FIXTURES) {
            for line in super::raw_lines(fixture) {
                let padded = format!(" {line}\r\n");
                assert_eq!(
                    super::render(format.parse(padded.as_bytes())),
                    super::render(format.parse(line.as_bytes())),
                    "{line}"
                );
                assert_eq!(
                    format.sniff(padded.as_bytes()),
                    format.sniff(line.as_bytes()),
                    "{line}"
                );
            }
        }
    }

    proptest! {
        /// Real lines cut short and with bytes overwritten never make any parser panic.
        #[test]
        fn mangled_fixture_lines_never_panic(
            pick in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        ) {
            let lines = raw_lines();
            let line = super::mutate(lines[pick.index(lines.len())], cut, &edits);
            let _ = parse_auto(&line);
            for format in LogFormat::ALL {
                let _ = format.sniff(&line);
                let _ = format.parse(&line);
            }
        }
    }
}

#[cfg(test)]
mod every_reader {
    use super::super::LogFormat;

    /// Every format's fixture.
    const FIXTURES: [(LogFormat, &str); 12] = [
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
            LogFormat::Access,
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
    ];

    /// No reader invents an address: every format's fixture lines, mutated.
    #[test]
    fn mutated_fixture_lines_invent_no_address() {
        let (mut have, mut all) = (FIXTURES.map(|(f, _)| f), LogFormat::ALL);
        have.sort();
        all.sort();
        assert_eq!(have, all, "a fixture per format");
        for (format, fixture) in FIXTURES {
            super::check_mutations(format, fixture);
        }
    }
}
