//! Where the time goes when a big plain list is loaded: each step from the feed body to the published txt file,
//! timed in process (parse, guard, count rules, history, list build, digest, rendering, gzip, state bytes).
//!   cargo run --release --example big_list_phases [ENTRIES]

use std::collections::BTreeMap;
use std::time::Instant;
use torwatch::feeds::{self, guard, validate, FeedKind};
use torwatch::formats::{ListFormat, RenderOptions};
use torwatch::keeper::history::{CurrentRule, Sighting, Times};
use torwatch::keeper::state::SavedState;
use torwatch::list::{self, List};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut body = String::with_capacity(n as usize * 15);
    let mut x: u32 = 0x2545_f491;
    let mut count = 0;
    while count < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let first = x >> 24;
        if matches!(first, 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203) || first >= 224 {
            continue;
        }
        body.push_str(&std::net::Ipv4Addr::from(x).to_string());
        body.push('\n');
        count += 1;
    }
    let mut t = Instant::now();
    let mut lap = |what: &str| {
        eprintln!("{what:>28}: {:>8.3} s", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let mut feed = feeds::parse(FeedKind::Plain, body.as_bytes()).expect("a plain list");
    lap("parse");
    let rules = guard::Rules {
        max_cover: guard::PrefixLengths { ipv4: 1, ipv6: 32 },
        ..guard::Rules::PLAIN
    };
    let drops = guard::screen(&mut feed, &rules);
    lap("guard: screen");
    let cover = guard::Coverage::of_feed(&feed);
    guard::check_cover(&cover, &rules, &guard::Coverage::default()).expect("cover");
    lap("guard: max_cover");
    let entries = validate::entries(&feed);
    lap("count rules (distinct)");
    let mut state = SavedState::default();
    let now = 1_800_000_000;
    state.history.observe(
        "big",
        "big",
        feed.exits.iter().map(|a| Sighting {
            net: a.net,
            relay: None,
            approximate: false,
            measured: None,
        }),
        Times {
            previous: 0,
            now,
            gap: 86_400,
        },
    );
    lap("history: observe");
    let last = BTreeMap::from([("big".to_string(), now)]);
    let rule = CurrentRule {
        last_success: &last,
        retention: 86_400,
        now,
    };
    let members = state.history.current("big", &rule, |_, _| {});
    lap("history: current members");
    let digest = list::digest(&members);
    lap("digest");
    let list = List::new("big", 1, now, members);
    lap("List::new");
    let txt = torwatch::formats::render(ListFormat::Txt, &list, &RenderOptions::default());
    lap("render txt");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &txt).expect("gzip");
    let gz = gz.finish().expect("gzip");
    lap("gzip (fast level)");
    let files = state.to_bytes(true).expect("state bytes");
    lap("state: serialize");
    let dir = tempfile::tempdir().expect("tempdir");
    files.write(dir.path()).expect("write");
    lap("state: write + fsync");
    let back = SavedState::load(dir.path()).expect("load").expect("state");
    lap("state: load");
    eprintln!(
        "{entries} entries, {} dropped, digest {digest:x}, txt {} bytes, gzip {} bytes, state {} bytes, {} lists",
        drops.total(),
        txt.len(),
        gz.len(),
        files.len(),
        back.history.lists.len()
    );
}
