use super::*;
use proptest::prelude::*;

/// Lines of header pieces and packet words, near misses included (a host or tag that looks like a packet word,
/// a stamp glued to the message, RFC 5424 fields, a message that starts with `SRC=`).
fn line() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "",
        "<4>",
        "<4>1 ",
        "Nov 28 00:00:02 ",
        "Nov 28 00:00:02",
        "Nov 28 00:00:02: ",
        "2026-11-28T00:00:01Z ",
        "2026-11-28T00:00:01.5+00:00",
        "fw1 ",
        "kernel: ",
        "kernel[IN=x]: ",
        "fw1 kernel: ",
        "IN=eth0 ",
        "- - - ",
        "- ",
        "SRC=9.9.9.9 ",
        "[0.5] ",
        "[UFW BLOCK] ",
        "0 1 PVEFW-HOST-OUT 05/Mar/2024:11:11:12 +0100 REJECT: ",
        "x ",
    ]);
    let word = prop::sample::select(vec![
        "IN=eth0",
        "IN=",
        "OUT=",
        "OUT=eth1",
        "MAC=00:11",
        "SRC=1.2.3.4",
        "SRC=2001:db8::1",
        "SRC=x",
        "DST=5.6.7.8",
        "DST=",
        "LEN=60",
        "PROTO=TCP",
        "PROTO=ICMP",
        "PROTO=",
        "SPT=1",
        "DPT=22",
        "SPT=x",
        "DF",
        "[SRC=9.9.9.9",
        "a=b",
        "ACCEPT",
    ]);
    (
        prop::collection::vec(header, 0..4),
        prop::collection::vec(word, 0..12),
    )
        .prop_map(|(h, w)| format!("{}{}", h.concat(), w.join(" ")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]
    #[test]
    fn packet_facts_agree_with_parse(l in line()) {
        let parsed = parse(l.as_bytes(), &mut Stamps::default());
        prop_assert_eq!(packet_facts(l.as_bytes()), parsed.map(|e| e.packet_facts()), "{}", l);
        prop_assert_eq!(addresses(l.as_bytes()), parsed.map(|e| e.addresses()), "{}", l);
        if let Ok(e) = parsed {
            prop_assert_eq!(Some(action(l.as_bytes())), e.action, "{}", l);
            prop_assert_eq!(time(l.as_bytes(), &mut Stamps::default()), e.time, "{}", l);
        }
    }
}

#[test]
fn an_rfc5424_header_field_is_never_taken_for_a_packet_word() {
    // The host is `IN=eth0`: the message has no interface word, so this is not a packet.
    let l = b"<4>1 - IN=eth0 - - - SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=1 DPT=2";
    assert_eq!(
        parse(l, &mut Stamps::default()).map(|e| e.addresses()),
        Err(ParseError::NotTraffic)
    );
    assert_eq!(addresses(l), Err(ParseError::NotTraffic));
}

#[test]
fn a_message_that_starts_with_src_is_read_past_it() {
    let l = b"Nov 28 00:00:02 fw1 SRC=9.9.9.9 IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=1 DPT=2";
    let want = Addresses {
        src: Some("1.2.3.4".parse().unwrap()),
        dst: Some("5.6.7.8".parse().unwrap()),
    };
    assert_eq!(addresses(l), Ok(want));
    assert_eq!(
        parse(l, &mut Stamps::default()).map(|e| e.addresses()),
        Ok(want)
    );
}
