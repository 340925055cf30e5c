//! The OpenSSH parser on any line: never a panic, and every address of an event it gives is written in the line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::address::written_in;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::LogFormat;

fuzz_target!(|line: &[u8]| {
    let format = LogFormat::Sshd;
    let _ = format.looks_like(line);
    if let Ok(event) = format.parse(line, &mut Stamps::at(1_800_000_000)) {
        for ip in [event.src_ip, event.dst_ip].into_iter().flatten() {
            assert!(written_in(line, ip), "{ip} is not in the line");
        }
    }
});
