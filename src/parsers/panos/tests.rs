//! Tests of the PAN-OS parser: recognition and properties that hold for any input.

use proptest::prelude::*;

use super::*;

#[test]
fn looks_like_wants_the_record_shape() {
    assert!(looks_like(
        b"1,2024/01/01 00:00:00,0123456789,TRAFFIC,drop,"
    ));
    assert!(!looks_like(
        b"1,2024/01/01 00:00:00,0123456789,traffic,drop,"
    ));
    assert!(!looks_like(b"a,b,c,TRAFFIC,d"));
    assert!(!looks_like(b"no commas at all"));
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = looks_like(&line);
        let _ = parse(&line, &mut Stamps::default());
    }

    #[test]
    fn never_panics_on_near_records(tail in "[0-9a-zA-Z.:/\", -]{0,300}") {
        let line = format!("1,2024/01/01 00:00:00,0123,TRAFFIC,{tail}");
        let _ = parse(line.as_bytes(), &mut Stamps::default());
    }
}
