//! The check every reader's fuzz target makes: reading a line never panics, `parse` gives the first event of
//! `parse_each`, and no event holds an address the line does not write.

use torwatch::address::written_in;
use torwatch::parsers::syslog::Stamps;
use torwatch::parsers::LogFormat;

pub fn check(format: LogFormat, line: &[u8]) {
    let _ = format.looks_like(line);
    let mut stamps = Stamps::at(1_800_000_000);
    let mut first = None;
    let mut error = None;
    format.parse_each(line, &mut stamps.clone(), &mut |r| match r {
        Ok(e) => {
            for ip in [e.src_ip, e.dst_ip].into_iter().flatten() {
                assert!(written_in(line, ip), "{ip} is not in the line");
            }
            first.get_or_insert(e);
        }
        Err(e) => {
            error.get_or_insert(e);
        }
    });
    let expected = first.ok_or(error);
    if let Ok(e) = expected {
        assert_eq!(format.parse(line, &mut stamps).ok(), Some(e), "parse is not the first event");
    }
}
