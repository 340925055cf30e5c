//! Tests of the FortiGate parser: recognition and properties that hold for any input.

use proptest::prelude::*;

use super::*;

#[test]
fn looks_like_needs_pairs_at_boundaries() {
    assert!(looks_like(
        b"date=2025-01-01 logid=\"0000000013\" type=\"traffic\""
    ));
    assert!(!looks_like(
        b"FTNTFGTlogid=0000000013 cat=traffic:forward subtype=forward"
    ));
    assert!(!looks_like(
        b"Jan 1 host kernel: IN=eth0 SRC=192.0.2.1 type=3"
    ));
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = looks_like(&line);
        let _ = parse(&line, &mut Stamps::default());
    }

    #[test]
    fn never_panics_on_pairs(tail in "([a-z]{1,8}=(\"[^\"]{0,12}\"?|[0-9a-f.:]{0,20})[ ,]?){0,20}") {
        let line = format!("logid=1 type=traffic {tail}");
        let _ = parse(line.as_bytes(), &mut Stamps::default());
    }
}
