use super::*;
use proptest::prelude::*;

/// Header pieces and near misses, for lines whose split must not depend on how it was computed.
fn header_line() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<134>",
        "<4>1 ",
        "<13>",
        "<999>",
        "Jun  8 14:34:33",
        "Jun 8 14:34:33",
        "Jun 18 14:34:33.123",
        "Jun  18 14:34:33",
        "Apr 17 2020 14:08:08",
        "Feb 31 25:00:00",
        "jun 08 14:34:33:",
        "2024-06-08T14:34:33Z",
        "2024-06-08T14:34:33.5+02:00",
        "2024-13-08T14:34:33",
        "2024-06-08T14:34:3",
        "-",
        " ",
        "  ",
        "host",
        "sd-1",
        "h:1",
        "a=b",
        "kernel:",
        "kernel[12]:",
        "app[x]",
        ":",
        "[x]:",
        "[5.0]",
        "[x a=\"b\"]",
        "IN=eth0",
        "%ASA-4-106023:",
        "\u{feff}",
        "1",
    ]);
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn message_is_the_split_message(line in header_line()) {
        let (_, msg) = split(line.as_bytes(), &mut Stamps::at(NOW));
        prop_assert_eq!(message(line.as_bytes()), msg);
    }

    #[test]
    fn a_remembered_stamp_reads_as_a_fresh_one(lines in prop::collection::vec(header_line(), 1..12)) {
        let mut kept = Stamps::at(NOW);
        for line in lines.iter().chain(&lines) {
            let fresh = split(line.as_bytes(), &mut Stamps::at(NOW));
            prop_assert_eq!(split(line.as_bytes(), &mut kept), fresh, "{}", line);
            prop_assert_eq!(app(line.as_bytes()), fresh.0.app, "{}", line);
            let untimed = split_untimed(line.as_bytes());
            prop_assert_eq!(untimed, (Header { time: None, ..fresh.0 }, fresh.1), "{}", line);
        }
    }

    #[test]
    fn one_pass_words_agree_with_plain_checks(tok in "[a-z0-9:\\[\\]=._/ -]{0,12}") {
        let w = Word::read(tok.as_bytes());
        let (text, rest) = token(tok.as_bytes());
        prop_assert_eq!(w.text, text);
        prop_assert_eq!(w.rest, rest);
        prop_assert_eq!(w.tag(), tag(text));
        prop_assert_eq!(w.host(), host_name(text));
    }
}

/// 2024-06-15T12:00:00Z
const NOW: i64 = 1_718_452_800;

fn check(line: &str, time: Option<i64>, host: Option<&str>, app: Option<&str>, msg: &str) {
    let (h, m) = split(line.as_bytes(), &mut Stamps::at(NOW));
    assert_eq!(h.time, time, "time of {line}");
    assert_eq!(h.host, host, "host of {line}");
    assert_eq!(h.app, app.map(str::as_bytes), "app of {line}");
    assert_eq!(std::str::from_utf8(m).unwrap(), msg, "msg of {line}");
}

#[test]
fn rfc3164_with_and_without_pri() {
    let t = Some(1_717_857_273); // 2024-06-08T14:34:33Z
    check(
        "Jun  8 14:34:33 sd-1 kernel: [5.0] IN=",
        t,
        Some("sd-1"),
        Some("kernel"),
        "[5.0] IN=",
    );
    check(
        "<134>Jun 8 14:34:33 fw filterlog[72]: 1,,",
        t,
        Some("fw"),
        Some("filterlog"),
        "1,,",
    );
    check(
        "<134>Jun  8 14:34:33 filterlog[72]: 1,,",
        t,
        None,
        Some("filterlog"),
        "1,,",
    );
    check(
        "Jun  8 14:34:33 DENY: IN=eth0",
        t,
        None,
        Some("DENY"),
        "IN=eth0",
    );
    check(
        "Jun  8 14:34:33 UDMP [WAN-D-1] IN=",
        t,
        Some("UDMP"),
        None,
        "[WAN-D-1] IN=",
    );
}

#[test]
fn rfc3164_year_rolls_back_when_in_the_future() {
    // Dec 31 seen on 2024-06-15 is 2023-12-31, not six months ahead.
    let (h, _) = split(b"Dec 31 23:59:59 h app: x", &mut Stamps::at(NOW));
    assert_eq!(h.time, Some(1_704_067_199));
    // Jun 16 (less than a day ahead) stays in the current year.
    let (h, _) = split(b"Jun 16 06:00:00 h app: x", &mut Stamps::at(NOW));
    assert_eq!(h.time, Some(1_718_517_600));
}

#[test]
fn a_new_now_forgets_the_remembered_stamp() {
    let line = b"Dec 31 23:59:59 h app: x";
    let mut stamps = Stamps::at(NOW);
    assert_eq!(split(line, &mut stamps).0.time, Some(1_704_067_199));
    // Half a year on, the same stamp is the end of 2024.
    stamps.set_now(NOW + 200 * 86_400);
    assert_eq!(split(line, &mut stamps).0.time, Some(1_735_689_599));
}

#[test]
fn cisco_stamps_with_year_and_colon() {
    let t = Some(1_587_132_488); // 2020-04-17T14:08:08Z
    check(
        "Apr 17 2020 14:08:08 ASA-1 : %ASA-6-302016: x",
        t,
        Some("ASA-1"),
        None,
        "%ASA-6-302016: x",
    );
    check(
        "Apr 17 2020 14:08:08: %ASA-4-106023: Deny",
        t,
        None,
        None,
        "%ASA-4-106023: Deny",
    );
}

#[test]
fn rfc3339_file_prefix_with_offset() {
    // 2025-04-28T04:26:10+02:00 = 2025-04-28T02:26:10Z
    let line = "2025-04-28T04:26:10.353484+02:00 nyc-1 kernel: [UFW BLOCK] IN=";
    check(
        line,
        Some(1_745_807_170),
        Some("nyc-1"),
        Some("kernel"),
        "[UFW BLOCK] IN=",
    );
}

#[test]
fn rfc5424_with_and_without_structured_data() {
    let line = "<134>1 2021-07-03T19:10:14.578288-05:00 pf.example.com filterlog 72237 - - 146,,,";
    let (h, m) = split(line.as_bytes(), &mut Stamps::at(NOW));
    assert_eq!(h.time, Some(1_625_357_414));
    assert_eq!(h.host, Some("pf.example.com"));
    assert_eq!(h.app, Some(&b"filterlog"[..]));
    assert_eq!(m, b"146,,,");
    let line = r#"<14>1 2019-11-14T09:37:51.184+01:00 SRX RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636 a="x]\"" b="2"]"#;
    let (h, m) = split(line.as_bytes(), &mut Stamps::at(NOW));
    assert_eq!(h.msgid, Some(&b"RT_FLOW_SESSION_CREATE"[..]));
    assert_eq!(
        h.structured_data,
        Some(&br#"[junos@2636 a="x]\"" b="2"]"#[..])
    );
    assert_eq!(m, b"");
}

#[test]
fn no_header() {
    check(
        "%FTD-2-106001: Inbound TCP",
        None,
        None,
        None,
        "%FTD-2-106001: Inbound TCP",
    );
    check(
        "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200",
        None,
        None,
        None,
        "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200",
    );
}
