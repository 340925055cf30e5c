//! The list guard through the real service: a real-world-shaped exit list with hostile lines added, a Tor source
//! with a /8 in it and a plain feed that grows from 2,000 hosts to a /9. No hostile network reaches a list, an
//! EDL format or a published file; each drop is counted by reason; the fetch that would cover a /9 is refused
//! whole and the last good list kept; `exclude` is carved out of a wider network.

use crate::service::daemon::Daemon;
use crate::service::edl::wait_ready;
use crate::service::upstream::{Behaviour, Upstream};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use torwatch::feeds::guard;

/// Lines no list may ever publish, each with the reason it is dropped for.
pub const HOSTILE: [(&str, &str); 9] = [
    ("0.0.0.0/0", "too_wide"),
    ("::/0", "too_wide"),
    ("0.0.0.0/1", "too_wide"),
    ("10.0.0.0/8", "private"),
    ("127.0.0.1", "loopback"),
    ("224.0.0.1", "multicast"),
    ("::1", "loopback"),
    ("fe80::1", "link_local"),
    ("::ffff:1.2.3.4", "ipv4_mapped"),
];

/// 1,174 public exit-shaped hosts (the size of the 2024-03-12 bulk list), spread over real exit networks.
pub fn exits() -> Vec<String> {
    let prefixes = [
        "185.220.101",
        "185.220.100",
        "192.42.116",
        "109.70.100",
        "45.141.215",
    ];
    (0..1174)
        .map(|i| {
            format!(
                "{}.{}",
                prefixes[i % prefixes.len()],
                i / prefixes.len() + 1
            )
        })
        .collect()
}

fn net(s: &str) -> IpNet {
    s.parse()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Every address or network written in `body` (tokens of address characters that parse as one).
fn addresses(body: &str) -> Vec<IpNet> {
    body.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':' || c == '/'))
        .filter_map(|t| {
            let t = t.trim_matches(|c| c == ':' || c == '.');
            t.parse::<IpNet>()
                .ok()
                .or_else(|| t.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

async fn wait_for(d: &Daemon, series: &str, value: f64) {
    d.wait_metric(series, value, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_lines_never_reach_a_list_a_format_or_a_file() {
    let up = Upstream::start().await;
    let mut exit_body = String::from("# exits\n");
    for a in exits() {
        exit_body.push_str(&a);
        exit_body.push('\n');
    }
    exit_body.push_str("185.220.96.0/22\n");
    for (line, _) in HOSTILE {
        exit_body.push_str(line);
        exit_body.push('\n');
    }
    up.set(
        "/exits",
        Behaviour::Ok {
            body: exit_body.into_bytes(),
            etag: None,
        },
    );
    // A Tor source (dan.me.uk's shape) with a public /8 in it.
    up.set(
        "/danme",
        Behaviour::Ok {
            body: b"171.25.193.25\n185.0.0.0/8\n2a0b:f4c2::25\n".to_vec(),
            etag: None,
        },
    );
    let hosts: String = (0..2000)
        .map(|i| format!("31.10.{}.{}\n", i / 250, i % 250 + 1))
        .collect::<String>();
    up.set(
        "/growing",
        Behaviour::Ok {
            body: hosts.clone().into_bytes(),
            etag: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut publish = String::from("publish:\n");
    for f in ["txt", "nft", "ipset", "rsc", "checkpoint"] {
        publish.push_str(&format!(
            "  - {{ path: {}/tor-exits.{f}, format: {f}, list: tor-exits }}\n",
            out.display()
        ));
    }
    let cfg = format!(
        "exclude: [185.220.98.0/24]\nsources:\n\
         \x20 - {{ name: exits, type: plain, url: {}, list: tor-exits, interval: 1h }}\n\
         \x20 - {{ name: danme, type: danme, url: {} }}\n\
         \x20 - {{ name: growing, type: plain, url: {}, interval: 1s, min_entries: 1 }}\n\
         inputs: []\n{publish}",
        up.url("/exits"),
        up.url("/danme"),
        up.url("/growing"),
    );
    let d = Daemon::start(dir.path(), &cfg).await;
    wait_ready(&d).await;
    wait_for(
        &d,
        "torwatch_source_fetches_total{source=\"danme\",result=\"ok\"}",
        1.0,
    )
    .await;
    wait_for(
        &d,
        "torwatch_source_fetches_total{source=\"growing\",result=\"ok\"}",
        1.0,
    )
    .await;

    // The growing feed: from 2,000 hosts to 128 /16s (each allowed by min_prefix) that make up a /9.
    let mut grown = hosts.clone();
    for second in 0..128 {
        grown.push_str(&format!("46.{second}.0.0/16\n"));
    }
    up.set(
        "/growing",
        Behaviour::Ok {
            body: grown.into_bytes(),
            etag: None,
        },
    );
    wait_for(
        &d,
        "torwatch_source_fetches_total{source=\"growing\",result=\"max_cover\"}",
        1.0,
    )
    .await;

    // What tor-exits must be: the hosts, dan.me.uk's two hosts and the /22 without the excluded /24.
    let mut want: BTreeSet<IpNet> = exits().iter().map(|a| net(a)).collect();
    want.extend(
        [
            "171.25.193.25",
            "2a0b:f4c2::25",
            "185.220.96.0/23",
            "185.220.99.0/24",
        ]
        .map(net),
    );
    let excluded = net("185.220.98.0/24");
    let (code, txt) = d.get("/lists/tor-exits.txt").await;
    assert_eq!(code, 200);
    let got: BTreeSet<IpNet> = addresses(&txt).into_iter().collect();
    assert_eq!(got, want, "tor-exits is the good entries only");

    // No format of any list, and no published file, names anything else.
    let hostile: Vec<IpNet> = HOSTILE.iter().map(|(l, _)| net(l)).collect();
    let check = |what: &str, body: &str, allowed: &BTreeSet<IpNet>| {
        for a in addresses(body) {
            assert!(!hostile.contains(&a), "{what}: {a} is hostile");
            assert!(
                !a.contains(&excluded.addr()) && !excluded.contains(&a),
                "{what}: {a} is excluded"
            );
            assert_eq!(
                guard::refuse(&a, &guard::Rules::PLAIN.min_prefix),
                None,
                "{what}: {a}"
            );
            assert!(
                allowed.iter().any(|w| w.contains(&a)),
                "{what}: {a} was never listed"
            );
        }
    };
    let growing: BTreeSet<IpNet> = addresses(&hosts).into_iter().collect();
    assert_eq!(growing.len(), 2000);
    for f in [
        "txt",
        "csv",
        "json",
        "nft",
        "ipset",
        "rsc",
        "srx",
        "f5",
        "checkpoint",
    ] {
        let (code, body) = d.get(&format!("/lists/tor-exits.{f}")).await;
        assert_eq!(code, 200, "{f}");
        check(&format!("tor-exits.{f}"), &body, &want);
        let (code, body) = d.get(&format!("/lists/growing.{f}")).await;
        assert_eq!(code, 200, "{f}");
        check(&format!("growing.{f}"), &body, &growing);
        assert!(
            !body.contains("46.0.0.0"),
            "growing.{f}: the /9 was refused"
        );
    }
    let (_, txt) = d.get("/lists/growing.txt").await;
    assert_eq!(txt.lines().count(), 2000, "the last good list is kept");
    for f in ["txt", "nft", "ipset", "rsc", "checkpoint"] {
        let path = out.join(format!("tor-exits.{f}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never written",
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        check(
            &path.display().to_string(),
            &std::fs::read_to_string(&path).unwrap(),
            &want,
        );
    }

    // Each drop counted by source and reason.
    let mut expected: std::collections::BTreeMap<&str, f64> = Default::default();
    for (_, reason) in HOSTILE {
        *expected.entry(reason).or_default() += 1.0;
    }
    for (reason, n) in &expected {
        let series = format!(
            "torwatch_source_dropped_entries_total{{source=\"exits\",reason=\"{reason}\"}}"
        );
        assert_eq!(d.metric(&series).await, *n, "{series}");
    }
    assert_eq!(
        d.metric("torwatch_source_dropped_entries_total{source=\"danme\",reason=\"too_wide\"}")
            .await,
        1.0
    );
    assert_eq!(
        d.metric(
            "torwatch_source_dropped_entries_total{source=\"exits\",reason=\"documentation\"}"
        )
        .await,
        0.0,
        "every reason is exposed at zero"
    );
    // The refusal is shown on /readyz like any rejection, the drops of the last fetch too.
    let (_, ready) = d.get("/readyz").await;
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let source = |name: &str| {
        ready["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let growing = source("growing");
    assert_eq!(growing["last_result"], "max_cover", "{growing}");
    assert!(
        growing["last_error"]
            .as_str()
            .unwrap()
            .contains("8388608 IPv4 addresses"),
        "{growing}"
    );
    assert_eq!(source("exits")["dropped"]["loopback"], 2, "{ready}");
    // The first few drops are logged.
    let log: String = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        log.contains(
            "the list guard refused entries that must never be published: 0.0.0.0/0 (too_wide)"
        ),
        "{log}"
    );
}
