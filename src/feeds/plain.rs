//! `plain` (and `danme`) feed parser: one IP or CIDR per line, as firewall vendors, firehol `.ipset` files,
//! Spamhaus DROP and torwatch's own EDL write it.
//!
//! Pure: no IO. `#` and `;` start a comment (whole line or after the address); blank lines, surrounding blanks and
//! CRLF are ignored. Any other line that is not an address rejects the whole body.

use super::{body, Feed, FeedAddr, FeedError};

/// Parses a plain list. Addresses become host networks (/32, /128) in canonical spelling (uncompressed IPv6 such as
/// `2001:0470:0001:…` is compressed); a CIDR with host bits set (`10.1.2.3/8`) is truncated to its network
/// (`10.0.0.0/8`). Order and duplicates are kept as the source wrote them.
pub fn parse(input: &[u8]) -> Result<Feed, FeedError> {
    let input = body::screen(input)?;
    let mut exits = Vec::new();
    for (number, line) in body::lines(input) {
        let content = match memchr::memchr2(b'#', b';', line) {
            Some(at) => body::trim(line.get(..at).unwrap_or_default()),
            None => line,
        };
        if content.is_empty() {
            continue;
        }
        let net = body::network(content).ok_or_else(|| body::bad_line(number, line))?;
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

    fn nets(body: &[u8]) -> Vec<String> {
        parse(body)
            .unwrap()
            .exits
            .iter()
            .map(|a| a.net.to_string())
            .collect()
    }

    #[test]
    fn comments_crlf_and_cidrs() {
        let got = nets(
            b"# header\r\n1.2.3.4 \r\n\r\n  10.1.2.3/8 ; SBL1\r\n2001:0DB8:0000::0001 # note\r\n",
        );
        assert_eq!(got, ["1.2.3.4/32", "10.0.0.0/8", "2001:db8::1/128"]);
    }

    #[test]
    fn a_bad_line_names_itself() {
        let err = parse(b"1.2.3.4\n1.2.3.4.5\n").unwrap_err();
        assert_eq!(
            err,
            FeedError::BadLine {
                line: 2,
                text: "1.2.3.4.5".into()
            }
        );
    }

    #[test]
    fn comments_only_is_an_empty_list_not_an_error() {
        assert_eq!(nets(b"# nothing today\n"), Vec::<String>::new());
    }
}
