//! Golden-file checks for the log parsers: a fixture file holds raw lines, each followed by a `=> …` line with the
//! expected event (or `=> error=<reason>`), rendered by [`render`]. Test-only; reads nothing at run time (fixtures
//! are compiled in with `include_str!`).

use std::fmt::Write;

use super::{LogFormat, ParseError};
use crate::event::Event;

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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{parse_auto, LogFormat};

    const FIXTURES: [&str; 5] = [
        include_str!("../../tests/fixtures/logs/panos.txt"),
        include_str!("../../tests/fixtures/logs/fortigate.txt"),
        include_str!("../../tests/fixtures/logs/vpcflow.txt"),
        include_str!("../../tests/fixtures/logs/cef.txt"),
        include_str!("../../tests/fixtures/logs/access.txt"),
    ];

    fn raw_lines() -> Vec<&'static str> {
        FIXTURES
            .iter()
            .flat_map(|f| f.lines())
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("=> "))
            .collect()
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
        ];
        for (format, fixture) in formats.into_iter().zip(FIXTURES) {
            let lines = fixture
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("=> "));
            for line in lines {
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
            let mut line = lines[pick.index(lines.len())].as_bytes().to_vec();
            line.truncate(cut.index(line.len() + 1));
            for (at, byte) in edits {
                if !line.is_empty() {
                    let i = at.index(line.len());
                    line[i] = byte;
                }
            }
            let _ = parse_auto(&line);
            for format in LogFormat::ALL {
                let _ = format.sniff(&line);
                let _ = format.parse(&line);
            }
        }
    }
}
