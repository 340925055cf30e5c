//! The stdin input on a real standard input: this test binary runs itself as a child whose stdin is a pipe, the
//! child runs the input to end of file and prints what it received.

use std::io::Write;
use std::process::{Command, Stdio};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use torwatch::inputs::{self, InputKind, InputMetrics, InputSpec};

const CHILD: &str = "TORWATCH_STDIN_CHILD";

/// In the child: reads standard input through the input and prints each line between markers.
#[tokio::test]
async fn child_reads_stdin() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let spec = InputSpec {
        name: "stdin".into(),
        kind: InputKind::Stdin,
        max_message: 24,
    };
    let (tx, mut rx) = mpsc::channel(4);
    let metrics = std::sync::Arc::new(InputMetrics::default());
    let input = tokio::spawn(inputs::run(spec, 0, tx, metrics, CancellationToken::new()));
    while let Some(batch) = rx.recv().await {
        for line in batch.lines {
            println!("<<{}>>", String::from_utf8_lossy(&line));
        }
    }
    input.await.expect("join").expect("stdin read to its end");
}

#[test]
fn stdin_lines_arrive_until_end_of_input() {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            // The test's name in this binary: its module path without the crate's name.
            &format!(
                "{}::child_reads_stdin",
                module_path!().split_once("::").map_or("", |(_, m)| m)
            ),
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run child");
    let mut stdin = child.stdin.take().expect("stdin");
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
    for line in &lines {
        writeln!(stdin, "{line}").expect("write");
    }
    stdin
        .write_all(b"this line is far too long\r\nwindows line\r\nlast without newline")
        .expect("write");
    drop(stdin);
    let output = child.wait_with_output().expect("child ran");
    assert!(output.status.success(), "child failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The harness may print its "test … " prefix on the first line.
    let got: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.find("<<").map(|at| &l[at + 2..]))
        .filter_map(|l| l.strip_suffix(">>"))
        .collect();
    let mut want: Vec<&str> = lines.iter().map(String::as_str).collect();
    want.extend(["windows line", "last without newline"]);
    assert_eq!(got, want);
}
