//! Tests of the meraki reader: golden lines written from the vendor's documented format, and properties that hold for
//! any input.

use proptest::prelude::*;

use super::*;
use crate::parsers::{fixture, LogFormat};

const FIXTURE: &str = include_str!("../../../tests/fixtures/logs/meraki.txt");

#[test]
fn fixture_lines() {
    fixture::check(LogFormat::Meraki, FIXTURE);
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = looks_like(&line);
        let _ = parse(&line);
    }
}
