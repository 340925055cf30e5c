//! Tests of the azure reader: properties that hold for any input. Its golden lines (from the vendor's
//! documented format) are checked by `parsers::fixture`.

use proptest::prelude::*;

use super::*;

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = sniff(&line);
        let _ = parse(&line);
    }
}
