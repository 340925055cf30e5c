//! Log auto-detection and parsing of one line: an event or an error reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::parsers;
use torwatch::parsers::syslog::Stamps;

fuzz_target!(|line: &[u8]| {
    let _ = parsers::detect(line);
    if let Ok((format, event)) = parsers::parse_auto(line, &mut Stamps::at(1_800_000_000)) {
        let _ = (format.as_str(), format!("{event:?}"));
    }
});
