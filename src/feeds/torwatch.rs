//! `torwatch` feed parser: another torwatch instance's list as its `json` format writes it (`/lists/NAME.json`),
//! so that a fleet's followers serve their leader's list with the leader's provenance.
//!
//! Pure: no IO; serde_json (one document a minute at most, not a hot path). The document is accepted whole or
//! rejected whole: a body that is not the format, an address, time or source name that does not read, or a
//! `count` that disagrees with the entries (a truncated transfer) rejects it. The list guard and the count rules
//! run after this, as for every feed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{body, Feed, FeedAddr, FeedError, Origin, RelayInfo};
use crate::config::valid_name;
use crate::formats::{JsonEntry, JsonList};
use ipnet::IpNet;

/// Parses a torwatch `json` list. Each entry becomes an address of [`Feed::exits`] whose `seen` is the leader's
/// last sighting, with an [`Origin`] (the leader's sources and first sighting) and a relay per fingerprint (the
/// first carrying nickname, country and AS).
pub fn parse(input: &[u8]) -> Result<Feed, FeedError> {
    let input = body::screen(input)?;
    let document: JsonList = serde_json::from_slice(input)
        .map_err(|e| FeedError::Malformed(format!("torwatch json: {e}")))?;
    if document.count != document.entries.len() {
        return Err(FeedError::Malformed(format!(
            "torwatch list {:?} says {} entries but holds {}",
            document.list,
            document.count,
            document.entries.len()
        )));
    }
    let mut feed = Feed::default();
    let mut origins = BTreeMap::new();
    for (i, entry) in document.entries.into_iter().enumerate() {
        let (net, origin, addr) = read_entry(&mut feed.relays, i, entry)?;
        feed.exits.push(addr);
        origins.insert(net, origin);
    }
    feed.origins = origins.into_values().collect();
    Ok(feed)
}

fn read_entry(
    relays: &mut Vec<RelayInfo>,
    index: usize,
    e: JsonEntry,
) -> Result<(IpNet, Origin, FeedAddr), FeedError> {
    let bad = |what: &str, value: &str| {
        FeedError::Malformed(format!(
            "entry {index}: {what} {}",
            body::excerpt(value.as_bytes())
        ))
    };
    let net = body::network(e.address.as_bytes()).ok_or_else(|| bad("address", &e.address))?;
    let first_seen = time(&e.first_seen).ok_or_else(|| bad("first_seen", &e.first_seen))?;
    let last_seen = time(&e.last_seen).ok_or_else(|| bad("last_seen", &e.last_seen))?;
    if e.sources.is_empty() {
        return Err(bad("sources", "[]"));
    }
    if let Some(s) = e.sources.iter().find(|s| !valid_name(s)) {
        return Err(bad("source name", s));
    }
    if let Some(f) = e.fingerprints.iter().find(|f| !fingerprint(f)) {
        return Err(bad("fingerprint", f));
    }
    let mut sources = e.sources.into_owned();
    sources.sort_unstable();
    sources.dedup();
    let first = u32::try_from(relays.len()).map_err(|_| bad("relays", "too many"))?;
    let mut known = e.fingerprints.into_owned().into_iter();
    // The first relay carries what the leader knows of the address; an address without a fingerprint (a bulk or
    // plain source's) still gets one when it has a nickname, country or AS.
    let details = RelayInfo {
        fingerprint: known.next().unwrap_or_default(),
        nickname: e.nickname.map(Cow::into_owned),
        country: e.country.map(Cow::into_owned),
        as_number: e.as_number,
        as_name: e.as_name.map(Cow::into_owned),
        ..RelayInfo::default()
    };
    let has_details = !details.fingerprint.is_empty()
        || details.nickname.is_some()
        || details.country.is_some()
        || details.as_number.is_some()
        || details.as_name.is_some();
    if has_details {
        relays.push(details);
    }
    relays.extend(known.map(|fingerprint| RelayInfo {
        fingerprint,
        ..RelayInfo::default()
    }));
    let last = u32::try_from(relays.len()).map_err(|_| bad("relays", "too many"))?;
    let origin = Origin {
        net,
        sources,
        first_seen,
        relays: (first..last).collect(),
    };
    let addr = FeedAddr {
        net,
        relay: has_details.then_some(first),
        seen: Some(last_seen),
        approximate: e.approximate,
    };
    Ok((net, origin, addr))
}

/// RFC 3339 as the json format writes it, to unix seconds.
fn time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// A relay fingerprint: 40 hex digits.
fn fingerprint(f: &str) -> bool {
    f.len() == 40 && f.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"list":"tor-exits","version":7,"updated":"2026-11-02T14:00:00Z","count":3,"entries":[
        {"address":"185.220.101.7","sources":["tordnsel","bulk"],"first_seen":"2026-11-01T00:00:00Z",
         "last_seen":"2026-11-02T13:30:00Z","fingerprints":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"],"nickname":"relay1","country":"de","as_number":24940,
         "as_name":"Hetzner"},
        {"address":"2a0b:f4c2::1","sources":["onionoo"],"first_seen":"2026-11-02T00:00:00Z",
         "last_seen":"2026-11-02T13:00:00Z","approximate":true},
        {"address":"45.66.35.10","sources":["bulk"],"first_seen":"2026-11-02T10:00:00Z",
         "last_seen":"2026-11-02T13:30:00Z","country":"nl"}]}"#;

    fn secs(t: &str) -> i64 {
        time(t).unwrap()
    }

    #[test]
    fn entries_keep_the_leaders_provenance() {
        let feed = parse(DOC.as_bytes()).unwrap();
        assert_eq!(feed.exits.len(), 3);
        let a: IpNet = "185.220.101.7/32".parse().unwrap();
        let o = feed.origin(&a).unwrap();
        assert_eq!(o.sources, ["bulk", "tordnsel"]);
        assert_eq!(o.first_seen, secs("2026-11-01T00:00:00Z"));
        assert_eq!(feed.exits[0].seen, Some(secs("2026-11-02T13:30:00Z")));
        let relays: Vec<_> = o.relays.iter().map(|&r| &feed.relays[r as usize]).collect();
        assert_eq!(relays.len(), 2);
        assert_eq!(relays[0].nickname.as_deref(), Some("relay1"));
        assert_eq!(relays[0].country.as_deref(), Some("de"));
        assert_eq!(relays[0].as_number, Some(24940));
        assert_eq!(relays[1].fingerprint, "B".repeat(40));
        assert_eq!(feed.exits[0].relay, Some(o.relays[0]));
        // IPv6, approximate, no relay known
        assert!(feed.exits[1].approximate);
        assert_eq!(feed.exits[1].relay, None);
        // a country without a fingerprint still reaches the list
        let c = feed.exits[2]
            .relay
            .map(|r| &feed.relays[r as usize])
            .unwrap();
        assert_eq!(
            (c.fingerprint.as_str(), c.country.as_deref()),
            ("", Some("nl"))
        );
        // origins are sorted for the lookup by network
        assert!(feed.origins.windows(2).all(|w| w[0].net < w[1].net));
    }

    #[test]
    fn a_body_that_is_not_the_format_is_rejected_whole() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("<html><body>502 Bad Gateway</body></html>", "html"),
            ("185.220.101.7\n", "malformed"),
            (r#"{"list":"tor-exits","count":0}"#, "malformed"),
            // truncated: count says 2
            (
                r#"{"list":"tor-exits","count":2,"entries":[{"address":"185.220.101.7","sources":["bulk"],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}]}"#,
                "malformed",
            ),
            (
                r#"{"list":"tor-exits","count":1,"entries":[{"address":"not-an-ip","sources":["bulk"],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}]}"#,
                "malformed",
            ),
            (
                r#"{"list":"tor-exits","count":1,"entries":[{"address":"185.220.101.7","sources":["bulk"],"first_seen":"yesterday","last_seen":"2026-11-01T00:00:00Z"}]}"#,
                "malformed",
            ),
            (
                r#"{"list":"tor-exits","count":1,"entries":[{"address":"185.220.101.7","sources":["Bulk Feed\n"],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}]}"#,
                "malformed",
            ),
            (
                r#"{"list":"tor-exits","count":1,"entries":[{"address":"185.220.101.7","sources":[],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}]}"#,
                "malformed",
            ),
            (
                r#"{"list":"tor-exits","count":1,"entries":[{"address":"185.220.101.7","sources":["bulk"],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z","fingerprints":["xyz"]}]}"#,
                "malformed",
            ),
        ];
        for (body, reason) in cases {
            let got = parse(body.as_bytes()).map(|_| ()).map_err(|e| e.reason());
            assert_eq!(got, Err(*reason), "{body}");
        }
    }

    #[test]
    fn the_guard_holds_a_leader_to_the_tor_rules() {
        use crate::feeds::guard::{screen, Rules};
        let entry = |a: &str| {
            format!(
                r#"{{"address":"{a}","sources":["bulk"],"first_seen":"2026-11-01T00:00:00Z","last_seen":"2026-11-01T00:00:00Z"}}"#
            )
        };
        let hostile = [
            "185.220.101.7",
            "0.0.0.0/0",
            "10.0.0.0/8",
            "127.0.0.1",
            "185.220.0.0/16",
            "::/0",
        ];
        let doc = format!(
            r#"{{"list":"tor-exits","count":{},"entries":[{}]}}"#,
            hostile.len(),
            hostile.map(entry).join(",")
        );
        let mut feed = parse(doc.as_bytes()).unwrap();
        let drops = screen(&mut feed, &Rules::TOR);
        let kept: Vec<String> = feed.exits.iter().map(|a| a.net.to_string()).collect();
        assert_eq!(kept, ["185.220.101.7/32"]);
        assert_eq!(drops.total(), 5);
    }

    #[test]
    fn what_torwatch_renders_reads_back() {
        use crate::formats::{render, ListFormat, RenderOptions};
        use crate::list::{List, ListEntry, Provenance};
        let entries = vec![ListEntry {
            net: "185.220.101.7/32".parse().unwrap(),
            prov: std::sync::Arc::new(Provenance {
                sources: vec!["bulk".into(), "tordnsel".into()],
                first_seen: 1_000,
                last_seen: 2_000,
                fingerprints: vec!["C".repeat(40)],
                nickname: Some("n".into()),
                country: Some("se".into()),
                as_number: Some(1),
                as_name: Some("as".into()),
                approximate: false,
            }),
        }];
        let list = List::new("tor-exits", 3, 2_000, entries);
        let body = render(ListFormat::Json, &list, &RenderOptions::default());
        let feed = parse(&body).unwrap();
        let o = &feed.origins[0];
        assert_eq!(
            (o.sources.clone(), o.first_seen),
            (vec!["bulk".into(), "tordnsel".into()], 1_000)
        );
        assert_eq!(feed.exits[0].seen, Some(2_000));
        let r = &feed.relays[feed.exits[0].relay.unwrap() as usize];
        assert_eq!(
            (
                r.fingerprint.as_str(),
                r.nickname.as_deref(),
                r.country.as_deref()
            ),
            ("C".repeat(40).as_str(), Some("n"), Some("se"))
        );
    }
}
