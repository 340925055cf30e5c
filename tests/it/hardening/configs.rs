//! Odd configs. Files a config names were read without a limit (`token_file: /dev/zero` reached 6.2 GB in 5 s),
//! a 100,000-deep YAML took 20 s to refuse and 200,000 aliases printed 200,000 errors; `check-config` passed
//! configs that `run` refused or that lose everything. Each case runs `check-config` and `run` and checks both
//! refuse it quickly (the exact errors of the refused ones are in tests/configs/bad/, checked by
//! tests/it/check_config.rs).

use crate::service::daemon::free_port;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs torwatch with `args` and `--config config`, killed after 60 s; returns (exit code, stderr, seconds).
fn torwatch(args: &[&str], config: &Path) -> (i32, String, f64) {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(args)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let code =
        crate::hardening::wait_exit(&mut child, Duration::from_secs(60)).map(|(code, _)| code);
    let took = started.elapsed().as_secs_f64();
    if code.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let text = std::fs::read_to_string(stderr.path()).unwrap_or_default();
    let code = code.unwrap_or_else(|| panic!("torwatch {args:?} still ran after 60 s: {text}"));
    (code, text, took)
}

/// A config for `run` in `dir` (its own port and state), with `body`.
fn config(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "listen: 127.0.0.1:{}\nstate_dir: {}\n{body}",
            free_port(),
            dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

/// Both commands refuse `path`, each within 10 s, with stderr containing `expected`.
fn refused(path: &Path, expected: &str) {
    for args in [&["check-config"][..], &["run"][..]] {
        let (code, stderr, took) = torwatch(args, path);
        println!("{args:?} {}: exit {code} in {took:.2} s", path.display());
        assert_ne!(code, 0, "{args:?} accepted {}", path.display());
        assert!(
            stderr.contains(expected),
            "{args:?}: {expected:?} not in {stderr}"
        );
        assert!(took < 10.0, "{args:?} took {took:.1} s");
    }
}

#[test]
fn files_a_config_names_are_read_with_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("token.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // A sparse 2 GiB "database": its size alone refuses it.
    let huge = d.join("huge.mmdb");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let cases = [
        (
            "http:\n  lists:\n    auth: {type: bearer, token_file: /dev/zero}\n".to_string(),
            "http.lists.auth.token_file: /dev/zero is not a regular file",
        ),
        (
            format!(
                "http:\n  status:\n    auth: {{type: basic, username: u, password_file: {}}}\n",
                fifo.display()
            ),
            "is not a regular file",
        ),
        (
            "http:\n  tls: {cert: /dev/zero, key: /dev/zero}\n".to_string(),
            "http.tls.cert: /dev/zero is not a regular file",
        ),
        (
            "matcher:\n  geoip: /dev/zero\n".to_string(),
            "matcher.geoip: cannot open country database /dev/zero: /dev/zero is not a regular file",
        ),
        (
            format!("matcher:\n  geoip: {}\n", huge.display()),
            "huge.mmdb is larger than 1 GiB (the limit)",
        ),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let path = config(
            d,
            &format!("files-{i}.yaml"),
            &format!("sources: []\n{body}"),
        );
        refused(&path, expected);
    }
    // The config file itself.
    refused(Path::new("/dev/zero"), "/dev/zero is not a regular file");
}

#[test]
fn deep_nesting_is_refused_at_once_and_many_errors_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deep = config(
        d,
        "deep.yaml",
        &format!("sources: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    refused(&deep, "brackets ([ ] or { }) nest deeper than 64 levels");

    let mut aliases =
        String::from("sources:\n  - &s {name: same, type: bulk, url: \"https://example.org/\"}\n");
    for _ in 0..200_000 {
        aliases.push_str("  - *s\n");
    }
    let path = config(d, "aliases.yaml", &aliases);
    let (code, stderr, took) = torwatch(&["check-config"], &path);
    println!(
        "200,000 aliases: exit {code} in {took:.2} s, {} lines of errors",
        stderr.lines().count()
    );
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!("{}: 200000 problem(s)\n", path.display())),
        "{}",
        &stderr[..200.min(stderr.len())]
    );
    assert!(
        stderr.ends_with("… and 199950 more problem(s)\n"),
        "{}",
        &stderr[stderr.len().saturating_sub(200)..]
    );
    assert_eq!(stderr.lines().count(), 1 + 50 + 1);
}

#[test]
fn check_config_refuses_what_run_refuses() {
    // Every bad config that fails for a reason `run` alone used to find (the exact errors are checked by
    // tests/it/check_config.rs): `run` refuses each as well, so the two agree.
    let bad = Path::new("tests/configs/bad");
    for name in [
        "duplicate-port",
        "missing-tls-files",
        "state-dir-is-a-file",
        "bad-glob",
        "publish-unknown-list",
        "zero-limits",
        "url-without-scheme",
    ] {
        let path = bad.join(format!("{name}.yaml"));
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let first = expected.lines().next().unwrap();
        refused(&path, first);
    }
}

#[test]
fn check_config_warns_about_configs_that_lose_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        "lossy.yaml",
        &format!(
            "exclude: [0.0.0.0/0]\nsources:\n  - {{name: off, type: bulk, url: \"https://example.org/\", enabled: false}}\ninputs:\n  - {{name: tiny, type: syslog_udp, listen: \"127.0.0.1:0\", max_message: 100}}\n  - {{name: kern, type: file, paths: [{}/kern.log]}}\n",
            dir.path().display()
        ),
    );
    let (code, stderr, _) = torwatch(&["check-config"], &path);
    assert_eq!(code, 0, "{stderr}");
    for expected in [
        "warning: exclude[0]: 0.0.0.0/0 removes every address of its family from every list",
        "warning: sources: no enabled source feeds tor-exits",
        "warning: inputs[0].max_message: 100 bytes: most log lines are longer and would be skipped",
        "kern.log does not exist: this path gives no lines for now",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
}
