//! The MikroTik `.rsc` output run through a small model of RouterOS address lists (`add` refuses an entry its
//! list already has; `set` / `remove` act on what `[find …]` selects; `:do { … } on-error={ … }` runs the second
//! block when the first fails): imported again and again, with and without changes, the list is never empty
//! between two commands once it was filled, and after each import it holds exactly the rendered addresses.
//! No RouterOS can run here, so this model stands in for one; it refuses any line it does not know, so a change of
//! the script's shape fails the test instead of passing unchecked.

use std::collections::BTreeSet;

use torwatch::formats::{render, ListFormat, RenderOptions};
use torwatch::list::{List, ListEntry};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    menu: &'static str,
    list: String,
    address: String,
    comment: String,
}

#[derive(Debug, Default)]
struct Router {
    menu: &'static str,
    entries: Vec<Entry>,
}

/// `key="value"` or `key=value` pairs of a `find` or `add`.
fn pairs(text: &str) -> Vec<(String, String)> {
    text.split_whitespace()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("not key=value: {kv:?}"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

impl Router {
    fn find(&self, filters: &str) -> Vec<usize> {
        let filters = pairs(filters);
        (0..self.entries.len())
            .filter(|&i| {
                let e = &self.entries[i];
                e.menu == self.menu
                    && filters.iter().all(|(k, v)| match k.as_str() {
                        "list" => &e.list == v,
                        "address" => &e.address == v,
                        "comment" => &e.comment == v,
                        other => panic!("unknown find filter {other}"),
                    })
            })
            .collect()
    }

    /// Runs one command; `Err` is a RouterOS failure (which aborts an import unless caught by `on-error`).
    fn command(&mut self, cmd: &str) -> Result<(), String> {
        let cmd = cmd.trim();
        if let Some(rest) = cmd.strip_prefix(":do { ") {
            let (body, handler) = rest
                .split_once(" } on-error={ ")
                .unwrap_or_else(|| panic!("unknown :do form {cmd:?}"));
            let handler = handler
                .strip_suffix(" }")
                .unwrap_or_else(|| panic!("unterminated on-error {cmd:?}"));
            return self.command(body).or_else(|_| self.command(handler));
        }
        if let Some(rest) = cmd.strip_prefix("add ") {
            let mut e = Entry {
                menu: self.menu,
                list: String::new(),
                address: String::new(),
                comment: String::new(),
            };
            for (k, v) in pairs(rest) {
                match k.as_str() {
                    "list" => e.list = v,
                    "address" => e.address = v,
                    "comment" => e.comment = v,
                    other => panic!("unknown add property {other}"),
                }
            }
            let duplicate = self
                .entries
                .iter()
                .any(|x| x.menu == e.menu && x.list == e.list && x.address == e.address);
            if duplicate {
                return Err("failure: already have such entry".into());
            }
            self.entries.push(e);
            return Ok(());
        }
        if let Some(rest) = cmd.strip_prefix("set [find ") {
            let (filters, props) = rest.split_once("] ").expect("set [find …] props");
            let selected = self.find(filters);
            for (k, v) in pairs(props) {
                assert_eq!(k, "comment", "only comments are set");
                for &i in &selected {
                    self.entries[i].comment.clone_from(&v);
                }
            }
            return Ok(());
        }
        if let Some(rest) = cmd.strip_prefix("remove [find ") {
            let filters = rest.strip_suffix(']').expect("remove [find …]");
            let selected: BTreeSet<usize> = self.find(filters).into_iter().collect();
            let mut i = 0;
            self.entries.retain(|_| {
                i += 1;
                !selected.contains(&(i - 1))
            });
            return Ok(());
        }
        match cmd {
            "/ip firewall address-list" => self.menu = "ip",
            "/ipv6 firewall address-list" => self.menu = "ipv6",
            _ => panic!("the model does not know {cmd:?}"),
        }
        Ok(())
    }

    fn listed(&self, menu: &str, list: &str) -> BTreeSet<String> {
        self.entries
            .iter()
            .filter(|e| e.menu == menu && e.list == list)
            .map(|e| e.address.clone())
            .collect()
    }

    /// Imports `script`, checking after every command that no family of `list` that held entries before the
    /// import is empty. Returns how many commands ran.
    fn import(&mut self, script: &str, list: &str) -> usize {
        let filled: Vec<&str> = ["ip", "ipv6"]
            .into_iter()
            .filter(|m| !self.listed(m, list).is_empty())
            .collect();
        let mut commands = 0;
        for line in script.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            self.command(line)
                .unwrap_or_else(|e| panic!("{line:?} failed: {e}"));
            commands += 1;
            for m in &filled {
                assert!(
                    !self.listed(m, list).is_empty(),
                    "the {m} list {list} is empty after {line:?}"
                );
            }
        }
        commands
    }
}

fn list(version: u64, nets: &[&str]) -> List {
    let entries = nets
        .iter()
        .map(|n| ListEntry {
            net: n
                .parse()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(Into::into))
                .unwrap(),
            prov: Default::default(),
        })
        .collect();
    List::new(
        "tor-exits",
        version,
        1_795_000_000 + version as i64,
        entries,
    )
}

fn script(list: &List) -> String {
    String::from_utf8(render(ListFormat::Rsc, list, &RenderOptions::default())).unwrap()
}

#[test]
fn imports_never_empty_the_list_and_leave_exactly_the_rendered_addresses() {
    let v1 = list(
        1,
        &[
            "185.220.101.1",
            "185.220.101.2",
            "185.220.100.0/24",
            "2a0b:f4c2::1",
        ],
    );
    let v2 = list(
        2,
        &[
            "185.220.101.2",
            "185.220.101.3",
            "2a0b:f4c2::2",
            "2a0b:f4c2:1::/48",
        ],
    );
    // A single address replaced by another: the moment most likely to leave a list empty.
    let v3 = list(3, &["185.220.101.9", "2a0b:f4c2::2"]);
    // An entry of an earlier, uncommented import and an unrelated list the operator keeps.
    let mut router = Router {
        menu: "ip",
        ..Router::default()
    };
    router
        .command("add list=\"tor-exits\" address=185.220.101.1")
        .unwrap();
    router
        .command("add list=\"tor-exits\" address=192.42.116.16")
        .unwrap();
    router
        .command("add list=\"mine\" address=185.220.101.3")
        .unwrap();
    for (step, l) in [&v1, &v1, &v2, &v2, &v3, &v1].into_iter().enumerate() {
        let commands = router.import(&script(l), "tor-exits");
        assert!(commands > 0);
        let want_v4: BTreeSet<String> = l
            .entries
            .iter()
            .filter(|e| e.net.addr().is_ipv4())
            .map(|e| render_addr(&e.net))
            .collect();
        let want_v6: BTreeSet<String> = l
            .entries
            .iter()
            .filter(|e| e.net.addr().is_ipv6())
            .map(|e| render_addr(&e.net))
            .collect();
        assert_eq!(router.listed("ip", "tor-exits"), want_v4, "step {step}");
        assert_eq!(router.listed("ipv6", "tor-exits"), want_v6, "step {step}");
        assert_eq!(
            router.listed("ip", "mine"),
            BTreeSet::from(["185.220.101.3".to_string()]),
            "another list is left alone"
        );
        assert!(
            router
                .entries
                .iter()
                .filter(|e| e.list == "tor-exits")
                .all(|e| e.comment == "torwatch"),
            "nothing stays marked stale"
        );
    }
}

#[test]
fn the_model_refuses_duplicates_and_unknown_lines() {
    let mut r = Router {
        menu: "ip",
        ..Router::default()
    };
    r.command("add list=\"x\" address=1.2.3.4").unwrap();
    assert!(r.command("add list=\"x\" address=1.2.3.4").is_err());
    let caught = std::panic::catch_unwind(move || {
        let _ = r.command("remove [find list=\"x\"");
    });
    assert!(caught.is_err());
}

fn render_addr(net: &ipnet::IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}
