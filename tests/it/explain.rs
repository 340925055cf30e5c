//! `torwatch explain`: the JSON shape of an event, the error path, the text rendering and the summary.

use std::net::IpAddr;

use serde_json::{json, Value};
use torwatch::event::{Action, Direction, Event, Kind, Proto, Service};
use torwatch::explain::{self, event_json, Options, Summary};
use torwatch::parsers::LogFormat;

/// Runs `explain` over `input` and returns what it wrote and its summary.
fn run(input: &[u8], opts: Options) -> (String, Summary) {
    let mut out = Vec::new();
    let summary = explain::run(input, &mut out, &opts).expect("in-memory io cannot fail");
    (
        String::from_utf8(out).expect("explain writes UTF-8"),
        summary,
    )
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn full_event() -> Event<'static> {
    Event {
        kind: torwatch::event::Kind::Traffic,
        time: Some(1_714_557_600),
        device: Some("fw-edge-1"),
        src_ip: Some(ip("203.0.113.5")),
        src_port: Some(51234),
        dst_ip: Some(ip("198.51.100.7")),
        dst_port: Some(22),
        proto: Some(Proto::Tcp),
        action: Some(Action::Drop),
        direction: Some(Direction::Inbound),
        http_status: None,
        service: None,
    }
}

#[test]
fn event_json_has_every_present_field_and_omits_absent_ones() {
    let got = event_json(LogFormat::Netfilter, &full_event());
    let want = json!({
        "format": "netfilter",
        "kind": "traffic",
        "time": "2024-05-01T10:00:00Z",
        "device": "fw-edge-1",
        "src_ip": "203.0.113.5",
        "src_port": 51234,
        "dst_ip": "198.51.100.7",
        "dst_port": 22,
        "proto": "tcp",
        "action": "drop",
        "direction": "inbound",
    });
    assert_eq!(got, want);
}

#[test]
fn event_json_of_a_login_has_its_kind_and_service() {
    let login = Event {
        kind: Kind::Auth,
        action: Some(Action::Fail),
        service: Some(Service::Ssh),
        ..full_event()
    };
    let got = event_json(LogFormat::Sshd, &login);
    assert_eq!(got["kind"], "auth");
    assert_eq!(got["action"], "fail");
    assert_eq!(got["service"], "ssh");
    let text = explain::event_text(LogFormat::Sshd, &login).to_string();
    assert!(text.contains("  kind=auth  service=ssh  "), "{text}");
}

#[test]
fn event_json_of_an_empty_event_is_only_the_format() {
    assert_eq!(
        event_json(LogFormat::WebAccess, &Event::default()),
        json!({"format": "access", "kind": "traffic"})
    );
}

#[test]
fn event_json_writes_canonical_ipv6_lower_case_proto_and_status() {
    let event = Event {
        src_ip: Some(ip("2001:0db8:0000:0000:0000:0000:0000:0001")),
        proto: Some(Proto::Icmpv6),
        action: Some(Action::Reject),
        http_status: Some(404),
        ..Event::default()
    };
    let want = json!({
        "format": "filterlog",
        "kind": "traffic",
        "src_ip": "2001:db8::1",
        "proto": "icmpv6",
        "action": "reject",
        "http_status": 404,
    });
    assert_eq!(event_json(LogFormat::Filterlog, &event), want);
}

#[test]
fn event_json_omits_a_time_out_of_range() {
    let event = Event {
        time: Some(i64::MAX),
        ..Event::default()
    };
    assert_eq!(
        event_json(LogFormat::Srx, &event),
        json!({"format": "srx", "kind": "traffic"})
    );
}

#[test]
fn json_mode_prints_one_error_object_per_line_and_counts_by_reason() {
    let input = b"no firewall ever wrote this\n\n   \r\n\xff\xfe\x00 binary junk\nlast line without newline";
    let (out, summary) = run(
        input,
        Options {
            format: None,
            json: true,
        },
    );
    let want = vec![
        json!({"error": "unknown_format", "line": 1}),
        json!({"error": "empty", "line": 2}),
        json!({"error": "empty", "line": 3}),
        json!({"error": "unknown_format", "line": 4}),
        json!({"error": "unknown_format", "line": 5}),
    ];
    assert_eq!(json_lines(&out), want);
    assert_eq!(summary.lines, 5);
    assert_eq!(summary.parsed, 0);
    assert_eq!(summary.errors.get("empty"), Some(&2));
    assert_eq!(summary.errors.get("unknown_format"), Some(&3));
}

#[test]
fn text_mode_prints_errors_and_a_summary_trailer() {
    let (out, summary) = run(b"garbage\n\n", Options::default());
    assert_eq!(out, "error: unknown_format\nerror: empty\n# lines 2, parsed 0, errors 2 (empty 1, unknown_format 1)\n");
    assert_eq!(
        summary.to_string(),
        "lines 2, parsed 0, errors 2 (empty 1, unknown_format 1)"
    );
}

#[test]
fn empty_input_prints_only_the_trailer() {
    let (out, summary) = run(b"", Options::default());
    assert_eq!(out, "# lines 0, parsed 0, errors 0\n");
    assert_eq!(summary, Summary::default());
    let (out, _) = run(
        b"",
        Options {
            format: None,
            json: true,
        },
    );
    assert_eq!(out, "");
}

#[test]
fn a_fixed_format_reports_that_parsers_error_and_blank_lines_as_empty() {
    for format in LogFormat::ALL {
        let opts = Options {
            format: Some(format),
            json: true,
        };
        let (out, summary) = run(b"\n\xc3\x28 not valid UTF-8 nor any format\n", opts);
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 2, "{format:?}: {out}");
        assert_eq!(lines[0], json!({"error": "empty", "line": 1}), "{format:?}");
        let reason = lines[1]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{format:?} parsed junk: {out}"));
        assert_eq!(summary.errors.get(reason), Some(&1), "{format:?}");
    }
}

#[test]
fn event_text_aligns_columns_and_brackets_ipv6_endpoints() {
    let got = explain::event_text(LogFormat::Netfilter, &full_event()).to_string();
    let want = "netfilter  drop    tcp     203.0.113.5:51234 -> 198.51.100.7:22  dir=inbound  device=fw-edge-1  \
                time=2024-05-01T10:00:00Z";
    assert_eq!(got, want);

    let event = Event {
        src_ip: Some(ip("2001:db8::5")),
        src_port: Some(443),
        http_status: Some(503),
        device: Some("odd\tname"),
        ..Event::default()
    };
    let got = explain::event_text(LogFormat::WebAccess, &event).to_string();
    assert_eq!(
        got,
        "access     -       -       [2001:db8::5]:443 -> -  status=503  device=odd\\tname"
    );
}

/// Compares `got` with the golden file `tests/explain/<name>`; `TORWATCH_BLESS=1` rewrites it instead.
fn golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/explain")
        .join(name);
    if std::env::var_os("TORWATCH_BLESS").is_some() {
        std::fs::write(&path, got).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{name} line {}", n + 1);
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "{name}: line count"
    );
}

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/explain/input.log");
    std::fs::read(path).expect("tests/explain/input.log")
}

#[test]
fn json_output_of_the_fixture_matches_the_golden_file() {
    let (out, summary) = run(
        &fixture(),
        Options {
            format: None,
            json: true,
        },
    );
    golden("expected.jsonl", &out);
    assert_eq!(summary.lines, 17);
    assert_eq!(summary.parsed, 13, "{summary}");
}

#[test]
fn text_output_of_the_fixture_matches_the_golden_file() {
    let (out, _) = run(&fixture(), Options::default());
    golden("expected.txt", &out);
}

#[test]
fn json_output_has_one_line_per_input_line_even_for_unterminated_input() {
    let mut input = fixture();
    input.truncate(input.len() - 1);
    let (out, summary) = run(
        &input,
        Options {
            format: None,
            json: true,
        },
    );
    assert_eq!(json_lines(&out).len(), 17);
    assert_eq!(summary.lines, 17);
}

#[test]
fn a_fixed_format_parses_its_own_lines_and_rejects_the_others() {
    let opts = Options {
        format: Some(LogFormat::WinFirewall),
        json: true,
    };
    let (out, summary) = run(&fixture(), opts);
    let lines = json_lines(&out);
    let winfw: Vec<&Value> = lines.iter().filter(|l| l.get("format").is_some()).collect();
    assert_eq!(winfw.len(), 1, "{out}");
    assert_eq!(winfw[0]["src_ip"], "185.220.101.47");
    assert_eq!(summary.parsed, 1);
}

#[test]
fn a_flow_log_header_sets_the_field_order_and_nodata_is_skipped_not_an_error() {
    let input = b"${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} ${log-status}\n\
                  185.220.101.7 10.0.0.5 22 6 REJECT OK\n\
                  - - - - - NODATA\n";
    let (out, summary) = run(
        input,
        Options {
            format: None,
            json: true,
        },
    );
    let want = vec![
        json!({"error": "not_traffic", "line": 1}),
        json!({"format": "vpcflow", "kind": "traffic", "src_ip": "185.220.101.7", "dst_ip": "10.0.0.5",
               "dst_port": 22, "proto": "tcp", "action": "drop", "line": 2}),
        json!({"skipped": "nodata", "line": 3}),
    ];
    assert_eq!(json_lines(&out), want);
    assert_eq!(
        summary.to_string(),
        "lines 3, parsed 1, skipped 1 (nodata 1), errors 1 (not_traffic 1)"
    );
    let (out, _) = run(input, Options::default());
    assert!(out.contains("\nskipped: nodata\n"), "{out}");
}

#[test]
fn a_document_of_flows_gives_one_object_per_flow_with_its_line_number() {
    let input = br#"{"records":[{"macAddress":"000D3A1B2C3D","properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"000D3A1B2C3D","flowTuples":["1709633702,185.220.101.7,10.1.0.4,40312,22,T,I,D,B,,,,","1709633703,198.51.100.4,10.1.0.4,40313,443,U,O,A,B,,,,"]}]}]}}]}
garbage
"#;
    let (out, summary) = run(
        input,
        Options {
            format: None,
            json: true,
        },
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["src_ip"], "185.220.101.7");
    assert_eq!(lines[0]["action"], "drop");
    assert_eq!(lines[1]["line"], 1);
    assert_eq!(lines[1]["src_ip"], "198.51.100.4");
    assert_eq!(lines[1]["direction"], "outbound");
    assert_eq!(lines[1]["format"], "azure");
    assert_eq!(lines[2], json!({"error": "unknown_format", "line": 2}));
    assert_eq!((summary.lines, summary.parsed), (2, 2));
}
