//! Each log parser on its own: the first byte picks the format, the rest is the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::LogFormat;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, line)) = data.split_first() else {
        return;
    };
    let format = LogFormat::ALL[usize::from(pick) % LogFormat::ALL.len()];
    let _ = format.looks_like(line);
    if let Err(e) = format.parse(line, &mut Stamps::at(1_800_000_000)) {
        let _ = e.reason();
    }
});
