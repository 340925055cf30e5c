//! Properties of the Junos parser over mutated fixture lines and lines made of its words (its golden lines are
//! checked by `parsers::fixture`).

use crate::parsers::{fixture, LogFormat};

/// Lines made of Junos words and near misses, and random bytes: no panic, no address the line does not hold.
#[test]
fn lines_of_its_words_invent_no_address() {
    fixture::check_pieces(
        LogFormat::Srx,
        &[
            "<14>1 2024-03-05T10:11:12Z srx-1 RT_IDS - RT_SCREEN_TCP ",
            "RT_SCREEN_UDP: ",
            "RT_IDP_ATTACK_LOG_EVENT: ",
            "APPTRACK_SESSION_CREATE ",
            "mgd[1]: UI_LOGIN_EVENT: ",
            "SSHD_LOGIN_FAILED: ",
            "rshd[2]: ",
            "[junos@2636.1.1.1.2.26 ",
            "source-address=\"",
            "destination-address=\"",
            "ssh-connection '",
            "source: ",
            ", destination: ",
            " from host '",
            "<",
            "->",
            ">",
            "/",
            ":",
            "'",
            "\"",
            "]",
            "root@",
            "185.220.101.7",
            "2a0b:f4c2::17",
            "40000",
            " ",
            ", ",
        ],
    );
}
