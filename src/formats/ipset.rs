//! `ipset`: an `ipset restore` script per family: create the target set if missing, fill a temporary set,
//! `swap` it in and destroy it, so the set a rule references never appears empty or half-filled. Set names are
//! the nft base with `_` → `-` plus `-v4` / `-v6` (`tor-exit-v4`), cut to ipset's 31 characters. Pure, no IO.
//!
//! `-exist` on `create` only forgives an identical existing set: `maxelem` is therefore sized in coarse steps
//! (65536, then powers of two) so it stays the same from one version to the next; a list that outgrows its step
//! makes the next restore fail until the operator destroys the old set.

use std::fmt::Write as _;

use ipnet::IpNet;

use super::{families, family_suffix, push_addr, push_header, selection, set_base, RenderOptions};
use crate::list::{Family, List};

/// ipset's IPSET_MAXNAMELEN (32) minus the terminating NUL.
const MAX_NAME: usize = 31;
const TMP_SUFFIX: &str = "-tmp";
const MIN_MAXELEM: usize = 65_536;

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let base = set_base(&list.name).replace('_', "-");
    let mut out = String::with_capacity(512 + nets.len() * 28);
    push_header(&mut out, list, nets.len());
    for &family in families(opts) {
        let members: Vec<&IpNet> = nets.iter().filter(|n| Family::of(n) == family).collect();
        push_family(&mut out, &set_name(&base, family), family, &members);
    }
    out
}

fn push_family(out: &mut String, name: &str, family: Family, members: &[&IpNet]) {
    let maxelem = members.len().next_power_of_two().max(MIN_MAXELEM);
    let spec = format!(
        "hash:net family {} hashsize 1024 maxelem {maxelem}",
        match family {
            Family::Ipv4 => "inet",
            Family::Ipv6 => "inet6",
        }
    );
    let tmp = format!("{name}{TMP_SUFFIX}");
    let _ = writeln!(out, "create {name} {spec} -exist");
    let _ = writeln!(out, "create {tmp} {spec} -exist");
    let _ = writeln!(out, "flush {tmp}");
    for net in members {
        push_member(out, &tmp, net);
    }
    let _ = writeln!(out, "swap {tmp} {name}");
    let _ = writeln!(out, "destroy {tmp}");
}

/// `<base>-v4`, with the base cut so that the temporary name (`…-tmp`) also fits in 31 characters.
fn set_name(base: &str, family: Family) -> String {
    let suffix = family_suffix(family);
    let room = MAX_NAME - TMP_SUFFIX.len() - suffix.len() - 1;
    let cut: String = base.chars().take(room).collect();
    format!("{cut}-{suffix}")
}

/// One `add` line: a host bare, a network as CIDR. hash:net cannot hold a /0, so one is added as the two halves
/// of the address space.
fn push_member(out: &mut String, set: &str, net: &IpNet) {
    if net.prefix_len() == 0 {
        let halves = match net {
            IpNet::V4(_) => ["0.0.0.0/1", "128.0.0.0/1"],
            IpNet::V6(_) => ["::/1", "8000::/1"],
        };
        for half in halves {
            let _ = writeln!(out, "add {set} {half}");
        }
        return;
    }
    let _ = write!(out, "add {set} ");
    push_addr(out, net);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_ipset_limit() {
        assert_eq!(set_name("tor-exit", Family::Ipv4), "tor-exit-v4");
        let long = set_name("a-very-long-list-name-from-some-config", Family::Ipv6);
        assert_eq!(long.len() + TMP_SUFFIX.len(), MAX_NAME);
        assert!(long.ends_with("-v6"));
    }
}
