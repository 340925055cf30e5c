//! Runs the real `torwatch` binary with a config written by the test, on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Daemon {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

/// Starts `torwatch run --config CONFIG` (through `wrapper`, if any) with debug logs in `log`.
pub fn spawn(config: &Path, log: &Path, wrapper: &[&str]) -> Child {
    let (program, pre) = match wrapper.split_first() {
        Some((p, rest)) => (*p, rest.to_vec()),
        None => (env!("CARGO_BIN_EXE_torwatch"), vec![]),
    };
    let mut command = Command::new(program);
    command.args(pre);
    if !wrapper.is_empty() {
        command.arg(env!("CARGO_BIN_EXE_torwatch"));
    }
    command
        .args(["run", "--config"])
        .arg(config)
        .env("TORWATCH_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Daemon {
    /// Starts torwatch with `config` (YAML; `listen` is added) in `dir`, and waits until `/healthz` answers.
    pub async fn start(dir: &Path, config: &str) -> Daemon {
        Daemon::start_in(dir, config, &[]).await
    }

    /// Like `start`, with torwatch run through `wrapper` (a command that ends by exec'ing its arguments, such as
    /// a shell that mounts something first and then runs `exec "$@"`).
    pub async fn start_in(dir: &Path, config: &str, wrapper: &[&str]) -> Daemon {
        let port = free_port();
        let path = dir.join("torwatch.yaml");
        std::fs::write(
            &path,
            format!(
                "listen: 127.0.0.1:{port}\nstate_dir: {}\n{config}",
                dir.join("state").display()
            ),
        )
        .unwrap();
        let log = dir.join(format!("torwatch-{port}.log"));
        let child = spawn(&path, &log, wrapper);
        let d = Daemon {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        d.wait_healthy().await;
        d
    }

    /// Starts torwatch again with the config `start` wrote in `dir` (same port, same state), as `base`.
    pub async fn start_on(dir: &Path, base: &str) -> Daemon {
        let port = base.rsplit(':').next().unwrap_or_default();
        let log = dir.join(format!("torwatch-{port}-again.log"));
        let child = spawn(&dir.join("torwatch.yaml"), &log, &[]);
        let d = Daemon {
            child,
            base: base.to_string(),
            log,
        };
        d.wait_healthy().await;
        d
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "torwatch did not start: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Replaces the config in `dir` with `body`, keeping this daemon's HTTP port and state directory (to reload).
    pub fn rewrite(&self, dir: &Path, body: &str) {
        let port = self.base.rsplit(':').next().unwrap();
        let text = format!(
            "listen: 127.0.0.1:{port}\nstate_dir: {}\n{body}",
            dir.join("state").display()
        );
        std::fs::write(dir.join("torwatch.yaml"), text).unwrap();
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// The value of one sample in the classic text exposition (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        sample(&text, series)
    }

    /// Polls until `series` reaches at least `value`.
    pub async fn wait_metric(&self, series: &str, value: f64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let v = self.metric(series).await;
            if v >= value {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{series} stayed at {v} < {value}; log:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM and wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("torwatch did not stop on SIGTERM");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds `series` (exact name and labels as exposed) in an exposition and returns its value.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Open file descriptors and resident memory (KiB) of a process.
pub fn usage(pid: u32) -> (usize, u64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (fds, rss)
}

/// Peak usage, sampled every 50 ms until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<Mutex<(usize, u64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(Mutex::new((0, 0)));
        let task = tokio::spawn({
            let (stop, peak) = (stop.clone(), peak.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let (fds, rss) = usage(pid);
                    {
                        let mut p = peak.lock().unwrap();
                        *p = (p.0.max(fds), p.1.max(rss));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        Sampler { stop, peak, task }
    }

    pub async fn finish(self) -> (usize, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        *self.peak.lock().unwrap()
    }
}
