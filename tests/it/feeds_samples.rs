//! Feed parsers and validation against data: our own fixtures in `tests/fixtures/feeds/` (rejections by file name,
//! accepted bodies against golden JSON), and every real sample in `../shared/samples/tor/`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use torwatch::feeds::validate::{self, CountRules};
use torwatch::feeds::{self, Feed, FeedError, FeedKind};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// `kind--rest` file names: the kind, and the rest split on `--`.
fn name_parts(path: &Path) -> (FeedKind, Vec<String>) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut parts = name.split("--").map(String::from);
    let kind = parts.next().unwrap();
    (
        FeedKind::from_name(&kind).unwrap_or_else(|| panic!("{name}: unknown kind {kind}")),
        parts.collect(),
    )
}

/// `reject/KIND--REASON--LABEL.ext` must be rejected by the KIND parser with REASON.
#[test]
fn every_rejection_fixture_is_rejected_with_its_reason() {
    let mut reasons = HashSet::new();
    for path in fixtures("reject") {
        let (kind, parts) = name_parts(&path);
        let body = std::fs::read(&path).unwrap();
        match feeds::parse(kind, &body) {
            Err(e) => assert_eq!(e.reason(), parts[0], "{}: {e}", path.display()),
            Ok(feed) => panic!("{} was accepted: {feed:?}", path.display()),
        }
        reasons.insert(parts[0].clone());
    }
    let parse_reasons = ["empty", "html", "rate_limited", "bad_line", "malformed"];
    assert!(
        parse_reasons.iter().all(|r| reasons.contains(*r)),
        "missing a reason: {reasons:?}"
    );
}

/// `accept/KIND--LABEL.ext` must parse to exactly `golden/KIND--LABEL.ext.json`. `TORWATCH_BLESS=1` rewrites them.
#[test]
fn every_accepted_fixture_matches_its_golden_file() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/golden");
    for path in fixtures("accept") {
        let (kind, _) = name_parts(&path);
        let feed = feeds::parse(kind, &std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let golden = golden_dir.join(format!(
            "{}.json",
            path.file_name().unwrap().to_str().unwrap()
        ));
        let got = serde_json::to_string_pretty(&feed).unwrap() + "\n";
        if std::env::var_os("TORWATCH_BLESS").is_some() {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert_eq!(
            got,
            want,
            "{} differs from {}",
            path.display(),
            golden.display()
        );
    }
}

#[test]
fn validation_rejects_a_short_or_shrunk_fixture() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds/accept/danme--raw.txt");
    let feed = feeds::parse(FeedKind::Danme, &std::fs::read(path).unwrap()).unwrap();
    assert_eq!(validate::entries(&feed), 3);
    let rules = CountRules {
        min_entries: 4,
        max_shrink: 0.5,
    };
    assert_eq!(
        validate::check(&feed, &rules, None),
        Err(FeedError::BelowFloor { count: 3, floor: 4 })
    );
    let rules = CountRules {
        min_entries: 1,
        max_shrink: 0.5,
    };
    assert_eq!(validate::check(&feed, &rules, Some(6)), Ok(()));
    assert_eq!(
        validate::check(&feed, &rules, Some(7)),
        Err(FeedError::Shrink {
            count: 3,
            previous: 7,
            max_shrink: 0.5
        })
    );
}

// ---- real samples ----

fn sample(name: &str) -> Vec<u8> {
    let path = crate::shared("samples/tor").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_sample(kind: FeedKind, name: &str) -> Feed {
    feeds::parse(kind, &sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn exit_set(feed: &Feed) -> HashSet<IpNet> {
    feed.exits.iter().map(|a| a.net).collect()
}

fn utc(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

const EXIT_ADDRESSES: &str = "exit-addresses_2024-03-12.txt";
const ONIONOO_2024: &str = "onionoo_details_2024-03-12_fields-fp-or-country_exit-subset.json";
const DANME_NORMAL: &str = "dan-me-uk_torlist-exit_via-panwdbl-actions_2021-01-22T1713Z_normal.txt";
const DANME_TRUNCATED: &str =
    "dan-me-uk_torlist-exit_via-panwdbl-actions_2021-01-22T1901Z_truncated.txt";
const DANME_RATE_LIMIT: &str = "dan-me-uk_ratelimit_body.txt";

/// Every sample file has a kind here and is accepted, or rejected for the expected reason.
#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn every_sample_is_covered() {
    let expected: BTreeMap<&str, (FeedKind, Result<usize, &str>)> = [
        (
            "collector-exit-list_2013-08-19-04-02-03.txt",
            (FeedKind::Tordnsel, Ok(639)),
        ),
        (DANME_RATE_LIMIT, (FeedKind::Danme, Err("rate_limited"))),
        (DANME_NORMAL, (FeedKind::Danme, Ok(1473))),
        (DANME_TRUNCATED, (FeedKind::Danme, Ok(129))),
        (EXIT_ADDRESSES, (FeedKind::Tordnsel, Ok(2378))),
        (
            "firehol_dm_tor_2015-11-18_head.ipset",
            (FeedKind::Plain, Ok(10)),
        ),
        (
            "firehol_tor_exits_2015-11-15_head.ipset",
            (FeedKind::Plain, Ok(20)),
        ),
        (
            "onionoo_details_2021-09-30_limit2.json",
            (FeedKind::Onionoo, Ok(0)),
        ),
        (
            "onionoo_details_2021-10-09_csail-search.json",
            (FeedKind::Onionoo, Ok(1)),
        ),
        (ONIONOO_2024, (FeedKind::Onionoo, Ok(1494))),
        (
            "onionoo_summary_2021-09-30_limit4.json",
            (FeedKind::Onionoo, Ok(0)),
        ),
        (
            "secops-institute_tor-exit-nodes_2024-02-27.lst",
            (FeedKind::Plain, Ok(1746)),
        ),
        ("torbulkexitlist_2022-08-17.txt", (FeedKind::Bulk, Ok(1396))),
        ("torbulkexitlist_2024-03-12.txt", (FeedKind::Bulk, Ok(1174))),
        (
            "x4bnet_lists_torexit_ipv4_2026-08-22.txt",
            (FeedKind::Plain, Ok(809)),
        ),
    ]
    .into_iter()
    .collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(crate::shared("samples/tor")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "SOURCE.md" {
            continue;
        }
        let (kind, want) = expected
            .get(name.as_str())
            .unwrap_or_else(|| panic!("sample {name} is not covered"));
        let got = feeds::parse(*kind, &sample(&name))
            .map(|f| f.exits.len())
            .map_err(|e| e.reason());
        assert_eq!(got, *want, "{name}");
        seen += 1;
    }
    assert_eq!(seen, expected.len());
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn exit_addresses_match_the_bulk_list_of_the_same_day() {
    let dnsel = parse_sample(FeedKind::Tordnsel, EXIT_ADDRESSES);
    let bulk = parse_sample(FeedKind::Bulk, "torbulkexitlist_2024-03-12.txt");
    assert_eq!(dnsel.relays.len(), 2372);
    assert_eq!(exit_set(&dnsel).len(), 1174);
    assert_eq!(exit_set(&dnsel), exit_set(&bulk));
    // The bulk list is the distinct ExitAddress values in order of first appearance.
    let mut first_seen = Vec::new();
    let mut seen = HashSet::new();
    dnsel
        .exits
        .iter()
        .filter(|a| seen.insert(a.net))
        .for_each(|a| first_seen.push(a.net));
    assert_eq!(
        first_seen,
        bulk.exits.iter().map(|a| a.net).collect::<Vec<_>>()
    );

    let first = &dnsel.relays[0];
    assert_eq!(
        first.fingerprint,
        "FE39F07EBE7870DCE124AB30DF3ABD0700A43F75"
    );
    assert_eq!(first.last_seen, Some(utc("2024-03-12 08:00:00")));
    assert_eq!(
        (dnsel.exits[0].net, dnsel.exits[0].relay),
        (net("185.241.208.232/32"), Some(0))
    );
    assert_eq!(dnsel.exits[0].seen, Some(utc("2024-03-12 08:10:51")));
    let newest = dnsel.exits.iter().filter_map(|a| a.seen).max();
    assert_eq!(newest, Some(utc("2024-03-12 14:28:38")));
    assert!(dnsel
        .exits
        .iter()
        .all(|a| a.relay.is_some_and(|r| (r as usize) < dnsel.relays.len())));
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn the_collector_file_parses_with_its_header() {
    let feed = parse_sample(
        FeedKind::Tordnsel,
        "collector-exit-list_2013-08-19-04-02-03.txt",
    );
    assert_eq!(feed.relays.len(), 636);
    let first = &feed.relays[0];
    assert_eq!(
        first.fingerprint,
        "003A71137D959748C8157C4A76ECA639CEF5E33E"
    );
    assert_eq!(first.last_seen, Some(utc("2013-08-19 03:02:47")));
    assert_eq!(feed.exits[0].net, net("66.223.170.168/32"));
    assert_eq!(feed.exits[0].seen, Some(utc("2013-08-19 03:18:51")));
    // Three relays list a second ExitAddress: 639 addresses for 636 relays.
    let relays_with_two = (0..feed.relays.len() as u32)
        .filter(|r| feed.exits.iter().filter(|a| a.relay == Some(*r)).count() == 2)
        .count();
    assert_eq!(relays_with_two, 3);
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn onionoo_2024_gives_countries_and_or_addresses_of_both_families() {
    let feed = parse_sample(FeedKind::Onionoo, ONIONOO_2024);
    assert_eq!(feed.relays.len(), 2349);
    let first = &feed.relays[0];
    assert_eq!(
        first.fingerprint,
        "000C351F86033654A82D9FD6AC3B178F44E236BE"
    );
    assert_eq!((first.country.as_deref(), first.exit), (Some("fr"), None));
    let of_first: Vec<_> = feed
        .relays_or
        .iter()
        .filter(|a| a.relay == Some(0))
        .map(|a| a.net)
        .collect();
    assert_eq!(
        of_first,
        [net("5.196.8.113/32"), net("2001:41d0:404:300::dd2/128")]
    );
    // No flags were requested: every relay counts as an exit, its IPv6 OR addresses approximate exits.
    assert!(feed
        .exits
        .iter()
        .all(|a| a.approximate && matches!(a.net, IpNet::V6(_))));
    assert!(exit_set(&feed).contains(&net("2a0b:f4c2:2::33/128")));
    // The measured exit IPs are mostly, not all, the relays' OR IPv4 addresses.
    let or_v4: HashSet<_> = feed
        .relays_or
        .iter()
        .map(|a| a.net)
        .filter(|n| matches!(n, IpNet::V4(_)))
        .collect();
    let measured = exit_set(&parse_sample(FeedKind::Tordnsel, EXIT_ADDRESSES));
    let elsewhere = measured.difference(&or_v4).count();
    assert_eq!(
        elsewhere, 28,
        "exits that leave from an address that is no OR address"
    );
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn onionoo_details_give_as_flags_and_times() {
    let feed = parse_sample(
        FeedKind::Onionoo,
        "onionoo_details_2021-10-09_csail-search.json",
    );
    let by_nick = |n: &str| {
        feed.relays
            .iter()
            .position(|r| r.nickname.as_deref() == Some(n))
            .unwrap()
    };
    let moria = &feed.relays[by_nick("moria1")];
    assert_eq!((moria.as_number, moria.exit), (Some(3), Some(false)));
    assert_eq!(moria.first_seen, Some(utc("2010-01-18 23:00:00")));
    let exit = by_nick("csailmitexit") as u32;
    let exits: Vec<_> = feed
        .exits
        .iter()
        .map(|a| (a.net, a.relay, a.approximate))
        .collect();
    assert_eq!(exits, [(net("128.31.0.13/32"), Some(exit), false)]);
    assert_eq!(feed.relays_or.len(), 3);

    let feed = parse_sample(FeedKind::Onionoo, "onionoo_details_2021-09-30_limit2.json");
    let got: Vec<_> = feed
        .relays
        .iter()
        .map(|r| (r.nickname.as_deref(), r.as_number, r.country.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("lyesn"), Some(14061), Some("us")),
            (Some("seele"), Some(7922), Some("us"))
        ]
    );
    assert_eq!(feed.relays[1].last_seen, Some(utc("2021-09-30 14:00:00")));
    assert_eq!(feed.relays_or[1].net, net("98.45.181.220/32"));

    let feed = parse_sample(FeedKind::Onionoo, "onionoo_summary_2021-09-30_limit4.json");
    assert_eq!(feed.relays[2].nickname.as_deref(), Some("CalyxInstitute14"));
    assert_eq!(feed.relays_or[2].net, net("162.247.74.201/32"));
    assert_eq!(feed.relays_or.len(), 4);
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn dan_me_uk_rate_limit_and_truncation_are_rejected() {
    let body = sample(DANME_RATE_LIMIT);
    for kind in [FeedKind::Danme, FeedKind::Plain, FeedKind::Bulk] {
        match feeds::parse(kind, &body) {
            Err(FeedError::RateLimited(text)) => {
                assert!(text.starts_with("Umm... You can only fetch"), "{text}")
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    let normal = parse_sample(FeedKind::Danme, DANME_NORMAL);
    assert_eq!(validate::entries(&normal), 1473);
    assert_eq!(
        normal
            .exits
            .iter()
            .filter(|a| matches!(a.net, IpNet::V6(_)))
            .count(),
        324
    );
    let rules = CountRules {
        min_entries: 100,
        max_shrink: 0.5,
    };
    assert_eq!(validate::check(&normal, &rules, None), Ok(()));
    assert_eq!(validate::check(&normal, &rules, Some(1470)), Ok(()));
    let truncated = parse_sample(FeedKind::Danme, DANME_TRUNCATED);
    let previous = Some(validate::entries(&normal));
    assert_eq!(
        validate::check(&truncated, &rules, previous),
        Err(FeedError::Shrink {
            count: 129,
            previous: 1473,
            max_shrink: 0.5
        })
    );
}

#[test]
#[ignore = "needs ../shared; run by .ci/run"]
fn plain_lists_normalise_addresses_and_cidrs() {
    let secops = parse_sample(
        FeedKind::Plain,
        "secops-institute_tor-exit-nodes_2024-02-27.lst",
    );
    let v6: Vec<_> = secops
        .exits
        .iter()
        .filter(|a| matches!(a.net, IpNet::V6(_)))
        .collect();
    assert_eq!((secops.exits.len(), v6.len()), (1746, 619));
    assert!(exit_set(&secops).contains(&net("2001:470:1:908::9001/128")));
    let canonical = |a: &IpNet| {
        a.addr()
            .to_string()
            .split(':')
            .all(|g| g == "0" || !g.starts_with('0'))
    };
    assert!(v6
        .iter()
        .all(|a| a.net.prefix_len() == 128 && canonical(&a.net)));

    let x4b = parse_sample(FeedKind::Plain, "x4bnet_lists_torexit_ipv4_2026-08-22.txt");
    let mut by_len = BTreeMap::new();
    x4b.exits
        .iter()
        .for_each(|a| *by_len.entry(a.net.prefix_len()).or_insert(0) += 1);
    assert_eq!(
        by_len,
        BTreeMap::from([
            (26, 1),
            (27, 4),
            (28, 11),
            (29, 13),
            (30, 23),
            (31, 49),
            (32, 708)
        ])
    );
    assert_eq!(x4b.exits[0].net, net("2.56.10.36/32"));
    assert!(x4b.exits.iter().all(|a| a.net == a.net.trunc()));

    let tor_exits = parse_sample(FeedKind::Plain, "firehol_tor_exits_2015-11-15_head.ipset");
    assert_eq!(
        (tor_exits.exits[0].net, tor_exits.exits[19].net),
        (net("2.97.162.247/32"), net("5.135.152.208/32"))
    );
    let dm_tor = parse_sample(FeedKind::Plain, "firehol_dm_tor_2015-11-18_head.ipset");
    assert_eq!(
        (dm_tor.exits[0].net, dm_tor.exits[9].net),
        (net("2.3.85.7/32"), net("2.111.64.26/32"))
    );
}
