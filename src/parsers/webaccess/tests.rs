//! Tests of the access-log parser: recognition and properties that hold for any input.

use proptest::prelude::*;

use super::*;

#[test]
fn internal_addresses() {
    for internal in [
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.5",
        "127.0.0.1",
        "100.64.0.1",
        "fd00::1",
        "fe80::1",
        "::1",
    ] {
        assert!(is_internal(internal.parse().unwrap()), "{internal}");
    }
    for public in ["185.220.101.1", "100.128.0.1", "2001:db8::1", "172.32.0.1"] {
        assert!(!is_internal(public.parse().unwrap()), "{public}");
    }
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = looks_like(&line);
        let _ = parse(&line, &mut Stamps::default());
    }

    #[test]
    fn never_panics_near_access_lines(head in "[0-9a-f.:, \"-]{0,40}", tail in "[ -~]{0,40}") {
        let line = format!("{head} - - [10/Oct/2000:13:55:36 -0700] \"{tail}");
        let _ = parse(line.as_bytes(), &mut Stamps::default());
    }
}
