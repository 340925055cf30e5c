//! Golden-file checks for the log parsers: a fixture file holds raw lines, each followed by a `=> …` line with the
//! expected event (or `=> error=<reason>`), rendered by [`render`] (with `kind=` for events that are not traffic, `service=` for logins that name one).
//! Test-only; reads nothing at run time (fixtures are compiled in with `include_str!`).

use std::fmt::Write;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestRunner};

use super::syslog::Stamps;
use super::{LogFormat, ParseError};
use crate::address::written_in;
use crate::event::{Event, Kind};

/// How fixture lines are read: a stamp without a year is placed near 2025-06-15T12:00:00Z.
pub fn stamps() -> Stamps {
    Stamps::at(1_749_988_800)
}

/// One-line rendering of a parse result: the kind unless it is traffic, then present fields in a fixed order; or
/// `error=<reason>`.
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
/// expected, and `looks_like` must accept the line unless the expectation starts with `nosniff `. Auto-detection must
/// pick `format` for every sniffed line. A line that holds many events is followed by one `=> ` line per event, in
/// order ([`LogFormat::parse_each`]); `parse` must give the first. Panics with every mismatch listed.
pub fn check(format: LogFormat, fixture: &str) {
    let mut failures = Vec::new();
    let mut pairs = 0;
    let mut lines = fixture
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    while let Some(raw) = lines.next() {
        let mut wants = Vec::new();
        while let Some(want) = lines.peek().and_then(|l| l.strip_prefix("=> ")) {
            wants.push(want);
            lines.next();
        }
        let Some(first) = wants.first() else {
            panic!("fixture line without `=> ` expectation: {raw}");
        };
        pairs += 1;
        let sniffed = !first.starts_with("nosniff ");
        let wants: Vec<&str> = wants
            .iter()
            .map(|w| w.strip_prefix("nosniff ").unwrap_or(w))
            .collect();
        let mut got = Vec::new();
        format.parse_each(raw.as_bytes(), &mut stamps(), &mut |r| got.push(render(r)));
        if got != wants {
            failures.push(format!(
                "line: {raw}\n want: {}\n  got: {}",
                wants.join("\n       "),
                got.join("\n       ")
            ));
        }
        let parsed = render(format.parse(raw.as_bytes(), &mut stamps()));
        let first_event = got
            .iter()
            .find(|g| !g.starts_with("error="))
            .or(got.first());
        if Some(&parsed) != first_event {
            failures.push(format!("line: {raw}\n parse gave {parsed}"));
        }
        if format.looks_like(raw.as_bytes()) != sniffed {
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
    use proptest::prelude::*;

    use super::super::{parse_auto, LogFormat};

    const FIXTURES: [&str; 14] = [
        include_str!("../../tests/fixtures/logs/panos.txt"),
        include_str!("../../tests/fixtures/logs/fortigate.txt"),
        include_str!("../../tests/fixtures/logs/vpcflow.txt"),
        include_str!("../../tests/fixtures/logs/cef.txt"),
        include_str!("../../tests/fixtures/logs/access.txt"),
        include_str!("../../tests/fixtures/logs/sshd.txt"),
        include_str!("../../tests/fixtures/logs/weberror.txt"),
        include_str!("../../tests/fixtures/logs/sophos.txt"),
        include_str!("../../tests/fixtures/logs/sonicwall.txt"),
        include_str!("../../tests/fixtures/logs/watchguard.txt"),
        include_str!("../../tests/fixtures/logs/mikrotik.txt"),
        include_str!("../../tests/fixtures/logs/meraki.txt"),
        include_str!("../../tests/fixtures/logs/azure.txt"),
        include_str!("../../tests/fixtures/logs/gcp.txt"),
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
            LogFormat::WebAccess,
            LogFormat::Sshd,
            LogFormat::WebError,
            LogFormat::Sophos,
            LogFormat::SonicWall,
            LogFormat::WatchGuard,
            LogFormat::MikroTik,
            LogFormat::Meraki,
            LogFormat::Azure,
            LogFormat::Gcp,
        ];
        for (format, fixture) in formats.into_iter().zip(FIXTURES) {
            for line in super::raw_lines(fixture) {
                let padded = format!(" {line}\r\n");
                assert_eq!(
                    super::render(format.parse(padded.as_bytes(), &mut super::stamps())),
                    super::render(format.parse(line.as_bytes(), &mut super::stamps())),
                    "{line}"
                );
                assert_eq!(
                    format.looks_like(padded.as_bytes()),
                    format.looks_like(line.as_bytes()),
                    "{line}"
                );
            }
        }
    }

    proptest! {
        /// Real lines cut short and edited never make any parser panic.
        #[test]
        fn mangled_fixture_lines_never_panic(
            pick in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<u8>(), any::<prop::sample::Index>(), any::<u8>()), 0..6),
        ) {
            let lines = raw_lines();
            let line = super::mutate(lines[pick.index(lines.len())], cut, &edits);
            let _ = parse_auto(&line, &mut super::stamps());
            for format in LogFormat::ALL {
                let _ = format.looks_like(&line);
                let _ = format.parse(&line, &mut super::stamps());
                format.parse_each(&line, &mut super::stamps(), &mut |_| {});
            }
        }
    }
}

#[cfg(test)]
mod every_reader {
    use super::super::LogFormat;

    /// Every format's fixture.
    const FIXTURES: [(LogFormat, &str); 19] = [
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
