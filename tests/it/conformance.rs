//! Conformance run: torwatch's log parsers against the expected outputs other projects wrote for the shared sample
//! lines (`samples/logs/<folder>/`), plus a parse census of every raw sample line of a supported format.
//!
//! Compared per case, when the peer states them: source and destination address, destination port, transport,
//! verdict (and HTTP status), what the event is (traffic, a login, a web request) and how a login ended. The run
//! fails under 99 % field agreement: field values that agree over field values compared, in-scope cases only. Peer
//! vocabulary is mapped by `tests/conformance/mapping.txt`; every difference must be fixed or reviewed in
//! `tests/conformance/disagreements.txt`, every raw line that does not parse in `tests/conformance/unparsed.txt`.
//! An unlisted finding is printed as a `PROBLEM` line whose first part is the list entry to add, after review.
//!
//! Run: `TORWATCH_SHARED=<shared dir> cargo test --test it conformance:: -- --ignored --nocapture` (tables on stdout).

mod expect;
mod lists;
mod mapping;

use std::collections::BTreeMap;
use std::path::Path;

use expect::Case;
use lists::{Disagreements, Kind, Unparsed};
use mapping::{ip_text, peer_port, port_text, proto_name, Mapping};
use torwatch::event::Event;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::{parse_auto, LogFormat};

/// Field agreement over all in-scope cases (field values that agree / field values compared) must stay at or above
/// this.
const MIN_AGREEMENT: f64 = 0.99;

#[derive(Default)]
struct CaseRow {
    cases: u64,
    /// Field values compared, over all cases.
    fields: u64,
    /// Field values compared in cases that are in scope, and those of them that disagree (a line that gives no
    /// event disagrees in every field the peer states).
    fields_in_scope: u64,
    fields_disagree: u64,
    agree: u64,
    disagree: u64,
    scope: u64,
}

#[derive(Default)]
struct RawRow {
    lines: u64,
    parsed: u64,
    errors: BTreeMap<&'static str, u64>,
    formats: BTreeMap<&'static str, u64>,
    /// The same counts per file, for a folder's row.
    files: Vec<(String, RawRow)>,
}

impl RawRow {
    fn record(&mut self, outcome: Result<LogFormat, &'static str>) {
        self.lines += 1;
        match outcome {
            Ok(format) => {
                self.parsed += 1;
                *self.formats.entry(format.as_str()).or_default() += 1;
            }
            Err(reason) => *self.errors.entry(reason).or_default() += 1,
        }
    }
}

/// Everything a run found that the reviewed lists do not cover.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, what: String, line: &[u8]) {
        if line.is_empty() {
            return self.0.push(what);
        }
        let shown: String = String::from_utf8_lossy(line).chars().take(300).collect();
        self.0.push(format!("{what}\n      line: {shown}"));
    }
}

/// What one run over a samples tree found.
struct Report {
    cases: BTreeMap<String, (LogFormat, CaseRow)>,
    raw: BTreeMap<String, (LogFormat, RawRow)>,
    unsupported: Vec<String>,
    problems: Problems,
}

impl Report {
    /// Agreement over all in-scope cases.
    /// Field agreement over all in-scope cases.
    fn ratio(&self) -> f64 {
        let (disagree, counted) = self.cases.values().fold((0, 0), |(d, n), (_, r)| {
            (d + r.fields_disagree, n + r.fields_in_scope)
        });
        percent(counted - disagree, counted)
    }

    fn print(&self) {
        print_case_table(&self.cases, &self.unsupported);
        print_raw_table(&self.raw);
        for p in &self.problems.0 {
            println!("PROBLEM {p}");
        }
    }
}

/// Runs the peer cases and the raw census of every supported folder under `logs`, with the mapping and the
/// reviewed lists found in `data`.
fn conform(logs: &Path, data: &Path) -> Report {
    let map = Mapping::load(&data.join("mapping.txt"));
    let mut listed = Disagreements::load(&data.join("disagreements.txt"));
    let mut unparsed = Unparsed::load(&data.join("unparsed.txt"));
    let mut problems = Problems::default();
    check_folders_are_classified(logs, &map, &mut problems);
    let mut cases = BTreeMap::new();
    let mut raw = BTreeMap::new();
    for (folder, format) in &map.folders {
        let dir = logs.join(folder);
        let found = expect::load(&dir, folder);
        let row = run_cases(&found, folder, &map, &mut listed, &mut problems);
        cases.insert(folder.clone(), (*format, row));
        let census = census(&dir, folder, &mut unparsed, &mut problems);
        raw.insert(folder.clone(), (*format, census));
    }
    for s in listed.stale() {
        problems.add(format!("stale disagreement (now agrees): {s}"), b"");
    }
    for s in unparsed.stale() {
        problems.add(format!("stale unparsed entry: {s}"), b"");
    }
    Report {
        cases,
        raw,
        unsupported: map.unsupported,
        problems,
    }
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn shared_samples_conform() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let report = conform(&crate::shared("samples/logs"), &data);
    report.print();
    let (problems, ratio) = (report.problems.0.len(), report.ratio());
    assert_eq!(
        problems, 0,
        "{problems} problem(s), see PROBLEM lines above"
    );
    assert!(
        ratio >= MIN_AGREEMENT,
        "agreement {:.1} % is under {:.0} %",
        ratio * 100.0,
        MIN_AGREEMENT * 100.0
    );
}

/// The run itself, over a small samples tree of its own: agreement, listed and unlisted disagreements, peer
/// vocabulary, the CrowdSec and sefinek layouts, allowed and unallowed raw lines, stale entries.
#[test]
fn the_run_finds_what_it_must_in_its_own_samples() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/selftest");
    let report = conform(&data.join("logs"), &data);
    report.print();
    let (_, row) = &report.cases["netfilter"];
    let got = (row.cases, row.agree, row.disagree, row.scope, row.fields);
    assert_eq!(
        got,
        (9, 6, 2, 1, 27),
        "cases, agree, disagree, scope, fields"
    );
    // The login case compares its source, its kind and its outcome; the out-of-scope case leaves the ratio.
    assert_eq!((row.fields_in_scope, row.fields_disagree), (26, 2));
    assert!((report.ratio() - 24.0 / 26.0).abs() < 1e-9);
    let (_, raw) = &report.raw["netfilter"];
    assert_eq!((raw.lines, raw.parsed), (6, 4));
    assert_eq!(raw.errors.get("unknown_format"), Some(&2));
    let problems: Vec<&str> = report
        .problems
        .0
        .iter()
        .filter_map(|p| p.lines().next())
        .collect();
    let want = [
        "sample folder stray is neither mapped nor unsupported in mapping.txt",
        "unlisted disagreement: netfilter/sekoia__unlisted.json dst_ip expected=192.0.2.99 got=192.0.2.10",
        "unparsed raw line not allowed: netfilter/raw.log#3 unknown_format",
        "stale disagreement (now agrees): netfilter/sekoia__drop.json dst_port expected=23 got=22 (a stale entry)",
        "stale unparsed entry: netfilter/raw.log unknown_format (lines 2 and 4 are allowed): matched 1 line(s)",
    ];
    assert_eq!(problems, want);
}

/// Every sample folder must be mapped to a format or declared unsupported.
fn check_folders_are_classified(logs: &Path, map: &Mapping, problems: &mut Problems) {
    let entries = std::fs::read_dir(logs).unwrap_or_else(|e| panic!("{}: {e}", logs.display()));
    for entry in entries.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let known = map.folders.iter().any(|(f, _)| *f == name) || map.unsupported.contains(&name);
        if !known {
            problems.add(
                format!("sample folder {name} is neither mapped nor unsupported in mapping.txt"),
                b"",
            );
        }
    }
}

fn run_cases(
    cases: &[Case],
    folder: &str,
    map: &Mapping,
    listed: &mut Disagreements,
    problems: &mut Problems,
) -> CaseRow {
    let mut row = CaseRow::default();
    for case in cases {
        let Some(compared) = compare(case, folder, map) else {
            continue;
        };
        row.cases += 1;
        row.fields += compared.fields;
        if compared.findings.is_empty() {
            row.agree += 1;
            row.fields_in_scope += compared.fields;
            continue;
        }
        let mut all_scope = true;
        let mut disagree = 0;
        for (finding, fields) in compared.findings {
            disagree += fields;
            match listed.take(&finding) {
                Some(kind) => all_scope &= kind == Kind::Scope,
                None => {
                    all_scope = false;
                    problems.add(format!("unlisted disagreement: {finding}"), &case.line);
                }
            }
        }
        if all_scope {
            row.scope += 1;
        } else {
            row.disagree += 1;
            row.fields_in_scope += compared.fields;
            row.fields_disagree += disagree;
        }
    }
    row
}

/// What comparing one case found: the field values compared, and each finding (`case field expected=… got=…`)
/// with the number of those values it covers.
struct Compared {
    fields: u64,
    findings: Vec<(String, u64)>,
}

/// Compares one case, or `None` when the peer states nothing comparable. A login's outcome, when the peer states
/// one and calls the event a login, is compared in place of its action words.
fn compare(case: &Case, folder: &str, map: &Mapping) -> Option<Compared> {
    let want = &case.want;
    let kind = map.kind(&want.kinds);
    let outcome = (kind == Some("auth"))
        .then(|| map.outcome(&want.outcomes))
        .flatten();
    let verdict = outcome.or_else(|| map.verdict(folder, &want.actions));
    let stated = [
        &want.src_ip,
        &want.dst_ip,
        &want.dst_port,
        &want.proto,
        &want.http_status,
    ];
    let stated = stated.iter().filter(|s| s.is_some()).count()
        + usize::from(verdict.is_some())
        + usize::from(kind.is_some());
    if stated == 0 {
        return None;
    }
    let fields = stated as u64;
    // No expectation holds a time: the stamps' `now` does not matter.
    let event: Event = match parse_auto(&case.line, &mut Stamps::default()) {
        Ok((_, event)) => event,
        Err(e) => {
            let found = format!("{} event expected=traffic got={}", case.id, e.reason());
            return Some(Compared {
                fields,
                findings: vec![(found, fields)],
            });
        }
    };
    let ip = |ip: Option<std::net::IpAddr>| ip.map_or("-".to_owned(), |ip| ip.to_string());
    let checks = [
        (
            "src_ip",
            want.src_ip.as_deref().map(ip_text),
            ip(event.src_ip),
        ),
        (
            "dst_ip",
            want.dst_ip.as_deref().map(ip_text),
            ip(event.dst_ip),
        ),
        (
            "dst_port",
            want.dst_port.as_deref().map(peer_port),
            port_text(event.dst_port),
        ),
        (
            "proto",
            want.proto.as_deref().map(|p| map.proto(p)),
            event.proto.map_or("-".to_owned(), proto_name),
        ),
        (
            "http_status",
            want.http_status.clone(),
            event.http_status.map_or("-".to_owned(), |s| s.to_string()),
        ),
        (
            "kind",
            kind.map(str::to_owned),
            event.kind.as_str().to_owned(),
        ),
    ];
    let mut findings = Vec::new();
    for (field, want, got) in checks {
        let Some(want) = want else { continue };
        if want != got {
            findings.push((finding(&case.id, field, &want, &got), 1));
        }
    }
    if let Some(verdict) = verdict {
        if !event.action.is_some_and(|a| verdict.accepts(a)) {
            let got = event.action.map_or("-", |a| a.as_str());
            findings.push((finding(&case.id, "action", verdict.as_str(), got), 1));
        }
    }
    Some(Compared { fields, findings })
}

/// One finding line; values lose their blanks so that the line splits on spaces.
fn finding(id: &str, field: &str, want: &str, got: &str) -> String {
    let clean = |s: &str| s.replace(char::is_whitespace, "_");
    format!("{id} {field} expected={} got={}", clean(want), clean(got))
}

/// Parses every non-blank line of every raw sample file of the folder; failures must be allowed in unparsed.txt.
fn census(dir: &Path, folder: &str, unparsed: &mut Unparsed, problems: &mut Problems) -> RawRow {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|d| d.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.ends_with(".log") || (n.ends_with(".jsonl") && !n.ends_with(".expected.jsonl"))
        })
        .collect();
    names.sort();
    let mut row = RawRow::default();
    for name in names {
        let bytes =
            std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{folder}/{name}: {e}"));
        let file = format!("{folder}/{name}");
        let mut file_row = RawRow::default();
        for (n, line) in expect::lines(&bytes) {
            let outcome = parse_auto(line, &mut Stamps::default())
                .map(|(format, _)| format)
                .map_err(|e| e.reason());
            row.record(outcome);
            file_row.record(outcome);
            let Err(reason) = outcome else { continue };
            if !unparsed.allows(&file, n, line, reason) {
                let what = format!("unparsed raw line not allowed: {file}#{n} {reason}");
                problems.add(what, line);
            }
        }
        row.files.push((name, file_row));
    }
    row
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 1.0;
    }
    part as f64 / whole as f64
}

/// Prints the case table.
fn print_case_table(rows: &BTreeMap<String, (LogFormat, CaseRow)>, unsupported: &[String]) {
    println!(
        "\nPeer expectations (% = agree / (cases - scope); fields = field values compared; field % = in-scope field \
         values that agree / in-scope field values)"
    );
    let head = [
        "cases", "agree", "disagree", "scope", "%", "fields", "field %",
    ]
    .map(|h| format!("{h:>9}"));
    println!("{:<17} {:<9} {}", "folder", "format", head.join(" "));
    let mut total = CaseRow::default();
    for (folder, (format, r)) in rows {
        print_case_row(folder, format.as_str(), r);
        total.cases += r.cases;
        total.fields += r.fields;
        total.fields_in_scope += r.fields_in_scope;
        total.fields_disagree += r.fields_disagree;
        total.agree += r.agree;
        total.disagree += r.disagree;
        total.scope += r.scope;
    }
    for folder in unsupported {
        println!("{folder:<17} unsupported format");
    }
    print_case_row("TOTAL", "", &total);
}

fn print_case_row(folder: &str, format: &str, r: &CaseRow) {
    let pct = format!("{:.1}", percent(r.agree, r.cases - r.scope) * 100.0);
    let field_pct = format!(
        "{:.1}",
        percent(r.fields_in_scope - r.fields_disagree, r.fields_in_scope) * 100.0
    );
    let cells = [r.cases, r.agree, r.disagree, r.scope]
        .map(|n| format!("{n:>9}"))
        .join(" ");
    println!(
        "{folder:<17} {format:<9} {cells} {pct:>9} {:>9} {field_pct:>9}",
        r.fields
    );
}

fn print_raw_table(rows: &BTreeMap<String, (LogFormat, RawRow)>) {
    println!("\nRaw sample lines (blank lines skipped)");
    let head = "lines  parsed       %  errors by reason / parsed as";
    println!("{:<56} {head}", "folder / file");
    let mut total = RawRow::default();
    for (folder, (_, r)) in rows {
        print_raw_row(folder, r);
        for (name, f) in &r.files {
            print_raw_row(&format!("  {name}"), f);
        }
        total.lines += r.lines;
        total.parsed += r.parsed;
        for (k, v) in &r.errors {
            *total.errors.entry(k).or_default() += v;
        }
        for (k, v) in &r.formats {
            *total.formats.entry(k).or_default() += v;
        }
    }
    print_raw_row("TOTAL", &total);
}

fn print_raw_row(label: &str, r: &RawRow) {
    let errors: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let formats: Vec<String> = r.formats.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let pct = percent(r.parsed, r.lines) * 100.0;
    let detail = format!("{} / {}", errors.join(", "), formats.join(", "));
    println!(
        "{label:<56} {:>5} {:>7} {pct:>6.1}%  {detail}",
        r.lines, r.parsed
    );
}
