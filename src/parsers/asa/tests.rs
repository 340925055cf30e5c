//! Properties of the ASA parser over mutated fixture lines and lines made of its words (its golden lines
//! are checked by `parsers::fixture`).

use crate::parsers::{fixture, LogFormat};

/// Lines made of ASA's words and near misses, and random bytes: no panic, no address the line does not hold.
#[test]
fn lines_of_its_words_invent_no_address() {
    fixture::check_pieces(
        LogFormat::Asa,
        &[
            "%ASA-6-716039: ",
            "%ASA-6-113005: ",
            "%ASA-4-750003: ",
            "%ASA-6-725002: ",
            "%ASA-2-106016: ",
            "%FTD-1-430005: ",
            "Group <",
            "> User <",
            "> IP <",
            ">",
            "Authentication: rejected",
            "user IP = ",
            "server = ",
            "Local:",
            "Remote:",
            " Remote: ",
            "SrcIP: ",
            "client outside:",
            "from ",
            " to ",
            "(",
            ")",
            "/443",
            ":500",
            "185.220.101.7",
            "2a0b:f4c2::17",
            "1.2.3",
            " ",
            ",",
        ],
    );
}
