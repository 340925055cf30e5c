//! Crashes: torwatch is killed with SIGKILL at random moments while it fetches, saves state and writes its
//! publish files, and restarted with the upstream gone. After every kill the state file loads, every publish file
//! is whole and holds one of the lists the upstream served that passed validation; after every restart the last
//! good list is served at once, before any fetch, and the files are brought up to date.
//!
//! A file input is killed the same way while its log grows: the checkpoint never moves back, always ends a line,
//! and a clean run afterwards reads exactly the lines after it.
//!
//! `TORWATCH_CRASH_CYCLES` sets the number of cycles (30 by default; `tests/hardening/crash.sh` runs more).

use crate::service::daemon::Daemon;
use crate::service::upstream::{Behaviour, Upstream};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use torwatch::keeper::state::SavedState;

/// Addresses `185.{block}.x.y`, `n` of them.
fn block(block: u8, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|i| format!("185.{block}.{}.{}", i / 250, i % 250 + 1))
        .collect()
}

fn body(list: &BTreeSet<String>) -> Vec<u8> {
    list.iter()
        .map(|a| format!("{a}\n"))
        .collect::<String>()
        .into_bytes()
}

/// The lists the upstream rotates through: three good ones and one that fails validation (a bad line).
struct Lists {
    good: Vec<BTreeSet<String>>,
    rejected: Vec<u8>,
}

impl Lists {
    fn new() -> Lists {
        let mut rejected = body(&block(4, 1900));
        rejected.extend(b"<not an address>\n");
        Lists {
            good: vec![block(1, 1500), block(2, 1800), block(3, 2100)],
            rejected,
        }
    }

    fn behaviour(&self, i: usize) -> Behaviour {
        let body = match self.good.get(i) {
            Some(list) => body(list),
            None => self.rejected.clone(),
        };
        Behaviour::Ok { body, etag: None }
    }

    /// Which good list `addresses` is, if any.
    fn which(&self, addresses: &BTreeSet<String>) -> Option<usize> {
        self.good.iter().position(|g| g == addresses)
    }
}

fn config(url: &str, out: &Path) -> String {
    format!(
        "retention: 0s\nstate_save_interval: 1s\nsources:\n  - name: bulk\n    type: bulk\n    url: {url}\n    interval: 1s\n    timeout: 2s\n    min_entries: 100\n    max_shrink: 0.5\ninputs: []\npublish:\n  - path: {txt}\n    format: txt\n    list: tor-exits\n  - path: {nft}\n    format: nft\n    list: tor-exits\n",
        txt = out.join("tor-exits.txt").display(),
        nft = out.join("tor-exits.nft").display(),
    )
}

/// The addresses of a txt file.
fn txt_addresses(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The addresses of an nft file, checked to be whole: the header's entry count matches and the file ends with the
/// element statement.
fn nft_addresses(text: &str) -> Result<BTreeSet<String>, String> {
    let header = text.lines().next().unwrap_or_default();
    let count: usize = header
        .split(", ")
        .nth(1)
        .and_then(|p| p.strip_suffix(" entries"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no entry count in header {header:?}"))?;
    if !text.ends_with("}\n") {
        return Err("does not end with a closing brace".into());
    }
    let addresses: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("add element inet torwatch tor_exit_v4 { "))
        .flat_map(|l| l.trim_end_matches(" }").split(", "))
        .map(str::to_string)
        .collect();
    if addresses.len() != count {
        return Err(format!(
            "header says {count} entries, file has {}",
            addresses.len()
        ));
    }
    Ok(addresses)
}

/// Checks the files left by a killed process; returns which good list the txt file holds, if it exists.
fn check_files(dir: &Path, out: &Path, lists: &Lists, cycle: usize) -> Option<usize> {
    SavedState::load(&dir.join("state"))
        .unwrap_or_else(|e| panic!("cycle {cycle}: state does not load: {e:#}"));
    let txt = std::fs::read_to_string(out.join("tor-exits.txt")).ok()?;
    let addresses = txt_addresses(&txt);
    let which = lists.which(&addresses).unwrap_or_else(|| {
        panic!(
            "cycle {cycle}: tor-exits.txt ({} lines) is not a list the upstream served and validation passed",
            addresses.len()
        )
    });
    let nft = std::fs::read_to_string(out.join("tor-exits.nft"))
        .unwrap_or_else(|e| panic!("cycle {cycle}: txt written but no nft: {e}"));
    let nft =
        nft_addresses(&nft).unwrap_or_else(|e| panic!("cycle {cycle}: nft file not whole: {e}"));
    assert!(
        lists.which(&nft).is_some(),
        "cycle {cycle}: tor-exits.nft is not a served list"
    );
    Some(which)
}

/// Rotates the upstream through the lists until stopped.
fn rotate(up: Upstream, lists: Arc<Lists>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            up.set("/list", lists.behaviour(i % (lists.good.len() + 1)));
            i += 1;
            let pause = random_in(300..1200);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_moments_it_restarts_from_whole_state_and_files() {
    let cycles: usize = std::env::var("TORWATCH_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let lists = Arc::new(Lists::new());
    let up = Upstream::start().await;
    up.set("/list", lists.behaviour(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rotation = rotate(up.clone(), lists.clone(), stop.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cfg = config(&up.url("/list"), &out);

    let mut seen = BTreeSet::new();
    let mut ready_from_state = 0;
    for cycle in 0..cycles {
        check_files(dir.path(), &out, &lists, cycle);
        let saved = SavedState::load(&dir.path().join("state")).unwrap();
        // Restart with the upstream unreachable: whatever the state holds is served at once.
        up.stop();
        let d = Daemon::start(dir.path(), &cfg).await;
        if saved.is_some_and(|s| s.sources.values().any(|s| s.loaded)) {
            let (code, _) = d.get("/readyz").await;
            assert_eq!(
                code,
                200,
                "cycle {cycle}: not ready from state; log:\n{}",
                d.log_tail()
            );
            let (code, served) = d.get("/lists/tor-exits.txt").await;
            assert_eq!(code, 200);
            let which = lists.which(&txt_addresses(&served));
            assert!(
                which.is_some(),
                "cycle {cycle}: served list is not a good one"
            );
            let ok = d
                .metric("torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}")
                .await;
            assert_eq!(
                ok, 0.0,
                "cycle {cycle}: the list came from a fetch, not the state"
            );
            // The publisher brings the files up to what is served.
            wait_for(&out.join("tor-exits.txt"), &served, &d).await;
            ready_from_state += 1;
            seen.extend(which);
        }
        up.restart().await;
        if cycle % 2 == 0 {
            // Every other life lasts until a fetch has been accepted and the state saved, however slow the
            // machine; the kill comes at a random moment after that. The other lives end at any moment.
            d.wait_metric(
                "torwatch_source_fetches_total{source=\"bulk\",result=\"ok\"}",
                1.0,
                Duration::from_secs(60),
            )
            .await;
            // A save that started after the accepted fetch (saves come at most once per state_save_interval).
            let writes = d.metric("torwatch_state_writes_total{result=\"ok\"}").await;
            d.wait_metric(
                "torwatch_state_writes_total{result=\"ok\"}",
                writes + 2.0,
                Duration::from_secs(60),
            )
            .await;
        }
        let life = random_in(0..1500);
        tokio::time::sleep(Duration::from_millis(life)).await;
        drop(d); // SIGKILL
    }
    stop.store(true, Ordering::Relaxed);
    rotation.await.unwrap();
    check_files(dir.path(), &out, &lists, cycles);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .chain(std::fs::read_dir(&out).unwrap())
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    eprintln!(
        "crash: {cycles} kills, ready from state {ready_from_state} times, lists seen {seen:?}, temp files left \
         by kills: {}",
        leftovers.len()
    );
    assert!(
        ready_from_state >= cycles / 2,
        "too few cycles reached a fetch"
    );
    assert!(seen.len() >= 2, "the rotation was not observed: {seen:?}");
}

async fn wait_for(path: &Path, expected: &str, d: &Daemon) {
    for _ in 0..200 {
        if std::fs::read_to_string(path).is_ok_and(|t| t == expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} not republished after restart; log:\n{}",
        path.display(),
        d.log_tail()
    );
}

/// The offset of the one file in an input's checkpoint (0 before the first commit). Panics when the checkpoint
/// exists but is not whole JSON.
fn checkpoint_offset(dir: &Path, cycle: usize) -> u64 {
    let path = dir.join("state/checkpoints/fw.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cycle {cycle}: checkpoint is not whole: {e}: {text:?}"));
    v["files"]
        .as_array()
        .and_then(|f| f.first())
        .and_then(|f| f["offset"].as_u64())
        .unwrap_or(0)
}

/// A drop log that grows by whole lines until stopped; returns how many lines it wrote.
fn grow(log: std::path::PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let batch: String = (0..20)
                .map(|i| {
                    let id = n + i;
                    format!(
                        "Nov  1 11:05:31 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=185.220.101.{} DST=192.0.2.10 LEN=60 TTL=52 ID={id} PROTO=TCP SPT={} DPT=22 SYN\n",
                        id % 250 + 1,
                        10_000 + id % 50_000
                    )
                })
                .collect();
            f.write_all(batch.as_bytes()).unwrap();
            n += 20;
            std::thread::sleep(Duration::from_millis(10));
        }
        n
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_while_tailing_it_resumes_at_the_checkpoint() {
    let cycles: usize = std::env::var("TORWATCH_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    std::fs::write(&log, b"").unwrap();
    // A local exit list: file inputs wait for one before they read (and checkpoint) anything.
    let exits = dir.path().join("exits.txt");
    std::fs::write(&exits, b"185.220.102.1\n").unwrap();
    let cfg = format!(
        "sources:\n  - {{ name: exits, type: plain, list: tor-exits, url: {}, interval: 1h, min_entries: 1 }}\ninputs:\n  - name: fw\n    type: file\n    paths: [{}]\n    format: netfilter\n    start_at: beginning\n    poll: 50ms\n",
        exits.display(),
        log.display()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = grow(log.clone(), stop.clone());
    let mut offset = 0;
    let mut moves = 0;
    for cycle in 0..cycles {
        let d = Daemon::start(dir.path(), &cfg).await;
        let life = random_in(0..1500);
        tokio::time::sleep(Duration::from_millis(life)).await;
        drop(d); // SIGKILL
        let now = checkpoint_offset(dir.path(), cycle);
        let bytes = std::fs::read(&log).unwrap();
        assert!(
            now >= offset,
            "cycle {cycle}: checkpoint went back from {offset} to {now}"
        );
        assert!(
            now as usize <= bytes.len(),
            "cycle {cycle}: checkpoint past the end"
        );
        assert!(
            now == 0 || bytes.get(now as usize - 1) == Some(&b'\n'),
            "cycle {cycle}: checkpoint {now} is not at a line boundary"
        );
        moves += usize::from(now > offset);
        offset = now;
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    // More lines while no torwatch runs.
    let (more_stop, more) = (Arc::new(AtomicBool::new(false)), log.clone());
    let extra = grow(more, more_stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    more_stop.store(true, Ordering::Relaxed);
    let written = written + extra.join().unwrap();

    // A clean run reads exactly the lines after the last checkpoint, then records the end of the file.
    let bytes = std::fs::read(&log).unwrap();
    let rest = bytes[offset as usize..]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as f64;
    let d = Daemon::start(dir.path(), &cfg).await;
    let series = "torwatch_input_lines_total{input=\"fw\"}";
    d.wait_metric(series, rest, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        d.metric(series).await,
        rest,
        "lines after the checkpoint read once"
    );
    d.stop();
    let end = checkpoint_offset(dir.path(), cycles);
    eprintln!(
        "tail crash: {cycles} kills, {written} lines written, checkpoint moved in {moves} cycles, last checkpoint \
         {offset}, clean run read {rest} lines, final checkpoint {end} of {} bytes",
        bytes.len()
    );
    assert_eq!(end, bytes.len() as u64, "everything consumed and recorded");
    assert!(moves >= cycles / 3, "the checkpoint rarely moved: {moves}");
}

/// A number drawn from `range`: the random keys std gives each hasher, applied to the clock (good enough to pick
/// kill moments; no generator needed).
fn random_in(range: std::ops::Range<u64>) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    range.start + hasher.finish() % (range.end - range.start).max(1)
}
