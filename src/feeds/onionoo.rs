//! `onionoo` feed parser: Onionoo `details` documents (and, as a bonus, `summary` documents with short keys).
//!
//! Pure: no IO; serde_json, because this is one document every hour or so, not a hot path. Missing fields are
//! tolerated (requests ask only for some); a relay without a fingerprint or with an unreadable address rejects the
//! whole document. Bridges are ignored.

use ipnet::IpNet;
use serde::Deserialize;

use super::{body, tordnsel, Feed, FeedAddr, FeedError, RelayInfo};

#[derive(Deserialize)]
struct Document {
    relays: Option<Vec<Relay>>,
}

/// One relay; `f`, `n` and `a` are the summary document's short keys.
#[derive(Deserialize)]
struct Relay {
    #[serde(alias = "f")]
    fingerprint: Option<String>,
    #[serde(alias = "n")]
    nickname: Option<String>,
    or_addresses: Option<Vec<String>>,
    #[serde(rename = "a")]
    summary_addresses: Option<Vec<String>>,
    exit_addresses: Option<Vec<String>>,
    country: Option<String>,
    #[serde(rename = "as")]
    autonomous_system: Option<AsNumber>,
    as_number: Option<AsNumber>,
    as_name: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    flags: Option<Vec<String>>,
}

/// `"AS1234"` in current Onionoo, a bare number in some mirrors.
#[derive(Deserialize)]
#[serde(untagged)]
enum AsNumber {
    Text(String),
    Number(u32),
}

impl AsNumber {
    fn value(&self) -> Option<u32> {
        match self {
            AsNumber::Number(n) => Some(*n),
            AsNumber::Text(t) => {
                let digits = t
                    .strip_prefix("AS")
                    .or_else(|| t.strip_prefix("as"))
                    .unwrap_or(t);
                digits.parse().ok()
            }
        }
    }
}

/// Parses an Onionoo document.
///
/// Every OR address (IPv4 and IPv6; summary `a` addresses alike) goes to [`Feed::relays_or`]. For relays with the
/// `Exit` flag — or for every relay when the document has no `flags` — `exit_addresses` go to [`Feed::exits`] as
/// measured, and IPv6 OR addresses go there with `approximate: true` (an exit usually, not always, leaves from
/// its IPv6 OR address; Tor measures IPv4 exits only).
pub fn parse(input: &[u8]) -> Result<Feed, FeedError> {
    let input = body::screen(input)?;
    let document: Document = serde_json::from_slice(input)
        .map_err(|e| FeedError::Malformed(format!("onionoo json: {e}")))?;
    let relays = document
        .relays
        .ok_or_else(|| FeedError::Malformed("onionoo document has no relays".into()))?;
    let mut feed = Feed::default();
    for (index, relay) in relays.into_iter().enumerate() {
        add_relay(&mut feed, index, relay)?;
    }
    Ok(feed)
}

fn add_relay(feed: &mut Feed, index: usize, relay: Relay) -> Result<(), FeedError> {
    let info = relay_info(index, &relay)?;
    let id = u32::try_from(feed.relays.len())
        .map_err(|_| FeedError::Malformed("too many relays".into()))?;
    let is_exit = info.exit.unwrap_or(true);
    let or_addresses = relay
        .or_addresses
        .iter()
        .chain(&relay.summary_addresses)
        .flatten();
    for text in or_addresses {
        let net = body::host_port(text).ok_or_else(|| bad_address(&info.fingerprint, text))?;
        feed.relays_or.push(FeedAddr {
            net,
            relay: Some(id),
            seen: None,
            approximate: false,
        });
        if is_exit && matches!(net, IpNet::V6(_)) {
            feed.exits.push(FeedAddr {
                net,
                relay: Some(id),
                seen: None,
                approximate: true,
            });
        }
    }
    for text in relay.exit_addresses.iter().flatten().filter(|_| is_exit) {
        let net =
            body::host(text.as_bytes()).ok_or_else(|| bad_address(&info.fingerprint, text))?;
        feed.exits.push(FeedAddr {
            net,
            relay: Some(id),
            seen: None,
            approximate: false,
        });
    }
    feed.relays.push(info);
    Ok(())
}

fn relay_info(index: usize, relay: &Relay) -> Result<RelayInfo, FeedError> {
    let text = relay.fingerprint.as_deref().unwrap_or_default();
    let fingerprint = tordnsel::fingerprint(text.as_bytes()).ok_or_else(|| {
        FeedError::Malformed(format!("relay {index} has no valid fingerprint: {text:?}"))
    })?;
    let time = |t: &Option<String>| t.as_deref().and_then(|t| body::utc_time(t.as_bytes()));
    Ok(RelayInfo {
        fingerprint,
        nickname: relay.nickname.clone(),
        country: relay.country.as_deref().map(str::to_ascii_lowercase),
        as_number: relay
            .autonomous_system
            .as_ref()
            .or(relay.as_number.as_ref())
            .and_then(AsNumber::value),
        as_name: relay.as_name.clone(),
        first_seen: time(&relay.first_seen),
        last_seen: time(&relay.last_seen),
        exit: relay.flags.as_ref().map(|f| f.iter().any(|f| f == "Exit")),
    })
}

fn bad_address(fingerprint: &str, text: &str) -> FeedError {
    let text: String = text.chars().take(80).collect();
    FeedError::Malformed(format!("relay {fingerprint} has a bad address: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "A53C46F5B157DD83366D45A8E99A244934A14C46";

    fn relay(fields: &str) -> Vec<u8> {
        format!(r#"{{"relays":[{{"fingerprint":"{FP}",{fields}}}]}}"#).into_bytes()
    }

    #[test]
    fn an_exit_relay() {
        let doc = relay(
            r#""nickname":"x","or_addresses":["128.31.0.13:443","[2001:DB8::0001]:443"],"exit_addresses":["128.31.0.14"],
            "flags":["Exit","Fast"],"as":"AS3","as_name":"MIT","country":"US","first_seen":"2013-10-02 01:00:00""#,
        );
        let feed = parse(&doc).unwrap();
        let exits: Vec<_> = feed
            .exits
            .iter()
            .map(|a| (a.net.to_string(), a.approximate))
            .collect();
        assert_eq!(
            exits,
            [
                ("2001:db8::1/128".to_string(), true),
                ("128.31.0.14/32".to_string(), false)
            ]
        );
        assert_eq!(feed.relays_or.len(), 2);
        let info = &feed.relays[0];
        assert_eq!(
            (info.as_number, info.country.as_deref(), info.exit),
            (Some(3), Some("us"), Some(true))
        );
        assert_eq!(info.first_seen, Some(1_380_675_600));
    }

    #[test]
    fn a_non_exit_gives_or_addresses_only() {
        let feed = parse(&relay(
            r#""or_addresses":["[2001:db8::1]:443"],"flags":["Guard"],"as_number":"AS7""#,
        ))
        .unwrap();
        assert!(feed.exits.is_empty());
        assert_eq!(feed.relays_or.len(), 1);
        assert_eq!(feed.relays[0].as_number, Some(7));
    }

    #[test]
    fn rejections() {
        assert_eq!(
            parse(b"{\"version\":\"8.0\"}").unwrap_err().reason(),
            "malformed"
        );
        assert_eq!(
            parse(b"{\"relays\":[{\"or_addresses\":[]}]}")
                .unwrap_err()
                .reason(),
            "malformed"
        );
        assert_eq!(
            parse(&relay(r#""or_addresses":["1.2.3:443"]"#))
                .unwrap_err()
                .reason(),
            "malformed"
        );
        assert_eq!(parse(b"{\"relays\":[").unwrap_err().reason(), "malformed");
    }
}
