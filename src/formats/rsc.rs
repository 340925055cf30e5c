//! `rsc`: a MikroTik RouterOS script for `/import` that updates the address list (`/ip firewall address-list`,
//! `/ipv6 firewall address-list`) in place, so that a firewall importing it never sees the list empty: for each
//! family it marks every entry of the list stale (comment `torwatch-stale`), adds each current address (an
//! address already there fails the `add` and is unmarked instead: comment `torwatch`), then removes only what is
//! still marked stale. The list name is the published list's, restricted to `[A-Za-z0-9._-]`. Pure, no IO.

use std::fmt::Write as _;

use super::{families, push_addr, push_header, selection, RenderOptions};
use crate::list::{Family, List};

/// The comment of an entry torwatch listed in this import.
const CURRENT: &str = "torwatch";
/// The comment of an entry that is removed at the end of this import unless an `add` claimed it again.
const STALE: &str = "torwatch-stale";

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let name = address_list_name(&list.name);
    let mut out = String::with_capacity(256 + nets.len() * (110 + 2 * name.len()));
    push_header(&mut out, list, nets.len());
    out.push_str(
        "# Updates the address list in place and never empties it: every entry is marked stale, each current\n\
         # address is added (or, when already listed, unmarked), then only the entries still stale are removed.\n",
    );
    for &family in families(opts) {
        let menu = match family {
            Family::Ipv4 => "/ip firewall address-list",
            Family::Ipv6 => "/ipv6 firewall address-list",
        };
        let _ = writeln!(
            out,
            "{menu}\nset [find list=\"{name}\"] comment=\"{STALE}\""
        );
        for net in nets.iter().filter(|n| Family::of(n) == family) {
            let mut addr = String::new();
            push_addr(&mut addr, net);
            let _ = writeln!(
                out,
                ":do {{ add list=\"{name}\" address={addr} comment=\"{CURRENT}\" }} \
                 on-error={{ set [find list=\"{name}\" address=\"{addr}\"] comment=\"{CURRENT}\" }}"
            );
        }
        let _ = writeln!(out, "remove [find list=\"{name}\" comment=\"{STALE}\"]");
    }
    out
}

fn address_list_name(list_name: &str) -> String {
    let clean: String = list_name
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    if clean.is_empty() {
        "torwatch".to_owned()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_cannot_break_out_of_quotes() {
        assert_eq!(address_list_name("tor-exits"), "tor-exits");
        assert_eq!(
            address_list_name("x\"] ; /system reset"),
            "x______system_reset"
        );
        assert_eq!(address_list_name(""), "torwatch");
    }
}
