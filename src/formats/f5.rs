//! `f5`: F5 BIG-IP external data group file of type `ip` (address), as the iRules data group formatting rules
//! describe it: `host 192.0.2.1,` for a host and `network 192.0.2.0/24,` for a network, one per line, no
//! values and no comments. Pure rendering, no IO.

use std::fmt::Write as _;

use super::{is_host, selection, RenderOptions};
use crate::list::List;

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let mut out = String::with_capacity(nets.len() * 26);
    for net in &nets {
        let _ = if is_host(net) {
            writeln!(out, "host {},", net.addr())
        } else {
            writeln!(out, "network {net},")
        };
    }
    out
}
