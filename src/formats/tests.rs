use super::*;

#[test]
fn extensions_round_trip() {
    for f in ListFormat::ALL {
        assert_eq!(ListFormat::from_ext(f.ext()), Some(f));
    }
    assert_eq!(ListFormat::from_ext("plain"), Some(ListFormat::Txt));
    assert_eq!(ListFormat::from_ext("exe"), None);
    assert_eq!(ListFormat::from_ext(""), None);
}

#[test]
fn set_base_names() {
    assert_eq!(set_base("tor-exits"), "tor_exit");
    assert_eq!(set_base("tor-relays"), "tor_relay");
    assert_eq!(set_base("tor-exits-7d"), "tor_exit_7d");
    assert_eq!(set_base("spamhaus-drop"), "spamhaus_drop");
    assert_eq!(set_base("my list;flush ruleset"), "my_list_flush_ruleset");
    assert_eq!(set_base("7d"), "l_7d");
    assert_eq!(set_base(""), "l_");
}

#[test]
fn times_are_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    assert_eq!(rfc3339(i64::MAX), "1970-01-01T00:00:00Z");
}
