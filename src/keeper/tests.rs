use super::*;
use crate::feeds::guard::Coverage;

const H: i64 = 3600;
const DAY: i64 = 24 * H;

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339()
}

/// A leader's `tor-exits.json` as its `json` format writes it: (address, sources, first, last seen).
fn leader_list(entries: &[(&str, &[&str], i64, i64)]) -> Feed {
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|(a, sources, first, last)| {
            serde_json::json!({
                "address": a, "sources": sources,
                "first_seen": rfc3339(*first), "last_seen": rfc3339(*last),
            })
        })
        .collect();
    let doc = serde_json::json!({"list": "tor-exits", "count": entries.len(), "entries": entries});
    crate::feeds::torwatch::parse(doc.to_string().as_bytes()).unwrap()
}

/// A follower's state after its source `leader` accepted `feed` at `at`.
fn follower(config: &Config, feed: &Feed, at: i64) -> SavedState {
    let mut state = SavedState::default();
    state.sources.insert(
        "leader".into(),
        state::SourceState {
            loaded: true,
            last_success: at,
            ..Default::default()
        },
    );
    let times = Times {
        previous: 0,
        now: at,
        gap: DAY,
    };
    observe(&mut state.history, &config.sources[0], feed, times);
    state
}

fn config() -> Config {
    Config::parse(
        "sources:\n  - { name: leader, type: torwatch, url: 'http://127.0.0.1:9/' }\ninputs: []\n",
    )
    .unwrap()
}

#[test]
fn a_follower_keeps_its_leaders_list_at_the_leaders_times_while_the_leader_is_away() {
    let config = config();
    let at = 1_700_000_000;
    // .1 both sources still list at the leader; .2 its bulk source dropped 2 h before (in its retention).
    let feed = leader_list(&[
        ("185.220.101.1", &["bulk", "onionoo"], at - 5 * DAY, at - 60),
        ("185.220.101.2", &["bulk"], at - DAY, at - 60 - 2 * H),
    ]);
    let mut state = follower(&config, &feed, at);
    let last = last_successes(&state);
    assert_eq!(
        last,
        BTreeMap::from([
            ("bulk".to_string(), at - 60),
            ("leader".to_string(), at),
            ("onionoo".to_string(), at - 60),
        ])
    );
    // A hundred days later, the leader never heard from again: the same list, the leader's provenance.
    let later = at + 100 * DAY;
    let horizon = later - config.history.as_secs() as i64 - config.retention.as_secs() as i64;
    let followed = followed(&state);
    state.history.prune(horizon, &followed);
    let snapshot = build(&config, &mut state, &Snapshot::default(), later);
    let got: Vec<(String, Vec<String>, i64, i64)> = snapshot.lists[ListId::Exits.name()]
        .entries
        .iter()
        .map(|e| {
            let p = &e.prov;
            (
                e.net.addr().to_string(),
                p.sources.clone(),
                p.first_seen,
                p.last_seen,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(
            "185.220.101.1".to_string(),
            vec!["bulk".to_string(), "onionoo".to_string()],
            at - 5 * DAY,
            at - 60
        )],
        "the span at the leader's latest sighting stays; .2, closed at the leader, went with the horizon"
    );
    let found = lookup(
        &config,
        &state,
        "185.220.101.1".parse().unwrap(),
        later,
        later,
    );
    assert_eq!(found.len(), 1);
    // Until the horizon .2 was current too, as on the leader (within its retention after the last sighting).
    let mut state = follower(&config, &feed, at);
    let snapshot = build(&config, &mut state, &Snapshot::default(), at + 20 * DAY);
    assert_eq!(snapshot.lists[ListId::Exits.name()].entries.len(), 2);
}

#[test]
fn a_followers_last_good_list_is_what_it_holds_under_its_leaders_names() {
    let config = config();
    let at = 1_700_000_000;
    let feed = leader_list(&[
        ("185.220.101.1", &["bulk"], at - DAY, at - 60),
        ("185.220.101.2", &["tordnsel"], at - DAY, at - 60),
    ]);
    let state = follower(&config, &feed, at);
    let cover = last_good(&state, &config.sources[0], DAY);
    let listed = Coverage::of(&[
        "185.220.101.1/32".parse().unwrap(),
        "185.220.101.2/32".parse().unwrap(),
    ]);
    let beyond = listed.beyond(&cover);
    assert_eq!((beyond.ipv4, beyond.ipv6), (0, 0));
    assert_eq!(cover.beyond(&listed).ipv4, 0);
    // The follower's source never polled "bulk" itself: nothing under its own name.
    assert!(!state.history.lists[ListId::Exits.name()]
        .tracks
        .contains_key("leader"));
}

/// A bulk source's state after it accepted `addrs` at `now` (its last success before that: `previous`).
fn accept(config: &Config, state: &mut SavedState, addrs: &[&str], previous: i64, now: i64) {
    let text: String = addrs.iter().map(|a| format!("{a}\n")).collect();
    let feed = crate::feeds::bulk::parse(text.as_bytes()).unwrap();
    let times = Times {
        previous,
        now,
        gap: config.retention.as_secs() as i64,
    };
    observe(&mut state.history, &config.sources[0], &feed, times);
    let st = state.sources.entry("bulk".into()).or_default();
    st.loaded = true;
    st.entries = addrs.len();
    st.etag = Some(format!("\"{now}\""));
    st.last_success = now;
}

fn served(config: &Config, state: &mut SavedState, now: i64) -> Vec<String> {
    let snapshot = build(config, state, &Snapshot::default(), now);
    snapshot.lists[ListId::Exits.name()]
        .entries
        .iter()
        .map(|e| e.net.addr().to_string())
        .collect()
}

#[test]
fn a_crash_between_the_history_and_the_lists_file_serves_the_newer_list_alone() {
    let config = Config::parse(
        "retention: 0s\nsources:\n  - { name: bulk, type: bulk, url: 'http://127.0.0.1:9/' }\ninputs: []\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = 1_700_000_000;
    let mut state = SavedState::default();
    accept(&config, &mut state, &["185.1.0.1", "185.1.0.2"], 0, t);
    state.save(dir.path()).unwrap();
    // The next list replaces the first; the save is killed after the history's rename, before `lists.json`'s.
    accept(&config, &mut state, &["185.2.0.1"], t, t + 60);
    let files = state.to_bytes(true).unwrap();
    std::fs::write(
        SavedState::history_path(dir.path()),
        files.history.as_ref().unwrap(),
    )
    .unwrap();
    let mut back = SavedState::load(dir.path()).unwrap().unwrap();
    assert_eq!(
        served(&config, &mut back, t + 61),
        served(&config, &mut state, t + 61),
        "served after the restart as before the kill"
    );
    assert_eq!(served(&config, &mut back, t + 61), ["185.2.0.1"]);
    let bulk = &back.sources["bulk"];
    assert_eq!((bulk.last_success, bulk.entries), (t + 60, 1));
    assert_eq!(
        bulk.etag, None,
        "the older list's validators are not sent for the newer one"
    );
}
