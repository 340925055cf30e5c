//! `scan` and the service count alike: the same log read by the service (file inputs, Onionoo countries,
//! configured netfilter prefix rules) and by `torwatch scan --config` (which reads the rules and the state
//! directory's lists and countries from the same config) give the same hits per exit, country, port, protocol,
//! action and HTTP status.

use crate::service::daemon::Daemon;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

const EXITS: [(&str, Option<&str>); 5] = [
    ("185.220.101.21", Some("de")),
    ("185.220.101.22", Some("nl")),
    ("185.220.101.23", None),
    ("185.220.101.24", Some("us")),
    ("2a0b:f4c2:2::24", Some("us")),
];

fn onionoo() -> String {
    let relays: Vec<String> = EXITS
        .iter()
        .enumerate()
        .map(|(i, (addr, country))| {
            let or = if addr.contains(':') { format!("[{addr}]:9001") } else { format!("{addr}:9001") };
            let exit = if addr.contains(':') { String::new() } else { format!(", \"exit_addresses\": [\"{addr}\"]") };
            let country = country.map_or(String::new(), |c| format!(", \"country\": \"{c}\""));
            format!(
                "{{\"nickname\": \"r{i}\", \"fingerprint\": \"{:040X}\", \"flags\": [\"Exit\", \"Running\"], \
                 \"or_addresses\": [\"{or}\"]{exit}{country}}}",
                i + 1
            )
        })
        .chain(std::iter::once(
            "{\"nickname\": \"mid\", \"fingerprint\": \"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\", \"flags\": [\"Running\"], \
             \"or_addresses\": [\"45.66.33.45:9001\"]}"
                .to_string(),
        ))
        .collect();
    format!(
        "{{\"version\": \"8.0\", \"relays\": [{}]}}",
        relays.join(", ")
    )
}

/// A kernel log with the configured prefixes (one with digits), the built-in ones and none, in two stamp forms;
/// some lines end in `\r\n`, and empty lines come between some.
fn kernel_log() -> String {
    let prefixes = [
        "KEEP-7 ",
        "TOSS ",
        "KEEP-8 ",
        "[UFW BLOCK] ",
        "[UFW ALLOW] ",
        "",
        "FINAL_REJECT: ",
    ];
    let mut out = String::new();
    for i in 0..700usize {
        let src = match i % 9 {
            0..=4 => EXITS[i % 4].0.to_string(),
            5 => "93.184.215.14".to_string(),
            _ => format!("93.184.216.{}", i % 200),
        };
        let (src, dst, proto) = if i % 23 == 0 {
            (
                "2a0b:f4c2:0002:0000:0000:0000:0000:0024".to_string(),
                "2001:0db8:0000:0000:0000:0000:0000:0001".to_string(),
                "TCP",
            )
        } else if i % 31 == 0 {
            ("10.0.0.9".to_string(), "45.66.33.45".to_string(), "UDP")
        } else {
            (
                src,
                "10.0.0.5".to_string(),
                if i % 5 == 0 { "UDP" } else { "TCP" },
            )
        };
        let stamp = if i % 2 == 0 {
            "Nov 28 10:00:00 fw1".to_string()
        } else {
            format!("2026-11-28T10:{:02}:00+00:00 fw2", i % 60)
        };
        out += &format!(
            "{stamp} kernel: [{i}.5] {prefix}IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC={src} DST={dst} LEN=60 TOS=0x00 \
             PREC=0x00 TTL=50 ID={i} DF PROTO={proto} SPT=4{i:04} DPT={} WINDOW=64240 RES=0x00 SYN URGP=0{cr}\n",
            [22, 443, 3389, 8080, 53][i % 5],
            prefix = prefixes[i % prefixes.len()],
            cr = if i % 7 == 0 { "\r" } else { "" },
        );
        // Empty lines, which are no lines to either.
        if i % 50 == 0 {
            out += if i % 100 == 0 { "\n" } else { "\r\n" };
        }
    }
    out
}

fn access_log() -> String {
    (0..40)
        .map(|i| {
            format!(
                "{} - - [28/Nov/2026:10:00:{:02} +0000] \"GET /{i} HTTP/1.1\" {} 10 \"-\" \"curl\"\n",
                if i % 2 == 0 { EXITS[i % 4].0 } else { "93.184.215.14" },
                i % 60,
                [200, 404, 500, 503][i % 4]
            )
        })
        .collect()
}

/// Sums the samples of `metric` in an exposition by the value of `label` (`""`: all together).
fn by(text: &str, metric: &str, label: &str, filter: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) && l.contains(filter))
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = series
            .split(['{', ',', '}'])
            .find_map(|kv| kv.strip_prefix(&format!("{label}=\"")))
            .map(|v| v.trim_end_matches('"').to_string())
            .unwrap_or_default();
        let v: f64 = value.parse().unwrap();
        if v > 0.0 {
            *out.entry(key).or_default() += v as u64;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_and_the_service_count_the_same_log_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (kern, access) = (dir.path().join("kern.log"), dir.path().join("access.log"));
    std::fs::write(dir.path().join("onionoo.json"), onionoo()).unwrap();
    let (kernel_text, access_text) = (kernel_log(), access_log());
    std::fs::write(&kern, &kernel_text).unwrap();
    std::fs::write(&access, &access_text).unwrap();
    let config = format!(
        "sources:\n  - {{ name: onionoo, type: onionoo, url: {}, interval: 1h, min_entries: 1 }}\n\
         inputs:\n  - {{ name: kernel, type: file, paths: [\"{}\"], start_at: beginning, poll: 100ms }}\n  \
         - {{ name: web, type: file, paths: [\"{}\"], start_at: beginning, poll: 100ms }}\n\
         netfilter_actions:\n  KEEP-7: allow\n  TOSS: reject\n",
        dir.path().join("onionoo.json").display(),
        kern.display(),
        access.display()
    );
    let d = Daemon::start(dir.path(), &config).await;
    // Every line read and counted, and shown by a scrape after the series it made were shown at 0.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let (_, text) = d.get("/metrics").await;
        let done = |input: &str| {
            let filter = format!("input=\"{input}\"");
            by(&text, "torwatch_input_parsed_total", "", &filter)
                .values()
                .sum::<u64>()
                + by(&text, "torwatch_input_parse_errors_total", "", &filter)
                    .values()
                    .sum::<u64>()
        };
        if done("kernel") == 700 && done("web") == 40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = d.get("/metrics").await;
            break d.get("/metrics").await.1;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lines not counted: {}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    d.stop();

    let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["scan", "--json", "--config"])
        .arg(dir.path().join("torwatch.yaml"))
        .arg(&kern)
        .arg(&access)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scan: torwatch::scan::Report = serde_json::from_slice(&out.stdout).unwrap();

    let service_exits = by(&text, "torwatch_tor_hits_by_exit_total", "exit", "");
    assert_eq!(scan.by_exit, service_exits, "hits per exit");
    assert!(
        service_exits.len() == 5 && !service_exits.contains_key("other"),
        "{service_exits:?}"
    );
    let countries = by(&text, "torwatch_tor_hits_by_country_total", "country", "");
    assert_eq!(
        scan.by_country, countries,
        "hits per country, from the state's per-address data"
    );
    assert_eq!(
        countries.keys().collect::<Vec<_>>(),
        ["de", "nl", "unknown", "us"]
    );
    assert_eq!(
        scan.by_action,
        by(&text, "torwatch_tor_hits_total", "action", ""),
        "hits per action"
    );
    assert_eq!(
        scan.by_action.len(),
        3,
        "configured and built-in actions: {:?}",
        scan.by_action
    );
    // Web requests name no protocol: the service counts them as proto="unknown", scan leaves them out.
    let mut protos = by(&text, "torwatch_tor_hits_total", "proto", "");
    assert_eq!(protos.remove("unknown"), Some(20));
    assert_eq!(scan.by_proto, protos, "hits per protocol");
    assert_eq!(
        scan.by_port,
        by(&text, "torwatch_tor_hits_by_port_total", "port", ""),
        "hits per port"
    );
    assert_eq!(
        scan.http_status,
        by(&text, "torwatch_tor_http_responses_total", "code", ""),
        "HTTP statuses"
    );
    let total: u64 = by(&text, "torwatch_tor_hits_total", "", "").values().sum();
    assert_eq!(scan.tor_hits, total);
    let outbound = by(
        &text,
        "torwatch_tor_hits_total",
        "",
        "direction=\"outbound\"",
    );
    assert!(
        outbound.values().sum::<u64>() > 0,
        "outbound hits counted too"
    );
    let parsed: u64 = by(&text, "torwatch_input_parsed_total", "", "")
        .values()
        .sum();
    assert_eq!(scan.parsed, parsed);
    assert_eq!((scan.lines, scan.distinct_exits), (740, 5));
    let read: u64 = by(&text, "torwatch_input_lines_total", "", "")
        .values()
        .sum();
    assert_eq!(
        read, scan.lines,
        "lines read: empty ones are no lines to either"
    );
}
