//! `json`: the list with each address's provenance, for automation:
//! `{"list","version","updated","count","entries":[{"address",…}]}`. Absent facts are omitted, times are
//! RFC 3339 UTC. Pure rendering, no IO.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{is_host, rfc3339, selection, RenderOptions};
use crate::list::List;

/// The `json` document: what [`render`] writes and the `torwatch` feed reads back (a follower reading its leader's
/// list). Borrowed when written, owned when read; `version` and `updated` are not needed to read it.
#[derive(Serialize, Deserialize)]
pub struct JsonList<'a> {
    pub list: Cow<'a, str>,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub updated: String,
    pub count: usize,
    pub entries: Vec<JsonEntry<'a>>,
}

/// One network of a [`JsonList`] with its provenance.
#[derive(Serialize, Deserialize)]
pub struct JsonEntry<'a> {
    pub address: String,
    pub sources: Cow<'a, [String]>,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub fingerprints: Cow<'a, [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_name: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let rows = selection::rows(list, opts);
    let entries = rows
        .iter()
        .map(|row| {
            let p = row.prov.as_ref();
            JsonEntry {
                address: if is_host(&row.net) {
                    row.net.addr().to_string()
                } else {
                    row.net.to_string()
                },
                sources: Cow::Borrowed(&p.sources),
                first_seen: rfc3339(p.first_seen),
                last_seen: rfc3339(p.last_seen),
                fingerprints: Cow::Borrowed(&p.fingerprints),
                nickname: p.nickname.as_deref().map(Cow::Borrowed),
                country: p.country.as_deref().map(Cow::Borrowed),
                as_number: p.as_number,
                as_name: p.as_name.as_deref().map(Cow::Borrowed),
                approximate: p.approximate,
            }
        })
        .collect::<Vec<_>>();
    let doc = JsonList {
        list: Cow::Borrowed(&list.name),
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
