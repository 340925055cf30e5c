//! The peers' test cases in a sample folder: one input line each and the fields the peer expects, verbatim.
//!
//! Sekoia (`sekoia__*.json`: `input.message` + an ECS-like `expected`), CrowdSec hub tests (`crowdsec__X.log` +
//! `crowdsec__X.expected.json`, stage `s01-parse`, one entry per event) and sefinek (`*.expected.jsonl`).

use std::fs;
use std::path::Path;

use serde_json::Value;

/// One peer test case.
pub struct Case {
    /// `folder/file`, plus `#line` (1-based line of the `.log`/`.jsonl`) for files of several cases.
    pub id: String,
    pub line: Vec<u8>,
    pub want: Want,
}

/// What the peer states, as the peer wrote it; `None` is "not stated", which is never compared.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Want {
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<String>,
    pub proto: Option<String>,
    pub http_status: Option<String>,
    /// Every action-like value the peer states, most specific first; the first one the vocabulary maps is compared.
    pub actions: Vec<String>,
    /// The peer's words for what the event is (Sekoia `event.category`, CrowdSec `meta.log_type`); the first one
    /// the vocabulary maps is compared with the event's kind.
    pub kinds: Vec<String>,
    /// The peer's words for how a login ended (Sekoia `event.outcome`, CrowdSec `meta.log_type`); compared, in
    /// place of the actions, when the event is a login.
    pub outcomes: Vec<String>,
}

/// Every case of every kind in `dir` (the folder `folder` of the samples), in file-name order.
pub fn load(dir: &Path, folder: &str) -> Vec<Case> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|d| d.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut cases = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let id = format!("{folder}/{name}");
        if name.starts_with("sekoia__") && name.ends_with(".json") {
            cases.push(sekoia(&id, &read_json(&path)));
        } else if name.starts_with("crowdsec__") && name.ends_with(".expected.json") {
            let log = path.with_file_name(name.replace(".expected.json", ".log"));
            let id = format!("{folder}/{}", name.replace(".expected.json", ".log"));
            cases.extend(crowdsec(&id, &read(&log), &read_json(&path)));
        } else if name.ends_with(".expected.jsonl") {
            cases.extend(jsonl(&id, &read(&path)));
        }
    }
    cases
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&read(path))
        .unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

/// A JSON scalar as text (`"22"` and `22` both give `22`); `None` for null, objects, arrays and "".
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `expected.source.ip` written nested or as a dotted key.
fn path<'v>(v: &'v Value, dotted: &str) -> Option<&'v Value> {
    if let Some(flat) = v.get(dotted) {
        return Some(flat);
    }
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

fn sekoia(id: &str, doc: &Value) -> Case {
    let message = doc
        .pointer("/input/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let e = doc.get("expected").unwrap_or(&Value::Null);
    let get = |p: &str| text(path(e, p));
    let mut actions: Vec<String> = ["event.action", "action.name", "action.type"]
        .iter()
        .filter_map(|p| get(p))
        .collect();
    if let Some(Value::Array(types)) = path(e, "event.type") {
        actions.extend(types.iter().filter_map(|t| text(Some(t))));
    }
    let kinds = match path(e, "event.category") {
        Some(Value::Array(items)) => items.iter().filter_map(|t| text(Some(t))).collect(),
        other => text(other).into_iter().collect(),
    };
    let want = Want {
        src_ip: get("source.ip"),
        dst_ip: get("destination.ip"),
        dst_port: get("destination.port"),
        proto: get("network.transport").or_else(|| get("network.iana_number")),
        http_status: get("http.response.status_code"),
        actions,
        kinds,
        outcomes: get("event.outcome").into_iter().collect(),
    };
    // A log pipeline hands over lines: a message with line breaks arrives as one line, as in the `ALL` files.
    Case {
        id: id.to_owned(),
        line: message.replace(['\r', '\n'], " ").into_bytes(),
        want,
    }
}

/// The non-blank lines of a log file with their 1-based line numbers.
pub fn lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect()
}

/// CrowdSec: every `s00-raw` event is one non-blank log line. In `s01-parse`, a parser that saw every event lists
/// them in order; a later parser saw only the events the earlier ones failed. Entries that failed state nothing.
fn crowdsec(id: &str, log: &[u8], doc: &Value) -> Vec<Case> {
    let lines = lines(log);
    let events = doc.pointer("/results/s00-raw").and_then(Value::as_object);
    let n_events = events
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_array)
        .map(Vec::len)
        .max();
    assert_eq!(
        n_events,
        Some(lines.len()),
        "{id}: s00-raw events do not match the non-blank log lines"
    );
    let Some(parsers) = doc.pointer("/results/s01-parse").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut wants = vec![Want::default(); lines.len()];
    let (full, partial): (Vec<&Vec<Value>>, Vec<&Vec<Value>>) = parsers
        .values()
        .filter_map(Value::as_array)
        .partition(|l| l.len() == lines.len());
    for entries in &full {
        for (want, entry) in wants.iter_mut().zip(entries.iter()) {
            merge_crowdsec(want, entry);
        }
    }
    let failed: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            !full
                .iter()
                .any(|entries| entries[i]["success"] == Value::Bool(true))
        })
        .collect();
    for entries in partial {
        assert_eq!(
            entries.len(),
            failed.len(),
            "{id}: cannot tell which lines a later s01-parse parser saw"
        );
        for (&i, entry) in failed.iter().zip(entries) {
            merge_crowdsec(&mut wants[i], entry);
        }
    }
    let cases = lines.iter().zip(wants).map(|(&(n, line), want)| Case {
        id: format!("{id}#{n}"),
        line: line.to_vec(),
        want,
    });
    cases.collect()
}

/// Adds what one successful `s01-parse` entry states to `want`, keeping what an earlier entry stated.
fn merge_crowdsec(want: &mut Want, entry: &Value) {
    if entry["success"] != Value::Bool(true) {
        return;
    }
    let parsed = |k: &str| text(entry.pointer(&format!("/parsed/{k}")));
    let meta = |k: &str| text(entry.pointer(&format!("/meta/{k}")));
    let fill = |slot: &mut Option<String>, v: Option<String>| {
        if slot.is_none() {
            *slot = v;
        }
    };
    fill(
        &mut want.src_ip,
        parsed("src_ip").or_else(|| meta("source_ip")),
    );
    fill(&mut want.dst_ip, parsed("dst_ip"));
    fill(&mut want.dst_port, parsed("dst_port"));
    fill(&mut want.proto, parsed("proto"));
    fill(&mut want.http_status, meta("http_status"));
    want.actions.extend(parsed("action"));
    want.kinds.extend(meta("log_type"));
    want.outcomes.extend(meta("log_type"));
}

/// sefinek: one JSON object per line, `line` + `expected{srcIp, dstIp, proto, dpt}`.
fn jsonl(id: &str, bytes: &[u8]) -> Vec<Case> {
    let mut cases = Vec::new();
    for (n, raw) in lines(bytes) {
        let doc: Value =
            serde_json::from_slice(raw).unwrap_or_else(|e| panic!("{id}#{n}: bad JSON: {e}"));
        let e = &doc["expected"];
        let want = Want {
            src_ip: text(e.get("srcIp")),
            dst_ip: text(e.get("dstIp")),
            dst_port: text(e.get("dpt")),
            proto: text(e.get("proto")),
            ..Want::default()
        };
        let line = doc["line"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}#{n}: no \"line\""))
            .as_bytes()
            .to_vec();
        cases.push(Case {
            id: format!("{id}#{n}"),
            line,
            want,
        });
    }
    cases
}
