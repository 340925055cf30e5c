//! Tests of the error-log parser: properties over mutated and random lines.

use super::*;
use crate::parsers::{fixture, LogFormat};

#[test]
fn apache_time() {
    assert_eq!(
        ctime(b"Thu Oct 13 12:24:49.880562 2022"),
        Some(1_665_663_889)
    );
    assert_eq!(ctime(b"Thu Oct 13 25:24:49 2022"), None);
}

/// Lines made of error-log pieces and near misses, and random bytes: no panic, no address the line does not hold.
#[test]
fn lines_of_its_words_invent_no_address() {
    fixture::check_pieces(
        LogFormat::WebError,
        &[
            "[Tue Mar 04 10:15:02.880562 2025] ",
            "[core:error] ",
            "[error] ",
            "[pid 1:tid 2] ",
            "[client ",
            "[remote ",
            "2025/03/04 10:15:13 [error] 31#31: ",
            "*46 ",
            ", client: ",
            ", server: ",
            "ModSecurity: Access denied with code 403",
            "user \"a\" was not found in \"f\"",
            "185.220.101.7",
            "2001:db8::7",
            ":8080",
            " :1",
            "]",
            "[",
            ",",
            " ",
            "x",
        ],
    );
}
