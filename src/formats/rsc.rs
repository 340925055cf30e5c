//! `rsc`: a MikroTik RouterOS script for `/import`: for each family, remove the list's entries from the address
//! list (`/ip firewall address-list`, `/ipv6 firewall address-list`) and add the current ones. The list name is
//! the published list's, restricted to `[A-Za-z0-9._-]`. Pure rendering, no IO.

use std::fmt::Write as _;

use super::{families, push_addr, push_header, selection, RenderOptions};
use crate::lists::{Family, List};

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let name = address_list_name(&list.name);
    let mut out = String::with_capacity(256 + nets.len() * (40 + name.len()));
    push_header(&mut out, list, nets.len());
    for &family in families(opts) {
        let menu = match family {
            Family::Ipv4 => "/ip firewall address-list",
            Family::Ipv6 => "/ipv6 firewall address-list",
        };
        let _ = writeln!(out, "{menu}\nremove [find list=\"{name}\"]");
        for net in nets.iter().filter(|n| Family::of(n) == family) {
            let _ = write!(out, "add list=\"{name}\" address=");
            push_addr(&mut out, net);
            out.push('\n');
        }
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
