//! `nft`: an nftables script for `nft -f` that declares `table inet torwatch` with one interval set per family
//! (`<base>_v4` of `ipv4_addr`, `<base>_v6` of `ipv6_addr`) and replaces their contents. The whole file is one
//! transaction: the declarations only add what is missing (chains the operator keeps in the table survive), then
//! each set is flushed and refilled, so a second version replaces the first atomically and, should any element be
//! refused, the old contents stay. Pure rendering, no IO.

use std::fmt::Write as _;

use ipnet::IpNet;

use super::{families, family_suffix, push_addr, push_header, selection, set_base, RenderOptions};
use crate::list::{Family, List};

/// The table every set lives in.
const TABLE: &str = "torwatch";

/// Elements per `add element` statement: keeps each netlink message and nft's parser state small.
const CHUNK: usize = 2048;

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    // Interval sets refuse overlapping elements; a network inside another adds nothing, so drop it.
    let nets = selection::without_contained(selection::nets(list, opts));
    let base = set_base(&list.name);
    let fams = families(opts);
    let mut out = String::with_capacity(512 + nets.len() * 18);
    push_header(&mut out, list, nets.len());
    let _ = writeln!(out, "table inet {TABLE} {{");
    for &family in fams {
        let _ = writeln!(
            out,
            "\tset {base}_{} {{\n\t\ttype {}\n\t\tflags interval\n\t}}",
            family_suffix(family),
            addr_type(family)
        );
    }
    out.push_str("}\n");
    for &family in fams {
        let _ = writeln!(
            out,
            "flush set inet {TABLE} {base}_{}",
            family_suffix(family)
        );
    }
    for &family in fams {
        let members: Vec<&IpNet> = nets.iter().filter(|n| Family::of(n) == family).collect();
        for chunk in members.chunks(CHUNK) {
            push_elements(&mut out, &base, family, chunk);
        }
    }
    out
}

fn push_elements(out: &mut String, base: &str, family: Family, chunk: &[&IpNet]) {
    let _ = write!(
        out,
        "add element inet {TABLE} {base}_{} {{ ",
        family_suffix(family)
    );
    for (i, net) in chunk.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_addr(out, net);
    }
    out.push_str(" }\n");
}

fn addr_type(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "ipv4_addr",
        Family::Ipv6 => "ipv6_addr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::ListEntry;

    #[test]
    fn large_sets_are_chunked_and_empty_sets_still_declared() {
        let entries = (0..5000u32)
            .map(|i| ListEntry {
                net: IpNet::from(std::net::IpAddr::from(std::net::Ipv4Addr::from(
                    0x0a00_0000 + i,
                ))),
                prov: Default::default(),
            })
            .collect();
        let list = List::new("tor-exits", 1, 0, entries);
        let out = render(&list, &RenderOptions::default());
        assert_eq!(
            out.matches("add element inet torwatch tor_exit_v4 {")
                .count(),
            3
        );
        assert!(!out.contains("tor_exit_v6 {  }"));
        assert!(out.contains("flush set inet torwatch tor_exit_v6\n"));
        assert!(out.contains("\tset tor_exit_v6 {\n\t\ttype ipv6_addr\n"));
        let elements: usize = out
            .lines()
            .filter(|l| l.starts_with("add element"))
            .map(|l| l.matches(", ").count() + 1)
            .sum();
        assert_eq!(elements, 5000);
    }
}
