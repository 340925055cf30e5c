//! Disk trouble: the state directory and the publish directory are small tmpfs mounts in a private mount
//! namespace of the torwatch process. When they are full or read-only, saves and writes fail, are counted and
//! listed on `/readyz`, and the lists are still served from memory; when the disk recovers, the next fetch saves
//! and writes again and the problems disappear.
//!
//! Needs root (mount namespaces); permission bits do not stop root, so a full or read-only filesystem is the only
//! honest way to make writes fail.

use crate::service::daemon::Daemon;
use crate::service::faults::addresses;
use crate::service::upstream::{Behaviour, Upstream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const OK: &str = "torwatch_state_writes_total{result=\"ok\"}";
const ERROR: &str = "torwatch_state_writes_total{result=\"error\"}";

/// Runs `script` with `sh -c` inside the mount namespace of process `pid`.
fn inside(pid: u32, script: &str) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-m", "sh", "-c", script])
        .output()
        .expect("nsenter runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config(url: &str, out: &Path) -> String {
    format!(
        "retention: 0s\nstate_save_interval: 1s\nsources:\n  - name: bulk\n    type: bulk\n    url: {url}\n    interval: 1s\n    timeout: 2s\n    min_entries: 2\ninputs: []\npublish:\n  - path: {}\n    format: txt\n    list: tor-exits\n",
        out.join("tor-exits.txt").display()
    )
}

fn serve(up: &Upstream, n: usize, offset: usize) -> String {
    let body = addresses(n, offset);
    up.set(
        "/list",
        Behaviour::Ok {
            body: body.clone(),
            etag: None,
        },
    );
    String::from_utf8(body).unwrap()
}

/// Waits until `/readyz` lists a problem containing `needle` (or, with `gone`, none containing it).
async fn wait_problem(d: &Daemon, needle: &str, gone: bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = d.get("/readyz").await;
        assert_eq!(code, 200, "still ready: the lists are in memory");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let problems = v["problems"].as_array().cloned().unwrap_or_default();
        let found = problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains(needle)));
        if found != gone {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "problem {needle:?} present={found}; /readyz:\n{body}\nlog:\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_served(d: &Daemon, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while d.get("/lists/tor-exits.txt").await.1 != expected {
        assert!(Instant::now() < deadline, "new list not served from memory");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_file(pid: u32, path: &Path, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while inside(pid, &format!("cat {} 2>/dev/null", path.display())) != expected {
        assert!(
            Instant::now() < deadline,
            "{} not rewritten",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root (mount namespace, tmpfs); run by .ci/run"]
async fn full_or_read_only_disk_is_counted_shown_and_recovered_from() {
    let up = Upstream::start().await;
    let first = serve(&up, 20, 1);
    let dir = tempfile::tempdir().unwrap();
    let (state, out) = (dir.path().join("state"), dir.path().join("out"));
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let mount = r#"mount -t tmpfs -o size=64k tmpfs "$0" && mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@""#;
    let wrapper = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        mount,
        state.to_str().unwrap(),
        out.to_str().unwrap(),
    ];
    let d = Daemon::start_in(dir.path(), &config(&up.url("/list"), &out), &wrapper).await;
    let pid = d.child.id();
    let txt = out.join("tor-exits.txt");
    d.wait_metric(OK, 1.0, Duration::from_secs(10)).await;
    wait_file(pid, &txt, &first).await;
    let published = |result: &str| {
        format!(
            "torwatch_publish_writes_total{{file=\"{}\",result=\"{result}\"}}",
            txt.display()
        )
    };

    // Full: both filesystems filled to the last byte.
    let fill = format!(
        "for d in {} {}; do dd if=/dev/zero of=$d/fill bs=4k 2>/dev/null; done; df -k {}",
        state.display(),
        out.display(),
        state.display()
    );
    let df = inside(pid, &fill);
    assert!(df.contains(" 100% "), "not full: {df}");
    let second = serve(&up, 25, 50);
    d.wait_metric(ERROR, 1.0, Duration::from_secs(20)).await;
    d.wait_metric(&published("error"), 1.0, Duration::from_secs(20))
        .await;
    wait_served(&d, &second).await;
    let readyz = wait_problem(&d, "state: cannot write", false).await;
    assert!(readyz.contains("tor-exits.txt"), "{readyz}");
    assert_eq!(inside(pid, &format!("cat {}", txt.display())), first);

    // Space again: the next fetch saves, the publisher retries, the problems go.
    inside(
        pid,
        &format!("rm -f {}/fill {}/fill", state.display(), out.display()),
    );
    wait_problem(&d, "state: cannot write", true).await;
    wait_problem(&d, "tor-exits.txt", true).await;
    wait_file(pid, &txt, &second).await;

    // Read-only: the same, through remounts.
    let ok = d.metric(&published("ok")).await;
    let errors = d.metric(ERROR).await;
    inside(
        pid,
        &format!(
            "mount -o remount,ro {} && mount -o remount,ro {}",
            state.display(),
            out.display()
        ),
    );
    let third = serve(&up, 30, 100);
    d.wait_metric(ERROR, errors + 1.0, Duration::from_secs(20))
        .await;
    wait_served(&d, &third).await;
    wait_problem(&d, "tor-exits.txt", false).await;
    assert_eq!(d.metric(&published("ok")).await, ok);
    inside(
        pid,
        &format!(
            "mount -o remount,rw {} && mount -o remount,rw {}",
            state.display(),
            out.display()
        ),
    );
    wait_problem(&d, "state: cannot write", true).await;
    wait_problem(&d, "tor-exits.txt", true).await;
    wait_file(pid, &txt, &third).await;

    // The saved state holds the third list.
    let copy = tempfile::tempdir().unwrap();
    for file in ["lists.json", "history.json"] {
        let text = inside(pid, &format!("cat {}/{file}", state.display()));
        std::fs::write(copy.path().join(file), text).unwrap();
    }
    let saved = torwatch::keeper::state::SavedState::load(copy.path())
        .unwrap()
        .expect("a saved state");
    let open: Vec<String> = saved.history.lists["tor-exits"].tracks["bulk"]
        .open()
        .map(|n| n.addr().to_string())
        .collect();
    assert!(
        open.iter().any(|a| a == "185.220.101.129"),
        "state not saved after recovery: {open:?}"
    );
    d.stop();
}
