//! Agreement of the PAN-OS, FortiGate, VPC Flow, CEF/LEEF and access-log parsers with the shared vendor samples:
//! every raw line parses or fails with a reason, and the addresses, destination port and protocol agree with the
//! expected documents shipped next to the samples. Needs the shared sample set, so it is ignored by default.

use serde_json::Value;
use torwatch::event::Event;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::{parse_auto, ParseError};

const FOLDERS: [&str; 7] = [
    "panos",
    "fortigate",
    "aws-vpcflow",
    "cef-leef",
    "checkpoint",
    "http-access",
    "sonicwall",
];

fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Field-by-field comparison of one event with one expected document; returns (agreeing, compared, notes).
fn compare(event: &Event<'_>, expected: &Value) -> (usize, usize, Vec<String>) {
    let ours = [
        ("source.ip", event.src_ip.map(|v| v.to_string())),
        ("destination.ip", event.dst_ip.map(|v| v.to_string())),
        ("destination.port", event.dst_port.map(|v| v.to_string())),
        (
            "network.transport",
            event.proto.map(|v| v.as_str().to_string()),
        ),
        (
            "http.response.status_code",
            event.http_status.map(|v| v.to_string()),
        ),
    ];
    let mut agree = 0;
    let mut total = 0;
    let mut notes = Vec::new();
    for (path, got) in ours {
        let Some(want) = lookup(expected, path).map(text) else {
            continue;
        };
        total += 1;
        if got.as_deref() == Some(want.as_str()) {
            agree += 1;
        } else {
            notes.push(format!("{path}: want {want}, got {got:?}"));
        }
    }
    (agree, total, notes)
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn sekoia_expected_documents_agree() {
    let dir = crate::shared("samples/logs");
    let (mut agree, mut total) = (0, 0);
    let mut report = Vec::new();
    for folder in FOLDERS {
        for entry in std::fs::read_dir(dir.join(folder)).expect("sample folder") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if !name.starts_with("sekoia__") || !name.ends_with(".json") {
                continue;
            }
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
            let message = lookup(&doc, "input.message").map(text).unwrap_or_default();
            let expected = doc.get("expected").cloned().unwrap_or(Value::Null);
            match parse_auto(message.as_bytes(), &mut Stamps::default()) {
                Ok((format, event)) => {
                    let (a, t, notes) = compare(&event, &expected);
                    agree += a;
                    total += t;
                    if !notes.is_empty() {
                        report.push(format!(
                            "{folder}/{name} [{}]: {}",
                            format.as_str(),
                            notes.join("; ")
                        ));
                    }
                }
                Err(err) => report.push(format!("{folder}/{name}: {}", err.reason())),
            }
        }
    }
    eprintln!(
        "sekoia fields agreeing: {agree}/{total}\n{}",
        report.join("\n")
    );
    assert!(total > 200, "too few expected fields compared: {total}");
    assert!(
        agree * 100 >= total * 95,
        "agreement below 95%: {agree}/{total}"
    );
}

/// The `s01-parse` assertions of a CrowdSec hub test, one per line fed to the parser.
fn crowdsec_parsed(expected: &Value) -> Vec<Value> {
    let stage = lookup(expected, "results.s01-parse").and_then(Value::as_object);
    let entries = stage
        .and_then(|parsers| parsers.values().next())
        .and_then(Value::as_array);
    entries.cloned().unwrap_or_default()
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn crowdsec_assertions_agree() {
    let dir = crate::shared("samples/logs");
    let (mut agree, mut total) = (0, 0);
    let mut report = Vec::new();
    for folder in FOLDERS {
        for entry in std::fs::read_dir(dir.join(folder)).expect("sample folder") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let Some(test) = name
                .strip_prefix("crowdsec__")
                .and_then(|n| n.strip_suffix(".log"))
            else {
                continue;
            };
            let expected_path = path.with_file_name(format!("crowdsec__{test}.expected.json"));
            let expected: Value =
                serde_json::from_str(&std::fs::read_to_string(expected_path).expect("read"))
                    .expect("json");
            let body = std::fs::read_to_string(&path).expect("read");
            for (line, assertion) in body.lines().zip(crowdsec_parsed(&expected)) {
                let Some(parsed) = assertion.get("parsed") else {
                    continue;
                };
                let meta = |k: &str| assertion.get("meta").and_then(|m| m.get(k));
                let want = serde_json::json!({
                    "source": {"ip": parsed.get("src_ip").or(meta("source_ip"))},
                    "destination": {"ip": parsed.get("dst_ip"), "port": parsed.get("dst_port").or(parsed.get("port"))},
                    "http": {"response": {"status_code": meta("http_status")}},
                });
                let want = strip_nulls(want);
                match parse_auto(line.as_bytes(), &mut Stamps::default()) {
                    Ok((_, event)) => {
                        let (a, t, notes) = compare(&event, &want);
                        agree += a;
                        total += t;
                        if !notes.is_empty() {
                            report.push(format!("{folder}/{name}: {}", notes.join("; ")));
                        }
                    }
                    Err(err) => {
                        report.push(format!("{folder}/{name}: {} for {line}", err.reason()))
                    }
                }
            }
        }
    }
    eprintln!(
        "crowdsec fields agreeing: {agree}/{total}\n{}",
        report.join("\n")
    );
    assert!(total >= 30, "too few crowdsec fields compared: {total}");
    assert!(
        agree * 100 >= total * 95,
        "agreement below 95%: {agree}/{total}"
    );
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, strip_nulls(v)))
                .filter(|(_, v)| !v.is_null() && !v.as_object().is_some_and(|o| o.is_empty()))
                .collect(),
        ),
        other => other,
    }
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn raw_lines_parse_or_give_a_reason() {
    let dir = crate::shared("samples/logs");
    let (mut parsed, mut lines) = (0, 0);
    let mut reasons = std::collections::BTreeMap::<String, Vec<String>>::new();
    for folder in FOLDERS {
        for entry in std::fs::read_dir(dir.join(folder)).expect("sample folder") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("log") {
                continue;
            }
            let body = std::fs::read(&path).expect("read");
            for line in body
                .split(|&c| c == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
            {
                lines += 1;
                match parse_auto(line, &mut Stamps::default()) {
                    Ok(_) => parsed += 1,
                    Err(err) => {
                        let head = String::from_utf8_lossy(
                            line.get(..90.min(line.len())).unwrap_or_default(),
                        );
                        reasons
                            .entry(format!("{folder}: {}", err.reason()))
                            .or_default()
                            .push(head.into_owned());
                    }
                }
            }
        }
    }
    eprintln!("raw lines parsed: {parsed}/{lines}");
    for (reason, heads) in &reasons {
        eprintln!("{reason} ({}):\n  {}", heads.len(), heads.join("\n  "));
    }
    let unknown: usize = reasons
        .iter()
        .filter(|(r, _)| r.ends_with(ParseError::UnknownFormat.reason()))
        .map(|(_, h)| h.len())
        .sum();
    assert!(lines > 100, "too few raw lines: {lines}");
    assert!(
        parsed * 100 >= lines * 80,
        "fewer than 80% of raw lines parsed: {parsed}/{lines}"
    );
    assert!(
        unknown * 100 <= lines * 10,
        "more than 10% of raw lines undetected: {unknown}/{lines}"
    );
}
