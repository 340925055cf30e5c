use proptest::prelude::*;

use super::*;
use crate::parsers::{fixture, LogFormat};

#[test]
fn fixture_lines() {
    fixture::check(
        LogFormat::VpcFlow,
        include_str!("../../../tests/fixtures/logs/vpcflow.txt"),
    );
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = sniff(&line);
        let _ = parse(&line);
    }

    #[test]
    fn never_panics_on_near_records(tail in "([0-9a-f.:-]{0,12} ){0,32}") {
        let line = format!("2 123456789012 eni-0a1b2c {tail}");
        let _ = parse(line.as_bytes());
    }
}
