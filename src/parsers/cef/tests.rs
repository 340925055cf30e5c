//! Tests of the CEF and LEEF parser: recognition and properties that hold for any input.

use proptest::prelude::*;

use super::*;

#[test]
fn header_split_honours_escaped_bars() {
    let (h, rest) = split_header::<3>(br"0|a\|b|c|src=1").unwrap();
    assert_eq!(h, [&b"0"[..], br"a\|b", b"c"]);
    assert_eq!(rest, b"src=1");
    assert!(split_header::<3>(b"0|a").is_none());
}

proptest! {
    #[test]
    fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = looks_like(&line);
        let _ = parse(&line, &mut Stamps::default());
    }

    #[test]
    fn never_panics_on_cef_extensions(ext in r"([a-zA-Z0-9]{0,6}=[ -~]{0,16} ?){0,20}") {
        let line = format!("CEF:0|V|P|1|100|name|5|{ext}");
        let _ = parse(line.as_bytes(), &mut Stamps::default());
        let leef = format!("LEEF:2.0|V|P|1|100|^|{}", ext.replace(' ', "^"));
        let _ = parse(leef.as_bytes(), &mut Stamps::default());
    }

    #[test]
    fn never_panics_on_check_point_records(body in r#"([a-z_]{0,8}:"[ -~]{0,12}"?;? ?){0,16}"#) {
        let line = format!("[loguid:\"{{0x1}}\"; origin:\"192.0.2.1\"; {body}");
        let _ = parse(line.as_bytes(), &mut Stamps::default());
    }
}
