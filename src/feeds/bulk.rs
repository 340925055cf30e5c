//! `bulk` feed parser: check.torproject.org/torbulkexitlist, one address per line.
//!
//! Pure: no IO. Stricter than `plain`: a CIDR is a bad line, because this source only ever lists single exit
//! addresses. Blank lines and `#` comments are tolerated; IPv6 addresses are accepted should the source add them.

use super::{body, Feed, FeedAddr, FeedError};

/// Parses a bulk exit list into host networks, in source order.
pub fn parse(input: &[u8]) -> Result<Feed, FeedError> {
    let input = body::screen(input)?;
    let mut exits = Vec::new();
    for (number, line) in body::lines(input) {
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        let net = body::host(line).ok_or_else(|| body::bad_line(number, line))?;
        exits.push(FeedAddr::listed(net));
    }
    Ok(Feed {
        exits,
        ..Feed::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_per_line() {
        let feed = parse(b"1.2.3.4\n5.6.7.8\r\n").unwrap();
        let got: Vec<_> = feed.exits.iter().map(|a| a.net.to_string()).collect();
        assert_eq!(got, ["1.2.3.4/32", "5.6.7.8/32"]);
    }

    #[test]
    fn cidrs_are_bad_lines() {
        assert_eq!(
            parse(b"1.2.3.4\n1.2.3.0/24\n").unwrap_err().reason(),
            "bad_line"
        );
    }
}
