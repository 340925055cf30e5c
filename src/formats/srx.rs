//! `srx`: Juniper SRX dynamic address feed (`security dynamic-address feed-server`): one CIDR per line, hosts
//! written as /32 or /128. No comment header. Pure rendering, no IO.

use std::fmt::Write as _;

use super::{selection, RenderOptions};
use crate::list::List;

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let nets = selection::nets(list, opts);
    let mut out = String::with_capacity(nets.len() * 19);
    for net in &nets {
        let _ = writeln!(out, "{net}");
    }
    out
}
