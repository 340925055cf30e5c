//! Apply commands on SIGTERM: a command still running when torwatch stopped used to be orphaned with whatever it
//! had started. Now its process group gets SIGTERM and, after a grace period, SIGKILL, and torwatch exits.

use crate::hardening::{addresses, gone, signal, wait_exit};
use crate::service::daemon::Daemon;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_a_running_apply_command_and_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("exits.txt");
    std::fs::write(&list, addresses(5)).unwrap();
    let pids = dir.path().join("pids");
    // The command starts a child that ignores SIGTERM and one that does not, then waits for them for good.
    let script = format!(
        "sh -c 'trap \"\" TERM; echo $$ >> {pids}; while :; do sleep 1; done' & sleep 600 & echo $! >> {pids}; wait",
        pids = pids.display()
    );
    let config = format!(
        "sources:\n  - {{name: local, type: plain, list: tor-exits, url: \"{}\"}}\ninputs: []\npublish:\n  - path: {}\n    format: txt\n    apply: [sh, -c, {script:?}]\n    apply_timeout: 10m\n",
        list.display(),
        dir.path().join("out.txt").display(),
    );
    let mut d = Daemon::start(dir.path(), &config).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let started: Vec<u32> = loop {
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        let found: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if found.len() == 2 {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "the apply command did not start: {}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(started.iter().all(|p| !gone(*p)));

    signal(d.child.id(), "TERM");
    let (code, took) = wait_exit(&mut d.child, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("torwatch did not exit: {}", d.log_tail()));
    println!(
        "SIGTERM during an apply command: torwatch exited in {} ms",
        took.as_millis()
    );
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Nothing the command started is left (a killed process may stay a zombie until something reaps it).
    let deadline = Instant::now() + Duration::from_secs(5);
    while started.iter().any(|p| !gone(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in started {
        assert!(
            gone(pid),
            "process {pid} of the apply command outlived torwatch"
        );
    }
}
