//! File inputs: a glob matching 10,000 files used to hold 10,014 descriptors and 1.3 GB, and under `ulimit -n
//! 1024` took every descriptor (the HTTP server failed `accept`); paths that are directories, unreadable or
//! missing gave no sign at all; a file truncated and refilled past the read position within one poll lost its
//! lines silently.

use crate::hardening::local_list;
use crate::service::daemon::{usage, Daemon, Sampler};
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for line in lines {
        writeln!(f, "{line}").unwrap();
    }
}

fn lines(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!("Dec  6 10:00:00 fw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=185.220.101.{} DST=192.0.2.1 LEN=60 PROTO=TCP SPT=4{i:04} DPT=22 {tag}", 1 + i % 200)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "creates 10,000 files; run by .ci/run"]
async fn a_glob_of_10000_files_is_capped_and_the_service_keeps_answering() {
    const FILES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    for i in 0..FILES {
        std::fs::write(logs.join(format!("host-{i:05}.log")), "old line\n").unwrap();
    }
    let newest = logs.join(format!("host-{:05}.log", FILES - 1));
    let config = format!(
        "{}inputs:\n  - {{name: many, type: file, start_at: beginning, paths: [\"{}/*.log\"]}}\n",
        local_list(dir.path()),
        logs.display()
    );
    // As on a host with the usual limit of 1,024 descriptors.
    let d = Daemon::start_in(
        dir.path(),
        &config,
        &["sh", "-c", "ulimit -n 1024; exec \"$@\"", "sh"],
    )
    .await;
    let pid = d.child.id();
    let sampler = Sampler::start(pid);
    // The 256 most recently written files are followed from their start (one line each), the newest among them:
    // lines appended to it are counted.
    append(&newest, &lines("new", 100));
    let counted = "torwatch_input_lines_total{input=\"many\"}";
    d.wait_metric(counted, 356.0, Duration::from_secs(60)).await;
    // HTTP still accepts: 50 requests on fresh connections.
    for _ in 0..50 {
        let (code, _) = d.get("/metrics").await;
        assert_eq!(code, 200);
    }
    assert_eq!(
        d.metric("torwatch_input_files{input=\"many\"}").await,
        256.0
    );
    assert_eq!(
        d.metric("torwatch_input_path_problems{input=\"many\",reason=\"over_cap\"}")
            .await,
        (FILES - 256) as f64
    );
    let (_, readyz) = d.get("/readyz").await;
    assert!(
        readyz
            .contains("input many: 9744 more files match, not followed: 256 are (max_files: 256)"),
        "{readyz}"
    );
    let (fds, rss) = sampler.finish().await;
    let (fds_now, rss_now) = usage(pid);
    println!(
        "glob of {FILES} files under ulimit -n 1024: 256 followed, peak {fds} fds (now {fds_now}), \
         peak RSS {} MiB (now {} MiB)",
        rss / 1024,
        rss_now / 1024
    );
    assert_eq!(
        d.metric(counted).await,
        356.0,
        "the newest 256 files, each line once"
    );
    assert!(fds <= 256 + 64, "{fds} descriptors");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_directory_and_unreadable_paths_are_problems_until_they_are_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let missing = root.join("kern.log");
    let directory = root.join("logs");
    std::fs::create_dir(&directory).unwrap();
    let secret = root.join("secret.log");
    std::fs::write(&secret, "").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let config = format!(
        "{}inputs:\n  - name: files\n    type: file\n    start_at: beginning\n    poll: 100ms\n    paths: [\"{}\", \"{}\", \"{}\", \"{}/*.log\"]\n",
        local_list(root),
        missing.display(),
        directory.display(),
        secret.display(),
        root.join("rotated").display(),
    );
    // Root reads any file: run torwatch as nobody where the test runs as root.
    let root_user = own_uid() == 0;
    let wrapper: &[&str] = if root_user {
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o777)).unwrap();
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
    } else {
        &[]
    };
    let d = Daemon::start_in(root, &config, wrapper).await;
    let gauge = |reason: &str| {
        format!("torwatch_input_path_problems{{input=\"files\",reason=\"{reason}\"}}")
    };
    d.wait_metric(&gauge("missing"), 2.0, Duration::from_secs(10))
        .await;
    assert_eq!(d.metric(&gauge("not_a_file")).await, 1.0);
    assert_eq!(d.metric(&gauge("unreadable")).await, 1.0);
    let (_, readyz) = d.get("/readyz").await;
    for expected in [
        format!("input files: {} does not exist", missing.display()),
        format!(
            "input files: {} is a directory, not a file",
            directory.display()
        ),
        format!(
            "input files: {} cannot be read: Permission denied",
            secret.display()
        ),
        format!(
            "input files: {}/*.log matches no file",
            root.join("rotated").display()
        ),
    ] {
        assert!(readyz.contains(&expected), "{expected} not in {readyz}");
    }
    let log = std::fs::read_to_string(&d.log).unwrap();
    assert!(log.contains("WARN") && log.contains("does not exist: no lines from it"));

    // Fixed: the file appears, the permissions are granted. The problems go, the lines come.
    append(&missing, &lines("kern", 3));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    append(&secret, &lines("secret", 2));
    d.wait_metric(
        "torwatch_input_lines_total{input=\"files\"}",
        5.0,
        Duration::from_secs(10),
    )
    .await;
    d.wait_metric(&gauge("missing"), 1.0, Duration::from_secs(10))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while d.metric(&gauge("missing")).await != 1.0 || d.metric(&gauge("unreadable")).await != 0.0 {
        assert!(std::time::Instant::now() < deadline, "{}", d.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, readyz) = d.get("/readyz").await;
    assert!(!readyz.contains("kern.log does not exist"), "{readyz}");
    assert!(!readyz.contains("cannot be read"), "{readyz}");
    assert!(readyz.contains("is a directory"), "{readyz}");
}

/// The user this test runs as (the owner of its /proc entry).
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_truncated_and_refilled_past_the_read_position_within_one_poll_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("pfirewall.log");
    // A header longer than the 256 bytes the head fingerprint covers, the same in every copy of the file (as the
    // header of a Windows Firewall log): the head alone cannot tell the refilled file from the old one.
    let header: Vec<String> = (0..4)
        .map(|i| format!("#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path {i}"))
        .collect();
    std::fs::write(&log, "").unwrap();
    let config = format!(
        "{}inputs:\n  - {{name: fw, type: file, start_at: beginning, poll: 2s, paths: [\"{}\"]}}\n",
        local_list(dir.path()),
        log.display()
    );
    let d = Daemon::start(dir.path(), &config).await;
    let counted = "torwatch_input_lines_total{input=\"fw\"}";
    append(&log, &header);
    append(&log, &lines("first", 100));
    d.wait_metric(counted, 104.0, Duration::from_secs(10)).await;
    // copytruncate, and the writer fills the file past the old position before the next poll.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &header);
    append(&log, &lines("second", 150));
    d.wait_metric(counted, 104.0 + 154.0, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.metric(counted).await, 258.0, "each line once");
    assert_eq!(
        d.metric("torwatch_input_truncations_total{input=\"fw\"}")
            .await,
        1.0
    );
}
