//! `torwatch check-config`: the shipped config is valid, and every file in tests/configs/bad/ fails with exactly
//! the errors in its `.expected` file.

use std::path::Path;
use std::process::Command;

fn check(path: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_torwatch"))
        .args(["check-config", "--config"])
        .arg(path)
        .output()
        .expect("run torwatch");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn shipped_config_is_valid() {
    let (code, stdout, stderr) = check(Path::new("config/torwatch.yaml"));
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("ok"), "{stdout}");
}

#[test]
fn bad_configs_fail_with_their_exact_errors() {
    let dir = Path::new("tests/configs/bad");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        seen += 1;
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let (code, _, stderr) = check(&path);
        assert_eq!(code, 2, "{}: exit code", path.display());
        let mut lines = stderr.lines();
        let header = lines.next().unwrap_or_default();
        assert!(
            header.ends_with("problem(s)"),
            "{}: {header}",
            path.display()
        );
        let got: Vec<&str> = lines.collect();
        let want: Vec<&str> = expected.lines().collect();
        assert_eq!(got, want, "{}", path.display());
    }
    assert!(seen >= 15, "only {seen} bad configs found");
}
