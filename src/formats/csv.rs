//! `csv`: the Splunk / ELK lookup of the original recipe, `src_ip,desc` then `<ip>,TorExitNode`; with `enrich`
//! the provenance columns follow. Multi-valued fields are space-separated (Splunk's `makemv` default). Fields are
//! quoted only where RFC 4180 needs it. No comment line: a lookup's first line must be its header. Pure, no IO.

use std::fmt::Write as _;

use super::{push_addr, rfc3339, selection, RenderOptions};
use crate::list::{List, Provenance};

const HEADER: &str = "src_ip,desc";
const ENRICHED: &str =
    ",country,as_number,as_name,nickname,fingerprints,first_seen,last_seen,sources";

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let rows = selection::rows(list, opts);
    let desc = description(&list.name);
    let mut out = String::with_capacity(64 + rows.len() * if opts.enrich { 160 } else { 28 });
    out.push_str(HEADER);
    if opts.enrich {
        out.push_str(ENRICHED);
    }
    out.push('\n');
    for row in &rows {
        push_addr(&mut out, &row.net);
        out.push(',');
        push_field(&mut out, desc);
        if opts.enrich {
            push_enrichment(&mut out, &row.prov);
        }
        out.push('\n');
    }
    out
}

/// `TorExitNode` for the exit lists (as the original lookup), `TorRelay` for the relay lists, else the name.
fn description(list_name: &str) -> &str {
    if list_name.starts_with("tor-exits") {
        "TorExitNode"
    } else if list_name.starts_with("tor-relays") {
        "TorRelay"
    } else {
        list_name
    }
}

fn push_enrichment(out: &mut String, prov: &Provenance) {
    out.push(',');
    push_field(out, prov.country.as_deref().unwrap_or(""));
    out.push(',');
    if let Some(asn) = prov.as_number {
        let _ = write!(out, "{asn}");
    }
    out.push(',');
    push_field(out, prov.as_name.as_deref().unwrap_or(""));
    out.push(',');
    push_field(out, prov.nickname.as_deref().unwrap_or(""));
    out.push(',');
    push_field(out, &prov.fingerprints.join(" "));
    out.push(',');
    out.push_str(&rfc3339(prov.first_seen));
    out.push(',');
    out.push_str(&rfc3339(prov.last_seen));
    out.push(',');
    push_field(out, &prov.sources.join(" "));
}

/// Writes a field, quoted (with `"` doubled) if it holds a comma, a quote or a line break.
fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        push_field(&mut out, "Hetzner Online GmbH");
        out.push('|');
        push_field(&mut out, "Foo, \"Bar\"\nInc");
        assert_eq!(out, "Hetzner Online GmbH|\"Foo, \"\"Bar\"\"\nInc\"");
    }

    #[test]
    fn descriptions() {
        assert_eq!(description("tor-exits"), "TorExitNode");
        assert_eq!(description("tor-exits-7d"), "TorExitNode");
        assert_eq!(description("tor-relays"), "TorRelay");
        assert_eq!(description("dshield"), "dshield");
    }
}
