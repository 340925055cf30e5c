//! `txt`: one address or CIDR per line, hosts without a prefix length. What PAN-OS EDLs, FortiGate external
//! threat feeds, Cisco FMC, Sophos and OPNsense/pfSense URL tables read. No comment header: not every reader
//! accepts one. Pure rendering, no IO.

use super::{push_addr, selection, RenderOptions};
use crate::list::List;

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let mut out = String::with_capacity(nets.len() * 16);
    for net in &nets {
        push_addr(&mut out, net);
        out.push('\n');
    }
    out
}
