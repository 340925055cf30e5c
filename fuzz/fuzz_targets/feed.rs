//! Feed parsers: the first byte picks the source kind, the rest is the body. Any input: a feed or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::feeds::{self, FeedKind};

const KINDS: [FeedKind; 5] = [
    FeedKind::Tordnsel,
    FeedKind::Bulk,
    FeedKind::Onionoo,
    FeedKind::Danme,
    FeedKind::Plain,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(pick) % KINDS.len()];
    if let Ok(feed) = feeds::parse(kind, body) {
        let _ = feeds::validate::entries(&feed);
    }
});
