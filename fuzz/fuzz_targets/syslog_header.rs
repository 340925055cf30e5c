//! The syslog header splitter (RFC 3164, RFC 5424, file prefixes), with a fixed clock.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::parsers::syslog;

fuzz_target!(|line: &[u8]| {
    let (header, rest) = syslog::split(line, &mut syslog::Stamps::at(1_800_000_000));
    assert!(rest.len() <= line.len());
    let _ = format!("{header:?}");
});
