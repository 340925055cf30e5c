//! Real-kernel tests of the nft and ipset files: each runs in network namespaces it creates (and deletes, even on
//! failure), so the host firewall is never touched. They need root and the `nft`, `ipset`, `ip` and `ping`
//! binaries, and fail (never skip) without them. Run with `cargo test --test it kernel:: -- --ignored`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ipnet::IpNet;
use serde_json::Value;
use torwatch::formats::{render, ListFormat, RenderOptions};
use torwatch::list::{List, ListEntry};

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("torwatch-{tag}-{}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        Netns { name }
    }

    /// Runs a command inside the namespace; panics unless it succeeds.
    fn run(&self, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))
    }

    /// Runs a command inside the namespace and returns whether it succeeded.
    fn try_run(&self, args: &[&str]) -> bool {
        output(
            Command::new("ip")
                .args(["netns", "exec", &self.name])
                .args(args),
        )
        .status
        .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is the tool installed?): {e}"))
}

fn run(cmd: &mut Command) -> Output {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn list(name: &str, version: u64, nets: &[&str]) -> List {
    let entries = nets
        .iter()
        .map(|n| ListEntry {
            net: parse_net(n),
            prov: Default::default(),
        })
        .collect();
    List::new(name, version, 1_795_000_000 + version as i64, entries)
}

fn parse_net(s: &str) -> IpNet {
    s.parse()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .unwrap_or_else(|e| panic!("bad test address {s}: {e}"))
}

/// Renders `list` into `dir` and returns the file's path.
fn file(dir: &Path, format: ListFormat, list: &List) -> PathBuf {
    let path = dir.join(format!("{}-v{}.{}", list.name, list.version, format.ext()));
    std::fs::write(&path, render(format, list, &RenderOptions::default()))
        .expect("write rendered file");
    path
}

fn set(nets: &[&str]) -> BTreeSet<IpNet> {
    nets.iter().map(|n| parse_net(n)).collect()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("nft -j prints JSON")
}

/// The elements of an nft set, from `nft -j list set`.
fn nft_elements(ns: &Netns, set_name: &str) -> BTreeSet<IpNet> {
    let doc = json(&ns.run(&["nft", "-j", "list", "set", "inet", "torwatch", set_name]));
    let sets = doc["nftables"].as_array().expect("nftables array");
    let elems = sets
        .iter()
        .find_map(|o| o.get("set")?.get("elem")?.as_array().cloned())
        .unwrap_or_default();
    elems
        .iter()
        .map(|e| match e {
            Value::String(a) => parse_net(a),
            _ => {
                let p = &e["prefix"];
                parse_net(&format!(
                    "{}/{}",
                    p["addr"].as_str().expect("prefix addr"),
                    p["len"]
                ))
            }
        })
        .collect()
}

/// The members of an ipset set, from `ipset list`.
fn ipset_members(ns: &Netns, set_name: &str) -> BTreeSet<IpNet> {
    let out = ns.run(&["ipset", "list", set_name]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let members = text
        .split_once("Members:\n")
        .map(|(_, m)| m)
        .unwrap_or_default();
    members
        .lines()
        .filter(|l| !l.is_empty())
        .map(parse_net)
        .collect()
}

#[test]
#[ignore = "needs root, nft, ipset; run by .ci/run"]
fn nft_second_version_replaces_the_first_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = Netns::new("nft");
    let v1 = [
        "192.0.2.1",
        "192.0.2.2",
        "198.51.100.0/24",
        "2001:db8::1",
        "2001:db8:1::/48",
    ];
    let v2 = ["192.0.2.2", "203.0.113.9", "203.0.113.10", "2001:db8::2"];
    ns.run(&[
        "nft",
        "-f",
        path_str(&file(
            dir.path(),
            ListFormat::Nft,
            &list("tor-exits", 1, &v1),
        )),
    ]);
    assert_eq!(nft_elements(&ns, "tor_exit_v4"), set(&v1[..3]));
    assert_eq!(nft_elements(&ns, "tor_exit_v6"), set(&v1[3..]));
    let second = file(dir.path(), ListFormat::Nft, &list("tor-exits", 2, &v2));
    ns.run(&["nft", "-f", path_str(&second)]);
    assert_eq!(nft_elements(&ns, "tor_exit_v4"), set(&v2[..3]));
    assert_eq!(nft_elements(&ns, "tor_exit_v6"), set(&v2[3..]));
    // One refused element (overlapping intervals) aborts the whole transaction: the flush does not happen.
    let mut bad = std::fs::read_to_string(&second).expect("read second");
    bad.push_str("add element inet torwatch tor_exit_v4 { 10.0.0.0/8, 10.1.0.0/16 }\n");
    let bad_path = dir.path().join("bad.nft");
    std::fs::write(&bad_path, bad.replace("203.0.113.9", "203.0.113.99")).expect("write bad");
    assert!(
        !ns.try_run(&["nft", "-f", path_str(&bad_path)]),
        "nft accepted overlapping elements"
    );
    assert_eq!(nft_elements(&ns, "tor_exit_v4"), set(&v2[..3]));
}

#[test]
#[ignore = "needs root, nft, ipset; run by .ci/run"]
fn thousands_of_addresses_load_in_nft_and_ipset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = Netns::new("big");
    // Every other address, so nothing is adjacent and no two elements could be merged.
    let v4 = (0..5000u32)
        .map(|i| IpNet::from(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + 2 * i))));
    let v6 = (0..2000u128).map(|i| {
        IpNet::from(IpAddr::from(std::net::Ipv6Addr::from(
            (0x2001_0db8u128 << 96) + 2 * i,
        )))
    });
    let entries = v4
        .chain(v6)
        .map(|net| ListEntry {
            net,
            prov: Default::default(),
        })
        .collect();
    let big = List::new("tor-relays", 7, 1_795_000_000, entries);
    let nft = file(dir.path(), ListFormat::Nft, &big);
    ns.run(&["nft", "-f", path_str(&nft)]);
    ns.run(&["nft", "-f", path_str(&nft)]);
    assert_eq!(nft_elements(&ns, "tor_relay_v4").len(), 5000);
    assert_eq!(nft_elements(&ns, "tor_relay_v6").len(), 2000);
    let ipset = file(dir.path(), ListFormat::Ipset, &big);
    ns.run(&["ipset", "restore", "-file", path_str(&ipset)]);
    ns.run(&["ipset", "restore", "-file", path_str(&ipset)]);
    assert_eq!(ipset_members(&ns, "tor-relay-v4").len(), 5000);
    assert_eq!(ipset_members(&ns, "tor-relay-v6").len(), 2000);
}

#[test]
#[ignore = "needs root, nft, ipset; run by .ci/run"]
fn ipset_restore_twice_swaps_in_exactly_the_new_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = Netns::new("ipset");
    let v1 = [
        "192.0.2.1",
        "198.51.100.0/24",
        "2001:db8::1",
        "2001:db8:1::/48",
    ];
    let v2 = [
        "192.0.2.7",
        "203.0.113.0/25",
        "203.0.113.200",
        "2001:db8::9",
    ];
    for (version, nets) in [(1, &v1[..]), (2, &v2[..])] {
        let path = file(
            dir.path(),
            ListFormat::Ipset,
            &list("tor-exits", version, nets),
        );
        ns.run(&["ipset", "restore", "-file", path_str(&path)]);
    }
    assert_eq!(ipset_members(&ns, "tor-exit-v4"), set(&v2[..3]));
    assert_eq!(ipset_members(&ns, "tor-exit-v6"), set(&v2[3..]));
    let names = ns.run(&["ipset", "list", "-n"]);
    let names: BTreeSet<String> = String::from_utf8_lossy(&names.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["tor-exit-v4".to_owned(), "tor-exit-v6".to_owned()])
    );
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The firewall namespace's own chain, kept in the torwatch table next to the generated sets.
const CHAIN: &str = "table inet torwatch {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr @tor_exit_v4 counter drop comment \"tor4\"
		ip6 saddr @tor_exit_v6 counter drop comment \"tor6\"
	}
}
";

/// Packets matched by the rule with this comment.
fn counter(ns: &Netns, comment: &str) -> u64 {
    let doc = json(&ns.run(&["nft", "-j", "list", "chain", "inet", "torwatch", "input"]));
    let rule = doc["nftables"]
        .as_array()
        .expect("nftables array")
        .iter()
        .filter_map(|o| o.get("rule"))
        .find(|r| r["comment"] == comment)
        .unwrap_or_else(|| panic!("no rule {comment}"));
    let exprs = rule["expr"].as_array().expect("expr array");
    exprs
        .iter()
        .find_map(|e| e.get("counter")?.get("packets")?.as_u64())
        .expect("counter")
}

/// Two namespaces joined by a veth pair: `fw` (10.77.0.1, fd77::1) filters, `peer` sends from .2/.3 and ::2/::3.
fn testbed() -> (Netns, Netns) {
    let fw = Netns::new("fw");
    let peer = Netns::new("peer");
    fw.run(&[
        "ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", &peer.name,
    ]);
    fw.run(&["ip", "addr", "add", "10.77.0.1/24", "dev", "veth0"]);
    fw.run(&["ip", "addr", "add", "fd77::1/64", "dev", "veth0", "nodad"]);
    fw.run(&["ip", "link", "set", "veth0", "up"]);
    for addr in ["10.77.0.2/24", "10.77.0.3/24"] {
        peer.run(&["ip", "addr", "add", addr, "dev", "veth1"]);
    }
    for addr in ["fd77::2/64", "fd77::3/64"] {
        peer.run(&["ip", "addr", "add", addr, "dev", "veth1", "nodad"]);
    }
    peer.run(&["ip", "link", "set", "veth1", "up"]);
    (fw, peer)
}

fn ping(peer: &Netns, from: &str, to: &str) -> bool {
    peer.try_run(&["ping", "-n", "-c1", "-W1", "-I", from, to])
}

#[test]
#[ignore = "needs root, nft, ipset; run by .ci/run"]
fn listed_sources_are_dropped_and_others_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fw, peer) = testbed();
    let v1 = list(
        "tor-exits",
        1,
        &["10.77.0.2", "192.0.2.1", "fd77::2", "2001:db8::1"],
    );
    fw.run(&[
        "nft",
        "-f",
        path_str(&file(dir.path(), ListFormat::Nft, &v1)),
    ]);
    let chain = dir.path().join("chain.nft");
    std::fs::write(&chain, CHAIN).expect("write chain");
    fw.run(&["nft", "-f", path_str(&chain)]);

    for (rule, listed, other, target) in [
        ("tor4", "10.77.0.2", "10.77.0.3", "10.77.0.1"),
        ("tor6", "fd77::2", "fd77::3", "fd77::1"),
    ] {
        assert!(
            ping(&peer, other, target),
            "{other} is not listed but got no reply"
        );
        assert_eq!(
            counter(&fw, rule),
            0,
            "{rule} counted a packet from {other}"
        );
        assert!(
            !ping(&peer, listed, target),
            "{listed} is listed but got a reply"
        );
        assert!(
            counter(&fw, rule) >= 1,
            "{rule} did not count the packet from {listed}"
        );
    }

    // A second version swaps which peer address is listed; the operator's chain survives the reload.
    let v2 = list("tor-exits", 2, &["10.77.0.3", "fd77::3"]);
    fw.run(&[
        "nft",
        "-f",
        path_str(&file(dir.path(), ListFormat::Nft, &v2)),
    ]);
    for (rule, listed, other, target) in [
        ("tor4", "10.77.0.3", "10.77.0.2", "10.77.0.1"),
        ("tor6", "fd77::3", "fd77::2", "fd77::1"),
    ] {
        assert!(
            ping(&peer, other, target),
            "{other} is no longer listed but got no reply"
        );
        let before = counter(&fw, rule);
        assert!(
            !ping(&peer, listed, target),
            "{listed} is now listed but got a reply"
        );
        assert!(
            counter(&fw, rule) > before,
            "{rule} did not count the packet from {listed}"
        );
    }
}

#[test]
#[ignore = "needs root, nft, ipset; run by .ci/run"]
fn publish_writes_the_file_and_applies_it_with_nft() {
    use std::time::Duration;
    use torwatch::publish::apply::ApplyError;
    use torwatch::publish::file::{publish, PublishFile};

    let dir = tempfile::tempdir().expect("tempdir");
    let ns = Netns::new("pub");
    let path = dir.path().join("torwatch.nft");
    let nft_f = [
        "ip",
        "netns",
        "exec",
        &ns.name,
        "nft",
        "-f",
        path_str(&path),
    ];
    let spec = PublishFile {
        path: path.clone(),
        format: ListFormat::Nft,
        list: "tor-exits".to_owned(),
        options: RenderOptions::default(),
        apply: Some(nft_f.iter().map(|s| (*s).to_owned()).collect()),
        apply_timeout: Duration::from_secs(10),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let nets = ["192.0.2.1", "2001:db8::1"];
    let bytes = render(ListFormat::Nft, &list("tor-exits", 1, &nets), &spec.options);
    let outcome = runtime.block_on(publish(&spec, &bytes, &Default::default()));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(nft_elements(&ns, "tor_exit_v4"), set(&nets[..1]));
    // A file nft refuses: the write succeeds, the apply reports nft's exit code and error, the set is unchanged.
    let mut bad = bytes.clone();
    bad.extend_from_slice(b"add element inet torwatch tor_exit_v4 { 10.0.0.0/8, 10.1.0.0/16 }\n");
    let outcome = runtime.block_on(publish(&spec, &bad, &Default::default()));
    assert_eq!(outcome.write, Ok(()));
    match outcome.apply {
        Some(Err(ApplyError::Exit(1, tail))) => {
            assert!(tail.contains("conflicting intervals"), "{tail}")
        }
        other => panic!("expected nft to refuse the file, got {other:?}"),
    }
    assert_eq!(nft_elements(&ns, "tor_exit_v4"), set(&nets[..1]));
}

/// The shared bulk list (`../shared`, or `$TORWATCH_SHARED`), one address per line.
fn shared_bulk_list() -> String {
    let path = crate::shared("samples/tor").join("torbulkexitlist_2024-03-12.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs the real service over a feed file until it has written `files`, then stops it.
fn run_service(dir: &Path, config: &str, files: &[PathBuf]) {
    let config_path = dir.join("torwatch.yaml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    std::fs::write(
        &config_path,
        format!(
            "listen: 127.0.0.1:{port}\nstate_dir: {}\n{config}",
            dir.join("state").display()
        ),
    )
    .expect("write config");
    let log = std::fs::File::create(dir.join("torwatch.log")).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["run", "--config", path_str(&config_path)])
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start torwatch");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !files.iter().all(|f| f.exists()) {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "torwatch wrote no files; log:\n{}",
                std::fs::read_to_string(dir.join("torwatch.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
#[ignore = "needs root, nft, ipset and ../shared; run by .ci/run"]
fn hostile_feed_lines_never_match_in_the_kernel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bulk = shared_bulk_list();
    let first = bulk
        .lines()
        .next()
        .expect("a bulk address")
        .trim()
        .to_owned();
    let mut feed = bulk.clone();
    // Hostile lines, and a wide network holding the excluded range.
    for line in [
        "0.0.0.0/0",
        "::/0",
        "0.0.0.0/1",
        "10.0.0.0/8",
        "127.0.0.1",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "::ffff:1.2.3.4",
        "185.0.0.0/8",
        "185.220.96.0/22",
    ] {
        feed.push_str(line);
        feed.push('\n');
    }
    let feed_path = dir.path().join("feed.txt");
    std::fs::write(&feed_path, feed).expect("write feed");
    let nft = dir.path().join("tor-exits.nft");
    let ipset = dir.path().join("tor-exits.ipset");
    run_service(
        dir.path(),
        &format!(
            "exclude: [185.220.98.0/24]\nsources:\n\
             \x20 - {{ name: hostile, type: plain, url: {}, list: tor-exits }}\n\
             inputs: []\npublish:\n\
             \x20 - {{ path: {}, format: nft, list: tor-exits }}\n\
             \x20 - {{ path: {}, format: ipset, list: tor-exits }}\n",
            path_str(&feed_path),
            path_str(&nft),
            path_str(&ipset),
        ),
        &[nft.clone(), ipset.clone()],
    );
    let ns = Netns::new("guard");
    ns.run(&["nft", "-f", path_str(&nft)]);
    let ipset_file = std::fs::File::open(&ipset).expect("ipset file");
    let restore = Command::new("ip")
        .args(["netns", "exec", &ns.name, "ipset", "restore"])
        .stdin(ipset_file)
        .output()
        .expect("ipset restore");
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    let in_nft = |set_name: &str, addr: &str| {
        ns.try_run(&[
            "nft",
            "get",
            "element",
            "inet",
            "torwatch",
            set_name,
            &format!("{{ {addr} }}"),
        ])
    };
    let in_ipset = |set_name: &str, addr: &str| ns.try_run(&["ipset", "test", set_name, addr]);
    for (addr, v6) in [
        ("8.8.8.8", false),
        ("127.0.0.1", false),
        ("10.1.2.3", false),
        ("224.0.0.1", false),
        ("185.220.98.7", false),
        ("185.0.0.1", false),
        ("2001:4860:4860::8888", true),
        ("::1", true),
        ("fe80::1", true),
    ] {
        let (nft_set, ipset_set) = if v6 {
            ("tor_exit_v6", "tor-exit-v6")
        } else {
            ("tor_exit_v4", "tor-exit-v4")
        };
        assert!(!in_nft(nft_set, addr), "nft matches {addr}");
        assert!(!in_ipset(ipset_set, addr), "ipset matches {addr}");
    }
    // What is listed still matches: a bulk address and the /22 around the excluded /24.
    for addr in [first.as_str(), "185.220.96.1", "185.220.99.254"] {
        assert!(in_nft("tor_exit_v4", addr), "nft misses {addr}");
        assert!(in_ipset("tor-exit-v4", addr), "ipset misses {addr}");
    }
    let v4 = nft_elements(&ns, "tor_exit_v4");
    let bulk_count = bulk.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(v4.len() >= bulk_count, "{} elements", v4.len());
    assert!(nft_elements(&ns, "tor_exit_v6").is_empty());
}
