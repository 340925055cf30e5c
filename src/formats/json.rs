//! `json`: the list with each address's provenance, for automation:
//! `{"list","version","updated","count","entries":[{"address",…}]}`. Absent facts are omitted, times are
//! RFC 3339 UTC. Pure rendering, no IO.

use serde::Serialize;

use super::{is_host, rfc3339, selection, RenderOptions};
use crate::list::List;

#[derive(Serialize)]
struct Document<'a> {
    list: &'a str,
    version: u64,
    updated: String,
    count: usize,
    entries: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    address: String,
    sources: &'a [String],
    first_seen: String,
    last_seen: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    fingerprints: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    as_name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    approximate: bool,
}

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let rows = selection::rows(list, opts);
    let entries = rows
        .iter()
        .map(|row| {
            let p = row.prov.as_ref();
            Entry {
                address: if is_host(&row.net) {
                    row.net.addr().to_string()
                } else {
                    row.net.to_string()
                },
                sources: &p.sources,
                first_seen: rfc3339(p.first_seen),
                last_seen: rfc3339(p.last_seen),
                fingerprints: &p.fingerprints,
                nickname: p.nickname.as_deref(),
                country: p.country.as_deref(),
                as_number: p.as_number,
                as_name: p.as_name.as_deref(),
                approximate: p.approximate,
            }
        })
        .collect::<Vec<_>>();
    let doc = Document {
        list: &list.name,
        version: list.version,
        updated: rfc3339(list.updated),
        count: entries.len(),
        entries,
    };
    // Serializing plain strings and numbers cannot fail.
    let mut out = serde_json::to_string(&doc).unwrap_or_default();
    out.push('\n');
    out
}
