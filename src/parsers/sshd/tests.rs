//! Tests of the sshd parser: properties over mutated and random lines.

use crate::parsers::{fixture, LogFormat};

/// Lines made of sshd's words and near misses, and random bytes: no panic, no address the line does not hold.
#[test]
fn lines_of_its_words_invent_no_address() {
    fixture::check_pieces(
        LogFormat::Sshd,
        &[
            "2025-03-04T10:15:02Z ",
            "<38>1 2025-03-04T10:15:02Z h sshd 1 - - ",
            "host ",
            "sshd[42]: ",
            "sshd-session: ",
            "su: ",
            "error: ",
            "Failed password for ",
            "Accepted publickey for ",
            "Invalid user ",
            "Connection closed by ",
            "Connection from ",
            "Received disconnect from ",
            "drop connection #1 from ",
            "pam_unix(sshd:auth): authentication failure; ",
            "rhost=",
            "authenticating user ",
            "invalid user ",
            "root ",
            "from ",
            " port ",
            "port ",
            "22",
            "65536",
            ":11: ",
            " on ",
            "[",
            "]:",
            "]",
            "185.220.101.7",
            "2001:db8::7",
            "1.2.3",
            "::ffff:192.0.2.1",
            " ssh2",
            " [preauth]",
            " ",
            ":",
        ],
    );
}
