//! Tests of the VPC Flow Logs parser: recognition and properties that hold for any input.

use proptest::prelude::*;

use super::*;
use crate::parsers::{fixture, ParseError};

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = looks_like(&line);
        let _ = parse(&line);
    }

    #[test]
    fn never_panics_on_near_records(tail in "([0-9a-f.:-]{0,12} ){0,32}") {
        let line = format!("2 123456789012 eni-0a1b2c {tail}");
        let _ = parse(line.as_bytes());
    }
}

#[test]
fn default_header_reads_as_the_default_layout() {
    let header =
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes \
        start end action log-status";
    assert_eq!(Layout::from_header(header), Some(Layout::DEFAULT));
}

#[test]
fn custom_layout_from_a_header() {
    let header =
        b"${vpc-id} ${pkt-srcaddr} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} \
        ${flow-direction} ${start}";
    let layout = Layout::from_header(header).expect("custom header");
    assert_eq!(layout.position(Field::Src), Some(2));
    assert_eq!(layout.position(Field::SrcPort), None);
    assert_eq!(layout.width(), 9);
    let line = b"vpc-0abc 185.220.101.5 10.0.0.5 10.0.1.9 443 6 REJECT ingress 1741083300";
    let event = parse_with(&layout, line).expect("custom record");
    assert_eq!(
        fixture::render(Ok(event)),
        "time=1741083300 src=10.0.0.5 dst=10.0.1.9 dport=443 proto=tcp action=drop dir=inbound"
    );
    assert_eq!(parse_with(&layout, header), Err(ParseError::NotTraffic));
    assert_eq!(
        parse_with(&layout, b"vpc-0abc 1.2.3.4 10.0.0.5"),
        Err(ParseError::MissingField("record field"))
    );
    assert!(looks_like(header));
}

#[test]
fn underscore_names_and_unknown_tokens() {
    let layout =
        Layout::from_header(b"account_id srcaddr dstaddr log_status").expect("underscores");
    assert_eq!(layout.position(Field::Status), Some(3));
    assert_eq!(Layout::from_header(b"srcaddr dstaddr 10.0.0.1"), None);
    assert_eq!(
        Layout::from_header(b"version account-id interface-id"),
        None
    );
}
