//! `tordnsel` feed parser: check.torproject.org/exit-addresses and CollecTor `@type tordnsel 1.0` files.
//!
//! Pure: no IO. Records are `ExitNode FP`, `Published T`, `LastStatus T`, then one or more `ExitAddress IP T`
//! lines; CollecTor adds `@type` and `Downloaded T` header lines. Any other line rejects the whole body.

use super::{body, Feed, FeedAddr, FeedError, RelayInfo};

/// Parses a TorDNSEL exit list. Every `ExitAddress` line becomes one [`FeedAddr`] pointing at its relay (an
/// address measured for several relays appears once per relay); each relay's `last_seen` is its `LastStatus`.
pub fn parse(input: &[u8]) -> Result<Feed, FeedError> {
    let input = body::screen(input)?;
    let mut feed = Feed::default();
    for (number, line) in body::lines(input) {
        if line.is_empty() {
            continue;
        }
        record_line(&mut feed, line).ok_or_else(|| body::bad_line(number, line))??;
    }
    Ok(feed)
}

/// Applies one non-empty line: `None` when the line is not part of the grammar, `Some(Err)` for a wrong `@type`.
fn record_line(feed: &mut Feed, line: &[u8]) -> Option<Result<(), FeedError>> {
    let (keyword, rest) = body::word(line);
    let current = feed.relays.len().checked_sub(1);
    match keyword {
        b"@type" => {
            if !rest.starts_with(b"tordnsel ") {
                let text: String = String::from_utf8_lossy(rest).chars().take(80).collect();
                return Some(Err(FeedError::Malformed(format!(
                    "not a tordnsel document: @type {text}"
                ))));
            }
        }
        b"Downloaded" | b"Published" => {
            body::utc_time(rest)?;
            if keyword == b"Published" {
                current?;
            }
        }
        b"ExitNode" => feed.relays.push(RelayInfo {
            fingerprint: fingerprint(rest)?,
            exit: Some(true),
            ..RelayInfo::default()
        }),
        b"LastStatus" => {
            let time = body::utc_time(rest)?;
            feed.relays.get_mut(current?)?.last_seen = Some(time);
        }
        b"ExitAddress" => {
            let (addr, time) = body::word(rest);
            let addr = FeedAddr {
                net: body::host(addr)?,
                relay: Some(u32::try_from(current?).ok()?),
                seen: Some(body::utc_time(time)?),
                approximate: false,
            };
            feed.exits.push(addr);
        }
        _ => return None,
    }
    Some(Ok(()))
}

/// A relay fingerprint: exactly 40 hex digits, returned in upper case.
pub(crate) fn fingerprint(text: &[u8]) -> Option<String> {
    if text.len() != 40 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(
        text.iter()
            .map(|b| char::from(b.to_ascii_uppercase()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_ADDRESSES: &[u8] = b"@type tordnsel 1.0\nDownloaded 2013-08-19 04:02:03\n\
        ExitNode 003a71137d959748c8157c4a76eca639cef5e33e\nPublished 2013-08-19 02:13:53\n\
        LastStatus 2013-08-19 03:02:47\nExitAddress 66.223.170.168 2013-08-19 03:18:51\n\
        ExitAddress 66.223.170.169 2013-08-19 03:20:00\n";

    #[test]
    fn a_relay_with_two_exit_addresses() {
        let feed = parse(TWO_ADDRESSES).unwrap();
        assert_eq!(feed.relays.len(), 1);
        assert_eq!(
            feed.relays[0].fingerprint,
            "003A71137D959748C8157C4A76ECA639CEF5E33E"
        );
        assert_eq!(feed.relays[0].last_seen, Some(1_376_881_367));
        let got: Vec<_> = feed
            .exits
            .iter()
            .map(|a| (a.net.to_string(), a.relay, a.seen))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "66.223.170.168/32".to_string(),
                    Some(0),
                    Some(1_376_882_331)
                ),
                (
                    "66.223.170.169/32".to_string(),
                    Some(0),
                    Some(1_376_882_400)
                ),
            ]
        );
    }

    #[test]
    fn grammar_violations_are_bad_lines() {
        for (body, line) in [
            (&b"ExitAddress 1.2.3.4 2024-03-12 08:10:51\n"[..], 1), // no ExitNode yet
            (b"ExitNode 00FF\n", 1),                                // short fingerprint
            (b"ExitNode 00FF300624FECA7F40515C8D854EE925332580D6\nLastStatus yesterday\n", 2),
            (b"ExitNode 00FF300624FECA7F40515C8D854EE925332580D6\nExitAddress 1.2.3 2024-03-12 08:10:51\n", 2),
            (b"ExitNode 00FF300624FECA7F40515C8D854EE925332580D6\nFoo bar\n", 2),
        ] {
            match parse(body) {
                Err(FeedError::BadLine { line: got, .. }) => assert_eq!(got, line, "{body:?}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn another_type_is_malformed() {
        assert_eq!(
            parse(b"@type server-descriptor 1.0\n")
                .unwrap_err()
                .reason(),
            "malformed"
        );
    }
}
